"""im2col lowering against a convolution computed tap by tap (no simulator)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systolic.config import ArrayConfig
from systolic.cosim.conv import conv_tensors, direct_conv, group_block_im2col, im2col
from systolic.cosim.harness import reference
from systolic.cosim.runner import GemmCase
from systolic.errors import InputError
from systolic.workload import ConvShape, Layer


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    r=st.integers(1, 4),
    s=st.integers(1, 4),
    c=st.integers(1, 4),
    f=st.integers(1, 5),
    stride=st.integers(1, 3),
    pad=st.integers(0, 2),
    batch=st.integers(1, 2),
    seed=st.integers(0, 1000),
    extra=st.integers(0, 2),
)
def test_im2col_gemm_equals_direct_convolution(h, w, r, s, c, f, stride, pad, batch, seed, extra):
    if r > h + 2 * pad + extra or s > w + 2 * pad:
        return
    shape = ConvShape(
        h, w, r, s, c, f, stride_h=stride, stride_w=stride, pad_h=pad, pad_w=pad, batch=batch, extra_h=extra
    )
    cfg = ArrayConfig(acc_bits=20)  # narrow enough that wrap-around happens
    ifmap, filters = conv_tensors(cfg, shape, np.random.default_rng(seed))
    a, b = im2col(ifmap, filters, shape)
    layer = Layer.from_conv("x", shape)
    assert a.shape == (layer.m, layer.k) and b.shape == (layer.k, layer.n)
    got = reference(cfg, a, b).reshape(batch, shape.ofmap_h, shape.ofmap_w, f)
    assert np.array_equal(got, direct_conv(cfg, ifmap, filters, shape))


def test_grouped_convolution_is_refused_with_a_hint():
    shape = ConvShape(4, 4, 3, 3, 4, 4, groups=2)
    with pytest.raises(InputError, match="groups = 2"):
        GemmCase.from_conv(shape)


@settings(max_examples=40, deadline=None)
@given(
    groups=st.integers(1, 6),
    per=st.integers(1, 3),
    filters=st.integers(1, 2),
    stride=st.integers(1, 2),
    pad=st.integers(0, 1),
    blocks=st.integers(1, 6),
    seed=st.integers(0, 1000),
)
def test_group_block_gemms_equal_the_direct_grouped_convolution(
    groups, per, filters, stride, pad, blocks, seed
):
    """Every block GEMM of a grouped convolution (``group_blocks``) gives its channels of the convolution
    computed directly, and the direct grouped convolution is each group's own convolution side by side."""
    blocks = min(blocks, groups)
    shape = ConvShape(5, 4, 3, 2, groups * per, groups * filters, stride_h=stride, pad_h=pad, groups=groups)
    cfg = ArrayConfig(acc_bits=20)
    ifmap, w = conv_tensors(cfg, shape, np.random.default_rng(seed))
    direct = direct_conv(cfg, ifmap, w, shape)
    one = ConvShape(5, 4, 3, 2, per, filters, stride_h=stride, pad_h=pad)
    alone = [
        direct_conv(cfg, ifmap[..., g * per : (g + 1) * per], w[..., g * filters : (g + 1) * filters], one)
        for g in range(groups)
    ]
    assert np.array_equal(direct, np.concatenate(alone, axis=-1))
    first = 0
    for layer in Layer.conv_blocks("x", shape, blocks):
        for _ in range(layer.repeat):
            a, b = group_block_im2col(ifmap, w, shape, first, layer.blocks)
            assert a.shape == (layer.m, layer.k) and b.shape == (layer.k, layer.n)
            got = reference(cfg, a, b).reshape(*direct.shape[:3], -1)
            assert np.array_equal(got, direct[..., first * filters : (first + layer.blocks) * filters])
            first += layer.blocks
    assert first == groups


def test_grouped_cases_cover_every_group_once():
    cfg = ArrayConfig(rows=8, cols=6, dram_bw_words_per_cycle=4)
    shape = ConvShape(6, 6, 3, 3, 8, 8, pad_h=1, pad_w=1, groups=8)
    cases = GemmCase.conv_blocks(cfg, shape)
    covered = [g for c in cases for g in range(c.first_group, c.first_group + c.blocks)]
    assert covered == list(range(8))
    assert all(c.blocks > 1 for c in cases)  # this array takes several depthwise channels per GEMM
    assert [c.blocks for c in GemmCase.conv_blocks(cfg.replace(group_blocks=False), shape)] == [1] * 8
