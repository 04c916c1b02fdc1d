"""model/energy.py: Horowitz's points, width/capacity/technology/voltage scaling, counts @ table against a
brute-force sum, leakage, the calibrated per-layer energy (the statistics: test_energy_streams.py)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from systolic.config import KIB, ArrayConfig
from systolic.errors import InputError
from systolic.model import energy as en

CFG = ArrayConfig()  # 8x8, int8 x int8 -> int32, 64 KB buffers, 45 nm, 0.9 V


def _row(table: en.EnergyTable, key: str) -> float:
    return float(table.energy_pj[table.keys.index(key)])


# --------------------------------------------------------------------------- Horowitz at 45 nm


def test_horowitz_points_are_reproduced_at_45nm():
    assert en.mult_energy_pj(8, 8) == pytest.approx(0.2)
    assert en.mult_energy_pj(32, 32) == pytest.approx(3.1)
    assert en.add_energy_pj(8) == pytest.approx(0.03)
    assert en.add_energy_pj(32) == pytest.approx(0.1)
    np.testing.assert_allclose(en.sram_read_pj([8 * KIB, 32 * KIB, 1024 * KIB]), [10.0, 20.0, 100.0])
    assert en.dram_access_pj(64) == pytest.approx(1300.0)
    assert en.DRAM_PJ_PER_64B_RANGE[0] <= en.DRAM_PJ_PER_64B <= en.DRAM_PJ_PER_64B_RANGE[1]
    assert en.energy_scale(45, 0.9) == pytest.approx(1.0)


def test_table_at_reference_activity_gives_horowitz_numbers():
    typical = en.scale_activity(en.build_table(CFG))  # default activity 0.5
    assert _row(typical, "mult.multiply") == pytest.approx(0.2)
    assert _row(typical, "acc.accumulate") == pytest.approx(0.1 + 32 * 0.1 / 32)  # int32 add + 32 flops
    assert _row(typical, "ifmap_sram.read") == pytest.approx(20.0 * 8 / 64)  # half of 64 KB, 8-bit word
    assert _row(typical, "ofmap_sram.write") == pytest.approx(20.0 * 32 / 64)  # acc_bits-wide psum words
    assert _row(typical, "dram.read") == pytest.approx(1300.0 * 8 / 64)
    full = en.build_table(CFG)
    np.testing.assert_allclose(full.energy_pj, typical.energy_pj / en.REFERENCE_ACTIVITY)


def test_ternary_pe_has_no_multiplier_energy():
    """weight_format = "ternary": the product is a sign select, costed as one input_bits add (the
    conditional negation), below the 2-bit multiplier it replaces; leakage counts an adder's gates."""
    cfg = ArrayConfig(input_bits=8, weight_bits=2, acc_bits=16)
    ternary = cfg.replace(weight_format="ternary")
    row = en.ACTIONS.index(("mult", "multiply"))
    full = 1.0 / en.REFERENCE_ACTIVITY
    assert en.build_table(ternary).energy_pj[row] == pytest.approx(full * float(en.add_energy_pj(8)))
    assert en.build_table(cfg).energy_pj[row] == pytest.approx(full * float(en.mult_energy_pj(8, 2)))
    assert en.build_table(ternary).energy_pj[row] < en.build_table(cfg).energy_pj[row]
    others = [i for i in range(len(en.ACTIONS)) if i != row]
    np.testing.assert_array_equal(
        en.build_table(ternary).energy_pj[others], en.build_table(cfg).energy_pj[others]
    )
    assert en.pe_gates(ternary)["mult"] == en.GATES_PER_ADDER_BIT * 8 < en.pe_gates(cfg)["mult"]


def test_table_layout_is_the_shared_class_tuple():
    table = en.build_table(CFG)
    assert tuple(dict.fromkeys(table.classes.tolist())) == en.COMPONENT_CLASSES
    assert table.keys == tuple(f"{c}.{a}" for c, a in en.ACTIONS)
    with pytest.raises(ValueError):
        table.energy_pj[0] = 1.0  # frozen arrays


# --------------------------------------------------------------------------- scaling


def test_width_scaling_is_monotone_and_near_textbook_laws():
    bits = np.arange(2, 33)
    assert np.all(np.diff(en.mult_energy_pj(bits, bits)) > 0)
    assert np.all(np.diff(en.add_energy_pj(bits)) > 0)
    # a*b law within 5 % between the anchors; adder between linear and sqrt
    assert en.mult_energy_pj(16, 16) == pytest.approx(0.2 * 4, rel=0.05)
    assert en.mult_energy_pj(8, 16) == pytest.approx(en.mult_energy_pj(16, 8))
    from systolic.model.energy.tables import _ADD_EXPONENT

    assert 0.5 < _ADD_EXPONENT < 1.0


def test_sram_scaling_with_capacity_and_word_width():
    caps = 2.0 ** np.arange(10, 25)
    assert np.all(np.diff(en.sram_read_pj(caps)) > 0)
    # log-log interpolation: 16 KB is the geometric mean of 8 KB and 32 KB's energies
    assert en.sram_read_pj(16 * KIB) == pytest.approx(math.sqrt(10 * 20))
    assert en.sram_read_pj(32 * KIB, 16) == pytest.approx(20 * 16 / 64)


def test_technology_scaling_matches_hand_computed_stillmaker_values():
    s45 = 1.018 * 1.0**2 - 0.3107 * 1.0 + 0.1539  # HP 45 nm at its nominal 1.0 V
    s7 = 0.1776 * 0.7**2 - 0.09097 * 0.7 + 0.02447  # HP 7 nm at 0.7 V
    s180 = 24.64 * 1.8 - 17.98
    v = (0.9 / 1.0) ** 2  # Horowitz's 0.9 V against 45 nm's nominal 1.0 V
    assert en.energy_scale(7, 0.7) == pytest.approx(s7 / s45 / v)
    assert en.energy_scale(180, 1.8) == pytest.approx(s180 / s45 / v)
    assert en.energy_scale(45, 1.0) == pytest.approx(1 / 0.81)


def test_technology_scaling_is_monotone_at_nominal_voltage():
    nodes = [180, 130, 90, 65, 45, 40, 32, 28, 22, 20, 16, 14, 12, 10, 7]
    factors = [en.energy_scale(n, en.nominal_vdd_v(n)) for n in nodes]
    assert all(a > b for a, b in zip(factors, factors[1:], strict=False))
    assert en.energy_scale(28, 0.9) < en.energy_scale(32, 0.9)


def test_voltage_scaling_is_quadratic():
    for node in (65, 45, 16):
        assert en.energy_scale(node, 0.6) / en.energy_scale(node, 0.3) == pytest.approx(4.0)
    hot = en.build_table(CFG.replace(vdd_v=1.8))
    base = en.build_table(CFG)
    on_chip = hot.classes != "dram"
    np.testing.assert_allclose(hot.energy_pj[on_chip], 4 * base.energy_pj[on_chip])
    np.testing.assert_allclose(hot.energy_pj[~on_chip], base.energy_pj[~on_chip])  # off-chip


def test_node_outside_the_fits_is_an_error():
    with pytest.raises(InputError) as err:
        en.build_table(CFG.replace(tech_node_nm=5))
    assert str(err.value) == (
        "tech_node_nm: tech_node_nm must be in 7..180 nm, the range of the Stillmaker & Baas scaling fits, not 5"
    )


def test_delay_scale_is_one_at_the_reference():
    assert en.delay_scale(45, 0.9) == pytest.approx(1.0)
    assert en.delay_scale(7, 0.7) < 1.0 < en.delay_scale(180, 1.8)


# --------------------------------------------------------------------------- counts @ table


def test_counts_at_table_equals_brute_force_sum():
    rng = np.random.default_rng(5)
    table = en.build_table(CFG.replace(tech_node_nm=28, vdd_v=0.8))
    counts = rng.integers(0, 10**6, size=(7, len(table.keys)))  # [layer, action]
    brute = [
        sum(int(counts[i, j]) * float(table.energy_pj[j]) for j in range(counts.shape[1])) for i in range(7)
    ]
    np.testing.assert_allclose(table.energy(counts), brute, rtol=1e-12)
    by_class = table.energy_by_class(counts)  # [layer, class]
    assert by_class.shape == (7, len(en.COMPONENT_CLASSES))
    np.testing.assert_allclose(by_class.sum(axis=1), brute, rtol=1e-12)
    for k, cls in enumerate(en.COMPONENT_CLASSES):
        cols = [j for j, c in enumerate(table.classes.tolist()) if c == cls]
        expected = [sum(int(counts[i, j]) * float(table.energy_pj[j]) for j in cols) for i in range(7)]
        np.testing.assert_allclose(by_class[:, k], expected, rtol=1e-12)


def test_per_layer_activity_matches_brute_force():
    rng = np.random.default_rng(9)
    table = en.build_table(CFG)
    counts = rng.integers(0, 1000, size=(4, len(table.keys)))  # [layer, action]
    activity = rng.random((4, len(en.COMPONENT_CLASSES)))  # [layer, class]
    got = en.dynamic_energy_pj(table, counts, activity)
    for layer in range(4):
        expected = np.zeros(len(en.COMPONENT_CLASSES))
        for j, cls in enumerate(table.classes.tolist()):
            k = en.COMPONENT_CLASSES.index(cls)
            expected[k] += counts[layer, j] * table.energy_pj[j] * activity[layer, k]
        np.testing.assert_allclose(got[layer], expected, rtol=1e-12)
        scaled = en.scale_activity(table, activity[layer])
        np.testing.assert_allclose(got[layer].sum(), scaled.energy(counts[layer]), rtol=1e-12)


def test_activity_scales_each_class():
    table = en.build_table(CFG)
    scaled = en.scale_activity(table, {"mult": 0.25, "dram": 1.0})
    assert _row(scaled, "mult.multiply") == pytest.approx(0.25 * _row(table, "mult.multiply"))
    assert _row(scaled, "dram.write") == pytest.approx(_row(table, "dram.write"))
    assert _row(scaled, "ctrl.cycle") == pytest.approx(0.5 * _row(table, "ctrl.cycle"))
    assert not en.scale_activity(table, 0.0).energy_pj.any()
    with pytest.raises(InputError, match=r"unknown component class\(es\) \['mul'\]"):
        en.scale_activity(table, {"mul": 0.3})
    with pytest.raises(InputError, match="activity factors must be in 0..1"):
        en.scale_activity(table, 1.5)


# --------------------------------------------------------------------------- leakage


def test_leakage_per_class_scales_with_pes_capacity_and_temperature():
    leak = en.leakage_w(CFG)
    assert leak.shape == (len(en.COMPONENT_CLASSES),)
    assert leak[en.COMPONENT_CLASSES.index("dram")] == 0.0
    big = en.leakage_w(CFG.replace(rows=16, ifmap_sram_bytes=128 * KIB))
    pe = [en.COMPONENT_CLASSES.index(c) for c in ("mult", "acc", "fwd")]
    np.testing.assert_allclose(big[pe], 2 * leak[pe])
    i = en.COMPONENT_CLASSES.index("ifmap_sram")
    assert big[i] == pytest.approx(2 * leak[i])
    assert leak[i] == pytest.approx(64 * 8192 * en.LEAK_W_PER_SRAM_BIT)  # per KB: 8192 cells
    hot = en.leakage_w(CFG, en.LEAK_T_REF_K + 20)
    np.testing.assert_allclose(hot, 2 * leak)  # doubles every 20 K
    trace = en.leakage_w(CFG, np.array([[300.0], [320.0], [340.0]]))  # [time, 1]
    assert trace.shape == (3, len(en.COMPONENT_CLASSES))
    assert en.leakage_w(CFG.replace(tech_node_nm=16, vdd_v=0.85)).sum() < leak.sum()


# --------------------------------------------------------------------------- calibrated per-layer energy


def _calibration(seed: int = 4) -> en.Calibration:
    rng = np.random.default_rng(seed)
    coeffs = rng.random((len(en.DATAFLOWS), len(en.COMPONENT_CLASSES), en.N_TOGGLE_FEATURES))
    for j, cls in enumerate(en.COMPONENT_CLASSES):
        coeffs[:, j, len(en.TOGGLE_FEATURES[cls]) :] = 0
    return en.Calibration(coeffs)


SMALL = ArrayConfig(
    rows=4,
    cols=4,
    ifmap_sram_bytes=256,
    filter_sram_bytes=256,
    ofmap_sram_bytes=512,
    dram_bw_words_per_cycle=4,
)


def _gemm():
    from systolic.model.cycles import GemmArrays

    return GemmArrays.of([7, 30, 1, 64], [5, 17, 1, 9], [3, 40, 1, 33], [1, 2, 1, 1])


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_layer_energy_is_vectorised_over_layers(dataflow):
    from systolic.model.cycles import GemmArrays

    cfg = SMALL.replace(dataflow=dataflow, zero_gating=True)
    gemm, cal = _gemm(), _calibration()
    zf = np.array([0.0, 0.3, 0.5, 0.9])
    whole = en.layer_energy(cfg, gemm, calibration=cal, zero_frac=zf)
    assert whole.dynamic_pj.shape == whole.leakage_pj.shape == (4, len(en.COMPONENT_CLASSES))
    np.testing.assert_array_equal(whole.macs, gemm.macs)
    for i in range(4):
        one = en.layer_energy(
            cfg,
            GemmArrays.of(gemm.m[i], gemm.n[i], gemm.k[i], gemm.repeat[i]),
            calibration=cal,
            zero_frac=zf[i],
        )
        np.testing.assert_allclose(one.energy_pj[0], whole.energy_pj[i], rtol=1e-12)
        assert one.cycles[0] == whole.cycles[i]


def test_leakage_pj_per_mac_and_tops_per_w():
    cfg = SMALL.replace(clock_hz=5e8)
    e = en.layer_energy(cfg, _gemm(), calibration=_calibration(), temperature_k=350.0)
    np.testing.assert_allclose(e.leakage_pj, e.cycles[:, None] / 5e8 * en.leakage_w(cfg, 350.0) * 1e12)
    np.testing.assert_allclose(e.pj_per_mac(), e.total_pj / e.macs)
    assert e.tops_per_w() == pytest.approx(2 * e.macs.sum() / e.total_pj.sum())
    assert en.tops_per_w(1.0, 1.0) == 2.0 and en.pj_per_mac(6.0, 3.0) == 2.0


def test_energy_is_toggles_times_energy_per_toggle():
    """Dynamic energy = predicted toggles x the class's full-swing energy per bit; at the activity of each
    class it equals counts @ table scaled by that activity (the table's own convention)."""
    from systolic.model.memory import memory_cycles

    cfg, gemm, cal = SMALL, _gemm(), _calibration()
    e = en.layer_energy(cfg, gemm, calibration=cal)
    counts = en.activity_counts(cfg, gemm, memory_cycles(cfg, gemm))
    actions = en.action_counts(cfg, counts)
    np.testing.assert_allclose(
        e.dynamic_pj, en.dynamic_energy_pj(en.build_table(cfg), actions, e.activity), rtol=1e-9
    )
    assert actions[:, en.ACTIONS.index(("mult", "multiply"))].tolist() == gemm.macs.tolist()


def test_energy_falls_with_sparsity_under_gating_and_with_precision():
    from systolic.model.cycles import GemmArrays

    cal = _calibration()
    gemm = GemmArrays.of(64, 64, 64)
    pe = [en.COMPONENT_CLASSES.index(c) for c in ("mult", "acc", "fwd")]
    for df in ("os", "ws", "is"):
        cfg = SMALL.replace(dataflow=df, zero_gating=True)
        dense = en.layer_energy(cfg, gemm, calibration=cal, zero_frac=0.0).dynamic_pj[0, pe].sum()
        sparse = en.layer_energy(cfg, gemm, calibration=cal, zero_frac=0.9).dynamic_pj[0, pe].sum()
        assert sparse < 0.5 * dense, df
        int4 = cfg.replace(input_bits=4, weight_bits=4, acc_bits=16)
        assert (
            en.layer_energy(int4, gemm, calibration=cal).total_pj[0]
            < en.layer_energy(cfg, gemm, calibration=cal).total_pj[0]
        )


def test_fit_recovers_non_negative_coefficients():
    rng = np.random.default_rng(8)
    x = rng.random((40, len(en.COMPONENT_CLASSES), en.N_TOGGLE_FEATURES)) * 1000
    truth = _calibration(9).coeffs[1]
    measured = np.einsum("scf,cf->sc", x, truth)
    np.testing.assert_allclose(en.fit_toggles(x, measured), truth, atol=1e-6)
    assert (en.fit_toggles(x, measured - 5000) >= 0).all()


def test_calibration_round_trip_and_checks():
    cal = _calibration()
    back = en.Calibration.from_dict(cal.to_dict())
    np.testing.assert_allclose(back.coeffs, cal.coeffs, rtol=1e-5)
    with pytest.raises(InputError, match="non-negative"):
        en.Calibration(-cal.coeffs)
    with pytest.raises(InputError, match="shape"):
        en.Calibration(cal.coeffs[:2])


def test_model_does_not_import_amaranth_or_cocotb():
    code = "import sys, systolic.model.energy; print('amaranth' in sys.modules or 'cocotb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
