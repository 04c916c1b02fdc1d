"""im2col lowering against a convolution computed tap by tap (no simulator)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systolic.config import ArrayConfig
from systolic.cosim.conv import conv_tensors, direct_conv, im2col
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
