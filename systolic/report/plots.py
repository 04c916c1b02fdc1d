"""Plots drawn with matplotlib (PNG): ``systolic dvfs``'s power and clocks over time."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from systolic.model import power
from systolic.model.power import IntervalPower


def dvfs_png(ip: IntervalPower, summary: dict[str, Any]) -> bytes:
    """``systolic dvfs``'s plot: stacked power per component over time, and each domain's clock."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_ms = ip.edges_s * 1e3
    fig, (ax_p, ax_f) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, constrained_layout=True)
    bottom = np.zeros(ip.power_w.shape[0])
    for j, name in enumerate(power.COLUMNS):
        if ip.power_w[:, j].any():
            ax_p.stairs(bottom + ip.power_w[:, j], t_ms, baseline=bottom, fill=True, label=name)
            bottom = bottom + ip.power_w[:, j]
    ax_p.set_ylabel("power (W)")
    ax_p.legend(ncol=5, fontsize=7, loc="upper right")
    ax_p.set_title(
        f"{summary['network']} on {summary['arch']}: policy {summary['policy']}, "
        f"{summary['energy_j'] * 1e3:.3f} mJ ({100 * summary['saved_fraction']:.1f}% saved)"
    )
    for p, (name, style) in enumerate(zip(power.PARTS, ("-", "--", ":"), strict=True)):
        ax_f.stairs(ip.f_part[:, p] / 1e6, t_ms, baseline=None, label=name, linewidth=1.5, linestyle=style)
    ax_f.axvline(summary["deadline_s"] * 1e3, color="k", linestyle="--", linewidth=1, label="deadline")
    ax_f.set_ylabel("clock (MHz)")
    ax_f.set_xlabel("time (ms)")
    ax_f.legend(fontsize=7, loc="lower left")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
