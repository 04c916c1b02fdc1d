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

#: Folds :func:`edge_ones` counts at most: EDGE_PES PEs' worth (at least EDGE_FOLDS), from at most
#: EDGE_RUNS runs of consecutive steps.
EDGE_FOLDS, EDGE_PES, EDGE_RUNS = 256, 1 << 16, 4
#: The statistics :func:`edge_ones` returns (ones per bit of the edge values, see there).
EDGE_COLUMNS: tuple[str, ...] = (
    "prod_edge",
    "psum_edge",
    "out_edge",
    "deskew_s",
    "prod_f",
    "psum_f",
    "pass_f",
    "pass_edge",
    "res_s",
)
#: Array columns whose result registers OS's emulation follows.
SAMPLE_COLUMNS = 16
#: Time steps per fold, and products per fold and in all, whose switching the fold walk follows (WS/IS).
DESKEW_STEPS, DESKEW_FOLD_ELEMENTS, DESKEW_ELEMENTS = 64, 1 << 17, 1 << 21


def _steps(t_len: int, r: int, c: int) -> int:
    """Time steps of a fold of ``r`` x ``c`` PEs whose switching the walk follows: at most
    :data:`DESKEW_STEPS`, and :data:`DESKEW_FOLD_ELEMENTS` products (at least two steps)."""
    return min(t_len, max(2, min(DESKEW_STEPS, DESKEW_FOLD_ELEMENTS // max(r * c, 1))))


def _ones(x: np.ndarray, bits: int) -> int:
    return int(np.bitwise_count(_patterns(x, bits)).sum())


def _folds(cfg: ArrayConfig, sched, steps_max: int) -> list[tuple[bool, int, int, int, int, int, int]]:
    """``(counted, t0, t_len, row0, col0, ru, cu)`` per fold of ``steps_max`` steps' tiles in the walk's
    order: every step if the layer has at most :data:`EDGE_RUNS` x ``steps_max``, else that many runs of
    ``steps_max`` consecutive steps spread evenly over the layer (its first steps alone can be a quiet or
    a busy part of it: a 4x4 WS layer of photo ReLU maps' first 63 of 72 tiles switch 18% more than all
    of them), at most :data:`EDGE_PES` / (R C) counted folds in all (at least :data:`EDGE_FOLDS`). A run
    after the first starts with the tile of the step before it, not counted (OS's result registers carry
    a fold's state into the next)."""
    from .folds import computed_tiles

    n = int(sched.steps.layer.size)
    runs = [(0, n)] if n <= EDGE_RUNS * steps_max else []
    if not runs:
        starts = np.unique(np.linspace(0, n - steps_max, EDGE_RUNS).round().astype(int))
        runs = [(int(s0), int(s0) + steps_max) for s0 in starts.tolist()]
    folds: list[tuple[bool, int, int, int, int, int, int]] = []
    per_run = max(EDGE_FOLDS, EDGE_PES // (cfg.rows * cfg.cols)) // len(runs)
    for s0, s1 in runs:
        counted = 0
        for step, (t0, t_len, row0, col0, ru, cu) in enumerate(
            computed_tiles(cfg, sched, s1, max(s0 - 1, 0))
        ):
            count = step > 0 or s0 == 0  # the step before a run's first sets the state only
            for rb, cb, r, c in zip(row0, col0, ru, cu, strict=True):
                if counted >= per_run:
                    break
                folds.append((count, int(t0), int(t_len), int(rb), int(cb), int(r), int(c)))
                counted += count
    return folds


def edge_ones(cfg: ArrayConfig, sched, a: np.ndarray, b: np.ndarray, steps_max: int) -> dict[str, float]:
    """The statistics of :data:`EDGE_COLUMNS` over the first :data:`EDGE_FOLDS` folds of the first
    ``steps_max`` steps' tiles: ones per bit of the values at the zero edges of each fold's register
    streams (a value's rise and fall count one each), the de-skew's switching (WS/IS) and OS's result
    registers' flips:

    * ``prod_edge``: each used PE's first and last product of the fold (the operands' widths summed);
    * ``psum_edge``: WS/IS: each used PE's first and last partial sum (the sum over the fold's rows down
      to it); OS: the accumulator's first running sum and its last before the fold's sum goes to ``res``
      (it shows the fold's K - 1 first running sums);
    * ``out_edge``, ``deskew_s`` (WS/IS): the output de-skew's lanes (:func:`_stationary_edges`);
    * ``res_s`` (OS with ``fold_overlap``): flips per result register, fold and bit (:func:`_os_edges`).
    """
    folds = _folds(cfg, sched, steps_max)
    if cfg.dataflow.value == "os":
        got = _os_edges(cfg, folds, a, b)
    else:
        got = _stationary_edges(cfg, folds, *((b.T, a.T) if cfg.dataflow.value == "is" else (a, b)))
    return {k: float(got.get(k, 0.0)) for k in EDGE_COLUMNS}


def _rates(ones: dict[str, int], counts: dict[str, int], bits: dict[str, int]) -> dict[str, float]:
    return {k: ones[k] / (bits[k] * counts[k]) if counts[k] else 0.0 for k in ones}


def _os_edges(cfg: ArrayConfig, folds, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """OS: PE (m, n) accumulates A[m, k] B[k, n] along k. The result registers (hdl/pe.py ``ShadowPE``,
    hdl/fold_pipeline.py's drain): the fold's last operands' tag reaches every row and column, so every
    ``res`` takes its PE's sum (zero where the fold leaves the row or column unused), then row r shifts r
    times (``j < r``), showing the sums of the rows above in turn, and holds row 0's sum until the next
    fold's; emulated per register along :data:`SAMPLE_COLUMNS` columns of the array (a column's registers
    depend on that column's sums only), as are the edges."""
    acc, bp = cfg.acc_bits, min(cfg.input_bits + cfg.weight_bits, 63)
    keys = ("prod_edge", "psum_edge", "res_s")
    ones, counts = dict.fromkeys(keys, 0), dict.fromkeys(keys, 0)
    cols = np.unique(np.linspace(0, cfg.cols - 1, min(SAMPLE_COLUMNS, cfg.cols)).round().astype(int))
    held = np.zeros((cfg.rows, cols.size), dtype=np.uint64)  # [row, sampled col] what res holds
    below = cfg.rows - np.arange(1, cfg.rows)  # [i] rows that show the switch from row i's sum to i - 1's
    for counted, t0, t_len, rb, cb, r, c in folds:
        use = cols[cols < c]
        aa, bb = a[rb : rb + r, t0 : t0 + t_len], b[t0 : t0 + t_len, cb + use]
        total = np.zeros((cfg.rows, cols.size), dtype=np.int64)  # [row, sampled col]
        total[:r, : use.size] = np.einsum("mk,kn->mn", aa, bb)  # the fold's sums (int64, no BLAS)
        p = _patterns(total, acc)
        if counted:
            ends = np.array([0, t_len - 1])  # [edge] the fold's first and last k
            prod = aa.T[ends][:, :, None] * bb[ends][:, None, :]  # [edge, row, col]
            ones["prod_edge"] += _ones(prod, bp)
            counts["prod_edge"] += prod.size
            if t_len >= 2:  # the running sums k = t0 .. t0 + t_len - 2
                last = total[:r, : use.size] - aa[:, -1:] * bb[-1:, :]
                ones["psum_edge"] += _ones(prod[0], acc) + _ones(last, acc)
                counts["psum_edge"] += 2 * last.size
            if cfg.fold_overlap:
                steps = np.bitwise_count(p[1:] ^ p[:-1]).sum(axis=1)  # [i] row i's sum to row i - 1's
                ones["res_s"] += int(np.bitwise_count(held ^ p).sum()) + int((below * steps).sum())
                counts["res_s"] += held.size
        held = np.broadcast_to(p[:1], held.shape).copy()
    return _rates(ones, counts, {"prod_edge": bp, "psum_edge": acc, "res_s": acc})


def _stationary_edges(cfg: ArrayConfig, folds, xw: np.ndarray, st: np.ndarray) -> dict[str, float]:
    """WS/IS: PE (k, col) multiplies ``xw[t, k]`` by the held ``st[k, col]`` and adds the rows above.
    The output de-skew delays the fold's column j by C - 1 - j registers, so its lanes see the columns'
    outputs weighted by that: ``out_edge`` is the ones of each column's first and last output of the fold
    and ``deskew_s`` its outputs' switching along the fold's first time steps (:func:`_steps`), both
    weighted by the column's registers; ``prod_f``, ``psum_f`` the switching of each used PE's products
    and partial sums along the same time steps, within the fold (a time tile's edge is a zero edge, not
    a switch). The switching over as many folds as :data:`DESKEW_ELEMENTS` products allow, spread
    evenly."""
    acc, bp = cfg.acc_bits, min(cfg.input_bits + cfg.weight_bits, 63)
    keys = ("prod_edge", "psum_edge", "out_edge", "deskew_s", "prod_f", "psum_f")
    ones, counts = dict.fromkeys(keys, 0), dict.fromkeys(keys, 0)
    regs = cfg.cols - 1 - np.arange(cfg.cols)  # [j] the de-skew's registers on column j's lane
    folds = [fold[1:] for fold in folds if fold[0]]  # WS/IS: no state between folds
    cost = sum(_steps(t_len, r, c) * r * c for _, t_len, _, _, r, c in folds)
    stride = max(1, -(-cost // DESKEW_ELEMENTS))
    for f, (t0, t_len, rb, cb, r, c) in enumerate(folds):
        w = st[rb : rb + r, cb : cb + c]  # [row, col] the fold's held operand
        prod = xw[[t0, t0 + t_len - 1]][:, rb : rb + r, None] * w[None]  # [edge, row, col]
        psum = np.cumsum(prod, axis=1)
        ones["prod_edge"] += _ones(prod, bp)
        counts["prod_edge"] += prod.size
        ones["psum_edge"] += _ones(psum, acc)
        counts["psum_edge"] += psum.size
        edge = np.bitwise_count(_patterns(psum[:, -1], acc)).sum(axis=0)  # [col] both edges' ones
        ones["out_edge"] += int((regs[:c] * edge).sum())
        counts["out_edge"] += 2 * int(regs[:c].sum())
        if f % stride == 0 and t_len >= 2:
            ts = _steps(t_len, r, c)
            steps = xw[t0 : t0 + ts, rb : rb + r, None] * w[None]  # [time, row, col] the fold's products
            sums = np.cumsum(steps, axis=1)  # [time, row, col] each PE's partial sum
            for key, v, bits in (("prod_f", steps, bp), ("psum_f", sums, acc)):
                p = _patterns(v, bits)
                ones[key] += int(np.bitwise_count(p[1:] ^ p[:-1]).sum())
                counts[key] += p[1:].size
            out = _patterns(sums[:, -1], acc)  # [time, col]
            flips = np.bitwise_count(out[1:] ^ out[:-1]).sum(axis=0)  # [col]
            ones["deskew_s"] += int((regs[:c] * flips).sum())
            counts["deskew_s"] += (ts - 1) * int(regs[:c].sum())
    bits = {"prod_edge": bp, "psum_edge": acc, "out_edge": acc, "deskew_s": acc, "prod_f": bp, "psum_f": acc}
    return _rates(ones, counts, bits) | _passing_rows(cfg, folds, xw, st)


def _passing_rows(cfg: ArrayConfig, folds, xw: np.ndarray, st: np.ndarray) -> dict[str, float]:
    """WS/IS: the R - r rows a fold of r < R rows leaves unused pass its outputs down (each partial-sum
    register adds a zero product): ``pass_f`` their switching along the fold's first
    time steps (:func:`_steps`), ``pass_edge`` the ones of the fold's first and last outputs, both per
    passing register (over as many of those folds as :data:`DESKEW_ELEMENTS` products allow)."""
    acc, rows = cfg.acc_bits, cfg.rows
    ones, counts = {"pass_f": 0, "pass_edge": 0}, {"pass_f": 0, "pass_edge": 0}
    partial = [fold for fold in folds if fold[4] < rows]
    cost = sum(_steps(t_len, r, c) * r * c for _, t_len, _, _, r, c in partial)
    stride = max(1, -(-cost // DESKEW_ELEMENTS))
    for f, (t0, t_len, rb, cb, r, c) in enumerate(partial):
        w = st[rb : rb + r, cb : cb + c]  # [row, col]
        edge = _patterns(np.einsum("tk,kc->tc", xw[[t0, t0 + t_len - 1], rb : rb + r], w), acc)  # [edge, col]
        ones["pass_edge"] += (rows - r) * int(np.bitwise_count(edge).sum())
        counts["pass_edge"] += (rows - r) * edge.size
        if f % stride == 0 and t_len >= 2:
            ts = _steps(t_len, r, c)
            out = _patterns(np.einsum("tk,kc->tc", xw[t0 : t0 + ts, rb : rb + r], w), acc)  # [time, col]
            ones["pass_f"] += (rows - r) * int(np.bitwise_count(out[1:] ^ out[:-1]).sum())
            counts["pass_f"] += (rows - r) * out[1:].size
    return _rates(ones, counts, {"pass_f": acc, "pass_edge": acc})
