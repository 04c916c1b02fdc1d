"""model/energy/fill_ports.py: the operand SRAMs' fill ports beat by beat, against hand-counted beats and
the RTL's ``s_wr_data`` and ``s_wr_addr`` nets."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.config import ArrayConfig
from systolic.model import energy as en
from systolic.model.energy.fill_ports import form_flips, port_flips

# two beats of a 4-lane line of A on a bus of 2 words: lanes 0-1, then 2-3
WORDS = np.array([[1, 3], [7, 0]], dtype=np.uint64)
COUNT, LANE0, TENSOR = np.array([2, 2]), np.array([0, 2]), np.array([0, 0])


def _beats(cycles):
    return np.array(cycles), WORDS, COUNT, LANE0, TENSOR


def test_a_moving_line_by_hand():
    # WS 2x4: the ifmap port has 2 lanes, the filter port 4. The filter port: beat 0 rises at lanes 0-1
    # (3 ones); at the edge that takes it the walker moves to lanes 2-3, which show beat 0's words (3 + 3);
    # beat 1 replaces them there (1 ^ 7, 3 ^ 0: 2 + 2); the walker returns to lane 0 (3 + 3), the idle bus
    # falls (3)
    cfg = ArrayConfig(rows=2, cols=4, dataflow="ws", dram_bw_words_per_cycle=2)
    ifmap, filt = port_flips(cfg, _beats([0, 1]))
    assert filt == 3 + 6 + 4 + 6 + 3
    # the ifmap port sees lanes 0-1 only: beat 0 rises and leaves (3 + 3), beat 1 arrives there at the end
    assert ifmap == 3 + 3 + 0 + 3 + 3
    # an idle cycle between the beats: the words fall to zero and rise instead of switching (3 + 3)
    assert port_flips(cfg, _beats([0, 2]))[1] == 3 + 6 + 6 + 6 + 3


def test_each_port_takes_its_own_width():
    # 2-bit ternary weights: the filter port keeps the low 2 bits of every word (1, 3; 3, 0)
    cfg = ArrayConfig(rows=4, cols=4, dataflow="ws", weight_bits=2, weight_format="ternary",
                      dram_bw_words_per_cycle=2)  # fmt: skip
    _, filt = port_flips(cfg, _beats([0, 1]))
    assert filt == 3 + 6 + (1 + 2) + (2 + 2) + 2


def test_the_counts_form_of_the_same_beats():
    # per port: visible words x (switching + 2 ones if the beat moves) x bits; both beats move (lanes
    # 0 -> 2 -> 0); the ifmap port (2 lanes) sees beat 0 only
    cfg = ArrayConfig(rows=2, cols=4, dataflow="ws", dram_bw_words_per_cycle=2)
    rates = (((0.5, 0.0), (0.25, 0.0)), ((0.125, 0.0), (0.0625, 0.0)))  # (switch, ones)[port][tensor]
    assert form_flips(cfg, _beats([0, 1]), rates) == (8 * 2 * (0.5 + 2 * 0.125), 8 * 4 * (0.25 + 2 * 0.0625))


def _cal(rows: int, cols: int, df: str, bits: int, bw: int, ternary: bool = False) -> ArrayConfig:
    """A calibration accelerator (cosim/calibrate.py's make_config, no gating)."""
    from systolic.cosim.calibrate import make_config

    return make_config(rows, cols, df, bits, False, bw, ternary)


@pytest.mark.parametrize(
    "cfg, source, mnk, rtl",
    [
        # calibration layers (cosim/calibrate.py, seed 0) run on Icarus after their warm-up layer, VCD
        # kept: the layer's s_wr_data flips of the ifmap and filter SRAMs
        ((8, 8, "is", 4, 4), "photo-relu", (39, 16, 24), (14_958, 14_958)),  # moving beats
        ((8, 8, "os", 8, 8, True), "photo-relu", (34, 16, 12), (2_624, 932)),  # ternary weights
        ((8, 8, "ws", 8, 8), "photo-relu", (25, 15, 23), (6_832, 6_832)),
    ],
)
def test_the_rtls_fill_port_nets(cfg, source, mnk, rtl):
    """The emulation's flips (the statistic times the counts' form) are the RTL's."""
    pytest.importorskip("sklearn")  # the photographs
    from systolic.cosim import calibrate as cal
    from systolic.model.cycles import GemmArrays

    cfg = _cal(*cfg)
    case = next(
        c
        for c in cal.calibration_set(cal.FITTED_ARRAYS, cal.HELD_OUT_ARRAYS)
        if (c.m, c.n, c.k) == mnk and c.source == source
    )
    a, b = cal.case_operands(cfg, case)
    gemm = GemmArrays.of(*mnk)
    st = en.layer_stats(cfg, a, b)
    x = en.toggle_features(cfg, en.activity_counts(cfg, gemm), st)[0]  # [class, feature]
    fill = en.TOGGLE_FEATURES["ifmap_sram"].index("sum_X b ((still_X + moving_X) d_X + 2 moving_X o_X) f_p")
    got = [x[en.COMPONENT_CLASSES.index(c), fill] for c in ("ifmap_sram", "filter_sram")]
    assert got == pytest.approx(rtl, rel=1e-9)
