"""The ``systolic`` command.

Each subcommand is a function ``add_NAME(subparsers)`` that registers its parser and sets ``func``; heavy
imports (amaranth, cocotb) happen inside the subcommand that needs them, so ``systolic --help`` and the
model-only commands start fast. Bad input raises :class:`~systolic.errors.InputError`, which ``main``
prints as one line and turns into exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import __version__
from .config import ArrayConfig, builtin_arch_names, load_arch, parse_override, to_scalesim_cfg, to_toml
from .errors import InputError

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors in the same one-line form as every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(message, self.prog)


def _add_arch_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument(
        "--arch",
        required=required,
        metavar="ARCH",
        help="a shipped architecture name, a systolic .toml or a SCALE-Sim .cfg file",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        dest="overrides",
        help="override one config field (repeatable), e.g. --set rows=16 --set dataflow=os",
    )


def resolve_arch(args: argparse.Namespace) -> ArrayConfig:
    """The config named by ``--arch`` with ``--set`` overrides applied."""
    overrides = dict(parse_override(text) for text in args.overrides)
    return load_arch(args.arch, overrides)


# --------------------------------------------------------------------------- config


def add_config(sub: Any) -> None:
    p = sub.add_parser("config", help="show, list or convert architecture configs")
    csub = p.add_subparsers(dest="config_cmd", required=True, parser_class=_Parser)
    show = csub.add_parser("show", help="print the resolved config")
    show.add_argument("arch", metavar="ARCH", help="shipped name, .toml or SCALE-Sim .cfg")
    show.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="overrides")
    show.add_argument("--format", choices=("table", "toml", "json", "scalesim"), default="table")
    show.set_defaults(func=_config_show)
    lst = csub.add_parser("list", help="list the shipped architectures")
    lst.set_defaults(func=_config_list)


def _config_show(args: argparse.Namespace) -> int:
    cfg = load_arch(args.arch, dict(parse_override(t) for t in args.overrides))
    if args.format == "toml":
        print(to_toml(cfg), end="")
    elif args.format == "json":
        import json

        print(json.dumps(cfg.to_dict(), indent=2))
    elif args.format == "scalesim":
        print(to_scalesim_cfg(cfg), end="")
    else:
        width = max(len(k) for k in cfg.to_dict())
        for key, value in cfg.to_dict().items():
            print(f"{key:<{width}}  {value}")
    return 0


def _config_list(args: argparse.Namespace) -> int:
    for name in builtin_arch_names():
        cfg = load_arch(name)
        print(
            f"{name:<14} {cfg.rows}x{cfg.cols} {cfg.dataflow.value.upper()}  "
            f"{cfg.input_bits}b x {cfg.weight_bits}b -> {cfg.acc_bits}b"
        )
    return 0


# --------------------------------------------------------------------------- workload


def add_workload(sub: Any) -> None:
    p = sub.add_parser("workload", help="inspect networks and topology files")
    wsub = p.add_subparsers(dest="workload_cmd", required=True, parser_class=_Parser)
    show = wsub.add_parser("show", help="table of a network's layers as GEMMs (M, N, K, MACs)")
    show.add_argument(
        "net",
        metavar="NET|FILE",
        help="a zoo network name, a SCALE-Sim topology CSV, a GEMM CSV or an ONNX model",
    )
    _add_net_params(show)
    show.add_argument("--format", choices=("table", "csv", "scalesim-gemm"), default="table")
    show.set_defaults(func=_workload_show)
    lst = wsub.add_parser("list", help="list the networks in the zoo")
    lst.set_defaults(func=_workload_list)


def _add_net_params(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seq-len", type=int, default=None, help="transformer prefill: sequence length")
    p.add_argument("--batch", type=int, default=None, help="batch size (CNNs, MLPs, transformer decode)")
    p.add_argument("--context", type=int, default=None, help="transformer decode: context length")
    p.add_argument("--phase", choices=("prefill", "decode"), default=None, help="transformer phase")


def load_workload_arg(args: argparse.Namespace):
    """The workload named on the command line (zoo name or file), with network parameters applied."""
    from .netload import load_workload

    params = {
        k: getattr(args, k)
        for k in ("seq_len", "batch", "context", "phase")
        if getattr(args, k, None) is not None
    }
    return load_workload(args.net, **params)


def _workload_show(args: argparse.Namespace) -> int:
    from .workload import write_gemm_csv

    wl = load_workload_arg(args)
    if args.format == "scalesim-gemm":
        print(write_gemm_csv(wl), end="")
        return 0
    if args.format == "csv":
        print("layer,kind,m,n,k,repeat,macs")
        for layer in wl:
            print(f"{layer.name},{layer.kind},{layer.m},{layer.n},{layer.k},{layer.repeat},{layer.macs}")
        return 0
    head = ("#", "layer", "kind", "M", "N", "K", "x", "MACs")
    rows = [
        (str(i), ly.name, ly.kind, *(f"{v:,}" for v in (ly.m, ly.n, ly.k, ly.repeat, ly.macs)))
        for i, ly in enumerate(wl)
    ]
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(head)]
    align = ["<", "<", "<", ">", ">", ">", ">", ">"]
    fmt = "  ".join(f"{{:{a}{w}}}" for a, w in zip(align, widths, strict=True))
    print(f"{wl.name}: {len(wl)} layers")
    print(fmt.format(*head))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt.format(*r))
    print(f"total: {len(wl)} layers, {wl.macs:,} MACs ({wl.macs / 1e9:.3f} G MACs)")
    return 0


def _workload_list(args: argparse.Namespace) -> int:
    from .zoo import NETWORKS

    for name, entry in NETWORKS.items():
        print(f"{name:<16} {entry.description}")
    return 0


# --------------------------------------------------------------------------- hdl


def add_hdl(sub: Any) -> None:
    p = sub.add_parser("hdl", help="generate the Verilog of an architecture")
    _add_arch_args(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE.v", help="where to write the Verilog")
    p.set_defaults(func=_hdl)


def _hdl(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .hdl.generate import write_verilog
    from .hdl.lint import write_lint_config

    cfg = resolve_arch(args)
    out = Path(args.output)
    write_verilog(cfg, out)
    vlt = write_lint_config(out.with_suffix(".vlt"))
    print(
        f"wrote {out}: module systolic_top, {cfg.rows}x{cfg.cols} {cfg.dataflow.value.upper()}; waivers, "
        f"each with its reason, in {vlt} (verilator --lint-only -Wall {vlt} {out})",
        file=sys.stderr,
    )
    return 0


# --------------------------------------------------------------------------- cosim


def _gemm_shape(text: str) -> tuple[int, int, int]:
    parts = text.replace("x", ",").split(",")
    if len(parts) != 3:
        raise InputError(f"expected M,N,K, got '{text}'", "--gemm")
    try:
        m, n, k = (int(p) for p in parts)
    except ValueError:
        raise InputError(f"M, N and K must be integers, got '{text}'", "--gemm") from None
    return m, n, k


def _conv_shape(text: str):
    from .workload import ConvShape

    parts = text.split(",")
    if not 6 <= len(parts) <= 8:
        raise InputError(f"expected H,W,R,S,C,F[,STRIDE[,PAD]], got '{text}'", "--conv")
    try:
        h, w, r, s, c, f, *rest = (int(p) for p in parts)
    except ValueError:
        raise InputError(f"every field must be an integer, got '{text}'", "--conv") from None
    stride = rest[0] if rest else 1
    pad = rest[1] if len(rest) > 1 else 0
    try:
        return ConvShape(h, w, r, s, c, f, stride_h=stride, stride_w=stride, pad_h=pad, pad_w=pad)
    except InputError as err:
        raise err.located("--conv") from None


def _layer_case(spec: str, seed: int):
    """The cosim case of ``NET:LAYER``: a convolution keeps its shape (and its direct-convolution check)."""
    from .cosim.runner import GemmCase
    from .netload import load_workload

    net, sep, which = spec.rpartition(":")
    if not sep or not net or not which:
        raise InputError(f"expected NET:LAYER, got '{spec}'", "--topology-layer")
    wl = load_workload(net)
    layers = list(wl)
    names = [layer.name for layer in layers]
    if which in names:
        layer = layers[names.index(which)]
    elif which.isdigit() and int(which) < len(layers):
        layer = layers[int(which)]
    else:
        raise InputError(
            f"{net} has no layer '{which}' (names: {', '.join(names[:4])}, ...; "
            f"or an index 0..{len(layers) - 1})",
            "--topology-layer",
        )
    label = f"{wl.name}:{layer.name}"
    if layer.conv is not None and layer.conv.groups == 1:
        return GemmCase.from_conv(layer.conv, seed=seed, label=label)
    return GemmCase(layer.m, layer.n, layer.k, seed=seed, label=label)


def add_cosim(sub: Any) -> None:
    p = sub.add_parser("cosim", help="run the RTL under Icarus or Verilator and compare it with the model")
    _add_arch_args(p, required=False)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--gemm", metavar="M,N,K", help="one GEMM C[M,N] = A[M,K] @ B[K,N]")
    what.add_argument(
        "--conv",
        metavar="H,W,R,S,C,F[,STRIDE[,PAD]]",
        help="one convolution run as its im2col GEMM, checked against a direct convolution",
    )
    what.add_argument(
        "--topology-layer",
        metavar="NET:LAYER",
        help="one layer of a network (zoo name or file; layer name or index), e.g. resnet18:layer1.0.conv1",
    )
    what.add_argument(
        "--matrix",
        choices=("default",),
        help="the validation matrix: the engine on 3 dataflows x 3 array shapes x GEMM edge cases, and the "
        "whole accelerator on 3 dataflows x 2 memory systems x layers",
    )
    p.add_argument(
        "--core",
        action="store_true",
        help="run the GEMM engine alone (operands from SRAM-timed ports) instead of the whole accelerator "
        "out of DRAM",
    )
    p.add_argument(
        "--sim",
        choices=("icarus", "verilator", "both"),
        default=None,
        help="simulator (default: icarus for --gemm, both for --matrix)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the random operands")
    p.add_argument("--waves", action="store_true", help="dump a VCD of the run")
    p.add_argument("--jobs", type=int, default=2, help="simulations to run in parallel (--matrix)")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument("--build-dir", default="build", help="where builds and runs go (default: build)")
    p.set_defaults(func=_cosim)


def _cosim(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .cosim import matrix as mx
    from .cosim.runner import GemmCase, run_cases

    root = Path(args.build_dir)
    if args.matrix:
        sims = ["icarus", "verilator"] if args.sim in (None, "both") else [args.sim]
        base = resolve_arch(args) if args.arch else ArrayConfig(name="matrix")
        groups = mx.default_matrix(base)
        n_cases = sum(len(cases) for _, cases, _ in groups) * len(sims)
        print(
            f"systolic cosim: {n_cases} cases, {len(groups) * len(sims)} builds, {args.jobs} at a time",
            file=sys.stderr,
        )
        rows = mx.run_matrix(groups, sims, args.jobs, root=root, progress=mx.print_progress)
    else:
        if not args.arch:
            raise InputError("--arch is needed with --gemm and --conv", "systolic cosim")
        cfg = resolve_arch(args)
        sims = ["icarus", "verilator"] if args.sim == "both" else [args.sim or "icarus"]
        if args.conv:
            case = GemmCase.from_conv(_conv_shape(args.conv), seed=args.seed)
        elif args.topology_layer:
            case = _layer_case(args.topology_layer, args.seed)
        else:
            case = GemmCase(*_gemm_shape(args.gemm), seed=args.seed)
        top = "core" if args.core else "accel"
        rows = [r for sim in sims for r in run_cases(cfg, sim, [case], waves=args.waves, root=root, top=top)]
    print(mx.format_table(rows))
    bad = [r for r in rows if not r.ok]
    print(
        f"{len(rows) - len(bad)}/{len(rows)} cases agree: RTL cycles == model cycles and outputs == A @ B",
        file=sys.stderr,
    )
    if args.json:
        from .fileio import atomic_write_json

        out = Path(args.json)
        if not args.matrix and len(rows) == 1:
            atomic_write_json(out, rows[0].to_dict())
        else:
            mx.write_json(out, rows, {"matrix": args.matrix})
        print(f"wrote {out}", file=sys.stderr)
    return 0 if not bad else 1


# --------------------------------------------------------------------------- run


def add_run(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="the fast model on a network: cycles and stalls, energy, power over time, DVFS, temperature, "
        "bounds, SCALE-Sim reports and an HTML report",
    )
    _add_arch_args(p)
    p.add_argument("--topology", dest="net", required=True, metavar="NET|FILE", help="zoo name, CSV or ONNX")
    _add_net_params(p)
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
        "--interval", metavar="LENGTH", help="power/thermal interval: 10us, 5000cycles (default: 200)"
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
    p.add_argument(
        "--memory-only",
        action="store_true",
        help="SCALE-Sim's scope: cycles, stalls, SRAM/DRAM accesses, bounds and reports (no energy, power, "
        "thermal)",
    )
    p.set_defaults(func=_run)


def run_options(args: argparse.Namespace):
    """The :class:`~systolic.pipeline.RunOptions` of parsed ``systolic run`` arguments."""
    from .pipeline import RunOptions

    return RunOptions(
        calibration=args.calibration,
        zero_frac=args.zero_frac,
        interval=args.interval,
        policy=args.policy,
        deadline_s=None if args.deadline_ms is None else args.deadline_ms * 1e-3,
        temp_limit_k=None if args.temp_limit_c is None else args.temp_limit_c + 273.15,
        thermal=not args.no_thermal,
        memory_only=args.memory_only,
    )


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .fileio import AtomicDir
    from .pipeline import full_run, report_lines, write_run

    cfg = resolve_arch(args)
    wl = load_workload_arg(args)
    if args.traces and not args.out:
        raise InputError("--traces needs --out DIR", "systolic run")
    result = full_run(cfg, wl, run_options(args))
    for line in report_lines(result):
        print(line)
    if args.out:
        with AtomicDir(args.out) as tmp:
            written = write_run(result, tmp, traces=args.traces)
        print(f"wrote {', '.join(written)} to {Path(args.out)}")
    return 0


# --------------------------------------------------------------------------- main

#: Subcommands in the order ``--help`` lists them. Later slices append theirs here.
#: Every subcommand: its name and the ``module:function`` that registers it. A command line names one, and
#: only that one's module is imported (the others' imports would only slow the start).
SUBCOMMANDS: dict[str, str] = {
    "config": "systolic.cli:add_config",
    "workload": "systolic.cli:add_workload",
    "hdl": "systolic.cli:add_hdl",
    "cosim": "systolic.cli:add_cosim",
    "run": "systolic.cli:add_run",
    "thermal": "systolic.thermal_cli:add_thermal",
    "dvfs": "systolic.dvfs_cli:add_dvfs",
    "sweep": "systolic.sweep:add_sweep",
    "calibrate": "systolic.calibrate_cli:add_calibrate",
}


def _adder(target: str) -> Callable[[Any], None]:
    import importlib

    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand, or with ``only`` that one (when a command line names it)."""
    parser = _Parser(
        prog="systolic",
        description="One architecture description for systolic-array accelerators: RTL, co-simulation "
        "and a fast model of cycles, memory, energy, power and temperature.",
    )
    parser.add_argument("--version", action="version", version=f"systolic {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for name, target in SUBCOMMANDS.items():
        if only is None or name == only:
            _adder(target)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(first if first in SUBCOMMANDS else None)
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except InputError as err:
        print(f"systolic: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("systolic: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
