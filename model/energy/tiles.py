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

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError

from .activity import Calibration, LayerActivityCounts, activity_counts, predict_toggles_by_activity
from .layer import energy_per_toggle_pj
from .streams import STAT_COLUMNS, default_stats, layer_stats
from .tables import EnergyTable, build_table


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
    # one call per tile: the statistics are sampled streams of the tile's blocks (data preparation, as
    # layer_stats is per layer); the model that uses them is vectorised over tiles
    for t in range(tiles.layer.size):
        a, b = operands[int(tiles.layer[t])]
        m0, n0, k0 = int(tiles.m0[t]), int(tiles.n0[t]), int(tiles.k0[t])
        mt, nt, kt = int(tiles.mt[t]), int(tiles.nt[t]), int(tiles.kt[t])
        at, bt = a[m0 : m0 + mt, k0 : k0 + kt], b[k0 : k0 + kt, n0 : n0 + nt]
        at = at if "A" in keep else np.zeros_like(at)
        bt = bt if "B" in keep else np.zeros_like(bt)
        out[t] = layer_stats(cfg, at, bt)
    return out


def _per_tile(counts: LayerActivityCounts, layer_of_tile: np.ndarray) -> LayerActivityCounts:
    """The layer's counts repeated for each of its tiles (``[..., layer]`` -> ``[..., tile]``)."""
    return LayerActivityCounts(
        **{
            f.name: np.take(np.asarray(getattr(counts, f.name)), layer_of_tile, axis=-1)
            for f in dataclasses.fields(counts)
        }
    )


def tile_energy_by_activity(
    cfg: ArrayConfig,
    gemm,
    memory,
    *,
    calibration: Calibration,
    stats: np.ndarray,
    table: EnergyTable | None = None,
) -> np.ndarray:
    """Dynamic energy ``[tile, activity, class]`` (pJ, :data:`~.activity.ACTIVITIES`) of each tile's layer
    if all its data had that tile's statistics ``stats[tile, stat]`` (:func:`tile_stats`).

    The power model uses these only as weights between the steps of one layer (``power.step_work``'s
    ``tile_dynamic_pj``): a layer's total is :func:`~.layer.layer_energy`'s.
    """
    tiles = memory.schedule.tiles
    st = np.asarray(stats, dtype=float)
    if st.shape != (tiles.layer.size, len(STAT_COLUMNS)):
        raise InputError(
            f"tile statistics must be [tile, stat] = [{tiles.layer.size}, {len(STAT_COLUMNS)}], "
            f"not {list(st.shape)}"
        )
    counts = activity_counts(cfg, gemm, memory)
    toggles = predict_toggles_by_activity(cfg, _per_tile(counts, tiles.layer), st, calibration)
    reference = default_stats(cfg, gemm.k, 0.0, memory.schedule.plan.tk)
    per_toggle = energy_per_toggle_pj(cfg, counts, calibration, table or build_table(cfg), reference)
    return toggles * per_toggle[tiles.layer][:, None, :]  # [tile, activity, class]
