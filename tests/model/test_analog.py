"""model/analog.py: action counts against a brute-force walk over crossbars, energy = counts x table,
ISAAC's per-action energies at 32 nm, latency and programming, and the digital PE at the same node."""

from __future__ import annotations

import math

import numpy as np
import pytest

from systolic.analog_config import AnalogConfig
from systolic.model import analog as an
from systolic.model import energy as en
from systolic.model.cycles import GemmArrays

CFG = AnalogConfig(rows=16, cols=24, cols_per_adc=8, crossbars=6, input_bits=6, dac_bits=2, weight_bits=4,
                   cell_bits=2)  # fmt: skip


def _brute_counts(cfg, m, n, k, rep):
    """Walk every crossbar of the mapping and every read: the counts the model must equal."""
    dac = cell = adc = 0
    cols = n * cfg.cols_per_weight
    for _ in range(rep):
        for r0 in range(0, k, cfg.rows):
            rows_used = min(cfg.rows, k - r0)
            for c0 in range(0, cols, cfg.cols):
                cols_used = min(cfg.cols, cols - c0)
                reads = m * cfg.input_slices
                dac += reads * rows_used
                cell += reads * rows_used * cols_used
                adc += reads * cols_used
    acc = m * rep * n * (math.ceil(k / cfg.rows) - 1)
    return [dac, cell, adc, adc, acc]


@pytest.mark.parametrize("m, n, k, rep", [(1, 1, 1, 1), (7, 5, 16, 1), (9, 13, 40, 1), (4, 30, 100, 3)])
def test_counts_equal_a_walk_over_crossbars(m, n, k, rep):
    r = an.analog_layers(CFG, GemmArrays.of(m, n, k, rep))
    np.testing.assert_array_equal(r.counts[0], _brute_counts(CFG, m, n, k, rep))
    np.testing.assert_allclose(r.energy_pj, r.counts * an.energy_per_action_pj(CFG))
    assert r.macs[0] == m * n * k * rep


def test_isaac_energies_at_32nm():
    e = an.energy_per_action_pj(AnalogConfig())  # 32 nm, the node ISAAC's numbers are for
    assert an.periphery_scale(AnalogConfig()) == pytest.approx(1.0)
    np.testing.assert_allclose(e[:4], [0.390625, 1.831e-3, 1.6667, 0.020833], rtol=1e-3)
    # Walden: every ADC bit doubles the conversion energy
    e6 = an.energy_per_action_pj(AnalogConfig(adc_bits=6))
    assert e6[2] == pytest.approx(e[2] / 4)
    # a 2-bit DAC is three unit elements
    assert an.energy_per_action_pj(AnalogConfig(dac_bits=2))[0] == pytest.approx(3 * e[0])


def test_periphery_scales_with_node_like_the_digital_array():
    at45 = AnalogConfig(tech_node_nm=45, vdd_v=0.9)
    ratio = en.energy_scale(45, 0.9) / en.energy_scale(32, en.nominal_vdd_v(32))
    assert an.periphery_scale(at45) == pytest.approx(ratio)
    assert an.energy_per_action_pj(at45)[1] == an.energy_per_action_pj(AnalogConfig())[1]  # cells: physics


def test_latency_waves_and_programming():
    cfg = AnalogConfig(crossbars=2, read_s=100e-9, cols_per_adc=128, adc_rate_hz=1.28e9)
    assert an.read_period_s(cfg) == pytest.approx(100e-9)
    assert an.read_period_s(cfg.replace(adc_rate_hz=0.64e9)) == pytest.approx(200e-9)
    g = GemmArrays.of([10, 10], [16, 16], [128, 300])  # 1 and 3 crossbars
    r = an.analog_layers(cfg, g)
    np.testing.assert_array_equal(r.crossbars, [1, 3])
    np.testing.assert_array_equal(r.waves, [1, 2])
    np.testing.assert_allclose(r.compute_s, np.array([1, 2]) * 10 * 8 * 100e-9)
    assert not r.resident  # 4 crossbars in a core of 2: every inference reprograms
    pulse = 2.0**2 / 1333 * 40e-9 * 1e12
    assert an.program_pulse_pj(cfg) == pytest.approx(pulse)
    np.testing.assert_allclose(r.program_pj, np.array([128, 300]) * 16 * 8 * pulse)
    np.testing.assert_allclose(r.program_s, np.array([1, 2]) * 128 * 40e-9)
    np.testing.assert_allclose(r.inference_pj, r.energy_pj.sum(axis=1) + r.program_pj)
    resident = an.analog_layers(cfg.replace(crossbars=96), g)
    assert resident.resident
    np.testing.assert_allclose(resident.inference_pj, resident.energy_pj.sum(axis=1))


def test_digital_pe_at_horowitz_point():
    # 45 nm, 0.9 V, int8: Horowitz's multiply (0.2 pJ) + the model's int32 accumulate and register hops
    got = an.digital_pj_per_mac(45, 0.9, 8, 8, 32)
    reg = en.REGISTER_PJ_PER_BIT
    assert got == pytest.approx(0.2 + 0.1 + 32 * reg + 8 * reg + 32 * reg)
    assert an.digital_pj_per_mac(45, 0.9, 4, 2, 16) < got
