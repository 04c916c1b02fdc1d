"""``systolic dvfs``: a DVFS policy on a network, its power over time, and what it saves against nominal.

``systolic dvfs --arch tpu-v1-128 --topology resnet50 --deadline-ms 4.5 --policy deadline --out runs/d``
prints the timeline (per interval: each domain's supply and clock, power per component), the energy over
the deadline window, the energy saved against the nominal operating point and whether the deadline is
met. ``--out DIR`` writes, replacing DIR whole: ``timeline.csv``, ``power.ptrace`` with the matching
``floorplan.flp`` (for ``systolic thermal``), ``layers.csv`` (each layer's operating points),
``summary.json`` and ``dvfs.png``. Exit status 1 when the plan misses the deadline (only ``none`` can),
2 on bad input, such as a deadline no operating point meets.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from typing import Any

import numpy as np

from .errors import InputError


def add_dvfs(sub: Any) -> None:
    """Register ``systolic dvfs``."""
    from .cli import _add_arch_args, _add_net_params

    p = sub.add_parser(
        "dvfs",
        help="power over time and DVFS policies (none, race, deadline, activity) against a deadline",
        description="Plan per-layer voltage and frequency of the array, SRAM and DRAM-interface domains "
        "for a network under a deadline; print the timeline, total energy and the saving against nominal.",
    )
    _add_arch_args(p)
    p.add_argument("--topology", dest="net", required=True, metavar="NET|FILE", help="zoo name, CSV or ONNX")
    _add_net_params(p)
    p.add_argument(
        "--deadline-ms", type=float, required=True, metavar="MS", help="time for the whole network (ms)"
    )
    p.add_argument(
        "--policy",
        choices=("none", "race", "deadline", "activity"),
        default="deadline",
        help="nominal point (none), fastest then idle (race), least energy meeting the deadline "
        "(deadline, default), or slow the under-used domains of each layer (activity)",
    )
    p.add_argument(
        "--interval",
        metavar="LENGTH",
        help="length of a timeline interval: 10us, 0.5ms, 2e-6s or 20000cycles (nominal clock); "
        "default: the window in 50 intervals",
    )
    p.add_argument(
        "--temperature-k", type=float, default=None, metavar="K", help="die temperature for leakage"
    )
    p.add_argument(
        "--energy",
        choices=("calibrated", "default"),
        default="calibrated",
        help="per-layer energy from the calibrated activity model (default; the calibration file of "
        "systolic calibrate) or from the energy table at the reference activity 0.5",
    )
    p.add_argument("--out", metavar="DIR", help="write the timeline, ptrace, summary and plot into DIR")
    p.set_defaults(func=_dvfs)


def _dvfs(args: argparse.Namespace) -> int:
    from .cli import load_workload_arg, resolve_arch
    from .model import dvfs, power
    from .model.cycles import GemmArrays
    from .model.energy import LEAK_T_REF_K
    from .model.memory import memory_cycles

    start = time.perf_counter()
    cfg = resolve_arch(args)
    wl = load_workload_arg(args)
    deadline_s = args.deadline_ms * 1e-3
    if not np.isfinite(deadline_s) or deadline_s <= 0:
        raise InputError(
            f"must be a positive number of milliseconds, not {args.deadline_ms:g}", "--deadline-ms"
        )
    temperature_k = LEAK_T_REF_K if args.temperature_k is None else args.temperature_k
    if not 200.0 <= temperature_k <= 500.0:
        raise InputError(f"must be in 200..500 K, not {temperature_k:g}", "--temperature-k")
    gemm = GemmArrays.from_workload(wl)
    mem = memory_cycles(cfg, gemm, [layer.name for layer in wl])
    layer_pj, energy_note = None, "energy table at activity 0.5"
    if args.energy == "calibrated":
        from .calibrate_cli import calibration_label, load_calibration
        from .model.energy import layer_energy

        calibration, cal_path = load_calibration()
        layer_pj = layer_energy(
            cfg, gemm, mem, calibration=calibration, temperature_k=temperature_k
        ).dynamic_pj
        energy_note = f"calibrated energy ({calibration_label(cal_path)})"
    run = dvfs.run_dvfs(cfg, gemm, mem.schedule, args.policy, deadline_s, temperature_k, layer_pj)
    dvfs.check_deadline(run.costs, deadline_s)  # also for 'none', which does not aim at the deadline
    costs, plan, nominal, tl = run.costs, run.plan, run.nominal, run.timeline
    edges = power.interval_edges_s(cfg, tl.end_s, args.interval)
    ip = power.interval_power(tl, edges)
    model_s = time.perf_counter() - start

    summary = _summary(cfg, wl, costs, plan, nominal, tl, edges)
    summary["energy_model"] = args.energy
    print(_table(ip))
    print(_headline(cfg, wl, summary))
    print(f"{energy_note}; model {model_s * 1e3:.0f} ms", file=sys.stderr)
    if args.out:
        _write_outputs(args.out, cfg, costs, plan, tl, ip, edges, summary, wl)
        files = "timeline.csv, power.ptrace, floorplan.flp, layers.csv, summary.json, dvfs.png"
        print(f"wrote {files} to {args.out}")
    return 0 if plan.met else 1


def _summary(cfg, wl, costs, plan, nominal, tl, edges) -> dict[str, Any]:
    from .model import power

    saved = nominal.energy_pj - plan.energy_pj
    return {
        "network": wl.name,
        "arch": cfg.name,
        "policy": plan.policy,
        "deadline_s": plan.deadline_s,
        "time_s": plan.time_s,
        "deadline_met": plan.met,
        "fastest_time_s": float(costs.time_s[costs.fastest].sum()),
        "nominal_time_s": nominal.time_s,
        "slowest_time_s": float(costs.time_s[costs.slowest].sum()),
        "energy_j": plan.energy_pj * 1e-12,
        "nominal_energy_j": nominal.energy_pj * 1e-12,
        "saved_j": saved * 1e-12,
        "saved_fraction": saved / nominal.energy_pj if nominal.energy_pj else 0.0,
        "energy_by_component_j": {
            c: float(e) * 1e-12 for c, e in zip(power.COLUMNS, tl.energy_pj, strict=True)
        },
        "transitions": int(plan.changes.sum()),
        "idle_drop": plan.idle_drop,
        "domains": list(cfg.dvfs_domains),
        "operating_points": [
            {"vdd_v": float(v), "clock_hz": float(f)}
            for v, f in zip(costs.level_v, costs.level_hz, strict=True)
        ],
        "interval_s": float(edges[1] - edges[0]),
        "intervals": int(edges.size - 1),
    }


def _table(ip) -> str:
    from .model import power

    head = ["t_ms"] + [f"{p}_V@MHz" for p in power.PARTS] + [c for c in power.COLUMNS] + ["total_W"]
    rows = []
    for i in range(ip.power_w.shape[0]):
        row = [f"{ip.edges_s[i] * 1e3:.4f}"]
        row += [f"{ip.v_part[i, p]:.2f}@{ip.f_part[i, p] / 1e6:.0f}" for p in range(len(power.PARTS))]
        row += [f"{w:.3f}" for w in ip.power_w[i]]
        row.append(f"{ip.total_w[i]:.3f}")
        rows.append(row)
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(head)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def _headline(cfg, wl, s: dict[str, Any]) -> str:
    met = "met" if s["deadline_met"] else "MISSED"
    return (
        f"{wl.name} on {cfg.name} ({cfg.rows}x{cfg.cols}), policy {s['policy']}: finishes at "
        f"{s['time_s'] * 1e3:.4f} ms, deadline {s['deadline_s'] * 1e3:.4g} ms {met} (fastest "
        f"{s['fastest_time_s'] * 1e3:.4f} ms, nominal {s['nominal_time_s'] * 1e3:.4f} ms); energy to the "
        f"deadline {s['energy_j'] * 1e3:.4f} mJ, nominal {s['nominal_energy_j'] * 1e3:.4f} mJ, saved "
        f"{s['saved_j'] * 1e3:.4f} mJ ({100 * s['saved_fraction']:.1f}%); {s['transitions']} domain "
        f"transitions"
    )


def _layers_csv(wl, costs, plan) -> str:
    from .model import power

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


def _plot_png(ip, summary: dict[str, Any]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .model import power

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


def _write_outputs(out, cfg, costs, plan, tl, ip, edges, summary, wl) -> None:
    from .fileio import AtomicDir, atomic_write_json, atomic_write_text
    from .hotspot_io import format_flp, format_trace
    from .model import power
    from .model.floorplan import floorplan_for

    flp = floorplan_for(cfg)
    blocks = power.block_power_w(tl, edges, flp)
    with AtomicDir(out) as tmp:
        atomic_write_text(tmp / "timeline.csv", power.timeline_csv(ip))
        atomic_write_text(tmp / "power.ptrace", format_trace(flp.names, blocks, "%.6f"))
        atomic_write_text(tmp / "floorplan.flp", format_flp(flp, f"systolic floorplan of {cfg.name}"))
        atomic_write_text(tmp / "layers.csv", _layers_csv(wl, costs, plan))
        atomic_write_json(tmp / "summary.json", summary)
        (tmp / "dvfs.png").write_bytes(_plot_png(ip, summary))
