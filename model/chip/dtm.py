"""Per-tile dynamic thermal management of a pipelined chip, against the unmanaged run.

Two answers to a tile over the temperature limit:

* **per-tile DVFS**: the stage on the hottest tile steps down the tile's DVFS ladder
  (``systolic.config.dvfs_levels``: voltage and clock, slowest first); its share cycles take longer, its
  dynamic energy scales with V^2 and its leakage follows the supply (``model/energy/leakage.py``); the
  whole pipeline then runs at the pace of its slowest stage, so the other stages get bubbles and cool too.
  The levels hold for the whole batch (a run repeated back to back settles at its steady state), and every
  tile that left the nominal point pays one transition (``dvfs_transition_latency_s``: the run starts that
  much later; ``dvfs_transition_energy_j`` per tile);
* **migration**: the stages keep the nominal point and move to cooler tiles (swaps in the placement,
  unused tiles included), paying in NoC hops.

Both search with the block model's steady estimate of every candidate (cheap: a matrix product) and check
the result with the grid model's transient (``.thermal``); the difference between the two models on the
unmanaged run is the margin the search keeps, grown when a check fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.chip_config import ChipConfig
from systolic.config import dvfs_levels

from ..energy.leakage import leakage_w
from ..thermal_params import ThermalParams
from . import thermal as th
from .costs import TileCosts
from .mapping import Evaluation, Mappings, evaluate

#: Grid-model checks before a policy gives up.
CHECKS = 6


@dataclass(frozen=True, eq=False)
class Managed:
    """One policy's outcome on one mapping.

    Attributes
    ----------
    policy : str
        ``none``, ``dvfs`` or ``migration``.
    evaluation : Evaluation
        The managed mapping (one), its schedule and energy.
    thermal : ChipThermal
        Its grid transient.
    held : bool
        The transient's peak is at or below the limit.
    makespan_s, energy_j : float
        The batch's time and energy, transitions included.
    levels : numpy.ndarray
        ``[stage]`` DVFS level of every stage (index into the ladder, slowest first).
    transitions : int
        Tiles that left the nominal point.
    """

    policy: str
    evaluation: Evaluation
    thermal: th.ChipThermal
    held: bool
    makespan_s: float
    energy_j: float
    levels: np.ndarray
    transitions: int


@dataclass(frozen=True, eq=False)
class _Ladder:
    vdd_v: np.ndarray  # [level] slowest first, up to the nominal point
    clock_hz: np.ndarray
    leak_w: np.ndarray  # [level] one tile's leakage

    @property
    def nominal(self) -> int:
        return self.vdd_v.size - 1


def _ladder(chip: ChipConfig) -> _Ladder:
    """The tile's DVFS points at or below the nominal clock, slowest first, the nominal point last."""
    t = chip.tile
    volts, clocks = dvfs_levels(t)
    keep = [(v, f) for v, f in zip(volts, clocks, strict=True) if f < t.clock_hz * (1 - 1e-9)]
    pairs = [*keep, (t.vdd_v, t.clock_hz)]
    v = np.array([p[0] for p in pairs])
    f = np.array([p[1] for p in pairs])
    leak = np.array([float(leakage_w(t.replace(vdd_v=float(x))).sum()) for x in v])
    return _Ladder(v, f, leak)


def _at_levels(chip, costs, maps: Mappings, batch: int, ladder: _Ladder, levels: np.ndarray) -> Evaluation:
    """``levels[candidate, stage]``: the mapping (one, or one per candidate) evaluated at those points."""
    n = levels.shape[0]
    if maps.count != n:
        maps = maps.take(np.zeros(n, dtype=np.int64))
    ts = maps.tile_stage()
    tile_level = np.where(ts >= 0, np.take_along_axis(levels, np.maximum(ts, 0), axis=1), ladder.nominal)
    return evaluate(
        chip,
        costs,
        maps,
        batch,
        clock_scale=ladder.clock_hz[levels] / chip.tile.clock_hz,
        energy_scale=(ladder.vdd_v[levels] / chip.tile.vdd_v) ** 2,
        leak_w=ladder.leak_w[tile_level],
    )


def _transient(chip: ChipConfig, ev: Evaluation, intervals: int, params: ThermalParams | None):
    g = th.gantt(ev, 0)
    edges = np.linspace(0.0, g.makespan_s, intervals + 1)
    return th.grid_transient(chip, th.tile_power_w(g, edges), float(edges[1]), params)


def _outcome(policy, chip, ev, thermal, limit_k, levels, ladder) -> Managed:
    moved = levels != ladder.nominal
    switched = int(ev.maps.tiles[0, : moved.size][moved].sum())
    t = chip.tile
    latency = t.dvfs_transition_latency_s if switched else 0.0
    seconds = float(ev.makespan_cycles[0]) / ev.clock_hz + latency
    energy = float(ev.energy_pj[0]) * 1e-12 + switched * t.dvfs_transition_energy_j
    return Managed(policy, ev, thermal, thermal.peak_k <= limit_k, seconds, energy, levels, switched)


def unmanaged(chip, costs, maps: Mappings, batch: int, limit_k: float, intervals: int = 200, params=None):
    """The mapping at the nominal point (``maps`` holds one mapping)."""
    ladder = _ladder(chip)
    levels = np.full((1, chip.tiles), ladder.nominal)
    ev = _at_levels(chip, costs, maps, batch, ladder, levels)
    return _outcome("none", chip, ev, _transient(chip, ev, intervals, params), limit_k, levels[0], ladder)


def _margin(base: Managed, influence: np.ndarray, ambient_k: float) -> float:
    """Grid transient peak minus the block model's steady estimate, on the unmanaged run."""
    return base.thermal.peak_k - float(th.steady_peak_k(base.evaluation, influence, ambient_k)[0])


def per_tile_dvfs(  # long: the steady search and the grid checks in one loop
    chip: ChipConfig,
    costs: TileCosts,
    maps: Mappings,
    batch: int,
    limit_k: float,
    base: Managed,
    influence: np.ndarray,
    intervals: int = 200,
    params: ThermalParams | None = None,
) -> Managed:
    """Step the hottest tile's stage down the ladder until the limit holds (module docstring)."""
    ladder = _ladder(chip)
    ambient = (params or th.default_params()).ambient_k
    levels = np.full((1, chip.tiles), ladder.nominal)
    margin = _margin(base, influence, ambient)
    ev, result = None, base
    for _ in range(CHECKS):
        while True:  # at most (stages x levels) steps, each a one-mapping evaluation
            ev = _at_levels(chip, costs, maps, batch, ladder, levels)
            temps = ambient + influence @ ev.tile_power_w[0]
            if temps.max() <= limit_k - margin:
                break
            ts = ev.maps.tile_stage()[0]
            # the hottest tile whose stage can still slow down (a neighbour's heat counts too)
            hot = [
                int(ts[t]) for t in np.argsort(-temps, kind="stable") if ts[t] >= 0 and levels[0, ts[t]] > 0
            ]
            if not hot:
                break  # every stage at the slowest point
            hot_stage = hot[0]
            levels[0, hot_stage] -= 1
        thermal = _transient(chip, ev, intervals, params)
        result = _outcome("dvfs", chip, ev, thermal, limit_k, levels[0].copy(), ladder)
        if result.held or temps.max() > limit_k - margin:
            return result
        # the grid model disagrees: this point no longer passes the estimate, so the next takes a step
        margin = max(margin + thermal.peak_k - limit_k, limit_k - float(temps.max())) + 1e-3
    return result


def migration(  # long: the steady search and the grid checks in one loop
    chip: ChipConfig,
    costs: TileCosts,
    maps: Mappings,
    batch: int,
    limit_k: float,
    base: Managed,
    influence: np.ndarray,
    intervals: int = 200,
    params: ThermalParams | None = None,
) -> Managed:
    """Move the stages to cooler tiles: greedy swaps of two places in the order (all pairs evaluated at
    once per step) while the block model's steady peak falls."""
    ladder = _ladder(chip)
    ambient = (params or th.default_params()).ambient_k
    levels = np.full((1, chip.tiles), ladder.nominal)
    margin = _margin(base, influence, ambient)
    n = chip.tiles
    a, b = np.triu_indices(n, 1)
    order = maps.order[0].copy()
    result = base
    for _ in range(CHECKS):
        peak = float(
            th.steady_peak_k(
                _at_levels(chip, costs, _with(maps, order[None]), batch, ladder, levels), influence, ambient
            )[0]
        )
        while peak > limit_k - margin:
            cand = np.tile(order, (a.size, 1))
            cand[np.arange(a.size), a], cand[np.arange(a.size), b] = order[b], order[a]
            many = _with(maps.take(np.zeros(a.size, dtype=np.int64)), cand)
            peaks = th.steady_peak_k(
                _at_levels(chip, costs, many, batch, ladder, levels.repeat(a.size, 0)), influence, ambient
            )
            best = int(np.argmin(peaks))
            if peaks[best] >= peak - 1e-9:
                break
            order, peak = cand[best], float(peaks[best])
        ev = _at_levels(chip, costs, _with(maps, order[None]), batch, ladder, levels)
        thermal = _transient(chip, ev, intervals, params)
        result = _outcome("migration", chip, ev, thermal, limit_k, levels[0].copy(), ladder)
        if result.held or peak > limit_k - margin:
            return result
        margin = max(margin + thermal.peak_k - limit_k, limit_k - peak) + 1e-3
    return result


def _with(maps: Mappings, order: np.ndarray) -> Mappings:
    return Mappings(maps.stage_of, maps.tiles, order)
