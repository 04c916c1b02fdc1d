"""Design points evaluated in bulk: latency, energy and area of many configs on the same networks.

A sweep's points differ in a few config fields. Points that agree on every field that shapes the tiles
(:func:`plan_key`: array, dataflow, widths, buffer sizes, pipeline options) share their candidate tile
plans, which are made once per group; a convolution's choice between bands and im2col (``conv_native =
"auto"``) depends on the DRAM bandwidth and latency, so it is timed for all the group's points at once
(:func:`~systolic.model.memory.plan_tiles_for`), and the points that choose alike share their tiles and
access counts, computed once. The step timing is vectorised across those points
(:func:`~systolic.model.memory.cycles_per_gemm_for`), and the calibrated energy model runs per point on
the shared counts with the point's own cycles. Networks given as workloads have their grouped
convolutions lowered per point (``group_blocks``, :func:`~systolic.model.grouped.lower_groups`, as
``systolic run`` does), and points share a group only if their lowerings agree too. The numbers are the
same as ``systolic run``'s for each point on its own (a test checks that).

A point whose buffers cannot hold one fold of some layer is *infeasible*: it gets NaN metrics and the
reason, and the sweep goes on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.workload import Workload

from . import energy as en
from .cycles import GemmArrays
from .floorplan import floorplan_for
from .grouped import lower_groups
from .memory import MemoryResult, cycles_per_gemm_for, memory_cycles, plan_tiles_for, step_beats, step_layout

#: Config fields that determine the tile plan, the tiles and the access counts (not their timing).
PLAN_FIELDS: tuple[str, ...] = (
    "rows",
    "cols",
    "dataflow",
    "acc_bits",
    "word_bytes",
    "ifmap_sram_bytes",
    "filter_sram_bytes",
    "ofmap_sram_bytes",
    "ifmap_offset",
    "filter_offset",
    "ofmap_offset",
    "conv_native",
    "fold_overlap",
    "tile_overlap",
)
#: The metrics every point gets, per network and in total (``<metric>`` and ``<network>.<metric>``).
METRICS: tuple[str, ...] = ("cycles", "stall_cycles", "latency_s", "energy_j", "dram_words", "utilisation")


def plan_key(cfg: ArrayConfig) -> tuple:
    """The values of :data:`PLAN_FIELDS` (and whether the DRAM latency is one the memory system takes):
    points with equal keys share their candidate tile plans."""
    return (*(getattr(cfg, f) for f in PLAN_FIELDS), cfg.dram_latency_cycles >= 1)


def _at(mem: MemoryResult, per_gemm: np.ndarray, repeat: np.ndarray, beats: tuple) -> MemoryResult:
    """``mem`` with another point's cycles and DRAM beats per step (``beats``: read requests and write
    beats ``[step]``; same tiles and accesses, other DRAM bandwidth or latency)."""
    per_gemm = per_gemm.astype(np.int64)
    compute_per_gemm = mem.compute_cycles // repeat
    steps = dataclasses.replace(mem.schedule.steps, read_beats=beats[0], write_beats=beats[1])
    return dataclasses.replace(
        mem,
        schedule=dataclasses.replace(mem.schedule, steps=steps),
        cycles=per_gemm * repeat,
        cycles_per_gemm=per_gemm,
        stall_cycles=(per_gemm - compute_per_gemm) * repeat,
    )


def _group_runs(pts: list[ArrayConfig], gemm: GemmArrays, names: list[str]) -> list[tuple]:
    """The memory model of points with equal :func:`plan_key` on one network: their tile plans made at
    once (:func:`~systolic.model.memory.plan_tiles_for`), and per distinct plan ``(points, MemoryResult
    of the first, [point, layer] cycles per GEMM, (read requests, write beats) [point, step])``, the
    cycles and beats of every point of the plan timed at once."""
    bw = np.array([c.dram_bw_words_per_cycle for c in pts])
    lat = np.array([c.dram_latency_cycles for c in pts])
    plans, which = plan_tiles_for(pts[0], gemm, names, bw, lat)
    out = []
    for p, plan in enumerate(plans):
        js = np.flatnonzero(which == p)
        first = pts[js[0]]  # its tiles and access counts hold for every point of the plan
        mem = memory_cycles(first, gemm, names, plan)
        per_gemm = cycles_per_gemm_for(first, mem.schedule.tiles, gemm.m.size, bw[js], lat[js])
        lay = step_layout(mem.schedule.tiles, gemm.m.size)
        beats = step_beats(first, mem.schedule.tiles, lay, bw[js][:, None])  # [point, step] each
        out.append((js.tolist(), mem, per_gemm, beats))
    return out


def area_m2(cfg: ArrayConfig) -> float:
    """Die area of ``cfg``: the sum of its floorplan's blocks (the array as one tile)."""
    return float(floorplan_for(cfg, tile=(cfg.rows, cfg.cols)).area_m2.sum())


def evaluate(
    configs: Sequence[ArrayConfig],
    networks: Mapping[str, GemmArrays | Workload],
    calibration: en.Calibration,
    names: Mapping[str, list[str]] | None = None,
) -> dict[str, np.ndarray]:
    """Latency, energy, area and more of every config on every network (a workload, lowered per point,
    or layers already as GEMMs, run as they are; ``names``: the GEMMs' layer names for messages).

    Energy is :func:`~systolic.model.energy.layer_energy` with ``calibration`` (the flow reads the file)
    on uniform random operands, the same as ``systolic run`` without ``--zero-frac``.

    Returns columns ``[point]``: ``area_mm2``, ``error`` (empty when feasible), the totals over networks
    of :data:`METRICS`, and ``<network>.<metric>`` per network. Infeasible points get NaN.
    """
    n = len(configs)
    out: dict[str, np.ndarray] = {"area_mm2": np.array([area_m2(c) * 1e6 for c in configs])}
    errors = np.full(n, "", dtype=object)
    per_net = {net: {m: np.full(n, np.nan) for m in METRICS} for net in networks}
    groups: dict[tuple, list[int]] = {}
    lowered: dict[tuple, dict[str, GemmArrays]] = {}
    for i, cfg in enumerate(configs):
        wls = {net: lower_groups(cfg, w) for net, w in networks.items() if isinstance(w, Workload)}
        key = (plan_key(cfg), tuple(wls.values()))
        if key not in groups:
            lowered[key] = {net: GemmArrays.from_workload(w) for net, w in wls.items()}
        groups.setdefault(key, []).append(i)
    for key, idx in groups.items():
        pts = [configs[i] for i in idx]
        gemms = {net: lowered[key].get(net, g) for net, g in networks.items()}
        label = {net: [ly.name for ly in w] for net, w in zip(lowered[key], key[1], strict=True)}
        try:
            runs = {
                net: _group_runs(pts, g, label.get(net, (names or {}).get(net, [])))
                for net, g in gemms.items()
            }
        except InputError as err:
            errors[idx] = str(err)
            continue
        for net, g in gemms.items():
            col = per_net[net]
            for js, mem, per_gemm, (reads, writes) in runs[net]:
                dram = sum(int(v.sum()) for v in mem.dram_reads.values()) + sum(
                    int(v.sum()) for v in mem.dram_writes.values()
                )
                for r, j in enumerate(js):
                    i, cfg = idx[j], pts[j]
                    m = _at(mem, per_gemm[r], g.repeat, (reads[r], writes[r]))
                    e = en.layer_energy(cfg, g, m, calibration=calibration)
                    cycles = int(m.cycles.sum())
                    col["cycles"][i] = cycles
                    col["stall_cycles"][i] = int(m.stall_cycles.sum())
                    col["latency_s"][i] = cycles / cfg.clock_hz
                    col["energy_j"][i] = float(e.energy_pj.sum()) * 1e-12
                    col["dram_words"][i] = dram
                    col["utilisation"][i] = float(m.macs.sum()) / (cycles * cfg.rows * cfg.cols)
    for m in METRICS:
        out[m] = sum(per_net[net][m] for net in networks)
    macs = sum(
        float((GemmArrays.from_workload(g) if isinstance(g, Workload) else g).macs.sum())
        for g in networks.values()
    )
    pes = np.array([c.rows * c.cols for c in configs], dtype=float)
    out["utilisation"] = macs / (out["cycles"] * pes)  # MACs done over MAC slots in the total cycles
    for net in networks:
        for m in METRICS:
            out[f"{net}.{m}"] = per_net[net][m]
    out["error"] = errors.astype(str)
    return out


def pareto_front(objectives: np.ndarray) -> np.ndarray:
    """``[point]`` bool: not dominated by any other point (all objectives minimised; rows with NaN never
    on the front). ``objectives``: ``[point, objective]``.

    Rows are sorted lexicographically, so a row's dominators come before it; blocks of rows are compared,
    all at once, with the front found so far and among themselves (the front stays small, so this is
    linear in the points, not quadratic)."""
    obj = np.asarray(objectives, dtype=float)
    ok = np.all(np.isfinite(obj), axis=1)
    front = np.zeros(len(obj), dtype=bool)
    where = np.flatnonzero(ok)
    cand = obj[where]
    order = np.lexsort(cand.T[::-1])
    kept = cand[:0]  # [front, obj]

    def dominated(blk: np.ndarray, by: np.ndarray) -> np.ndarray:  # [block] by some row of ``by``
        le = np.all(by[None, :, :] <= blk[:, None, :], axis=2)  # [block, other] other is no worse
        lt = np.any(by[None, :, :] < blk[:, None, :], axis=2)  # other is better somewhere
        return np.any(le & lt, axis=1)

    for s in range(0, len(order), 512):
        idx = order[s : s + 512]
        blk = cand[idx]
        keep = ~dominated(blk, kept) & ~dominated(blk, blk)
        front[where[idx[keep]]] = True
        kept = np.concatenate([kept, blk[keep]])
    return front
