"""``systolic cosim``: the RTL under Icarus or Verilator, compared with the model."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.numbers import parse_int

from .common import add_arch_args, add_command, add_force, existing_files, resolve_arch

#: Seeds of the random operands: what NumPy's and the testbench's generators take.
MAX_SEED = 2**32 - 1
#: Simulations in parallel: more than this only thrashes (each Verilator build alone uses a core).
MAX_JOBS = 64


def _gemm_shape(text: str) -> tuple[int, int, int]:
    parts = text.replace("x", ",").split(",")
    if len(parts) != 3:
        raise InputError(f"expected M,N,K, got '{text}'", "--gemm")
    try:
        m, n, k = (parse_int(p) for p in parts)
    except ValueError:
        raise InputError(f"M, N and K must be integers, got '{text}'", "--gemm") from None
    return m, n, k


def _conv_shape(text: str):
    from systolic.workload import ConvShape

    parts = text.split(",")
    if not 6 <= len(parts) <= 8:
        raise InputError(f"expected H,W,R,S,C,F[,STRIDE[,PAD]], got '{text}'", "--conv")
    try:
        h, w, r, s, c, f, *rest = (parse_int(p) for p in parts)
    except ValueError:
        raise InputError(f"every field must be an integer, got '{text}'", "--conv") from None
    stride = rest[0] if rest else 1
    pad = rest[1] if len(rest) > 1 else 0
    try:
        return ConvShape(h, w, r, s, c, f, stride_h=stride, stride_w=stride, pad_h=pad, pad_w=pad)
    except InputError as err:
        raise err.located("--conv") from None


def _layer_case(cfg: ArrayConfig, spec: str, seed: int):
    """The cosim case of ``NET:LAYER``: a convolution keeps its shape (and its direct-convolution check);
    a grouped one is the first GEMM of ``cfg``'s lowering (``group_blocks``: its first block of groups)."""
    from systolic.cosim.runner import GemmCase
    from systolic.formats.network import load_workload

    net, sep, which = spec.rpartition(":")
    if not sep or not net or not which:
        raise InputError(f"expected NET:LAYER, got '{spec}'", "--topology-layer")
    wl = load_workload(net)
    layers = list(wl)
    names = [layer.name for layer in layers]
    if which in names:
        layer = layers[names.index(which)]
    elif which.isascii() and which.isdigit() and int(which) < len(layers):
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
    if layer.conv is not None:
        return GemmCase.conv_blocks(cfg, layer.conv, seed=seed, label=label)[0]
    return GemmCase(layer.m, layer.n, layer.k, seed=seed, label=label)


def _check_args(args: argparse.Namespace) -> None:
    """Everything that can be refused before a simulator starts: the options and the output places."""
    from systolic.fileio import check_output

    if not 0 <= args.seed <= MAX_SEED:
        raise InputError(f"must be in 0..{MAX_SEED}, not {args.seed}", "--seed")
    if not 1 <= args.jobs <= MAX_JOBS:
        raise InputError(f"must be in 1..{MAX_JOBS}, not {args.jobs}", "--jobs")
    operands = (args.operands or args.conv_operands or "").split(",")
    inputs = existing_files(args.arch, args.calibration, *operands)
    check_output(args.build_dir, (), folder=True, flag="--build-dir")  # a cache: inputs may live there
    if args.json is not None:
        check_output(args.json, inputs, flag="--json")


def _check_cost(cfg: ArrayConfig, case: Any, sims: list[str], force: bool) -> None:
    """Refuse a simulation that cannot finish in the time budget (``flow/limits.py``)."""
    from systolic.flow.limits import check, cosim_seconds, hdl_cost
    from systolic.model.cycles import GemmArrays, compute_cycles

    cycles = int(compute_cycles(cfg, GemmArrays.of([case.m], [case.n], [case.k])).cycles.sum())
    seconds = sum(cosim_seconds(cfg, cycles, sim) for sim in sims) + hdl_cost(cfg)[0]
    what = f"simulating {case.m}x{case.n}x{case.k} on the {cfg.rows}x{cfg.cols} array ({cycles:,} cycles)"
    check(what, "systolic cosim", seconds=seconds, memory_bytes=hdl_cost(cfg)[1], force=force)


def _given_operands(cfg: ArrayConfig, args: argparse.Namespace):
    """The case and (A, B) of --operands or --conv-operands (im2col on the host for a convolution)."""
    from systolic.cosim.runner import GemmCase
    from systolic.formats import operands as fo

    flag = "--operands" if args.operands else "--conv-operands"
    parts = (args.operands or args.conv_operands).split(",")
    if len(parts) != 2 or not all(parts):
        raise InputError(f"expected two .npy files separated by a comma, got '{','.join(parts)}'", flag)
    if args.operands:
        a, b = fo.load_gemm_operands(cfg, *parts)
        return GemmCase(a.shape[0], b.shape[1], a.shape[1], label=f"gemm {parts[0]} @ {parts[1]}"), (a, b)
    from systolic.cosim.conv import im2col
    from systolic.workload import ConvShape

    x, w = fo.load_conv_operands(cfg, *parts)
    try:
        shape = ConvShape(
            x.shape[1], x.shape[2], w.shape[0], w.shape[1], x.shape[3], w.shape[3],
            stride_h=args.conv_stride, stride_w=args.conv_stride, pad_h=args.conv_pad, pad_w=args.conv_pad,
            batch=x.shape[0],
        )  # fmt: skip
    except InputError as err:
        raise err.located(flag) from None
    a, b = im2col(x, w, shape)
    label = f"conv {parts[0]} * {parts[1]} /{args.conv_stride} pad {args.conv_pad}"
    return GemmCase(a.shape[0], b.shape[1], a.shape[1], label=label), (a, b)


def _energy(cfg: ArrayConfig, case, operands, rows: list, args: argparse.Namespace) -> None:
    """Measured against predicted energy of each row's run (its VCD), printed and put into the row."""
    from systolic.cosim.energy_check import energy_check, energy_table
    from systolic.cosim.harness import random_operands
    from systolic.formats.calibration import calibration_label, load_calibration

    calibration, path = load_calibration(args.calibration)
    ifmap = None  # a convolution's ifmap: the words its bands fetch that A does not hold
    if operands is None:  # the seeded random operands the testbench drew (cosim/tb_common.case_operands)
        import numpy as np

        rng = np.random.default_rng(case.seed)
        if case.conv:
            from systolic.cosim.conv import conv_tensors, group_block_im2col, im2col
            from systolic.workload import ConvShape

            shape = ConvShape(**case.conv)
            x, w = conv_tensors(cfg, shape, rng)
            if case.blocks:  # a block of a grouped convolution (--topology-layer)
                operands = group_block_im2col(x, w, shape, case.first_group, case.blocks)
            else:
                operands, ifmap = im2col(x, w, shape), x
        else:
            operands = random_operands(cfg, case.m, case.n, case.k, rng)
    conv = case.gemm_conv()  # the run read it natively where cfg lets it: the model plans the same
    for r in rows:
        r.extra["energy"] = energy_check(
            cfg, *operands, r.waves, calibration, calibration_label(path), conv=conv, ifmap=ifmap
        )
        print(f"energy on {r.simulator} ({r.extra['energy']['calibration']}): dynamic, per component class")
        print(energy_table(r.extra["energy"]))


def add(sub: Any) -> None:
    """Register ``systolic cosim``."""
    p = add_command(
        sub,
        "cosim",
        "run the RTL under Icarus or Verilator and compare it with the model",
        "Generates the RTL of an architecture, runs it under cocotb with Icarus Verilog or Verilator on "
        "random "
        "operands, and checks outputs bit for bit against NumPy and cycles, stalls, SRAM/DRAM accesses and "
        "traces against the model.",
        [
            "systolic cosim --arch small-8x8 --gemm 37,29,23 --sim verilator --seed 3 --json runs/out.json",
            "systolic cosim --arch small-8x8 --conv 7,6,3,3,2,5,2,1",
            "systolic cosim --matrix default --jobs 2 --json build/cosim.json",
        ],
    )
    add_arch_args(p, required=False)
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
        "--operands",
        metavar="A.npy,B.npy",
        help="one GEMM on your own operands: A (M x K) and B (K x N) as .npy integer arrays within the "
        "configured widths",
    )
    what.add_argument(
        "--conv-operands",
        metavar="IFMAP.npy,WEIGHTS.npy",
        help="one convolution on your own data: ifmap [H, W, C] or [batch, H, W, C], filters [R, S, C, F] "
        "(.npy integers); run as its im2col GEMM (with --conv-stride, --conv-pad)",
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
    p.add_argument("--conv-stride", type=int, default=1, metavar="S", help="stride of --conv-operands (1)")
    p.add_argument("--conv-pad", type=int, default=0, metavar="P", help="zero padding of --conv-operands (0)")
    p.add_argument(
        "--energy",
        action="store_true",
        help="also measure the layer's energy on the RTL (VCD toggles x the calibrated energy per toggle) "
        "and print it beside the model's prediction from the operands' statistics, per component class; "
        "the JSON gains 'energy'",
    )
    p.add_argument("--calibration", metavar="FILE", help="energy calibration for --energy (default: run's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random operands")
    p.add_argument("--waves", action="store_true", help="dump a VCD of the run")
    p.add_argument("--jobs", type=int, default=2, help="simulations to run in parallel (--matrix)")
    p.add_argument("--json", metavar="OUT", help="write the results as JSON")
    p.add_argument("--build-dir", default="build", help="where builds and runs go (default: build)")
    add_force(p)
    p.set_defaults(func=_cosim)


def _cosim(args: argparse.Namespace) -> int:
    from pathlib import Path

    from systolic.cosim import matrix as mx
    from systolic.cosim.runner import GemmCase, run_cases

    _check_args(args)
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
        rows = mx.run_matrix(
            groups, sims, args.jobs, root=root, progress=mx.progress_printer(len(groups) * len(sims))
        )
    else:
        if not args.arch:
            raise InputError("--arch is needed with --gemm, --conv and --operands", "systolic cosim")
        cfg = resolve_arch(args)
        sims = ["icarus", "verilator"] if args.sim == "both" else [args.sim or "icarus"]
        operands = None
        if args.conv:
            case = GemmCase.from_conv(_conv_shape(args.conv), seed=args.seed)
        elif args.topology_layer:
            case = _layer_case(cfg, args.topology_layer, args.seed)
        elif args.operands or args.conv_operands:
            case, operands = _given_operands(cfg, args)
        else:
            case = GemmCase(*_gemm_shape(args.gemm), seed=args.seed)
        if args.energy and args.core:
            raise InputError("the energy check runs the whole accelerator: drop --core", "--energy")
        top = "core" if args.core else "accel"
        _check_cost(cfg, case, sims, args.force)
        waves = args.waves or args.energy
        given = {0: operands} if operands is not None else None
        rows = [
            r
            for sim in sims
            for r in run_cases(
                cfg, sim, [case], waves=waves, root=root, top=top, operands=given, announce=True
            )
        ]
        if args.energy:
            _energy(cfg, case, operands, rows, args)
    print(mx.format_table(rows))
    bad = [r for r in rows if not r.ok]
    print(
        f"{len(rows) - len(bad)}/{len(rows)} cases agree: RTL cycles == model cycles and outputs == A @ B",
        file=sys.stderr,
    )
    if args.json:
        from systolic.fileio import atomic_write_json

        out = Path(args.json)
        if not args.matrix and len(rows) == 1:
            atomic_write_json(out, rows[0].to_dict())
        else:
            mx.write_json(out, rows, {"matrix": args.matrix})
        print(f"wrote {out}", file=sys.stderr)
    return 0 if not bad else 1
