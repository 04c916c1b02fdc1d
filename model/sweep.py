"""Design points evaluated in bulk: latency, energy and area of many configs on the same networks.

A sweep's points differ in a few config fields. Points that agree on every field that shapes the tiles
(:func:`plan_key`: array, dataflow, widths, buffer sizes) share their tile plan, tiles and access counts,
which are computed once per group; the rest is vectorised across the group's points: step timing for
every DRAM bandwidth and latency at once (:func:`~systolic.model.memory.cycles_per_gemm_for`), energy as
one product of the shared action counts with a ``[point, action]`` table. The numbers are the same as
``systolic run``'s for each point on its own (a test checks that).

A point whose buffers cannot hold one fold of some layer is *infeasible*: it gets NaN metrics and the
reason, and the sweep goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError

from . import energy as en
from .cycles import GemmArrays
from .floorplan import floorplan_for
from .memory import access_counts, cycles_per_gemm_for, plan_tiles, tiles_of

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
)

#: The metrics every point gets, per network and in total (``<metric>`` and ``<network>.<metric>``).
METRICS: tuple[str, ...] = ("cycles", "stall_cycles", "latency_s", "energy_j", "dram_words", "utilisation")


def plan_key(cfg: ArrayConfig) -> tuple:
    """The values of :data:`PLAN_FIELDS`: points with equal keys share tiles and counts."""
    return tuple(getattr(cfg, f) for f in PLAN_FIELDS)


@dataclass(frozen=True)
class _Shared:
    """What a group of points shares on one network: per-layer action counts and the tiles."""

    tiles: object
    counts: np.ndarray  # [action] summed over layers and repeats (energy table order), ctrl cycles 0
    compute_cycles: np.ndarray  # [layer] per GEMM
    dram_words: int
    macs: int


def _shared(cfg: ArrayConfig, gemm: GemmArrays, names: list[str]) -> _Shared:
    plan = plan_tiles(cfg, gemm, names)
    tiles = tiles_of(cfg, gemm, plan)
    layers = gemm.m.size
    acc = access_counts(cfg, tiles)
    rep = gemm.repeat

    def total(kind: str, buf: str) -> int:
        return int((np.bincount(tiles.layer, weights=acc[kind][buf], minlength=layers) * rep).sum())

    per_layer = {
        (kind, buf): total(kind, buf)
        for kind in ("sram_reads", "sram_writes", "dram_reads", "dram_writes")
        for buf in ("ifmap", "filter", "ofmap")
    }
    counts = _action_counts(int(gemm.macs.sum()), per_layer)
    dram = sum(v for (kind, _), v in per_layer.items() if kind.startswith("dram"))
    compute = np.bincount(tiles.layer, weights=tiles.compute_cycles, minlength=layers).astype(np.int64)
    return _Shared(tiles, counts, compute, int(dram), int(gemm.macs.sum()))


def _action_counts(macs: int, totals: dict[tuple[str, str], int]) -> np.ndarray:
    """``[action]`` counts in :data:`~systolic.model.energy.ACTIONS` order (one hop of each operand per
    MAC; controller cycles are added per point, as they depend on its timing)."""
    counts = {
        ("mult", "multiply"): macs,
        ("acc", "accumulate"): macs,
        ("fwd", "input_hop"): macs,
        ("fwd", "weight_hop"): macs,
        ("fwd", "psum_hop"): 0,
        ("ctrl", "cycle"): 0,
        ("dram", "read"): totals[("dram_reads", "ifmap")] + totals[("dram_reads", "filter")],
        ("dram", "write"): totals[("dram_writes", "ofmap")],
    }
    for buf in ("ifmap", "filter", "ofmap"):
        counts[(f"{buf}_sram", "read")] = totals[("sram_reads", buf)]
        counts[(f"{buf}_sram", "write")] = totals[("sram_writes", buf)]
    return np.array([counts[a] for a in en.ACTIONS], dtype=float)


def area_m2(cfg: ArrayConfig) -> float:
    """Die area of ``cfg``: the sum of its floorplan's blocks (the array as one tile)."""
    return float(floorplan_for(cfg, tile=(cfg.rows, cfg.cols)).area_m2.sum())


def evaluate(
    configs: Sequence[ArrayConfig],
    networks: Mapping[str, GemmArrays],
    names: Mapping[str, list[str]] | None = None,
) -> dict[str, np.ndarray]:
    """Latency, energy, area and more of every config on every network.

    Returns columns ``[point]``: ``area_mm2``, ``error`` (empty when feasible), the totals over networks
    of :data:`METRICS`, and ``<network>.<metric>`` per network. Infeasible points get NaN.
    """
    n = len(configs)
    out: dict[str, np.ndarray] = {"area_mm2": np.array([area_m2(c) * 1e6 for c in configs])}
    errors = np.full(n, "", dtype=object)
    per_net = {net: {m: np.full(n, np.nan) for m in METRICS} for net in networks}
    groups: dict[tuple, list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(plan_key(cfg), []).append(i)
    for idx in groups.values():
        first = configs[idx[0]]
        pts = [configs[i] for i in idx]
        bw = np.array([c.dram_bw_words_per_cycle for c in pts])
        lat = np.array([c.dram_latency_cycles for c in pts])
        clock = np.array([c.clock_hz for c in pts])
        try:
            shared = {net: _shared(first, g, (names or {}).get(net, [])) for net, g in networks.items()}
        except InputError as err:
            errors[idx] = str(err)
            continue
        tables = (
            np.stack([en.build_table(c).energy_pj for c in pts]) * en.REFERENCE_ACTIVITY
        )  # [point, action]
        ctrl = en.ACTIONS.index(("ctrl", "cycle"))
        leak_w = np.array([float(np.sum(en.leakage_w(c))) for c in pts])
        for net, g in networks.items():
            sh = shared[net]
            per_gemm = cycles_per_gemm_for(first, sh.tiles, g.m.size, bw, lat)  # [point, layer]
            cycles = (per_gemm * g.repeat).sum(axis=1)
            seconds = cycles / clock
            dyn_pj = tables @ sh.counts + tables[:, ctrl] * cycles
            col = per_net[net]
            col["cycles"][idx] = cycles
            col["stall_cycles"][idx] = cycles - (sh.compute_cycles * g.repeat).sum()
            col["latency_s"][idx] = seconds
            col["energy_j"][idx] = dyn_pj * 1e-12 + leak_w * seconds
            col["dram_words"][idx] = sh.dram_words
            col["utilisation"][idx] = sh.macs / (cycles * first.rows * first.cols)
    for m in METRICS:
        out[m] = (
            sum(per_net[net][m] for net in networks)
            if m != "utilisation"
            else _weighted_util(per_net, configs)
        )
    for net in networks:
        for m in METRICS:
            out[f"{net}.{m}"] = per_net[net][m]
    out["error"] = errors.astype(str)
    return out


def _weighted_util(per_net: dict, configs: Sequence[ArrayConfig]) -> np.ndarray:
    """Utilisation over all networks: MACs done over MAC slots in the total cycles."""
    cycles = sum(col["cycles"] for col in per_net.values())
    macs = sum(col["utilisation"] * col["cycles"] for col in per_net.values())
    return macs / cycles


def pareto_front(objectives: np.ndarray) -> np.ndarray:
    """``[point]`` bool: not dominated by any other point (all objectives minimised; rows with NaN never
    on the front). ``objectives``: ``[point, objective]``. Compared in blocks of rows, all at once."""
    obj = np.asarray(objectives, dtype=float)
    ok = np.all(np.isfinite(obj), axis=1)
    front = ok.copy()
    cand = obj[ok]
    where = np.flatnonzero(ok)
    for s in range(0, cand.shape[0], 512):
        blk = cand[s : s + 512]  # [block, obj]
        le = np.all(cand[None, :, :] <= blk[:, None, :], axis=2)  # [block, other] other is no worse
        lt = np.any(cand[None, :, :] < blk[:, None, :], axis=2)  # other is better somewhere
        front[where[s : s + 512]] = ~np.any(le & lt, axis=1)
    return front
