"""model/energy/banks.py: a banked PE's multiplier input against a hand-computed fold order."""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig
from systolic.model import energy as en
from systolic.model.cycles import GemmArrays
from systolic.model.energy.banks import bank_flips
from systolic.model.energy.streams import COLUMN
from systolic.model.memory import memory_cycles


def test_banks_show_each_folds_weights_then_the_stale_bank_at_the_tiles_end():
    # WS 2x2, K = 4: one tile of two row folds. Fold 0 writes bank 0 (B[0:2]) and shows it (4 bits from
    # zero); fold 1's weights (B[2:4], loaded into bank 1 meanwhile) differ in one bit; at the tile's end
    # the tag turns back to bank 0 (one bit again): 6 flips over 3 swaps of 4 PEs and 8 bits
    cfg = ArrayConfig(rows=2, cols=2, dataflow="ws", input_bits=8, weight_bits=8)
    a = np.ones((3, 4), dtype=np.int64)
    b = np.array([[1, 2], [3, 0], [1, 2], [3, 1]])
    sched = memory_cycles(cfg, GemmArrays.of(3, 2, 4)).schedule
    assert sched.tiles.layer.size == 1
    # the bank registers: bank 0 written with B[0:2] (4 bits), bank 1 with B[2:4] (5 bits), per PE and fold
    assert bank_flips(cfg, sched, b, 8, 64) == (6 / (8 * 3 * 4), 9 / (8 * 2 * 4))
    assert en.layer_stats(cfg, a, b)[COLUMN["bank_s"]] == 6 / (8 * 3 * 4)
    # OS has no banks
    os_cfg = ArrayConfig(rows=2, cols=2, dataflow="os", input_bits=8, weight_bits=8)
    assert en.layer_stats(os_cfg, a, b)[COLUMN["bank_s"]] == 0.0
