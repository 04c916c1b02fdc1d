"""The energy model against the RTL on a user's own operands (``systolic cosim --operands ... --energy``).

The layer runs on the RTL with a VCD dump; the VCD's toggles per component class
(:func:`systolic.cosim.toggles.count_toggles` with the energy rules) times the calibrated energy per
toggle are the *measured* energy, and the model's dynamic energy of the same layer from the operands'
statistics (:func:`systolic.model.energy.layer_stats`, :func:`~systolic.model.energy.layer_energy`) the
*predicted* one. Both use the same energy per toggle, so their difference is the model's error in toggles;
leakage, which the RTL does not show, is left out of both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from systolic.config import ArrayConfig


def energy_check(
    cfg: ArrayConfig,
    a: np.ndarray,
    b: np.ndarray,
    vcd: str | Path,
    calibration,
    calibration_name: str,
    conv=None,
    measured: np.ndarray | None = None,
    ifmap: np.ndarray | None = None,
) -> dict:
    """``{"classes": {class: {measured_pj, predicted_pj, error, measured_toggles, predicted_toggles}},
    "total": {measured_pj, predicted_pj, error}, "calibration": name}`` of one layer C = A @ B whose run
    on the RTL dumped ``vcd`` (one layer: the whole file is the layer, reset and idle cycles toggle next
    to nothing). ``conv``: the :class:`~systolic.workload.ConvShape` whose im2col matrix A is, when the
    run read it as a convolution (the model then plans its bands as the RTL did), else None.
    ``measured``: the VCD's toggles per component class if already counted (``vcd`` is then not read);
    ``ifmap``: the convolution's ifmap [batch, H, W, C] (the words its bands fetch that A does not hold)."""
    from systolic.model import energy as en
    from systolic.model.cycles import GemmArrays
    from systolic.model.memory import memory_cycles

    from .toggles import count_toggles, energy_rules

    n = len(en.COMPONENT_CLASSES)
    if measured is None:
        measured = count_toggles(vcd, rules=energy_rules(cfg.dataflow.value)).per_class[:n]
    measured = np.asarray(measured, dtype=float)
    gemm = GemmArrays.of(a.shape[0], b.shape[1], a.shape[1], conv=[conv])
    memory = memory_cycles(cfg, gemm)
    tile_k = memory.schedule.plan.tk
    stats = en.layer_stats(cfg, a, b, tile_k=int(tile_k[0]), conv=conv, ifmap=ifmap)
    e = en.layer_energy(cfg, gemm, memory, calibration=calibration, stats=stats)
    layer_counts = en.activity_counts(cfg, gemm, memory)
    per_toggle = en.energy_per_toggle_pj(
        cfg, layer_counts, calibration, reference_stats=en.default_stats(cfg, gemm.k, 0.0, tile_k)
    )[0]
    measured_pj = measured * per_toggle
    predicted_pj = e.dynamic_pj[0]
    classes = {
        cls: {
            "measured_pj": round(float(measured_pj[i]), 3),
            "predicted_pj": round(float(predicted_pj[i]), 3),
            "error": _error(predicted_pj[i], measured_pj[i]),
            "measured_toggles": int(measured[i]),
            "predicted_toggles": round(float(e.toggles[0, i]), 1),
        }
        for i, cls in enumerate(en.COMPONENT_CLASSES)
    }
    total_m, total_p = float(measured_pj.sum()), float(predicted_pj.sum())
    return {
        "classes": classes,
        "total": {
            "measured_pj": round(total_m, 3),
            "predicted_pj": round(total_p, 3),
            "error": _error(total_p, total_m),
        },
        "calibration": calibration_name,
        "stats": {name: round(float(v), 4) for name, v in zip(en.STAT_COLUMNS, stats, strict=True)},
    }


def _error(predicted: float, measured: float) -> float | None:
    return round(float(predicted / measured - 1), 4) if measured > 0 else None


def energy_table(energy: dict) -> str:
    """The check as a table: per class and in total, measured and predicted pJ and the error."""
    lines = [f"{'component':<12} {'measured pJ':>13} {'predicted pJ':>13} {'error':>8}"]
    rows = [*energy["classes"].items(), ("total", energy["total"])]
    for name, row in rows:
        err = "-" if row["error"] is None else f"{100 * row['error']:+.1f}%"
        lines.append(f"{name:<12} {row['measured_pj']:>13,.1f} {row['predicted_pj']:>13,.1f} {err:>8}")
    return "\n".join(lines)
