"""``systolic dvfs``'s flow: a DVFS policy planned over a network's layers under a deadline, its power over
time, and what it saves against the nominal operating point; the files that show it.

:func:`plan_network` computes (memory model, calibrated energy, ``model.dvfs.run_dvfs``, intervals);
:func:`write_dvfs` writes into a folder the caller swaps in whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.fileio import atomic_write_json, atomic_write_text
from systolic.model import power
from systolic.model.dvfs import DvfsResult
from systolic.report import summary
from systolic.workload import Workload

from . import limits


@dataclass(frozen=True, eq=False)
class DvfsReport:
    """A planned network: the plan and its timeline, the intervals and the summary (``summary.json``)."""

    cfg: ArrayConfig
    workload: Workload
    run: DvfsResult
    edges_s: np.ndarray
    interval_power: power.IntervalPower
    summary: dict[str, Any]
    energy_note: str


def plan_network(
    cfg: ArrayConfig,
    wl: Workload,
    policy: str,
    deadline_s: float,
    interval: str | None = None,
    temperature_k: float | None = None,
    energy: str = "calibrated",
    force: bool = False,
) -> DvfsReport:
    """Plan ``policy`` for ``wl`` on ``cfg`` under ``deadline_s``; ``energy`` is ``calibrated`` (the
    calibration file's activity model) or ``default`` (the energy table at activity 0.5). Over the memory
    or time budgets (``flow/limits.py``) it is refused before the work, unless ``force``."""
    from systolic.model import dvfs
    from systolic.model.cycles import GemmArrays
    from systolic.model.energy import LEAK_T_REF_K
    from systolic.model.floorplan import floorplan_blocks
    from systolic.model.memory import memory_cycles

    if not np.isfinite(deadline_s) or deadline_s <= 0:
        raise InputError(f"must be a positive number of milliseconds, not {deadline_s * 1e3:g}", "deadline")
    temperature_k = LEAK_T_REF_K if temperature_k is None else temperature_k
    if not 200.0 <= temperature_k <= 500.0:
        raise InputError(f"must be in 200..500 K, not {temperature_k:g}", "temperature")
    from systolic.model.grouped import lower_groups

    from .run import RunOptions, check_cost

    wl = lower_groups(cfg, wl)  # grouped convolutions in blocks (group_blocks), as systolic run has them
    check_cost(cfg, wl, RunOptions(force=force))
    gemm = GemmArrays.from_workload(wl)
    mem = memory_cycles(cfg, gemm, [layer.name for layer in wl])
    nominal_s = float(mem.cycles.sum()) / cfg.clock_hz
    limits.check_intervals(cfg, max(nominal_s, deadline_s), interval, floorplan_blocks(cfg), force)
    layer_pj, energy_note = None, "energy table at activity 0.5"
    if energy == "calibrated":
        from systolic.formats.calibration import calibration_label, load_calibration
        from systolic.model.energy import layer_energy

        calibration, cal_path = load_calibration()
        layer_pj = layer_energy(
            cfg, gemm, mem, calibration=calibration, temperature_k=temperature_k
        ).by_activity_pj
        energy_note = f"calibrated energy ({calibration_label(cal_path)})"
    run = dvfs.run_dvfs(cfg, gemm, mem.schedule, policy, deadline_s, temperature_k, layer_pj)
    dvfs.check_deadline(run.costs, deadline_s)  # also for 'none', which does not aim at the deadline
    limits.check_intervals(cfg, run.timeline.end_s, interval, floorplan_blocks(cfg), force)
    edges = power.interval_edges_s(cfg, run.timeline.end_s, interval)
    ip = power.interval_power(run.timeline, edges)
    summary = _summary(cfg, wl, run, edges)
    summary["energy_model"] = energy
    return DvfsReport(cfg, wl, run, edges, ip, summary, energy_note)


def _summary(cfg: ArrayConfig, wl: Workload, run: DvfsResult, edges: np.ndarray) -> dict[str, Any]:
    costs, tl = run.costs, run.timeline
    return {
        **run.summary(),
        "network": wl.name,
        "arch": cfg.name,
        "fastest_time_s": float(costs.time_s[costs.fastest].sum()),
        "nominal_time_s": run.nominal.time_s,
        "slowest_time_s": float(costs.time_s[costs.slowest].sum()),
        "energy_by_component_j": {
            c: float(e) * 1e-12 for c, e in zip(power.COLUMNS, tl.energy_pj, strict=True)
        },
        "idle_drop": run.plan.idle_drop,
        "domains": list(cfg.dvfs_domains),
        "operating_points": [
            {"vdd_v": float(v), "clock_hz": float(f)}
            for v, f in zip(costs.level_v, costs.level_hz, strict=True)
        ],
        "interval_s": float(edges[1] - edges[0]),
        "intervals": int(edges.size - 1),
    }


#: What :func:`write_dvfs` writes into its folder.
DVFS_FILES: tuple[str, ...] = (
    "timeline.csv",
    "power.ptrace",
    "floorplan.flp",
    "layers.csv",
    "summary.json",
    "dvfs.png",
)


def write_dvfs(report: DvfsReport, out: Path) -> list[str]:
    """``timeline.csv``, ``power.ptrace`` + ``floorplan.flp``, ``layers.csv``, ``summary.json`` and
    ``dvfs.png`` into ``out``; returns their names."""
    from systolic.formats.hotspot import write_power_trace
    from systolic.model.floorplan import floorplan_for
    from systolic.report.plots import dvfs_png

    flp = floorplan_for(report.cfg)
    blocks = power.block_power_w(report.run.timeline, report.edges_s, flp)
    atomic_write_text(out / "timeline.csv", summary.timeline_csv(report.interval_power))
    written = ["timeline.csv", *write_power_trace(out, report.cfg.name, flp, blocks)]
    atomic_write_text(out / "layers.csv", _layers_csv(report.workload, report.run))
    atomic_write_json(out / "summary.json", report.summary)
    (out / "dvfs.png").write_bytes(dvfs_png(report.interval_power, report.summary))
    return [*written, "layers.csv", "summary.json", "dvfs.png"]


def _layers_csv(wl: Workload, run: DvfsResult) -> str:
    costs, plan = run.costs, run.plan
    head = ["layer", "name"] + [f"{p}_{q}" for p in power.PARTS for q in ("v", "hz")]
    head += ["time_s", "energy_j", "transitions_before"]
    lines = [",".join(head)]
    rows = np.arange(costs.layers)
    t = costs.time_s[plan.choice, rows]
    e = costs.energy_pj[plan.choice, rows] * 1e-12
    for i, layer in enumerate(wl):
        vf = [f"{x:.6g}" for p in range(len(power.PARTS)) for x in (plan.v_part[i, p], plan.f_part[i, p])]
        lines.append(",".join([str(i), layer.name, *vf, f"{t[i]:.6g}", f"{e[i]:.6g}", str(plan.changes[i])]))
    return "\n".join(lines) + "\n"
