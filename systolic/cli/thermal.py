"""``systolic thermal``: HotSpot's command line on systolic's thermal model.

``systolic thermal -c example.config -f ev6.flp -p gcc.ptrace -model_type grid -steady_file gcc.steady
-o gcc.ttrace`` reads and writes the same files as ``hotspot`` with the same arguments: every HotSpot
option is accepted in HotSpot's single-dash spelling (``-steady_file``) and the common ones also as
``--steady-file``; any HotSpot config key can be given as ``-key value`` and overrides the config file.
Instead of ``-f FLP`` a floorplan can be generated from an architecture (``--arch``, ``--tile``) and
saved with ``--write-flp``. ``-grid_layer_file F.lcf`` (with ``-model_type grid``, optionally
``-detailed_3D on``) models a 3-D stack as HotSpot does; ``--png FILE`` (or ``--heatmap``) draws the
steady state and, with ``-o``, the moment of peak temperature.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from systolic.errors import InputError

from .common import add_arch_args, add_force, resolve_arch

#: HotSpot keys with their own option here: key -> (long spelling, metavar, help).
_NAMED = {
    "f": ("--flp", "FLP", "floorplan (.flp); or generate one with --arch"),
    "p": (
        "--ptrace",
        "PTRACE",
        "power trace: a header of block names, one row of watts per sampling interval",
    ),
    "o": ("--output", "TTRACE", "transient temperature trace to write (without it: steady state only)"),
    "c": ("--config", "CONFIG", "HotSpot config file (-key value lines); command-line options win"),
    "d": ("--dump-config", "FILE", "write the resolved thermal configuration as a HotSpot config file"),
    "materials_file": ("--materials", "FILE", "HotSpot materials file for -material_chip etc."),
    "model_type": ("--model", "block|grid", "block model (default) or grid model"),
    "init_file": ("--init", "FILE", "initial temperatures (a .steady file); default: init_temp everywhere"),
    "steady_file": (
        "--steady-file",
        "FILE",
        "steady temperatures of every node (power averaged over the trace)",
    ),
    "grid_steady_file": ("--grid-steady-file", "FILE", "grid model: steady temperature of every cell"),
    "grid_transient_file": ("--grid-transient-file", "FILE", "grid model: every cell at every trace row"),
    "grid_rows": ("--grid-rows", "N", "grid model: rows of cells (default 64)"),
    "grid_cols": ("--grid-cols", "N", "grid model: columns of cells (default 64)"),
    "grid_map_mode": ("--grid-map-mode", "MODE", "grid to block temperatures: avg, min, max or center"),
}


def add(sub: Any) -> None:
    """Register ``systolic thermal``."""
    p = sub.add_parser(
        "thermal",
        help="HotSpot-compatible temperatures of a floorplan under a power trace",
        description="Steady and transient temperatures with HotSpot 6's block and grid RC models. Takes "
        "HotSpot's options (-f, -p, -o, -c, -steady_file, -model_type, ...) and any HotSpot config key as "
        "-key value.",
        allow_abbrev=False,
    )
    for key, (long, metavar, text) in _NAMED.items():
        p.add_argument(f"-{key}", long, dest=f"hs_{key}", metavar=metavar, help=text)
    p.add_argument(
        "--integrator",
        choices=("be", "exact"),
        default="be",
        help="grid transient: one backward-Euler step per trace row like HotSpot's SuperLU build (be, "
        "default) or the matrix exponential, exact for piecewise-constant power (exact); the block model "
        "is always exact",
    )
    p.add_argument(
        "--lateral",
        choices=("hotspot", "physical"),
        default="hotspot",
        help="grid model: lateral resistances between cells as HotSpot has them (hotspot, default: east-west "
        "and north-south swapped, which matters for cells that are not square) or the physical ones",
    )
    p.add_argument(
        "--png",
        "--heatmap",
        dest="png",
        metavar="FILE",
        help="write a PNG heatmap: the steady state and, with -o, the moment of peak temperature",
    )
    add_arch_args(p, required=False)
    p.add_argument("--tile", metavar="ROWSxCOLS", help="with --arch: PEs per floorplan tile, e.g. 4x4")
    p.add_argument("--write-flp", metavar="FLP", help="write the floorplan used (e.g. the one --arch made)")
    add_force(p)
    from systolic.formats.hotspot import known_keys

    for key in sorted(known_keys(), key=str.lower):
        if key.lower() not in _NAMED:
            spellings = dict.fromkeys([f"-{key}", f"-{key.lower()}"])
            p.add_argument(*spellings, dest=f"hs_{key.lower()}", help=argparse.SUPPRESS)
    p.set_defaults(func=_thermal)


def _settings(args: argparse.Namespace) -> dict:
    """Config settings: the -c file, overridden by the command line."""
    from systolic.formats.hotspot import ConfigValue, read_hotspot_config

    cmdline = {
        name[3:].lower(): ConfigValue(str(value), "command line", "")
        for name, value in vars(args).items()
        if name.startswith("hs_")
        and value is not None
        and name not in ("hs_f", "hs_p", "hs_o", "hs_c", "hs_d")
    }
    settings = dict(read_hotspot_config(args.hs_c)) if args.hs_c else {}
    settings.update(cmdline)
    return {k: v for k, v in settings.items() if v.value != "(null)"}


def _file(settings: dict, key: str) -> str | None:
    setting = settings.get(key)
    return None if setting is None else setting.value


def _tile(text: str | None) -> tuple[int, int] | None:
    from systolic.numbers import parse_int

    if text is None:
        return None
    parts = text.lower().replace(",", "x").split("x")
    try:
        tr, tc = (parse_int(v) for v in parts)
    except ValueError:
        raise InputError(f"expected ROWSxCOLS, e.g. 4x4, not '{text}'", "--tile") from None
    return tr, tc


def _floorplan(args: argparse.Namespace):
    from systolic.formats.hotspot import read_flp

    if args.hs_f and args.arch:
        raise InputError("give a floorplan (-f) or an architecture (--arch), not both", "systolic thermal")
    if args.arch:
        from systolic.flow.limits import check
        from systolic.model.floorplan import FLOORPLAN_BYTES_PER_BLOCK, floorplan_blocks, floorplan_for

        cfg, tile = resolve_arch(args), _tile(args.tile)
        blocks = floorplan_blocks(cfg, tile)
        memory = blocks * FLOORPLAN_BYTES_PER_BLOCK
        check(f"a floorplan of {blocks:,} blocks", "--tile", memory_bytes=memory, force=args.force)
        try:
            return floorplan_for(cfg, tile)
        except InputError as err:
            raise err.located("--arch") from None
    if args.tile:
        raise InputError("--tile needs --arch", "systolic thermal")
    if not args.hs_f:
        raise InputError("a floorplan is needed: -f FLP or --arch ARCH", "systolic thermal")
    return read_flp(args.hs_f)


def _thermal(args: argparse.Namespace) -> int:
    from systolic.fileio import read_bytes
    from systolic.flow import hotspot as flow
    from systolic.formats import hotspot as io

    started = time.perf_counter()
    settings = _settings(args)
    _check_files(args, settings)
    setup = flow.prepare(settings)
    if setup.floorplan is not None:
        if args.hs_f or args.arch:
            layer_file = settings["grid_layer_file"].value
            _warn(f"layer configuration file {layer_file} specified; ignoring the floorplan")
        flp = setup.floorplan
    else:
        flp = _floorplan(args)
    if args.write_flp:
        io.write_flp(
            args.write_flp, flp, comment=f"floorplan used by systolic thermal ({flp.n_blocks} blocks)"
        )
        print(f"wrote {args.write_flp}", file=sys.stderr)
    if args.hs_d:
        flow.dump_config(args.hs_d, setup.params, settings)
    if not args.hs_p:
        if args.write_flp or args.hs_d:
            return 0
        raise InputError("required parameter -p (power trace) missing", "systolic thermal")
    rows = read_bytes(args.hs_p).count(b"\n") if args.hs_o else 0  # the transient's length, for its cost
    flow.check_size(setup, flp, settings, rows, transient=bool(args.hs_o), force=args.force)
    sol = flow.solve(setup, flp, settings, args.hs_p, args.hs_o, args.integrator, args.png, args.lateral)
    for text in sol.warnings:
        _warn(text)
    hottest = int(np.argmax(sol.steady_k))
    print(
        f"systolic thermal: {sol.how}, {len(sol.power_names)} blocks, {sol.trace_rows} trace rows; steady "
        f"state hottest {sol.power_names[hottest]} {sol.steady_k[hottest] - 273.15:.2f} °C; "
        f"{time.perf_counter() - started:.2f} s",
        file=sys.stderr,
    )
    for path in sol.outputs:
        print(f"wrote {path}", file=sys.stderr)
    if not sol.outputs:
        print(io.format_steady(sol.power_names, sol.steady_k), end="")
    return 0


#: HotSpot's file settings that name inputs, and those that name outputs (with their option).
_INPUT_KEYS = ("init_file", "materials_file", "grid_layer_file")
_OUTPUT_KEYS = ("steady_file", "grid_steady_file", "grid_transient_file")


def _check_files(args: argparse.Namespace, settings: dict) -> None:
    """Every output before any work: writable, not a folder, not an input, not named twice."""
    import os

    from systolic.fileio import check_output

    inputs = [args.hs_f, args.hs_p, args.hs_c, args.arch]
    inputs += [settings[k].value for k in _INPUT_KEYS if k in settings]
    outputs = {"-o": args.hs_o, "--png": args.png, "--write-flp": args.write_flp, "-d": args.hs_d}
    outputs.update({f"-{k}": settings[k].value for k in _OUTPUT_KEYS if k in settings})
    seen: dict[str, str] = {}
    for flag, path in outputs.items():
        if path is None:
            continue
        check_output(path, inputs, flag=flag)
        real = os.path.realpath(path)
        if real in seen:
            raise InputError(f"names the same file as {seen[real]} ({path})", flag)
        seen[real] = flag


def _warn(text: str) -> None:
    print(f"systolic thermal: warning: {text}", file=sys.stderr)
