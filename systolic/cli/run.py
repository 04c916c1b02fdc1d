"""``systolic run``: every model stage on a network (``systolic.flow.run``), its report lines and files."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from systolic.errors import InputError

if TYPE_CHECKING:
    from systolic.flow.run import RunResult

from .common import (
    add_arch_args,
    add_command,
    add_force,
    add_net_params,
    existing_files,
    load_workload_arg,
    resolve_arch,
)


def add(sub: Any) -> None:
    """Register ``systolic run``."""
    p = add_command(
        sub,
        "run",
        "the fast model on a network: cycles and stalls, energy, power over time, DVFS, temperature, "
        "bounds, SCALE-Sim reports and an HTML report",
        "Runs every stage of the analytical model on a network: the memory model (cycles, stalls, SRAM and "
        "DRAM accesses), calibrated energy, power over time (optionally under a DVFS policy), temperatures "
        "(block model, leakage coupled; optionally dynamic thermal management) and the roofline and Eyexam "
        "bounds. Prints one line per stage (the model time is the wall time of these stages, without "
        "start-up and file writing); with --out writes SCALE-Sim's reports, ENERGY_REPORT.csv, power.csv, "
        "power.ptrace + floorplan.flp, summary.json and report.html.",
        [
            "systolic run --arch tpu-v1-128 --topology resnet50 --out runs/r50",
            "systolic run --arch tpu-v1-128 --topology resnet50 --temp-limit-c 47",
            "systolic run --arch small-8x8 --topology examples/my_net.csv --out runs/x --traces",
        ],
    )
    add_arch_args(p)
    p.add_argument("--topology", dest="net", required=True, metavar="NET|FILE", help="zoo name, CSV or ONNX")
    add_net_params(p)
    p.add_argument(
        "--out", metavar="DIR", help="write reports, summary.json, power trace and report.html into DIR"
    )
    p.add_argument(
        "--traces", action="store_true", help="also write SCALE-Sim-layout SRAM and DRAM traces per layer"
    )
    p.add_argument(
        "--calibration",
        metavar="FILE",
        help="activity calibration (default: $SYSTOLIC_CALIBRATION, else configs/calibration.json)",
    )
    p.add_argument(
        "--zero-frac", type=float, default=0.0, metavar="Z", help="share of zero operands assumed for energy"
    )
    p.add_argument(
        "--sample-input",
        metavar="X.npy",
        help="with an ONNX --topology: run the model on this input with onnxruntime and take each layer's "
        "data statistics from its operands (default: independent uniform operands, --zero-frac zeros)",
    )
    p.add_argument(
        "--interval",
        metavar="LENGTH",
        help="power/thermal interval: 10us, 5000cycles (default: the run in 200 intervals)",
    )
    p.add_argument(
        "--policy",
        choices=("none", "race", "deadline", "activity"),
        help="a DVFS policy over the layers (default: the nominal operating point throughout)",
    )
    p.add_argument(
        "--deadline-ms", type=float, metavar="MS", help="deadline for --policy (default: nominal time)"
    )
    p.add_argument(
        "--temp-limit-c", type=float, metavar="C", help="dynamic thermal management holds this peak (Celsius)"
    )
    p.add_argument("--no-thermal", action="store_true", help="skip the thermal model")
    add_force(p)
    p.add_argument(
        "--memory-only",
        action="store_true",
        help="SCALE-Sim's scope: cycles, stalls, SRAM/DRAM accesses, bounds and reports (no energy, power, "
        "thermal)",
    )
    _add_chip_args(p)
    p.set_defaults(func=_run)


def _add_chip_args(p: argparse.ArgumentParser) -> None:
    """Options of a tiled chip (an --arch TOML with a [chip] section; systolic/flow/chip.py)."""
    g = p.add_argument_group("tiled chips (--arch with a [chip] section)")
    g.add_argument("--mapping", choices=("pipelined", "sequential", "search"), help="layers onto tiles")
    g.add_argument("--items", type=int, metavar="N", help="batch items in flight (default 8)")
    g.add_argument("--mappings", type=int, metavar="N", help="random mappings --mapping search tries (1000)")
    g.add_argument(
        "--objective",
        choices=("throughput", "latency", "energy", "temperature"),
        help="what search minimises",
    )


def run_options(args: argparse.Namespace):
    """The checked :class:`~systolic.flow.run.RunOptions` of parsed ``systolic run`` arguments."""
    from systolic.flow.run import RunOptions

    opts = RunOptions(
        calibration=args.calibration,
        zero_frac=args.zero_frac,
        interval=args.interval,
        policy=args.policy,
        deadline_s=None if args.deadline_ms is None else args.deadline_ms * 1e-3,
        temp_limit_k=None if args.temp_limit_c is None else args.temp_limit_c + 273.15,
        thermal=not args.no_thermal,
        memory_only=args.memory_only,
        traces=bool(getattr(args, "traces", False)),
        force=bool(getattr(args, "force", False)),
        sample_input=args.sample_input,
        profile_model=args.net if args.sample_input else None,
    )
    _check(opts)
    return opts


def _check(opts: Any) -> None:
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
    if opts.temp_limit_k is not None:
        _check_limit_c(opts.temp_limit_k - 273.15)
    if opts.memory_only:
        asked = [
            flag
            for flag, given in (
                ("--calibration", opts.calibration is not None),
                ("--zero-frac", opts.zero_frac != 0.0),
                ("--sample-input", opts.sample_input is not None),
                ("--interval", opts.interval is not None),
                ("--policy", opts.policy is not None),
                ("--temp-limit-c", opts.temp_limit_k is not None),
            )
            if given
        ]
        if asked:
            raise InputError(f"{', '.join(asked)} need(s) the energy and power stages", "--memory-only")
    if opts.sample_input is not None:
        if not str(opts.profile_model).lower().endswith(".onnx"):
            raise InputError("a sample input needs an ONNX model as --topology", "--sample-input")
        if opts.zero_frac != 0.0:
            raise InputError("the sample input gives the data; drop --zero-frac", "--sample-input")
    if opts.temp_limit_k is not None and not opts.thermal:
        raise InputError("a temperature limit needs the thermal model (drop --no-thermal)", "--temp-limit-c")


def _check_limit_c(limit_c: float) -> None:
    """A temperature limit the chip can be held to: above the ambient it sits in (45 C, HotSpot's default
    that the run's thermal model uses) and below where silicon stops being a chip."""
    from systolic.model.thermal_params import MAX_TEMPERATURE_K, ThermalParams

    ambient_c = ThermalParams().ambient_k - 273.15
    if not (math.isfinite(limit_c) and ambient_c < limit_c <= MAX_TEMPERATURE_K - 273.15):
        raise InputError(
            f"must be above the ambient {ambient_c:g} C (no chip runs below it) and at most "
            f"{MAX_TEMPERATURE_K - 273.15:g} C, not {limit_c:g}",
            "--temp-limit-c",
        )


def run_inputs(args: argparse.Namespace) -> list[str]:
    """The input files of a run (an output folder must not be or hold one): the arch and topology files and
    the calibration file the run reads."""
    from systolic.formats.calibration import calibration_path

    calibration = None if getattr(args, "memory_only", False) else str(calibration_path(args.calibration))
    return existing_files(args.arch, args.net, calibration, getattr(args, "sample_input", None))


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from systolic.chip_config import is_chip_toml
    from systolic.fileio import OutputDir, check_output
    from systolic.flow.run import RUN_FILES, TRACE_FILES, full_run, write_run

    if is_chip_toml(args.arch):
        from systolic.flow.chip import run_chip_args

        return run_chip_args(args)
    for flag in ("mapping", "items", "mappings", "objective"):
        if getattr(args, flag, None) is not None:
            raise InputError("needs a chip (an --arch TOML with a [chip] section)", f"--{flag}")
    if args.traces and args.out is None:
        raise InputError("--traces needs --out DIR", "systolic run")
    opts = run_options(args)
    if _is_analog(args.arch):
        return _analog_run(args, opts)
    if args.out is not None:
        names = RUN_FILES + (TRACE_FILES if args.traces else ())
        check_output(args.out, run_inputs(args), folder=True, names=names)
    cfg = resolve_arch(args)
    wl = load_workload_arg(args)
    if opts.interval is not None:  # a bad length fails now, not after the model has run
        from systolic.model.power import parse_interval_s

        parse_interval_s(cfg, opts.interval)
    result = full_run(cfg, wl, opts)
    for line in report_lines(result):
        print(line)
    if args.out is not None:
        with OutputDir(args.out) as tmp:
            written = write_run(result, tmp, traces=args.traces)
        print(f"wrote {', '.join(written)} to {Path(args.out)}")
    return 0


def _is_analog(arch: str) -> bool:
    """Whether ``--arch`` names an analog core (a shipped ``analog-*`` name or a ``kind = "analog"`` file)."""
    from systolic.analog_config import builtin_analog_names, is_analog_toml

    return arch in builtin_analog_names() or (str(arch).endswith(".toml") and is_analog_toml(arch))


def _analog_run(args: argparse.Namespace, opts: Any) -> int:
    """``systolic run`` on an analog core (``systolic.flow.analog_run``)."""
    from pathlib import Path

    from systolic.analog_config import load_analog
    from systolic.fileio import OutputDir, check_output
    from systolic.flow import analog_run as ar

    from .accuracy import _overrides

    digital_only = [
        flag
        for flag, given in (
            ("--policy", opts.policy is not None),
            ("--deadline-ms", opts.deadline_s is not None),
            ("--temp-limit-c", opts.temp_limit_k is not None),
            ("--calibration", opts.calibration is not None),
            ("--zero-frac", opts.zero_frac != 0.0),
            ("--sample-input", opts.sample_input is not None),
            ("--traces", opts.traces),
            ("--memory-only", opts.memory_only),
        )
        if given
    ]
    if digital_only:
        raise InputError(ar.NOT_ANALOG, ", ".join(digital_only))
    if args.out is not None:
        check_output(args.out, existing_files(args.arch, args.net), folder=True, names=ar.ANALOG_RUN_FILES)
    cfg = load_analog(args.arch, _overrides(args.overrides))
    result = ar.analog_full_run(cfg, load_workload_arg(args), opts.interval, opts.thermal, opts.force)
    for line in ar.report_lines(result):
        print(line)
    if args.out is not None:
        with OutputDir(args.out) as tmp:
            written = ar.write_analog_run(result, tmp)
        print(f"wrote {', '.join(written)} to {Path(args.out)}")
    return 0


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
        f"model stages {sum(r.stage_s.values()) * 1e3:.0f} ms"
    )
    return lines
