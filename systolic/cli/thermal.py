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

from systolic.errors import InputError

from .common import add_arch_args, resolve_arch

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
        "--png",
        "--heatmap",
        dest="png",
        metavar="FILE",
        help="write a PNG heatmap: the steady state and, with -o, the moment of peak temperature",
    )
    add_arch_args(p, required=False)
    p.add_argument("--tile", metavar="ROWSxCOLS", help="with --arch: PEs per floorplan tile, e.g. 4x4")
    p.add_argument("--write-flp", metavar="FLP", help="write the floorplan used (e.g. the one --arch made)")
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
    if text is None:
        return None
    parts = text.lower().replace(",", "x").split("x")
    try:
        tr, tc = (int(v) for v in parts)
    except ValueError:
        raise InputError(f"expected ROWSxCOLS, e.g. 4x4, not '{text}'", "--tile") from None
    return tr, tc


def _floorplan(args: argparse.Namespace):
    from systolic.formats.hotspot import read_flp

    if args.hs_f and args.arch:
        raise InputError("give a floorplan (-f) or an architecture (--arch), not both", "systolic thermal")
    if args.arch:
        from systolic.model.floorplan import floorplan_for

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

    from systolic.formats import hotspot as io
    from systolic.model import thermal as th

    started = time.perf_counter()
    settings = _settings(args)
    materials = io.read_materials(_file(settings, "materials_file")) if "materials_file" in settings else None
    params = io.thermal_params(settings, materials)
    params.check_supported()
    if settings.get("use_microchannels", io.ConfigValue("0", "", "")).value not in ("0",):
        raise InputError("microfluidic cooling is not supported", "systolic thermal", "-use_microchannels")
    layers = None
    if "grid_layer_file" in settings:
        setting = settings["grid_layer_file"]
        if params.model_type != "grid":
            raise InputError("a layer file needs -model_type grid", setting.source, "-grid_layer_file")
        layers = io.read_lcf(setting.value, materials)
        if args.hs_f or args.arch:
            print(
                f"systolic thermal: warning: layer configuration file {setting.value} specified; "
                "ignoring the floorplan",
                file=sys.stderr,
            )
        flp = layers[0].floorplan
    else:
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
    leakage = None
    grid = params.model_type == "grid"
    outputs = []

    if grid:
        model = th.grid_model(flp, params, layers=layers)
        power_flps = [model.layers[i].floorplan for i in model.power_layers]
        power = io.trace_in_stack_order(trace, power_flps, args.hs_p)  # [row, power block]
        order = _stack_order(trace.names, power_flps)  # trace column -> power block
        if params.leakage_used:
            leakage = _stack_leakage(th, power_flps)
        steady = th.steady_grid(model, power.mean(axis=0), leakage)
        steady_nodes = steady.nodes_k
        steady_power = steady.power_k
        names = th.grid_node_names(model)
        power_names = model.power_names
    else:
        power = io.trace_in_floorplan_order(trace, flp, args.hs_p)  # [row, block]
        order = np.array([flp.index(n) for n in trace.names])
        leakage = th.hotspot_leakage(flp) if params.leakage_used else None
        model = th.block_model(flp, params)
        steady = None
        steady_nodes = th.steady_block(model, power.mean(axis=0), leakage)
        steady_power = steady_nodes[: flp.n_blocks]
        names = th.node_names(flp)
        power_names = flp.names
        for key in ("grid_steady_file", "grid_transient_file"):
            if key in settings:
                print(
                    f"systolic thermal: warning: ignoring -{key} because the grid model is not used",
                    file=sys.stderr,
                )
                settings.pop(key)
    if "steady_file" in settings:
        outputs.append(io.write_steady(_file(settings, "steady_file"), names, steady_nodes))
    if grid and "grid_steady_file" in settings:
        outputs.append(
            io.write_grid_steady(_file(settings, "grid_steady_file"), model.layers_k(steady.field_k))
        )

    transient = None  # [row, power block]
    peak_field = None
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
                init = _clip(init, len(power_names), params)
        else:
            init = np.full(len(names), params.init_temp_k)
        if grid:
            keep_file = "grid_transient_file" in settings
            result = th.transient_grid(
                model,
                power,
                model.field_from_block_nodes(init),
                integrator=args.integrator,
                keep=True if keep_file else "peak" if args.png else False,
            )
            transient = result.power_k
            if keep_file:
                dt = params.sampling_intvl_s
                steps = [
                    (k * dt, model.layers_k(f))
                    for k, f in zip(result.kept_rows, result.fields_k, strict=True)
                ]
                outputs.append(io.write_grid_transient(_file(settings, "grid_transient_file"), steps))
            if args.png:
                peak_field = result.fields_k[
                    list(result.kept_rows).index(int(np.argmax(transient.max(axis=1))))
                ]
        else:
            transient = th.transient_block(model, power, init)[:, : flp.n_blocks]
        outputs.insert(0, io.write_ttrace(args.hs_o, trace.names, transient[:, order]))

    if args.png:
        outputs.append(
            _write_png(
                args.png,
                model if grid else None,
                flp,
                steady_power,
                steady,
                transient,
                peak_field,
                params,
                power_names,
            )
        )
    hottest = int(np.argmax(steady_power))
    how = f"grid {model.rows}x{model.cols} model" if grid else "block model"
    if grid and layers is not None:
        how += f", {len(layers)} layers{' (detailed 3-D)' if params.detailed_3D_used else ''}"
    if args.hs_o and grid:
        how += f" ({args.integrator} integrator)"
    print(
        f"systolic thermal: {how}, {len(power_names)} blocks, {len(power)} trace rows; steady state hottest "
        f"{power_names[hottest]} {steady_power[hottest]:.2f} K; {time.perf_counter() - started:.2f} s",
        file=sys.stderr,
    )
    for path in outputs:
        print(f"wrote {path}", file=sys.stderr)
    if not outputs:
        print(io.format_steady(power_names, steady_power), end="")
    return 0


def _stack_order(trace_names, floorplans) -> Any:
    """Trace column -> power input of a layered grid model (columns grouped by layer)."""
    import numpy as np

    out, start, base = [], 0, 0
    for flp in floorplans:
        out += [base + flp.index(n) for n in trace_names[start : start + flp.n_blocks]]
        start += flp.n_blocks
        base += flp.n_blocks
    return np.array(out)


def _stack_leakage(th, floorplans):
    import numpy as np

    parts = [th.hotspot_leakage(f) for f in floorplans]
    sizes = np.cumsum([f.n_blocks for f in floorplans])[:-1]

    def leakage(t_k):
        return np.concatenate([leak(t) for leak, t in zip(parts, np.split(t_k, sizes), strict=True)])

    return leakage


def _write_png(path, grid_model, flp, steady_power, steady, transient, peak_field, params, power_names):
    """The steady map and, with a transient, the map at the row of peak temperature (of the first
    power-dissipating layer of a stack; the peak named may lie in another)."""
    import numpy as np

    from systolic.report.heatmap import Panel, write_heatmap

    n = flp.n_blocks  # the first power layer's blocks lead every power vector
    steady_field = (
        None if grid_model is None else grid_model.layers_k(steady.field_k)[grid_model.power_layers[0]]
    )
    layer = ""
    if grid_model is not None and grid_model.has_lcf:
        layer = f"layer {grid_model.power_layers[0]}, "
    panels = [Panel(f"{layer}steady state", flp, steady_power[:n], steady_field)]
    if transient is not None:
        row = int(np.argmax(transient.max(axis=1)))
        t_s = (row + 1) * params.sampling_intvl_s
        field = None
        if grid_model is not None:
            field = grid_model.layers_k(peak_field)[grid_model.power_layers[0]]
        hot = int(np.argmax(transient[row]))
        panels.append(
            Panel(f"peak {transient[row, hot]:.2f} K at t = {t_s:.6g} s", flp, transient[row, :n], field)
        )
    return write_heatmap(path, panels)


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

    from systolic.fileio import atomic_write_text
    from systolic.model.thermal import HOTSPOT_KEYS

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
