"""Convolution-native input on the RTL under amaranth.sim (hdl/window.py, the controller's band walk): a
convolution read from its NHWC ifmap gives the direct convolution in the model's cycles, with the model's
access counts and traces (the Icarus and Verilator runs are ``make cosim``'s conv groups)."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.amaranth_sim import run_layers
from systolic.cosim.conv import conv_tensors, direct_conv, im2col
from systolic.model.cycles import GemmArrays
from systolic.model.memory import memory_cycles
from systolic.model.traces import collect, layer_traces, trace_widths
from systolic.workload import ConvShape

TIGHT = dict(
    rows=4,
    cols=4,
    dataflow=Dataflow.WS,
    conv_native=True,
    dram_bw_words_per_cycle=2,
    dram_latency_cycles=5,
    ifmap_sram_bytes=384,
    filter_sram_bytes=1024,
    ofmap_sram_bytes=1024,
)


def _check(cfg: ArrayConfig, conv: ConvShape, seed: int = 0) -> None:
    """RTL == direct convolution, RTL cycles, counts and traces == model, the layer read natively."""
    ifmap, filters = conv_tensors(cfg, conv, np.random.default_rng(seed))
    a, b = im2col(ifmap, filters, conv)
    (h,) = run_layers(cfg, [(a, b)], convs=[(conv, ifmap)])
    gemm = GemmArrays.of(*a.shape[:1], b.shape[1], a.shape[1], conv=[conv])
    model = memory_cycles(cfg, gemm)
    assert h.native == conv and model.plan.native == (conv,)
    assert h.problems == []
    np.testing.assert_array_equal(h.result, direct_conv(cfg, ifmap, filters, conv).reshape(h.result.shape))
    assert h.cycles == model.cycles_per_gemm[0]
    for kind in ("sram_reads", "sram_writes", "dram_reads", "dram_writes"):
        assert h.counts[kind] == {buf: int(v[0]) for buf, v in getattr(model, kind).items()}, kind
    # the bands, not the im2col matrix (a pointwise conv's im2col matrix is its tensor)
    assert h.counts["dram_reads"]["ifmap"] < a.size or conv.filter_h * conv.filter_w == 1
    recorded = h.trace_arrays()
    want = collect(layer_traces(cfg, model.schedule, 0, gemm.m[0], gemm.n[0], gemm.k[0]), trace_widths(cfg))
    for name, rows in recorded.items():
        np.testing.assert_array_equal(rows, want[name], err_msg=name)


def test_a_padded_conv_in_two_bands_is_exact():
    conv = ConvShape(4, 3, 3, 3, 8, 2, pad_h=1, pad_w=1)
    cfg = ArrayConfig(**{**TIGHT, "ifmap_sram_bytes": 160})  # 20 lines a half: bands of 2 output rows
    assert memory_cycles(cfg, GemmArrays.of(12, 2, 72, conv=[conv])).plan.tm[0] == 2 * 3
    _check(cfg, conv)


@pytest.mark.slow
@pytest.mark.parametrize(
    "conv",
    [
        ConvShape(7, 6, 3, 3, 8, 5, stride_h=2, stride_w=2, pad_h=1, pad_w=1),
        ConvShape(6, 6, 3, 3, 4, 3, stride_h=2, stride_w=2, extra_h=1, extra_w=1),
        ConvShape(4, 4, 3, 3, 8, 3, pad_h=1, pad_w=1, batch=2),
        ConvShape(7, 5, 5, 3, 4, 4, stride_h=2, pad_h=2, pad_w=1),
        ConvShape(6, 3, 3, 3, 16, 4, pad_h=1, pad_w=1),
    ],
    ids=["strided", "end padding", "batch 2", "5x3 filter", "k-tiles of filter rows"],
)
def test_strided_end_padded_batched_and_tall_filters_are_exact(conv):
    _check(ArrayConfig(**TIGHT), conv)


@pytest.mark.slow
def test_without_tile_overlap_too():
    conv = ConvShape(6, 5, 3, 3, 8, 3, pad_h=1, pad_w=1)
    _check(ArrayConfig(**TIGHT, tile_overlap=False), conv)


def test_three_channels_on_four_rows_is_exact():
    """C = 3 < P = 4, 7x7 filter, stride 2, padding 3: k-tiles of 8 k-lines across filter rows (32 taps:
    k-tiles starting inside a filter row), each k-line's lanes on distinct memory lanes of the pitched band
    (row pitch 20 words for 18), left/right and top/bottom padding masked per lane; the whole image in one
    band shared by the 5 k-tiles."""
    conv = ConvShape(7, 6, 7, 7, 3, 3, stride_h=2, stride_w=2, pad_h=3, pad_w=3)
    cfg = ArrayConfig(**{**TIGHT, "ifmap_sram_bytes": 256, "filter_sram_bytes": 256})
    plan = memory_cycles(cfg, GemmArrays.of(16, 3, 147, conv=[conv])).plan
    assert int(plan.tk[0]) == 32
    _check(cfg, conv)


@pytest.mark.slow
@pytest.mark.parametrize(
    "conv, changes",
    [
        (ConvShape(6, 5, 3, 3, 6, 4, pad_h=1, pad_w=1), {"ifmap_sram_bytes": 2 * 4 * 4 * 6}),
        (ConvShape(7, 7, 3, 3, 3, 4, stride_h=2, stride_w=2, pad_h=1, pad_w=1, batch=2), {}),
        (ConvShape(5, 4, 1, 1, 6, 3), {}),
    ],
    ids=["C=6 bands of output rows", "C=3 stride 2 batch 2", "C=6 pointwise"],
)
def test_channels_not_a_multiple_of_rows_are_exact(conv, changes):
    _check(ArrayConfig(**{**TIGHT, **changes}), conv)


STRIDED = [
    (ConvShape(8, 8, 3, 3, 2, 3, stride_h=2, stride_w=2, pad_h=1, pad_w=1), "mem-conv-ample"),
    (ConvShape(7, 7, 3, 3, 2, 3, stride_h=2, stride_w=2, pad_h=1, pad_w=1), "mem-conv-tight"),
    (ConvShape(8, 6, 1, 1, 3, 4, stride_h=2, stride_w=2), "mem-conv-tight"),
    pytest.param(
        ConvShape(7, 6, 3, 3, 2, 5, stride_h=2, stride_w=2, pad_h=1, pad_w=1, batch=2),
        "mem-conv-ample",
        marks=pytest.mark.slow,
    ),
    (ConvShape(8, 6, 1, 3, 2, 3, stride_h=2, pad_h=1, pad_w=1), "mem-conv-tight"),
    pytest.param(
        ConvShape(9, 9, 3, 3, 2, 3, stride_h=3, stride_w=3, pad_h=1, pad_w=1, extra_h=1),
        "mem-conv-ample",
        marks=pytest.mark.slow,
    ),
]


@pytest.mark.parametrize("dataflow", [Dataflow.OS, Dataflow.IS], ids=str)
@pytest.mark.parametrize(
    "conv, memory",
    STRIDED,
    ids=[
        "3x3s2 even",
        "3x3s2 odd width, bands",
        "1x1s2 bands",
        "3x3s2 batch 2",
        "1x3 s(2,1) odd rows",
        "3x3s3",
    ],
)
def test_os_and_is_read_strided_convs_from_their_phase_planes_exactly(dataflow, conv, memory):
    """OS and IS: a strided conv read from its ifmap's phase planes (every phase of a 3x3, phase (0, 0) of
    a 1x1, the odd rows' phase of a 1x3 at stride (2, 1) with pad 1; an odd width, whose phases differ in
    size and whose padding words the window masks; stride 3 with end padding) gives the direct
    convolution in the model's cycles, counts and traces."""
    from systolic.cosim.matrix import CONV_MEMORIES

    _check(ArrayConfig(dataflow=dataflow, conv_native=True, **CONV_MEMORIES[memory]), conv)


@pytest.mark.slow
@pytest.mark.parametrize("dataflow", [Dataflow.OS, Dataflow.IS], ids=str)
def test_os_and_is_read_a_7x7_stride_2_conv_of_three_channels_in_bands_exactly(dataflow):
    from systolic.cosim.matrix import CONV_MEMORIES

    conv = ConvShape(9, 8, 7, 7, 3, 4, stride_h=2, stride_w=2, pad_h=3, pad_w=3)
    _check(ArrayConfig(dataflow=dataflow, conv_native=True, **CONV_MEMORIES["mem-conv-tight"]), conv)


VALID = [
    (ConvShape(12, 9, 3, 3, 2, 5), "mem-conv-tight"),
    (ConvShape(13, 12, 3, 3, 2, 3, stride_h=2, stride_w=2), "mem-conv-tight"),
    (ConvShape(5, 5, 1, 1, 3, 3, pad_h=1, pad_w=1), "mem-conv-ample"),
    pytest.param(ConvShape(6, 7, 3, 3, 2, 3, batch=2), "mem-conv-ample", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("dataflow", [Dataflow.OS, Dataflow.IS], ids=str)
@pytest.mark.parametrize(
    "conv, memory",
    VALID,
    ids=["3x3 valid W=9 bands", "3x3s2 valid OW<W' bands", "1x1 pad 1 OW>W'", "batch 2"],
)
def test_os_and_is_read_valid_widths_from_a_pitched_band_exactly(dataflow, conv, memory):
    """OS and IS: 'valid' widths (OW != W') read from bands whose plane rows sit at the SRAM row pitch L
    (:func:`systolic.geometry.pixel_row_pitch`; 9 columns, OW = 7 on 4 lanes: L = 11, vectors across output
    rows on distinct lanes; stride 2, OW = 5 < W' = 6: L = 9; 1x1 pad 1, OW = 7 > W' = 5: L = 7), a
    plane row per DRAM run, in several bands on the tight memory: the direct convolution in the model's
    cycles, counts and traces."""
    from systolic.cosim.matrix import CONV_MEMORIES

    _check(ArrayConfig(dataflow=dataflow, conv_native=True, **CONV_MEMORIES[memory]), conv)


def _memory(name: str, **changes) -> ArrayConfig:
    from systolic.cosim.matrix import CONV_MEMORIES

    return ArrayConfig(**{**CONV_MEMORIES[name], "dataflow": Dataflow.WS, "conv_native": True, **changes})


@pytest.mark.parametrize(
    "memory, conv",
    [
        ("mem-conv-tight", ConvShape(9, 8, 7, 7, 3, 4, stride_h=2, stride_w=2, pad_h=3, pad_w=3)),
        ("mem-conv-ample", ConvShape(9, 8, 7, 7, 3, 6, stride_h=2, stride_w=2, pad_h=3, pad_w=3)),
        ("mem-conv-tight", ConvShape(5, 5, 3, 3, 5, 3, pad_h=1, pad_w=1)),
        ("mem-conv-tight", ConvShape(7, 5, 5, 3, 3, 4, stride_h=2, pad_h=2, pad_w=1)),
        ("mem-conv-ample", ConvShape(5, 5, 3, 3, 3, 3, pad_h=1, pad_w=1, batch=2)),
    ],
    ids=[
        "C=3 7x7 s2 p3 tight",
        "C=3 7x7 s2 p3 ample",
        "C=5 3x3 p1 on 4 rows",
        "C=3 5x3",
        "C=3 batch 2 on 8 rows",
    ],
)
def test_k_lines_across_filter_rows_are_exact(memory, conv):
    """C not a multiple of P: k-tiles of whole k-lines across filter rows (tk a multiple of P or K), the
    band's rows at the SRAM row pitch, each lane's line from its filter row; exact against the direct
    convolution and the model (cycles, counts, traces)."""
    cfg = _memory(memory)
    m, k = conv.batch * conv.ofmap_h * conv.ofmap_w, conv.filter_h * conv.filter_w * conv.channels
    gemm = GemmArrays.of(m, conv.filters, k, conv=[conv])
    tk = int(memory_cycles(cfg, gemm).plan.tk[0])
    assert tk % cfg.rows == 0 or tk == k
    assert conv.filter_w * conv.channels % tk != 0 or tk == k  # not one filter row per k-tile
    _check(cfg, conv)


def test_a_grouped_block_whose_channels_are_not_a_multiple_of_the_rows_is_exact():
    """3 groups of 3 channels on 4 rows: a block is a dense convolution of C' = 3 b channels (not a
    multiple of P), read from its channel slice through a pitched band, k-lines across filter rows."""
    from systolic.cosim.conv import block_tensors

    cfg = _memory("mem-conv-tight")
    shape = ConvShape(5, 5, 3, 3, 9, 6, pad_h=1, pad_w=1, groups=3)
    ifmap, filters = conv_tensors(cfg, shape, np.random.default_rng(3))
    want = direct_conv(cfg, ifmap, filters, shape)
    block = shape.block(1)
    assert block.channels % cfg.rows != 0
    for g in range(3):
        tensors = block_tensors(ifmap, filters, shape, g, 1)
        (h,) = run_layers(cfg, [im2col(*tensors, block)], convs=[(block, tensors[0])])
        assert h.problems == [] and h.native == block
        model = memory_cycles(cfg, GemmArrays.of(h.m, h.n, h.k, conv=[block]))
        assert h.cycles == int(model.cycles[0])
        assert h.counts["dram_reads"]["ifmap"] == int(model.dram_reads["ifmap"][0])
        np.testing.assert_array_equal(h.result.reshape(1, 5, 5, 2), want[..., 2 * g : 2 * g + 2])
