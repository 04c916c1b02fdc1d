"""model/functional.py: the digital array's wrapped arithmetic against a brute force, the analog core's
ideal result against the digital one bit for bit, and the noise model's reproducibility pinned."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systolic.analog_config import AnalogConfig
from systolic.errors import InputError
from systolic.model import functional as fn


def _operands(cfg, m, k, n, rng):
    lo, hi = fn.operand_range(cfg.input_bits, cfg.input_signed)
    x = rng.integers(lo, hi, size=(m, k), endpoint=True)
    top = (1 << (cfg.weight_bits - 1)) - 1 if cfg.weight_signed else (1 << cfg.weight_bits) - 1
    w = rng.integers(-top if cfg.weight_signed else 0, top, size=(k, n), endpoint=True)
    return x, w


def test_digital_gemm_wraps_like_python_integers():
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 127, size=(5, 7), endpoint=True)
    b = rng.integers(-128, 127, size=(7, 3), endpoint=True)
    for bits, signed in ((16, True), (17, False), (64, True)):
        got = fn.digital_gemm(a, b, bits, signed)
        for i in range(5):
            for j in range(3):
                v = sum(int(a[i, t]) * int(b[t, j]) for t in range(7)) % (1 << bits)
                if signed and v >= 1 << (bits - 1):
                    v -= 1 << bits
                assert got[i, j] == v


def test_digital_gemm_of_ternary_weights_is_a_at_b_and_checks_the_range():
    """The sign-select PE's arithmetic: for weights in {-1, 0, 1} it is A @ B; -2 (a signed 2-bit code the
    PE would take for -1) is refused."""
    rng = np.random.default_rng(1)
    a = rng.integers(-8, 7, size=(6, 9), endpoint=True)
    b = rng.integers(-1, 1, size=(9, 4), endpoint=True)
    np.testing.assert_array_equal(fn.digital_gemm(a, b, 12, True, ternary=True), a @ b)
    with pytest.raises(InputError, match=r"^ternary weights hold -2\.\.1, outside -1\.\.1$"):
        fn.digital_gemm(a, np.where(b < 0, -2, b), 12, True, ternary=True)


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 20),
    cell_bits=st.integers(1, 3),
    dac_bits=st.integers(1, 3),
    input_bits=st.integers(3, 8),
    weight_bits=st.integers(2, 6),
    input_signed=st.booleans(),
    weight_signed=st.booleans(),
    k=st.integers(1, 45),
    seed=st.integers(0, 2**16),
)
def test_ideal_analog_equals_digital_bit_for_bit(
    rows, cell_bits, dac_bits, input_bits, weight_bits, input_signed, weight_signed, k, seed
):
    cfg = AnalogConfig(rows=rows, cols=64, cols_per_adc=64, cell_bits=cell_bits, dac_bits=dac_bits,
                       input_bits=input_bits, weight_bits=weight_bits, input_signed=input_signed,
                       weight_signed=weight_signed, adc_bits=16)  # fmt: skip
    assert cfg.adc_exact
    rng = np.random.default_rng(seed)
    x, w = _operands(cfg, 6, k, 5, rng)
    got = fn.analog_gemm(cfg, x, fn.program_weights(cfg, w, rng), rng)
    want = fn.digital_gemm(x, w, cfg.acc_bits, input_signed or weight_signed)
    np.testing.assert_array_equal(got, want)


def test_accumulator_wraps_like_the_digital_array():
    cfg = AnalogConfig(rows=4, cols=8, cols_per_adc=8, input_bits=8, weight_bits=8, weight_signed=False,
                       acc_bits=16, adc_bits=16, cell_bits=4)  # fmt: skip
    x = np.full((1, 12), 255)
    w = np.full((12, 1), 255)
    got = fn.analog_gemm(cfg, x, fn.program_weights(cfg, w, np.random.default_rng(0)), None)
    assert got[0, 0] == fn.digital_gemm(x, w, 16, False)[0, 0] == (12 * 255 * 255) % 65536


def test_input_slices_rebuild_signed_inputs():
    cfg = AnalogConfig(input_bits=7, dac_bits=3, input_signed=True)
    x = np.arange(-64, 64).reshape(2, 64)
    sl = fn.input_slices(cfg, x)
    np.testing.assert_array_equal((sl * (8 ** np.arange(3))[:, None, None]).sum(axis=0), x)


def test_adc_clips_and_quantizes():
    cfg = AnalogConfig(rows=8, cols=2, cols_per_adc=2, cell_bits=1, input_bits=1, weight_bits=1,
                       weight_signed=False, adc_bits=2, acc_bits=8)  # fmt: skip
    assert fn.adc_lsb(cfg) == pytest.approx(8 / 3)
    x = np.array([[1] * 8, [1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0, 0]])
    w = np.ones((8, 1), dtype=np.int64)
    got = fn.analog_gemm(cfg, x, fn.program_weights(cfg, w, None), None)
    # sums 8, 1, 3 -> codes round(sum / (8/3)) = 3, 0, 1 (clipped at 3)
    np.testing.assert_allclose(got[:, 0], np.array([3, 0, 1]) * 8 / 3)


def test_noise_is_reproducible_and_pinned():
    cfg = AnalogConfig(rows=16, cols=32, cols_per_adc=32, input_bits=4, weight_bits=2, cell_bits=1,
                       adc_bits=6, program_sigma=0.1, read_sigma=0.05, ir_drop=0.1)  # fmt: skip
    x, w = _operands(cfg, 8, 40, 6, np.random.default_rng(3))

    def run(seed):
        rng = np.random.default_rng(seed)
        return fn.analog_gemm(cfg, x, fn.program_weights(cfg, w, rng), rng)

    a, b = run(7), run(7)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, run(8))
    ideal = fn.digital_gemm(x, w, 32, True)
    assert not np.array_equal(a, ideal) and np.abs(a - ideal).mean() < 8
    # The same seed must keep giving these bytes: a change here changes every published noise curve.
    assert hashlib.sha256(a.tobytes()).hexdigest()[:16] == PINNED_NOISE_SHA


PINNED_NOISE_SHA = "00da433f1d7b2e98"


def test_weight_range_errors_are_pinned():
    cfg = AnalogConfig(input_bits=4, weight_bits=2, cell_bits=1)
    with pytest.raises(
        InputError,
        match=r"^weights hold -2, but a differential pair of 1-bit parts holds the symmetric range -1\.\.1$",
    ):
        fn.program_weights(cfg, np.array([[-2, 1]]), None)
    with pytest.raises(InputError, match=r"^weights hold -3\.\.1, outside the signed 2-bit range -2\.\.1$"):
        fn.program_weights(cfg, np.array([[-3, 1]]), None)
    with pytest.raises(InputError, match=r"^inputs hold 0\.\.16, outside the unsigned 4-bit range 0\.\.15$"):
        fn.input_slices(cfg, np.array([[0, 16]]))


def test_crossbars_for():
    cfg = AnalogConfig()  # 128 x 128, 8 bit lines per weight
    assert fn.crossbars_for(cfg, 128, 16) == 1
    assert fn.crossbars_for(cfg, 129, 17) == 4


def test_model_imports_no_simulator():
    code = "import sys, systolic.model.functional, systolic.model.analog, systolic.model.qnet; " \
        "print('amaranth' in sys.modules or 'cocotb' in sys.modules)"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_block_operands_make_one_gemm_of_independent_ones():
    """``block_operands``: column block j of A @ B is A_j @ B_j, and B is zero off its diagonal blocks."""
    rng = np.random.default_rng(7)
    a_groups = rng.integers(-5, 5, size=(3, 4, 2))  # [block, M, K_g]
    b_groups = rng.integers(-5, 5, size=(3, 2, 5))  # [block, K_g, N_g]
    a, b = fn.block_operands(a_groups, b_groups)
    assert a.shape == (4, 6) and b.shape == (6, 15)
    c = a @ b
    for j in range(3):
        assert np.array_equal(c[:, 5 * j : 5 * j + 5], a_groups[j] @ b_groups[j])
        off = np.ones(15, dtype=bool)
        off[5 * j : 5 * j + 5] = False
        assert not b[2 * j : 2 * j + 2, off].any()


def test_block_operands_of_convolution_groups_are_the_im2col_of_the_blocks_channel_slice():
    """With C_g channels per group, the block's K is (tap, group, channel): the im2col order of the block's
    channel slice as one tensor (``ConvShape.block``), so the block is a dense convolution of that slice."""
    from systolic.cosim.conv import block_tensors, im2col
    from systolic.workload import ConvShape

    rng = np.random.default_rng(3)
    shape = ConvShape(5, 4, 3, 2, 6, 9, pad_h=1, groups=3)  # 2 channels and 3 filters per group
    ifmap = rng.integers(-9, 9, size=(1, 5, 4, 6))
    filters = rng.integers(-9, 9, size=(3, 2, 2, 9))
    one = ConvShape(5, 4, 3, 2, 2, 3, pad_h=1)
    pairs = [im2col(ifmap[..., 2 * g : 2 * g + 2], filters[..., 3 * g : 3 * g + 3], one) for g in (1, 2)]
    a, b = fn.block_operands(np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]), 2)
    want_a, want_b = im2col(*block_tensors(ifmap, filters, shape, 1, 2), shape.block(2))
    assert np.array_equal(a, want_a) and np.array_equal(b, want_b)
    assert shape.block(2) == ConvShape(5, 4, 3, 2, 4, 6, pad_h=1)
