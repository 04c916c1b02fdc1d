"""model/energy/drain_walk.py: the controller's drain walker, against a hand-counted walk and the RTL's
``drain_*``, ``wr_*_q`` and ``dram_wr_len`` nets."""

from __future__ import annotations

import pytest

from systolic.config import ArrayConfig
from systolic.model.cycles import GemmArrays
from systolic.model.energy.drain_walk import drain_flips, drain_walk_flips
from systolic.model.memory import memory_cycles


def test_one_line_of_three_beats_by_hand():
    # WS 4x4 (C's lines of 4 words along N), a bus of 2 words; C's tile 3 x 1 (N = 3, M = 1): one line of
    # two beats (words 0-1, then 2), the walk back to the first beat after the last
    cfg = ArrayConfig(rows=4, cols=4, dataflow="ws", dram_bw_words_per_cycle=2)
    j = 1 + 1  # 0 -> 1 -> 0
    lane0 = 2 * (1 + 1)  # 0 -> 2 -> 0, and its registered copy
    length = 3 * (2 + 2)  # 2 -> 1 -> 2 (0b10, 0b01: two bits each way) in three copies
    last_beat = 2  # 0 -> 1 -> 0
    edges = 1 + 1  # dram_wr_len rises to 2 and falls from 1
    flags = 5 * 2  # busy, last, the valid and last copies, dram_wr_valid: once up and down
    assert drain_walk_flips(cfg, [[3, 1]])[0] == j + lane0 + length + last_beat + edges + flags


@pytest.mark.parametrize(
    "cfg, mnk, rtl",
    [
        # calibration layers run alone on Icarus (VCD kept): the walker's nets and copies but the three
        # addresses; the model ignores what the idle walker's flags do between tiles of different kinds
        ((12, 6, "is", 16, 4), (37, 10, 12), 1_950),
        ((12, 6, "ws", 16, 4), (39, 16, 12), 2_657),
    ],
)
def test_the_rtls_drain_walker(cfg, mnk, rtl):
    from systolic.cosim.calibrate import make_config

    rows, cols, df, bits, bw = cfg
    cfg = make_config(rows, cols, df, bits, False, bw)
    tiles = memory_cycles(cfg, GemmArrays.of(*mnk)).schedule.tiles
    assert drain_flips(cfg, tiles).sum() == pytest.approx(rtl, rel=0.01)
