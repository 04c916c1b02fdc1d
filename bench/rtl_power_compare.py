"""RTL toggles per window against the power model's interval energy, on small accelerator runs.

Run: .venv/bin/python bench/rtl_power_compare.py [WINDOW_CYCLES ...]
Uses the calibration testbench (cosim/calibrate.py) under Icarus with a VCD, counts toggles per clock cycle
(cosim/toggles.py), cuts the layer's busy cycles (as the testbench recorded them) into windows, and compares
them with model/power.py's interval energy of the same layer (the calibrated energy by activity, from the
operands' statistics, dynamic energy only: leakage is no toggle) via model/power_compare.py's
compare_toggles (pj per toggle fitted per class so totals agree: the error is how well the model places
energy in time). Three times: with the layer's statistics, with the layer's placed by its tiles' geometry
(energy.geometry_tile_energy: no operands) and with each tile's own (energy.tile_stats). The RTL's
per-cycle toggles are kept in build/power-compare, so a model change re-compares without simulating.
"""

from __future__ import annotations

import hashlib
import json
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
from systolic.model.energy import geometry_tile_energy, layer_energy, layer_stats, tile_energy
from systolic.model.memory import memory_cycles
from systolic.model.power_compare import compare_toggles

CASES = [  # (dataflow, rows, cols, M, N, K), each on uniform and digits-relu data
    ("ws", 4, 4, 40, 24, 30),
    ("os", 4, 4, 40, 24, 30),
    ("is", 4, 3, 40, 24, 30),
    ("ws", 8, 8, 64, 40, 48),
]
#: Checks the power model was not shaped on (other shapes, arrays and data sources, the calibration's
#: held-out photographs among them), (dataflow, rows, cols, M, N, K, source).
HELD_OUT = [
    ("os", 4, 4, 36, 28, 44, "photo-relu"),
    ("is", 4, 4, 30, 32, 27, "photo"),
    ("ws", 6, 4, 50, 30, 36, "relu"),
    ("os", 8, 8, 48, 40, 40, "gaussian"),
    # added with the array-side and accumulator placement (which were diagnosed on the OS 4x4 uniform case
    # and the OS photo-relu check above), measured once afterwards and not looked at before
    ("os", 6, 4, 42, 26, 38, "photo-relu"),
    ("ws", 4, 4, 36, 20, 44, "photo-relu"),
    ("is", 4, 4, 34, 24, 36, "nonneg"),
]
SOURCES = ("uniform", "digits-relu")
#: The statistics the model places a layer's energy with: the layer's, the layer's by its tiles' geometry
#: (no operands), each tile's own.
KINDS = ("layer", "geometry", "tile")


def _cache_path(cfg: ArrayConfig, operands: list[tuple[np.ndarray, np.ndarray]]) -> Path:
    """Where a run's per-cycle toggles are kept: keyed on the generator's source, the config, the operands
    and the counting rules, so a model change re-compares without simulating and any RTL change measures
    anew."""
    from systolic.cosim.runner import generator_digest
    from systolic.cosim.toggles import energy_rules

    h = hashlib.sha256()
    h.update(generator_digest().encode())
    h.update(cfg.to_json().encode())
    h.update(json.dumps([list(r) for r in energy_rules(cfg.dataflow.value)]).encode())
    for x in operands:
        for v in x:
            h.update(str(v.shape).encode() + np.ascontiguousarray(v, dtype=np.int64).tobytes())
    return Path("build") / "power-compare" / f"{cfg.slug}-{h.hexdigest()[:16]}.npz"


def rtl_per_cycle(cfg: ArrayConfig, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Toggles ``[cycle, class]`` of the layer's busy cycles on the RTL (Icarus, VCD; kept in
    ``build/power-compare``)."""
    warm = cal._warmup(cfg, "uniform", 1)
    cache = _cache_path(cfg, [warm, (a, b)])
    if cache.exists():
        with np.load(cache) as f:
            return f["per_cycle"]
    got, _ = cal.simulate(cfg, [warm, (a, b)], root=Path("build"), run_name="power-compare", per_cycle=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, per_cycle=got[1].per_cycle)
    return got[1].per_cycle


def model_windows(
    cfg: ArrayConfig, a: np.ndarray, b: np.ndarray, windows: list[int], kind: str
) -> dict[int, np.ndarray]:
    """The model's dynamic energy ``[window, column]`` per window length, from the layer's statistics
    (``kind`` ``layer``), the layer's statistics placed by its tiles' geometry (``geometry``: what a
    network run without operands knows) or with each tile's energy weighted by the statistics of its own
    operands (``tile``)."""
    m, k = a.shape
    n = b.shape[1]
    gemm = GemmArrays.of(m, n, k)
    mem = memory_cycles(cfg, gemm)
    calibration, _ = load_calibration()
    stats = layer_stats(cfg, a, b)
    by_activity = layer_energy(cfg, gemm, mem, calibration=calibration, stats=stats).by_activity_pj
    tile_pj = fill_pj = None
    if kind != "layer":
        te = (
            tile_energy(cfg, gemm, mem, calibration=calibration, operands=[(a, b)])
            if kind == "tile"
            else geometry_tile_energy(cfg, gemm, mem, calibration=calibration, stats=stats)
        )
        tile_pj, fill_pj = te.by_activity_pj, te.fill_pj
    work = power.step_work(
        cfg, gemm, mem.schedule, layer_dynamic_pj=by_activity, tile_dynamic_pj=tile_pj, tile_fill_pj=fill_pj
    )
    v = np.full((1, 3), cfg.vdd_v)
    f = np.full((1, 3), cfg.clock_hz)
    tl = power.build_timeline(cfg, work, v, f, np.zeros(1, dtype=int))
    out = {}
    for w in windows:
        edges = power.interval_edges_s(cfg, tl.end_s, f"{w}cycles")
        ip = power.interval_power(tl, edges)
        # dynamic energy only: the RTL's toggles are switching; leakage runs through idle windows too
        out[w] = (ip.power_w - ip.leakage_w) * np.diff(edges)[:, None] * 1e12
    return out


def config(df: str, rows: int, cols: int) -> ArrayConfig:
    return ArrayConfig(
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


def run(df: str, rows: int, cols: int, m: int, n: int, k: int, windows: list[int], source: str) -> dict:
    """Errors ``{(stats, window): ToggleComparison}`` of one case, stats as :data:`KINDS`."""
    cfg = config(df, rows, cols)
    a, b = source_operands(cfg, source, m, n, k, np.random.default_rng(1))
    per_cycle = rtl_per_cycle(cfg, a, b)  # [cycle, class] toggles in the busy cycles
    mem = memory_cycles(cfg, GemmArrays.of(m, n, k))
    assert per_cycle.shape[0] == mem.total_cycles, (per_cycle.shape, mem.total_cycles)
    out = {}
    for kind in KINDS:
        for w, model in model_windows(cfg, a, b, windows, kind).items():
            nw = model.shape[0]
            pad = np.zeros((nw * w - per_cycle.shape[0], per_cycle.shape[1]))
            rtl = np.vstack([per_cycle, pad]).reshape(nw, w, -1).sum(axis=1)
            out[kind, w] = compare_toggles(model, rtl, CLASSES)
    return out


def table(rows: list, w: int, kind: str, title: str) -> None:
    print(f"\n{title}, windows of {w} cycles, statistics per {kind}: per-window error (NMAE)")
    classes = rows[0][2][kind, w].classes
    short = [c.replace("_sram", "") for c in classes]
    print(f"{'case':<32}" + "".join(f"{c:>8}" for c in [*short, "total"]))
    for (df, r, c, m, n, k), source, res in rows:
        cmp = res[kind, w]
        label = f"{df.upper()} {r}x{c} {m}x{n}x{k} {source[:9]}"
        cells = [*(100 * cmp.error), 100 * cmp.total_error]
        print(f"{label:<32}" + "".join(f"{x:>7.1f}%" for x in cells))
    for source in dict.fromkeys(s for _, s, _ in rows):
        errs = np.array([res[kind, w].error for _, s, res in rows if s == source])
        tot = np.array([res[kind, w].total_error for _, s, res in rows if s == source])
        print(
            f"{source}: total {100 * tot.min():.1f}-{100 * tot.max():.1f}%, worst class "
            + ", ".join(f"{c} {100 * e:.0f}%" for c, e in zip(short, errs.max(axis=0), strict=True))
        )


def main(windows: list[int]) -> None:
    rows = [(case, source, run(*case, windows, source)) for case in CASES for source in SOURCES]
    held = [(case[:6], case[6], run(*case[:6], windows, case[6])) for case in HELD_OUT]
    for w in windows:
        for kind in KINDS:
            table(rows, w, kind, "cases")
            table(held, w, kind, "held out")


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1:]] or [10, 50])
