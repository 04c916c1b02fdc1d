"""The sequencer's output announcements in WS and IS with ``fold_overlap`` (hdl/fold_pipeline.py,
``PipelinedSequencer._stationary_outputs``): every cycle the walker's state enters a delay line of
R + C register stages (``ann_<field>_<i>``), so each stage shows the walker's sequence of values, and
the line's flips are R + C times one stage's. Counted per tile in closed form from its fold plan."""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig

from .fills import _pop
from .folds import _fold_walk


def _column_base_flips(cf: np.ndarray, cols: int) -> np.ndarray:
    """Flips ``[tile]`` of the column-base field over a tile: ``sc_base`` walks 0, C, ..., cf C (the last
    fold's end moves it on) and returns to 0 when the next tile is accepted."""
    top = int(cf.max(initial=0))
    steps = _pop(np.arange(top) * cols ^ (np.arange(top) + 1) * cols)  # [j] flips of j C -> (j + 1) C
    walk = np.r_[0, np.cumsum(steps)]  # [cf]
    return walk[cf] + _pop(cf * cols)


def announce_flips(cfg: ArrayConfig, plan) -> np.ndarray:
    """Bit flips ``[tile]`` of one stage of the announcement line, over a tile's folds (0 for OS, whose
    outputs are announced by the drain walker, and for the serial sequencer, which has no line).

    Its fields, per fold f of T time steps and period P_f = max(T, C, ru of the next fold) (T for the
    tile's last fold): the time step (the walker's ``u``, counted whether or not it requests: 0, 1, ...,
    P_f - 1 and back to 0, 2 (P_f - 1) flips), the column base (:func:`_column_base_flips`), and the
    fields the request masks to zero between its T steps: ``lanes`` (the fold's columns), ``valid``,
    ``first`` (a fold of the first row fold); a field runs from one fold straight into the next (P_f = T)
    or falls to zero and rises again. ``last`` pulses once per tile, ``id`` (``tile_overlap``) flips once.
    Tiles start and end between requests (a tile is accepted after the last one's last request)."""
    if cfg.dataflow.value == "os" or not cfg.fold_overlap:
        return np.zeros(plan.row_folds.shape)
    r, c, t = cfg.rows, cfg.cols, plan.temporal
    rf, cf, ru_last, ru_first, tight = _fold_walk(cfg, plan)
    cu_last = plan.spatial_cols - (cf - 1) * c
    # boundaries between folds: within a column fold into a full row fold, into its last row fold, and
    # into the next column fold; each with the next fold's rows (its period and whether it is tight)
    within = (cf * np.maximum(rf - 2, 0), r), (cf * (rf >= 2), ru_last)
    cross = (cf - 1, ru_first)
    bounds = (*within, cross)
    periods = sum(n * (np.maximum(np.maximum(t, c), nxt) - 1) for n, nxt in bounds) + (t - 1)
    time_field = 2 * periods
    gap_within = [n * (1 - tight(nxt)) for n, nxt in within]  # boundaries that fall to zero
    gap_cross = cf >= 2  # there is a boundary into a next column fold ...
    gap_cross = gap_cross & ~tight(ru_first)  # ... and it falls to zero
    # lanes: the column fold's columns (C, the last column fold cu_last)
    cu_of = np.where(cf >= 2, c, cu_last)  # the first column fold's
    full_cf = np.maximum(cf - 1, 0)  # column folds of C columns
    lanes = _pop(cu_of) + _pop(cu_last)  # the tile's first rise and last fall
    lanes = lanes + 2 * (
        (gap_within[0] + gap_within[1]) / np.maximum(cf, 1) * (full_cf * _pop(c) + _pop(cu_last))
    )
    into_last = np.where(gap_cross, _pop(c) + _pop(cu_last), _pop(c ^ cu_last))  # the last column fold
    into_full = np.where(gap_cross, 2 * _pop(c), 0)
    lanes = lanes + (cf >= 2) * (np.maximum(cf - 2, 0) * into_full + into_last)
    gaps = gap_within[0] + gap_within[1] + (cf - 1) * gap_cross
    valid = 2 + 2 * gaps
    first = np.where(rf >= 2, 2 * cf, 2 + 2 * (cf - 1) * gap_cross)
    last = 2
    tile_id = 1 if cfg.tiles_overlap else 0
    return (time_field + _column_base_flips(cf, c) + lanes + valid + first + last + tile_id).astype(float)
