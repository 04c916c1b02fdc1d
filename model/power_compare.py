"""The power model's energy per time window against the RTL's toggles per window: how well the model places
energy in time, per component class (``bench/rtl_power_compare.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from systolic.errors import InputError

from .energy import COMPONENT_CLASSES
from .power import COLUMNS


@dataclass(frozen=True)
class ToggleComparison:
    """The model's interval energy against toggle counts from the RTL, per window and class.

    Attributes
    ----------
    classes : tuple of str
        The classes compared (those with toggles and model energy).
    model_pj, rtl_pj : np.ndarray, shape [window, class]
        The model's energy and the RTL's toggles times ``pj_per_toggle``.
    pj_per_toggle : np.ndarray, shape [class]
        Given, or fitted so the totals agree (then only the distribution over time is compared).
    error : np.ndarray, shape [class]
        Mean absolute per-window difference over the mean RTL energy per window (NMAE).
    total_error : float
        The same for the sum over classes.
    max_window_error : float
        The largest per-window difference of the total over the mean total per window.
    """

    classes: tuple[str, ...]
    model_pj: np.ndarray
    rtl_pj: np.ndarray
    pj_per_toggle: np.ndarray
    error: np.ndarray
    total_error: float
    max_window_error: float


def compare_toggles(
    model_pj: np.ndarray,
    toggles: np.ndarray,
    toggle_classes: Sequence[str] | None = None,
    pj_per_toggle: np.ndarray | None = None,
) -> ToggleComparison:
    """Compare the model's energy per window with the RTL's toggles per window.

    Parameters
    ----------
    model_pj : np.ndarray, shape [window, column]
        The model's energy per window, columns :data:`COLUMNS` or ``energy.COMPONENT_CLASSES`` (for
        example :attr:`IntervalPower.energy_pj` with intervals equal to the VCD windows, aligned at the
        accelerator's first busy cycle).
    toggles : np.ndarray, shape [window, class]
        ``ToggleCounts.per_window`` of ``cosim.toggles.count_toggles(..., window_cycles=...)``.
    toggle_classes : sequence of str, optional
        The toggle columns' classes (default ``cosim.toggles.CLASSES``: the component classes then
        ``other``, which is ignored).
    pj_per_toggle : np.ndarray, optional
        Energy per toggle per compared class (from the calibration); by default fitted per class so
        that the totals agree.
    """
    model = np.asarray(model_pj, dtype=float)
    tog = np.asarray(toggles, dtype=float)
    names = tuple(toggle_classes) if toggle_classes is not None else (*COMPONENT_CLASSES, "other")
    model_cols = COLUMNS if model.shape[1] == len(COLUMNS) else COMPONENT_CLASSES
    if model.shape[1] != len(model_cols):
        raise InputError(f"model energy must have {len(COLUMNS)} or {len(COMPONENT_CLASSES)} columns")
    if tog.ndim != 2 or tog.shape[1] != len(names):
        raise InputError(f"toggles must be [window, class] with {len(names)} classes, not {tog.shape}")
    n = min(model.shape[0], tog.shape[0])
    if n == 0:
        raise InputError("no windows to compare")
    if abs(model.shape[0] - tog.shape[0]) > 1:
        raise InputError(
            f"the model has {model.shape[0]} windows and the RTL {tog.shape[0]}: align them first"
        )

    def model_col(c: str) -> np.ndarray:
        if c == "dram" and model_cols is COLUMNS:
            return model[:n, COLUMNS.index("dram")] + model[:n, COLUMNS.index("dram_if")]
        return model[:n, model_cols.index(c)]

    classes = tuple(c for c in COMPONENT_CLASSES if c in names)
    m = np.stack([model_col(c) for c in classes], axis=1)  # [window, class]
    t = np.stack([tog[:n, names.index(c)] for c in classes], axis=1)
    if pj_per_toggle is None:
        tot = t.sum(axis=0)
        scale = np.where(tot > 0, m.sum(axis=0) / np.maximum(tot, 1e-300), 0.0)
    else:
        scale = np.broadcast_to(np.asarray(pj_per_toggle, dtype=float), (len(classes),))
    r = t * scale
    mean = np.maximum(r.mean(axis=0), 1e-300)
    err = np.abs(m - r).mean(axis=0) / mean
    err = np.where(r.mean(axis=0) > 0, err, np.where(m.sum(axis=0) > 0, np.inf, 0.0))
    tm, tr = m.sum(axis=1), r.sum(axis=1)
    mean_total = max(float(tr.mean()), 1e-300)
    return ToggleComparison(
        classes=classes,
        model_pj=m,
        rtl_pj=r,
        pj_per_toggle=np.asarray(scale, dtype=float),
        error=err,
        total_error=float(np.abs(tm - tr).mean() / mean_total),
        max_window_error=float(np.abs(tm - tr).max() / mean_total),
    )
