"""One ``systolic run``: network and config in, everything the model knows out.

The stages, each a pure model function fed by the one before::

    ArrayConfig + Workload
      -> memory model        cycles with stalls, SRAM/DRAM accesses, the timed steps   (model/memory.py)
      -> energy              per layer and component class, calibrated activity      (model/energy.py)
      -> power over time     per component and floorplan block, per interval         (model/power.py)
         (DVFS policy)       per-layer operating points under a deadline             (model/dvfs.py)
      -> temperature         steady map, transient, peak; leakage coupled; DTM  (model/thermal.py, dtm.py)
      -> bounds              roofline and Eyexam bounds per layer                    (model/bounds.py)
      -> files               SCALE-Sim reports, summary.json, power CSV and .ptrace, report.html

:func:`full_run` computes; :func:`write_run` writes into a folder the caller swaps in atomically.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import ArrayConfig
from .errors import InputError
from .workload import Workload

#: Default number of power/thermal intervals when no ``--interval`` is given.
DEFAULT_INTERVALS = 200


@dataclass(frozen=True)
class RunOptions:
    """What ``systolic run`` was asked for beyond the config and the network.

    Attributes
    ----------
    calibration : str or None
        Calibration file (None: ``$SYSTOLIC_CALIBRATION`` or the shipped ``configs/calibration.json``).
    zero_frac : float
        Share of zero operands assumed for energy (no data: uniform random operands otherwise).
    interval : str or None
        Power/thermal interval (``10us``, ``5000cycles``); default: the run in 200 intervals.
    policy : str or None
        DVFS policy (``none``, ``race``, ``deadline``, ``activity``); None runs at the nominal point.
    deadline_s : float or None
        Deadline for the policy (default: the nominal run's time).
    temp_limit_k : float or None
        Dynamic thermal management holds this peak temperature.
    thermal : bool
        Compute temperatures at all.
    memory_only : bool
        SCALE-Sim's scope only: cycles, stalls, accesses, bounds, the reports (no energy, power, thermal).
    """

    calibration: str | None = None
    zero_frac: float = 0.0
    interval: str | None = None
    policy: str | None = None
    deadline_s: float | None = None
    temp_limit_k: float | None = None
    thermal: bool = True
    memory_only: bool = False


@dataclass
class RunResult:
    """Everything :func:`full_run` computed (model objects, not files)."""

    cfg: ArrayConfig
    workload: Workload
    res: dict[str, Any]  # reports.run_results: gemm, memory, compute, schedule, windows
    summary: dict[str, Any]  # summary.json; energy, power and thermal sections added by their stages
    energy: Any = None  # energy.LayerEnergy
    calibration_path: Path | None = None
    dvfs: Any = None  # dvfs.DvfsResult (always: the nominal plan when no policy is asked for)
    edges_s: np.ndarray | None = None
    interval_power: Any = None  # power.IntervalPower
    block_power_w: np.ndarray | None = None  # [interval, block], dynamic + leakage at the reference T
    floorplan: Any = None
    thermal: Any = None  # thermal_cli.RunThermal
    bounds: Any = None  # bounds.Bounds
    stage_s: dict[str, float] = field(default_factory=dict)


def _check(opts: RunOptions) -> None:
    if not (math.isfinite(opts.zero_frac) and 0.0 <= opts.zero_frac <= 1.0):
        raise InputError(f"must be in 0..1, not {opts.zero_frac:g}", "--zero-frac")
    if opts.deadline_s is not None and not (math.isfinite(opts.deadline_s) and opts.deadline_s > 0):
        raise InputError(
            f"must be a positive number of milliseconds, not {opts.deadline_s * 1e3:g}", "--deadline-ms"
        )
    if opts.deadline_s is not None and opts.policy is None:
        raise InputError(
            "a deadline needs a DVFS policy (--policy race|deadline|activity|none)", "--deadline-ms"
        )
    if opts.temp_limit_k is not None and not (math.isfinite(opts.temp_limit_k) and opts.temp_limit_k > 0):
        raise InputError(
            f"must be a temperature above absolute zero, not {opts.temp_limit_k - 273.15:g} C",
            "--temp-limit-c",
        )
    if opts.memory_only:
        asked = [
            flag
            for flag, given in (
                ("--calibration", opts.calibration is not None),
                ("--zero-frac", opts.zero_frac != 0.0),
                ("--interval", opts.interval is not None),
                ("--policy", opts.policy is not None),
                ("--temp-limit-c", opts.temp_limit_k is not None),
            )
            if given
        ]
        if asked:
            raise InputError(f"{', '.join(asked)} need(s) the energy and power stages", "--memory-only")
    if opts.temp_limit_k is not None and not opts.thermal:
        raise InputError("a temperature limit needs the thermal model (drop --no-thermal)", "--temp-limit-c")


def full_run(cfg: ArrayConfig, wl: Workload, opts: RunOptions = RunOptions()) -> RunResult:
    """Run every stage of the model on ``wl`` (see the module docstring); with ``opts.memory_only``
    only the memory model and the bounds (SCALE-Sim's scope)."""
    from . import reports
    from .model.bounds import layer_bounds

    _check(opts)
    stage: dict[str, float] = {}
    clock = [time.perf_counter()]

    def done(name: str) -> None:
        now = time.perf_counter()
        stage[name] = now - clock[0]
        clock[0] = now

    calibration = None
    if not opts.memory_only:
        from .calibrate_cli import load_calibration

        calibration = load_calibration(opts.calibration)  # a bad file fails before any work
    res = reports.run_results(cfg, wl)
    done("memory")
    bounds = layer_bounds(cfg, res["gemm"], res["memory"])
    done("bounds")
    summary = reports.summary(cfg, wl, res, stage["memory"])
    summary["bounds"] = bounds.to_dict()
    for i, row in enumerate(summary["layers"]):
        row["bound"] = "memory" if bool(bounds.memory_bound[i]) else "compute"
    r = RunResult(cfg, wl, res, summary, bounds=bounds, stage_s=stage)
    if opts.memory_only:
        return r
    _energy_stage(r, opts, *calibration)
    done("energy")
    if opts.thermal:
        import scipy.linalg  # noqa: F401  (loads SciPy's BLAS now, so that the limit below covers it)
    from threadpoolctl import threadpool_limits

    # small dense matrices: BLAS threads cost more than they give (and thrash a loaded machine)
    with threadpool_limits(limits=1, user_api="blas"):
        _power_stage(r, opts)
        done("power")
        if opts.thermal:
            _thermal_stage(r, opts)
            done("thermal")
    return r


def _energy_stage(r: RunResult, opts: RunOptions, calibration: Any, cal_path: Path) -> None:
    from .calibrate_cli import calibration_label
    from .model.energy import layer_energy

    gemm, mem = r.res["gemm"], r.res["memory"]
    r.energy = layer_energy(r.cfg, gemm, mem, calibration=calibration, zero_frac=opts.zero_frac)
    r.calibration_path = cal_path
    r.summary["energy"] = _energy_summary(r.cfg, r.workload, r.energy, calibration_label(cal_path), opts)
    for i, row in enumerate(r.summary["layers"]):
        row["energy_pj"] = float(r.energy.energy_pj[i].sum())


def _power_stage(r: RunResult, opts: RunOptions) -> None:
    """Power over time at the nominal point or under a DVFS policy, per component and floorplan block."""
    from .model import dvfs, power
    from .model.floorplan import floorplan_for

    cfg, mem = r.cfg, r.res["memory"]
    nominal_s = float(mem.cycles.sum()) / cfg.clock_hz
    deadline_s = opts.deadline_s if opts.deadline_s is not None else nominal_s
    # the policies that aim at the deadline refuse one no operating point meets (plan_policy)
    r.dvfs = dvfs.run_dvfs(
        cfg,
        r.res["gemm"],
        r.res["schedule"],
        opts.policy or "none",
        deadline_s,
        layer_dynamic_pj=r.energy.dynamic_pj,
    )
    timeline = r.dvfs.timeline
    end_s = timeline.window_s
    r.edges_s = power.interval_edges_s(
        cfg, end_s, opts.interval if opts.interval else end_s / DEFAULT_INTERVALS
    )
    r.interval_power = power.interval_power(timeline, r.edges_s)
    r.floorplan = floorplan_for(cfg)
    r.block_power_w = power.block_power_w(timeline, r.edges_s, r.floorplan)
    r.summary["power"] = _power_summary(r.interval_power, r.dvfs, opts)


def _thermal_stage(r: RunResult, opts: RunOptions) -> None:
    """Temperatures from each block's dynamic power per interval and its leakage at the reference
    temperature, coupled to temperature; DTM when a limit is given."""
    from .model import power
    from .thermal_cli import run_thermal

    timeline, edges, flp = r.dvfs.timeline, r.edges_s, r.floorplan
    no_leak = dataclasses.replace(timeline, leakage_pj=np.zeros_like(timeline.leakage_pj))
    dynamic = power.block_power_w(no_leak, edges, flp)
    width = np.diff(edges)
    leak_ref = ((r.block_power_w - dynamic) * width[:, None]).sum(axis=0) / width.sum()
    r.thermal = run_thermal(
        r.cfg, dynamic, float(width[0]), flp.names, leakage=leak_ref, limit_k=opts.temp_limit_k, region="auto"
    )
    r.summary["thermal"] = r.thermal.summary()


def _energy_summary(
    cfg: ArrayConfig, wl: Workload, e: Any, cal_label: str, opts: RunOptions
) -> dict[str, Any]:
    from .model.energy import COMPONENT_CLASSES

    total = e.energy_pj.sum(axis=0)  # [class]
    all_pj = float(total.sum())
    memory = sum(float(total[i]) for i, c in enumerate(COMPONENT_CLASSES) if "sram" in c or c == "dram")
    seconds = float(e.cycles.sum()) / cfg.clock_hz
    return {
        "calibration": cal_label,
        "zero_frac": opts.zero_frac,
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


def _power_summary(ip: Any, d: Any, opts: RunOptions) -> dict[str, Any]:
    total = ip.total_w
    out = {
        "intervals": int(total.size),
        "interval_s": float(ip.edges_s[1] - ip.edges_s[0]),
        "average_w": float((total * np.diff(ip.edges_s)).sum() / (ip.edges_s[-1] - ip.edges_s[0])),
        "peak_w": float(total.max()),
        "peak_interval": int(np.argmax(total)),
    }
    if opts.policy is not None:
        plan, nominal = d.plan, d.nominal
        out["dvfs"] = {
            "policy": plan.policy,
            "deadline_s": plan.deadline_s,
            "time_s": plan.time_s,
            "deadline_met": plan.met,
            "energy_j": plan.energy_pj * 1e-12,
            "nominal_energy_j": nominal.energy_pj * 1e-12,
            "saved_j": (nominal.energy_pj - plan.energy_pj) * 1e-12,
            "saved_fraction": (nominal.energy_pj - plan.energy_pj) / nominal.energy_pj
            if nominal.energy_pj
            else 0.0,
            "transitions": int(plan.changes.sum()),
        }
    return out


def report_lines(r: RunResult) -> list[str]:
    """What ``systolic run`` prints, one line per stage."""
    s, cfg, wl = r.summary, r.cfg, r.workload
    t = s["total"]
    lines = [
        f"{wl.name} on {cfg.name} ({cfg.rows}x{cfg.cols} {cfg.dataflow.value.upper()}): {len(wl)} layers, "
        f"{t['cycles']:,} cycles ({t['seconds'] * 1e3:.3f} ms at {cfg.clock_hz / 1e9:g} GHz), "
        f"{t['stall_cycles']:,} stall cycles, utilisation {100 * t['utilisation']:.1f}%, "
        f"DRAM {t['dram_words']:,} words ({t['dram_words_per_cycle']:.2f}/cycle)",
    ]
    e, p = s.get("energy"), s.get("power", {})
    if e is not None:
        lines.append(
            f"energy {e['total_j'] * 1e3:.4g} mJ ({e['pj_per_mac']:.3f} pJ/MAC, "
            f"{e['tops_per_w']:.2f} TOPS/W at {cfg.vdd_v:g} V; memory {100 * e['memory_share']:.0f}%, "
            f"leakage {e['leakage_j'] / e['total_j'] * 100:.0f}%); "
            f"calibration {e['calibration']}"
        )
    if p:
        lines.append(
            f"power {p['average_w']:.3f} W average, {p['peak_w']:.3f} W peak over {p['intervals']} intervals "
            f"of {p['interval_s'] * 1e6:.4g} us"
        )
    if "dvfs" in p:
        d = p["dvfs"]
        lines.append(
            f"DVFS {d['policy']}: {d['time_s'] * 1e3:.4f} ms against a deadline of "
            f"{d['deadline_s'] * 1e3:.4g} ms "
            f"({'met' if d['deadline_met'] else 'MISSED'}), {d['energy_j'] * 1e3:.4g} mJ, saved "
            f"{d['saved_j'] * 1e3:.4g} mJ ({100 * d['saved_fraction']:.1f}%) against nominal, "
            f"{d['transitions']} transitions"
        )
    if r.thermal is not None:
        lines += r.thermal.lines()
    memory_bound = int(sum(row["bound"] == "memory" for row in s["layers"]))
    lines.append(
        f"roofline: {memory_bound} of {len(wl)} layers memory-bound; "
        f"model {sum(r.stage_s.values()) * 1e3:.0f} ms"
    )
    return lines


def html_sections(r: RunResult) -> dict[str, Any]:
    """The optional sections of the HTML report (see ``systolic/html_report.py``)."""
    e = r.energy
    if e is None:  # --memory-only
        return {}
    from .model import power
    from .model.energy import COMPONENT_CLASSES

    sections: dict[str, Any] = {
        "energy": {
            "classes_pj": {c: e.energy_pj[:, i] for i, c in enumerate(COMPONENT_CLASSES)},
            "note": f"calibrated activity ({r.summary['energy']['calibration']}), zero fraction "
            f"{r.summary['energy']['zero_frac']:g}",
        },
        "power": {
            "edges_s": r.interval_power.edges_s,
            "power_w": dict(zip(power.COLUMNS, r.interval_power.power_w.T, strict=True)),
        },
    }
    if "dvfs" in r.summary["power"]:
        ip = r.interval_power
        sections["dvfs"] = {
            "edges_s": ip.edges_s,
            "vdd_v": dict(zip(power.PARTS, ip.v_part.T, strict=True)),
            "clock_hz": dict(zip(power.PARTS, ip.f_part.T, strict=True)),
        }
    if r.thermal is not None:
        sections["thermal"] = _thermal_map(r)
    return sections


def _thermal_map(r: RunResult, pixels: int = 240) -> dict[str, Any]:
    """Block temperatures rasterised over the floorplan (for the HTML report): the steady state at average
    power, and the transient's interval with the peak temperature."""
    flp, run = r.floorplan, r.thermal.run
    left, bottom = flp.left_m, flp.bottom_m
    right, top = left + flp.width_m, bottom + flp.height_m
    w, h = float(right.max()), float(top.max())
    nx = pixels
    ny = max(1, round(pixels * h / w))
    xs = (np.arange(nx) + 0.5) * w / nx  # [x]
    ys = h - (np.arange(ny) + 0.5) * h / ny  # [y] north row first
    inside_x = (xs[None, :] >= left[:, None]) & (xs[None, :] < right[:, None])  # [block, x]
    inside_y = (ys[None, :] >= bottom[:, None]) & (ys[None, :] < top[:, None])  # [block, y]
    owner = np.argmax(inside_y[:, :, None] & inside_x[:, None, :], axis=0)  # [y, x] first block covering
    peak = run.transient_k[run.peak_row]  # [block]
    return {
        "map_k": run.steady_k[owner],
        "peak_map_k": peak[owner],
        "peak_label": f"At {run.peak_time_s * 1e3:.4g} ms (the peak)",
        "width_mm": w * 1e3,
        "height_mm": h * 1e3,
        "note": f"hottest block {run.peak_block} reaches {run.peak_k - 273.15:.2f} C at "
        f"{run.peak_time_s * 1e3:.4g} ms in the transient; steady state at average power",
    }


def write_run(r: RunResult, out: Path, traces: bool = False) -> list[str]:
    """Write the run's files into ``out`` (a folder the caller swaps in whole); return their names."""
    from . import reports
    from .fileio import atomic_write_json, atomic_write_text
    from .html_report import write_html_report

    written = []
    for name, text in reports.report_texts(r.cfg, r.workload, r.res).items():
        atomic_write_text(out / name, text)
        written.append(name)
    if r.energy is not None:
        from .hotspot_io import format_flp, format_trace
        from .model import power

        atomic_write_text(out / "ENERGY_REPORT.csv", _energy_csv(r))
        atomic_write_text(out / "power.csv", power.timeline_csv(r.interval_power))
        atomic_write_text(out / "power.ptrace", format_trace(r.floorplan.names, r.block_power_w, "%.6f"))
        atomic_write_text(
            out / "floorplan.flp", format_flp(r.floorplan, f"systolic floorplan of {r.cfg.name}")
        )
        written += ["ENERGY_REPORT.csv", "power.csv", "power.ptrace", "floorplan.flp"]
    stable = {k: v for k, v in r.summary.items() if k != "model_seconds"}
    atomic_write_json(out / "summary.json", stable)
    write_html_report(out / "report.html", r.summary, r.bounds, html_sections(r))
    written += ["summary.json", "report.html"]
    if traces:
        rows = reports.write_traces(r.cfg, r.workload, r.res, out)
        written.append(f"layer<i>/*_TRACE.csv ({rows:,} rows)")
    return written


def _energy_csv(r: RunResult) -> str:
    from .model.energy import COMPONENT_CLASSES

    e = r.energy
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
    for i, layer in enumerate(r.workload):
        total = float(e.energy_pj[i].sum())
        row = [str(i), layer.name, str(int(e.macs[i])), str(int(e.cycles[i]))]
        row += [f"{v:.6g}" for v in e.energy_pj[i]]
        row += [f"{float(e.leakage_pj[i].sum()):.6g}", f"{total:.6g}", f"{total / e.macs[i]:.6g}"]
        lines.append(", ".join(row))
    return "\n".join(lines) + "\n"
