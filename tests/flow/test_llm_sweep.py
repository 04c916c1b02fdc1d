"""systolic/flow/llm_sweep.py (``systolic sweep`` with ``kind = "llm"``): spec errors, each point equal to
the plan search run on its own, the Pareto front, the same bytes on one or two workers, and resume."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from systolic.cli import main
from systolic.flow.llm import run_infer, run_train, setup
from systolic.flow.llm_sweep import AXES, COLUMNS, LlmSweepSpec
from systolic.flow.sweep import design_points, load_spec, run_sweep
from systolic.model.sweep import pareto_front

OUTPUTS = ("points.parquet", "points.csv", "pareto.csv", "summary.json")

TRAIN = """
kind = "llm"
batch = {batch}
[llm]
model = "gpt2"
system = "dgx-a100-selene"
batch = 64
[space]
devices = [4, 8, 16]
logic_node_nm = [7, 1.4]                  # a batch of only 7s still writes a float column
memory = ["hbm2e", "hbm3"]
memory_stacks = [5]
memory_capacity_bytes = [1e9, 80e9]
"""

INFER = """
kind = "llm"
batch = 3
[llm]
model = "llama2-7b"
system = "dgx-a100-selene"
task = "infer"
batch = 8
objective = "ttft_s"
[llm.options]
prompt_len = 512
output_len = 64
[space]
devices = [1, 2, 8]
intra = ["nvlink3", "nvlink5"]
inter_bandwidth_bytes_per_s = [25e9, 100e9]
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.fixture(scope="module")
def scheduler():
    """One in-process Dask cluster of two workers for the module's sweeps (no process start-up per test)."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as c:
        yield c.scheduler_address


def rows(out: Path) -> list[SimpleNamespace]:
    import pyarrow.parquet as pq

    return [SimpleNamespace(**r) for r in pq.read_table(out / "points.parquet").to_pylist()]


HEAD = 'kind = "llm"\n[llm]\nmodel = "gpt2"\nsystem = "dgx-a100-selene"\nbatch = 64\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('kind = "gpu"\n', "kind: must be one of accelerator, llm, analog, chip, not 'gpu'"),
        (HEAD + 'networks = ["x"]\n', "llm.networks: unknown key"),
        ('kind = "llm"\nnetworks = ["x"]\n', "unknown key(s) ['networks']"),
        ('kind = "llm"\n[space]\ndevices = [8]\n', "llm: missing [llm] table"),
        (HEAD.replace("batch = 64\n", "") + "[space]\ndevices = [8]\n", "llm.batch: missing"),
        (
            HEAD.replace("batch = 64", "batch = 0") + "[space]\ndevices = [8]\n",
            "llm.batch: must be a positive",
        ),
        (HEAD + 'task = "serve"\n[space]\ndevices = [8]\n', "llm.task: must be one of train, infer"),
        (HEAD.replace("gpt2", "gpt5") + "[space]\ndevices = [8]\n", "llm.model: gpt5: no such model"),
        (HEAD.replace("dgx-a100-selene", "nope") + "[space]\ndevices = [8]\n", "llm.system: nope: no such"),
        (HEAD + "devices = 12\n[space]\ndevices = [8]\n", "llm.devices: devices (12) must be a multiple"),
        (HEAD + 'precision = "int4"\n[space]\ndevices = [8]\n', "llm.precision: precision must be one of"),
        (HEAD + 'objective = "ttft_s"\n[space]\ndevices = [8]\n', "llm.objective: only for task = 'infer'"),
        (
            HEAD + 'task = "infer"\nobjective = "mfu"\n[space]\ndevices = [8]\n',
            "llm.objective: must be one of ttft_s, tpot_s, e2e_s",
        ),
        (HEAD + "[llm.options]\nbogus = 1\n[space]\ndevices = [8]\n", "llm.options: unknown option 'bogus'"),
        (
            HEAD + "[llm.options]\nbatch = 8\n[space]\ndevices = [8]\n",
            "llm.options: must be a table of options",
        ),
        (HEAD, "space: missing or empty"),
        (HEAD + "[space]\nrows = [8]\n", "space.rows: not an LLM sweep axis"),
        (HEAD + "[space]\ndevices = [8, 12]\n", "space.devices: value 12: devices (12) must be a multiple"),
        (HEAD + "[space]\ndevices = []\n", "space.devices: must be a non-empty list"),
        (HEAD + '[space]\nmemory = ["hbm3"]\n', "space.memory: needs space.memory_stacks"),
        (
            HEAD + '[space]\nmemory = ["hbm9"]\nmemory_stacks = [5]\n',
            "space.memory: value 'hbm9': unknown memory generation 'hbm9'",
        ),
        (HEAD + "[space]\nlogic_node_nm = [4]\n", "space.logic_node_nm: value 4: unknown logic node 4.0"),
        (
            HEAD + '[space]\nlogic_node_nm = ["7"]\n',
            "space.logic_node_nm: value '7': logic_node_nm must be a",
        ),
        (HEAD + '[space]\nintra = ["pcie"]\n', "space.intra: value 'pcie': unknown link generation"),
        (
            HEAD + '[space]\nintra = ["nvlink4"]\nintra_bandwidth_bytes_per_s = [1e11]\n',
            "space.intra: give intra (a generation) or intra_bandwidth_bytes_per_s, not both",
        ),
        (
            HEAD + "[space]\nmemory_capacity_bytes = [0]\n",
            "space.memory_capacity_bytes: value 0: memory_capacity_bytes must be a positive",
        ),
        (HEAD + "[space]\ndevices = {min = 8, max = 64}\n", "space.devices: a range needs mode = 'random'"),
        (
            HEAD.replace('kind = "llm"', 'kind = "llm"\nmode = "random"\nsamples = 4')
            + "[space]\nlogic_node_nm = {min = 3, max = 7}\n",
            "space.logic_node_nm: only numeric axes take a range",
        ),
        (
            HEAD.replace('kind = "llm"', 'kind = "llm"\nmode = "random"\nsamples = 4')
            + "[space]\ndevices = {min = 8, max = 20}\n",
            "space.devices: bound 20: devices (20) must be a multiple",
        ),
    ],
)
def test_spec_errors_are_one_line(tmp_path, capsys, text, message):
    spec = write(tmp_path, text)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(spec) in err and message in err, err
    assert not (tmp_path / "o").exists()


def test_axes_and_result_columns_have_different_names():
    results = {c for cols in COLUMNS.values() for c in cols} | {"point", "error", "pareto"}
    assert not set(AXES) & results


def test_random_points_are_seeded_whole_and_in_range(tmp_path):
    text = HEAD.replace('kind = "llm"', 'kind = "llm"\nmode = "random"\nsamples = 50\nseed = 4') + (
        "[space]\nmemory_stacks = {min = 2, max = 8}\nmemory = ['hbm3', 'hbm4']\n"
        "memory_capacity_bytes = {min = 16e9, max = 192e9, log = true}\n"
    )
    spec = load_spec(write(tmp_path, text))
    assert isinstance(spec, LlmSweepSpec) and spec.objectives == ("iteration_s", "memory_bytes", "energy_j")
    a = design_points(spec)
    assert a == design_points(spec) and len(a) == 50
    assert all(isinstance(p["memory_stacks"], int) and 2 <= p["memory_stacks"] <= 8 for p in a)
    assert all(16e9 <= p["memory_capacity_bytes"] <= 192e9 for p in a) and {p["memory"] for p in a} == {
        "hbm3",
        "hbm4",
    }


def test_train_sweep_equals_the_search_point_by_point(tmp_path, scheduler):
    spec = load_spec(write(tmp_path, TRAIN.format(batch=5)))
    s = run_sweep(spec, tmp_path / "a", scheduler=scheduler, progress=False)
    assert (s["points"], s["batches"], s["kind"]) == (24, 5, "llm")
    t = rows(tmp_path / "a")
    assert [r.point for r in t] == list(range(24))
    tiny = [r for r in t if r.memory_capacity_bytes == 1e9]  # the 1 GB workspace alone fills a 1 GB device
    assert len(tiny) == 12 and all(r.error.startswith("no plan fits in 1.0 GB") for r in tiny)
    assert all(np.isnan(r.iteration_s) and not r.pareto and r.plans > 0 and r.fit_plans == 0 for r in tiny)
    for row in t:
        if row in tiny:
            continue
        tech = {"logic_node_nm": row.logic_node_nm, "memory": row.memory, "memory_stacks": row.memory_stacks}
        model, system, hw = setup("gpt2", "dgx-a100-selene", row.devices, "bf16", None, tech)
        assert row.error == ""
        best = run_train(model, system, hw, None, {"batch": 64})
        r, plan = best["result"], best["result"]["plan"]
        assert (row.iteration_s, row.memory_bytes, row.energy_j) == (
            r["iteration_s"],
            r["memory_bytes"],
            r["energy_j"],
        )
        assert (row.tp, row.pp, row.dp, row.mb, row.vpp, row.zero, bool(row.sp), row.recompute) == (
            plan["tp"],
            plan["pp"],
            plan["dp"],
            plan["mb"],
            plan["vpp"],
            plan["zero"],
            plan["sp"],
            plan["recompute"],
        )
        assert (row.plans, row.fit_plans) == (best["search"]["plans"], best["search"]["fit"])
        assert row.pareto_plans == len(best["search"]["pareto"])
    obj = np.array([[r.iteration_s, r.memory_bytes, r.energy_j] for r in t])
    assert [r.pareto for r in t] == pareto_front(obj).tolist()
    assert t[int(np.nanargmin(obj[:, 0]))].pareto  # the fastest point is never dominated
    assert s["pareto"] == sum(r.pareto for r in t) and s["feasible"] == 12


def test_infer_sweep_equals_the_search_point_by_point(tmp_path, scheduler):
    spec = load_spec(write(tmp_path, INFER))
    assert spec.objectives == ("ttft_s", "memory_bytes", "energy_per_token_j")
    run_sweep(spec, tmp_path / "a", scheduler=scheduler, progress=False)
    t = rows(tmp_path / "a")
    assert len(t) == 12 and all(r.error == "" for r in t)
    for row in t:
        tech = {"intra": row.intra}
        model, system, hw = setup("llama2-7b", "dgx-a100-selene", row.devices, "bf16", None, tech)
        inter = dataclasses.replace(hw.inter, bandwidth=row.inter_bandwidth_bytes_per_s)
        hw = dataclasses.replace(hw, inter=inter)
        r = run_infer(model, system, hw, None, {"batch": 8, "prompt_len": 512, "output_len": 64}, "ttft_s")
        r = r["result"]
        assert (row.tp, row.pp, row.ttft_s, row.tpot_s, row.memory_bytes, row.energy_per_token_j) == (
            r["tp"],
            r["pp"],
            r["ttft_s"],
            r["tpot_s"],
            r["memory_bytes"],
            r["energy_per_token_j"],
        )


def test_same_bytes_on_one_or_two_workers_and_after_a_resume(tmp_path, scheduler, capsys):
    """Two in-process workers against one, then a sweep whose last batches and outputs are gone (what a
    kill leaves) finished by a rerun: the same bytes each time."""
    from dask.distributed import LocalCluster

    spec = write(tmp_path, TRAIN.format(batch=3))
    assert (
        main(["sweep", str(spec), "--out", str(tmp_path / "two"), "--quiet", "--scheduler", scheduler]) == 0
    )
    out = capsys.readouterr().out
    assert "24 points (gpt2 train, best plan each, on dgx-a100-selene): 12 feasible" in out
    assert "Pareto front of iteration_s, memory_bytes, energy_j" in out
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as one:
        run_sweep(load_spec(spec), tmp_path / "one", scheduler=one.scheduler_address, progress=False)
    shutil.copytree(tmp_path / "one", tmp_path / "cut")
    for name in (*OUTPUTS, "parts/part-00005.parquet", "parts/part-00007.parquet"):
        (tmp_path / "cut" / name).unlink()
    s = run_sweep(load_spec(spec), tmp_path / "cut", scheduler=scheduler, progress=False)
    assert s["resumed_batches"] == 6 and s["batches"] == 8
    for name in OUTPUTS:
        one = (tmp_path / "one" / name).read_bytes()
        assert one == (tmp_path / "two" / name).read_bytes() == (tmp_path / "cut" / name).read_bytes(), name


def test_a_changed_llm_spec_is_refused_in_the_same_folder(tmp_path, scheduler, capsys):
    spec = write(tmp_path, INFER)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "d"), "--quiet", "--scheduler", scheduler]) == 0
    other = write(tmp_path, INFER.replace("output_len = 64", "output_len = 65"), "t.toml")
    assert main(["sweep", str(other), "--out", str(tmp_path / "d"), "--quiet"]) == 2
    assert "holds a sweep of a different spec" in capsys.readouterr().err


@pytest.mark.slow
def test_killed_llm_sweep_resumes_to_the_same_result(tmp_path):
    """As tests/cli/test_sweep.py's kill test: SIGKILL the driver and its Dask worker processes mid-sweep,
    rerun, compare with an uninterrupted sweep byte for byte."""
    spec = write(tmp_path, TRAIN.format(batch=1))
    cmd = [sys.executable, "-m", "systolic.cli", "sweep", str(spec), "--quiet", "--workers", "2"]
    subprocess.run([*cmd, "--out", str(tmp_path / "whole")], check=True, capture_output=True)
    parts = tmp_path / "cut" / "parts"
    proc = subprocess.Popen([*cmd, "--out", str(tmp_path / "cut")], start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(parts.glob("part-*.parquet"))) < 4:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(parts.glob("part-*.parquet")))
    assert 4 <= done < 24 and not (tmp_path / "cut" / "points.parquet").exists()
    res = subprocess.run([*cmd, "--out", str(tmp_path / "cut")], check=True, capture_output=True, text=True)
    assert f"{done} of 24 batches resumed" in res.stdout
    for name in OUTPUTS:
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
