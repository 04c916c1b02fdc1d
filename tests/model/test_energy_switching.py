"""model/energy/switching.py: bit switching of value streams against hand-computed cases."""

from __future__ import annotations

import numpy as np

from systolic.model.energy.switching import _across, _along, _held_flips


def test_across_compares_positions_a_fold_apart():
    # lanes k and k + 2 (folds of 2 rows): 0 vs 3 (2 bits differ), 1 vs 1 (none); per bit of 4
    x = np.array([[0, 1, 3, 1]])
    assert _across(x, 2, 1, 4) == (2 + 0) / 2 / 4
    # a single fold (2 lanes, folds of 4): neighbouring positions instead
    assert _across(np.array([[0, 15]]), 4, 1, 4) == 1.0
    assert _across(np.array([[7]]), 4, 1, 4) == 0.0


def test_along_and_held_flips():
    x = np.array([[1], [0], [3]])
    assert _along(x, 2) == (1 + 2) / 2 / 2  # 01 -> 00 -> 11
    assert _held_flips(x, 2).tolist() == [1.0]  # the zero is gated: 01 held, then 11
