"""Dynamic voltage and frequency scaling: operating points, voltage domains and policies.

Operating points
----------------
Voltages and clocks come from the config (``dvfs_vdd_v``, ``dvfs_clock_hz``) or from the alpha-power law
``f ~ (V - vth_v)**alpha_power / V`` through the nominal point (``vdd_v``, ``clock_hz``); see
``systolic.config.dvfs_levels``. Each voltage domain (``dvfs_domains``: groups of the parts ``array``,
``sram``, ``dram_if`` sharing a regulator) runs at one of these points; a part in no domain stays at the
nominal point. A *choice* is one level per domain; choices are numbered in mixed radix (the first domain
most significant). The nominal point for every part is one more pseudo-choice, :attr:`Costs.nominal`.

Power at an operating point
---------------------------
Dynamic energy per action scales as V^2 (energy at the config's supply times ``(V / vdd_v)**2``); the
controller is charged per cycle of its clock, which makes its power ``alpha C V^2 f``; leakage is
``V I_leak(V, T)``. Layer times per domain clock: see ``model/power.py``.

Accounting window
-----------------
Every policy is charged over the same window, from the first layer to the deadline (or to the end of the
run when it is later): after the last layer the accelerator idles with its clocks stopped, leaking at the
idle supply. ``none`` idles at the nominal supply; the other policies drop every domain to its lowest
point when the leakage saved pays for the transition. The run starts at the first layer's point (set
before it starts, free); a change of operating point between layers costs ``dvfs_transition_latency_s``
(everything waits, leaking at the higher supply) and ``dvfs_transition_energy_j`` per domain that changes.

Policies
--------
* ``none``: the nominal point throughout.
* ``race``: every domain at its fastest point, then idle at the lowest (race to idle).
* ``deadline``: per-layer choices that minimise energy with the whole run, transitions included,
  finishing by the deadline: a dynamic program over (layer, previous choice, time used) with time in
  buckets (each layer's time rounded up, so the plan always meets the deadline in continuous time),
  after pruning per layer the choices no sequence can prefer (slower and dearer by more than any
  transitions could give back); then :func:`polish` spends the slack the rounding left, one layer at a
  time in continuous time, from the DP's plan and from the best uniform plan, and the cheaper wins.
  :func:`exhaustive_plan` is the brute-force check (within 0.3% on random small networks, tested at 2%).
* ``activity``: from a uniform base point (nominal when it meets the deadline, else the slowest
  uniform point that does), lower in each layer the domains with slack, least utilised first, as far as
  the layer takes no longer than at the base point: memory-bound layers slow the array, compute-bound
  ones the SRAMs. Layers go back to the base when transitions would miss the deadline or cost more
  than they save.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from systolic.config import ArrayConfig, dvfs_levels
from systolic.errors import InputError

from .cycles import GemmArrays
from .energy import LEAK_T_REF_K
from .memory import Schedule
from .power import (
    COLUMNS,
    PARTS,
    StepWork,
    Timeline,
    build_timeline,
    column_leakage_w,
    column_voltage_scale,
    step_times_s,
    step_work,
)

POLICIES: tuple[str, ...] = ("none", "race", "deadline", "activity")


@dataclass(frozen=True)
class OperatingPoints:
    """The DVFS levels, slowest first: supply (V) and clock (Hz) per level."""

    vdd_v: np.ndarray
    clock_hz: np.ndarray

    @property
    def levels(self) -> int:
        return int(self.vdd_v.size)


def operating_points(cfg: ArrayConfig) -> OperatingPoints:
    """The config's operating points (validated by the config itself)."""
    volts, clocks = dvfs_levels(cfg)
    return OperatingPoints(np.array(volts, dtype=float), np.array(clocks, dtype=float))


@dataclass(frozen=True)
class Domains:
    """Voltage domains: ``names`` (``array``, ``array+sram``, ...) and the domain of each part (-1: fixed)."""

    names: tuple[str, ...]
    part_domain: np.ndarray  # [part]


def domains_of(cfg: ArrayConfig) -> Domains:
    part_domain = np.full(len(PARTS), -1)
    for d, name in enumerate(cfg.dvfs_domains):
        for part in name.split("+"):
            part_domain[PARTS.index(part)] = d
    return Domains(tuple(cfg.dvfs_domains), part_domain)


@dataclass(frozen=True)
class Costs:
    """Time and energy of every layer at every choice, and what switching and idling cost.

    Attributes
    ----------
    level : np.ndarray, shape [choice, domain]
        Level of each domain per choice; the last row is the nominal pseudo-choice (level -1).
    level_v, level_hz : np.ndarray, shape [level]
        The operating points.
    part_domain : np.ndarray, shape [part]
        Domain of each part of ``power.PARTS`` (-1: fixed at the nominal point).
    v_part, f_part : np.ndarray, shape [choice, part]
    time_s, energy_pj : np.ndarray, shape [choice, layer]
        Whole layer (all repeats), dynamic plus leakage.
    utilisation : np.ndarray, shape [layer, part]
        At the nominal point: array compute cycles, busiest SRAM port lines and DRAM beats over the
        layer's cycles.
    switch_pj : np.ndarray, shape [choice, choice]
        Energy of changing from one choice to another (0 on the diagonal), latency leakage included.
    changed : np.ndarray of int, shape [choice, choice]
        Domains that change.
    idle_w : np.ndarray, shape [choice]
        Leakage with clocks stopped at a choice's supplies.
    latency_s : float
    """

    level: np.ndarray
    level_v: np.ndarray
    level_hz: np.ndarray
    part_domain: np.ndarray
    v_part: np.ndarray
    f_part: np.ndarray
    time_s: np.ndarray
    energy_pj: np.ndarray
    utilisation: np.ndarray
    switch_pj: np.ndarray
    changed: np.ndarray
    idle_w: np.ndarray
    latency_s: float

    @property
    def choices(self) -> int:
        """Real choices (the nominal pseudo-choice excluded)."""
        return self.level.shape[0] - 1

    @property
    def nominal(self) -> int:
        return self.level.shape[0] - 1

    @property
    def layers(self) -> int:
        return self.time_s.shape[1]

    @property
    def fastest(self) -> int:
        return self.choices - 1

    @property
    def slowest(self) -> int:
        return 0


#: What :func:`costs` holds per choice and step while it times every step at every choice (measured with
#: tracemalloc, nice 10 at a load average of 3.6: 126 choices x 49,792 steps (AlexNet on small-8x8), 105 MB
#: and 0.60-0.65 s; x 62,858 steps (ResNet-18), 132 MB and 0.81-1.05 s; it was 288 B and 0.6-1.5 us before
#: :func:`~.power.step_times_s` took the choices in blocks).
BYTES_PER_CHOICE_STEP = 20
SECONDS_PER_CHOICE_STEP = 0.15e-6


def choice_count(cfg: ArrayConfig) -> int:
    """Operating-point choices :func:`costs` evaluates: every level for every domain, and nominal."""
    return len(dvfs_levels(cfg)[0]) ** len(cfg.dvfs_domains) + 1


def costs_cost(cfg: ArrayConfig, steps: int) -> tuple[float, float]:
    """(seconds, bytes) :func:`costs` takes for ``steps`` controller steps."""
    n = choice_count(cfg) * steps
    return n * SECONDS_PER_CHOICE_STEP, n * BYTES_PER_CHOICE_STEP


def costs(cfg: ArrayConfig, work: StepWork) -> Costs:
    """Per-layer time and energy at every choice (vectorised over choices and steps)."""
    ops = operating_points(cfg)
    dom = domains_of(cfg)
    n_dom, n_lev = len(dom.names), ops.levels
    if n_dom:
        level = np.array(np.unravel_index(np.arange(n_lev**n_dom), (n_lev,) * n_dom)).T  # [choice, domain]
    else:
        level = np.zeros((1, 0), dtype=np.int64)
    level = np.vstack([level.reshape(-1, n_dom), np.full((1, n_dom), -1)])
    nominal = np.arange(level.shape[0]) == level.shape[0] - 1
    v_part = np.full((level.shape[0], len(PARTS)), cfg.vdd_v)
    f_part = np.full((level.shape[0], len(PARTS)), cfg.clock_hz)
    for p in range(len(PARTS)):
        d = dom.part_domain[p]
        if d >= 0:
            lv = level[:, d]
            v_part[:, p] = np.where(nominal, cfg.vdd_v, ops.vdd_v[lv])
            f_part[:, p] = np.where(nominal, cfg.clock_hz, ops.clock_hz[lv])
    f_step = np.broadcast_to(f_part[:, None, :], (f_part.shape[0], work.layer.size, len(PARTS)))
    t = step_times_s(work, f_step)  # [choice, step]
    rep = work.repeat.astype(float)
    time_s = work.layer_sum(t) * rep
    energy_pj = _layer_energy_pj(cfg, work, v_part, f_part, t) * rep
    nom = level.shape[0] - 1
    layer_cycles = time_s[nom] * cfg.clock_hz
    util = (
        np.stack(
            [
                work.layer_sum(work.compute_cycles) * rep,
                work.layer_sum(work.port_lines) * rep,
                work.layer_sum(work.read_beats + work.write_beats) * rep,
            ],
            axis=1,
        )
        / np.maximum(layer_cycles, 1.0)[:, None]
    )
    changed = (level[:, None, :] != level[None, :, :]).sum(axis=2)  # [choice, choice]
    lat = cfg.dvfs_transition_latency_s
    v_hi = np.maximum(v_part[:, None, :], v_part[None, :, :])
    leak_hi = column_leakage_w(cfg, work, v_hi).sum(axis=2)  # [choice, choice]
    switch = np.where(changed > 0, changed * cfg.dvfs_transition_energy_j * 1e12 + leak_hi * lat * 1e12, 0.0)
    idle_w = column_leakage_w(cfg, work, v_part).sum(axis=1)
    return Costs(
        level,
        ops.vdd_v,
        ops.clock_hz,
        dom.part_domain,
        v_part,
        f_part,
        time_s,
        energy_pj,
        util,
        switch,
        changed,
        idle_w,
        lat,
    )


def _layer_energy_pj(
    cfg: ArrayConfig, work: StepWork, v_part: np.ndarray, f_part: np.ndarray, t_step_s: np.ndarray
) -> np.ndarray:
    """``[choice, layer]`` energy of one GEMM of each layer: :func:`~systolic.model.power.step_energy_at`
    summed over steps, families and columns, in the order that needs no ``[choice, step, column]`` array:
    each column's dynamic energy scales with its part's V**2 alone, so it is summed over the layer's steps
    first; the controller's (per array cycle) and leakage follow the step times."""
    vs = column_voltage_scale(cfg, v_part)  # [choice, column]
    ctrl = COLUMNS.index("ctrl")
    per_column = work.energy_pj.sum(axis=1)  # [step, column]; its ctrl column is 0 (charged per cycle)
    dynamic = work.layer_sum(per_column.T).T @ vs.T  # [layer, choice]
    t_layer = work.layer_sum(t_step_s)  # [choice, layer]
    ctrl_cycles = work.layer_sum(work.ctrl_pj_per_cycle * t_step_s)  # [choice, layer] pJ/cycle x s
    ctrl_pj = ctrl_cycles * (f_part[:, 0] * vs[:, ctrl])[:, None]
    leak_pj = column_leakage_w(cfg, work, v_part).sum(axis=1)[:, None] * t_layer * 1e12
    return dynamic.T + ctrl_pj + leak_pj


def _idle_costs(c: Costs, last: np.ndarray, slack_s: np.ndarray, drop: bool) -> tuple[np.ndarray, np.ndarray]:
    """Idle energy (pJ) after finishing at choice ``last`` with ``slack_s`` to spare, and whether to drop
    to the slowest point for it (only when ``drop``)."""
    slack = np.maximum(slack_s, 0.0)
    stay = c.idle_w[last] * slack * 1e12
    if not drop:
        return stay, np.zeros(np.shape(stay), dtype=bool)
    low = c.slowest
    go = c.switch_pj[last, low] + c.idle_w[low] * np.maximum(slack - c.latency_s, 0.0) * 1e12
    better = (slack >= c.latency_s) & (c.changed[last, low] > 0) & (go < stay)
    return np.where(better, go, stay), better


def evaluate(c: Costs, seqs: np.ndarray, deadline_s: float, drop_idle: bool = True):
    """Time (s) and energy (pJ, idle to the deadline included) of choice sequences ``seqs[..., layer]``."""
    seqs = np.asarray(seqs)
    lay = np.arange(c.layers)
    t = c.time_s[seqs, lay].sum(axis=-1)
    e = c.energy_pj[seqs, lay].sum(axis=-1)
    prev, nxt = seqs[..., :-1], seqs[..., 1:]
    t = t + (c.changed[prev, nxt] > 0).sum(axis=-1) * c.latency_s
    e = e + c.switch_pj[prev, nxt].sum(axis=-1)
    idle, _ = _idle_costs(c, seqs[..., -1], deadline_s - t, drop_idle)
    return t, e + idle


# --------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class DvfsPlan:
    """A policy's per-layer choices and what they cost.

    Attributes
    ----------
    policy : str
    choice : np.ndarray, shape [layer]
        Index into the :class:`Costs` choices.
    v_part, f_part : np.ndarray, shape [layer, part]
    changes : np.ndarray, shape [layer]
        Domains that change before each layer.
    idle_drop : bool
        Whether the run ends by dropping to the slowest point to idle.
    time_s : float
        When the last layer ends.
    energy_pj : float
        Over the window to the deadline (or to the end, when later), idle included.
    deadline_s : float
    """

    policy: str
    choice: np.ndarray
    v_part: np.ndarray
    f_part: np.ndarray
    changes: np.ndarray
    idle_drop: bool
    time_s: float
    energy_pj: float
    deadline_s: float

    @property
    def met(self) -> bool:
        return self.time_s <= self.deadline_s * (1 + 1e-12)


def _plan(policy: str, c: Costs, seq: np.ndarray, deadline_s: float) -> DvfsPlan:
    seq = np.asarray(seq, dtype=np.int64)
    drop = policy != "none"
    t, e = evaluate(c, seq, deadline_s, drop)
    _, dropped = _idle_costs(c, seq[-1:], np.array([deadline_s - t]), drop)
    changes = np.concatenate([[0], c.changed[seq[:-1], seq[1:]]])
    return DvfsPlan(
        policy, seq, c.v_part[seq], c.f_part[seq], changes, bool(dropped[0]), float(t), float(e), deadline_s
    )


def fastest_time_s(c: Costs) -> float:
    """The shortest run: every domain at its fastest point (time only falls as a clock rises)."""
    return float(c.time_s[c.fastest].sum())


def check_deadline(c: Costs, deadline_s: float) -> None:
    """An InputError when no operating point meets ``deadline_s``, naming the fastest achievable time."""
    fastest = fastest_time_s(c)
    if not deadline_s > 0 or deadline_s < fastest * (1 - 1e-12):
        raise InputError(
            f"no operating point meets a deadline of {deadline_s * 1e3:.6g} ms: the fastest achievable "
            f"is {fastest * 1e3:.6g} ms (every domain at its fastest point)",
            where="deadline",
        )


def _safe_candidates(c: Costs, layer: int, max_switch: float, idle_bound_w: float) -> np.ndarray:
    """Choices of one layer that some optimal sequence may use: drop a choice when another is faster by
    at least two transition latencies and cheaper by more than two transitions' energy plus the idle
    leakage its earlier finish could add."""
    t, e = c.time_s[: c.choices, layer], c.energy_pj[: c.choices, layer]
    gain_t = t[None, :] - t[:, None]  # [other, choice]: how much faster `other` is
    margin = 2 * max_switch + idle_bound_w * np.maximum(gain_t, 0.0) * 1e12
    weak = (gain_t >= 2 * c.latency_s) & (e[:, None] + margin <= e[None, :])  # [other, choice]
    # a strict improvement, or a tie broken by index, so that no choice removes itself or its twin
    idx = np.arange(t.size)
    strict = (gain_t > 2 * c.latency_s) | (e[:, None] + margin < e[None, :]) | (idx[:, None] < idx[None, :])
    dominated = weak & strict & (idx[:, None] != idx[None, :])
    return np.flatnonzero(~dominated.any(axis=0))


def deadline_plan(c: Costs, deadline_s: float, buckets: int | None = None) -> DvfsPlan:
    """Minimum-energy per-layer choices that meet ``deadline_s`` (see the module docstring).

    ``buckets`` time steps over the deadline (default ``40 x layers`` within 2000..20000, fewer when the
    table would pass 2e7 entries): each layer's time is rounded up to a bucket, so the plan meets the
    deadline and may leave up to ``layers`` buckets of slack unused, which :func:`polish` then spends.
    """
    check_deadline(c, deadline_s)
    n = c.layers
    max_switch = float(c.switch_pj[: c.choices, : c.choices].max())
    idle_bound = float(c.idle_w[: c.choices].max())
    cands = [_safe_candidates(c, layer, max_switch, idle_bound) for layer in range(n)]
    entries = sum(cand.size for cand in cands)
    b_count = int(buckets or max(min(max(40 * n, 2000), 20000, int(2e7 / entries)), 200))
    dt = deadline_s / b_count
    lat_b = math.ceil(c.latency_s / dt - 1e-9) if c.latency_s > 0 else 0
    tbs = [np.ceil(c.time_s[cand, layer] / dt - 1e-9).astype(np.int64) for layer, cand in enumerate(cands)]
    inf = np.inf
    values = []  # per layer: [candidate, bucket] least energy to have finished the layer in that bucket
    for layer in range(n):
        cand, tb, e = cands[layer], tbs[layer], c.energy_pj[cands[layer], layer]
        new = np.full((cand.size, b_count + 1), inf)
        if layer == 0:
            ok = tb <= b_count
            new[np.flatnonzero(ok), tb[ok]] = e[ok]
        else:
            prev, value = cands[layer - 1], values[-1]
            sw = c.switch_pj[np.ix_(prev, cand)]  # [prev, cur]
            stay = prev[:, None] == cand[None, :]
            for j in range(cand.size):
                best = new[j]
                i_same = np.flatnonzero(stay[:, j])
                if i_same.size and tb[j] <= b_count:  # the same choice again: no transition
                    best[tb[j] :] = value[i_same[0], : b_count + 1 - tb[j]]
                shift = tb[j] + lat_b
                others = np.flatnonzero(~stay[:, j])
                if others.size and shift <= b_count:
                    moved = (value[others, : b_count + 1 - shift] + sw[others, j][:, None]).min(axis=0)
                    np.minimum(best[shift:], moved, out=best[shift:])
                best += e[j]
        values.append(new)
    slack = deadline_s - np.arange(b_count + 1) * dt  # [bucket] at least this much slack remains
    idle, _ = _idle_costs(c, cands[-1][:, None], slack[None, :], True)
    total = values[-1] + idle
    # Rounding up can rule out a uniform choice that fits the deadline exactly, and no single-layer move
    # of polish() reaches it past transitions: the best uniform sequence is the other starting point.
    uniform = np.repeat(np.arange(c.choices)[:, None], n, axis=1)  # [choice, layer]
    t_u, e_u = evaluate(c, uniform, deadline_s)
    e_u = np.where(t_u <= deadline_s * (1 + 1e-12), e_u, inf)
    start = polish(c, uniform[int(np.argmin(e_u))], deadline_s)
    if not np.isfinite(total).any():  # rounding left no room
        return _plan("deadline", c, start, deadline_s)
    j, b = (int(x) for x in np.unravel_index(np.argmin(total), total.shape))
    seq = np.empty(n, dtype=np.int64)
    for layer in range(n - 1, 0, -1):  # walk back: which previous choice gave each minimum
        cand, prev, value = cands[layer], cands[layer - 1], values[layer - 1]
        seq[layer] = cand[j]
        core = b - tbs[layer][j]
        options = np.full(prev.size, inf)
        same = prev == cand[j]
        if core - lat_b >= 0:
            options = value[:, core - lat_b] + c.switch_pj[prev, cand[j]]
        if same.any() and core >= 0:
            options[same] = value[same, core]
        i = int(np.argmin(options))
        j, b = i, core - (0 if same[i] else lat_b)
    seq[0] = cands[0][j]
    seq = polish(c, seq, deadline_s)
    t_two, e_two = evaluate(c, np.stack([seq, start]), deadline_s)
    return _plan("deadline", c, seq if e_two[0] <= e_two[1] else start, deadline_s)


def polish(c: Costs, seq: np.ndarray, deadline_s: float, rounds: int = 4) -> np.ndarray:
    """Coordinate descent in continuous time: change one layer's choice at a time while that saves energy
    and meets the deadline. Recovers the slack the dynamic program's rounding of times left unused."""
    seq = np.asarray(seq, dtype=np.int64).copy()
    t, e = evaluate(c, seq, deadline_s)
    for _ in range(rounds):
        improved = False
        for layer in range(c.layers):
            trial = np.repeat(seq[None, :], c.choices, axis=0)  # [choice, layer]
            trial[:, layer] = np.arange(c.choices)
            tt, ee = evaluate(c, trial, deadline_s)
            ee = np.where(tt <= deadline_s * (1 + 1e-12), ee, np.inf)
            k = int(np.argmin(ee))
            if ee[k] < e * (1 - 1e-12):
                seq, e, improved = trial[k], float(ee[k]), True
        if not improved:
            break
    return seq


def exhaustive_plan(c: Costs, deadline_s: float, limit: int = 2_000_000) -> DvfsPlan:
    """The optimum over every sequence of choices (for checking :func:`deadline_plan` on small cases)."""
    check_deadline(c, deadline_s)
    count = c.choices**c.layers
    if count > limit:
        raise InputError(f"{count:,} sequences is too many for an exhaustive search (limit {limit:,})")
    seqs = np.array(np.unravel_index(np.arange(count), (c.choices,) * c.layers)).T  # [sequence, layer]
    t, e = evaluate(c, seqs, deadline_s)
    e = np.where(t <= deadline_s * (1 + 1e-12), e, np.inf)
    return _plan("exhaustive", c, seqs[int(np.argmin(e))], deadline_s)


def uniform_choice(c: Costs, level: int) -> int:
    """The choice with every domain at ``level``."""
    n_dom, n_lev = c.level.shape[1], c.level_hz.size
    return int(level * sum(n_lev**d for d in range(n_dom)))


def domain_utilisation(c: Costs) -> np.ndarray:
    """``[layer, domain]``: the highest nominal utilisation among each domain's parts."""
    n_dom = c.level.shape[1]
    out = np.zeros((c.layers, n_dom))
    for p, d in enumerate(c.part_domain.tolist()):
        if d >= 0:
            out[:, d] = np.maximum(out[:, d], c.utilisation[:, p])
    return out


#: The activity policy's target utilisation: a domain busy a share u of a layer at the base clock gets the
#: slowest point with a clock of at least ``u / ACTIVITY_TARGET_UTILISATION`` of the base clock (the rule
#: of an on-demand governor; below 1 it leaves headroom for steps that do not overlap compute and memory).
ACTIVITY_TARGET_UTILISATION = 0.9


def activity_plan(c: Costs, deadline_s: float) -> DvfsPlan:
    """Slow each domain in each layer to its utilisation, then keep the deadline (module docstring)."""
    check_deadline(c, deadline_s)
    n_dom, n_lev = c.level.shape[1], c.level_hz.size
    rows = np.arange(c.layers)
    if c.time_s[c.nominal].sum() <= deadline_s * (1 + 1e-12):
        base, base_hz = c.nominal, float(c.f_part[c.nominal].min())
    else:
        lv = next(
            lv for lv in range(n_lev) if c.time_s[uniform_choice(c, lv)].sum() <= deadline_s * (1 + 1e-12)
        )
        base, base_hz = uniform_choice(c, lv), float(c.level_hz[lv])
    base_plan = _plan("activity", c, np.full(c.layers, base), deadline_s)
    if n_dom == 0:
        return base_plan
    need_hz = base_hz * domain_utilisation(c) / ACTIVITY_TARGET_UTILISATION  # [layer, domain]
    levels = np.searchsorted(c.level_hz * (1 + 1e-12), need_hz).clip(max=n_lev - 1)  # slowest fast enough
    top = np.flatnonzero(c.level_hz >= base_hz * (1 - 1e-12))
    levels = np.minimum(levels, top[0] if top.size else n_lev - 1)  # never faster than the base
    seq = levels @ (n_lev ** np.arange(n_dom - 1, -1, -1))
    seq = np.where(c.energy_pj[seq, rows] < c.energy_pj[base, rows], seq, base)
    plan = _plan("activity", c, seq, deadline_s)
    # back to the base, least energy saved per second added first, while the deadline is missed or the
    # transitions cost more than the slower points save
    saved = c.energy_pj[base, rows] - c.energy_pj[seq, rows]
    added = np.maximum(c.time_s[seq, rows] - c.time_s[base, rows], 0.0) + c.latency_s
    for layer in np.argsort(saved / np.maximum(added, 1e-30), kind="stable"):
        if plan.met and plan.energy_pj <= base_plan.energy_pj:
            return plan
        if seq[layer] != base:
            seq = seq.copy()
            seq[layer] = base
            plan = _plan("activity", c, seq, deadline_s)
    return plan if plan.met and plan.energy_pj <= base_plan.energy_pj else base_plan


def plan_policy(c: Costs, policy: str, deadline_s: float) -> DvfsPlan:
    """The plan of ``policy`` (one of :data:`POLICIES`)."""
    if policy == "none":
        return _plan("none", c, np.full(c.layers, c.nominal), deadline_s)
    if policy == "race":
        check_deadline(c, deadline_s)
        return _plan("race", c, np.full(c.layers, c.fastest), deadline_s)
    if policy == "deadline":
        return deadline_plan(c, deadline_s)
    if policy == "activity":
        return activity_plan(c, deadline_s)
    raise InputError(f"policy must be one of {', '.join(POLICIES)}, not {policy!r}", where="policy")


# --------------------------------------------------------------------------- a whole run


@dataclass(frozen=True)
class DvfsResult:
    """A policy's plan, its timeline, and the nominal run for comparison."""

    plan: DvfsPlan
    nominal: DvfsPlan
    timeline: Timeline
    costs: Costs
    work: StepWork

    @property
    def saved_pj(self) -> float:
        return self.nominal.energy_pj - self.plan.energy_pj

    def summary(self) -> dict:
        """The plan against nominal, JSON-ready (``systolic run``'s and ``systolic dvfs``'s summaries)."""
        plan, nominal = self.plan, self.nominal
        return {
            "policy": plan.policy,
            "deadline_s": plan.deadline_s,
            "time_s": plan.time_s,
            "deadline_met": plan.met,
            "energy_j": plan.energy_pj * 1e-12,
            "nominal_energy_j": nominal.energy_pj * 1e-12,
            "saved_j": self.saved_pj * 1e-12,
            "saved_fraction": self.saved_pj / nominal.energy_pj if nominal.energy_pj else 0.0,
            "transitions": int(plan.changes.sum()),
        }


def plan_timeline(cfg: ArrayConfig, work: StepWork, c: Costs, plan: DvfsPlan) -> Timeline:
    """The timeline of ``plan``, idle to the deadline included."""
    idle = None
    slack = plan.deadline_s - plan.time_s
    if slack > 0:
        last = int(plan.choice[-1])
        idle_choice = c.slowest if plan.idle_drop else last
        idle = (slack, c.v_part[idle_choice], int(c.changed[last, idle_choice]) if plan.idle_drop else 0)
    return build_timeline(cfg, work, plan.v_part, plan.f_part, plan.changes, idle)


def run_dvfs(
    cfg: ArrayConfig,
    gemm: GemmArrays,
    sched: Schedule,
    policy: str,
    deadline_s: float,
    temperature_k: float = LEAK_T_REF_K,
    layer_dynamic_pj: np.ndarray | None = None,
) -> DvfsResult:
    """Plan ``policy`` for the network and build its timeline (``layer_dynamic_pj``: the calibrated
    per-layer energy, see :func:`~systolic.model.power.step_work`)."""
    work = step_work(cfg, gemm, sched, temperature_k, layer_dynamic_pj=layer_dynamic_pj)
    c = costs(cfg, work)
    plan = plan_policy(c, policy, deadline_s)
    nominal = plan_policy(c, "none", deadline_s)
    return DvfsResult(plan, nominal, plan_timeline(cfg, work, c, plan), c, work)
