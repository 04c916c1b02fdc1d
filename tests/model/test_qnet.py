"""model/qnet.py: im2col against a direct convolution, col2im as its adjoint, the quantizers, and the
shipped digits network: the goal (ternary weights, 4-bit activations within 2 points of float), digital
and ideal analog inference identical, and retraining reproducing the shipped weights."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.analog_config import AnalogConfig
from systolic.flow import accuracy as acc
from systolic.model import qnet
from systolic.model.functional import analog_gemm, digital_gemm, program_weights

SPEC = qnet.LayerSpec("c", 3, 2, 4, stride=2, pad=1)


def test_im2col_equals_direct_convolution():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 9, size=(2, 7, 7, 2))
    w = rng.integers(-2, 3, size=(3, 3, 2, 4))
    got = (qnet.im2col(x, SPEC) @ w.reshape(-1, 4)).reshape(2, 4, 4, 4)
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    for i in range(4):
        for j in range(4):
            patch = xp[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3, :]
            np.testing.assert_array_equal(got[:, i, j, :], np.einsum("brsc,rscf->bf", patch, w))


def test_col2im_is_the_adjoint_of_im2col():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 7, 7, 2))
    d = rng.normal(size=(2 * 16, 18))
    lhs = np.sum(qnet.im2col(x, SPEC) * d)
    rhs = np.sum(x * qnet.col2im(d, SPEC, x.shape))
    assert lhs == pytest.approx(rhs)


def test_quantizers():
    w = np.array([0.05, -0.9, 0.4, -0.3, 1.0])
    w_t, scale = qnet.quantize_weights(w, 2)
    np.testing.assert_array_equal(w_t, [0, -1, 1, 0, 1])  # threshold 0.7 x 0.53 = 0.371
    assert scale == pytest.approx((0.9 + 0.4 + 1.0) / 3)
    w4, s4 = qnet.quantize_weights(w, 4)
    assert s4 == pytest.approx(1.0 / 7) and w4.max() == 7
    np.testing.assert_array_equal(qnet.input_codes(np.array([0, 8, 16, 17]), 4), [0, 8, 15, 15])
    mult, shift = qnet.fixed_point(0.0123)
    assert 2**14 <= mult < 2**15 and mult / 2**shift == pytest.approx(0.0123, rel=1e-4)


def test_workload_of_the_digits_network():
    work = qnet.workload()
    assert [(ly.m, ly.n, ly.k) for ly in work] == [(64, 16, 9), (16, 32, 144), (1, 10, 512)]
    assert work.macs == 88_064


@pytest.fixture(scope="module")
def shipped():
    return acc.shipped_network("digits-cnn")


@pytest.fixture(scope="module")
def test_split():
    _, _, x, y = acc.digits_split()
    return x, y


def test_ternary_4bit_is_within_two_points_of_float(shipped, test_split):
    x, y = test_split
    assert (shipped.net.act_bits, shipped.net.weight_bits) == (4, 2)
    assert {int(v) for layer in shipped.net.layers for v in np.unique(layer.weights)} == {-1, 0, 1}
    float_acc = acc.accuracy(qnet.float_forward(shipped.float_weights, x), y)
    digital = acc.accuracy(acc.digital_logits(shipped.net, qnet.input_codes(x, 4), 16), y)
    assert float_acc >= 0.97
    assert digital >= float_acc - 0.02


def test_ideal_analog_inference_equals_digital(shipped, test_split):
    x, _ = test_split
    codes = qnet.input_codes(x[:120], 4)
    core = AnalogConfig(input_bits=4, weight_bits=2, cell_bits=1, adc_bits=8, acc_bits=16)
    assert core.adc_exact
    rng = np.random.default_rng(0)
    programmed = [program_weights(core, layer.weights, rng) for layer in shipped.net.layers]
    analog = qnet.int_forward(shipped.net, codes, lambda i, a, w: analog_gemm(core, a, programmed[i], rng))
    digital = qnet.int_forward(shipped.net, codes, lambda i, a, w: digital_gemm(a, w, 16, True))
    np.testing.assert_array_equal(analog, digital)


@pytest.mark.slow
def test_training_is_deterministic_and_reproduces_the_shipped_network(shipped, test_split):
    """Retraining gives the same bytes twice on one machine, and the shipped network's accuracy.

    Not its bytes on every machine: the float epochs' sums go through BLAS, whose kernels (chosen per CPU)
    add in different orders, and the rounding differences grow through training (OpenBLAS's Haswell and
    Sandybridge kernels on this machine give 2 different networks, neither the shipped one's bytes; ~6% of
    the ternary weights differ, the accuracies are equal). The shipped file is data, as pretrained weights are.
    """
    from systolic.flow.train_digits import train_shipped

    x, y = test_split
    again, twice = train_shipped(), train_shipped()
    for a, b in zip(again.net.layers, twice.net.layers, strict=True):
        np.testing.assert_array_equal(a.weights, b.weights)
        assert (a.mult, a.shift) == (b.mult, b.shift)
    equal = sum(
        int((a.weights == b.weights).sum()) for a, b in zip(again.net.layers, shipped.net.layers, strict=True)
    )
    assert equal >= 0.9 * sum(b.weights.size for b in shipped.net.layers)
    for net in (again, shipped):
        assert acc.accuracy(qnet.float_forward(net.float_weights, x), y) >= 0.97
    digital = [
        acc.accuracy(acc.digital_logits(n.net, qnet.input_codes(x, 4), 16), y) for n in (again, shipped)
    ]
    assert abs(digital[0] - digital[1]) <= 0.01
