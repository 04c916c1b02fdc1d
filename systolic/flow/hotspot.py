"""``systolic thermal``'s flow: HotSpot's command, file for file, on systolic's thermal model.

:func:`prepare` resolves what the files and options ask for (parameters, materials, a layer stack or a
floorplan); :func:`solve` builds the block or grid model, solves the steady state and, with an output trace,
the transient, and writes every file HotSpot would (``.steady``, ``.grid.steady``, ``.ttrace``, the grid
transient) plus an optional PNG. Warnings HotSpot prints are returned, not printed.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from systolic.errors import InputError
from systolic.fileio import atomic_write_text
from systolic.formats import hotspot as io
from systolic.model.floorplan import Floorplan
from systolic.model.thermal_params import ThermalParams

#: HotSpot settings: key (lower case) -> value with where it came from.
Settings = dict[str, io.ConfigValue]


@dataclass(frozen=True, eq=False)
class Setup:
    """What the config, the materials and a layer file resolve to."""

    params: ThermalParams
    layers: list | None  # model.thermal.Layer per stack layer, from -grid_layer_file
    floorplan: Floorplan | None  # the stack's first layer's (None without a layer file)


def prepare(settings: Settings) -> Setup:
    """Thermal parameters, materials and the layer stack of ``settings``; refuses what is unsupported."""
    materials = io.read_materials(settings["materials_file"].value) if "materials_file" in settings else None
    params = io.thermal_params(settings, materials)
    params.check_supported()
    if settings.get("use_microchannels", io.ConfigValue("0", "", "")).value not in ("0",):
        raise InputError("microfluidic cooling is not supported", "systolic thermal", "-use_microchannels")
    if "grid_layer_file" not in settings:
        return Setup(params, None, None)
    setting = settings["grid_layer_file"]
    if params.model_type != "grid":
        raise InputError("a layer file needs -model_type grid", setting.source, "-grid_layer_file")
    layers = io.read_lcf(setting.value, materials)
    return Setup(params, layers, layers[0].floorplan)


@dataclass
class Solution:
    """A solved run: what was written, the steady state of the power blocks, and HotSpot's warnings."""

    how: str
    power_names: list[str]
    steady_k: np.ndarray  # [power block]
    trace_rows: int
    outputs: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Steady:
    """The steady state of either model, and how trace columns map onto its power inputs."""

    model: Any  # model.thermal.BlockModel or GridModel
    power: np.ndarray  # [row, power block]
    order: np.ndarray  # trace column -> power block
    names: list[str]  # every node (.steady file)
    nodes_k: np.ndarray  # [node]
    power_k: np.ndarray  # [power block]
    power_names: list[str]
    grid_steady: Any = None  # model.thermal.GridSteady


def solve(
    setup: Setup,
    flp: Floorplan,
    settings: Settings,
    ptrace: str,
    ttrace: str | None,
    integrator: str = "be",
    png: str | None = None,
    lateral: str = "hotspot",
) -> Solution:
    """HotSpot's run on ``flp`` (or the stack of ``setup``) under the power trace ``ptrace``: the steady
    state at average power, and with ``ttrace`` the transient from the initial temperatures. ``lateral``:
    the grid model's lateral resistances, HotSpot's or the physical ones (``model.thermal.grid_model``)."""
    params, grid = setup.params, setup.params.model_type == "grid"
    trace = io.read_ptrace(ptrace)
    warnings: list[str] = []
    if grid:
        st = _grid_steady(setup, flp, trace, ptrace, lateral)
    else:
        st = _block_steady(flp, params, trace, ptrace)
    check_physical(st.power_k, st.power_names, "the steady state", ptrace)
    if not grid:
        for key in ("grid_steady_file", "grid_transient_file"):
            if key in settings:
                warnings.append(f"ignoring -{key} because the grid model is not used")
                settings = {k: v for k, v in settings.items() if k != key}
    outputs = []
    if "steady_file" in settings:
        outputs.append(io.write_steady(settings["steady_file"].value, st.names, st.nodes_k))
    if grid and "grid_steady_file" in settings:
        field_k = st.model.layers_k(st.grid_steady.field_k)
        outputs.append(io.write_grid_steady(settings["grid_steady_file"].value, field_k))
    transient, peak_field = None, None
    if ttrace:
        if params.leakage_used:
            warnings.append("as in HotSpot, transients are without the leakage loop")
        transient, peak_field, written = _transient(st, params, settings, integrator, png is not None, grid)
        check_physical(transient, st.power_names, "the transient", ptrace)
        outputs += written
        outputs.insert(0, io.write_ttrace(ttrace, trace.names, transient[:, st.order]))
    if png:
        model = st.model if grid else None
        panels = (flp, st.power_k, st.grid_steady, transient, peak_field, params, st.power_names)
        outputs.append(_write_png(png, model, *panels))
    how = f"grid {st.model.rows}x{st.model.cols} model" if grid else "block model"
    if grid and setup.layers is not None:
        how += f", {len(setup.layers)} layers{' (detailed 3-D)' if params.detailed_3D_used else ''}"
    if ttrace and grid:
        how += f" ({integrator} integrator)"
    return Solution(how, list(st.power_names), st.power_k, len(st.power), outputs, warnings)


#: Grid transients with more (rows x nodes) than this print their progress (a 64x64 grid: about 300 rows).
LONG_TRANSIENT = 5_000_000


class _RowProgress:
    """Prints rows done, rate and time left of a long grid transient, at most every 10 s."""

    def __init__(self, period_s: float = 10.0) -> None:
        self.start = self.last = time.perf_counter()
        self.period_s = period_s

    def __call__(self, done: int, rows: int) -> None:
        now = time.perf_counter()
        if now - self.last < self.period_s or done == rows:
            return
        self.last = now
        rate = done / (now - self.start)
        left = (rows - done) / rate
        print(
            f"systolic thermal: {done:,} of {rows:,} rows, {rate:.3g} rows/s, about {left:.0f} s left",
            file=sys.stderr,
            flush=True,
        )


#: Temperatures above this are no chip's (the leakage loop calls the same a runaway, model/thermal.py).
PHYSICAL_LIMIT_K = 2000.0


def check_size(
    setup: Setup, flp: Floorplan, settings: Settings, trace_rows: int, transient: bool, force: bool = False
) -> None:
    """Refuse a model too large for the memory and time budgets (``systolic.flow.limits``) before it is
    built: the grid model by its cells, the block model by its blocks (``model/thermal_size.py``)."""
    from systolic.flow import limits
    from systolic.model import thermal_size as size

    p = setup.params
    if p.model_type == "grid":
        layers = len(setup.layers) if setup.layers else 2
        seconds, memory = size.grid_cost(p.grid_rows, p.grid_cols, layers, trace_rows if transient else 0)
        files = None
        if "grid_transient_file" in settings:
            files = size.grid_file_bytes(p.grid_rows, p.grid_cols, layers, trace_rows)
        what = f"the {p.grid_rows}x{p.grid_cols} grid model of {layers} layers"
        limits.check(
            what, "-grid_rows", memory_bytes=memory, seconds=seconds, output_bytes=files, force=force
        )
    else:
        seconds, memory = size.block_cost(flp.n_blocks, transient)
        what = f"the block model of {flp.n_blocks:,} blocks"
        limits.check(what, "-f", memory_bytes=memory, seconds=seconds, force=force)


def check_physical(temps_k: np.ndarray, names: Any, what: str, source: str) -> None:
    """Refuse temperatures no chip has (overflow, or above :data:`PHYSICAL_LIMIT_K`): they come from
    powers or package parameters that are not physical, and HotSpot would print them as if they were."""
    temps = np.atleast_2d(np.asarray(temps_k, dtype=float))  # [row, block]
    bad = ~(np.isfinite(temps) & (temps > 0) & (temps <= PHYSICAL_LIMIT_K))
    if not bad.any():
        return
    row, col = (int(i[0]) for i in np.nonzero(bad))
    value = temps[row, col]
    reached = f"reaches {value:.4g} K" if np.isfinite(value) else "overflows"
    raise InputError(
        f"{what} {reached} in block '{names[col]}', which no chip does (limit {PHYSICAL_LIMIT_K:g} K): "
        "check the powers and the package parameters",
        source,
    )


def _grid_steady(setup: Setup, flp: Floorplan, trace: Any, ptrace: str, lateral: str) -> _Steady:
    from systolic.model import thermal as th

    model = th.grid_model(flp, setup.params, layers=setup.layers, lateral=lateral)
    power_flps = [model.layers[i].floorplan for i in model.power_layers]
    power = io.trace_in_stack_order(trace, power_flps, ptrace)  # [row, power block]
    leakage = _stack_leakage(th, power_flps) if setup.params.leakage_used else None
    steady = th.steady_grid(model, power.mean(axis=0), leakage)
    order = _stack_order(trace.names, power_flps)
    names = th.grid_node_names(model)
    return _Steady(model, power, order, names, steady.nodes_k, steady.power_k, model.power_names, steady)


def _block_steady(flp: Floorplan, params: ThermalParams, trace: Any, ptrace: str) -> _Steady:
    from systolic.model import thermal as th

    power = io.trace_in_floorplan_order(trace, flp, ptrace)  # [row, block]
    order = np.array([flp.index(n) for n in trace.names])
    leakage = th.hotspot_leakage(flp) if params.leakage_used else None
    model = th.block_model(flp, params)
    nodes = th.steady_block(model, power.mean(axis=0), leakage)
    return _Steady(model, power, order, th.node_names(flp), nodes, nodes[: flp.n_blocks], flp.names)


def _transient(
    st: _Steady, params: ThermalParams, settings: Settings, integrator: str, want_peak: bool, grid: bool
) -> tuple[np.ndarray, np.ndarray | None, list[Path]]:
    """``[row, power block]`` temperatures, the field at the peak row (grid, for a PNG) and the files."""
    from systolic.model import thermal as th

    init_file = settings["init_file"].value if "init_file" in settings else None
    if init_file:
        init = io.read_init(init_file, st.names)
        if params.dtm_used:
            init = _clip(init, len(st.power_names), params)
    else:
        init = np.full(len(st.names), params.init_temp_k)
    if not grid:
        n = len(st.power_names)
        return th.transient_block(st.model, st.power, init)[:, :n], None, []
    keep_file = "grid_transient_file" in settings
    model = st.model
    result = th.transient_grid(
        model,
        st.power,
        model.field_from_block_nodes(init),
        integrator=integrator,
        keep=True if keep_file else "peak" if want_peak else False,
        progress=_RowProgress() if len(st.power) * model.n_nodes > LONG_TRANSIENT else None,
    )
    written = []
    if keep_file:
        dt = params.sampling_intvl_s
        steps = [(k * dt, model.layers_k(f)) for k, f in zip(result.kept_rows, result.fields_k, strict=True)]
        written.append(io.write_grid_transient(settings["grid_transient_file"].value, steps))
    peak_field = None
    if want_peak:
        peak_row = int(np.argmax(result.power_k.max(axis=1)))
        peak_field = result.fields_k[list(result.kept_rows).index(peak_row)]
    return result.power_k, peak_field, written


def _stack_order(trace_names, floorplans) -> Any:
    """Trace column -> power input of a layered grid model (columns grouped by layer)."""
    out, start, base = [], 0, 0
    for flp in floorplans:
        out += [base + flp.index(n) for n in trace_names[start : start + flp.n_blocks]]
        start += flp.n_blocks
        base += flp.n_blocks
    return np.array(out)


def _stack_leakage(th, floorplans):
    parts = [th.hotspot_leakage(f) for f in floorplans]
    sizes = np.cumsum([f.n_blocks for f in floorplans])[:-1]

    def leakage(t_k):
        return np.concatenate([leak(t) for leak, t in zip(parts, np.split(t_k, sizes), strict=True)])

    return leakage


def _write_png(path, grid_model, flp, steady_power, steady, transient, peak_field, params, power_names):
    """The steady map and, with a transient, the map at the row of peak temperature (of the first
    power-dissipating layer of a stack; the peak named may lie in another)."""
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


def _clip(init: np.ndarray, n_blocks: int, params: ThermalParams) -> np.ndarray:
    """HotSpot's init clipping with DTM: scale all rises over ambient so that the hottest block sits at
    the thermal threshold."""
    hottest = float(init[:n_blocks].max())
    if hottest <= params.thermal_threshold_k:
        return init
    factor = (params.thermal_threshold_k - params.ambient_k) / (hottest - params.ambient_k)
    return (init - params.ambient_k) * factor + params.ambient_k


def dump_config(path: str, params: ThermalParams, settings: Settings) -> None:
    """Write the resolved thermal configuration as a HotSpot config file (HotSpot's ``-d``)."""
    from systolic.model.thermal import HOTSPOT_KEYS

    lines = ["# thermal configuration resolved by systolic thermal"]
    values = dataclasses.asdict(params)
    for key, name in HOTSPOT_KEYS.items():
        value = values[name]
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
