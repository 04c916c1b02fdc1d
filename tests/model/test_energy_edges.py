"""model/energy/edges.py: the fold edges' statistics and OS's result registers against a brute-force walk
of every register over the folds (pure Python over folds, PEs and cycles)."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.model.cycles import GemmArrays
from systolic.model.energy.edges import EDGE_COLUMNS, edge_ones
from systolic.model.energy.folds import computed_tiles
from systolic.model.memory import memory_cycles


def _ones(v: int, bits: int) -> int:
    return bin(int(v) & ((1 << bits) - 1)).count("1")


def _brute(cfg: ArrayConfig, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Each fold's register streams walked value by value: their first and last values (the output
    de-skew's: its lanes' outputs, each column's times its C - 1 - j registers), and each OS result
    register's values (load, then row r shifts r times from the row above, zeros at the top)."""
    sched = memory_cycles(cfg, GemmArrays.of(a.shape[0], b.shape[1], a.shape[1])).schedule
    acc, bp, rr, cc = cfg.acc_bits, cfg.input_bits + cfg.weight_bits, cfg.rows, cfg.cols
    got = {key: [0, 0] for key in EDGE_COLUMNS}  # [ones or flips, bits]
    xw, st = (b.T, a.T) if cfg.dataflow == Dataflow.IS else (a, b)
    res = [[0] * cc for _ in range(rr)]
    for t0, t_len, row0, col0, ru, cu in computed_tiles(cfg, sched, 10**9):
        for rb, cb, r, c in zip(row0.tolist(), col0.tolist(), ru.tolist(), cu.tolist(), strict=True):
            if cfg.dataflow == Dataflow.OS:
                total = [[0] * cc for _ in range(rr)]
                for i in range(r):
                    for j in range(c):
                        prods = [int(a[rb + i, k]) * int(b[k, cb + j]) for k in range(t0, t0 + t_len)]
                        sums = list(np.cumsum(prods))
                        total[i][j] = int(sums[-1])
                        got["prod_edge"][0] += _ones(prods[0], bp) + _ones(prods[-1], bp)
                        got["prod_edge"][1] += 2 * bp
                        if t_len >= 2:
                            got["psum_edge"][0] += _ones(sums[0], acc) + _ones(sums[-2], acc)
                            got["psum_edge"][1] += 2 * acc
                for j in range(cc):
                    column = [res[i][j] for i in range(rr)]
                    shown = [[total[i][j]] for i in range(rr)]  # every res takes its sum (0 if unused)
                    for i in range(rr):
                        shown[i] += [total[i - s][j] for s in range(1, i + 1)]  # r shifts from above
                    for i in range(rr):
                        seq = [column[i], *shown[i]]
                        got["res_s"][0] += sum(
                            _ones(x ^ y, acc) for x, y in zip(seq[1:], seq[:-1], strict=True)
                        )
                        got["res_s"][1] += acc
                        res[i][j] = shown[i][-1]
            else:
                for j in range(c):
                    for i in range(r):  # each used PE's products and partial sums along the fold
                        ps = [int(xw[t, rb + i]) * int(st[rb + i, cb + j]) for t in range(t0, t0 + t_len)]
                        ss = [
                            sum(int(xw[t, rb + q]) * int(st[rb + q, cb + j]) for q in range(i + 1))
                            for t in range(t0, t0 + t_len)
                        ]
                        for key, seq, bits in (("prod_f", ps, bp), ("psum_f", ss, acc)):
                            got[key][0] += sum(
                                _ones(x ^ y, bits) for x, y in zip(seq[1:], seq[:-1], strict=True)
                            )
                            got[key][1] += bits * (t_len - 1)
                    outs_j = [
                        sum(int(xw[t, rb + q]) * int(st[rb + q, cb + j]) for q in range(r))
                        for t in range(t0, t0 + t_len)
                    ]
                    # the rows the fold leaves unused pass its outputs down
                    got["pass_f"][0] += (rr - r) * sum(
                        _ones(x ^ y, acc) for x, y in zip(outs_j[1:], outs_j[:-1], strict=True)
                    )
                    got["pass_f"][1] += (rr - r) * acc * (t_len - 1)
                    got["pass_edge"][0] += (rr - r) * (_ones(outs_j[0], acc) + _ones(outs_j[-1], acc))
                    got["pass_edge"][1] += (rr - r) * 2 * acc
                    for t in (t0, t0 + t_len - 1):
                        running = 0
                        for i in range(r):
                            p = int(xw[t, rb + i]) * int(st[rb + i, cb + j])
                            running += p
                            got["prod_edge"][0] += _ones(p, bp)
                            got["psum_edge"][0] += _ones(running, acc)
                            got["prod_edge"][1] += bp
                            got["psum_edge"][1] += acc
                        got["out_edge"][0] += (cc - 1 - j) * _ones(running, acc)  # the de-skew's registers
                        got["out_edge"][1] += (cc - 1 - j) * acc
                    outs = [
                        sum(int(xw[t, rb + i]) * int(st[rb + i, cb + j]) for i in range(r))
                        for t in range(t0, t0 + t_len)
                    ]
                    got["deskew_s"][0] += (cc - 1 - j) * sum(
                        _ones(x ^ y, acc) for x, y in zip(outs[1:], outs[:-1], strict=True)
                    )
                    got["deskew_s"][1] += (cc - 1 - j) * acc * (t_len - 1)
    return {key: n / d if d else 0.0 for key, (n, d) in got.items()}


@pytest.mark.parametrize("df", ["os", "ws", "is"])
@pytest.mark.parametrize(("m", "n", "k"), [(11, 7, 9), (6, 9, 5), (4, 3, 1)])
def test_edges_and_result_registers_match_a_walk_of_every_register(df, m, n, k):
    cfg = ArrayConfig(rows=4, cols=3, dataflow=Dataflow(df), acc_bits=24, fold_overlap=True)
    rng = np.random.default_rng([m, n, k])
    a = rng.integers(-128, 128, size=(m, k))
    b = rng.integers(-128, 128, size=(k, n))
    a[rng.random(a.shape) < 0.3] = 0
    sched = memory_cycles(cfg, GemmArrays.of(m, n, k)).schedule
    got = edge_ones(cfg, sched, a, b, 10**9)
    for key, want in _brute(cfg, a, b).items():
        assert got[key] == pytest.approx(want, abs=1e-12), key


def test_edges_are_the_values_at_the_edges_not_the_mean():
    # IS: the time axis is N; a column of B that is large at the N-tile's first and last time steps
    # makes the de-skew's edges carry more ones than the outputs' mean
    cfg = ArrayConfig(rows=4, cols=4, dataflow=Dataflow.IS, acc_bits=24)
    a = np.ones((4, 4), dtype=np.int64)
    b = np.zeros((4, 8), dtype=np.int64)
    b[:, [0, 7]] = -1  # outputs -4 at the edges (22 ones of 24), zero between
    sched = memory_cycles(cfg, GemmArrays.of(4, 8, 4)).schedule
    got = edge_ones(cfg, sched, a, b, 10**9)
    assert got["out_edge"] == pytest.approx(22 / 24)
