"""Where a tile's folds meet (:func:`~.activity.activity_counts`): which lanes and PEs run from one fold
straight into the next, counted per tile from its fold plan, and the walk of the first steps' folds."""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig


def _fold_walk(cfg: ArrayConfig, plan):
    """A tile's row and column folds, the rows of its last and first row fold, and ``tight(ru_next)``:
    whether a fold runs straight into the next (WS/IS: a fold's period is max(T, C, ru of the next fold),
    OS: max(T, R + C - 1); back to back when that is T)."""
    r, c, t = cfg.rows, cfg.cols, plan.temporal
    rf, cf = plan.row_folds, plan.col_folds

    def tight(ru_next):
        if cfg.dataflow.value == "os":
            return t >= r + c - 1
        return (t >= c) & (t >= ru_next)

    return rf, cf, plan.spatial_rows - (rf - 1) * r, np.minimum(r, plan.spatial_rows), tight


def _joined_lanes(cfg: ArrayConfig, plan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """West lanes ``[tile]`` whose stream runs from one fold straight into the next (no idle cycle between:
    the next fold's first operand arrives right after this fold's last, and the lane is used by both), and
    the west skew's registers on them (lane r has r). Such a lane switches once between the two folds'
    values instead of falling to zero and rising again; and the PEs whose products and partial sums do the
    same (used in both folds: those rows, and the columns both use). Folds run in walk order, row folds
    inner (rows r, ..., r, ru_last, then the next column fold's first; :func:`_fold_walk`)."""
    r, c = cfg.rows, cfg.cols
    rf, cf, ru_last, ru_first, tight = _fold_walk(cfg, plan)
    # boundaries (how many per tile, lanes used on both sides, the next fold's rows)
    bounds = (
        (cf * np.maximum(rf - 2, 0), r, r),  # between full row folds
        (cf * (rf >= 2), ru_last, ru_last),  # into a column fold's last row fold
        (cf - 1, ru_last, ru_first),  # into the next column fold
    )
    lanes = sum(n * both * tight(nxt) for n, both, nxt in bounds)
    skew = sum(n * (both * (both - 1) // 2) * tight(nxt) for n, both, nxt in bounds)
    # the PEs: within a column fold its columns (C, or the last fold's: spatial_cols over the column
    # folds), into the next column fold that fold's (spatial_cols - C over the boundaries)
    rows_within = np.maximum(rf - 2, 0) * r * tight(r) + (rf >= 2) * ru_last * tight(ru_last)
    pes = plan.spatial_cols * rows_within + np.maximum(plan.spatial_cols - c, 0) * ru_last * tight(ru_first)
    return lanes, skew, pes


def _joined_columns(cfg: ArrayConfig, plan, weight) -> tuple[np.ndarray, np.ndarray]:
    """Column lanes ``[tile]`` (OS: the north operand's; WS/IS: the outputs') that run from one fold
    straight into the next (:func:`_joined_lanes`), and the same weighted by ``weight(columns used)``
    (the skew's or de-skew's registers on them). Column folds are the outer loop: a column fold's row
    folds use the same columns (C, or the last fold's), and the next column fold C or the last."""
    r, c = cfg.rows, cfg.cols
    rf, cf, ru_last, ru_first, tight = _fold_walk(cfg, plan)
    cu_last = plan.spatial_cols - (cf - 1) * c
    within = np.maximum(rf - 2, 0) * tight(r) + (rf >= 2) * tight(ru_last)  # per column fold
    into = tight(ru_first) * (cf >= 2)  # into the next column fold
    lanes = within * ((cf - 1) * c + cu_last) + into * (np.maximum(cf - 2, 0) * c + cu_last)
    weighted = within * ((cf - 1) * weight(c) + weight(cu_last)) + into * (
        np.maximum(cf - 2, 0) * weight(c) + weight(cu_last)
    )
    return lanes, weighted


def computed_tiles(cfg: ArrayConfig, sched, steps_max: int, first: int = 0):
    """The tiles steps ``first`` .. ``steps_max`` - 1 of ``sched`` compute, in the order they run: per tile
    ``(t0, t_len, row0, col0, ru, cu)``, its first time index and time steps and, per fold ``[fold]``,
    the first row and column of the operand it places on the array and the rows and columns it uses
    (the walk every per-fold emulation of the array follows: hdl/sequencer.py's fold order)."""
    from systolic.dataflow import MAPPINGS

    from ..memory import tile_record
    from ..traces import _tile_folds

    mp = MAPPINGS[cfg.dataflow]
    steps = sched.steps
    for s in range(max(first, 0), min(steps.layer.size, steps_max)):
        if steps.compute_tile[s] < 0:
            continue
        tile = tile_record(sched.tiles, int(steps.compute_tile[s]))
        t_len, sr_base, sc_base, ru, cu, _, _ = _tile_folds(cfg, tile)
        row0 = tile[f"{mp.spatial_rows}0"] + sr_base
        col0 = tile[f"{mp.spatial_cols}0"] + sc_base
        yield tile[f"{mp.temporal}0"], t_len, row0, col0, ru, cu
