"""``systolic dvfs``: a DVFS policy on a network, its power over time, and what it saves against nominal.

``systolic dvfs --arch tpu-v1-128 --topology resnet50 --deadline-ms 4.5 --policy deadline --out runs/d``
prints the timeline (per interval: each domain's supply and clock, power per component), the energy over
the deadline window, the energy saved against the nominal operating point and whether the deadline is
met. ``--out DIR`` writes, when the plan is done (replacing only what systolic wrote there before):
``timeline.csv``, ``power.ptrace`` with the matching
``floorplan.flp`` (for ``systolic thermal``), ``layers.csv`` (each layer's operating points),
``summary.json`` and ``dvfs.png``. Exit status 1 when the plan misses the deadline (only ``none`` can),
2 on bad input, such as a deadline no operating point meets.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .common import add_arch_args, add_force, add_net_params, existing_files, load_workload_arg, resolve_arch


def add(sub: Any) -> None:
    """Register ``systolic dvfs``."""
    p = sub.add_parser(
        "dvfs",
        help="power over time and DVFS policies (none, race, deadline, activity) against a deadline",
        description="Plan per-layer voltage and frequency of the array, SRAM and DRAM-interface domains "
        "for a network under a deadline; print the timeline, total energy and the saving against nominal.",
    )
    add_arch_args(p)
    p.add_argument("--topology", dest="net", required=True, metavar="NET|FILE", help="zoo name, CSV or ONNX")
    add_net_params(p)
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
    temp = p.add_mutually_exclusive_group()
    temp.add_argument(
        "--temperature-c",
        type=float,
        default=None,
        metavar="C",
        help="die temperature for leakage in Celsius, as --temp-limit-c of systolic run (default 25)",
    )
    temp.add_argument("--temperature-k", type=float, default=None, metavar="K", help="the same in kelvin")
    p.add_argument(
        "--energy",
        choices=("calibrated", "default"),
        default="calibrated",
        help="per-layer energy from the calibrated activity model (default; the calibration file of "
        "systolic calibrate) or from the energy table at the reference activity 0.5",
    )
    p.add_argument("--out", metavar="DIR", help="write the timeline, ptrace, summary and plot into DIR")
    add_force(p)
    p.set_defaults(func=_dvfs)


def _temperature_k(args: argparse.Namespace) -> float | None:
    """The die temperature in kelvin from ``--temperature-c`` or ``--temperature-k`` (None: the default)."""
    if args.temperature_c is None:
        return args.temperature_k
    from systolic.errors import InputError

    if not -73.15 <= args.temperature_c <= 226.85:  # the model's 200..500 K
        raise InputError(f"must be in -73.15..226.85 C, not {args.temperature_c:g}", "--temperature-c")
    return args.temperature_c + 273.15


def _dvfs(args: argparse.Namespace) -> int:
    from systolic.flow.dvfs import DVFS_FILES, plan_network

    start = time.perf_counter()
    if args.out is not None:
        from systolic.fileio import check_output
        from systolic.formats.calibration import calibration_path

        calibration = str(calibration_path()) if args.energy == "calibrated" else None
        inputs = existing_files(args.arch, args.net, calibration)
        check_output(args.out, inputs, folder=True, names=DVFS_FILES)
    cfg = resolve_arch(args)
    wl = load_workload_arg(args)
    report = plan_network(
        cfg,
        wl,
        args.policy,
        args.deadline_ms * 1e-3,
        args.interval,
        _temperature_k(args),
        args.energy,
        force=args.force,
    )
    model_s = time.perf_counter() - start
    print(_table(report.interval_power))
    print(_headline(cfg, wl, report.summary))
    print(f"{report.energy_note}; model {model_s * 1e3:.0f} ms", file=sys.stderr)
    if args.out is not None:
        from systolic.fileio import OutputDir
        from systolic.flow.dvfs import write_dvfs

        with OutputDir(args.out) as tmp:
            written = write_dvfs(report, tmp)
        print(f"wrote {', '.join(written)} to {args.out}")
    return 0 if report.run.plan.met else 1


def _table(ip) -> str:
    from systolic.model import power

    head = ["t_ms"] + [f"{p}_V@MHz" for p in power.PARTS] + [c for c in power.COLUMNS] + ["total_W"]
    rows = []
    total_w = ip.total_w  # a property that sums every interval: once, not per row
    for i in range(ip.power_w.shape[0]):
        row = [f"{ip.edges_s[i] * 1e3:.4f}"]
        row += [f"{ip.v_part[i, p]:.2f}@{ip.f_part[i, p] / 1e6:.0f}" for p in range(len(power.PARTS))]
        row += [f"{w:.3f}" for w in ip.power_w[i]]
        row.append(f"{total_w[i]:.3f}")
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
