"""Issue 15's compute-bound goal: with ample SRAM and DRAM bandwidth, systolic's cycles against SCALE-Sim's
closed form, layer by layer.

Usage:
    python bench/compute_bound.py [--topology resnet50 mobilenetv2] [--size 32 128] [--md FILE]

Every layer of each network runs on an R x R array in OS, WS and IS with 16 MiB ifmap and filter SRAMs, a
64 MiB ofmap SRAM and 256 DRAM words per cycle (every layer is one tile in im2col; a convolution the
planner reads in bands, ``conv_native = "auto"``, can have a k-tile per filter row). SCALE-Sim's compute
cycles ("Total Cycles" in CALC mode, which reports 0 stall cycles) follow a closed form that
bench/scalesim_compare.py checks against its measured reports on every layer it runs:
    OS:     F (T + R + C - 2) - 1
    WS, IS: F (T + 2R + C - 2) - 1
F folds, T the temporal extent; a depthwise layer is C GEMMs (SCALE-Sim's own depthwise form), so its
closed form is C times that of one GEMM. Ours runs a grouped layer in blocks of groups (``group_blocks``,
one block-diagonal GEMM per block, on by default; "all off" is one GEMM per group), its entries summed.

Ours are the model's (= the RTL's, ``make cosim``): "total" is every cycle of the layer; "w/o fill+drain"
leaves out what SCALE-Sim's "Total Cycles" leaves out, the first DRAM fill (the layer's first, load-only
step and the controller's prologue cycle) and the last drain (the last step's DRAM writes; its wait for the
last results to leave the array is compute and stays in). The goal: "w/o fill+drain" within 1 % + a
constant per layer of the closed form, or fewer; the printed "constant" is the largest excess over 1.01 x
the closed form per layer (0 = every layer within 1 % or below), and the goal is met ("ok") when it is at
most R + C (one pipeline's fill or drain). "Stalls" are ours w/o fill+drain less the
layer's compute cycles (model/memory.py: the array's cycles with operands always ready, from the first
operands' SRAM read to the last result's write into the ofmap SRAM): SCALE-Sim reports 0 for all these
layers, and so do we (4 per GEMM before the engine took its tiles in the barrier cycle), except where
the planner takes bands whose k-tiles need their filter rows faster than the port delivers them (at most
128 words a beat on 128 rows: MobileNet-V2's depthwise blocks on 7x7 images on 128x128 WS, 42 cycles per
GEMM), which it does because im2col's matrix would keep the port busier still (model/memory.py:
plan_tiles).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scalesim_compare import ROOT, scalesim_formula

from systolic.config import SERIAL_OPTIONS, ArrayConfig, Dataflow
from systolic.fileio import atomic_write_text
from systolic.formats.network import load_workload
from systolic.model.cycles import GemmArrays
from systolic.model.grouped import lower_groups_origin
from systolic.model.memory import PROLOGUE_CYCLES
from systolic.model.network import network_run


def ample(rows: int, df: Dataflow, **changes) -> ArrayConfig:
    return ArrayConfig(
        name=f"ample-{rows}",
        rows=rows,
        cols=rows,
        dataflow=df,
        dram_bw_words_per_cycle=256,
        ifmap_sram_bytes=1 << 24,
        filter_sram_bytes=1 << 24,
        ofmap_sram_bytes=1 << 26,
        **changes,
    )


def without_fill_drain(res) -> np.ndarray:
    """[layer] cycles less the prologue, the first (load-only) step and the last step's DRAM writes, per
    GEMM summed over the layer's repeats."""
    mem, steps = res.memory, res.schedule.steps
    layers = mem.cycles.size
    last = np.r_[steps.layer[1:] != steps.layer[:-1], True]  # [step] the layer's drain-only step
    first = steps.index == 0
    exposed = np.where(first, steps.cycles, 0) + np.where(last, steps.cycles - steps.trail, 0)
    per_gemm = np.bincount(steps.layer, weights=exposed, minlength=layers).astype(np.int64) + PROLOGUE_CYCLES
    return mem.cycles - per_gemm * res.gemm.repeat


def measure(cfg: ArrayConfig, net: str) -> dict:
    wl = load_workload(net)
    lowered, origin = lower_groups_origin(cfg, wl)  # group_blocks: a layer may be two entries (.tail)
    res = network_run(cfg, lowered)
    rep = res.gemm.repeat
    # SCALE-Sim's closed form of the layer as SCALE-Sim runs it (a depthwise layer: C GEMMs), against ours
    # summed over the layer's entries
    closed = scalesim_formula(cfg, GemmArrays.from_workload(wl)) * GemmArrays.from_workload(wl).repeat
    inner = np.bincount(origin, weights=without_fill_drain(res), minlength=len(wl)).astype(np.int64)
    excess = np.maximum(inner - np.floor(1.01 * closed), 0)  # [layer] beyond 1 %
    return {
        "layers": int(inner.size),
        "tiles": int(res.memory.plan.tiles.max()),
        "total": int(res.memory.cycles.sum()),
        "inner": int(inner.sum()),
        "closed": int(closed.sum()),
        "at_or_below": int((inner <= closed).sum()),
        "within": int((inner <= np.floor(1.01 * closed)).sum()),
        "constant": int(excess.max()),
        "goal": bool((excess <= cfg.rows + cfg.cols).all()),
        "worst_ratio": float((inner / closed).max()),
        "stalls": sorted({int(x) for x in (without_fill_drain(res) - res.memory.compute_cycles) // rep}),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topology", nargs="+", default=["resnet50", "mobilenetv2"])
    ap.add_argument("--size", nargs="+", type=int, default=[32, 128])
    ap.add_argument("--md", default=str(Path("bench") / "results" / "compute_bound.md"))
    args = ap.parse_args(argv)
    head = (
        "| network | array | dataflow | options | layers | tiles/layer | total | w/o fill+drain "
        "| closed form | ratio | layers <= closed / within 1% | constant per layer | goal "
        "| worst layer ratio | stalls per GEMM |"
    )
    lines = [head, "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|---|"]
    met = True
    for net in args.topology:
        for size in args.size:
            for df in Dataflow:
                for label, opts in (
                    ("defaults", {}),
                    ("all off", SERIAL_OPTIONS),
                ):
                    r = measure(ample(size, df, **opts), net)
                    if not opts:
                        met &= r["goal"]
                    cells = [net, f"{size}x{size}", df.value.upper(), label, r["layers"], r["tiles"]]
                    cells += [f"{r[k]:,}" for k in ("total", "inner", "closed")]
                    cells += [f"{r['inner'] / r['closed']:.3f}", f"{r['at_or_below']} / {r['within']}"]
                    cells += [f"{r['constant']:,}", "ok" if r["goal"] else "NOT", f"{r['worst_ratio']:.3f}"]
                    cells.append(", ".join(map(str, r["stalls"])))
                    lines.append("| " + " | ".join(map(str, cells)) + " |")
    text = "\n".join(lines)
    print(text)
    md = ROOT / args.md
    md.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        md,
        "<!-- written by bench/compute_bound.py: do not edit, rerun it -->\n"
        + f"Made by `python bench/compute_bound.py`; see its docstring for the definitions.\n\n{text}\n",
    )
    print(f"wrote {md.relative_to(ROOT)}", file=sys.stderr)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
