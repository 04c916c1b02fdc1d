"""model/llm/hardware.py: a system's numbers and their technology scaling."""

from __future__ import annotations

import pytest

from systolic.errors import InputError
from systolic.llm_spec import load_system
from systolic.model.llm.hardware import LOGIC_NODES, resolve, scale

A100 = load_system("dgx-a100-selene")


def test_resolve_applies_the_achievable_fractions():
    hw = resolve(A100, "bf16")
    dev = A100.device
    assert hw.peak_flops == 312e12 and hw.gemm_flops == pytest.approx(312e12 * dev.gemm_efficiency)
    assert hw.memory_bw == pytest.approx(dev.memory_bw_bytes_per_s * dev.memory_efficiency)
    assert hw.intra.bw == pytest.approx(300e9 * A100.intra.efficiency) and hw.devices == 8 * 560
    # at full GEMM load the board draws its TDP
    assert hw.idle_w + hw.gemm_flops * hw.pj_per_flop * 1e-12 == pytest.approx(dev.tdp_w)
    with pytest.raises(InputError, match="the device has no fp8 peak"):
        resolve(A100, "fp8")


def test_logic_scaling_is_iso_area_iso_power():
    hw = resolve(A100)
    for node, (density, energy) in LOGIC_NODES.items():
        s = scale(hw, logic_node_nm=node)
        gain = min(density / LOGIC_NODES[7.0][0], LOGIC_NODES[7.0][1] / energy)
        assert s.peak_flops == pytest.approx(312e12 * gain)
        assert s.pj_per_flop == pytest.approx(hw.pj_per_flop * energy)
    # from 7 to 5 nm the power budget binds (1/0.7 = 1.43x), not the density (1.8x)
    assert scale(hw, logic_node_nm=5.0).peak_flops == pytest.approx(312e12 / 0.7)


def test_memory_and_link_generations():
    hw = resolve(A100)
    s = scale(hw, memory="hbm3e", memory_stacks=5, intra="nvlink5", inter="ib-xdr")
    assert s.memory_bw_peak == 5 * 1229e9 and s.memory_efficiency == hw.memory_efficiency
    assert (
        s.intra.bandwidth == 900e9
        and s.inter.bandwidth == 100e9
        and s.intra.efficiency == hw.intra.efficiency
    )


def test_scaling_errors():
    hw = resolve(A100)
    with pytest.raises(InputError, match="unknown logic node 4.0"):
        scale(hw, logic_node_nm=4.0)
    with pytest.raises(InputError, match="unknown memory generation 'hbm9'"):
        scale(hw, memory="hbm9", memory_stacks=1)
    with pytest.raises(InputError, match="memory scaling needs a positive number of stacks, not None"):
        scale(hw, memory="hbm3")
