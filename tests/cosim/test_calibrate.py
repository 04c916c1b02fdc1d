"""cosim/calibrate.py on Icarus: a small calibration run fits and predicts held-out layers; the shipped
calibration predicts how sparsity (with zero gating) and precision change the RTL's own toggles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from systolic.cosim import calibrate as cal
from systolic.errors import InputError
from systolic.formats.calibration import load_calibration
from systolic.model import energy as en
from systolic.model.cycles import GemmArrays

BUILD = Path(__file__).resolve().parents[2] / "build" / "test-sim"
PE = [en.COMPONENT_CLASSES.index(c) for c in ("mult", "acc", "fwd")]


def test_distributions_fit_their_formats_and_differ():
    cfg = cal.CONFIGS[6]  # 4-bit operands
    rng = np.random.default_rng(0)
    for dist in cal.DISTRIBUTIONS:
        a, b = cal.distribution_operands(cfg, dist, 40, 30, 50, rng)
        assert a.shape == (40, 50) and b.shape == (50, 30)
        assert a.min() >= -8 and a.max() <= 7 and b.min() >= -8 and b.max() <= 7, dist
    a, b = cal.distribution_operands(cfg, "zeros90", 100, 100, 100, rng)
    assert 0.85 < np.mean(a == 0) < 0.95
    assert set(np.unique(cal.distribution_operands(cfg, "ternary", 9, 9, 9, rng)[1]).tolist()) <= {-1, 0, 1}
    with pytest.raises(InputError, match="unknown data distribution 'cauchy'"):
        cal.distribution_operands(cfg, "cauchy", 2, 2, 2, rng)


def test_split_is_by_seed_and_holds_out_whole_shapes():
    cases = cal.calibration_set(seed=5)
    assert cases == cal.calibration_set(seed=5) and cases != cal.calibration_set(seed=6)
    for ci in range(len(cal.CONFIGS)):
        train = {(c.m, c.n, c.k) for c in cases if c.config == ci and not c.held_out}
        held = {(c.m, c.n, c.k) for c in cases if c.config == ci and c.held_out}
        assert len(held) >= 1 and not train & held
    assert len({c.seed for c in cases}) == len(cases)  # every layer has its own data
    with pytest.raises(InputError, match="held-out shapes must be in 1..3"):
        cal.calibration_set(held_out_shapes=4)


@pytest.mark.sim
def test_small_calibration_fits_and_predicts_held_out_layers():
    configs = (cal.CONFIGS[1], cal.CONFIGS[2], cal.CONFIGS[5])  # OS gated, WS, IS gated
    res = cal.calibrate(
        configs, seed=1, shapes_per_config=3, dists=("uniform", "zeros90", "ternary"), root=BUILD
    )
    held = np.array([c.held_out for c in res.cases])
    assert held.sum() == 9 and (~held).sum() == 18
    assert (res.measured[:, PE].sum(axis=1) > 0).all()
    train, test = res.training_errors(), res.held_out_errors()
    assert abs(train["total"]) < 0.05, train
    # few training layers: looser than the full set's goal, but a broken feature or count misses by far more
    assert abs(test["total"]) < 0.15, test
    for cls in ("mult", "acc", "fwd"):
        assert abs(test[cls]) < 0.15, (cls, test)
    text = cal.validation_table(res)
    assert "held-out validation: 9 layers" in text and "total (pJ)" in text


def _measure(cfg, dist, shape=(12, 10, 13), seed=11):
    a, b = cal.distribution_operands(cfg, dist, *shape, np.random.default_rng(seed))
    warm = cal.distribution_operands(cfg, dist, *cal.WARMUP_SHAPE, np.random.default_rng(seed + 1))
    got, _ = cal.simulate(cfg, [warm, (a, b)], root=BUILD, run_name=f"dir-{dist}")
    calib, _ = load_calibration()
    gemm = GemmArrays.of(*shape)
    counts = en.activity_counts(cfg, gemm)
    sa, sb = en.layer_stats(cfg, a, b)
    predicted = en.predict_toggles(cfg, counts, sa, sb, calib)[0]
    return got[1].per_class[: len(en.COMPONENT_CLASSES)].astype(float), predicted


@pytest.mark.sim
def test_shipped_calibration_follows_the_rtl_on_sparsity_and_precision():
    """With zero gating, 90% zeros cut the PE toggles the RTL measures; the model predicts the same cut
    within 25% of its size. Halving the operand width does the same."""
    cfg = cal.CONFIGS[3]  # WS 4x4, zero gating
    dense_m, dense_p = _measure(cfg, "uniform")
    sparse_m, sparse_p = _measure(cfg, "zeros90")
    ratio_m = sparse_m[PE].sum() / dense_m[PE].sum()
    ratio_p = sparse_p[PE].sum() / dense_p[PE].sum()
    assert ratio_m < 0.5 and ratio_p < 0.5
    assert ratio_p == pytest.approx(ratio_m, rel=0.25)
    narrow = cal.CONFIGS[6]  # the same array with 4-bit operands
    int4_m, int4_p = _measure(narrow, "uniform")
    assert int4_m[PE].sum() < dense_m[PE].sum() and int4_p[PE].sum() < dense_p[PE].sum()
    assert int4_p[PE].sum() / dense_p[PE].sum() == pytest.approx(
        int4_m[PE].sum() / dense_m[PE].sum(), rel=0.25
    )
