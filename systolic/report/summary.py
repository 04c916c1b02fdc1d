"""The JSON summary and the CSV energy report of a run, from the model's results (no file I/O)."""

from __future__ import annotations

from typing import Any

import numpy as np

from systolic.config import ArrayConfig
from systolic.model import power
from systolic.model.dvfs import DvfsResult
from systolic.model.energy import COMPONENT_CLASSES, LayerEnergy
from systolic.model.network import NetworkRun
from systolic.model.power import IntervalPower
from systolic.workload import Workload


def run_summary(cfg: ArrayConfig, workload: Workload, run: NetworkRun, model_s: float) -> dict[str, Any]:
    """The run as JSON-ready data: config, per-layer numbers and totals."""
    mem, comp = run.memory, run.compute
    plan = mem.plan
    layers = []
    for i, layer in enumerate(workload):
        layers.append(
            {
                "name": layer.name,
                "m": layer.m,
                "n": layer.n,
                "k": layer.k,
                "repeat": layer.repeat,
                "macs": int(mem.macs[i]),
                "tile": [int(plan.tm[i]), int(plan.tn[i]), int(plan.tk[i])],
                "tiles": int(plan.tiles[i]),
                "cycles": int(mem.cycles[i]),
                "compute_cycles": int(mem.compute_cycles[i]),
                "stall_cycles": int(mem.stall_cycles[i]),
                "array_only_cycles": int(comp.cycles[i]),
                "utilisation": float(mem.macs[i] / (mem.cycles[i] * cfg.rows * cfg.cols)),
                "sram_reads": {b: int(v[i]) for b, v in mem.sram_reads.items()},
                "sram_writes": {b: int(v[i]) for b, v in mem.sram_writes.items()},
                "dram_reads": {b: int(v[i]) for b, v in mem.dram_reads.items() if b != "ofmap"},
                "dram_writes": {"ofmap": int(mem.dram_writes["ofmap"][i])},
                "dram_words_per_cycle": float(mem.dram_bandwidth[i]),
            }
        )
    total = int(mem.cycles.sum())
    dram_words = int(sum(v.sum() for v in mem.dram_reads.values()) + mem.dram_writes["ofmap"].sum())
    return {
        "config": cfg.to_dict(),
        "workload": workload.name,
        "layers": layers,
        "total": {
            "cycles": total,
            "compute_cycles": int(mem.compute_cycles.sum()),
            "stall_cycles": int(mem.stall_cycles.sum()),
            "macs": int(mem.macs.sum()),
            "seconds": total / cfg.clock_hz,
            "utilisation": float(mem.macs.sum() / (total * cfg.rows * cfg.cols)),
            "dram_words": dram_words,
            "dram_words_per_cycle": dram_words / total,
        },
        "model_seconds": model_s,
    }


def energy_summary(cfg: ArrayConfig, e: LayerEnergy, cal_label: str, zero_frac: float) -> dict[str, Any]:
    """The energy section of ``summary.json``."""
    total = e.energy_pj.sum(axis=0)  # [class]
    all_pj = float(total.sum())
    memory = sum(float(total[i]) for i, c in enumerate(COMPONENT_CLASSES) if "sram" in c or c == "dram")
    seconds = float(e.cycles.sum()) / cfg.clock_hz
    return {
        "calibration": cal_label,
        "zero_frac": zero_frac,
        "total_j": all_pj * 1e-12,
        "dynamic_j": float(e.dynamic_pj.sum()) * 1e-12,
        "leakage_j": float(e.leakage_pj.sum()) * 1e-12,
        "by_component_j": {c: float(total[i]) * 1e-12 for i, c in enumerate(COMPONENT_CLASSES)},
        "memory_share": memory / all_pj if all_pj else 0.0,
        "pj_per_mac": all_pj / float(e.macs.sum()),
        "tops_per_w": float(e.tops_per_w()),
        "average_power_w": all_pj * 1e-12 / seconds,
        "clock_hz": cfg.clock_hz,
        "vdd_v": cfg.vdd_v,
    }


def power_summary(ip: IntervalPower, d: DvfsResult, policy: str | None) -> dict[str, Any]:
    """The power section of ``summary.json`` (with the DVFS plan against nominal when a policy was asked)."""
    total = ip.total_w
    out = {
        "intervals": int(total.size),
        "interval_s": float(ip.edges_s[1] - ip.edges_s[0]),
        "average_w": float((total * np.diff(ip.edges_s)).sum() / (ip.edges_s[-1] - ip.edges_s[0])),
        "peak_w": float(total.max()),
        "peak_interval": int(np.argmax(total)),
    }
    if policy is not None:
        out["dvfs"] = d.summary()
    return out


def energy_csv(workload: Workload, e: LayerEnergy) -> str:
    """``ENERGY_REPORT.csv``: per layer, energy per component class, leakage, total and pJ/MAC."""
    head = [
        "LayerID",
        "Layer",
        "MACs",
        "Cycles",
        *[f"{c} pJ" for c in COMPONENT_CLASSES],
        "Leakage pJ",
        "Total pJ",
        "pJ/MAC",
    ]
    lines = [", ".join(head)]
    for i, layer in enumerate(workload):
        total = float(e.energy_pj[i].sum())
        row = [str(i), layer.name, str(int(e.macs[i])), str(int(e.cycles[i]))]
        row += [f"{v:.6g}" for v in e.energy_pj[i]]
        row += [f"{float(e.leakage_pj[i].sum()):.6g}", f"{total:.6g}", f"{total / e.macs[i]:.6g}"]
        lines.append(", ".join(row))
    return "\n".join(lines) + "\n"


def timeline_csv(ip: IntervalPower) -> str:
    """One row per interval: its edges, each part's mean V and f, power per column and in total."""
    head = ["t_start_s", "t_end_s"]
    head += [f"{p}_{q}" for p in power.PARTS for q in ("v", "hz")]
    head += [f"{c}_w" for c in power.COLUMNS] + ["total_w"]
    vf = np.stack([ip.v_part, ip.f_part], axis=2).reshape(ip.v_part.shape[0], -1)  # [interval, part*2]
    rows = np.hstack([ip.edges_s[:-1, None], ip.edges_s[1:, None], vf, ip.power_w, ip.total_w[:, None]])
    body = "\n".join(",".join(f"{v:.6g}" for v in row) for row in rows.tolist())
    return ",".join(head) + "\n" + body + "\n"
