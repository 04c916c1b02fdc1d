"""Convolution-native input (model/band.py and its use by the memory model and the traces): bands against
brute force, window addresses against the im2col of an address-valued tensor, and pinned DRAM words."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.conv import im2col
from systolic.errors import InputError
from systolic.geometry import (
    band_row_pitch,
    native_conv,
    phase_layout,
    pixel_address,
    pixel_row_pitch,
    pixel_words,
)
from systolic.model.band import (
    band_rows,
    band_runs,
    pitched_band_lines,
    pitched_fill_beats,
    pitched_window,
    pixel_band_lines,
    plane_rows,
    window_addresses,
)
from systolic.model.cycles import GemmArrays
from systolic.model.grouped import group_block
from systolic.model.memory import memory_cycles, plan_conv_layer
from systolic.model.traces import collect, layer_traces, trace_widths
from systolic.workload import ConvShape, Layer

AMPLE = dict(
    rows=4,
    cols=4,
    dataflow=Dataflow.WS,
    ifmap_sram_bytes=4096,
    filter_sram_bytes=4096,
    ofmap_sram_bytes=16384,
    dram_bw_words_per_cycle=4,
    dram_latency_cycles=3,
)

convs = st.builds(
    lambda h, w, r, s, sh, sw, ph, pw, eh, b: ConvShape(
        h,
        w,
        r,
        s,
        4,
        3,
        stride_h=sh,
        stride_w=sw,
        pad_h=min(ph, r - 1),
        pad_w=min(pw, s - 1),
        extra_h=eh,
        batch=b,
    ),
    *(st.integers(3, 7), st.integers(3, 7), st.integers(1, 3), st.integers(1, 3)),
    *(st.integers(1, 2), st.integers(1, 2), st.integers(0, 2), st.integers(0, 2), st.integers(0, 1)),
    st.integers(1, 2),
)


def _run(cfg: ArrayConfig, conv: ConvShape):
    layer = Layer.from_conv("c", conv)
    return memory_cycles(cfg, GemmArrays.of(layer.m, layer.n, layer.k, conv=[conv]))


@given(convs, st.integers(1, 4), st.data())
@settings(max_examples=60, deadline=None)
def test_a_band_is_the_input_rows_its_output_rows_read(conv, j, data):
    r0 = data.draw(st.integers(0, conv.filter_h - 1))
    r1 = data.draw(st.integers(r0 + 1, conv.filter_h))
    for oh0 in range(conv.ofmap_h):
        read = [
            oh * conv.stride_h - conv.pad_h + r
            for oh in range(oh0, min(oh0 + j, conv.ofmap_h))
            for r in range(r0, r1)
        ]
        inside = [h for h in read if 0 <= h < conv.ifmap_h]
        lo, rows = band_rows(conv, oh0, min(j, conv.ofmap_h - oh0), r0, r1)
        lo, rows = int(lo), int(rows)
        # the rows from the first to the last read, clipped to the tensor: every row read is in it, and
        # no other unless strides leave gaps (stride > filter rows) that the clip at row 0 keeps
        assert set(inside) <= set(range(lo, lo + rows))
        hull = (max(0, min(read)), min(conv.ifmap_h - 1, max(read)))
        assert (lo, rows) == (hull[0], max(0, hull[1] - hull[0] + 1))
        if inside and conv.stride_h <= r1 - r0:
            assert (lo, rows) == (min(inside), max(inside) - min(inside) + 1)


@given(convs)
@settings(max_examples=60, deadline=None)
def test_the_window_reads_the_words_of_the_im2col_matrix(conv):
    """An ifmap whose words hold their own address + 1: its im2col matrix holds the addresses the window
    generator reads (0 where it makes a padding zero)."""
    offset, lanes = 100, 4
    n = conv.batch * conv.ifmap_h * conv.ifmap_w * conv.channels
    ifmap = (np.arange(n) + 1).reshape(conv.batch, conv.ifmap_h, conv.ifmap_w, conv.channels)
    a, _ = im2col(
        ifmap, np.zeros((conv.filter_h, conv.filter_w, conv.channels, conv.filters), dtype=np.int64), conv
    )
    m, k0 = (
        x.ravel() for x in np.meshgrid(np.arange(a.shape[0]), np.arange(0, a.shape[1], lanes), indexing="ij")
    )
    got = window_addresses(conv, offset, m, k0, np.full(m.size, lanes), lanes)
    want = np.where(a == 0, -1, a + offset - 1).reshape(a.shape[0], -1, lanes).reshape(-1, lanes)
    np.testing.assert_array_equal(got, want)


def test_a_3x3_conv_whose_image_fits_reads_its_ifmap_and_filters_once():
    conv = ConvShape(8, 8, 3, 3, 8, 6, pad_h=1, pad_w=1)
    cfg = ArrayConfig(conv_native=True, **AMPLE)
    res = _run(cfg, conv)
    assert res.plan.native == (conv,)
    assert int(res.dram_reads["ifmap"][0]) == 8 * 8 * 8  # the tensor, once
    assert int(res.dram_reads["filter"][0]) == 3 * 3 * 8 * 6  # the filters, once
    im2col_words = int(_run(cfg.replace(conv_native=False), conv).dram_reads["ifmap"][0])
    assert im2col_words == 64 * 72  # the im2col matrix, 9x the tensor
    # the array's side is the im2col layer's: same cycles here (compute-bound), same SRAM reads
    old = _run(cfg.replace(conv_native=False), conv)
    assert int(res.sram_reads["ifmap"][0]) == int(old.sram_reads["ifmap"][0])


def test_bands_reread_only_their_halo():
    """Pinned against the closed form: bands of j output rows of a 3x3 stride-1 'same' conv on H rows read
    H + 2 (H / j - 1) rows of W x C words (each band boundary re-reads 2 halo rows)."""
    conv = ConvShape(24, 4, 3, 3, 4, 4, pad_h=1, pad_w=1)
    cfg = ArrayConfig(conv_native=True, **{**AMPLE, "ifmap_sram_bytes": 2 * 14 * 4 * 4})  # 14 rows a half
    res = _run(cfg, conv)
    j = res.plan.tm[0] // conv.ofmap_w
    assert j == 12  # the tallest band that fits: 12 output rows need 14 input rows
    rows = 24 + 2 * (24 // j - 1)
    assert int(res.dram_reads["ifmap"][0]) == rows * 4 * 4
    assert int(res.dram_reads["ifmap"][0]) <= 1.2 * 24 * 4 * 4


def test_a_small_filter_buffer_takes_k_tiles_of_whole_filter_rows_that_share_the_band():
    """Pinned: 3x3x16 filters do not fit a 128-line half (K = 144 lines), so k-tiles of whole filter rows:
    two (96 taps) and one, or one each (48 taps), read the same DRAM words; timed, one filter row a
    k-tile is faster (its first fill is shorter) and taken. The k-tiles of an m-tile share its band of
    every filter row's input rows."""
    conv = ConvShape(6, 3, 3, 3, 16, 4, pad_h=1, pad_w=1)
    cfg = ArrayConfig(conv_native=True, **{**AMPLE, "ifmap_sram_bytes": 384, "filter_sram_bytes": 1024})
    res = _run(cfg, conv)
    assert (int(res.plan.tm[0]), int(res.plan.tk[0])) == (9, 48)  # 3 output rows, 1 filter row
    assert res.plan.native == (conv,)
    # output rows 0-2 read input rows 0-3, rows 3-5 read 2-5: one band each, for all three k-tiles
    assert int(res.dram_reads["ifmap"][0]) == (4 + 4) * 3 * 16
    assert int(res.dram_reads["filter"][0]) == 144 * 4 * 2  # the filters once per m-tile
    assert res.schedule.tiles.load_a.tolist() == [True, False, False, True, False, False]


def _closed_form_words(conv: ConvShape, lanes: int, j: int) -> int:
    """Band words of bands of j output rows of every filter row, each widened to whole lines of P words
    (brute force over the bands: the tensor's rows each band reads, its first word rounded down and its
    last rounded up to a line)."""
    row = conv.ifmap_w * conv.channels
    words = 0
    for _ in range(conv.batch):
        for oh0 in range(0, conv.ofmap_h, j):
            read = [
                h
                for oh in range(oh0, oh0 + j)
                for r in range(conv.filter_h)
                if 0 <= (h := oh * conv.stride_h - conv.pad_h + r) < conv.ifmap_h
            ]
            words += (max(read) - min(read) + 1) * row  # each row its own run: no alignment words
    return words


@pytest.mark.parametrize(
    "conv, sram, j, extra",
    [
        # C = 3 < P = 4: the whole 9x9x3 image in one band, its 243 words
        (ConvShape(9, 9, 7, 7, 3, 4, stride_h=2, stride_w=2, pad_h=3, pad_w=3), 4096, 5, 0),
        # C = 6, P < C < 2P, in bands of 2 output rows of a 'same' 3x3 conv: halo rows
        (ConvShape(8, 5, 3, 3, 6, 4, pad_h=1, pad_w=1), 2 * 4 * 4 * 8, 2, None),
    ],
    ids=["C=3 7x7 s2 p3", "C=6 3x3 bands"],
)
def test_channels_not_a_multiple_of_rows_read_the_tensor_in_bands(conv, sram, j, extra):
    """C not a multiple of P: k-tiles of whole k-lines across filter rows, the layer
    native (it must not fall back to its im2col matrix), DRAM words of A = tensor + halo rows (closed
    form: each input row fetched as its own run, no alignment words)."""
    cfg = ArrayConfig(conv_native=True, **{**AMPLE, "ifmap_sram_bytes": sram})
    res = _run(cfg, conv)
    assert res.plan.native == (conv,)
    k = conv.filter_h * conv.filter_w * conv.channels
    assert int(res.plan.tk[0]) % 4 == 0 or int(res.plan.tk[0]) == k  # whole k-lines across filter rows
    assert int(res.plan.tm[0]) == j * conv.ofmap_w
    words = int(res.dram_reads["ifmap"][0])
    assert words == _closed_form_words(conv, 4, j)
    tensor = conv.batch * conv.ifmap_h * conv.ifmap_w * conv.channels
    if extra is not None:
        assert words == tensor + extra
    im2col_words = int(_run(cfg.replace(conv_native=False), conv).dram_reads["ifmap"][0])
    assert words < im2col_words / 3


def test_the_dram_trace_of_a_band_is_the_tensors_words_in_order():
    conv = ConvShape(5, 4, 3, 3, 8, 4, stride_h=2, pad_h=1, pad_w=1)
    cfg = ArrayConfig(conv_native=True, **AMPLE)
    res = _run(cfg, conv)
    layer = Layer.from_conv("c", conv)
    traces = collect(layer_traces(cfg, res.schedule, 0, layer.m, layer.n, layer.k), trace_widths(cfg))
    addr = traces["IFMAP_DRAM_TRACE"][:, 1:]
    np.testing.assert_array_equal(addr[addr >= 0], np.arange(5 * 4 * 8))
    sram = traces["IFMAP_SRAM_TRACE"][:, 1:]
    assert (sram == -1).any() and sram.max() < 5 * 4 * 8  # padding lanes read nothing from the tensor


def test_layers_no_band_fits_read_their_im2col_matrix():
    conv = ConvShape(6, 6, 3, 3, 8, 4, pad_h=1, pad_w=1)
    cfg = ArrayConfig(conv_native=True, **{**AMPLE, "ifmap_sram_bytes": 64})
    layer = Layer.from_conv("c", conv)
    _, native = plan_conv_layer(cfg, layer.m, layer.n, layer.k, conv=conv)
    assert not native
    assert _run(cfg, conv).plan.native == (None,)


def _run_blocks(cfg: ArrayConfig, conv: ConvShape, blocks: int):
    layer = Layer.conv_blocks("dw", conv, blocks)[0]
    gemm = GemmArrays.of(layer.m, layer.n, layer.k, layer.repeat, conv=[conv], blocks=blocks)
    return memory_cycles(cfg, gemm)


def test_a_depthwise_block_reads_its_channel_slice_in_bands_with_their_halo():
    """Closed form: a block of 4 depthwise channels of an 8x8 'same' 3x3 conv is an 8x8x4 tensor (32
    words a row); 4 input rows a half take bands of j = 2 output rows (3, 4, 4 and 3 input rows: 2 halo
    rows per boundary), 14 rows = 448 words per block, 2 blocks; im2col reads 9 words per output pixel
    and channel."""
    conv = ConvShape(8, 8, 3, 3, 8, 8, pad_h=1, pad_w=1, groups=8)
    cfg = ArrayConfig(conv_native=True, **{**AMPLE, "ifmap_sram_bytes": 2 * 4 * 32})
    res = _run_blocks(cfg, conv, 4)
    assert res.plan.native == (conv.block(4),)
    assert conv.block(4) == ConvShape(8, 8, 3, 3, 4, 4, pad_h=1, pad_w=1)
    assert int(res.plan.tm[0]) == 2 * 8
    assert int(res.dram_reads["ifmap"][0]) == 2 * (8 + 2 * 3) * 8 * 4  # per GEMM x 2 blocks
    assert int(res.dram_reads["filter"][0]) == 2 * 36 * 4  # each block's B once, its zeros included
    im2col = _run_blocks(cfg.replace(conv_native=False), conv, 4)
    assert im2col.plan.native == (None,)
    assert int(im2col.dram_reads["ifmap"][0]) == 8 * 8 * 9 * 8


def test_a_strided_depthwise_block_of_three_channels_reads_its_tensor():
    """Closed form: 3 depthwise channels of a 7x7 image (stride 2, pad 1) are a 147-word tensor; on 4
    rows each of its 7 input rows is fetched as a run of 21 words, at a row pitch of 21 words in the SRAM
    (21 - 9 = 12 is a multiple of 4: no gap words): 147 words, no alignment words."""
    conv = ConvShape(7, 7, 3, 3, 6, 6, stride_h=2, stride_w=2, pad_h=1, pad_w=1, groups=6)
    cfg = ArrayConfig(conv_native=True, **AMPLE)
    res = _run_blocks(cfg, conv, 3)
    assert res.plan.native == (conv.block(3),)
    assert band_row_pitch(7, 3, 3, 4) == 21
    assert int(res.dram_reads["ifmap"][0]) == 2 * 147
    assert int(_run_blocks(cfg.replace(conv_native=False), conv, 3).dram_reads["ifmap"][0]) == 6 * 16 * 9


def test_conv_native_is_on_by_default():
    conv = ConvShape(4, 4, 1, 1, 4, 1)
    for df in Dataflow:
        assert native_conv(ArrayConfig(**{**AMPLE, "dataflow": df}), conv) == conv  # "auto"
        assert native_conv(ArrayConfig(**{**AMPLE, "dataflow": df}, conv_native=False), conv) is None
    with pytest.raises(InputError, match="conv_native on the is dataflow needs fold_overlap = true"):
        ArrayConfig(conv_native=True, fold_overlap=False, **{**AMPLE, "dataflow": Dataflow.IS})
    with pytest.raises(InputError, match="conv_native must be true, false or \"auto\", not 'yes'"):
        ArrayConfig(conv_native="yes", **AMPLE)


#: OS and IS: A's lanes along the output pixels
BY_PIXEL = pytest.mark.parametrize("dataflow", [Dataflow.OS, Dataflow.IS], ids=str)


@BY_PIXEL
def test_os_and_is_read_convs_of_any_width_natively_and_partial_phase_sets_as_im2col(dataflow):
    """OS and IS read a conv natively from its phase planes (stride 1: NCHW) whether it is as wide as its
    planes (OW = W' = ceil(W / sw): 'same', or 1x1, at any stride) or not ('valid' widths, OW < W', and
    1x1 with padding, OW > W': the band's plane rows at a row pitch, :func:`pixel_row_pitch`), when a band
    reads every phase of a channel or one. Grouped layers too, a block of groups as the dense convolution
    of its channel slice. Filters that read some phases but not all (1x3 at stride 2) keep their im2col
    matrix, with conv_native = true too (the plan says so: ``native`` None)."""
    cfg = ArrayConfig(conv_native=True, **{**AMPLE, "dataflow": dataflow})
    for conv in (
        ConvShape(6, 5, 3, 3, 4, 3, pad_h=1, pad_w=1),
        ConvShape(6, 5, 1, 1, 4, 3),
        ConvShape(6, 5, 3, 1, 4, 3),  # 'valid' height: rows are whole
        ConvShape(6, 5, 3, 3, 4, 3, stride_h=2, stride_w=2, pad_h=1, pad_w=1),  # OW = 3 = ceil(5 / 2)
        ConvShape(6, 5, 1, 1, 4, 3, stride_h=2),
        ConvShape(6, 5, 1, 1, 4, 3, stride_h=2, stride_w=2),
        ConvShape(9, 8, 7, 7, 3, 3, stride_h=2, stride_w=2, pad_h=3, pad_w=3),
        ConvShape(6, 5, 3, 3, 4, 3),  # 'valid' width: OW = W - 2
        ConvShape(6, 5, 3, 3, 4, 3, stride_h=2, stride_w=2),  # 'valid' width: OW = 2, W' = 3
        ConvShape(6, 5, 1, 1, 4, 3, pad_h=1, pad_w=1),  # OW = 7 > W' = 5
    ):
        assert native_conv(cfg, conv) == conv
        assert _run(cfg, conv).plan.native == (conv,)
    grouped = ConvShape(6, 5, 3, 3, 4, 4, pad_h=1, pad_w=1, groups=2)
    assert native_conv(cfg, grouped, 2) == grouped.block(2) == ConvShape(6, 5, 3, 3, 4, 4, pad_h=1, pad_w=1)
    assert native_conv(cfg, grouped) == ConvShape(6, 5, 3, 3, 2, 2, pad_h=1, pad_w=1)  # a GEMM per group
    assert native_conv(cfg.replace(conv_native=False), grouped, 2) is None
    depthwise = ConvShape(7, 7, 3, 3, 4, 4, stride_h=2, stride_w=2, pad_h=1, pad_w=1, groups=4)
    assert native_conv(cfg, depthwise, 4) == depthwise.block(4)  # strided blocks: phase planes of C' channels
    valid_grouped = ConvShape(6, 5, 3, 3, 4, 4, groups=2)
    assert native_conv(cfg, valid_grouped, 2) == valid_grouped.block(2)
    for other in (
        ConvShape(6, 5, 1, 3, 4, 3, stride_h=2, stride_w=2, pad_w=1),  # phases (0, 0) and (0, 1) of 4
        ConvShape(6, 5, 1, 3, 4, 3, stride_h=2, stride_w=2),  # 'valid', phases (0, 0) and (0, 1) of 4
    ):
        assert native_conv(cfg, other) is None
        assert _run(cfg, other).plan.native == (None,)


valid_convs = st.builds(
    lambda h, w, r, s, sh, sw, ph, pw, c: ConvShape(
        max(h, r), max(w, s), r, s, c, 2, stride_h=sh, stride_w=sw, pad_h=min(ph, r - 1), pad_w=pw
    ),
    *(st.integers(1, 9), st.integers(1, 12), st.sampled_from([1, 3]), st.sampled_from([1, 2, 3, 5])),
    *(st.integers(1, 2), st.integers(1, 3), st.integers(0, 2), st.integers(0, 2), st.integers(1, 3)),
).filter(lambda conv: phase_layout(conv).read in (1, conv.stride_h * conv.stride_w))


@given(valid_convs, st.sampled_from([1, 3, 4, 8]), st.data())
@settings(max_examples=80, deadline=None)
def test_a_pixel_vector_reads_its_pixels_from_distinct_lanes_of_the_pitched_band(conv, lanes, data):
    """OS and IS, any output width: the band's plane row y at run words y L .. y L + W' - 1 (L =
    :func:`pixel_row_pitch`); a vector of P consecutive output pixels from any pixel of a band's tile at
    any tap (dy, dx) reads run words ``V + i + k_i (L - OW)`` (k_i the output rows past its first: what the
    window's lane chain computes), P distinct lanes mod P however many output rows it spans; every pixel
    inside the tensor is the band's word of its plane row and column, inside the band's lines
    (:func:`pixel_band_lines`), which brute force over the band's words gives too."""
    lay, pitch = phase_layout(conv), pixel_row_pitch(conv, lanes)
    oh_n, ow_n = conv.ofmap_h, conv.ofmap_w
    j = data.draw(st.sampled_from([d for d in range(1, oh_n + 1) if oh_n % d == 0]))
    p = np.arange(oh_n * ow_n)  # [start] the vector's first pixel
    oh0 = (p // ow_n) // j * j  # [start] its tile's first output row
    lo, rows = plane_rows(conv, oh0, j)
    pix = p[:, None] + np.arange(lanes)  # [start, lane]
    oh, ow = np.divmod(pix, ow_n)
    for r in range(conv.filter_h):
        for s in range(conv.filter_w):
            dy, dx = (r - conv.pad_h) // conv.stride_h, (s - conv.pad_w) // conv.stride_w
            py, px = (r - conv.pad_h) % conv.stride_h, (s - conv.pad_w) % conv.stride_w
            word = (oh - lo[:, None] + dy) * pitch + ow + dx  # [start, lane]
            k = oh - oh[:, :1]
            np.testing.assert_array_equal(word, word[:, :1] + np.arange(lanes) + k * (pitch - ow_n))
            assert (np.sort(word % lanes, axis=1) == np.sort(np.arange(lanes) % lanes)).all()
            h, w = oh * conv.stride_h - conv.pad_h + r, ow * conv.stride_w - conv.pad_w + s
            inside = (h >= 0) & (h < conv.ifmap_h) & (w >= 0) & (w < conv.ifmap_w) & (oh < oh0[:, None] + j)
            y, x = h // conv.stride_h - lo[:, None], w // conv.stride_w
            assert (h % conv.stride_h == py)[inside].all() and (w % conv.stride_w == px)[inside].all()
            assert ((y >= 0) & (y < rows[:, None]) & (x < lay.plane_w))[inside].all()
            np.testing.assert_array_equal(word[inside], (y * pitch + x)[inside])
    for n in range(1, lay.plane_h + 1):  # every band height: the lines its words take, brute force
        used = (np.arange(n)[:, None] * pitch + np.arange(lay.plane_w)).max() // lanes + 1
        assert int(pixel_band_lines(conv, lanes, n)) == conv.channels * lay.read * used


@BY_PIXEL
def test_os_and_is_a_3x3_valid_conv_reads_its_tensor_plus_halo_and_auto_takes_the_band(dataflow):
    """The issue's goal on OS and IS: a 56x56x64 3x3 'valid' conv on tpu-v1-128 reads its ifmap in bands of
    plane rows at the row pitch 182 (56 + 126, :func:`pixel_row_pitch`): 207,872 words, 1.036x the
    200,704-word tensor (each band its rows, the halo of 2 rows re-read), against 1,679,616 (8.37x) from its
    im2col matrix; ``auto`` takes the band, in 22,668 cycles against 63,829 on OS, 23,979 against 75,050
    on IS (model; the RTL is exact on the cosim's valid-width cases)."""
    from systolic.config import load_arch

    conv = ConvShape(56, 56, 3, 3, 64, 64)
    cfg = load_arch("tpu-v1-128").replace(dataflow=dataflow)
    res, old = _run(cfg, conv), _run(cfg.replace(conv_native=False), conv)
    assert res.plan.native == (conv,) and old.plan.native == (None,)
    j = int(res.plan.tm[0]) // conv.ofmap_w
    _, rows = plane_rows(conv, np.arange(0, conv.ofmap_h, j), j)
    assert int(res.dram_reads["ifmap"][0]) == 56 * 64 * int(rows.sum()) == 207_872 <= 1.2 * 56 * 56 * 64
    assert int(old.dram_reads["ifmap"][0]) == 54 * 54 * 9 * 64
    want = {Dataflow.OS: (22_668, 63_829), Dataflow.IS: (23_979, 75_050)}[dataflow]
    assert (int(res.cycles[0]), int(old.cycles[0])) == want


@BY_PIXEL
def test_os_and_is_the_dram_trace_of_a_pitched_band_is_its_plane_rows_in_order(dataflow):
    """A 'valid' band (OW = 3, W' = 5, L = 7 on 4 lanes) is fetched a plane row at a time (each row's own
    DRAM run: the fill walk writes it from run word y L), channel after channel: its words are the
    tensor's rows lo .. hi of every channel, and the tiles' fill beats are the trace's."""
    conv = ConvShape(6, 5, 3, 3, 2, 3)
    cfg = ArrayConfig(conv_native=True, **{**AMPLE, "dataflow": dataflow, "ifmap_sram_bytes": 2 * 2 * 7 * 4})
    res = _run(cfg, conv)
    assert pixel_row_pitch(conv, 4) == 7 and res.plan.native == (conv,)
    j = int(res.plan.tm[0]) // conv.ofmap_w
    assert j < conv.ofmap_h  # several bands
    fill = band_runs(conv, 4, np.arange(0, conv.ofmap_h, j) * conv.ofmap_w, j * conv.ofmap_w)
    assert (fill["pitch"] == 7).all() and (fill["run"] == 5).all()
    layer = Layer.from_conv("c", conv)
    traces = collect(layer_traces(cfg, res.schedule, 0, layer.m, layer.n, layer.k), trace_widths(cfg))
    addr = traces["IFMAP_DRAM_TRACE"][:, 1:]
    lo, rows = plane_rows(conv, np.arange(0, conv.ofmap_h, j), j)
    plane = np.arange(6 * 5).reshape(6, 5)
    want = [c * 30 + plane[a : a + n].ravel() for a, n in zip(lo, rows, strict=True) for c in range(2)]
    np.testing.assert_array_equal(addr[addr >= 0], cfg.ifmap_offset + np.concatenate(want))
    assert int(res.dram_reads["ifmap"][0]) == 5 * 2 * int(rows.sum())


pixel_convs = st.builds(
    lambda h, w, r, s, c, b, sh, sw: ConvShape(
        h, w, r, s, c, 2, stride_h=sh, stride_w=sw, pad_h=r // 2, pad_w=s // 2, batch=b
    ),
    st.integers(1, 7),
    st.integers(1, 7),
    st.sampled_from([1, 3]),
    st.sampled_from([1, 3, 5]),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(1, 3),
    st.integers(1, 3),
)


@given(pixel_convs)
@settings(max_examples=40, deadline=None)
def test_the_pixel_window_reads_the_words_of_the_im2col_matrix(conv):
    """OS: a tensor of distinct nonzero words stored in phase planes (stride 1: NCHW); the P pixels of a
    vector at one tap read the words its im2col matrix holds (none where the window makes a padding
    zero), and the phase layout puts every element at a word of its own."""
    offset, lanes = 100, 4
    shape = (conv.batch, conv.ifmap_h, conv.ifmap_w, conv.channels)
    nhwc = np.arange(1, np.prod(shape) + 1).reshape(shape)
    b, h, w, c = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    image = np.zeros(pixel_words(conv), dtype=np.int64)
    image[pixel_address(conv, b, c, h, w)] = nhwc
    assert np.count_nonzero(image) == nhwc.size
    zeros = np.zeros((conv.filter_h, conv.filter_w, conv.channels, conv.filters), dtype=np.int64)
    a, _ = im2col(nhwc, zeros, conv)
    m0, k = (x.ravel() for x in np.meshgrid(np.arange(0, a.shape[0], lanes), np.arange(a.shape[1])))
    rows = np.minimum(lanes, a.shape[0] - m0)
    got = window_addresses(conv, offset, m0, k, rows, lanes, by_pixel=True)
    padded = np.pad(a, ((0, -a.shape[0] % lanes), (0, 0)))  # [m, k]
    want = padded.reshape(-1, lanes, a.shape[1]).transpose(2, 0, 1).reshape(-1, lanes)
    np.testing.assert_array_equal(got < 0, want == 0)
    np.testing.assert_array_equal(image[np.maximum(got - offset, 0)] * (got >= 0), want)


@pytest.mark.parametrize(
    "dataflow, want", [(Dataflow.OS, (2627, 2931)), (Dataflow.IS, (2007, 2311))], ids=str
)
def test_os_and_is_a_3x3_same_conv_whose_image_fits_reads_its_ifmap_once_pinned_against_the_rtl(
    dataflow, want
):
    """8x8x8 3x3 'same' on a 4x4 OS or IS array: the 512-word tensor once (im2col: 4,608 words); the
    array's side is the im2col layer's (same SRAM reads). Cycles measured on the RTL (amaranth.sim,
    ``run_layers``; native re-measured on Icarus, ``systolic cosim --conv``, since the planner times its
    k-tile sizes): OS 2,627 native against 2,931 from the im2col matrix, IS 2,007 against 2,311 (one k-tile
    of all 72 taps: 2,723 and 2,077)."""
    conv = ConvShape(8, 8, 3, 3, 8, 6, pad_h=1, pad_w=1)
    cfg = ArrayConfig(conv_native=True, **{**AMPLE, "dataflow": dataflow})
    res, old = _run(cfg, conv), _run(cfg.replace(conv_native=False), conv)
    assert res.plan.native == (conv,)
    assert int(res.dram_reads["ifmap"][0]) == 8 * 8 * 8
    assert int(res.dram_reads["filter"][0]) == 3 * 3 * 8 * 6
    assert int(old.dram_reads["ifmap"][0]) == 64 * 72
    assert int(res.sram_reads["ifmap"][0]) == int(old.sram_reads["ifmap"][0])
    assert (int(res.cycles[0]), int(old.cycles[0])) == want


@pytest.mark.parametrize("dataflow, want", [(Dataflow.OS, 971), (Dataflow.IS, 972)], ids=str)
def test_os_and_is_bands_are_c_runs_and_reread_only_their_halo(dataflow, want):
    """Closed form: on OS and IS a band of j output rows of a 3x3 'same' conv is C runs of rows x W words
    (an SRAM line per P words of each run); 8 lines a run fit a half of 32 lines, so j = 6 and the 24
    rows are read as 7 + 8 + 8 + 7 = 24 + 2 (24 / 6 - 1) rows of 4 x 4 words (1.25x the tensor; measured
    on the RTL: OS 971 cycles, IS 972). The DRAM trace is each band's C runs, channel after channel."""
    conv = ConvShape(24, 4, 3, 3, 4, 4, pad_h=1, pad_w=1)
    fields = {**AMPLE, "dataflow": dataflow, "ifmap_sram_bytes": 2 * 4 * 4 * 8}
    cfg = ArrayConfig(conv_native=True, **fields)
    res = _run(cfg, conv)
    assert res.plan.tm[0] == 6 * 4 and res.plan.native == (conv,)
    assert int(res.dram_reads["ifmap"][0]) == (24 + 2 * (24 // 6 - 1)) * 4 * 4 == 480
    assert int(res.cycles[0]) == want
    layer = Layer.from_conv("c", conv)
    traces = collect(layer_traces(cfg, res.schedule, 0, layer.m, layer.n, layer.k), trace_widths(cfg))
    addr = traces["IFMAP_DRAM_TRACE"][:, 1:]
    addr = addr[addr >= 0]
    plane = np.arange(24 * 4).reshape(24, 4)
    bands = [(0, 7), (5, 13), (11, 19), (17, 24)]  # input rows [lo, hi) of the 4 bands
    want = [c * 96 + plane[lo:hi].ravel() for lo, hi in bands for c in range(4)]
    np.testing.assert_array_equal(addr, np.concatenate(want))


@pytest.mark.parametrize(
    "dataflow, want",
    [(Dataflow.OS, (4, (249, 210), (486, 378))), (Dataflow.IS, (7, (541,), (1081,)))],
    ids=str,
)
def test_os_and_is_a_depthwise_layer_reads_each_blocks_planes_once_pinned_against_the_rtl(dataflow, want):
    """Closed form: make cosim's 'depthwise 3x3 C = g = 7' (5x5 'same') on the ample conv memory runs in
    blocks of b channels (OS: 4 and a tail of 3; IS: all 7 in one, now that its band's k-tiles are timed);
    each block is the dense convolution of its C' consecutive NCHW planes and reads them once (b x 25
    words: the 175-word tensor), against 9 words per output pixel and channel from im2col; B is
    block-diagonal (b^2 R S words). Cycles per block, native (as measured on the RTL: the cosim
    matrix's os- and is-mem-conv-ample groups, Icarus) and from im2col (OS: measured too; IS: the
    model's, im2col's own lowering takes other blocks)."""
    from systolic.cosim.matrix import CONV_MEMORIES

    conv = ConvShape(5, 5, 3, 3, 7, 7, pad_h=1, pad_w=1, groups=7)
    cfg = ArrayConfig(dataflow=dataflow, conv_native=True, **CONV_MEMORIES["mem-conv-ample"])
    b = group_block(cfg, conv)
    assert b == want[0]
    layers = Layer.conv_blocks("dw", conv, b)
    sizes = [b, 7 - b][: len(layers)]
    gemm = GemmArrays.of(
        [ly.m for ly in layers], [ly.n for ly in layers], [ly.k for ly in layers], [1] * len(layers),
        [conv] * len(layers), sizes,
    )  # fmt: skip
    res, old = memory_cycles(cfg, gemm), memory_cycles(cfg.replace(conv_native=False), gemm)
    assert res.plan.native == tuple(conv.block(c) for c in sizes) and old.plan.native == (None,) * len(sizes)
    assert res.dram_reads["ifmap"].tolist() == [c * 25 for c in sizes]
    assert res.dram_reads["filter"].tolist() == [c * c * 9 for c in sizes]
    assert old.dram_reads["ifmap"].tolist() == [25 * 9 * c for c in sizes]
    assert (tuple(res.cycles.tolist()), tuple(old.cycles.tolist())) == want[1:]
    # each GEMM's DRAM trace: its planes in order, from A's offset (the GEMM's slice of the NCHW tensor)
    traces = collect(
        layer_traces(cfg, res.schedule, 0, layers[0].m, layers[0].n, layers[0].k), trace_widths(cfg)
    )
    addr = traces["IFMAP_DRAM_TRACE"][:, 1:]
    np.testing.assert_array_equal(addr[addr >= 0], cfg.ifmap_offset + np.arange(25 * b))


def test_pinned_against_the_rtl():
    """make cosim's 'padded 3x3 conv' on ws-mem-conv-ample, measured on Icarus: 847 cycles reading the
    480-word ifmap once, against 1,697 cycles and 4,320 words from its im2col matrix. (1,033 cycles before
    the planner timed its k-tile candidates: it took the one k-tile of all 144 taps.)"""
    from systolic.cosim.matrix import CONV_MEMORIES

    cfg = ArrayConfig(dataflow=Dataflow.WS, **CONV_MEMORIES["mem-conv-ample"])
    conv = ConvShape(6, 5, 3, 3, 16, 5, pad_h=1, pad_w=1)
    native, im2col_ = _run(cfg, conv), _run(cfg.replace(conv_native=False), conv)
    assert (int(native.cycles[0]), int(native.dram_reads["ifmap"][0])) == (847, 480)
    assert (int(im2col_.cycles[0]), int(im2col_.dram_reads["ifmap"][0])) == (1697, 30 * 144)


def test_bands_that_would_cost_cycles_are_refused_unless_the_layer_is_too_large_to_time(monkeypatch):
    """ResNet-50 on ws-32x32 with ample bandwidth: some layers' bands read fewer words but make shorter
    tiles (slower); they stay im2col. Above TIMED_PLAN_TILES the choice is on DRAM words alone."""
    from systolic import zoo
    from systolic.config import load_arch
    from systolic.model import memory

    cfg = load_arch("ws-32x32", {"dram_bw_words_per_cycle": 256})
    gemm = GemmArrays.from_workload(zoo.build("resnet50"))
    timed = memory.plan_tiles(cfg, gemm)
    monkeypatch.setattr(memory, "TIMED_PLAN_TILES", 0)
    untimed = memory.plan_tiles(cfg, gemm)
    count = [sum(c is not None for c in p.native) for p in (timed, untimed)]
    assert count[0] < count[1]
    monkeypatch.undo()
    assert memory_cycles(cfg, gemm).total_cycles == 4_183_204  # README; im2col: 4,205,831
    assert memory_cycles(cfg.replace(conv_native=False), gemm).total_cycles == 4_205_831


def test_three_channels_pinned_against_the_rtl_and_auto_taking_bands_where_they_are_faster():
    """make cosim's 'C = 3, 7x7 stride 2 pad 3' conv (9x8x3 image), measured on the RTL (Icarus, the
    cosim matrix's ws-mem-conv-* groups) with conv_native = true: on the ample memory 562 cycles reading
    the 216-word tensor once, against 1,479 cycles and 2,940 words from its im2col matrix; on the tight
    one (bands of a few output rows) 2,107 cycles and 648 words against 1,961 and 2,940. The planner
    times the k-tile sizes of least DRAM traffic: on the ample memory k-tiles of 16 taps (2 k-lines)
    across filter rows, where one k-tile of all 147 took 799 cycles (its filters' whole fill before the
    array starts) and 599 before that, with a k-tile per filter row; on the tight one 36 taps (128: 2,333).
    "auto" takes the bands when they are no slower in total and no slower with the first fill and last
    drain hidden: on the ample memory they are, on the tight one they are slower in total and im2col
    stays."""
    from systolic.cosim.matrix import CONV_MEMORIES

    want = {
        "mem-conv-ample": ((562, 216), (1479, 2940), 16),
        "mem-conv-tight": ((2107, 648), (1961, 2940), 36),
    }
    for name, (native_want, im2col_want, tk) in want.items():
        cfg = ArrayConfig(dataflow=Dataflow.WS, conv_native=True, **CONV_MEMORIES[name])
        conv = ConvShape(9, 8, 7, 7, 3, cfg.cols, stride_h=2, stride_w=2, pad_h=3, pad_w=3)  # F = cols
        native, im2col_ = _run(cfg, conv), _run(cfg.replace(conv_native=False), conv)
        assert native.plan.native == (conv,) and int(native.plan.tk[0]) == tk
        assert (int(native.cycles[0]), int(native.dram_reads["ifmap"][0])) == native_want
        assert (int(im2col_.cycles[0]), int(im2col_.dram_reads["ifmap"][0])) == im2col_want
        auto = _run(cfg.replace(conv_native="auto"), conv)
        assert int(auto.cycles[0]) == min(native_want[0], im2col_want[0])
        assert auto.plan.native == ((conv,) if name == "mem-conv-ample" else (None,))
    assert (
        want["mem-conv-ample"][0][0] <= 599
    )  # the ample case, before wsrows15 (issue 15, "a planner regression")


def test_k_lines_across_filter_rows_fold_a_7x7_stride_2_conv_as_densely_as_im2col():
    """A 13x12x3 image, 12 filters of 7x7 at stride 2 on mem-conv-ample (8 rows): K = 147 in k-lines across
    filter rows. One k-tile of all 147 taps folds as 19 k-lines (1,614 compute cycles; im2col 1,617), and
    "auto" takes it at 8 DRAM words per cycle (2,069 cycles against im2col's 2,359; the faster k-tiles of
    16 taps, 1,832 cycles, are slower than im2col with the first fill hidden: 1,639 compute cycles). At 4
    words per cycle the planner times k-tiles of 8 taps fastest, 1,999 cycles (one k-tile: 2,503; a k-tile
    of 64 taps, before wsrows15: 2,177), and "auto" takes them."""
    from systolic.cosim.matrix import CONV_MEMORIES

    conv = ConvShape(13, 12, 7, 7, 3, 12, stride_h=2, stride_w=2, pad_h=3, pad_w=3)
    want = {  # bw: {conv_native: (cycles, compute cycles, tk)}
        8: {True: (1832, 1639, 16), False: (2359, 1617, 147), "auto": (2069, 1614, 147)},
        4: {True: (1999, 1666, 8), False: (3073, 1617, 147), "auto": (1999, 1666, 8)},
    }
    for bw, by_option in want.items():
        cfg = ArrayConfig(
            dataflow=Dataflow.WS, **{**CONV_MEMORIES["mem-conv-ample"], "dram_bw_words_per_cycle": bw}
        )
        runs = {cn: _run(cfg.replace(conv_native=cn), conv) for cn in by_option}
        got = {cn: (int(r.cycles[0]), int(r.compute_cycles[0]), int(r.plan.tk[0])) for cn, r in runs.items()}
        assert got == by_option
        assert runs["auto"].plan.native == (conv,)
    assert want[4][True][0] <= 2177  # before wsrows15 (issue 15, "a planner regression")


def _phase_band_words(conv: ConvShape, j: int, read: int) -> int:
    """Brute force: each band of j output rows reads, for every channel and phase read, the phase-plane
    rows some tap of some of its output rows falls on (oh + floor((r - pad_h) / sh)), W' words each."""
    plane_h, plane_w = -(-conv.ifmap_h // conv.stride_h), -(-conv.ifmap_w // conv.stride_w)
    rows = 0
    for oh0 in range(0, conv.ofmap_h, j):
        dys = {(r - conv.pad_h) // conv.stride_h for r in range(conv.filter_h)}
        rows += len({oh + dy for oh in range(oh0, oh0 + j) for dy in dys} & set(range(plane_h)))
    return conv.batch * conv.channels * read * rows * plane_w


@BY_PIXEL
@pytest.mark.parametrize(
    "conv, sram, j, words",
    [
        # the 256-word tensor once
        (ConvShape(8, 8, 3, 3, 4, 4, stride_h=2, stride_w=2, pad_h=1, pad_w=1), 4096, 4, 256),
        # odd width: phases of 4x4, 4x3, 3x4, 3x3 pixels stored as 4x4 planes (196 words + 60 padding)
        (ConvShape(7, 7, 3, 3, 4, 4, stride_h=2, stride_w=2, pad_h=1, pad_w=1), 4096, 4, 256),
        # 1x1 stride 2 reads phase (0, 0): a quarter of the tensor
        (ConvShape(8, 8, 1, 1, 4, 4, stride_h=2, stride_w=2), 4096, 4, 64),
        # 7x7 stride 2 pad 3, C = 3, batch 2: the 9x8x3 tensors in 5x4 phase planes
        (ConvShape(9, 8, 7, 7, 3, 4, stride_h=2, stride_w=2, pad_h=3, pad_w=3, batch=2), 4096, 5, 480),
        # bands of 2 output rows over 16 input rows: plane rows 0-1, 1-3, 3-5, 5-7 (each re-reads 1 row)
        (ConvShape(16, 8, 3, 3, 4, 4, stride_h=2, stride_w=2, pad_h=1, pad_w=1), 2 * 48 * 4, 2, 704),
    ],
    ids=["3x3s2", "3x3s2-odd", "1x1s2", "7x7s2-c3-b2", "3x3s2-bands"],
)
def test_os_and_is_strided_bands_read_their_phase_planes(dataflow, conv, sram, j, words):
    """Closed form: on OS and IS a strided conv as wide as its phase planes reads, per band, the plane rows
    its output rows' taps fall on, for every channel and phase read (every phase, or phase (0, 0) of a 1x1
    stride 2), padding words of the smaller phases included; the DRAM trace is those rows' words, run
    after run, at the phase layout's addresses."""
    cfg = ArrayConfig(conv_native=True, **{**AMPLE, "dataflow": dataflow, "ifmap_sram_bytes": sram})
    res = _run(cfg, conv)
    assert res.plan.native == (conv,) and int(res.plan.tm[0]) == j * conv.ofmap_w
    read = 1 if conv.filter_h == 1 else 4
    assert int(res.dram_reads["ifmap"][0]) == _phase_band_words(conv, j, read) == words
    layer = Layer.from_conv("c", conv)
    traces = collect(layer_traces(cfg, res.schedule, 0, layer.m, layer.n, layer.k), trace_widths(cfg))
    addr = traces["IFMAP_DRAM_TRACE"][:, 1:]
    assert addr[addr >= 0].size == words and addr.max() < pixel_words(conv)
    # every tensor element a tap reads is fetched (the SRAM trace's addresses are among the DRAM trace's)
    sram = traces["IFMAP_SRAM_TRACE"][:, 1:]
    assert set(sram[sram >= 0].tolist()) <= set(addr[addr >= 0].tolist())


@pytest.mark.parametrize(
    "dataflow, want",
    [
        (Dataflow.OS, {"3x3": (131, 171), "7x7": (612, 1539)}),
        (Dataflow.IS, {"3x3": (135, 206), "7x7": (807, 1916)}),
    ],
    ids=str,
)
def test_os_and_is_strided_convs_pinned_against_the_rtl(dataflow, want):
    """make cosim's '3x3 stride 2, 8x8' (C = 2) and 'C = 3, 7x7 stride 2 pad 3' (9x8x3) convs on the ample
    conv memory, measured on Icarus and Verilator (cycles native, from the im2col matrix; native
    re-measured on Icarus since the planner times its k-tile sizes: OS 7x7 864 -> 612, IS 3x3 156 -> 135,
    7x7 971 -> 807); "auto" takes the phase-plane bands for both."""
    from systolic.cosim.matrix import CONV_MEMORIES

    cfg = ArrayConfig(dataflow=dataflow, conv_native=True, **CONV_MEMORIES["mem-conv-ample"])
    convs = {
        "3x3": ConvShape(8, 8, 3, 3, 2, 3, stride_h=2, stride_w=2, pad_h=1, pad_w=1),
        "7x7": ConvShape(9, 8, 7, 7, 3, cfg.cols, stride_h=2, stride_w=2, pad_h=3, pad_w=3),
    }
    for name, conv in convs.items():
        got = (int(_run(cfg, conv).cycles[0]), int(_run(cfg.replace(conv_native=False), conv).cycles[0]))
        assert got == want[name], name
        assert _run(cfg.replace(conv_native="auto"), conv).plan.native == (conv,)


# WS k-lines across filter rows from a pitched band (systolic.geometry.band_row_pitch)

pitched_convs = st.builds(
    lambda h, w, r, s, c, sh, sw, ph, pw, b: ConvShape(
        max(h, r),
        max(w, s),
        r,
        s,
        c,
        2,
        stride_h=sh,
        stride_w=sw,
        pad_h=min(ph, r - 1),
        pad_w=min(pw, s - 1),
        batch=b,
    ),
    *(st.integers(3, 8), st.integers(3, 8), st.integers(1, 5), st.integers(1, 5), st.integers(1, 6)),
    *(st.integers(1, 2), st.integers(1, 2), st.integers(0, 3), st.integers(0, 3), st.integers(1, 2)),
)


@given(pitched_convs, st.sampled_from([3, 4, 8]), st.data())
@settings(max_examples=80, deadline=None)
def test_a_k_line_across_filter_rows_reads_its_taps_from_distinct_lanes(conv, lanes, data):
    """Every vector of P taps from any k0 (across filter rows): its lanes are P distinct memory lanes, each
    inside tap's (line, lane) is the SRAM word of its pixel in the pitched band (input row h - lo at y L,
    column w at w C + c), inside the band's lines; the mask is the im2col matrix's padding."""
    pitch = band_row_pitch(conv.ifmap_w, conv.channels, conv.filter_w, lanes)
    taps_row, k = conv.filter_w * conv.channels, conv.filter_h * conv.filter_w * conv.channels
    j = data.draw(st.sampled_from([d for d in range(1, conv.ofmap_h + 1) if conv.ofmap_h % d == 0]))
    per_image = conv.ofmap_h * conv.ofmap_w
    m = np.arange(conv.batch * per_image)
    m, k0 = (
        x.ravel() for x in np.meshgrid(m, np.arange(k), indexing="ij")
    )  # every start, not only multiples
    oh = (m % per_image) // conv.ofmap_w
    lo, rows = band_rows(conv, oh - oh % j, j)
    line, mem_lane, inside = pitched_window(conv, lanes, lo, m, k0)
    assert (np.sort(mem_lane, axis=1) == np.arange(lanes)).all()
    kk = k0[:, None] + np.arange(lanes)
    r, rest = np.divmod(kk, taps_row)
    s, c = np.divmod(rest, conv.channels)
    h = (oh * conv.stride_h - conv.pad_h)[:, None] + r
    w = ((m % per_image) % conv.ofmap_w * conv.stride_w - conv.pad_w)[:, None] + s
    want_inside = (kk < k) & (h >= 0) & (h < conv.ifmap_h) & (w >= 0) & (w < conv.ifmap_w)
    np.testing.assert_array_equal(inside, want_inside)
    word = (h - lo[:, None]) * pitch + w * conv.channels + c
    np.testing.assert_array_equal((line * lanes + mem_lane)[inside], word[inside])
    assert (line[inside] >= 0).all()
    assert (line < pitched_band_lines(conv, lanes, rows)[:, None])[inside].all()


@given(pitched_convs, st.sampled_from([3, 4, 8]), st.integers(1, 9), st.integers(0, 9))
@settings(max_examples=80, deadline=None)
def test_pitched_band_lines_and_fill_beats_against_a_walk_of_the_rows(conv, lanes, bw, rows):
    pitch = band_row_pitch(conv.ifmap_w, conv.channels, conv.filter_w, lanes)
    w_c = conv.ifmap_w * conv.channels
    words = [y * pitch + x for y in range(rows) for x in range(w_c)]  # SRAM words written
    assert int(pitched_band_lines(conv, lanes, rows)) == (max(words) // lanes + 1 if words else 0)
    beats = 0
    for y in range(rows):  # beats of at most bw words, none crossing an SRAM line
        x = 0
        while x < w_c:
            a = y * pitch + x
            x += min(bw, w_c - x, lanes - a % lanes)
            beats += 1
    got = pitched_fill_beats(np.array([pitch]), np.array([w_c]), np.array([rows]), lanes, bw)
    assert got.tolist() == [beats]
    points = pitched_fill_beats(
        np.array([pitch]), np.array([w_c]), np.array([rows]), lanes, np.array([[bw], [1]])
    )
    assert points.shape == (2, 1) and int(points[0, 0]) == beats  # a [point, 1] column of bandwidths


def test_resnet50_conv1_on_128_rows_folds_k_densely_from_a_pitched_band():
    """conv1 (224x224x3, 7x7 stride 2 pad 3) on P = 128 lanes: pitch 672 + 117 = 789 words (6 lines more than
    a filter row's 21 taps per input row), K = 147 in 2 k-lines of 128 and 19 taps (not 7 of 21); the
    whole image's band takes 1,380 lines (against 1,176 packed: 150,528 / 128) and its 150,528 words."""
    conv = ConvShape(224, 224, 7, 7, 3, 64, stride_h=2, stride_w=2, pad_h=3, pad_w=3)
    assert band_row_pitch(224, 3, 7, 128) == 789
    assert int(pitched_band_lines(conv, 128, 224)) == -(-(223 * 789 + 672) // 128) == 1380
    m = np.array([conv.ofmap_w * 40 + 50])  # an output pixel away from the padding
    line, mem_lane, inside = pitched_window(conv, 128, np.array([0]), m, np.array([0]))
    assert inside.all()  # taps 0..127: filter rows 0..6, all inside the image
    assert (np.sort(mem_lane[0]) == np.arange(128)).all()
    assert np.unique(line[0]).size > 2  # more than the two lines of one rotated read


# The planner times its band candidates (k-tile sizes of the least DRAM traffic)


@given(
    convs,
    st.sampled_from([Dataflow.WS, Dataflow.OS, Dataflow.IS]),
    st.sampled_from([1, 2, 4, 16]),
    st.sampled_from([1, 3, 20]),
    st.sampled_from([(4096, 4096), (384, 1024), (2048, 512)]),
)
@settings(max_examples=100, deadline=None)
def test_the_chosen_band_plan_is_never_slower_than_a_candidate_it_considered(conv, dataflow, bw, lat, sram):
    """conv_native = true: plan_band offers at most TIMED_BAND_TKS k-tile sizes, all of its least DRAM
    traffic, the untimed choice first; the plan taken is one of them and, run through the whole memory
    model (memory_cycles, not the planner's own timing), takes no more cycles than any of them. Under
    "auto" a band taken is no slower than im2col."""
    from systolic.model.band import TIMED_BAND_TKS, plan_band
    from systolic.model.memory import TilePlan, _candidates, _granules, geometry, plan_tiles

    fields = {**AMPLE, "dataflow": dataflow, "dram_bw_words_per_cycle": bw, "dram_latency_cycles": lat}
    cfg = ArrayConfig(
        conv_native=True, **{**fields, "ifmap_sram_bytes": sram[0], "filter_sram_bytes": sram[1]}
    )
    layer = Layer.from_conv("c", conv)
    native = native_conv(cfg, conv, 1)
    try:
        gemm = GemmArrays.of(layer.m, layer.n, layer.k, conv=[conv])
        chosen = plan_tiles(cfg, gemm)
    except InputError:
        return  # buffers too small for one fold
    if native is None or chosen.native[0] is None:
        return
    bands = plan_band(cfg, geometry(cfg), native, layer.n, layer.k, _candidates(layer.n, _granules(cfg)["n"]))
    assert 1 <= len(bands) <= TIMED_BAND_TKS
    event(f"{len(bands)} band candidates")
    assert len({words for _, words in bands}) == 1 and len({sizes[2] for sizes, _ in bands}) == len(bands)

    def cycles(sizes) -> int:
        tm, tn, tk = (np.array([x]) for x in sizes)
        plan = TilePlan(tm, tn, tk, -(-gemm.m // tm), -(-gemm.n // tn), -(-gemm.k // tk), (native,))
        return int(memory_cycles(cfg, gemm, plan=plan).cycles[0])

    taken = (int(chosen.tm[0]), int(chosen.tn[0]), int(chosen.tk[0]))
    assert taken in [sizes for sizes, _ in bands]
    assert cycles(taken) == int(memory_cycles(cfg, gemm).cycles[0]) == min(cycles(s) for s, _ in bands)
    auto = memory_cycles(cfg.replace(conv_native="auto"), gemm)
    if auto.plan.native[0] is not None:
        im2col = memory_cycles(cfg.replace(conv_native=False), gemm)
        assert int(auto.cycles[0]) <= int(im2col.cycles[0])
