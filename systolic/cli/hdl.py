"""``systolic hdl``: the Verilog of an architecture."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from systolic.errors import InputError

from .common import add_arch_args, add_command, add_force, existing_files, resolve_arch


def add(sub: Any) -> None:
    """Register ``systolic hdl``."""
    p = add_command(
        sub,
        "hdl",
        "generate the Verilog of an architecture",
        "Writes the synthesizable Verilog of the GEMM engine (module systolic_top) of an architecture, and a "
        "Verilator lint waiver file beside it.",
        ["systolic hdl --arch small-8x8 --set dataflow=ws -o runs/ws8.v"],
    )
    add_arch_args(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE.v", help="where to write the Verilog")
    add_force(p)
    p.set_defaults(func=_hdl)


def _hdl(args: argparse.Namespace) -> int:
    from pathlib import Path

    from systolic.fileio import check_output
    from systolic.flow.limits import check_hdl
    from systolic.hdl.generate import write_verilog
    from systolic.hdl.lint import write_lint_config

    out = Path(args.output)
    inputs = existing_files(args.arch)
    check_output(args.output, inputs, flag="-o")
    check_output(out.with_suffix(".vlt"), inputs, flag="-o (its Verilator waivers)")
    if out.suffix == ".vlt":
        raise InputError("the Verilog and its Verilator waivers (.vlt) would be one file", "-o", str(out))
    cfg = resolve_arch(args)
    check_hdl(cfg, args.force)
    write_verilog(cfg, out)
    vlt = write_lint_config(out.with_suffix(".vlt"))
    print(
        f"wrote {out}: module systolic_top, {cfg.rows}x{cfg.cols} {cfg.dataflow.value.upper()}; waivers, "
        f"each with its reason, in {vlt} (verilator --lint-only -Wall {vlt} {out})",
        file=sys.stderr,
    )
    return 0
