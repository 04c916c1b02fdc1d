"""cosim/progress.py: the estimate printed before a simulation, and the progress lines while it runs."""

from __future__ import annotations

import io
import json
import time

import pytest

from systolic.config import ArrayConfig
from systolic.cosim import progress


def test_estimate_scales_with_cycles_and_lanes_and_advises_verilator():
    small, big = ArrayConfig(rows=8, cols=8), ArrayConfig(rows=16, cols=16)
    assert progress.estimate_s(small, "icarus", 2000) == pytest.approx(
        2 * progress.estimate_s(small, "icarus", 1000)
    )
    assert progress.estimate_s(big, "icarus", 1000) == pytest.approx(
        2 * progress.estimate_s(small, "icarus", 1000)
    )
    assert progress.estimate_s(small, "verilator", 1000) < progress.estimate_s(small, "icarus", 1000)
    # the case: 5.46 M cycles of an 8x8 accelerator under Icarus took over 35 minutes
    line = progress.announce(small, "icarus", 5_460_000)
    assert line.startswith("cosim: the model says 5,460,000 cycles; about ") and "--sim verilator" in line
    assert progress.estimate_s(small, "icarus", 5_460_000) > 35 * 60
    assert "--sim verilator" not in progress.announce(small, "icarus", 1000)


def test_monitor_reports_cycles_rate_and_time_left(tmp_path):
    path = tmp_path / "progress.json"
    out = io.StringIO()
    with progress.Monitor(path, total=10_000, period_s=0.05, out=out) as mon:
        progress.write(str(path), 2_500)
        deadline = time.time() + 5
        while not mon.lines and time.time() < deadline:
            time.sleep(0.02)
    assert mon.lines, "no progress line"
    assert mon.lines[0].startswith("cosim: 2,500 of 10,000 cycles (25%), ")
    assert "cycles/s" in mon.lines[0] and "left" in mon.lines[0]
    assert json.loads(path.read_text())["cycles"] == 2_500
    assert out.getvalue().splitlines()[0] == mon.lines[0]


def test_monitor_line_arithmetic():
    mon = progress.Monitor("unused", total=1_000)
    assert (
        mon.line(250, 10.0) == "cosim: 250 of 1,000 cycles (25%), 25 cycles/s, 10 s so far, about 30 s left"
    )
    assert "unknown left" in mon.line(0, 0.0).replace("about unknown", "unknown")


def test_matrix_progress_counts_groups_and_estimates_the_rest():
    from systolic.cosim.matrix import progress_printer

    out = io.StringIO()
    report = progress_printer(4, out=out)
    report(ArrayConfig(name="a"), "icarus", [])
    report(ArrayConfig(name="b"), "verilator", [])
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("  [1/4] a ") and "so far, about" in lines[0]
    assert lines[1].startswith("  [2/4] b ")
