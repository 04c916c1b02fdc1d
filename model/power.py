"""Power over time: per component and per floorplan block, per interval, from the model's timed steps.

Pure functions of an :class:`~systolic.config.ArrayConfig`, a :class:`~systolic.model.memory.Schedule` and
per-layer operating points; files are written at the edge (``systolic/flow/dvfs.py``).

Timing at per-domain clocks
---------------------------
The memory model (``model/memory.py``) times a step as ``1 + max(compute, read beats + L, write beats + 1)``
cycles of one clock (compute: :func:`~systolic.model.memory.compute_activity`, cc + 1 for a tile of cc
array cycles without ``tile_overlap``; with it the next step also waits for the tile's last results).
With the three parts of :data:`PARTS` on clocks of their own (``f_array``, ``f_sram``, ``f_dram_if``) a
step lasts, in seconds,

    1 / f_array + max(compute / f_array,             # the array computes the tile
                      port_lines / f_sram,            # the busiest array-side SRAM port keeps up
                      read_beats / min(f_dram_if, f_sram) + L / clock_hz,   # fill the shadow halves
                      (write_beats + 1) / min(f_dram_if, f_sram))           # drain C

over the activities the step has. ``port_lines`` is the most line accesses one array-side SRAM port makes
for the tile (words / lanes: exact for full lines, a lower bound otherwise), never more than ``cc``. A fill
beat passes the DRAM interface and is written into an SRAM, so it moves at the slower of the two clocks.
The DRAM device's latency L is in nominal cycles (``dram_latency_cycles / clock_hz``): slowing a clock on
the chip does not make the DRAM answer later or sooner. With every clock at ``clock_hz`` this is the
memory model's step exactly, so the nominal timeline has the model's cycles. Consequences: slowing the
array stretches compute but not DRAM time (a memory-bound layer hides it); slowing the SRAMs costs nothing
while their ports have slack (few line accesses per compute cycle, as in weight-stationary layers with
small M) and fills are not limited by them.

Energy
------
Dynamic energy per step at the config's supply comes from action counts (:func:`step_action_counts`)
times the energy table (``model/energy.py``) at the default activity (:func:`step_energy_pj`; swap in the
calibrated per-layer energy when it lands). It scales as ``(V / vdd_v)**2`` per part; the controller's
per-cycle energy is charged per cycle of the array clock (``alpha C V^2 f``). Of a DRAM access,
:data:`DRAM_IF_ENERGY_SHARE` is spent on chip in the DRAM interface (PHY and controller, on the
``dram_if`` domain's supply); the rest is off chip (column ``dram``) and does not scale. Leakage is
``V I_leak(V, T)``: ``energy.leakage_w`` at the config's supply and temperature, times
``V / vdd_v * exp(LEAK_DIBL_PER_V (V - vdd_v))`` (drain-induced barrier lowering raises the subthreshold
current with V).

Intervals and blocks
--------------------
A timeline is a list of segments (transitions, steps, idle). Inside a step each activity spends its energy
uniformly over its own window: compute from the array's first operand to its last result, a load from the
first DRAM request to the last fill (a latency after the last request; with ``StepWork.fill_split`` A's
beats, then B's, each part even), a drain from the step's start to its last write beat (with
``tile_overlap`` the DRAM write data bus, the ofmap SRAM's shadow half's read port, shows the previous
tile's trailing read-modify-write reads before the beats: on the RTL the bus switches from the step's
second cycle); the controller and leakage over the whole step. Interval energies are differences of the
cumulative energy at the interval edges, so any interval length works without a loop over time. A layer
repeated r times is drawn as one GEMM whose steps each last r times longer (same energy and layer time;
only the order inside the layer differs).

Per floorplan block: PE-class dynamic power is split over the PE tiles by each tile's share of the
layer's utilised PEs (folds weighted equally), PE leakage by the tile's share of PEs; each SRAM class goes
to its buffer, ``ctrl`` and DVFS transitions to ``ctrl``, the on-chip DRAM interface share to
``dram_if``; off-chip DRAM power is not on the die.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from systolic.config import DVFS_PARTS, ArrayConfig
from systolic.errors import InputError
from systolic.numbers import parse_float

from .floorplan import Floorplan
from .memory import PROLOGUE_CYCLES
from .power_work import (  # noqa: F401  (step_work, pe_tile_share, ...: re-exported, the power model's names)
    COLUMNS,
    DRAM_IF_ENERGY_SHARE,
    F_ARRAY,
    F_FILL,
    F_RESULTS,
    F_WHOLE,
    FAMILIES,
    StepWork,
    pe_tile_share,
    step_action_counts,
    step_energy_pj,
    step_family_counts,
    step_work,
)
from .trail import trail_scan

#: The parts of the accelerator that can have a supply of their own: ``array`` (PEs and controller),
#: ``sram`` (the three buffers) and ``dram_if`` (the on-chip DRAM interface).
PARTS: tuple[str, ...] = DVFS_PARTS
#: The part whose supply each column's energy scales with (``dram``: off chip, none; ``transition``: none).
COLUMN_PART: dict[str, str | None] = {
    "mult": "array",
    "acc": "array",
    "fwd": "array",
    "ctrl": "array",
    "ifmap_sram": "sram",
    "filter_sram": "sram",
    "ofmap_sram": "sram",
    "dram": None,
    "dram_if": "dram_if",
    "transition": None,
}
#: Growth of the subthreshold leakage current with supply, per volt: DIBL coefficient 0.1 V/V over a
#: subthreshold swing of 90 mV/decade, i.e. ln(10) * 0.1 / 0.09.
LEAK_DIBL_PER_V = math.log(10.0) * 0.1 / 0.09
#: Segment kinds of a timeline.
KIND_STEP, KIND_TRANSITION, KIND_IDLE = 0, 1, 2


# --------------------------------------------------------------------------- time and energy at (V, f)


def _step_total(work: StepWork, f_part: np.ndarray) -> tuple[np.ndarray, ...]:
    """Step duration ``[..., step]`` (s) and what it is made of: ``(total, fa, fio, compute, load,
    drain, prologue, trail)``, each ``[..., step]``."""
    f = np.asarray(f_part, dtype=float)
    fa, fs, fd = f[..., 0], f[..., 1], f[..., 2]
    fio = np.minimum(fd, fs)
    # the busiest SRAM port's lines fit between the array's start and its tile's last result (which, with
    # tile_overlap, comes result_cycles after the compute activity ends)
    compute = np.maximum(work.compute_cycles / fa, work.port_lines / fs - work.result_cycles / fa)
    load = np.where(work.read_beats > 0, work.read_beats / fio + work.dram_latency_s, 0.0)
    drain = np.where(work.write_beats > 0, (work.write_beats + 1) / fio, 0.0)
    prologue = np.where(work.first, PROLOGUE_CYCLES / fa, 0.0)
    fixed = np.maximum(compute, load)
    trail = np.zeros_like(fixed)
    if np.any(work.result_cycles):  # tile_overlap: wait for the previous step's tile's last results
        done = compute + work.result_cycles / fa - 1.0 / fa
        has = work.compute_cycles > 0
        trail = trail_scan(np.where(has, done - fixed, -1.0), done - drain)
    total = prologue + 1.0 / fa + np.maximum(fixed, trail + drain)
    return total, fa, fio, compute, load, drain, prologue, trail


def _activity_windows(work: StepWork, f_part: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step duration ``[..., step]`` and each family's start and end in it ``[..., step, family]`` (s)."""
    total, fa, fio, compute, load, drain, prologue, trail = _step_total(work, f_part)
    zero = np.zeros_like(total)
    # operands come start_cycles into the step, results a pipeline later until result_cycles after the compute
    # (tile_overlap: in the next step's time); a load's data a DRAM latency late; the drain from the step's
    # start (its bus shows the trailing results' read-modify-write reads first, then the beats)
    requests = np.where(work.read_beats > 0, work.read_beats / fio, 0.0)
    fill_start = np.where(work.read_beats > 0, work.dram_latency_s + 1.0 / fio, 0.0)
    last = compute + work.result_cycles / fa  # the tile's last result
    operands = np.minimum(work.start_cycles / fa, compute)
    pes = np.maximum(last - work.array_tail_cycles / fa, operands)  # the PEs' last activity
    results, results_end = np.minimum((work.start_cycles + work.pipeline_cycles) / fa, compute), last
    if work.result_bursts is not None:  # OS: from the first fold's burst to the last result's write
        n, period, width = np.moveaxis(work.result_bursts, -1, 0)
        results_end = last + np.where(n > 0, 1.0 / fa, 0.0)
        results = np.clip(results_end - ((n - 1) * period + width) / fa, operands, results_end)
    start = np.stack(
        [zero, prologue + operands, prologue + zero, prologue + fill_start,
         prologue + 1.0 / fio, prologue + results, prologue + operands],
        axis=-1,
    )  # fmt: skip
    end = prologue[..., None] + np.stack(
        [
            total - prologue,
            last,
            requests,
            np.minimum(load + 1.0 / fio, total),
            trail + drain,
            results_end,
            pes,
        ],
        axis=-1,
    )
    return total, start, np.maximum(end, start)


#: Elements per block of rows in :func:`step_times_s`. The tile_overlap scan (:func:`trail_scan`) makes
#: dozens of temporaries the size of its input; blocks that stay in the cache are much faster than one pass
#: over everything (AlexNet on small-8x8: 126 DVFS choices x 49,792 steps, 3.5 s at once, 0.4 s row by row,
#: measured) and give the same bits, the rows being independent.
STEP_BLOCK_ELEMENTS = 1 << 16


def step_times_s(work: StepWork, f_part: np.ndarray) -> np.ndarray:
    """Duration of each step (one GEMM), ``[..., step]``, with ``f_part[..., step, part]`` clocks (Hz).

    The layer's prologue cycle is added to its first step. Leading axes (DVFS choices) are taken in blocks
    of about :data:`STEP_BLOCK_ELEMENTS` elements.
    """
    f = np.asarray(f_part, dtype=float)
    if f.ndim <= 2 or f.shape[-2] == 0 or f[..., 0, 0].size <= 1:
        return _step_total(work, f)[0]
    rows = f.reshape(-1, *f.shape[-2:])  # [row, step, part]
    per = max(1, STEP_BLOCK_ELEMENTS // rows.shape[1])
    blocks = [_step_total(work, rows[i : i + per])[0] for i in range(0, rows.shape[0], per)]
    return np.concatenate(blocks).reshape(f.shape[:-1])


def column_voltage_scale(cfg: ArrayConfig, v_part: np.ndarray) -> np.ndarray:
    """Dynamic-energy factor ``(V / vdd_v)**2`` per column, ``[..., column]``, from ``v_part[..., part]``."""
    v = np.asarray(v_part, dtype=float) / cfg.vdd_v
    out = np.ones((*v.shape[:-1], len(COLUMNS)))
    for j, name in enumerate(COLUMNS):
        part = COLUMN_PART[name]
        if part is not None:
            out[..., j] = v[..., PARTS.index(part)] ** 2
    return out


def column_leakage_w(cfg: ArrayConfig, work: StepWork, v_part: np.ndarray) -> np.ndarray:
    """Leakage power per column ``[..., column]`` with part supplies ``v_part[..., part]``."""
    v = np.asarray(v_part, dtype=float)
    out = np.broadcast_to(work.leak_w, (*v.shape[:-1], len(COLUMNS))).copy()
    for j, name in enumerate(COLUMNS):
        part = COLUMN_PART[name]
        if part is not None:
            vp = v[..., PARTS.index(part)]
            out[..., j] *= vp / cfg.vdd_v * np.exp(LEAK_DIBL_PER_V * (vp - cfg.vdd_v))
    return out


def step_energy_at(
    cfg: ArrayConfig, work: StepWork, v_part: np.ndarray, f_part: np.ndarray, t_step_s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dynamic energy ``[..., step, family, column]`` and leakage ``[..., step, column]`` (pJ) of one GEMM's
    steps at per-step supplies ``v_part[..., step, part]`` and clocks ``f_part[..., step, part]`` lasting
    ``t_step_s[..., step]``."""
    vs = column_voltage_scale(cfg, v_part)  # [..., step, column]
    dyn = work.energy_pj * vs[..., None, :]
    ctrl = COLUMNS.index("ctrl")
    fa = np.asarray(f_part, dtype=float)[..., 0]
    dyn[..., F_WHOLE, ctrl] = work.ctrl_pj_per_cycle * fa * t_step_s * vs[..., ctrl]
    leak = column_leakage_w(cfg, work, v_part) * t_step_s[..., None] * 1e12
    return dyn, leak


# --------------------------------------------------------------------------- timelines


@dataclass(frozen=True)
class Timeline:
    """Power over time as segments (transitions, steps, idle) in time order.

    Inside a segment each activity family (:data:`FAMILIES`) spends its energy uniformly over its own
    window; leakage is spread over the whole segment.

    Attributes
    ----------
    start_s, duration_s : np.ndarray, shape [segment]
    kind : np.ndarray, shape [segment]
        :data:`KIND_STEP`, :data:`KIND_TRANSITION` or :data:`KIND_IDLE`.
    layer : np.ndarray, shape [segment]
        The layer a step or the transition before it belongs to; -1 when idle.
    dynamic_pj : np.ndarray, shape [segment, family, column]
        Dynamic energy (transitions' switching energy in column ``transition``).
    family_start_s, family_end_s : np.ndarray, shape [segment, family]
        Each family's window, from the segment's start.
    leakage_pj : np.ndarray, shape [segment, column]
    v_part, f_part : np.ndarray, shape [segment, part]
        Supply (V) and clock (Hz) of each part; the clock is 0 while it is stopped (transition, idle).
    pe_share : np.ndarray, shape [layer, tile]
        From :class:`StepWork`, to split PE power over the floorplan's tiles.
    window_s : float
        The time the timeline covers: its end, idle to the deadline included.
    fill_split : np.ndarray, shape [segment, 2], optional
        :attr:`StepWork.fill_split` per segment: the fill's energy in two even parts, A's beats then B's.
    array_ramp_s : np.ndarray, shape [segment], optional
        The ``array`` family's ramps (:attr:`StepWork.array_ramp_cycles`): its energy rises linearly over
        this long from its window's start, and falls as long before its end (at most half the window).
    result_bursts : np.ndarray, shape [segment, 2], optional
        The ``results`` family as (bursts, period over width) equal bursts over its window (OS: one per
        fold, :attr:`StepWork.result_bursts`); (1, 1) spreads it evenly.
    """

    start_s: np.ndarray
    duration_s: np.ndarray
    kind: np.ndarray
    layer: np.ndarray
    dynamic_pj: np.ndarray
    family_start_s: np.ndarray
    family_end_s: np.ndarray
    leakage_pj: np.ndarray
    v_part: np.ndarray
    f_part: np.ndarray
    pe_share: np.ndarray
    window_s: float
    fill_split: np.ndarray | None = None
    array_ramp_s: np.ndarray | None = None
    result_bursts: np.ndarray | None = None

    @property
    def end_s(self) -> float:
        return float(self.start_s[-1] + self.duration_s[-1]) if self.start_s.size else 0.0

    @property
    def busy_s(self) -> float:
        """End of the last non-idle segment."""
        busy = self.kind != KIND_IDLE
        return float((self.start_s + self.duration_s)[busy].max()) if busy.any() else 0.0

    @property
    def energy_pj(self) -> np.ndarray:
        """Total energy per column ``[column]``."""
        return self.dynamic_pj.sum(axis=(0, 1)) + self.leakage_pj.sum(axis=0)

    def integrate(self, edges_s: np.ndarray, per_family: np.ndarray, whole: np.ndarray | None = None):
        """Per-interval sums ``[interval, k]`` of ``per_family[segment, family, k]`` (each spread over its
        family's window) plus ``whole[segment, k]`` (spread over the segment)."""
        start = self.start_s[:, None] + self.family_start_s  # [segment, family]
        dur = self.family_end_s - self.family_start_s
        empty = dur <= 0  # an activity with no time of its own takes the whole segment
        start = np.where(empty, self.start_s[:, None], start)
        dur = np.where(empty, self.duration_s[:, None], dur)
        out = 0.0
        for f in range(len(FAMILIES)):
            vals = per_family[:, f]
            if f == F_WHOLE and whole is not None:
                vals = vals + whole
            if not vals.any():
                continue
            if f == F_FILL and self.fill_split is not None:  # A's beats, then B's
                t_a, e_a = self.fill_split[:, 0], self.fill_split[:, 1:2]
                first = integrate(start[:, f], dur[:, f] * t_a, vals * e_a, edges_s)
                then = integrate(
                    start[:, f] + dur[:, f] * t_a, dur[:, f] * (1 - t_a), vals * (1 - e_a), edges_s
                )
                out = out + first + then
            elif f == F_RESULTS and self.result_bursts is not None:
                out = out + integrate(start[:, f], dur[:, f], vals, edges_s, bursts=self.result_bursts)
            elif f == F_ARRAY and self.array_ramp_s is not None:
                ramp = np.divide(
                    self.array_ramp_s, dur[:, f], out=np.zeros_like(dur[:, f]), where=dur[:, f] > 0
                )
                out = out + integrate(start[:, f], dur[:, f], vals, edges_s, np.minimum(ramp, 0.5))
            else:
                out = out + integrate(start[:, f], dur[:, f], vals, edges_s)
        if np.isscalar(out):
            return np.zeros((np.size(edges_s) - 1, per_family.shape[2]))
        return out


@dataclass(frozen=True)
class _Segments:
    """Timeline segments before they are laid end to end: one row each (see :class:`Timeline`)."""

    duration_s: np.ndarray  # [seg]
    kind: np.ndarray  # [seg]
    layer: np.ndarray  # [seg]
    dynamic_pj: np.ndarray  # [seg, family, column]
    family_start_s: np.ndarray  # [seg, family]
    family_end_s: np.ndarray  # [seg, family]
    leakage_pj: np.ndarray  # [seg, column]
    v_part: np.ndarray  # [seg, part]
    f_part: np.ndarray  # [seg, part]
    fill_split: np.ndarray  # [seg, 2] (StepWork.fill_split; 1, 1 spreads the fill evenly)
    array_ramp_s: np.ndarray  # [seg]
    result_bursts: np.ndarray  # [seg, 2] (bursts, period / width; 1, 1: even)

    def take(self, index: np.ndarray) -> _Segments:
        return _Segments(*(getattr(self, f.name)[index] for f in dataclasses.fields(self)))

    def then(self, other: _Segments) -> _Segments:
        return _Segments(
            *(
                np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                for f in dataclasses.fields(self)
            )
        )


def _transitions(
    cfg: ArrayConfig, work: StepWork, v_from: np.ndarray, v_to: np.ndarray, n: np.ndarray, layer
):
    """DVFS transitions (``[seg]`` domains changing): everything waits ``dvfs_transition_latency_s``,
    leaking at the higher of the two supplies, and pays ``n x dvfs_transition_energy_j``."""
    lat, n_fam = cfg.dvfs_transition_latency_s, len(FAMILIES)
    v_hi = np.maximum(v_from, v_to)
    dyn = np.zeros((n.size, n_fam, len(COLUMNS)))
    dyn[:, F_WHOLE, COLUMNS.index("transition")] = n * cfg.dvfs_transition_energy_j * 1e12
    dur = np.where(n > 0, lat, 0.0)
    whole_start, whole_end = np.zeros((dur.size, n_fam)), np.repeat(dur[:, None], n_fam, axis=1)
    leak = column_leakage_w(cfg, work, v_hi) * lat * 1e12
    kind = np.full(n.size, KIND_TRANSITION)
    even = np.ones((n.size, 2))
    return _Segments(
        dur,
        kind,
        layer,
        dyn,
        whole_start,
        whole_end,
        leak,
        v_hi,
        np.zeros_like(v_hi),
        even,
        np.zeros(n.size),
        even,
    )


def _idle(
    cfg: ArrayConfig, work: StepWork, v_last: np.ndarray, idle: tuple[float, np.ndarray, int]
) -> list[_Segments]:
    """After the last layer: a transition into the idle supplies when domains change, then idle (clocks
    stopped, leakage only) for the rest of ``idle``'s seconds."""
    idle_s, idle_v, idle_changes = idle
    idle_v = np.asarray(idle_v, dtype=float)
    n_fam, n_col = len(FAMILIES), len(COLUMNS)
    out = []
    if idle_changes > 0:
        one = np.array([idle_changes])
        out.append(_transitions(cfg, work, v_last[None, :], idle_v[None, :], one, np.array([-1])))
        idle_s -= cfg.dvfs_transition_latency_s
    if idle_s > 0:
        leak = column_leakage_w(cfg, work, idle_v) * idle_s * 1e12
        out.append(
            _Segments(
                np.array([idle_s]),
                np.array([KIND_IDLE]),
                np.array([-1]),
                np.zeros((1, n_fam, n_col)),
                np.zeros((1, n_fam)),
                np.full((1, n_fam), idle_s),
                leak[None],
                idle_v[None],
                np.zeros((1, len(PARTS))),
                np.ones((1, 2)),
                np.zeros(1),
                np.ones((1, 2)),
            )
        )
    return out


def build_timeline(
    cfg: ArrayConfig,
    work: StepWork,
    v_layer: np.ndarray,
    f_layer: np.ndarray,
    changes: np.ndarray,
    idle: tuple[float, np.ndarray, int] | None = None,
) -> Timeline:
    """The timeline of a run with per-layer operating points.

    Parameters
    ----------
    v_layer, f_layer : np.ndarray, shape [layer, part]
        Supply and clock of each part during each layer.
    changes : np.ndarray, shape [layer]
        Domains whose operating point changes before each layer: a transition of
        ``dvfs_transition_latency_s`` (everything waits, leaking at the higher of the two supplies) and
        ``changes x dvfs_transition_energy_j``.
    idle : (seconds, v_part, changes), optional
        After the last layer: idle (clocks stopped, leakage only) for ``seconds`` at supplies ``v_part``,
        entered through a transition when ``changes`` > 0 (its latency counts towards ``seconds``).
    """
    v_layer, f_layer = np.asarray(v_layer, dtype=float), np.asarray(f_layer, dtype=float)
    changes = np.asarray(changes, dtype=np.int64)
    layer = work.layer
    t, f_start, f_end = _activity_windows(work, f_layer[layer])  # [step], [step, family]
    dyn, leak = step_energy_at(cfg, work, v_layer[layer], f_layer[layer], t)
    rep = work.repeat[layer].astype(float)
    n_layers = work.layers
    prev_v = np.concatenate([v_layer[:1], v_layer[:-1]])
    trans = _transitions(cfg, work, prev_v, v_layer, changes, np.arange(n_layers))
    steps = _Segments(  # a repeated GEMM: its steps r times longer
        t * rep,
        np.full(layer.size, KIND_STEP),
        layer,
        dyn * rep[:, None, None],
        f_start * rep[:, None],
        f_end * rep[:, None],
        leak * rep[:, None],
        v_layer[layer],
        f_layer[layer],
        np.ones((layer.size, 2)) if work.fill_split is None else work.fill_split,
        (np.zeros(layer.size) if work.array_ramp_cycles is None else work.array_ramp_cycles)
        / f_layer[layer, 0]
        * rep,
        _burst_shape(work.result_bursts, layer.size),
    )
    # order: each layer's transition (if any), then its steps
    key = np.concatenate([2 * np.arange(n_layers), 2 * layer + 1])
    keep = np.concatenate([changes > 0, np.ones(layer.size, dtype=bool)])
    seg = trans.then(steps).take(np.flatnonzero(keep)[np.argsort(key[keep], kind="stable")])
    if idle is not None:
        for extra in _idle(cfg, work, v_layer[-1], idle):
            seg = seg.then(extra)
    start = np.concatenate([[0.0], np.cumsum(seg.duration_s)[:-1]])
    end = float(start[-1] + seg.duration_s[-1]) if start.size else 0.0
    return Timeline(
        start_s=start,
        duration_s=seg.duration_s,
        kind=seg.kind,
        layer=seg.layer,
        dynamic_pj=seg.dynamic_pj,
        family_start_s=seg.family_start_s,
        family_end_s=seg.family_end_s,
        leakage_pj=seg.leakage_pj,
        v_part=seg.v_part,
        f_part=seg.f_part,
        fill_split=seg.fill_split,
        array_ramp_s=seg.array_ramp_s,
        result_bursts=seg.result_bursts,
        pe_share=work.pe_share,
        window_s=end,
    )


#: What a run's power and thermal stages keep and take per interval: a fixed part (V, f and power per part and
#: column) and a part per floorplan block (measured: ResNet-50 on tpu-v1-128, 69 blocks, 130,021 intervals
#: 1.0 GB and 12 s; a small GEMM on small-8x8, 9 blocks, 2.0 million intervals 4.2 GB and 93 s).
BYTES_PER_INTERVAL = 1400
BYTES_PER_INTERVAL_BLOCK = 80
SECONDS_PER_INTERVAL = 30e-6
SECONDS_PER_INTERVAL_BLOCK = 0.9e-6


def interval_cost(intervals: int, blocks: int) -> tuple[float, float]:
    """(seconds, bytes) of a run's power and thermal stages over ``intervals`` intervals."""
    seconds = intervals * (SECONDS_PER_INTERVAL + SECONDS_PER_INTERVAL_BLOCK * blocks)
    return seconds, float(intervals) * (BYTES_PER_INTERVAL + BYTES_PER_INTERVAL_BLOCK * blocks)


def interval_count(cfg: ArrayConfig, end_s: float, interval: str | float | None) -> tuple[float, int]:
    """(interval length, count) :func:`interval_edges_s` makes (with its checks of ``interval``)."""
    return _intervals(cfg, end_s, interval)


def interval_edges_s(cfg: ArrayConfig, end_s: float, interval: str | float | None = None) -> np.ndarray:
    """Edges ``[interval + 1]`` of equal intervals from 0 covering ``end_s``.

    ``interval``: seconds as a number; a string with a unit (``"10us"``, ``"2.5e-6s"``, ``"5000cycles"``,
    cycles of the nominal ``clock_hz``); or None for 50 intervals.
    """
    step, n = _intervals(cfg, end_s, interval)
    return np.arange(n + 1) * step


def _intervals(cfg: ArrayConfig, end_s: float, interval: str | float | None) -> tuple[float, int]:
    """(interval length, count) covering ``end_s``."""
    if interval is None:
        step = end_s / 50 if end_s > 0 else 1.0
    elif isinstance(interval, str):
        step = parse_interval_s(cfg, interval)
    else:
        step = float(interval)
    if not step > 0 or not math.isfinite(step):
        raise InputError(f"the interval must be a positive length of time, not {interval!r}", "interval")
    n = max(1, math.ceil(end_s / step - 1e-9))
    if n > 10_000_000:
        raise InputError(f"{n:,} intervals of {step:g} s is too many; use a longer interval", "interval")
    return step, n


_UNITS_S = {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1.0}  # longest suffix first


def parse_interval_s(cfg: ArrayConfig, text: str) -> float:
    """``"10us"``, ``"1e-5s"``, ``"20000cycles"`` (nominal clock) -> seconds."""
    raw = text.strip().lower().replace(" ", "")
    for unit, scale in (("cycles", 1.0 / cfg.clock_hz), ("cycle", 1.0 / cfg.clock_hz), *_UNITS_S.items()):
        if raw.endswith(unit):
            number = raw[: -len(unit)]
            try:
                value = parse_float(number)
            except ValueError:
                break
            if value > 0 and math.isfinite(value):
                return value * scale
            break
    raise InputError(
        f"expected a positive length with a unit (s, ms, us, ns or cycles), e.g. 10us or 5000cycles, "
        f"not '{text}'",
        "interval",
    )


def integrate(
    start_s: np.ndarray,
    duration_s: np.ndarray,
    totals: np.ndarray,
    edges_s: np.ndarray,
    ramp: np.ndarray | None = None,
    bursts: np.ndarray | None = None,
):
    """Per-interval sums ``[interval, k]`` of ``totals[segment, k]``, each spread uniformly over its
    segment (or, with ``ramp[segment]`` in [0, 0.5], as a trapezoid rising linearly over that share of the
    segment and falling over as much at its end; or, with ``bursts[segment, (n, period / width)]``, as n
    equal bursts, the last ending with the segment): differences of the cumulative sum at the interval
    edges."""
    totals = np.asarray(totals, dtype=float)
    keep = duration_s > 0
    start, dur, tot = start_s[keep], duration_s[keep], totals[keep]
    r = None if ramp is None else np.asarray(ramp, dtype=float)[keep]
    b = None if bursts is None else np.asarray(bursts, dtype=float)[keep]
    cum = np.vstack([np.zeros((1, tot.shape[1])), np.cumsum(tot, axis=0)])  # [segment + 1, k]
    if start.size == 0:
        return np.zeros((edges_s.size - 1, totals.shape[1]))
    end = start[-1] + dur[-1]
    t = np.clip(edges_s, 0.0, end)
    i = np.clip(np.searchsorted(start, t, side="right") - 1, 0, start.size - 1)  # [edge]
    frac = np.clip((t - start[i]) / dur[i], 0.0, 1.0)
    if r is not None:
        frac = _trapezoid_share(frac, r[i])
    if b is not None:
        frac = _burst_share(frac, b[i, 0], b[i, 1])
    at = np.where((t >= end)[:, None], cum[-1], cum[i] + frac[:, None] * tot[i])  # [edge, k]
    return np.diff(at, axis=0)


def _burst_share(x: np.ndarray, n: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Share of ``n`` equal bursts, each ``ratio`` times shorter than their period, the last ending at 1,
    left of ``x`` (in units of the whole; ``n`` 1: even, ``x``)."""
    n = np.maximum(n, 1.0)
    width = 1.0 / ((n - 1) * ratio + 1)  # of the whole
    k = np.floor(x / (ratio * width))  # bursts begun
    done = np.minimum(k, n) + np.where(k < n, np.clip((x - k * ratio * width) / width, 0.0, 1.0), 0.0)
    return done / n


def _burst_shape(result_bursts: np.ndarray | None, steps: int) -> np.ndarray:
    """``[step, (n, period / width)]`` of :attr:`StepWork.result_bursts` (None: one even burst)."""
    if result_bursts is None:
        return np.ones((steps, 2))
    n, period, width = np.moveaxis(np.asarray(result_bursts, dtype=float), -1, 0)
    ratio = np.divide(period, width, out=np.ones_like(period), where=width > 0)
    return np.stack([np.maximum(n, 1.0), np.maximum(ratio, 1.0)], axis=-1)


def _trapezoid_share(x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Share of a trapezoid's area left of ``x`` (both in units of its length), with ramps ``r`` <= 0.5
    at either end (``r`` 0: a rectangle, ``x``)."""
    r = np.maximum(r, 1e-12)
    h = 1.0 / (1.0 - r)  # the flat part's height: area 1
    up = h * x * x / (2 * r)
    down = 1.0 - h * (1.0 - x) ** 2 / (2 * r)
    return np.where(x < r, up, np.where(x > 1.0 - r, down, h * (x - r / 2)))


@dataclass(frozen=True)
class IntervalPower:
    """Mean power per interval.

    Attributes
    ----------
    edges_s : np.ndarray, shape [interval + 1]
    power_w : np.ndarray, shape [interval, column]
        Per :data:`COLUMNS`, dynamic plus leakage.
    leakage_w : np.ndarray, shape [interval, column]
    v_part, f_part : np.ndarray, shape [interval, part]
        Time-weighted mean supply and clock (a stopped clock counts 0) over the covered part of the interval.
    """

    edges_s: np.ndarray
    power_w: np.ndarray
    leakage_w: np.ndarray
    v_part: np.ndarray
    f_part: np.ndarray

    @property
    def total_w(self) -> np.ndarray:
        return self.power_w.sum(axis=1)

    @property
    def energy_pj(self) -> np.ndarray:
        """``[interval, column]``."""
        return self.power_w * np.diff(self.edges_s)[:, None] * 1e12


def interval_power(tl: Timeline, edges_s: np.ndarray) -> IntervalPower:
    """Mean power per interval and column, and the mean operating point per part."""
    edges_s = np.asarray(edges_s, dtype=float)
    width = np.diff(edges_s)
    n_col, n_p = len(COLUMNS), len(PARTS)
    whole = np.hstack(
        [
            tl.leakage_pj,
            tl.leakage_pj,
            tl.v_part * tl.duration_s[:, None],
            tl.f_part * tl.duration_s[:, None],
            tl.duration_s[:, None],
        ]
    )
    per_family = np.zeros((tl.start_s.size, len(FAMILIES), whole.shape[1]))
    per_family[:, :, :n_col] = tl.dynamic_pj
    sums = tl.integrate(edges_s, per_family, whole)  # [interval, k]
    covered = np.maximum(sums[:, -1:], 1e-300)
    return IntervalPower(
        edges_s=edges_s,
        power_w=sums[:, :n_col] * 1e-12 / width[:, None],
        leakage_w=sums[:, n_col : 2 * n_col] * 1e-12 / width[:, None],
        v_part=sums[:, 2 * n_col : 2 * n_col + n_p] / covered,
        f_part=sums[:, 2 * n_col + n_p : 2 * n_col + 2 * n_p] / covered,
    )


def block_power_w(tl: Timeline, edges_s: np.ndarray, flp: Floorplan) -> np.ndarray:
    """Mean power per interval and floorplan block ``[interval, block]`` (W), in ``flp.names`` order.

    See the module docstring for how columns map onto blocks.
    """
    edges_s = np.asarray(edges_s, dtype=float)
    width = np.diff(edges_s)[:, None]
    pe_cols = [COLUMNS.index(c) for c in ("mult", "acc", "fwd")]
    n_layers, n_tiles = tl.pe_share.shape
    tile_names = [n for n in flp.names if n.startswith("pe_t")]
    if len(tile_names) != n_tiles:
        raise InputError(f"the floorplan has {len(tile_names)} PE tiles, the power model {n_tiles}")
    # PE dynamic energy per interval and layer, then split by each layer's tile shares
    onehot = (tl.layer[:, None] == np.arange(n_layers)[None, :]).astype(float)  # [segment, layer]
    pe_dyn = tl.dynamic_pj[:, :, pe_cols].sum(axis=2)  # [segment, family]
    per_family = np.concatenate([pe_dyn[:, :, None] * onehot[:, None, :], tl.dynamic_pj], axis=2)
    whole = np.hstack(
        [np.zeros((tl.start_s.size, n_layers)), tl.leakage_pj]
    )  # leakage of the PE columns is split by area below
    sums = tl.integrate(edges_s, per_family, whole)
    tiles = sums[:, :n_layers] @ tl.pe_share  # [interval, tile] PE dynamic
    col = sums[:, n_layers:]  # [interval, column] dynamic + leakage
    leak_pe = tl.integrate(
        edges_s,
        np.zeros((tl.start_s.size, len(FAMILIES), 1)),
        tl.leakage_pj[:, pe_cols].sum(axis=1, keepdims=True),
    )[:, 0]
    out = np.zeros((edges_s.size - 1, flp.n_blocks))
    idx = {n: i for i, n in enumerate(flp.names)}
    tile_idx = np.array([idx[n] for n in tile_names])
    area = flp.area_m2[tile_idx]  # square PEs: a tile's area is proportional to its PEs
    out[:, tile_idx] = tiles + leak_pe[:, None] * (area / area.sum())[None, :]
    for name, block in (
        ("ifmap_sram", "ifmap_sram"),
        ("filter_sram", "filter_sram"),
        ("ofmap_sram", "ofmap_sram"),
        ("ctrl", "ctrl"),
        ("transition", "ctrl"),
        ("dram_if", "dram_if"),
    ):
        out[:, idx[block]] += col[:, COLUMNS.index(name)]
    return out * 1e-12 / width
