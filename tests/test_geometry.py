"""Storage geometry: which port carries each tensor, lanes per SRAM line, buffer capacity in lines, formats."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from systolic.config import ArrayConfig, Dataflow
from systolic.geometry import (
    ADDR_BITS,
    BUFFER,
    band_row_pitch,
    geometry,
    operand_format,
    phase_layout,
    pixel_address,
    pixel_row_pitch,
    pixel_runs,
    pixel_words,
    port_format,
)
from systolic.workload import ConvShape

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


@pytest.mark.parametrize(
    "conv, want",
    [
        # ResNet-50's strided layers (PyTorch 'same' arithmetic): OW = W' = ceil(W / sw)
        (ConvShape(224, 224, 7, 7, 3, 64, stride_h=2, stride_w=2, pad_h=3, pad_w=3), (112, 112, 4, 4, 0)),
        (ConvShape(112, 112, 3, 3, 64, 64, stride_h=2, stride_w=2, pad_h=1, pad_w=1), (56, 56, 4, 4, 0)),
        (ConvShape(56, 56, 1, 1, 256, 512, stride_h=2, stride_w=2), (28, 28, 4, 1, 0)),
        # odd width: phases of 4 and 3 columns, stored as 4; a 1x3 filter at stride (2, 1), pad 1: the
        # band reads the one phase of odd rows
        (ConvShape(7, 7, 3, 3, 2, 2, stride_h=2, stride_w=2, pad_h=1, pad_w=1), (4, 4, 4, 4, 0)),
        (ConvShape(8, 6, 1, 3, 2, 2, stride_h=2, pad_h=1, pad_w=1), (4, 6, 2, 1, 1)),
        # stride 1: one phase, the NCHW channel plane
        (ConvShape(6, 5, 3, 3, 2, 2, pad_h=1, pad_w=1), (6, 5, 1, 1, 0)),
    ],
)
def test_phase_layout_of_strided_convs(conv, want):
    """(H', W', phases, phases a band reads, the one phase it reads) of OS and IS native layers."""
    lay = phase_layout(conv)
    assert pixel_runs(conv)
    assert (lay.plane_h, lay.plane_w, lay.phases, lay.read, lay.first) == want
    assert lay.pitch == lay.plane_words * (lay.phases if lay.read == 1 else 1)


def test_pixel_address_puts_every_element_at_its_own_word_and_stride_1_is_nchw():
    conv = ConvShape(7, 5, 3, 3, 3, 2, stride_h=2, stride_w=3, pad_h=1, pad_w=1, batch=2)
    b, h, w, c = np.meshgrid(*(np.arange(n) for n in (2, 7, 5, 3)), indexing="ij")
    addr = pixel_address(conv, b, c, h, w)
    assert np.unique(addr).size == addr.size and addr.max() < pixel_words(conv) == 2 * 3 * 6 * 4 * 2
    flat = ConvShape(7, 5, 3, 3, 3, 2, pad_h=1, pad_w=1, batch=2)
    np.testing.assert_array_equal(pixel_address(flat, b, c, h, w), ((b * 3 + c) * 7 + h) * 5 + w)


def test_partial_phase_sets_are_not_pixel_runs_and_valid_widths_are():
    assert not pixel_runs(ConvShape(6, 5, 1, 3, 4, 3, stride_h=2, stride_w=2, pad_w=1))  # 2 of 4 phases
    assert pixel_runs(ConvShape(6, 5, 3, 3, 4, 3, stride_h=2, stride_w=2))  # OW = 2, W' = 3
    assert pixel_runs(ConvShape(6, 5, 3, 3, 4, 3))  # OW = 3, W' = 5
    assert pixel_runs(ConvShape(6, 5, 1, 1, 4, 3, pad_h=1, pad_w=1))  # OW = 7 > W' = 5


@given(
    st.integers(1, 300),
    st.integers(1, 7),
    st.integers(0, 3),
    st.integers(1, 3),
    st.sampled_from([1, 3, 4, 8, 128]),
)
def test_the_pixel_row_pitch_is_the_smallest_that_keeps_pixel_vectors_on_distinct_lanes(w, s, pad, sw, lanes):
    """OS and IS bands: row pitch L >= W' with L - OW a multiple of P, the smallest; W' when OW = W' ('same'
    widths: those bands do not move). A 3x3 'valid' conv on 56 columns and 128 lanes: 56 + 126 = 182."""
    conv = ConvShape(8, max(w, s), 3, s, 2, 2, stride_w=sw, pad_w=min(pad, s - 1))
    plane_w = -(-conv.ifmap_w // sw)
    pitch = pixel_row_pitch(conv, lanes)
    assert pitch == next(p for p in range(plane_w, plane_w + lanes) if (p - conv.ofmap_w) % lanes == 0)
    if conv.ofmap_w == plane_w:
        assert pitch == plane_w
    assert pixel_row_pitch(ConvShape(56, 56, 3, 3, 64, 64), 128) == 182
    assert pixel_row_pitch(ConvShape(56, 56, 3, 3, 64, 64, pad_h=1, pad_w=1), 128) == 56


@given(st.integers(1, 300), st.integers(1, 9), st.integers(1, 11), st.sampled_from([1, 3, 4, 8, 128]))
def test_the_band_pitch_is_the_smallest_that_keeps_k_lines_on_distinct_lanes(w, c, s, lanes):
    """WS bands with k-lines across filter rows: row pitch L >= W C with L - S C a multiple of P, the
    smallest; W C when C is a multiple of P (those bands do not move). ResNet-50 conv1 on 128 rows: 789."""
    pitch = band_row_pitch(w, c, s, lanes)
    assert pitch == next(p for p in range(w * c, w * c + lanes) if (p - s * c) % lanes == 0)
    if c % lanes == 0:
        assert pitch == w * c
    assert band_row_pitch(224, 3, 7, 128) == 789
