"""``systolic run``: reports in SCALE-Sim's layout, summary.json, traces, atomic output, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from systolic.cli import main

SMALL = ["--arch", "small-8x8", "--set", "ifmap_sram_bytes=512", "--set", "filter_sram_bytes=512"]


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.csv"
    path.write_text("Layer,M,N,K,\nfc1,40,20,30,\nfc2,7,5,9,\n")
    return str(path)


def test_run_writes_reports_and_summary(net, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", *SMALL, "--topology", net, "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "BANDWIDTH_REPORT.csv",
        "COMPUTE_REPORT.csv",
        "DETAILED_ACCESS_REPORT.csv",
        "summary.json",
    ]
    compute = (out / "COMPUTE_REPORT.csv").read_text().splitlines()
    assert compute[0].startswith("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles,")
    summary = json.loads((out / "summary.json").read_text())
    assert len(compute) == 1 + len(summary["layers"])
    assert sum(layer["cycles"] for layer in summary["layers"]) == summary["total"]["cycles"]
    first = compute[1].split(", ")
    assert int(first[1]) == summary["layers"][0]["cycles"] and first[-1].endswith(",")
    assert "cycles" in capsys.readouterr().out


def test_traces_match_detailed_report(net, tmp_path):
    out = tmp_path / "t"
    args = [
        "run",
        *SMALL,
        "--set",
        "rows=4",
        "--set",
        "cols=4",
        "--topology",
        net,
        "--out",
        str(out),
        "--traces",
    ]
    assert main(args) == 0
    detail = [
        line.rstrip(",").split(", ")
        for line in (out / "DETAILED_ACCESS_REPORT.csv").read_text().splitlines()[1:]
    ]
    trace = np.loadtxt(out / "layer0" / "IFMAP_SRAM_TRACE.csv", delimiter=",", dtype=np.int64, ndmin=2)
    start, stop, reads = (int(x) for x in detail[0][1:4])
    assert (trace[0, 0], trace[-1, 0]) == (start, stop)
    assert int((trace[:, 1:] >= 0).sum()) == reads


def test_earlier_results_survive_a_failed_run(net, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", *SMALL, "--topology", net, "--out", str(out)]) == 0
    before = (out / "summary.json").read_text()
    assert (
        main(
            [
                "run",
                "--arch",
                "small-8x8",
                "--set",
                "ifmap_sram_bytes=4",
                "--topology",
                net,
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("systolic: error: ifmap_sram_bytes: too small to hold one fold's operands of ")
    assert (out / "summary.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "net.csv",
        "r",
    ]  # no temporary directory left behind


def test_traces_need_out(net, capsys):
    assert main(["run", *SMALL, "--topology", net, "--traces"]) == 2
    assert capsys.readouterr().err.strip() == "systolic: error: systolic run: --traces needs --out DIR"


def test_default_matrix_counts_both_tops():
    from systolic.config import ArrayConfig
    from systolic.cosim.matrix import default_matrix

    groups = default_matrix(ArrayConfig(name="matrix"))
    tops = [top for _, _, top in groups]
    assert tops.count("core") == 9 and tops.count("accel") == 6
    assert sum(len(cases) for _, cases, top in groups if top == "accel") == 30
