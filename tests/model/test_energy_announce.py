"""model/energy/announce.py: the sequencer's output announcement line, against hand-counted fold walks
and the RTL's ``ann_*`` nets."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.model import energy as en
from systolic.model.cycles import GemmArrays, compute_cycles
from systolic.model.energy.announce import announce_flips


def _flips(cfg: ArrayConfig, m: int, n: int, k: int) -> int:
    return int(announce_flips(cfg, compute_cycles(cfg, GemmArrays.of(m, n, k)).plan)[0])


def test_back_to_back_folds_by_hand():
    # WS 4x4, T = M = 8, N = 6 (column folds of 4 and 2, outer), K = 10 (row folds of 4, 4, 2): every
    # period is T (T >= C, T >= ru), so the masked fields run from fold to fold
    cfg = ArrayConfig(rows=4, cols=4, dataflow=Dataflow.WS)
    time_step = 6 * 2 * 7  # six folds counting 0..7 and back to 0
    column_base = 1 + 2 + 1  # 0 -> 4 -> 8 (the last fold's end) -> 0
    lanes = 1 + 2 + 1  # rise to 4, 4 -> 2 between the column folds, fall from 2
    valid, first, last, tile_id = 2, 2 * 2, 2, 1  # first: the first row fold of each column fold
    assert _flips(cfg, 8, 6, 10) == time_step + column_base + lanes + valid + first + last + tile_id


def test_gaps_between_folds_by_hand():
    # the same with T = 3 < C: every fold but the last lasts max(T, C, ru next) = 4 cycles, the masked
    # fields fall to zero after each fold's 3 requests and rise again
    cfg = ArrayConfig(rows=4, cols=4, dataflow=Dataflow.WS)
    time_step = 2 * (5 * 3 + 2)
    column_base = 4
    lanes = 1 + 1 + 2 * 2 * 1 + 2 * 2 * 1 + (1 + 1)  # edges, gaps within the column folds, between them
    valid = 2 + 2 * 5
    assert _flips(cfg, 3, 6, 10) == time_step + column_base + lanes + valid + 4 + 2 + 1


def test_output_stationary_and_serial_sequencers_have_no_line():
    assert _flips(ArrayConfig(rows=4, cols=4, dataflow=Dataflow.OS), 8, 6, 10) == 0
    serial = ArrayConfig(rows=4, cols=4, dataflow=Dataflow.WS, fold_overlap=False)
    assert _flips(serial, 8, 6, 10) == 0
    # without fold_overlap the counts fall back to the folds
    assert en.activity_counts(serial, GemmArrays.of(8, 6, 10)).announce[0] == 6


def _cal(rows: int, cols: int, df: str, bits: int, bw: int, ternary: bool = False) -> ArrayConfig:
    """A calibration accelerator (cosim/calibrate.py's make_config, no gating)."""
    from systolic.cosim.calibrate import make_config

    return make_config(rows, cols, df, bits, False, bw, ternary)


@pytest.mark.parametrize(
    "cfg, mnk, rtl_per_stage",
    [
        # calibration layers run alone on Icarus (cosim/calibrate.py's simulate, VCD kept): the ann_*
        # nets' flips over the R + C stages, divided by R + C. A layer run alone starts from reset; the
        # model counts each tile's column base back to 0, which the layer's last tile does only when
        # the next layer starts: one return (popcount of its last column base) more than the run alone
        ((12, 6, "is", 16, 4), (37, 10, 12), 224),  # 4,032 flips: 4 tiles of 2, 2, 2, 1 column folds
        ((12, 6, "ws", 16, 4), (36, 7, 23), 376),  # 6,768
        ((4, 4, "ws", 8, 4), (20, 8, 29), 999),  # 7,992: 16 tiles
        ((8, 8, "is", 8, 8), (32, 10, 14), 303),  # 4,848
    ],
)
def test_the_rtls_announcement_nets(cfg, mnk, rtl_per_stage):
    cfg = _cal(*cfg)
    gemm = GemmArrays.of(*mnk)
    memory_tiles = en.activity_counts(cfg, gemm)
    from systolic.model.memory import memory_cycles

    tiles = memory_cycles(cfg, gemm).schedule.tiles
    plan = compute_cycles(cfg, GemmArrays.of(tiles.mt, tiles.nt, tiles.kt)).plan
    last_col_fold = plan.col_folds[-1] - 1  # the last tile's column base returns to 0 in the model only
    last_return = int(np.bitwise_count(np.int64((last_col_fold + 1) * cfg.cols)))
    assert memory_tiles.announce[0] == rtl_per_stage + last_return
