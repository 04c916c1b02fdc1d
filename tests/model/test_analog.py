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
    # 128 cells per pulse: layer 0 one wave of 16384 cells (128 pulses); layer 1 a full wave of 2 of its 3
    # crossbars (25600 cells: 200 pulses) and a last wave of 12800 cells (100, but 128 rows: 128)
    np.testing.assert_allclose(r.program_s, np.array([128, 200 + 128]) * 40e-9)
    np.testing.assert_allclose(r.inference_pj, r.energy_pj.sum(axis=1) + r.program_pj)
    resident = an.analog_layers(cfg.replace(crossbars=96), g)
    assert resident.resident
    np.testing.assert_allclose(resident.inference_pj, resident.energy_pj.sum(axis=1))


@pytest.mark.parametrize("parallel", [1, 7, 128, 1000, 1 << 30])
@pytest.mark.parametrize("pulses", [1, 3])
def test_programming_time_is_cells_over_parallel_per_wave(parallel, pulses):
    """program_s = sum over waves of max(rows written, ceil(cells / parallel)) x pulses x pulse width."""
    cfg = AnalogConfig(crossbars=3, program_parallel_cells=parallel, program_pulses=pulses)
    g = GemmArrays.of([4, 4, 4], [16, 40, 16], [100, 300, 128], [1, 1, 5])
    r = an.analog_layers(cfg, g)
    cells = np.array([100 * 128, 300 * 320, 128 * 128 * 5])  # k x n x 8 bit lines x repeat
    np.testing.assert_array_equal(r.crossbars, [1, 9, 5])
    # layer 1: 9 crossbars in 3 full waves of a third of its cells; layer 2: 3 + 2 of its 5 crossbars
    rows = np.array([100, 128, 128])
    waves = [[cells[0]], [cells[1] // 3] * 3, [cells[2] * 3 // 5, cells[2] * 2 // 5]]
    want = [sum(max(rows[i], -(-c // parallel)) for c in w) for i, w in enumerate(waves)]
    np.testing.assert_allclose(r.program_s, np.array(want) * pulses * cfg.program_pulse_s)
    np.testing.assert_allclose(r.program_pj, cells * pulses * an.program_pulse_pj(cfg))  # energy unchanged
    if parallel >= 128 * 128 * 3:  # unlimited: a row of every crossbar of a wave at once
        np.testing.assert_allclose(r.program_s, np.array([100, 3 * 128, 2 * 128]) * pulses * 40e-9)


def test_programming_pinned_resnet18_on_isaac():
    """ResNet-18's weights (8-bit, 8 cells each) at 128 cells per 40 ns pulse: 29 ms, 0.38 W while writing."""
    from systolic.analog_config import load_analog
    from systolic.zoo import resnet18

    cfg = load_analog("analog-isaac")
    r = an.analog_layers(cfg, GemmArrays.from_workload(resnet18()))
    assert not r.resident and r.crossbars.sum() == 5724
    assert r.program_s.sum() == pytest.approx(29.19736e-3, rel=1e-6)
    cells = (
        93_431_296  # 11.68 M weights x 8 cells: the bound 40 ns x cells / 128 (the model rounds up per wave)
    )
    assert r.program_s.sum() == pytest.approx(cells / 128 * 40e-9, rel=1e-5)
    write_w = r.program_pj.sum() * 1e-12 / r.program_s.sum()
    assert write_w == pytest.approx(128 * 2.0**2 / 1333, rel=1e-3)  # 128 cells of 3 mW each


def test_digital_pe_at_horowitz_point():
    # 45 nm, 0.9 V, int8: Horowitz's multiply (0.2 pJ) + the model's int32 accumulate and register hops
    got = an.digital_pj_per_mac(45, 0.9, 8, 8, 32)
    reg = en.REGISTER_PJ_PER_BIT
    assert got == pytest.approx(0.2 + 0.1 + 32 * reg + 8 * reg + 32 * reg)
    assert an.digital_pj_per_mac(45, 0.9, 4, 2, 16) < got
    # the ternary PE: an input_bits add in place of the 4 x 2 multiplier
    ternary = an.digital_pj_per_mac(45, 0.9, 4, 2, 16, ternary=True)
    diff = (float(en.mult_energy_pj(4, 2)) - float(en.add_energy_pj(4))) * en.energy_scale(45, 0.9)
    assert ternary == pytest.approx(an.digital_pj_per_mac(45, 0.9, 4, 2, 16) - diff)


def test_floorplan_areas_are_isaacs_table():
    """analog-isaac's 96 crossbars are ISAAC's 12 IMAs: the floorplan's area is 12 x the IMA's components of
    Table I (0.157 mm2 for 12; ours counts a shift-and-add unit per ADC, 8 where ISAAC has 4)."""
    from systolic.analog_config import load_analog
    from systolic.model.floorplan import check_tiling

    cfg = load_analog("analog-isaac")
    flp = an.analog_floorplan(cfg)
    check_tiling(flp)
    area_mm2 = float((flp.width_m * flp.height_m).sum()) * 1e6
    table_mm2 = 12 * (0.0096 + 0.00017 + 0.00004 + 0.0002 + 8 * 0.00006 + 0.0021 + 0.00077)
    assert area_mm2 == pytest.approx(table_mm2, rel=1e-9)
    assert 12 * (0.0096 + 0.00017 + 0.00004 + 0.0002 + 0.00024 + 0.0021 + 0.00077) == pytest.approx(
        0.157, abs=5e-4
    )
    assert sum(n.startswith("xbar_") for n in flp.names) == 12 and "periph" in flp.names


@pytest.mark.parametrize("crossbars", [1, 5, 8, 13, 96])
def test_floorplan_tiles_for_any_crossbar_count(crossbars):
    from systolic.model.floorplan import check_tiling

    cfg = CFG.replace(crossbars=crossbars)
    flp = an.analog_floorplan(cfg)
    check_tiling(flp)
    groups = -(-crossbars // an.CROSSBARS_PER_GROUP)
    per_group = an.group_areas_mm2(cfg)
    want = groups * per_group["periph"] + crossbars / an.CROSSBARS_PER_GROUP * (
        per_group["xbar"] + per_group["adc"]
    )
    assert float((flp.width_m * flp.height_m).sum()) * 1e6 == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("crossbars", [6, 400])
def test_timeline_programs_then_reads_and_keeps_every_picojoule(crossbars):
    """Resident weights (400 crossbars): all layers programmed first, then the reads; otherwise each layer
    programmed before its reads. model/power.integrate over any intervals keeps the energy."""
    from systolic.model import power

    res = an.analog_layers(
        CFG.replace(crossbars=crossbars), GemmArrays.of([7, 9], [5, 30], [16, 100], [1, 2])
    )
    tl = an.analog_timeline(res)
    assert res.resident == (crossbars == 400)
    want = [0, 1, 0, 1] if res.resident else [0, 0, 1, 1]
    np.testing.assert_array_equal(tl.layer, want)
    assert np.all(tl.start_s[1:] == tl.end_s[:-1]) and tl.start_s[0] == 0
    program = tl.energy_pj[:, -1]
    assert program.sum() == pytest.approx(res.program_pj.sum()) and program[1 if res.resident else 0] > 0
    assert tl.energy_pj[:, :-1].sum() == pytest.approx(res.energy_pj.sum())
    edges = np.linspace(0, tl.end_s[-1], 37)
    binned = power.integrate(tl.start_s, tl.end_s - tl.start_s, tl.energy_pj, edges)
    np.testing.assert_allclose(binned.sum(axis=0), tl.energy_pj.sum(axis=0), rtol=1e-9)


@pytest.mark.parametrize("crossbars", [20, 400])
def test_crossbar_share_places_layers_on_their_crossbars(crossbars):
    """Resident (400): layer after layer from crossbar 0; otherwise each layer from crossbar 0, its j-th
    crossbar on j mod core (20 crossbars: groups of 8, 8 and 4)."""
    res = an.analog_layers(AnalogConfig(crossbars=crossbars), GemmArrays.of([3, 3], [16, 16], [640, 4480]))
    np.testing.assert_array_equal(res.crossbars, [5, 35])
    share = an.crossbar_share(res)
    np.testing.assert_allclose(share.sum(axis=1), 1.0)
    if res.resident:  # 5 crossbars in group 0; then 3, 8, 8, 8, 8 of 35 in groups 0..4
        np.testing.assert_allclose(share[0, :2], [1, 0])
        np.testing.assert_allclose(share[1, :6], np.array([3, 8, 8, 8, 8, 0]) / 35)
    else:  # 35 = 20 + 15: groups hold 8 + 8, 8 + 7, 4 + 0
        np.testing.assert_allclose(share[0], [5 / 5, 0, 0])
        np.testing.assert_allclose(share[1], np.array([16, 15, 4]) / 35)


def test_block_power_puts_a_layer_on_its_groups_and_keeps_energy():
    from systolic.model import power

    cfg = AnalogConfig(crossbars=20)
    res = an.analog_layers(cfg, GemmArrays.of([3, 30], [16, 16], [640, 4480]))
    tl = an.analog_timeline(res)
    flp = an.analog_floorplan(cfg)
    edges = np.linspace(0.0, tl.end_s[-1], 41)
    blocks = an.block_power_w(tl, an.crossbar_share(res), edges, flp)
    width = np.diff(edges)
    np.testing.assert_allclose((blocks * width[:, None]).sum() * 1e12, tl.energy_pj.sum(), rtol=1e-9)
    by_class = (
        power.integrate(tl.start_s, tl.end_s - tl.start_s, tl.energy_pj, edges) * 1e-12 / width[:, None]
    )
    np.testing.assert_allclose(blocks.sum(axis=1), by_class.sum(axis=1), rtol=1e-9)
    # layer 0 (5 crossbars, all in group 0) is programmed, then read, before layer 1 starts
    first = edges[1:] <= tl.end_s[1]  # [interval]
    names = list(flp.names)
    busy = [names.index("xbar_0"), names.index("adc_0")]
    idle = [i for i, n in enumerate(names) if n != "periph" and i not in busy]
    assert first.sum() >= 2 and np.all(blocks[first][:, busy[0]] > 0) and np.all(blocks[first][:, idle] == 0)
    late = edges[:-1] >= tl.start_s[3]  # [interval] layer 1's reads: 35 crossbars over all three groups
    assert late.any() and np.all(blocks[late][:, idle] > 0)
    adc = [i for i, n in enumerate(names) if n.startswith("adc_")]
    cls = [an.RUN_CLASSES.index(c) for c in ("adc", "shift_add")]
    np.testing.assert_allclose(blocks[:, adc].sum(axis=1), by_class[:, cls].sum(axis=1), rtol=1e-9)
