"""Energy by tile: the statistics of each tile's own operands, for placing a layer's energy in time.

A layer's statistics (:func:`~.streams.layer_stats`) are one per layer, but real data changes from tile to
tile (image borders, other images, channels with other weights), and the RTL's toggles with it. When the
operands are known, each tile's statistics are taken from its own blocks of A and B, and the layer's
regressors (:func:`~.activity.toggle_features`, unchanged) are evaluated with them: what the layer would
spend, per activity and class, if all its data looked like that tile's. The power model
(``model/power.py``) weights each step's share of an activity by its tile's figure, so the layer's total
stays the layer's and only its distribution over the steps changes. A network without operands keeps one
set of statistics per layer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.geometry import BUFFER, geometry

from .activity import (
    ACTIVITIES,
    DATAFLOWS,
    TOGGLE_FEATURES,
    Calibration,
    LayerActivityCounts,
    _array_counts,
    _fill_words,
    activity_counts,
    feature_activity_matrix,
    toggle_features,
    walk_counts,
)
from .defaults import default_stats
from .layer import energy_per_toggle_pj
from .side_flips import array_side_flips
from .streams import COLUMN, STAT_COLUMNS, layer_stats
from .tables import COMPONENT_CLASSES, EnergyTable, build_table

#: Statistics of the sums the ofmap SRAM accumulates over a layer's K-tiles (read back, drained, written
#: to DRAM): a tile after the first K-tile takes them from its output block's sums so far.
_ACCUMULATED = [COLUMN[c] for c in ("csram_s", "c_o", "dram_c", "dram_wr", "drain_s")]
#: Regressors that count actions alone (no statistic) in a class whose nets switch with data only: on the
#: RTL the accumulators of a tile of zero products do not switch at all (OS 4x4, photographs' ReLU maps,
#: ``bench/rtl_power_compare.py``), so each tile's share follows the class's data regressors.
_WITH_DATA = {"acc": ("macs",)}
#: The ofmap SRAM's array-side regressor (class, feature), which :func:`~.side_flips.array_side_flips`
#: places tile by tile when the operands are known.
_SIDE = (
    COMPONENT_CLASSES.index("ofmap_sram"),
    TOGGLE_FEATURES["ofmap_sram"].index("write_slots acc array_s"),
)


def _kept(a: np.ndarray, b: np.ndarray, keep: str) -> tuple[np.ndarray, np.ndarray]:
    return (a if "A" in keep else np.zeros_like(a)), (b if "B" in keep else np.zeros_like(b))


def tile_stats(
    cfg: ArrayConfig, tiles, operands: Sequence[tuple[np.ndarray, np.ndarray]], keep: str = "AB"
) -> np.ndarray:
    """Statistics ``[tile, stat]`` (:data:`~.streams.STAT_COLUMNS`) of every tile's own operands.

    Parameters
    ----------
    tiles : memory.Tiles
        ``memory_cycles(cfg, gemm).schedule.tiles``: each tile's layer, origin and extents.
    operands : sequence of (A, B)
        One pair per layer, ``A[M, K]`` and ``B[K, N]`` within the configured widths (GEMM layers; a
        tile's blocks are ``A[m0:m0+mt, k0:k0+kt]`` and ``B[k0:k0+kt, n0:n0+nt]``).
    keep : {"AB", "A", "B", ""}
        The operands whose data are kept; the others are taken as zeros (what a tensor's DRAM beats cost
        on their own: the power model places a fill's A beats before its B beats).
    """
    if keep not in ("AB", "A", "B", ""):
        raise InputError(f"keep must be 'AB', 'A', 'B' or '', not {keep!r}")
    layers = int(tiles.layer.max()) + 1 if tiles.layer.size else 0
    if len(operands) != layers:
        raise InputError(
            f"tile statistics need one (A, B) pair per layer: {layers} layers, {len(operands)} pairs"
        )
    out = np.zeros((tiles.layer.size, len(STAT_COLUMNS)))
    tile_k = np.zeros(layers, dtype=np.int64)
    np.maximum.at(tile_k, tiles.layer, tiles.kt)  # the K-tiles' extent (all but the last one's)
    # one call per tile: the statistics are sampled streams of the tile's blocks (data preparation, as
    # layer_stats is per layer); the model that uses them is vectorised over tiles
    for t in range(tiles.layer.size):
        a, b = operands[int(tiles.layer[t])]
        m0, n0, k0 = int(tiles.m0[t]), int(tiles.n0[t]), int(tiles.k0[t])
        mt, nt, kt = int(tiles.mt[t]), int(tiles.nt[t]), int(tiles.kt[t])
        out[t] = layer_stats(cfg, *_kept(a[m0 : m0 + mt, k0 : k0 + kt], b[k0 : k0 + kt, n0 : n0 + nt], keep))
        if k0 > 0:  # what the ofmap SRAM holds and drains: the sums over every K-tile so far
            so_far = _kept(a[m0 : m0 + mt, : k0 + kt], b[: k0 + kt, n0 : n0 + nt], keep)
            out[t, _ACCUMULATED] = layer_stats(cfg, *so_far, tile_k=int(tile_k[tiles.layer[t]]))[_ACCUMULATED]
    return out


def tile_activity_counts(cfg: ArrayConfig, memory) -> tuple[LayerActivityCounts, np.ndarray]:
    """Each tile's own counts (:class:`~.activity.LayerActivityCounts` with ``[tile]`` in place of
    ``[layer]``, one GEMM) and the ofmap SRAM line slots its drain reads ``[tile]``.

    The array's counts are the tile's folds; SRAM and DRAM words the tile's accesses, the ofmap SRAM's
    reads without the drain's (the read-modify-write reads of a tile after its first K-tile; the drain's
    reads are returned apart, as they come with the drain); read beats those of the step that loads the
    tile, write beats those of the step that drains it; cycles those of the step that computes it. Summed
    over a layer's tiles they are the layer's counts but for the cycles (the layer's prologue and the steps
    that compute nothing) and the compute cycles (overlapped tiles).
    """
    from ..memory import access_counts

    tiles, steps = memory.schedule.tiles, memory.schedule.steps
    n = tiles.layer.size
    own = dataclasses.replace(tiles, layer=np.arange(n))  # every tile a layer of its own
    words = access_counts(cfg, tiles)
    drained = np.where(tiles.last_k, words["dram_writes"]["ofmap"], 0).astype(float)
    reads = {b: np.asarray(v, dtype=float) for b, v in words["sram_reads"].items()}
    reads["ofmap"] = reads["ofmap"] - drained
    slots = {"sram_reads": [], "sram_writes": []}
    per_word = {}
    for x, g in geometry(cfg).items():
        lane_ext = tiles.ext(g.lane_dim)
        per_word[x] = -(-lane_ext // g.lanes) * g.lanes / lane_ext  # [tile] lane slots per word
        slots["sram_reads"].append(reads[BUFFER[x]] * per_word[x])
        slots["sram_writes"].append(words["sram_writes"][BUFFER[x]] * per_word[x])

    def by_role(values: np.ndarray, tile_of_step: np.ndarray) -> np.ndarray:
        has = tile_of_step >= 0
        return np.bincount(tile_of_step[has], weights=np.asarray(values, dtype=float)[has], minlength=n)

    read_beats = by_role(steps.read_beats, steps.load_tile)
    still, moving = _fill_words(cfg, own, words, n, np.ones(n))
    ones = np.ones(n)
    counts = LayerActivityCounts(
        **{k: np.asarray(v, dtype=float) for k, v in _array_counts(cfg, tiles).items()},
        cycles=by_role(steps.cycles, steps.compute_tile),
        compute_cycles=tiles.compute_cycles.astype(float),
        sram_reads=np.stack([reads[b] for b in ("ifmap", "filter", "ofmap")]),
        sram_writes=np.stack(
            [np.asarray(words["sram_writes"][b], dtype=float) for b in ("ifmap", "filter", "ofmap")]
        ),
        sram_read_slots=np.stack(slots["sram_reads"]),
        sram_write_slots=np.stack(slots["sram_writes"]),
        dram_reads=np.stack([np.asarray(words["dram_reads"][b], dtype=float) for b in ("ifmap", "filter")]),
        dram_writes=drained,
        read_beats=read_beats,
        write_beats=by_role(steps.write_beats, steps.drain_tile),
        fills=(read_beats > 0).astype(float),
        fill_still=still,
        fill_moving=moving,
        **walk_counts(cfg, tiles),
        rows=ones * cfg.rows,
        cols=ones * cfg.cols,
        bw=ones * cfg.dram_bw_words_per_cycle,
    )
    return counts, drained * per_word["C"]


def _tile_toggles(
    cfg: ArrayConfig,
    own: LayerActivityCounts,
    drain_slots: np.ndarray,
    st: np.ndarray,
    calibration: Calibration,
    layer: np.ndarray,
    drop_side: bool = False,
) -> np.ndarray:
    """Toggles ``[tile, activity, class]`` of the tiles' own counts with statistics ``st[tile, stat]``
    (``layer[tile]``; ``drop_side``: without the ofmap SRAM's array-side regressor, placed apart)."""
    beta = calibration.coeffs[DATAFLOWS.index(cfg.dataflow.value)]  # [class, feature]
    x = toggle_features(cfg, own, st)  # [tile, class, feature]
    for name, counts in _WITH_DATA.items():
        cls = COMPONENT_CLASSES.index(name)
        _follow_data(x, beta, layer, cls, [TOGGLE_FEATURES[name].index(f) for f in counts])
    if drop_side:
        x[:, _SIDE[0], _SIDE[1]] = 0.0
    toggles = np.einsum("tcf,cf,cfa->tac", x, beta, feature_activity_matrix())
    # the drain's reads of the ofmap SRAM: the same regressors with those line slots alone, in the drain
    zero = {f.name: np.zeros_like(np.asarray(getattr(own, f.name))) for f in dataclasses.fields(own)}
    slots = np.zeros_like(own.sram_read_slots)
    slots[2] = drain_slots
    drain_only = LayerActivityCounts(**{**zero, "sram_read_slots": slots})
    toggles[:, ACTIVITIES.index("drain")] += np.einsum(
        "tcf,cf->tc", toggle_features(cfg, drain_only, st), beta
    )
    return toggles


def _follow_data(x: np.ndarray, beta: np.ndarray, layer: np.ndarray, cls: int, counts: list[int]) -> None:
    """In place: class ``cls``'s count regressors ``x[tile, cls, counts]`` shared out over each layer's
    tiles as the class's data regressors' toggles are (each layer's totals unchanged; a layer whose data
    regressors are all zero keeps its counts)."""
    data = np.ones(x.shape[2], dtype=bool)
    data[counts] = False
    per_tile = x[:, cls, data] @ beta[cls, data]  # [tile] the data regressors' toggles
    n = int(layer.max()) + 1 if layer.size else 0
    d_sum = np.bincount(layer, per_tile, n)  # [layer]
    for f in counts:
        c = x[:, cls, f]
        per_toggle = np.divide(np.bincount(layer, c, n), d_sum, out=np.zeros(n), where=d_sum > 0)[layer]
        x[:, cls, f] = np.where(d_sum[layer] > 0, per_tile * per_toggle, c)


def _side_shared(cfg, own, ref, calibration, side, layer, n_layers) -> np.ndarray:
    """The array-side regressor's toggles ``[tile, (results, drain)]``: its layer total with statistics
    ``ref[tile, stat]``, shared out as the emulated flips ``side[tile, (results, drain)]`` are."""
    beta = calibration.coeffs[DATAFLOWS.index(cfg.dataflow.value), _SIDE[0], _SIDE[1]]
    charged = beta * toggle_features(cfg, own, ref)[:, _SIDE[0], _SIDE[1]]  # [tile]
    want, have = np.zeros((2, n_layers))
    np.add.at(want, layer, charged)
    np.add.at(have, layer, side.sum(axis=1))
    share = np.divide(want, have, out=np.zeros_like(want), where=have > 0)[layer]  # [tile]
    # a layer whose emulation shows no flips keeps the regressor's placement, in its results
    fallback = np.stack([np.where(have[layer] > 0, 0.0, charged), np.zeros_like(charged)], axis=1)
    return side * share[:, None] + fallback


def tile_energy_by_activity(
    cfg: ArrayConfig,
    gemm,
    memory,
    *,
    calibration: Calibration,
    stats: np.ndarray,
    layer_stats: np.ndarray | None = None,
    table: EnergyTable | None = None,
    side_flips: np.ndarray | None = None,
) -> np.ndarray:
    """Dynamic energy ``[tile, activity, class]`` (pJ, :data:`~.activity.ACTIVITIES`) of each tile: its own
    counts (:func:`tile_activity_counts`) with its own statistics ``stats[tile, stat]`` (:func:`tile_stats`,
    or the layer's for every tile) through the layer model's regressors and coefficients, each regressor
    in its activity (:data:`~.activity.FEATURE_ACTIVITY`) but the ofmap SRAM's reads of the drain, which
    go to the drain, where the RTL makes them (the layer model counts them with the read-modify-write
    reads, in ``results``).

    ``layer_stats`` (``[layer, stat]`` or ``[stat]``, the statistics the layer's energy was taken with):
    each layer's energy per activity and class is then what its tiles' counts give with the layer's
    statistics, and the tiles' own statistics only share it out. A tile's blocks are a small layer of
    their own, so statistics of position (addresses, the DRAM buses' order, partial sums of one K-tile)
    differ from the layer's for every tile alike; this keeps them from moving energy between activities.

    ``side_flips`` (``[tile, (results, drain)]``, :func:`~.side_flips.array_side_flips`): the ofmap SRAM's
    array-side regressor's toggles (with ``layer_stats``, the layer's; else the tiles') are shared out
    over the tiles' results and drains as the emulation's flips are, instead of by lane slots written.

    The power model (``power.step_work``'s ``tile_dynamic_pj``) places each tile's activities in the steps
    that do them and scales them per layer and class to :func:`~.layer.layer_energy`'s total.
    """
    tiles = memory.schedule.tiles
    st = np.asarray(stats, dtype=float)
    if st.shape != (tiles.layer.size, len(STAT_COLUMNS)):
        raise InputError(
            f"tile statistics must be [tile, stat] = [{tiles.layer.size}, {len(STAT_COLUMNS)}], "
            f"not {list(st.shape)}"
        )
    side = None if side_flips is None else np.asarray(side_flips, dtype=float)
    if side is not None and side.shape != (tiles.layer.size, 2):
        raise InputError(f"side_flips must be [tile, 2] = [{tiles.layer.size}, 2], not {list(side.shape)}")
    own, drain_slots = tile_activity_counts(cfg, memory)
    toggles = _tile_toggles(cfg, own, drain_slots, st, calibration, tiles.layer, side is not None)
    n_layers = gemm.m.size
    ref = st
    if layer_stats is not None:
        ref = np.broadcast_to(np.asarray(layer_stats, dtype=float), (n_layers, len(STAT_COLUMNS)))[
            tiles.layer
        ]
        alike = _tile_toggles(cfg, own, drain_slots, ref, calibration, tiles.layer, side is not None)
        want, have = np.zeros((2, n_layers, *toggles.shape[1:]))
        np.add.at(want, tiles.layer, alike)
        np.add.at(have, tiles.layer, toggles)
        scale = np.divide(want, have, out=np.ones_like(want), where=have > 0)[tiles.layer]
        toggles = np.where(have[tiles.layer] > 0, toggles * scale, alike)
    if side is not None:
        toggles[:, [ACTIVITIES.index("results"), ACTIVITIES.index("drain")], _SIDE[0]] += _side_shared(
            cfg, own, ref, calibration, side, tiles.layer, n_layers
        )
    counts = activity_counts(cfg, gemm, memory)
    reference = default_stats(cfg, gemm.k, 0.0, memory.schedule.plan.tk)
    per_toggle = energy_per_toggle_pj(cfg, counts, calibration, table or build_table(cfg), reference)
    return toggles * per_toggle[tiles.layer][:, None, :]  # [tile, activity, class]


@dataclass(frozen=True)
class TileEnergy:
    """What the power model needs to place a layer's energy tile by tile (``power.step_work``).

    Attributes
    ----------
    by_activity_pj : np.ndarray, shape [tile, activity, class]
        :func:`tile_energy_by_activity` with the tiles' own statistics and the layers' (its
        ``tile_dynamic_pj``).
    fill_pj : np.ndarray, shape [tile, 3], or None
        The fill's energy (all classes) of each tile with its A alone, its B alone and neither (its
        ``tile_fill_pj``); None without operands (the fill's energy spread evenly over its window).
    """

    by_activity_pj: np.ndarray
    fill_pj: np.ndarray | None


def tile_energy(
    cfg: ArrayConfig,
    gemm,
    memory,
    *,
    calibration: Calibration,
    operands: Sequence[tuple[np.ndarray, np.ndarray]],
    table: EnergyTable | None = None,
    layer_statistics: np.ndarray | None = None,
) -> TileEnergy:
    """:class:`TileEnergy` of GEMM layers from their operands (one ``(A, B)`` pair per layer);
    ``layer_statistics`` (``[layer, stat]``): the statistics the layers' energy was taken with, if not
    the operands' own (:func:`geometry_tile_energy`)."""
    tiles = memory.schedule.tiles
    per_layer = (
        np.stack([layer_stats(cfg, a, b) for a, b in operands])
        if layer_statistics is None
        else np.broadcast_to(np.asarray(layer_statistics, dtype=float), (len(operands), len(STAT_COLUMNS)))
    )

    def of(keep: str, layers: np.ndarray | None, side: np.ndarray | None = None) -> np.ndarray:
        st = tile_stats(cfg, tiles, operands, keep)
        return tile_energy_by_activity(
            cfg,
            gemm,
            memory,
            calibration=calibration,
            stats=st,
            layer_stats=layers,
            table=table,
            side_flips=side,
        )

    fill = ACTIVITIES.index("fill")
    # the split between A's and B's beats compares a tile's tensors with each other: no layer rescaling
    fill_pj = np.stack([of(keep, None)[:, fill].sum(axis=1) for keep in ("A", "B", "")], axis=1)
    return TileEnergy(of("AB", per_layer, layer_side_flips(cfg, gemm, tiles, operands)), fill_pj)


def layer_side_flips(
    cfg: ArrayConfig, gemm, tiles, operands: Sequence[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """:func:`~.side_flips.array_side_flips` ``[tile, (results, drain)]`` of every layer's tiles (one GEMM
    each), each layer emulated on its own schedule."""
    from ..cycles import GemmArrays
    from ..memory import memory_cycles

    out = np.zeros((tiles.layer.size, 2))
    for i, (a, b) in enumerate(operands):  # one emulation per layer, step by step inside
        mine = np.flatnonzero(tiles.layer == i)
        sched = memory_cycles(cfg, GemmArrays.of(a.shape[0], b.shape[1], a.shape[1])).schedule
        if sched.tiles.layer.size != mine.size:
            raise InputError(
                f"layer {i}: its own schedule has {sched.tiles.layer.size} tiles, not {mine.size}"
            )
        out[mine] = array_side_flips(cfg, sched, a, b)
    return out


def geometry_tile_energy(
    cfg: ArrayConfig,
    gemm,
    memory,
    *,
    calibration: Calibration,
    stats: np.ndarray,
    table: EnergyTable | None = None,
) -> TileEnergy:
    """:class:`TileEnergy` of GEMM layers without their operands: :func:`tile_energy` of operands drawn
    uniformly over the configured widths (seeded: the same layer gives the same result), each layer
    scaled per activity and class to its statistics ``stats`` (``[layer, stat]`` or ``[stat]``). Uniform
    data look alike in every tile, so what tells the tiles apart is their geometry: a partial tile's
    fewer lanes and folds and its own beats, the DRAM bus's idle lanes in its short lines, a first
    K-tile writing the ofmap SRAM without reading it, the drains' reads (the array side's emulation,
    :func:`~.side_flips.array_side_flips`). What the data change from tile to tile stays unknown."""
    rng = np.random.default_rng(0)
    synthetic = [
        (
            _uniform(rng, (int(m), int(k)), cfg.input_bits, cfg.input_signed),
            _uniform(rng, (int(k), int(n)), cfg.weight_bits, cfg.weight_signed),
        )
        for m, n, k in zip(gemm.m, gemm.n, gemm.k, strict=True)
    ]
    return tile_energy(
        cfg, gemm, memory, calibration=calibration, operands=synthetic, table=table, layer_statistics=stats
    )


def _uniform(rng: np.random.Generator, shape: tuple[int, int], bits: int, signed: bool) -> np.ndarray:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)
