"""Storage geometry: which port carries each tensor, lanes per SRAM line, buffer capacity in lines, formats."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from systolic.config import ArrayConfig, Dataflow
from systolic.geometry import ADDR_BITS, BUFFER, band_row_pitch, geometry, operand_format, port_format

# (port, lanes, lane_dim, other_dim) per tensor on a 4-row, 3-column array, from the port table.
EXPECTED = {
    Dataflow.OS: {"A": ("west", 4, "m", "k"), "B": ("north", 3, "n", "k"), "C": ("south", 3, "n", "m")},
    Dataflow.WS: {"A": ("west", 4, "k", "m"), "B": ("north", 3, "n", "k"), "C": ("south", 3, "n", "m")},
    Dataflow.IS: {"A": ("north", 3, "m", "k"), "B": ("west", 4, "k", "n"), "C": ("south", 3, "m", "n")},
}


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_ports_lanes_and_axes_follow_the_port_table(dataflow):
    geo = geometry(ArrayConfig(rows=4, cols=3, dataflow=dataflow))
    got = {x: (g.port, g.lanes, g.lane_dim, g.other_dim) for x, g in geo.items()}
    assert got == EXPECTED[dataflow]


def test_capacity_and_lines_per_half_from_the_buffer_bytes():
    cfg = ArrayConfig(
        rows=4,
        cols=3,
        word_bytes=1,
        acc_bits=20,
        ifmap_sram_bytes=100,
        filter_sram_bytes=64,
        ofmap_sram_bytes=60,
        ifmap_offset=7,
        filter_offset=1000,
        ofmap_offset=5000,
    )
    geo = geometry(cfg)
    # A: 100 elements, 50 per half, lines of 4 -> 12; B: 64 -> 32 per half, lines of 3 -> 10;
    # C: 3-byte partial sums, 60 // 3 = 20 -> 10 per half, lines of 3 -> 3.
    assert [(g.element_bytes, g.capacity, g.half_lines) for g in geo.values()] == [
        (1, 100, 12),
        (1, 64, 10),
        (3, 20, 3),
    ]
    assert [g.offset for g in geo.values()] == [7, 1000, 5000]
    assert list(BUFFER.values()) == ["ifmap", "filter", "ofmap"] and ADDR_BITS == 48


def test_operand_formats_follow_the_tensor():
    cfg = ArrayConfig(rows=4, cols=3, input_bits=3, input_signed=False, weight_bits=5, acc_bits=20)
    assert operand_format(cfg, "A") == (3, False)
    assert operand_format(cfg, "B") == (5, True)
    assert operand_format(cfg, "C") == (20, True)
    assert operand_format(cfg.replace(weight_signed=False), "C") == (20, False)
    assert port_format(cfg.replace(dataflow="is"), "west") == (5, True)
    assert port_format(cfg.replace(dataflow="ws"), "west") == (3, False)
    with pytest.raises(ValueError, match="tensor must be A, B or C, not 'D'"):
        operand_format(cfg, "D")


@given(st.integers(1, 300), st.integers(1, 9), st.integers(1, 11), st.sampled_from([1, 3, 4, 8, 128]))
def test_the_band_pitch_is_the_smallest_that_keeps_k_lines_on_distinct_lanes(w, c, s, lanes):
    """WS bands with k-lines across filter rows: row pitch L >= W C with L - S C a multiple of P, the
    smallest; W C when C is a multiple of P (those bands do not move). ResNet-50 conv1 on 128 rows: 789."""
    pitch = band_row_pitch(w, c, s, lanes)
    assert pitch == next(p for p in range(w * c, w * c + lanes) if (p - s * c) % lanes == 0)
    if c % lanes == 0:
        assert pitch == w * c
    assert band_row_pitch(224, 3, 7, 128) == 789
