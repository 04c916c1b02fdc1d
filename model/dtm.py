"""Dynamic thermal management: keep the peak temperature under a limit by lowering operating points.

A controller steps through a per-interval power trace (the block model's exact modal transient, see
:func:`systolic.model.thermal.transient_modal`) and chooses, for every interval, an operating point for
a region of the chip (the PE array, a domain, or the whole chip):

* **predictive step down**: the interval is simulated at the current point; while its end temperature
  (hottest block anywhere on the chip) would pass ``limit_k``, the next slower point is tried;
* **step up with hysteresis**: one point faster only after the previous interval ended at least
  ``hysteresis_k`` below the limit and the current point has been held ``min_dwell`` intervals -- and
  only if the faster point keeps the interval under the limit too.

Operating points are (V, f) pairs, fastest (nominal) first. The interval's work is fixed, so running the
region at (V, f) instead of (V0, f0):

* stretches the interval to ``dt * (c f0 / f + 1 - c)``, ``c`` the interval's compute-bound share
  (the part paced by the array clock; memory-bound time does not shrink or grow with f);
* scales the region's dynamic *energy* by (V / V0)^2, so its power by (V / V0)^2 (f / f0) when ``c = 1``
  (alpha C V^2 f); blocks outside the region keep their energy, spread over the longer interval;
* scales the region's leakage power by V / V0 (``V * I_leak(T)``, the current held), evaluated at the
  start temperature of every interval (coupled step by step).

The representation is deliberately small (:class:`OperatingPoint`, a tuple of them, a set of block names)
so that model/dvfs.py's operating points and voltage domains can be passed in their place: anything with
``vdd_v`` and ``freq_hz`` attributes works as a point. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from systolic.errors import InputError

from . import thermal as th
from .floorplan import Floorplan

Leakage = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class OperatingPoint:
    """A supply voltage (V) and clock frequency (Hz)."""

    vdd_v: float
    freq_hz: float


@dataclass(frozen=True)
class DtmPolicy:
    """What the controller holds and how.

    Attributes
    ----------
    limit_k : float
        The peak temperature to stay under (at interval ends, any block).
    points : sequence of OperatingPoint
        Fastest (nominal) first; frequency must fall and voltage must not rise along it.
    hysteresis_k : float
        Step up only after an interval ending this far below the limit.
    min_dwell : int
        Intervals to stay at a point before stepping up.
    region : sequence of str, optional
        Blocks whose operating point is lowered; None: the whole chip.
    """

    limit_k: float
    points: tuple
    hysteresis_k: float = 0.2
    min_dwell: int = 1
    region: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        points = tuple(self.points)
        object.__setattr__(self, "points", points)
        if not points:
            raise InputError("at least one operating point is needed", "dtm", "points")
        v = np.array([p.vdd_v for p in points], dtype=float)
        f = np.array([p.freq_hz for p in points], dtype=float)
        if np.any(v <= 0) or np.any(f <= 0):
            raise InputError("voltages and frequencies must be positive", "dtm", "points")
        if np.any(np.diff(f) >= 0) or np.any(np.diff(v) > 0):
            raise InputError(
                "operating points must go from fastest to slowest: frequency falling, voltage not rising",
                "dtm",
                "points",
            )
        if not np.isfinite(self.limit_k) or self.limit_k <= 0:
            raise InputError(f"limit must be a positive temperature, not {self.limit_k!r}", "dtm", "limit_k")
        if self.hysteresis_k < 0:
            raise InputError(
                f"hysteresis must be non-negative, not {self.hysteresis_k:g}", "dtm", "hysteresis_k"
            )
        if self.min_dwell < 1:
            raise InputError(f"min_dwell must be at least 1, not {self.min_dwell}", "dtm", "min_dwell")
        if self.region is not None:
            object.__setattr__(self, "region", tuple(self.region))


def pe_region(flp: Floorplan) -> tuple[str, ...]:
    """The PE-array tiles of a :func:`~systolic.model.floorplan.floorplan_for` floorplan."""
    return tuple(n for n in flp.names if n.startswith("pe_t"))


@dataclass(frozen=True, eq=False)
class DtmResult:
    """A managed run next to the unmanaged one.

    Attributes
    ----------
    level : numpy.ndarray
        ``[interval]`` index of the operating point used.
    duration_s, times_s : numpy.ndarray
        ``[interval]`` length and end time of every (stretched) interval.
    temps_k : numpy.ndarray
        ``[interval, block]`` temperatures at the end of every interval.
    power_w : numpy.ndarray
        ``[interval, block]`` power used (dynamic and leakage).
    peak_k, peak_block, peak_time_s :
        Hottest block temperature of the managed run, where and when.
    held : bool
        The peak stayed at or under the limit.
    time_s, energy_j : float
        Managed run: total time and energy.
    unmanaged_peak_k, unmanaged_time_s, unmanaged_energy_j : float
        The same trace at the nominal point throughout.
    start_k, unmanaged_start_k : numpy.ndarray
        ``[block]`` temperatures each run started from (``init``).
    """

    level: np.ndarray
    duration_s: np.ndarray
    times_s: np.ndarray
    temps_k: np.ndarray
    power_w: np.ndarray
    peak_k: float
    peak_block: str
    peak_time_s: float
    held: bool
    time_s: float
    energy_j: float
    unmanaged_peak_k: float
    unmanaged_time_s: float
    unmanaged_energy_j: float
    start_k: np.ndarray
    unmanaged_start_k: np.ndarray

    @property
    def time_cost_s(self) -> float:
        """Extra time against the unmanaged run (never negative: no point is faster than nominal)."""
        return self.time_s - self.unmanaged_time_s

    @property
    def energy_cost_j(self) -> float:
        """Extra energy against the unmanaged run: longer intervals leak more, lower voltages switch for
        less, so it can be negative when voltage scales with frequency."""
        return self.energy_j - self.unmanaged_energy_j

    @property
    def throttled_intervals(self) -> int:
        return int(np.count_nonzero(self.level))


def run_dtm(
    flp: Floorplan,
    power_w: np.ndarray,
    interval_s: float | np.ndarray,
    policy: DtmPolicy,
    params: th.ThermalParams | None = None,
    leakage: Leakage | None = None,
    compute_fraction: float | np.ndarray = 1.0,
    init: str | float = "steady",
) -> DtmResult:
    """Step a per-interval trace through the block model under ``policy`` (see the module docstring).

    Parameters
    ----------
    flp : Floorplan
    power_w : numpy.ndarray
        ``[interval, block]`` dynamic power at the nominal point, floorplan order.
    interval_s : float or numpy.ndarray
        Interval lengths at the nominal point.
    policy : DtmPolicy
    params : ThermalParams, optional
        Default HotSpot's package with ``init_temp`` = ambient.
    leakage : callable, optional
        ``leakage(T_blocks_k) -> W`` at the nominal voltage.
    compute_fraction : float or numpy.ndarray
        ``[interval]`` share of each interval paced by the region's clock (1: compute-bound).
    init : "steady", "ambient" or float
        Start temperatures. ``"steady"`` (default): each run starts from its own steady state, as if the
        trace had been running back to back: the unmanaged run from the steady state of its average
        power, the managed run from the fixed point of the policy (:func:`_managed_steady`: the steady
        state of the average power the managed run draws when it starts there). ``"ambient"`` or a value
        start both runs there.
    """
    params, power, dts = th.run_inputs(flp, power_w, interval_s, params)
    cf = np.broadcast_to(np.asarray(compute_fraction, dtype=np.float64), (power.shape[0],))
    if np.any((cf < 0) | (cf > 1)):
        raise InputError("compute fraction must be in 0..1", "compute_fraction")
    model = th.block_model(flp, params)
    steady = th.steady_block(model, (power * dts[:, None]).sum(axis=0) / dts.sum(), leakage)
    start = th.initial_temps_k(model, init, steady)
    stepper = _Stepper(model, power, dts, cf, _region_mask(flp, policy), policy, leakage)
    peak0 = float(np.max(start[: flp.n_blocks]))
    z0 = stepper.modal.to_modes @ start
    base_levels, base_temps, base_power, base_dur = _simulate(stepper, policy, z0, peak0, controlled=False)
    unmanaged_start = start
    if isinstance(init, str) and init == "steady":
        start = _managed_steady(model, stepper, policy, start, leakage)
        z0, peak0 = stepper.modal.to_modes @ start, float(np.max(start[: flp.n_blocks]))
    levels, temps, powers, durations = _simulate(stepper, policy, z0, peak0, controlled=True)
    times = np.cumsum(durations)
    row, block = np.unravel_index(int(np.argmax(temps)), temps.shape)
    peak = float(temps[row, block])
    return DtmResult(
        level=levels,
        duration_s=durations,
        times_s=times,
        temps_k=temps,
        power_w=powers,
        peak_k=peak,
        peak_block=model.floorplan.names[block],
        peak_time_s=float(times[row]),
        held=peak <= policy.limit_k + 1e-9,
        time_s=float(durations.sum()),
        energy_j=float((powers * durations[:, None]).sum()),
        unmanaged_peak_k=float(base_temps.max()),
        unmanaged_time_s=float(base_dur.sum()),
        unmanaged_energy_j=float((base_power * base_dur[:, None]).sum()),
        start_k=start[: flp.n_blocks],
        unmanaged_start_k=unmanaged_start[: flp.n_blocks],
    )


#: The managed run's start: iterate until no block's start moves by more than this (K), as steady states do.
FIXED_POINT_TOL_K = 0.01
#: ... or this many times. The policy's levels are discrete, so the map may have no fixed point and flip
#: between two starts instead (a limit near a level change): then the hotter of the two is taken.
FIXED_POINT_ITERATIONS = 30


def _managed_steady(
    model, stepper: _Stepper, policy: DtmPolicy, start: np.ndarray, leakage: Leakage | None
) -> np.ndarray:
    """``[node]`` the managed run's own steady state: starting from ``start`` (the unmanaged one), run the
    policy, take the steady state of the average power it drew (dynamic power at each interval's
    level, leakage scaled by the region's V / V0 on time average), and repeat from there until the start
    no longer moves. A limit the unmanaged steady state breaks can then hold: the chip that has been
    running managed is cooler than the one that has not."""
    before = start
    for _ in range(FIXED_POINT_ITERATIONS):
        z0 = stepper.modal.to_modes @ start
        levels, _, _, durations = _simulate(stepper, policy, z0, float(np.max(start[: model.n_blocks])), True)
        v2 = np.where(stepper.in_region, stepper.s_v[levels][:, None] ** 2, 1.0)  # [interval, block]
        dyn = (stepper.power * stepper.dts[:, None] * v2).sum(axis=0) / durations.sum()  # same energy
        scale = np.where(stepper.in_region, stepper.s_v[levels] @ durations / durations.sum(), 1.0)
        leak = None if leakage is None else (lambda t, s=scale: np.asarray(leakage(t)) * s)
        nxt = th.steady_block(model, dyn, leak)
        if float(np.max(np.abs(nxt - start))) <= FIXED_POINT_TOL_K:
            return nxt
        if float(np.max(np.abs(nxt - before))) <= FIXED_POINT_TOL_K:  # a two-cycle: the hotter start
            n = model.n_blocks
            return nxt if float(np.max(nxt[:n])) >= float(np.max(start[:n])) else start
        before, start = start, nxt
    return start


def _region_mask(flp: Floorplan, policy: DtmPolicy) -> np.ndarray:
    """``[block]`` True for the blocks the policy throttles."""
    if policy.region is None:
        return np.ones(flp.n_blocks, dtype=bool)
    index = {name.lower(): i for i, name in enumerate(flp.names)}
    unknown = [r for r in policy.region if r.lower() not in index]
    if unknown:
        raise InputError(f"region blocks not in the floorplan: {', '.join(unknown)}", "dtm", "region")
    mask = np.zeros(flp.n_blocks, dtype=bool)
    mask[[index[r.lower()] for r in policy.region]] = True
    return mask


class _Stepper:
    """One interval of the block model in modal form at a DTM level: the region's clock stretches the
    interval, its voltage scales its dynamic energy by V^2 and its leakage by V."""

    def __init__(self, model, power, dts, cf, in_region, policy: DtmPolicy, leakage: Leakage | None):
        self.modal = th.block_modal(model)
        self.power, self.dts, self.cf, self.in_region, self.leakage = power, dts, cf, in_region, leakage
        self.blocks_from_z = self.modal.to_nodes[: power.shape[1]]  # [block, mode]
        v0, f0 = policy.points[0].vdd_v, policy.points[0].freq_hz
        self.s_v = np.array([p.vdd_v / v0 for p in policy.points])  # [level]
        self.s_f = np.array([p.freq_hz / f0 for p in policy.points])  # [level]

    def step(self, z: np.ndarray, row: int, level: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Modal state, block temperatures, block power and length after interval ``row`` at ``level``."""
        cf, modal = self.cf[row], self.modal
        stretch = cf / self.s_f[level] + 1.0 - cf
        h = self.dts[row] * stretch
        dyn = self.power[row] / stretch * np.where(self.in_region, self.s_v[level] ** 2, 1.0)  # same energy
        pw = dyn
        if self.leakage is not None:
            leak = np.asarray(self.leakage(self.blocks_from_z @ z))
            pw = dyn + leak * np.where(self.in_region, self.s_v[level], 1.0)
        ss = modal.z_amb + modal.z_per_w @ pw
        z_new = ss + np.exp(-modal.lam_per_s * h) * (z - ss)
        return z_new, self.blocks_from_z @ z_new, pw, h


def _simulate(
    stepper: _Stepper, policy: DtmPolicy, z0: np.ndarray, peak0: float, controlled: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Levels, block temperatures, block power and lengths per interval, with or without the policy."""
    n_rows, n = stepper.power.shape
    z, level, dwell, last_peak = z0, 0, 0, peak0
    levels = np.zeros(n_rows, dtype=np.int64)
    temps, powers, durations = np.empty((n_rows, n)), np.empty((n_rows, n)), np.empty(n_rows)
    slowest = len(policy.points) - 1
    for row in range(n_rows):
        cand = level
        if controlled and level > 0 and dwell >= policy.min_dwell:
            if last_peak < policy.limit_k - policy.hysteresis_k:
                cand = level - 1
        while True:
            z_new, t_blocks, pw, h = stepper.step(z, row, cand)
            if not controlled or cand == slowest or float(t_blocks.max()) <= policy.limit_k:
                break
            if cand < level:  # stepping up would pass the limit: stay
                cand = level
            else:
                cand += 1
        dwell = dwell + 1 if cand == level else 1
        level, z, last_peak = cand, z_new, float(t_blocks.max())
        levels[row], temps[row], powers[row], durations[row] = level, t_blocks, pw, h
    return levels, temps, powers, durations
