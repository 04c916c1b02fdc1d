"""model/energy/streams.py: every statistic against a brute-force walk of the streams the RTL's components
see (pure Python over PEs, folds and cycles), the statistics-free default against sampled uniform data, and
the one-line errors for bad operands."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.model import energy as en
from systolic.model.energy.streams import COLUMN


def _pattern(v: int, bits: int) -> int:
    return int(v) & ((1 << bits) - 1)


def _switch(seqs: list[list[int]], bits: int) -> float:
    flips = sum(
        bin(_pattern(x, bits) ^ _pattern(y, bits)).count("1")
        for s in seqs
        for x, y in zip(s[1:], s[:-1], strict=True)
    )
    pairs = sum(max(len(s) - 1, 0) for s in seqs)
    return flips / (bits * pairs) if pairs else 0.0


def _ones(values: list[int], bits: int) -> float:
    return sum(bin(_pattern(v, bits)).count("1") for v in values) / (bits * len(values)) if values else 0.0


def _brute(cfg: ArrayConfig, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """The statistics by walking each register's sequence of values (small layers: no sampling)."""
    acc, r = cfg.acc_bits, cfg.rows
    df = cfg.dataflow.value
    out = {}
    if df == "os":
        m_len, k_len = a.shape
        n_len = b.shape[1]
        prods = [
            [int(a[m, k]) * int(b[k, n]) for k in range(k_len)] for m in range(m_len) for n in range(n_len)
        ]
        psums = [list(np.cumsum(p)) for p in prods]
        out["prod_s"] = _switch(prods, 16)
        out["psum_s"] = _switch(psums, acc)
        c = a @ b
        out["out_s"] = _switch([list(c[:, n]) for n in range(n_len)], acc)
        out["w_s"] = _switch([list(a[m]) for m in range(m_len)], cfg.input_bits)
        out["n_s"] = _switch([list(b[:, n]) for n in range(n_len)], cfg.weight_bits)
    else:
        xw, s = (a, b) if df == "ws" else (b.T, a.T)
        t_len, k_len = xw.shape
        psums, outs, written = [], [], []
        for c in range(s.shape[1]):
            running = np.zeros(t_len, dtype=np.int64)
            for f0 in range(0, k_len, r):
                part = np.zeros(t_len, dtype=np.int64)
                for k in range(f0, min(f0 + r, k_len)):
                    part = part + xw[:, k] * s[k, c]
                    psums.append(list(part))  # psum_out of the PE in row k - f0
                outs.append(list(part))  # what leaves the column
                running = running + part
                written.append(list(running))  # the ofmap SRAM's partial sum after this fold
        out["psum_s"] = _switch(psums, acc)
        out["out_s"] = _switch(outs, acc)
        out["csram_s"] = _switch(written, acc)
        out["prod_s"] = _switch(
            [list(xw[:, k] * s[k, c]) for k in range(k_len) for c in range(s.shape[1])], 16
        )
        out["w_s"] = _switch([list(xw[:, k]) for k in range(k_len)], 8)
        out["n_s"] = _switch([list(s[:, c]) for c in range(s.shape[1])], 8)
    out["c_o"] = _ones([int(v) for v in (a @ b).ravel()], acc)
    out["p_nz"] = float(np.mean((a[:, :, None] != 0) & (b[None, :, :] != 0)))
    return out


@settings(max_examples=25, deadline=None)
@given(
    dataflow=st.sampled_from(["os", "ws", "is"]),
    rows=st.integers(1, 5),
    m=st.integers(2, 12),  # C's statistics follow 16 of its lines: all of them here
    n=st.integers(2, 9),
    k=st.integers(1, 13),
    zeros=st.floats(0, 0.8),
    seed=st.integers(0, 2**32 - 1),
)
def test_stream_statistics_match_a_walk_of_every_register(dataflow, rows, m, n, k, zeros, seed):
    cfg = ArrayConfig(rows=rows, cols=4, dataflow=dataflow, acc_bits=24)
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, size=(m, k))
    b = rng.integers(-128, 128, size=(k, n))
    a[rng.random(a.shape) < zeros] = 0
    got = en.layer_stats(cfg, a, b)
    for name, value in _brute(cfg, a, b).items():
        assert got[COLUMN[name]] == pytest.approx(value, abs=1e-12), name


def test_each_operands_ones_at_the_other_ones_width():
    """The read bus carries both operands as two's-complement words of the wider width: with 2-bit
    ternary weights A's low 2 bits and B sign-extended to 8 (the DRAM class's bursts rise and fall by
    them)."""
    cfg = ArrayConfig(dataflow="ws", weight_bits=2, weight_format="ternary", dram_bw_words_per_cycle=3)
    rng = np.random.default_rng(4)
    a = rng.integers(-128, 128, size=(6, 10))
    b = rng.integers(-1, 2, size=(10, 4))
    got = en.layer_stats(cfg, a, b)
    flat_a, flat_b = a.ravel(), b.ravel()  # WS: both lie row-major in DRAM
    assert got[COLUMN["ab_o"]] == pytest.approx(_ones(list(flat_a), 2))
    assert got[COLUMN["ba_o"]] == pytest.approx(_ones(list(flat_b), 8))
    assert (
        8 * got[COLUMN["ba_o"]] > 2 * got[COLUMN["b_o"]]
    )  # -1: eight ones on the ifmap port, two on its own


def test_random_pair_switching_counts_zeros():
    """n_r: mean flips between two values of the stationary operand drawn at random, zeros included (a
    banked PE's two weights); n_x: the same between non-zero values only."""
    cfg = ArrayConfig(dataflow="ws", weight_bits=2, weight_format="ternary")
    b = np.array([[0, 0, 1, 1], [0, 0, 1, 1]] * 3)  # codes 00 and 01, half each
    a = np.ones((5, 6), dtype=np.int64)
    got = en.layer_stats(cfg, a, b)
    values = [int(v) for v in b.ravel()]
    pairs = [(x, y) for x in values for y in values]
    expected = sum(bin(_pattern(x, 2) ^ _pattern(y, 2)).count("1") for x, y in pairs) / (2 * len(pairs))
    assert got[COLUMN["n_r"]] == pytest.approx(expected)  # 0.25: bit 0 differs in half the pairs
    assert got[COLUMN["n_x"]] == 0.0  # every non-zero weight is 01


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize(("bits", "zeros"), [(8, 0.0), (4, 0.5), (16, 0.0)])
def test_default_statistics_are_those_of_uniform_random_operands(dataflow, bits, zeros):
    cfg = ArrayConfig(rows=8, cols=8, dataflow=dataflow, input_bits=bits, weight_bits=bits, acc_bits=48,
                      word_bytes=2, dram_bw_words_per_cycle=1)  # fmt: skip
    rng = np.random.default_rng(bits)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    a = rng.integers(lo, hi, size=(400, 64), endpoint=True)
    b = rng.integers(lo, hi, size=(64, 48), endpoint=True)
    a[a == 0], b[b == 0] = 1, 1
    a[rng.random(a.shape) < zeros] = 0
    b[rng.random(b.shape) < zeros] = 0
    sampled = en.layer_stats(cfg, a, b)
    default = en.default_stats(cfg, 64, zeros)[0]
    rates = np.arange(len(en.STAT_COLUMNS)) != COLUMN["array_s"]
    np.testing.assert_allclose(default[rates], sampled[rates], atol=0.03)
    # array_s sums six nets' flips per slot (up to ~3) and follows the layer's tile walk, which the
    # default's synthetic layer shares only in kind (a_rd_data hides the drain reads that come after the
    # next tile's first output, a share set by the tiles' timing: OS here 8.2% apart): within 10%
    assert default[COLUMN["array_s"]] == pytest.approx(sampled[COLUMN["array_s"]], rel=0.10)
    assert np.array_equal(default, en.default_stats(cfg, [64], zeros)[0])  # deterministic, memoised


def test_bad_operands_are_one_line_errors():
    cfg = ArrayConfig(input_bits=4, weight_bits=4, acc_bits=16)
    ok = np.zeros((3, 2), dtype=np.int64)
    with pytest.raises(InputError, match=r"A values must fit 4-bit signed \(-8..7\), got -9..0"):
        en.layer_stats(cfg, np.array([[-9, 0]]), ok[:2])
    with pytest.raises(InputError, match="B values must be integers, not float64"):
        en.layer_stats(cfg, ok, np.zeros((2, 2)))
    with pytest.raises(
        InputError, match=r"A must be M x K and B K x N with K equal, not \(3, 2\) and \(3, 2\)"
    ):
        en.layer_stats(cfg, ok, ok)
    with pytest.raises(InputError, match="zero fraction must be in 0..1"):
        en.default_stats(cfg, 9, 1.5)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_default_statistics_of_a_block_diagonal_b_follow_its_zeros(dataflow):
    """A grouped convolution in blocks (``group_blocks``): B is zero off its diagonal blocks, and the
    default statistics say so (those of real block-diagonal operands, not of a dense B)."""
    from systolic.model.functional import block_operands

    cfg = ArrayConfig(rows=8, cols=8, dataflow=dataflow, dram_bw_words_per_cycle=1)
    rng = np.random.default_rng(4)
    a_groups = rng.integers(-128, 127, size=(4, 400, 16), endpoint=True)
    b_groups = rng.integers(-128, 127, size=(4, 16, 12), endpoint=True)
    a_groups[a_groups == 0], b_groups[b_groups == 0] = 1, 1
    a, b = block_operands(a_groups, b_groups)  # [400, 64], [64, 48] with 3/4 of B zero
    sampled = en.layer_stats(cfg, a, b)
    blocked = en.default_stats(cfg, 64, 0.0, blocks=4, group_channels=16)[0]  # side by side: T = 1
    dense = en.default_stats(cfg, 64, 0.0)[0]
    weight_zeros = COLUMN["n_z" if dataflow != "is" else "w_z"]  # the weights' port (dataflow table)
    assert sampled[weight_zeros] == pytest.approx(0.75) and blocked[weight_zeros] == pytest.approx(0.75)
    assert sampled[COLUMN["p_nz"]] == pytest.approx(blocked[COLUMN["p_nz"]], abs=0.01)
    full = rng.integers(1, 127, size=b.shape, endpoint=True) * rng.choice([-1, 1], size=b.shape)
    moved = np.abs(sampled - en.layer_stats(cfg, a, full)) > 0.1  # the statistics B's zeros change
    # array_s (flips of six ofmap nets per slot, up to ~3) follows the layer's tile walk, which the
    # synthetic layer shares only in kind (test_default_statistics_are_those_of_uniform_random_operands)
    moved[COLUMN["array_s"]] = False
    assert moved.sum() >= 10
    assert np.all(np.abs(sampled - blocked)[moved] < np.abs(sampled - dense)[moved])
    # most within 0.03 of the real operands' (the DRAM read data's switching also depends on where the
    # zeros fall in the lines, which the synthetic layer's shape does not copy)
    assert np.mean(np.abs(sampled - blocked)[moved] < 0.03) > 0.8


def test_partial_sums_are_those_of_every_product():
    """The tile's partial sums (one product over the lines' span, gathered) against a sum per output."""
    from systolic.model.energy.streams import _partial_sums

    rng = np.random.default_rng(7)
    a, b = rng.integers(-128, 128, (40, 30)), rng.integers(-128, 128, (30, 20))
    m_idx = np.repeat(rng.integers(5, 40, 12)[:, None], 6, axis=1)  # [line, lane] a line shares its m
    n_idx = rng.integers(3, 20, 6)[None, :] + np.zeros((12, 1), dtype=int)
    k_start, k_end = rng.integers(0, 10, 12), rng.integers(10, 31, 12)
    want = np.array(
        [
            [a[m, ks:ke] @ b[ks:ke, n] for m, n in zip(mr, nr, strict=True)]
            for mr, nr, ks, ke in zip(m_idx, n_idx, k_start, k_end, strict=True)
        ]
    )
    assert np.array_equal(_partial_sums(a, b, m_idx, n_idx, k_end, k_start), want)
    assert np.array_equal(
        _partial_sums(a, b, m_idx, n_idx, k_end), _partial_sums(a, b, m_idx, n_idx, k_end, 0)
    )


def test_layer_statistics_memory_is_bounded_on_a_large_layer():
    """ResNet-50's first conv (3136 x 147 x 64) on tpu-v1-128 (WS) with zero gating: the output-side
    emulations compute each tile's products once instead of gathering K values per lane (a [line, lane, K]
    array of about 470 MB, and 2.8 s against 0.26 s on a loaded 2-core machine). Checked by the peak of
    NumPy's allocations (machine-independent), not by time."""
    import tracemalloc

    from systolic.config import load_arch

    cfg = load_arch("tpu-v1-128", {"zero_gating": True})
    rng = np.random.default_rng(0)
    a, b = rng.integers(-128, 128, (3136, 147)), rng.integers(-128, 128, (147, 64))
    tracemalloc.start()
    try:
        en.layer_stats(cfg, a, b)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200e6, f"layer_stats peaked at {peak / 1e6:.0f} MB"


def test_joined_and_passed_statistics_of_a_partial_fold():
    """WS on 2 rows, K = 3: folds k = 0..1 and k = 2 (one row used, the other passes its outputs down).
    prod_j: products a fold apart (k and k + 2) at the same time step; pass_f, pass_edge (the fold walk,
    model/energy/edges.py): the partial fold's outputs A[t, 2] B[2, 0] = 3, 6 along time; out_j:
    consecutive folds' outputs at the same time step."""
    cfg = ArrayConfig(rows=2, cols=2, dataflow="ws", input_bits=8, weight_bits=8, acc_bits=32)
    a = np.array([[1, 2, 3], [4, 5, 6]])
    b = np.array([[1], [1], [1]])
    got = en.layer_stats(cfg, a, b, tile_k=3)
    assert got[COLUMN["prod_j"]] == pytest.approx((1 + 1) / 2 / 16)  # 1 vs 3, 4 vs 6: one bit each
    assert got[COLUMN["pass_edge"]] == pytest.approx((2 + 2) / 2 / 32)  # 3 = 011, 6 = 110
    assert got[COLUMN["pass_f"]] == pytest.approx(2 / 32)  # 011 -> 110
    # outputs: fold 1 (1 + 2 = 3, 4 + 5 = 9) against fold 2 (3, 6): 0 and 3 bits (1001 vs 0110 -> 4)
    assert got[COLUMN["out_j"]] == pytest.approx((0 + 4) / 2 / 32)


@pytest.mark.parametrize(("taps", "cg"), [(9, 1), (9, 3), (1, 4)])
def test_default_block_diagonal_weights_sit_where_the_lowering_puts_them(taps, cg):
    """The statistics-free default's block-diagonal B holds its weights where `block_operands` (the
    lowering, the cosim and the RTL's K order: tap-major, each group's channels innermost) puts them:
    a depthwise block's weights change group on every K line, not once per group's K_g lines."""
    from systolic.model.energy.defaults import block_diagonal_mask
    from systolic.model.functional import block_operands

    blocks, ng = 4, 2
    a, b = block_operands(np.ones((blocks, 3, taps * cg)), np.ones((blocks, taps * cg, ng)), channels=cg)
    assert np.array_equal(block_diagonal_mask(*b.shape, blocks, cg), b != 0)


def test_a_rd_data_shows_only_the_south_ports_half():
    """``a_rd_data`` (tile_overlap) is the read port of the half of the tile on the south port: a drain
    read of the other half after the switch does not show on it, and the switch shows the selected half's
    last read."""
    from systolic.model.energy.streams import a_rd_events

    lines = np.array([[1], [3], [7], [15]], dtype=np.uint64)  # [read, lane] bit patterns
    rc = np.array([0.0, 1.0, 5.0, 6.0])
    rh = np.array([0, 1, 0, 0])  # half 1's read at 1, then half 0's drain reads at 5 and 6
    flips, _ = a_rd_events(rc, lines, rh, np.array([0.0, 3.0]), np.array([0, 1]))
    # one value per cycle with an event (0, 1, 3, 5, 6): 0 -> 1 (half 0's read), half 1's read unseen,
    # the switch at 3 to half 1 (holding 3: one flip), half 0's drain reads unseen; all reads in time
    # order would flip 1 + 1 + 2 + 1 = 5 bits
    assert flips.tolist() == [1, 0, 1, 0, 0]
    tagged, tag = a_rd_events(rc, lines, rh, np.array([0.0, 3.0]), np.array([0, 1]),
                              np.arange(4)[:, None], np.array([[10], [11]]))  # fmt: skip
    assert tagged.sum() == 2 and tag[:, 0].tolist() == [0, 1, 11, 2, 3]  # the switch carries its flip


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("stride,pad", [(1, 1), (2, 0), (1, 0)])
def test_a_native_layers_dram_image_is_its_ifmap_where_the_bands_read_it(dataflow, stride, pad):
    """A layer read natively fetches its ifmap (NHWC on WS, the phase planes on OS and IS), not the im2col
    matrix: the DRAM image holds each element at the address the geometry gives it; rebuilt from A it
    agrees on every element some window reads and is zero on the others (stride 2's last row and column)."""
    from systolic.cosim.conv import conv_tensors, im2col
    from systolic.geometry import pixel_address
    from systolic.model.band import native_dram_image
    from systolic.workload import ConvShape

    cfg = ArrayConfig(name="t", rows=4, cols=4, dataflow=dataflow)
    shape = ConvShape(8, 7, 3, 3, 5, 4, stride_h=stride, stride_w=stride, pad_h=pad, pad_w=pad)
    x, w = conv_tensors(cfg, shape, np.random.default_rng(1))
    a, _ = im2col(x, w, shape)
    bb, h, ww, c = np.indices(x.shape).reshape(4, -1)
    at = (
        (h * shape.ifmap_w + ww) * shape.channels + c
        if dataflow == "ws"
        else pixel_address(shape, bb, c, h, ww)
    )
    assert np.array_equal(native_dram_image(shape, dataflow == "ws", a, x)[at], x.ravel())
    rebuilt = native_dram_image(shape, dataflow == "ws", a, None)[at]
    read = np.zeros(x.shape, bool)  # the elements some output pixel's window reads
    for r in range(3):
        for s in range(3):
            hh = np.arange(shape.ofmap_h) * stride - pad + r
            cc = np.arange(shape.ofmap_w) * stride - pad + s
            hh, cc = hh[(hh >= 0) & (hh < 8)], cc[(cc >= 0) & (cc < 7)]
            read[0, hh[:, None], cc[None, :], :] = True
    assert np.array_equal(rebuilt, np.where(read, x, 0).ravel())
    assert (stride == 2) == (not read.all())


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_a_convolutions_statistics_follow_the_plan_the_rtl_runs(dataflow):
    """``layer_stats(conv=...)`` schedules the layer as the config plans it: read by im2col (conv_native
    off) its statistics are the GEMM's exactly; read natively in several bands, the DRAM buses carry the
    bands' words and the tiles' drains (bench/conv_energy.py: these statistics of the im2col plan put the
    DRAM energy 12% to 30% low on such layers)."""
    from systolic.cosim.conv import conv_tensors, im2col
    from systolic.workload import ConvShape

    shape = ConvShape(9, 9, 3, 3, 6, 8, stride_h=2, stride_w=2, pad_h=1, pad_w=1)
    base = ArrayConfig(name="t", rows=8, cols=8, dataflow=dataflow, ifmap_sram_bytes=1024,
                       dram_bw_words_per_cycle=4)  # fmt: skip
    x, w = conv_tensors(base, shape, np.random.default_rng(0))
    a, b = im2col(x, w, shape)
    off = base.replace(conv_native=False)
    assert np.array_equal(en.layer_stats(off, a, b, conv=shape, ifmap=x), en.layer_stats(off, a, b))
    native = base.replace(conv_native=True)
    got, gemm = en.layer_stats(native, a, b, conv=shape, ifmap=x), en.layer_stats(native, a, b)
    bus = [COLUMN[name] for name in ("dram_rd", "dram_wr", "addr_rd")]
    assert not np.allclose(got[bus], gemm[bus], rtol=0.02)
