"""RTL toggles per window against the power model's interval energy, on small accelerator runs.

Run: .venv/bin/python bench/rtl_power_compare.py [WINDOW_CYCLES ...]
Uses the calibration testbench (cosim/calibrate.py) under Icarus with a VCD, counts toggles per clock cycle
(cosim/toggles.py), cuts the layer's busy cycles (from the VCD's ``busy`` signal) into windows, and compares
them with model/power.py's interval energy of the same layer via model/power_compare.py's compare_toggles
(pj per toggle fitted per class so totals agree: the error is how well the model places energy in time).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from vcdvcd import VCDVCD

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim import calibrate as cal
from systolic.cosim.runner import _runner, build
from systolic.cosim.toggles import CLASSES, count_toggles, energy_rules
from systolic.model import power
from systolic.model.cycles import GemmArrays
from systolic.model.memory import memory_cycles
from systolic.model.power_compare import compare_toggles

CASES = [  # (dataflow, rows, cols, M, N, K)
    ("ws", 4, 4, 40, 24, 30),
    ("os", 4, 4, 40, 24, 30),
    ("is", 4, 3, 40, 24, 30),
]


def busy_cycles(vcd_path: Path, period_ps: int) -> tuple[int, int]:
    vcd = VCDVCD(str(vcd_path), signals=None, store_tvs=True)
    name = next(n for n in vcd.signals if n.endswith(".busy") and n.count(".") == 1)
    tv = vcd[name].tv
    rises = [t for t, v in tv if v == "1"]
    falls = [t for t, v in tv if v == "0" and rises and t > rises[0]]
    return rises[0] // period_ps, falls[0] // period_ps


def run(df: str, rows: int, cols: int, m: int, n: int, k: int, windows: list[int]) -> None:
    cfg = ArrayConfig(
        name=f"pw-{df}{rows}x{cols}",
        rows=rows,
        cols=cols,
        dataflow=Dataflow(df),
        ifmap_sram_bytes=256,
        filter_sram_bytes=256,
        ofmap_sram_bytes=512,
        dram_bw_words_per_cycle=4,
        dram_latency_cycles=4,
        clock_hz=1e9 / cal.CLOCK_NS,
    )
    rng = np.random.default_rng(1)
    a, b = cal.distribution_operands(cfg, "uniform", m, n, k, rng)
    bdir = build(cfg, "icarus", waves=True, root=Path("build"), top="accel")
    tdir = bdir / "runs" / "power-compare"
    tdir.mkdir(parents=True, exist_ok=True)
    out = tdir / "results.json"
    spec = {"config": cfg.to_dict(), "layers": [{"a": a.tolist(), "b": b.tolist()}], "out": str(out)}
    _runner("icarus", vcd=True).test(
        test_module=cal.TB_MODULE,
        hdl_toplevel="systolic_accel",
        hdl_toplevel_lang="verilog",
        build_dir=bdir,
        test_dir=tdir,
        extra_env={cal.ENV_VAR: json.dumps(spec)},
        timescale=("1ns", "1ps"),
        log_file=tdir / "sim.log",
        results_xml=str(tdir / "results.xml"),
    )
    period = cal.CLOCK_NS * 1000
    vcd = tdir / "waves.vcd"
    counts = count_toggles(vcd, window_units=period, rules=energy_rules(df))
    lo, hi = busy_cycles(vcd, period)
    gemm = GemmArrays.of(m, n, k)
    mem = memory_cycles(cfg, gemm)
    assert hi - lo == mem.total_cycles, (hi - lo, mem.total_cycles)
    work = power.step_work(cfg, gemm, mem.schedule)
    v = np.full((1, 3), cfg.vdd_v)
    f = np.full((1, 3), cfg.clock_hz)
    tl = power.build_timeline(cfg, work, v, f, np.zeros(1, dtype=int))
    per_cycle = counts.per_window[lo:hi]  # [cycle, class] toggles in the busy cycles
    for w in windows:
        edges = power.interval_edges_s(cfg, tl.end_s, f"{w}cycles")
        model = power.interval_power(tl, edges).energy_pj
        nw = model.shape[0]
        pad = np.zeros((nw * w - per_cycle.shape[0], per_cycle.shape[1]))
        rtl = np.vstack([per_cycle, pad]).reshape(nw, w, -1).sum(axis=1)
        cmp = compare_toggles(model, rtl, CLASSES)
        per = "  ".join(f"{c} {100 * e:.0f}%" for c, e in zip(cmp.classes, cmp.error, strict=True))
        print(
            f"{df.upper()} {rows}x{cols} {m}x{n}x{k} ({hi - lo} cycles), windows of {w} cycles ({nw}): "
            f"total {100 * cmp.total_error:.1f}% (worst window {100 * cmp.max_window_error:.0f}%); {per}"
        )


if __name__ == "__main__":
    ws = [int(x) for x in sys.argv[1:]] or [10, 50]
    for case in CASES:
        run(*case, ws)
