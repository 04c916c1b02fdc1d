"""model/energy/activity.py: regressors of TOGGLE_FEATURES against hand-computed small cases (one
statistic set to a round value, the rest zero, so each regressor is a count times a width times it)."""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig, Dataflow
from systolic.model import energy as en
from systolic.model.cycles import GemmArrays
from systolic.model.energy.streams import COLUMN


def _cfg(df: Dataflow = Dataflow.WS, **kw) -> ArrayConfig:
    base = dict(rows=4, cols=4, dataflow=df, input_bits=8, weight_bits=8, zero_gating=False)
    return ArrayConfig(**{**base, **kw})


def _feature(cfg: ArrayConfig, m: int, n: int, k: int, cls: str, j: int, **stats: float) -> float:
    counts = en.activity_counts(cfg, GemmArrays.of(m, n, k))
    row = np.zeros(len(en.STAT_COLUMNS))
    for name, value in stats.items():
        row[COLUMN[name]] = value
    return float(en.toggle_features(cfg, counts, row)[0, en.COMPONENT_CLASSES.index(cls), j])


def test_banked_weight_swaps_once_per_fold_and_once_more_per_tile():
    # WS 4x4, 8-bit weights, n_r = 0.5: every one of the 16 PEs swaps banks per fold (4 bits each) and
    # shows the other bank's stale weight once more per tile
    cfg = _cfg()
    one = en.activity_counts(cfg, GemmArrays.of(8, 4, 4))
    assert (one.folds[0], one.tiles[0]) == (1, 1)
    assert _feature(cfg, 8, 4, 4, "mult", 1, n_r=0.5) == 8 * (1 + 1) * 16 * 0.5
    two = en.activity_counts(cfg, GemmArrays.of(8, 4, 8))  # two row folds in one tile
    assert (two.folds[0], two.tiles[0]) == (2, 1)
    assert _feature(cfg, 8, 4, 8, "mult", 1, n_r=0.5) == 8 * (2 + 1) * 16 * 0.5
    # without the banks (serial folds) the multiplier's input is the weight register's shifting stream
    serial = _cfg(fold_overlap=False)
    k = en.activity_counts(serial, GemmArrays.of(8, 4, 8))
    assert _feature(serial, 8, 4, 8, "mult", 1, n_r=0.5, n_s=0.25) == 8 * k.north_hops[0] * 0.25
