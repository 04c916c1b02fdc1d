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
class Problem:
    """One mapping (``maps`` holds one) to hold under ``limit_k``: the chip, its share costs, the batch,
    the block model's influence matrix (``thermal.influence_k_per_w``) for the search, and the grid
    transient's intervals and package for the checks."""

    chip: ChipConfig
    costs: TileCosts
    maps: Mappings
    batch: int
    limit_k: float
    influence: np.ndarray
    intervals: int = 200
    params: ThermalParams | None = None

    @property
    def ambient_k(self) -> float:
        return (self.params or th.default_params()).ambient_k


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


def _at_levels(
    p: Problem, ladder: _Ladder, levels: np.ndarray, order: np.ndarray | None = None
) -> Evaluation:
    """The mapping at ``levels[candidate, stage]`` (one candidate per row), placed by ``order[candidate,
    tile]`` (default: the mapping's own placement)."""
    n = levels.shape[0]
    maps = p.maps.take(np.zeros(n, dtype=np.int64))
    if order is not None:
        maps = Mappings(maps.stage_of, maps.tiles, order)
    ts = maps.tile_stage()
    tile_level = np.where(ts >= 0, np.take_along_axis(levels, np.maximum(ts, 0), axis=1), ladder.nominal)
    return evaluate(
        p.chip,
        p.costs,
        maps,
        p.batch,
        clock_scale=ladder.clock_hz[levels] / p.chip.tile.clock_hz,
        energy_scale=(ladder.vdd_v[levels] / p.chip.tile.vdd_v) ** 2,
        leak_w=ladder.leak_w[tile_level],
    )


def _steady_k(p: Problem, ev: Evaluation) -> np.ndarray:
    """``[candidate]`` the block model's steady peak."""
    return th.steady_peak_k(ev, p.influence, p.ambient_k)


def _outcome(p: Problem, policy: str, ev: Evaluation, levels: np.ndarray, ladder: _Ladder) -> Managed:
    """``ev`` (one candidate) checked with the grid transient, its transitions charged."""
    g = th.gantt(ev, 0)
    edges = np.linspace(0.0, g.makespan_s, p.intervals + 1)
    thermal = th.grid_transient(p.chip, th.tile_power_w(g, edges), float(edges[1]), p.params)
    moved = levels != ladder.nominal
    switched = int(ev.maps.tiles[0, : moved.size][moved].sum())
    t = p.chip.tile
    latency = t.dvfs_transition_latency_s if switched else 0.0
    seconds = float(ev.makespan_cycles[0]) / ev.clock_hz + latency
    energy = float(ev.energy_pj[0]) * 1e-12 + switched * t.dvfs_transition_energy_j
    return Managed(policy, ev, thermal, thermal.peak_k <= p.limit_k, seconds, energy, levels, switched)


def unmanaged(p: Problem) -> Managed:
    """The mapping at the nominal point."""
    ladder = _ladder(p.chip)
    levels = np.full((1, p.chip.tiles), ladder.nominal)
    return _outcome(p, "none", _at_levels(p, ladder, levels), levels[0], ladder)


def _margin(p: Problem, base: Managed) -> float:
    """Grid transient peak minus the block model's steady estimate, on the unmanaged run."""
    return base.thermal.peak_k - float(_steady_k(p, base.evaluation)[0])


def _step_down(p: Problem, ladder: _Ladder, levels: np.ndarray, margin: float) -> tuple[Evaluation, float]:
    """Lower the stage of the hottest tile that can still slow down until the steady estimate is at
    most ``limit_k - margin`` or every stage is at the slowest point; the evaluation and its estimate."""
    while True:  # at most (stages x levels) steps, each a one-mapping evaluation
        ev = _at_levels(p, ladder, levels)
        temps = p.ambient_k + p.influence @ ev.tile_power_w[0]
        if temps.max() <= p.limit_k - margin:
            return ev, float(temps.max())
        ts = ev.maps.tile_stage()[0]
        # the hottest tile whose stage can still slow down (a neighbour's heat counts too)
        hot = [int(ts[t]) for t in np.argsort(-temps, kind="stable") if ts[t] >= 0 and levels[0, ts[t]] > 0]
        if not hot:
            return ev, float(temps.max())  # every stage at the slowest point
        levels[0, hot[0]] -= 1


def per_tile_dvfs(p: Problem, base: Managed) -> Managed:
    """Step the hottest tile's stage down the ladder until the limit holds (module docstring)."""
    ladder = _ladder(p.chip)
    levels = np.full((1, p.chip.tiles), ladder.nominal)
    margin, result = _margin(p, base), base
    for _ in range(CHECKS):
        ev, estimate = _step_down(p, ladder, levels, margin)
        result = _outcome(p, "dvfs", ev, levels[0].copy(), ladder)
        if result.held or estimate > p.limit_k - margin:
            return result
        # the grid model disagrees: this point no longer passes the estimate, so the next takes a step
        margin = max(margin + result.thermal.peak_k - p.limit_k, p.limit_k - estimate) + 1e-3
    return result


def _cooler_order(p: Problem, ladder: _Ladder, levels: np.ndarray, order: np.ndarray, margin: float):
    """Greedy swaps of two places of ``order`` (every pair evaluated at once per step) while the steady
    estimate falls and is above ``limit_k - margin``; the order and its estimate."""
    a, b = np.triu_indices(p.chip.tiles, 1)
    peak = float(_steady_k(p, _at_levels(p, ladder, levels, order[None]))[0])
    while peak > p.limit_k - margin:
        cand = np.tile(order, (a.size, 1))
        cand[np.arange(a.size), a], cand[np.arange(a.size), b] = order[b], order[a]
        peaks = _steady_k(p, _at_levels(p, ladder, levels.repeat(a.size, 0), cand))
        best = int(np.argmin(peaks))
        if peaks[best] >= peak - 1e-9:
            break
        order, peak = cand[best], float(peaks[best])
    return order, peak


def migration(p: Problem, base: Managed) -> Managed:
    """Move the stages to cooler tiles at the nominal point (module docstring)."""
    ladder = _ladder(p.chip)
    levels = np.full((1, p.chip.tiles), ladder.nominal)
    margin, result = _margin(p, base), base
    order = p.maps.order[0].copy()
    for _ in range(CHECKS):
        order, estimate = _cooler_order(p, ladder, levels, order, margin)
        result = _outcome(
            p, "migration", _at_levels(p, ladder, levels, order[None]), levels[0].copy(), ladder
        )
        if result.held or estimate > p.limit_k - margin:
            return result
        margin = max(margin + result.thermal.peak_k - p.limit_k, p.limit_k - estimate) + 1e-3
    return result
