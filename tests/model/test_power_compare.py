"""model/power_compare.py: the model's energy per window against RTL toggles per window."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.errors import InputError
from systolic.model import power
from systolic.model.energy import COMPONENT_CLASSES
from systolic.model.power_compare import compare_toggles


def _synthetic(seed: int = 1, windows: int = 20):
    rng = np.random.default_rng(seed)
    model = rng.uniform(1, 100, (windows, len(power.COLUMNS)))
    pj_per_toggle = rng.uniform(0.01, 0.1, len(COMPONENT_CLASSES))
    dram = model[:, power.COLUMNS.index("dram")] + model[:, power.COLUMNS.index("dram_if")]
    per_class = np.column_stack([model[:, : len(COMPONENT_CLASSES) - 1], dram])
    per_class = per_class[:, [COMPONENT_CLASSES.index(c) for c in COMPONENT_CLASSES]]
    toggles = np.column_stack([per_class / pj_per_toggle, rng.integers(0, 9, windows)])  # + "other"
    return model, toggles, pj_per_toggle


def test_toggle_comparison_of_exact_toggles_has_no_error():
    model, toggles, pj = _synthetic()
    cmp = compare_toggles(model, toggles)
    assert cmp.classes == COMPONENT_CLASSES
    np.testing.assert_allclose(cmp.pj_per_toggle, pj, rtol=1e-9)
    np.testing.assert_allclose(cmp.error, 0, atol=1e-9)
    assert cmp.total_error == pytest.approx(0, abs=1e-9)
    given_pj = compare_toggles(model, toggles, pj_per_toggle=pj)
    np.testing.assert_allclose(given_pj.error, 0, atol=1e-9)


def test_toggle_comparison_finds_a_wrong_window():
    model, toggles, pj = _synthetic(windows=10)
    toggles = toggles.copy()
    mult = COMPONENT_CLASSES.index("mult")
    toggles[3, mult] *= 3  # the RTL switched three times as much in window 3
    cmp = compare_toggles(model, toggles, pj_per_toggle=pj)
    rtl = toggles[:, mult] * pj[mult]
    expected = np.abs(model[:, mult] - rtl).mean() / rtl.mean()
    assert cmp.error[mult] == pytest.approx(expected)
    others = [i for i in range(len(COMPONENT_CLASSES)) if i != mult]
    np.testing.assert_allclose(cmp.error[others], 0, atol=1e-9)
    assert cmp.max_window_error > cmp.total_error > 0


def test_toggle_comparison_bad_shapes():
    model, toggles, _ = _synthetic(windows=10)
    with pytest.raises(InputError, match="the model has 10 windows and the RTL 13: align them first"):
        compare_toggles(model, np.vstack([toggles, toggles[:3]]))
    with pytest.raises(InputError, match=r"toggles must be \[window, class\] with 9 classes"):
        compare_toggles(model, toggles[:, :5])
