"""RTL toggles per window against the power model's interval energy, on small accelerator runs.

Run: .venv/bin/python bench/rtl_power_compare.py [WINDOW_CYCLES ...]
Uses the calibration testbench (cosim/calibrate.py) under Icarus with a VCD, counts toggles per clock cycle
(cosim/toggles.py), cuts the layer's busy cycles (as the testbench recorded them) into windows, and compares
them with model/power.py's interval energy of the same layer (the calibrated energy by activity, from the
operands' statistics, dynamic energy only: leakage is no toggle) via model/power_compare.py's
compare_toggles (pj per toggle fitted per class so totals agree: the error is how well the model places
energy in time).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim import calibrate as cal
from systolic.cosim.calibration_data import source_operands
from systolic.cosim.toggles import CLASSES
from systolic.formats.calibration import load_calibration
from systolic.model import power
from systolic.model.cycles import GemmArrays
from systolic.model.energy import layer_energy, layer_stats
from systolic.model.memory import memory_cycles
from systolic.model.power_compare import compare_toggles

CASES = [  # (dataflow, rows, cols, M, N, K)
    ("ws", 4, 4, 40, 24, 30),
    ("os", 4, 4, 40, 24, 30),
    ("is", 4, 3, 40, 24, 30),
    ("ws", 8, 8, 64, 40, 48),
]


def rtl_per_cycle(cfg: ArrayConfig, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Toggles ``[cycle, class]`` of the layer's busy cycles on the RTL (Icarus, VCD)."""
    warm = cal._warmup(cfg, "uniform", 1)
    got, _ = cal.simulate(cfg, [warm, (a, b)], root=Path("build"), run_name="power-compare", per_cycle=True)
    return got[1].per_cycle


def run(df: str, rows: int, cols: int, m: int, n: int, k: int, windows: list[int], source: str) -> None:
    cfg = ArrayConfig(
        name=f"pw-{df}{rows}x{cols}",
        rows=rows,
        cols=cols,
        dataflow=Dataflow(df),
        ifmap_sram_bytes=64 * rows,
        filter_sram_bytes=64 * cols,
        ofmap_sram_bytes=128 * max(rows, cols),
        dram_bw_words_per_cycle=4,
        dram_latency_cycles=4,
        clock_hz=1e9 / cal.CLOCK_NS,
    )
    a, b = source_operands(cfg, source, m, n, k, np.random.default_rng(1))
    per_cycle = rtl_per_cycle(cfg, a, b)  # [cycle, class] toggles in the busy cycles
    gemm = GemmArrays.of(m, n, k)
    mem = memory_cycles(cfg, gemm)
    assert per_cycle.shape[0] == mem.total_cycles, (per_cycle.shape, mem.total_cycles)
    calibration, _ = load_calibration()
    stats = layer_stats(cfg, a, b)
    by_activity = layer_energy(cfg, gemm, mem, calibration=calibration, stats=stats).by_activity_pj
    work = power.step_work(cfg, gemm, mem.schedule, layer_dynamic_pj=by_activity)
    v = np.full((1, 3), cfg.vdd_v)
    f = np.full((1, 3), cfg.clock_hz)
    tl = power.build_timeline(cfg, work, v, f, np.zeros(1, dtype=int))
    for w in windows:
        edges = power.interval_edges_s(cfg, tl.end_s, f"{w}cycles")
        ip = power.interval_power(tl, edges)
        # dynamic energy only: the RTL's toggles are switching; leakage runs through idle windows too
        model = (ip.power_w - ip.leakage_w) * np.diff(edges)[:, None] * 1e12
        nw = model.shape[0]
        pad = np.zeros((nw * w - per_cycle.shape[0], per_cycle.shape[1]))
        rtl = np.vstack([per_cycle, pad]).reshape(nw, w, -1).sum(axis=1)
        cmp = compare_toggles(model, rtl, CLASSES)
        per = "  ".join(f"{c} {100 * e:.0f}%" for c, e in zip(cmp.classes, cmp.error, strict=True))
        print(
            f"{df.upper()} {rows}x{cols} {m}x{n}x{k} {source} ({per_cycle.shape[0]} cycles), windows of {w} "
            f"cycles ({nw}): total {100 * cmp.total_error:.1f}% "
            f"(worst window {100 * cmp.max_window_error:.0f}%); {per}"
        )


if __name__ == "__main__":
    ws = [int(x) for x in sys.argv[1:]] or [10, 50]
    for case in CASES:
        for source in ("uniform", "digits-relu"):
            run(*case, ws, source)
