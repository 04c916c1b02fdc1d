"""The zero edges of the array's register streams, from the values actually at the edges.

A PE's product and partial-sum registers, the output de-skew's lanes (WS/IS) and OS's accumulator and
result registers carry one stream per fold, framed by zeros: the stream rises from zero to its first value
and falls from its last. The regressors charge those edges the ones of the values at the fold's first and
last time step, not the layer's mean ones: the two differ where the data do (an 8x8 IS layer of photo
ReLU maps with ternary weights: the outputs at the N-tile edges, IS's time axis, have 0.34 ones per bit
where the layer's mean is 0.19; an OS fold's first row's sums, which every result register shows last,
have fewer ones than the layer's mean). :func:`edge_ones` walks the folds of the first steps' tiles in
the RTL's order (:func:`.folds.computed_tiles`) and takes each fold's edge values from the operands.
"""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig

from .switching import _patterns

#: Most folds whose edges :func:`edge_ones` computes (spread evenly over the walk).
EDGE_FOLDS = 256
#: The statistics :func:`edge_ones` returns (ones per bit of the edge values, see there).
EDGE_COLUMNS: tuple[str, ...] = ("prod_edge", "psum_edge", "out_edge", "res_edge")


def _ones(x: np.ndarray, bits: int) -> int:
    return int(np.bitwise_count(_patterns(x, bits)).sum())


def _folds(cfg: ArrayConfig, sched, steps_max: int) -> list[tuple[int, int, int, int, int, int]]:
    """``(t0, t_len, row0, col0, ru, cu)`` per fold of the first ``steps_max`` steps' tiles in the walk's
    order, at most :data:`EDGE_FOLDS` of them spread evenly over it."""
    from .folds import computed_tiles

    folds = [
        (int(t0), int(t_len), int(rb), int(cb), int(r), int(c))
        for t0, t_len, row0, col0, ru, cu in computed_tiles(cfg, sched, steps_max)
        for rb, cb, r, c in zip(row0, col0, ru, cu, strict=True)
    ]
    if len(folds) <= EDGE_FOLDS:
        return folds
    pick = np.unique(np.linspace(0, len(folds) - 1, EDGE_FOLDS).round().astype(int))
    return [folds[i] for i in pick.tolist()]


def edge_ones(cfg: ArrayConfig, sched, a: np.ndarray, b: np.ndarray, steps_max: int) -> dict[str, float]:
    """Ones per bit of the values at the zero edges of each fold's register streams, over the folds of
    the first ``steps_max`` steps' tiles (:data:`EDGE_COLUMNS`; a value's rise and fall count one each):

    * ``prod_edge``: each used PE's first and last product of the fold (the operands' widths summed);
    * ``psum_edge``: WS/IS: each used PE's first and last partial sum (the sum over the fold's rows down
      to it); OS: the accumulator's first running sum and its last before the fold's sum goes to ``res``
      (it shows the fold's K - 1 first running sums);
    * ``out_edge`` (WS/IS): each used column's first and last output of the fold (the de-skew's lanes);
    * ``res_edge`` (OS with ``fold_overlap``): per result register and fold, its rise to the sum it takes
      (a row the fold leaves unused: the fold's last row's, the first to reach it) and its fall from the
      fold's first row's sum (every register shows it last), over two.
    """
    df = cfg.dataflow.value
    acc, bp = cfg.acc_bits, min(cfg.input_bits + cfg.weight_bits, 63)
    ones = dict.fromkeys(EDGE_COLUMNS, 0)
    counts = dict.fromkeys(EDGE_COLUMNS, 0)
    xw, st = (b.T, a.T) if df == "is" else (a, b)  # WS/IS: xw[time, k] streams, st[k, col] is held
    for t0, t_len, rb, cb, r, c in _folds(cfg, sched, steps_max):
        ends = np.array([t0, t0 + t_len - 1])  # [edge] the fold's first and last time step
        if df == "os":  # PE (m, n) accumulates A[m, k] B[k, n] along k = t0 ..
            aa, bb = a[rb : rb + r, t0 : t0 + t_len], b[t0 : t0 + t_len, cb : cb + c]
            prod = aa.T[ends - t0][:, :, None] * bb[ends - t0][:, None, :]  # [edge, row, col]
            total = np.einsum("mk,kn->mn", aa, bb)  # [row, col] the fold's sums (int64, no BLAS)
            if t_len >= 2:  # the running sums k = t0 .. t0 + t_len - 2
                last = total - aa[:, -1:] * bb[-1:, :]
                ones["psum_edge"] += _ones(prod[0], acc) + _ones(last, acc)
                counts["psum_edge"] += 2 * r * c
            if cfg.fold_overlap:  # R result registers per used column: rise to its sum, fall from row 0's
                rise = total[np.minimum(np.arange(cfg.rows), r - 1)]  # [row of the array, col]
                ones["res_edge"] += _ones(rise, acc) + cfg.rows * _ones(total[0], acc)
                counts["res_edge"] += 2 * cfg.rows * c
        else:  # PE (k, col) multiplies xw[t, k] by st[k, col] and adds the rows above
            prod = xw[ends][:, rb : rb + r, None] * st[rb : rb + r, cb : cb + c][None]  # [edge, row, col]
            psum = np.cumsum(prod, axis=1)
            ones["psum_edge"] += _ones(psum, acc)
            counts["psum_edge"] += psum.size
            ones["out_edge"] += _ones(psum[:, -1], acc)
            counts["out_edge"] += 2 * c
        ones["prod_edge"] += _ones(prod, bp)
        counts["prod_edge"] += prod.size
    bits = {"prod_edge": bp, "psum_edge": acc, "out_edge": acc, "res_edge": acc}
    return {k: ones[k] / (bits[k] * counts[k]) if counts[k] else 0.0 for k in EDGE_COLUMNS}
