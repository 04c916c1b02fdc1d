"""Power over time, what each step does: the clock- and supply-independent work of every step of one GEMM
of each layer (:class:`StepWork`): its cycles per activity, its SRAM port lines and DRAM beats, and its
dynamic energy per activity family and column, from the action counts and the energy table or from the
calibrated per-layer (and per-tile) energy. :mod:`systolic.model.power` times it at per-domain clocks and
supplies and bins it into intervals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.config import ArrayConfig
from systolic.dataflow import MAPPINGS, TENSOR_DIMS
from systolic.errors import InputError
from systolic.geometry import geometry

from . import memory
from .cycles import GemmArrays, fold_plan
from .energy import (
    ACTIONS,
    ACTIVITIES,
    COMPONENT_CLASSES,
    LEAK_T_REF_K,
    EnergyTable,
    build_table,
    class_matrix,
    leakage_w,
    scale_activity,
)
from .floorplan import default_tile
from .memory import (
    PROLOGUE_CYCLES,
    Schedule,
    access_counts,
    array_start_cycles,
    compute_activity,
    result_done_cycles,
)

#: Energy columns of a timeline: the energy model's classes with ``dram`` split into its off-chip part
#: (``dram``) and the on-chip interface (``dram_if``), plus DVFS transitions.
COLUMNS: tuple[str, ...] = (*COMPONENT_CLASSES, "dram_if", "transition")
#: Share of a DRAM access's energy spent in the accelerator's own DRAM interface (controller, PHY, I/O
#: drivers). An assumed round figure: the I/O and interface are a sizeable minority of DRAM access energy
#: (Malladi et al., ISCA 2012, put I/O and termination near a third for DDR3); replace it with a
#: characterised value.
DRAM_IF_ENERGY_SHARE = 0.25
#: A step's activities, each spread over its window: ``whole`` (controller per cycle, leakage, idle),
#: ``compute`` (the array), ``load`` (DRAM requests), ``fill`` (data into the shadow halves), ``drain`` (ofmap
#: reads, DRAM writes), ``results`` (into the ofmap SRAM, a pipeline after the operands); energy's ACTIVITIES.
#: The power model adds ``array``: the PE classes' share of the compute (multipliers, accumulators,
#: operand and partial-sum registers), which follows the wavefront through the array: it ramps up over
#: the cycles the first operands take to reach the last PE, runs flat, and ramps down as the last
#: operands pass (``StepWork.array_ramp_cycles``).
FAMILIES: tuple[str, ...] = (*ACTIVITIES, "array")
F_WHOLE, F_COMPUTE, F_LOAD, F_FILL, F_DRAIN, F_RESULTS, F_ARRAY = (
    FAMILIES.index(f) for f in ("whole", "compute", "load", "fill", "drain", "results", "array")
)
_N_ACT = len(ACTIVITIES)  # the energy model's activities: the families before ``array``
_PE_CLASSES = [COMPONENT_CLASSES.index(c) for c in ("mult", "acc", "fwd")]

_CLASS_INDEX = {c: i for i, c in enumerate(COMPONENT_CLASSES)}


def step_action_counts(cfg: ArrayConfig, sched: Schedule) -> np.ndarray:
    """Action counts ``[step, action]`` (rows of ``energy.ACTIONS``) of one GEMM of each layer, per step."""
    return step_family_counts(cfg, sched).sum(axis=1)


def step_family_counts(cfg: ArrayConfig, sched: Schedule) -> np.ndarray:
    """Action counts ``[step, activity, action]`` (``energy.ACTIVITIES``, rows of ``energy.ACTIONS``).

    A step's compute tile brings its multiplies, accumulates, operand and partial-sum hops and array-side
    SRAM accesses; its load tile the SRAM fills and DRAM reads; its drain tile the ofmap reads to DRAM and
    the DRAM writes; ``ctrl.cycle`` is the step's cycles. Hops are counted to first order: a moving
    operand or partial sum makes one hop per MAC; a stationary tile loaded through ``ru`` rows makes
    ``(ru + 1) / 2`` hops per element on average (``ru`` the mean rows a fold uses); an output-stationary
    array drains each result through ``(ru + 1) / 2`` rows on average.
    """
    tiles, steps = sched.tiles, sched.steps
    mp = MAPPINGS[cfg.dataflow]
    macs = (tiles.mt * tiles.nt * tiles.kt).astype(float)  # [tile]
    ext_rows = tiles.ext(mp.spatial_rows).astype(float)
    ru = ext_rows / np.ceil(ext_rows / cfg.rows)  # [tile] mean rows a fold uses
    size = {x: (tiles.ext(d0) * tiles.ext(d1)).astype(float) for x, (d0, d1) in TENSOR_DIMS.items()}
    if mp.stationary == "output":
        weight_hop, psum_hop = macs, size["C"] * (ru + 1) / 2
    else:
        stationary = next(x for x in ("A", "B") if mp.temporal not in TENSOR_DIMS[x])
        weight_hop, psum_hop = size[stationary] * (ru + 1) / 2, macs
    acc = access_counts(cfg, tiles)
    drained = acc["dram_writes"]["ofmap"].astype(float)  # [tile]
    per_tile = {  # (class, action) -> ([tile] counts, which step role brings them)
        ("mult", "multiply"): (macs, "compute"),
        ("acc", "accumulate"): (macs, "compute"),
        ("fwd", "input_hop"): (macs, "compute"),
        ("fwd", "weight_hop"): (weight_hop, "compute"),
        ("fwd", "psum_hop"): (psum_hop, "compute"),
        ("ifmap_sram", "read"): (acc["sram_reads"]["ifmap"], "compute"),
        ("ifmap_sram", "write"): (acc["sram_writes"]["ifmap"], "load"),
        ("filter_sram", "read"): (acc["sram_reads"]["filter"], "compute"),
        ("filter_sram", "write"): (acc["sram_writes"]["filter"], "load"),
        ("ofmap_sram", "read"): (acc["sram_reads"]["ofmap"] - drained, "results"),
        ("ofmap_sram", "write"): (acc["sram_writes"]["ofmap"], "results"),
        ("dram", "read"): (acc["dram_reads"]["ifmap"] + acc["dram_reads"]["filter"], "load"),
        ("dram", "write"): (drained, "drain"),
    }
    c, d = steps.compute_tile, steps.drain_tile
    role_tile = {"compute": c, "results": c, "load": steps.load_tile, "drain": d}
    family = {"compute": F_COMPUTE, "results": F_RESULTS, "load": F_FILL, "drain": F_DRAIN}
    out = np.zeros((steps.layer.size, _N_ACT, len(ACTIONS)))  # [step, activity, action]
    for a, key in enumerate(ACTIONS):
        if key == ("ctrl", "cycle"):
            out[:, F_WHOLE, a] = steps.cycles
            continue
        counts, role = per_tile[key]
        t = role_tile[role]
        out[:, family[role], a] = np.where(t >= 0, np.asarray(counts, dtype=float)[np.maximum(t, 0)], 0.0)
    # the ofmap drain reads come with the drain
    out[:, F_DRAIN, ACTIONS.index(("ofmap_sram", "read"))] = np.where(
        steps.drain_tile >= 0, drained[np.maximum(steps.drain_tile, 0)], 0.0
    )
    return out


def step_energy_pj(
    cfg: ArrayConfig, sched: Schedule, table: EnergyTable | None = None, activity=None
) -> tuple[np.ndarray, float]:
    """Dynamic energy per step, activity family and class at the config's supply, default activity.

    Returns ``(energy[step, family, class], ctrl_pj_per_cycle)``: the ``ctrl`` column is left at 0 because the
    controller is charged per cycle of the array clock (:func:`step_energy_at`). Counts
    (:func:`step_action_counts`) times the full-swing table times the activity (``energy.scale_activity``;
    its default 0.5 is Horowitz's random data). The calibrated per-layer energy of the energy model
    replaces this function when it lands: only its return value is used downstream.
    """
    full = build_table(cfg) if table is None else table
    dyn = scale_activity(full, activity)
    counts = step_family_counts(cfg, sched)  # [step, family, action]
    ctrl_row = dyn.index("ctrl", "cycle")
    ctrl_pj = float(dyn.energy_pj[ctrl_row])
    counts[..., ctrl_row] = 0.0
    return counts @ (dyn.energy_pj[:, None] * class_matrix(dyn)), ctrl_pj


@dataclass(frozen=True)
class StepWork:
    """What every step of one GEMM of each layer does, independent of clocks and supplies.

    Attributes
    ----------
    layer : np.ndarray, shape [step]
    first : np.ndarray of bool, shape [step]
        The layer's first step (it also carries the layer's prologue cycle).
    repeat : np.ndarray, shape [layer]
    compute_cycles : np.ndarray, shape [step]
        Array cycles of the compute activity (:func:`~systolic.model.memory.compute_activity`), 0
        without one.
    result_cycles : np.ndarray, shape [step]
        Array cycles from the end of the compute activity to the tile's last result in the ofmap SRAM
        (``tile_overlap``; the next step waits for it), 0 otherwise.
    port_lines : np.ndarray, shape [step]
        Line accesses of the busiest array-side SRAM port.
    read_beats, write_beats : np.ndarray, shape [step]
    dram_latency_s : float
    energy_pj : np.ndarray, shape [step, family, column]
        Dynamic energy at the config's supply per :data:`FAMILIES` and :data:`COLUMNS` (``ctrl`` and
        ``transition`` 0).
    ctrl_pj_per_cycle : np.ndarray, shape [step]
        The controller's energy per cycle of the array clock, at the config's supply.
    leak_w : np.ndarray, shape [column]
        Leakage at the config's supply and the given temperature (``energy.leakage_w``).
    pe_share : np.ndarray, shape [layer, tile]
        Share of each PE tile in the layer's utilised PEs (rows sum to 1).
    pe_tiles : int
    fill_split : np.ndarray, shape [step, 2], optional
        A load's data arrive A's beats first, then B's (``model/traces.py``): the share of the fill's
        window that A's beats take and the share of the fill's energy they carry (None: spread evenly).
    array_ramp_cycles : np.ndarray, shape [step], optional
        The ``array`` family's ramps: the cycles the first operands of a fold take to reach the last PE
        it uses (the mean rows plus columns a fold of the compute tile uses, less one), over which the
        PEs' activity rises from nothing, and at the end falls back. Measured on the RTL (8x8 WS and OS,
        ``bench/rtl_power_compare.py``'s layers): the multipliers' toggles rise over 13-15 cycles.
    result_bursts : np.ndarray, shape [step, 3], optional
        OS: the results come in one burst per fold as its accumulators drain, (folds, period, cycles)
        of the compute tile (the rows a fold uses plus the write: on the RTL, 5 cycles on a 4x4 array);
        the ``results`` window then ends with the write of the tile's last result and starts that many
        bursts earlier. None (WS, IS): results stream out evenly.
    array_tail_cycles : float
        Cycles from the PEs' last activity to the tile's last result: OS drains the last fold's
        accumulators through the rows, WS and IS write the last sums a cycle after the last MACs.
    """

    layer: np.ndarray
    first: np.ndarray
    repeat: np.ndarray
    compute_cycles: np.ndarray
    result_cycles: np.ndarray
    pipeline_cycles: float  # from the array's first operands to its first results
    port_lines: np.ndarray
    read_beats: np.ndarray
    write_beats: np.ndarray
    dram_latency_s: float
    energy_pj: np.ndarray
    ctrl_pj_per_cycle: np.ndarray
    leak_w: np.ndarray
    pe_share: np.ndarray
    pe_tiles: int
    fill_split: np.ndarray | None = None  # [step, 2] see the class docstring
    array_ramp_cycles: np.ndarray | None = None  # [step]
    result_bursts: np.ndarray | None = None  # [step, 3]
    array_tail_cycles: float = 0.0
    start_cycles: float = 1.0  # from the step's first cycle to the array's first operands

    @property
    def layers(self) -> int:
        return int(self.repeat.size)

    def layer_sum(self, per_step: np.ndarray) -> np.ndarray:
        """``[..., step]`` summed per layer into ``[..., layer]`` (one GEMM each)."""
        # steps are laid out layer after layer, at least two per layer: sum each layer's run of them
        first = np.searchsorted(self.layer, np.arange(self.layers))
        return np.add.reduceat(np.asarray(per_step, dtype=float), first, axis=-1)


def _split_columns(per_class: np.ndarray) -> np.ndarray:
    """``[..., class]`` -> ``[..., column]``: the DRAM class split into off-chip and interface shares."""
    out = np.zeros((*per_class.shape[:-1], len(COLUMNS)))
    out[..., : len(COMPONENT_CLASSES)] = per_class
    d = _CLASS_INDEX["dram"]
    out[..., COLUMNS.index("dram_if")] = per_class[..., d] * DRAM_IF_ENERGY_SHARE
    out[..., d] = per_class[..., d] * (1.0 - DRAM_IF_ENERGY_SHARE)
    return out


def pe_tile_share(cfg: ArrayConfig, gemm: GemmArrays, tile: tuple[int, int] | None = None) -> np.ndarray:
    """Share ``[layer, tile]`` of each floorplan PE tile (row-major, as ``floorplan_for``) in the utilised
    PEs of each layer: row i of the array is used in ``(folds - 1 + [i < last fold's rows]) / folds`` of a
    layer's row folds, likewise the columns, and a PE's use is the product."""
    tr, tc = default_tile(cfg) if tile is None else tile
    plan = fold_plan(cfg, gemm)

    def tile_use(extent: np.ndarray, folds: np.ndarray, size: int, step: int) -> np.ndarray:
        last = extent - (folds - 1) * size  # [layer] rows (cols) of the last fold
        idx = np.arange(size)
        use = (folds[:, None] - 1 + (idx[None, :] < last[:, None])) / folds[:, None]  # [layer, row]
        edges = np.unique(np.minimum(np.arange(0, size + step, step), size))
        cum = np.concatenate([np.zeros((use.shape[0], 1)), np.cumsum(use, axis=1)], axis=1)
        return cum[:, edges[1:]] - cum[:, edges[:-1]]  # [layer, tile row]

    rows = tile_use(plan.spatial_rows, plan.row_folds, cfg.rows, tr)
    cols = tile_use(plan.spatial_cols, plan.col_folds, cfg.cols, tc)
    share = (rows[:, :, None] * cols[:, None, :]).reshape(rows.shape[0], -1)  # [layer, tile]
    return share / share.sum(axis=1, keepdims=True)


def step_work(
    cfg: ArrayConfig,
    gemm: GemmArrays,
    sched: Schedule,
    temperature_k: float = LEAK_T_REF_K,
    tile: tuple[int, int] | None = None,
    activity=None,
    layer_dynamic_pj: np.ndarray | None = None,
    tile_dynamic_pj: np.ndarray | None = None,
    tile_fill_pj: np.ndarray | None = None,
) -> StepWork:
    """The clock- and supply-independent description of every step (see the module docstring).

    Parameters
    ----------
    activity : float, mapping or array, optional
        Activity per class for the default energies (:func:`step_energy_pj`).
    layer_dynamic_pj : np.ndarray, shape [layer, class] or [layer, family, class], optional
        Dynamic energy of each layer (all repeats) per ``energy.COMPONENT_CLASSES`` at the config's
        supply and clock, e.g. ``energy.layer_energy(...).dynamic_pj`` from the calibrated model: the
        steps' energies are scaled per layer and class to add up to it (their distribution over steps
        and activities stays the model's); a class the steps give no energy keeps none. Given per
        :data:`FAMILIES` (``layer_energy(...).by_activity_pj``), each activity's energy goes to the steps
        in proportion to how much of it each step has (compute: MACs; load and fill: read beats; drain:
        write beats; whole: cycles) and is spread over its window there.
    tile_dynamic_pj : np.ndarray, shape [tile, family, class], optional
        With ``layer_dynamic_pj`` per family: each tile's own energy by activity
        (``energy.tile_energy_by_activity``: its own counts and the statistics of its own operands), placed
        in the steps that do it (compute and results: the step computing the tile; load and fill: the one
        loading it; drain: the one draining it) and scaled per layer and class so that the layer's energy
        outside ``whole`` is ``layer_dynamic_pj``'s; ``whole`` goes by cycles as without it.
    tile_fill_pj : np.ndarray, shape [tile, 3], optional
        The fill's energy (all classes) of each tile's layer with the statistics of the tile's A alone
        (B zero), its B alone and neither (``energy.tile_stats(..., keep=...)``): inside a fill window A's
        beats come first, then B's, each carrying the data part of its own tensor and its share of the
        rest by beats (:attr:`StepWork.fill_split`). Without it the fill's energy is spread evenly.
    """
    steps = sched.steps
    compute, results, port = _step_cycles(cfg, sched)
    energy, ctrl_pj = step_energy_pj(cfg, sched, activity=activity)  # [step, family, class]
    ctrl_step = np.full(steps.layer.size, ctrl_pj)
    if layer_dynamic_pj is not None and np.ndim(layer_dynamic_pj) == 3:
        energy, ctrl_step = _activity_energy(
            cfg, gemm, sched, np.asarray(layer_dynamic_pj, dtype=float), tile_dynamic_pj
        )
    elif tile_dynamic_pj is not None:
        raise InputError("tile_dynamic_pj needs layer_dynamic_pj per family ([layer, family, class])")
    elif layer_dynamic_pj is not None:
        energy, ctrl_step = _layer_scaled(
            gemm, sched, np.asarray(layer_dynamic_pj, dtype=float), energy, ctrl_pj
        )
    share = pe_tile_share(cfg, gemm, tile)
    ramp, bursts = _array_shape(cfg, sched)
    # the PE classes' compute energy in the array's own window (``array``)
    energy = np.concatenate([energy, np.zeros_like(energy[:, :1])], axis=1)  # [step, family, class]
    energy[:, F_ARRAY, _PE_CLASSES] = energy[:, F_COMPUTE, _PE_CLASSES]
    energy[:, F_COMPUTE, _PE_CLASSES] = 0.0
    split = None if tile_fill_pj is None else _fill_split(cfg, sched, np.asarray(tile_fill_pj, dtype=float))
    return StepWork(
        layer=steps.layer,
        first=steps.index == 0,
        repeat=np.asarray(gemm.repeat),
        compute_cycles=compute,
        result_cycles=results,
        pipeline_cycles=float(memory.pipeline_cycles(cfg)),
        port_lines=port,
        read_beats=steps.read_beats.astype(float),
        write_beats=steps.write_beats.astype(float),
        dram_latency_s=cfg.dram_latency_cycles / cfg.clock_hz,
        energy_pj=_split_columns(energy),
        ctrl_pj_per_cycle=ctrl_step,
        leak_w=_split_columns(np.asarray(leakage_w(cfg, temperature_k), dtype=float)),
        pe_share=share,
        pe_tiles=share.shape[1],
        fill_split=split,
        array_ramp_cycles=ramp,
        result_bursts=bursts,
        array_tail_cycles=float(cfg.rows if MAPPINGS[cfg.dataflow].stationary == "output" else 1),
        start_cycles=float(array_start_cycles(cfg)),
    )


def _step_cycles(cfg: ArrayConfig, sched: Schedule) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``[step]`` the compute activity's cycles, the results' cycles after it and the busiest array-side
    SRAM port's lines (:class:`StepWork`'s ``compute_cycles``, ``result_cycles``, ``port_lines``)."""
    tiles, steps = sched.tiles, sched.steps
    geo = geometry(cfg)
    acc = access_counts(cfg, tiles)
    lines = np.maximum.reduce(
        [
            acc["sram_reads"]["ifmap"] / geo["A"].lanes,
            acc["sram_reads"]["filter"] / geo["B"].lanes,
            acc["sram_writes"]["ofmap"] / geo["C"].lanes,
        ]
    )  # [tile]
    c = steps.compute_tile
    has = c >= 0
    cc = tiles.compute_cycles[np.maximum(c, 0)]
    compute = np.where(has, compute_activity(cfg, cc, memory.ready_shift(cfg, tiles)[np.maximum(c, 0)]), 0)
    results = np.where(has & cfg.tiles_overlap, result_done_cycles(cfg, cc) - compute, 0)
    port = np.where(has, lines[np.maximum(c, 0)], 0.0)
    return compute.astype(float), results.astype(float), port.astype(float)


def _layer_scaled(
    gemm: GemmArrays, sched: Schedule, given: np.ndarray, energy: np.ndarray, ctrl_pj: float
) -> tuple[np.ndarray, np.ndarray]:
    """The steps' energies ``[step, family, class]`` and the controller's per-cycle energy ``[step]``
    scaled per layer and class to add up to ``given[layer, class]`` (see :func:`step_work`)."""
    steps = sched.steps
    n_layers = gemm.m.size
    if given.shape != (n_layers, len(COMPONENT_CLASSES)):
        raise InputError(
            f"layer_dynamic_pj must be [layer, class] = [{n_layers}, {len(COMPONENT_CLASSES)}], "
            f"not {list(given.shape)}"
        )
    rep = np.asarray(gemm.repeat, dtype=float)
    onehot = (steps.layer[:, None] == np.arange(n_layers)[None, :]).astype(float)  # [step, layer]
    mine = (onehot.T @ energy.sum(axis=1)) * rep[:, None]  # [layer, class]
    ctrl = _CLASS_INDEX["ctrl"]
    cycles = steps.cycles + np.where(steps.index == 0, PROLOGUE_CYCLES, 0)
    mine[:, ctrl] = ctrl_pj * (onehot.T @ cycles) * rep
    factor = np.where(mine > 0, given / np.where(mine > 0, mine, 1.0), 0.0)  # [layer, class]
    return energy * factor[steps.layer][:, None, :], ctrl_pj * factor[steps.layer, ctrl]


def _array_shape(cfg: ArrayConfig, sched: Schedule) -> tuple[np.ndarray, np.ndarray | None]:
    """``StepWork.array_ramp_cycles`` ``[step]`` and ``result_bursts`` ``[step, 3]`` (OS; None otherwise)."""
    tiles, c = sched.tiles, sched.steps.compute_tile
    has, tc = c >= 0, np.maximum(c, 0)
    mp = MAPPINGS[cfg.dataflow]
    used = [
        tiles.ext(d).astype(float) / -(-tiles.ext(d) // n)
        for d, n in ((mp.spatial_rows, cfg.rows), (mp.spatial_cols, cfg.cols))
    ]
    ramp = np.where(has, (used[0] + used[1] - 1)[tc], 0.0)  # [step] mean rows + cols, less 1
    if mp.stationary != "output":
        return ramp, None
    # OS: each fold's results leave in one burst as its accumulators drain
    t_fold = tiles.ext(mp.temporal)
    r, cl = cfg.rows, cfg.cols
    period = np.maximum(t_fold, r + cl - 1) if cfg.fold_overlap else t_fold + 2 * r + cl - 2
    folds = -(-tiles.ext(mp.spatial_rows) // r) * -(-tiles.ext(mp.spatial_cols) // cl)
    bursts = np.stack([np.where(has, folds[tc], 0), period[tc], used[0][tc] + 1], axis=1).astype(float)
    return ramp, bursts


def _activity_energy(
    cfg: ArrayConfig, gemm: GemmArrays, sched: Schedule, given: np.ndarray, per_tile: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-step energies ``[step, family, class]`` and the controller's per-cycle energy ``[step]`` from
    per-layer energies by activity ``given[layer, family, class]`` (and each tile's own ``per_tile[tile,
    family, class]``, see :func:`step_work`)."""
    tiles, steps = sched.tiles, sched.steps
    n_layers = gemm.m.size
    if given.shape != (n_layers, _N_ACT, len(COMPONENT_CLASSES)):
        raise InputError(
            f"layer_dynamic_pj must be [layer, family, class] = [{n_layers}, {_N_ACT}, "
            f"{len(COMPONENT_CLASSES)}], not {list(given.shape)}"
        )
    macs = (tiles.mt * tiles.nt * tiles.kt).astype(float)
    c = steps.compute_tile
    cycles = steps.cycles + np.where(steps.index == 0, PROLOGUE_CYCLES, 0)
    weight = np.zeros((steps.layer.size, _N_ACT))  # [step, family] how much of each activity
    weight[:, F_WHOLE] = cycles
    weight[:, F_COMPUTE] = weight[:, F_RESULTS] = np.where(c >= 0, macs[np.maximum(c, 0)], 0.0)
    weight[:, F_LOAD] = weight[:, F_FILL] = steps.read_beats
    weight[:, F_DRAIN] = steps.write_beats
    per_layer = np.zeros((n_layers, _N_ACT))
    np.add.at(per_layer, steps.layer, weight)
    share = np.divide(
        weight, per_layer[steps.layer], out=np.zeros_like(weight), where=per_layer[steps.layer] > 0
    )
    rep = np.asarray(gemm.repeat, dtype=float)[steps.layer]
    energy = share[:, :, None] * given[steps.layer] / rep[:, None, None]  # [step, family, class] one GEMM
    if per_tile is not None:
        # each tile's activities in the steps that do them; per layer and class scaled to the layer's
        # energy outside ``whole`` (which goes by cycles, as without tiles)
        own = _tile_weights(sched, np.asarray(per_tile, dtype=float))  # [step, family, class]
        own[:, F_WHOLE] = 0.0
        mine = np.zeros((n_layers, len(COMPONENT_CLASSES)))
        np.add.at(mine, steps.layer, own.sum(axis=1))
        target = given.sum(axis=1) - given[:, F_WHOLE]  # [layer, class]
        factor = np.divide(target, mine, out=np.zeros_like(mine), where=mine > 0)[
            steps.layer
        ]  # [step, class]
        placed = own * (factor / rep[:, None])[:, None, :]
        keep = (mine > 0)[steps.layer][:, None, :] & (np.arange(_N_ACT) != F_WHOLE)[None, :, None]
        energy = np.where(keep, placed, energy)
    ctrl = _CLASS_INDEX["ctrl"]
    ctrl_step = energy[:, F_WHOLE, ctrl] / np.maximum(cycles, 1)
    energy[:, F_WHOLE, ctrl] = 0.0
    return energy, ctrl_step


def _fill_split(cfg: ArrayConfig, sched: Schedule, tile_fill_pj: np.ndarray) -> np.ndarray:
    """``[step, 2]``: the share of each step's fill window A's beats take, and of the fill's energy they
    carry, from ``tile_fill_pj[tile, (A alone, B alone, neither)]`` (see :func:`step_work`)."""
    tiles, steps = sched.tiles, sched.steps
    if tile_fill_pj.shape != (tiles.layer.size, 3):
        raise InputError(
            f"tile_fill_pj must be [tile, 3] = [{tiles.layer.size}, 3], not {list(tile_fill_pj.shape)}"
        )
    beats = memory.tile_beats(cfg, tiles)
    loaded = np.stack([beats["A"] * tiles.load_a, beats["B"] * tiles.load_b], axis=1).astype(
        float
    )  # [tile, X]
    per_layer = np.zeros((int(tiles.layer.max()) + 1, 2))
    np.add.at(per_layer, tiles.layer, loaded)
    total = np.maximum(per_layer.sum(axis=1), 1.0)[tiles.layer]  # [tile] the layer's fill beats
    none = tile_fill_pj[:, 2]
    # energy per beat: what every beat costs whatever it carries, plus the data of its own tensor
    per_beat = none[:, None] / total[:, None] + np.maximum(
        tile_fill_pj[:, :2] - none[:, None], 0.0
    ) / np.maximum(per_layer[tiles.layer], 1.0)  # [tile, X]
    energy = loaded * per_beat  # [tile, X]
    t = np.maximum(steps.load_tile, 0)
    has = steps.load_tile >= 0
    time_a = np.divide(
        loaded[t, 0], loaded[t].sum(axis=1), out=np.ones(t.size), where=loaded[t].sum(axis=1) > 0
    )
    energy_a = np.divide(
        energy[t, 0], energy[t].sum(axis=1), out=time_a.copy(), where=energy[t].sum(axis=1) > 0
    )
    return np.stack([np.where(has, time_a, 1.0), np.where(has, energy_a, 1.0)], axis=1)


def _tile_weights(sched: Schedule, per_tile: np.ndarray) -> np.ndarray:
    """Each step's tile figure ``[step, family, class]`` from ``per_tile[tile, family, class]``: compute
    and results the compute tile's, load and fill the load tile's, drain the drain tile's, whole the
    compute tile's (else the load tile's, else the drain tile's); 0 where the step has no such tile."""
    steps = sched.steps
    n_tiles = sched.tiles.layer.size
    if per_tile.shape != (n_tiles, _N_ACT, len(COMPONENT_CLASSES)):
        raise InputError(
            f"tile_dynamic_pj must be [tile, family, class] = [{n_tiles}, {_N_ACT}, "
            f"{len(COMPONENT_CLASSES)}], not {list(per_tile.shape)}"
        )
    c, ld, d = steps.compute_tile, steps.load_tile, steps.drain_tile
    whole = np.where(c >= 0, c, np.where(ld >= 0, ld, d))
    role = np.empty((steps.layer.size, _N_ACT), dtype=np.int64)  # [step, family] tile or -1
    role[:, F_WHOLE] = whole
    role[:, F_COMPUTE] = role[:, F_RESULTS] = c
    role[:, F_LOAD] = role[:, F_FILL] = ld
    role[:, F_DRAIN] = d
    got = per_tile[np.maximum(role, 0), np.arange(_N_ACT)[None, :]]  # [step, family, class]
    return np.where((role >= 0)[:, :, None], got, 0.0)
