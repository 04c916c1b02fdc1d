"""``systolic llm``: reports, JSON, the validation table, bad input as one line and exit status 2."""

from __future__ import annotations

import json

import pytest

from systolic.cli import main

BASE = ["--system", "dgx-a100-selene", "--devices", "8"]


def test_train_one_plan_prints_time_and_memory_breakdowns(capsys, tmp_path):
    out = tmp_path / "r.json"
    args = ["llm", "train", "--model", "gpt2", *BASE, "--tp", "2", "--pp", "2", "--batch", "16", "--sp"]
    assert main([*args, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert (
        "plan: tp 2, pp 2, dp 2, micro-batch 1, sequence parallel, recompute selective, 1F1B, ZeRO 1" in text
    )
    for label in (
        "compute",
        "tensor-parallel communication",
        "pipeline bubble",
        "data-parallel",
        "optimizer",
    ):
        assert label in text
    assert "one block, one micro-batch: forward" in text
    for part in ("weights", "grads", "optimizer", "activations", "buffers"):
        assert f"  {part} " in text
    report = json.loads(out.read_text())
    r = report["result"]
    parts = sum(r[k] for k in ("compute_s", "tp_comm_s", "pp_comm_s", "bubble_s", "dp_comm_s", "optimizer_s"))
    assert parts == pytest.approx(r["iteration_s"]) and report["system"]["devices"] == 8
    first = out.read_bytes()
    assert main([*args, "--json", str(out)]) == 0
    assert out.read_bytes() == first  # same inputs, same bytes
    assert "/" not in json.dumps(report["system"]) and str(tmp_path) not in first.decode()


def test_train_search_ranks_plans(capsys, tmp_path):
    out = tmp_path / "s.json"
    assert (
        main(["llm", "train", "--model", "gpt2", *BASE, "--batch", "32", "--search", "--json", str(out)]) == 0
    )
    text = capsys.readouterr().out
    assert "plans in" in text and "on the Pareto front of time, memory and energy" in text and "best:" in text
    s = json.loads(out.read_text())["search"]
    times = [r["iteration_s"] for r in s["top"]]
    assert times == sorted(times) and s["plans"] >= s["fit"] > 0 and s["pareto"]


def test_infer_reports_latencies_kv_cache_and_gemm_bounds(capsys):
    args = ["llm", "infer", "--model", "llama2-7b", *BASE, "--tp", "2", "--batch", "4", "--prompt-len", "512"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "time to first token" in text and "time per output token" in text and "KV cache" in text
    assert "decode   fc1" in text and text.rstrip().endswith("memory")


def test_infer_search_and_technology_scaling(capsys):
    args = ["llm", "infer", "--model", "llama2-7b", *BASE, "--search", "--objective", "ttft_s"]
    assert main(args) == 0
    base = capsys.readouterr().out
    assert "best by ttft_s" in base
    assert main([*args, "--logic-nm", "3", "--memory", "hbm3e", "--memory-stacks", "5"]) == 0
    scaled = capsys.readouterr().out
    ttft = [float(t.split("time to first token")[1].split()[0]) for t in (base, scaled)]
    assert ttft[1] < ttft[0]


def test_validate_prints_the_table(capsys):
    assert main(["llm", "validate"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| point | source |") and "within tolerance" in lines[-1]
    assert sum(line.startswith("| N21-") for line in lines) == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "--model", "gpt2", *BASE, "--tp", "2", "--search"],
            "--search: give either --search or a plan",
        ),
        (["train", "--model", "gpt9", *BASE], "gpt9: no such model (zoo: gpt2"),
        (
            ["train", "--model", "gpt2", *BASE, "--tp", "3"],
            "plan: the plan does not work: tp x pp x dp must be",
        ),
        (["train", "--model", "gpt2", "--system", "nope", "--tp", "2"], "nope: no such system file or name"),
        (
            ["infer", "--model", "gpt2", *BASE, "--tp", "5"],
            "plan: the plan does not work: tp x pp must divide",
        ),
        (["train", "--model", "gpt2", *BASE, "--logic-nm", "4"], "logic node: unknown logic node 4.0"),
        (["train", "--model", "gpt2", *BASE, "--precision", "fp8"], "the device has no fp8 peak"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    assert main(["llm", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("systolic: error: ") and message in err and err.count("\n") == 1
