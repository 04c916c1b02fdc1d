"""model/llm/compute.py: the roofline for GPU-class devices; the accelerator model for systolic ones."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.config import load_arch
from systolic.formats.calibration import load_calibration
from systolic.llm_spec import LinkSpec, SystemSpec, SystolicSpec
from systolic.model.cycles import GemmArrays
from systolic.model.energy import layer_energy
from systolic.model.llm.compute import fused_attention_seconds, gemm_cost, stream_seconds
from systolic.model.llm.hardware import resolve
from systolic.model.memory import memory_cycles

from .llm_toy import toy_hw


def test_large_gemm_is_compute_bound_at_the_achievable_rate():
    c = gemm_cost(toy_hw(), 4096, 4096, 4096)
    assert c.flops == 2 * 4096**3
    assert c.seconds == pytest.approx(2 * 4096**3 / 100e12) and c.compute_bound
    assert c.energy_pj == pytest.approx(2 * 4096**3 * 1.0)


def test_matrix_vector_product_is_memory_bound():
    c = gemm_cost(toy_hw(), 1, 8192, 8192, batch=3)
    nbytes = 3 * (8192 + 8192 * 8192 + 8192) * 2
    assert c.memory_s == pytest.approx(nbytes / 1e12) and c.seconds == c.memory_s and not c.compute_bound


def test_shapes_broadcast_and_fractional_shards_round_up():
    c = gemm_cost(toy_hw(), np.array([[1.0], [10.0]]), np.array([2.5, 4.0]), 3)
    assert c.flops.shape == (2, 2) and c.flops[1, 0] == 2 * 10 * 3 * 3


def test_streaming_and_fused_attention():
    assert stream_seconds(toy_hw(), 2e12) == pytest.approx(2.0)
    assert fused_attention_seconds(toy_hw(), 50e12) == pytest.approx(1.0)


def test_systolic_device_times_each_gemm_with_the_accelerator_model():
    cfg = load_arch("small-8x8")
    link = LinkSpec(10e9, 1e-6)
    cal = load_calibration()[0]
    hw = resolve(SystemSpec("s", SystolicSpec(cfg, 1e9), 2, 1, link, link), calibration=cal)
    m, n, k, batch = (
        np.array([30, 17, 30]),
        np.array([20, 9, 20]),
        np.array([11, 40, 11]),
        np.array([1, 2, 5]),
    )
    cost = gemm_cost(hw, m, n, k, batch)
    ref = memory_cycles(cfg, GemmArrays.of(m, n, k))
    assert cost.seconds == pytest.approx(ref.cycles_per_gemm * batch / cfg.clock_hz)
    assert cost.compute_s == pytest.approx(ref.compute_cycles * batch / cfg.clock_hz)
    energy = layer_energy(cfg, GemmArrays.of(m, n, k), ref, calibration=cal).total_pj
    assert cost.energy_pj == pytest.approx(energy * batch)
    assert hw.peak_flops == 2 * 64 * cfg.clock_hz
