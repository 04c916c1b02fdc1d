"""``systolic thermal``: HotSpot's command line on systolic's thermal model.

``systolic thermal -c example.config -f ev6.flp -p gcc.ptrace -model_type grid -steady_file gcc.steady
-o gcc.ttrace`` reads and writes the same files as ``hotspot`` with the same arguments: every HotSpot
option is accepted in HotSpot's single-dash spelling (``-steady_file``) and the common ones also as
``--steady-file``; any HotSpot config key can be given as ``-key value`` and overrides the config file.
Instead of ``-f FLP`` a floorplan can be generated from an architecture (``--arch``, ``--tile``) and
saved with ``--write-flp``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .errors import InputError

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


def add_thermal(sub: Any) -> None:
    """Register ``systolic thermal``."""
    from .cli import _add_arch_args

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
    _add_arch_args(p, required=False)
    p.add_argument("--tile", metavar="ROWSxCOLS", help="with --arch: PEs per floorplan tile, e.g. 4x4")
    p.add_argument("--write-flp", metavar="FLP", help="write the floorplan used (e.g. the one --arch made)")
    from .hotspot_io import known_keys

    for key in sorted(known_keys(), key=str.lower):
        if key.lower() not in _NAMED:
            spellings = dict.fromkeys([f"-{key}", f"-{key.lower()}"])
            p.add_argument(*spellings, dest=f"hs_{key.lower()}", help=argparse.SUPPRESS)
    p.set_defaults(func=_thermal)


def _settings(args: argparse.Namespace) -> dict:
    """Config settings: the -c file, overridden by the command line."""
    from .hotspot_io import ConfigValue, read_hotspot_config

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
    if text is None:
        return None
    parts = text.lower().replace(",", "x").split("x")
    try:
        tr, tc = (int(v) for v in parts)
    except ValueError:
        raise InputError(f"expected ROWSxCOLS, e.g. 4x4, not '{text}'", "--tile") from None
    return tr, tc


def _floorplan(args: argparse.Namespace):
    from .hotspot_io import read_flp

    if args.hs_f and args.arch:
        raise InputError("give a floorplan (-f) or an architecture (--arch), not both", "systolic thermal")
    if args.arch:
        from .cli import resolve_arch
        from .model.floorplan import floorplan_for

        try:
            return floorplan_for(resolve_arch(args), _tile(args.tile))
        except InputError as err:
            raise err.located("--arch") from None
    if args.tile:
        raise InputError("--tile needs --arch", "systolic thermal")
    if not args.hs_f:
        raise InputError("a floorplan is needed: -f FLP or --arch ARCH", "systolic thermal")
    return read_flp(args.hs_f)


def _thermal(args: argparse.Namespace) -> int:
    import numpy as np

    from . import hotspot_io as io
    from .model import thermal as th

    started = time.perf_counter()
    settings = _settings(args)
    materials = io.read_materials(_file(settings, "materials_file")) if "materials_file" in settings else None
    params = io.thermal_params(settings, materials)
    params.check_supported()
    for key, what in (("grid_layer_file", "layer configuration files (3-D stacks)"),):
        if key in settings:
            raise InputError(f"{what} are not supported", settings[key].source, f"-{key}")
    if settings.get("use_microchannels", io.ConfigValue("0", "", "")).value not in ("0",):
        raise InputError("microfluidic cooling is not supported", "systolic thermal", "-use_microchannels")
    flp = _floorplan(args)
    if args.write_flp:
        io.write_flp(
            args.write_flp, flp, comment=f"floorplan used by systolic thermal ({flp.n_blocks} blocks)"
        )
        print(f"wrote {args.write_flp}", file=sys.stderr)
    if args.hs_d:
        _dump_config(args.hs_d, params, settings)
    if not args.hs_p:
        if args.write_flp or args.hs_d:
            return 0
        raise InputError("required parameter -p (power trace) missing", "systolic thermal")
    trace = io.read_ptrace(args.hs_p)
    power = io.trace_in_floorplan_order(trace, flp, args.hs_p)  # [row, block]
    order = np.array([flp.index(n) for n in trace.names])  # trace column -> block
    leakage = th.hotspot_leakage(flp) if params.leakage_used else None
    grid = params.model_type == "grid"
    outputs = []

    if grid:
        model = th.grid_model(flp, params)
        steady = th.steady_grid(model, power.mean(axis=0), leakage)
        steady_nodes = model.block_node_temps_k(steady.field_k)
    else:
        model = th.block_model(flp, params)
        steady_nodes = th.steady_block(model, power.mean(axis=0), leakage)
        for key in ("grid_steady_file", "grid_transient_file"):
            if key in settings:
                print(
                    f"systolic thermal: warning: ignoring -{key} because the grid model is not used",
                    file=sys.stderr,
                )
                settings.pop(key)
    names = th.node_names(flp)
    if "steady_file" in settings:
        outputs.append(io.write_steady(_file(settings, "steady_file"), names, steady_nodes))
    if grid and "grid_steady_file" in settings:
        outputs.append(
            io.write_grid_steady(_file(settings, "grid_steady_file"), model.layers_k(steady.field_k))
        )

    if args.hs_o:
        if leakage is not None:
            print(
                "systolic thermal: warning: as in HotSpot, transients are without the leakage loop",
                file=sys.stderr,
            )
        init_file = _file(settings, "init_file")
        if init_file:
            init = io.read_init(init_file, names)
            if params.dtm_used:
                init = _clip(init, flp.n_blocks, params)
        else:
            init = np.full(len(names), params.init_temp_k)
        if grid:
            keep = "grid_transient_file" in settings
            result = th.transient_grid(
                model, power, model.field_from_block_nodes(init), integrator=args.integrator, keep=keep
            )
            silicon = result.blocks_k[:, 0, :]
            if keep:
                dt = params.sampling_intvl_s
                steps = [
                    (k * dt, model.layers_k(f))
                    for k, f in zip(result.kept_rows, result.fields_k, strict=True)
                ]
                outputs.append(io.write_grid_transient(_file(settings, "grid_transient_file"), steps))
        else:
            silicon = th.transient_block(model, power, init)[:, : flp.n_blocks]
        outputs.insert(0, io.write_ttrace(args.hs_o, trace.names, silicon[:, order]))

    hottest = int(np.argmax(steady_nodes[: flp.n_blocks]))
    how = f"grid {model.rows}x{model.cols} model" if grid else "block model"
    if args.hs_o and grid:
        how += f" ({args.integrator} integrator)"
    print(
        f"systolic thermal: {how}, {flp.n_blocks} blocks, {len(power)} trace rows; steady state hottest "
        f"{flp.names[hottest]} {steady_nodes[hottest]:.2f} K; {time.perf_counter() - started:.2f} s",
        file=sys.stderr,
    )
    for path in outputs:
        print(f"wrote {path}", file=sys.stderr)
    if not outputs:
        print(io.format_steady(flp.names, steady_nodes[: flp.n_blocks]), end="")
    return 0


def _clip(init, n_blocks: int, params) -> Any:
    """HotSpot's init clipping with DTM: scale all rises over ambient so that the hottest block sits at
    the thermal threshold."""
    hottest = float(init[:n_blocks].max())
    if hottest <= params.thermal_threshold_k:
        return init
    factor = (params.thermal_threshold_k - params.ambient_k) / (hottest - params.ambient_k)
    return (init - params.ambient_k) * factor + params.ambient_k


def _dump_config(path: str, params, settings: dict) -> None:
    import dataclasses

    from .fileio import atomic_write_text
    from .model.thermal import HOTSPOT_KEYS

    lines = ["# thermal configuration resolved by systolic thermal"]
    values = dataclasses.asdict(params)
    for key, field in HOTSPOT_KEYS.items():
        value = values[field]
        text = (
            str(int(value))
            if isinstance(value, bool)
            else f"{value:g}"
            if isinstance(value, float)
            else str(value)
        )
        lines.append(f"-{key}\t{text}")
    for key in ("init_file", "steady_file", "grid_steady_file", "grid_transient_file"):
        lines.append(f"-{key}\t{settings[key].value if key in settings else '(null)'}")
    atomic_write_text(path, "\n".join(lines) + "\n")
