"""model/energy/folds.py: where a tile's folds meet, against hand-counted fold walks."""

from __future__ import annotations

from systolic.config import ArrayConfig, Dataflow
from systolic.model.cycles import GemmArrays, compute_cycles
from systolic.model.energy.folds import _joined_columns, _joined_lanes


def _plan(cfg: ArrayConfig, m: int, n: int, k: int):
    return compute_cycles(cfg, GemmArrays.of(m, n, k)).plan


def test_joined_lanes_need_back_to_back_folds_and_count_the_rows_both_use():
    # WS 4x4, K = 10: row folds of 4, 4, 2; N = 6: column folds of 4 and 2 columns (outer); T = M = 8
    cfg = ArrayConfig(rows=4, cols=4, dataflow=Dataflow.WS)
    lanes, skew, pes = _joined_lanes(cfg, _plan(cfg, 8, 6, 10))
    # per column fold: 4 -> 4 (4 lanes), 4 -> 2 (2); into the next column fold 2 -> 4 (2): 2 x 6 + 2
    assert lanes[0] == 14
    assert skew[0] == 2 * (6 + 1) + 1  # lanes r < both: 0 + 1 + 2 + 3 and 0 + 1
    # PEs: 6 columns x (4 + 2) rows within the column folds, 2 columns x 2 rows into the second
    assert pes[0] == 6 * 6 + 2 * 2
    # T = 3 < C: a gap between every fold
    assert [int(x[0]) for x in _joined_lanes(cfg, _plan(cfg, 3, 6, 10))] == [0, 0, 0]


def test_joined_columns_weight_the_skews_registers():
    # OS 4x4, M = 8 (two row folds, inner), N = 6 (columns 4 and 2), T = K = 8 >= R + C - 1
    cfg = ArrayConfig(rows=4, cols=4, dataflow=Dataflow.OS)
    lanes, weighted = _joined_columns(cfg, _plan(cfg, 8, 6, 8), lambda cu: cu * (cu - 1) // 2)
    # within each column fold one boundary (its columns: 4, then 2); into the second fold its 2 columns
    assert (lanes[0], weighted[0]) == (4 + 2 + 2, 6 + 1 + 1)
