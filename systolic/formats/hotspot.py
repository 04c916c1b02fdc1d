"""HotSpot's file formats: floorplans, power and temperature traces, steady and init files, grid files,
config and materials files.

Readers check everything and raise :class:`~systolic.errors.InputError` naming the file, the line (or
field) and what is wrong; writers produce byte-for-byte what HotSpot 6 writes (``%.2f`` temperatures,
tab-separated) through :func:`~systolic.fileio.atomic_write_text`. NumPy only at module level: the
thermal model (SciPy) is imported where a reader needs its parameter table.

Formats (all lines: ``#`` starts a comment line, blank lines are skipped):

* ``.flp``: ``name width height left-x bottom-y`` in metres; HotSpot's optional specific-heat and
  resistivity columns (used by the detailed 3-D model, :func:`read_flp_rc`) and its connectivity lines
  ``name1 name2 density`` (ignored) are accepted.
* ``.ptrace`` / ``.ttrace``: a header of block names, then one row of values per sampling interval.
* ``.steady`` / ``.init``: ``name<TAB>value`` per node.
* grid files: ``Layer <n>:`` then ``<i*cols+j><TAB><T>`` per cell (row 0 at the top of the die); the
  transient file puts ``t = <seconds>`` before each step.
* config files: ``-key value`` per line; unknown keys are errors; the first occurrence of a key wins
  (as in HotSpot).
* layer configuration files (``.lcf``, 3-D stacks): per layer, one item per line: number, lateral heat
  flow ``Y``/``N``, power dissipation ``Y``/``N``, volumetric heat capacity, resistivity (or a material
  name for both), thickness, floorplan file.
* materials files: per material, one item per line: name, ``solid`` or ``fluid``, conductivity
  W/(m K), volumetric heat capacity J/(m^3 K), and for fluids the dynamic viscosity Pa s.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from systolic.errors import InputError
from systolic.fileio import atomic_write_text, read_text
from systolic.model.floorplan import Floorplan
from systolic.numbers import parse_float, parse_int

PathLike = str | os.PathLike
NULLFILE = "(null)"


def _lines(path: PathLike) -> Iterator[tuple[int, list[str]]]:
    """(line number, tokens) of every line that is not blank or a comment."""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        tokens = line.split()
        if tokens and not tokens[0].startswith("#"):
            yield number, tokens


def _number(text: str, path: PathLike, where: str, what: str) -> float:
    try:
        value = parse_float(text)
    except ValueError:
        raise InputError(f"{what} must be a number, not '{text}'", path, where) from None
    if not math.isfinite(value):
        raise InputError(f"{what} must be a finite number, not '{text}'", path, where)
    return value


# --------------------------------------------------------------------------- floorplans


def _is_number(text: str) -> bool:
    try:
        parse_float(text)
    except ValueError:
        return False
    return True


def read_flp(path: PathLike) -> Floorplan:
    """Read a HotSpot ``.flp`` floorplan and check that its blocks tile the die."""
    return read_flp_rc(path)[0]


def read_flp_rc(path: PathLike) -> tuple[Floorplan, np.ndarray, np.ndarray]:
    """Read a ``.flp`` with HotSpot's optional per-block columns (3-D models): (floorplan, volumetric heat
    capacity J/(m^3 K) ``[block]``, resistivity m K/W ``[block]``), NaN where a line has no such column."""
    names: list[str] = []
    values: list[list[float]] = []
    for number, tokens in _lines(path):
        where = f"line {number}"
        if len(tokens) == 3 and not _is_number(tokens[1]):
            continue  # connectivity (name1 name2 wire-density), used only by HotFloorplan
        if len(tokens) not in (5, 7):
            raise InputError(
                f"expected 'name width height left-x bottom-y' (5 fields), found {len(tokens)}", path, where
            )
        fields = ("width", "height", "left-x", "bottom-y", "specific heat", "resistivity")
        nums = [_number(t, path, where, f) for t, f in zip(tokens[1:], fields, strict=False)]
        for value, field in zip(nums[:2], fields, strict=False):
            if value <= 0:
                raise InputError(f"block '{tokens[0]}': {field} must be positive, not {value:g}", path, where)
        for value, field in zip(nums[4:], fields[4:], strict=False):
            if value <= 0:
                raise InputError(f"block '{tokens[0]}': {field} must be positive, not {value:g}", path, where)
        names.append(tokens[0])
        values.append(nums + [math.nan] * (6 - len(nums)))
    if not names:
        raise InputError("no units specified in the floorplan file", path)
    arr = np.array(values)  # [block, 6]
    try:
        flp = Floorplan(tuple(names), arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])
    except InputError as err:
        raise err.located(path) from None
    return flp, arr[:, 4], arr[:, 5]


def read_lcf(path: PathLike, materials: Mapping[str, Material] | None = None) -> tuple[Any, ...]:
    """Read a HotSpot layer configuration file (``-grid_layer_file``) into
    :class:`systolic.model.thermal.Layer` objects, ordered by layer number.

    Per layer, one item per line: layer number (0, 1, ... in any order, each once), lateral heat flow
    ``Y``/``N``, power dissipation ``Y``/``N``, volumetric heat capacity J/(m^3 K), resistivity m K/W,
    thickness m, floorplan file. A material name from the materials file may stand for the heat capacity
    and resistivity lines together. A relative floorplan path is looked up in the working directory (as
    HotSpot does), then beside the layer file.
    """
    from systolic.model.thermal import Layer

    items = [(f"line {number}", tokens[0]) for number, tokens in _lines(path)]
    records: dict[int, Layer] = {}
    pos = 0
    while pos < len(items):
        where, text = items[pos]
        try:
            number = parse_int(text)
        except ValueError:
            raise InputError(f"invalid layer number '{text}'", path, where) from None
        if number < 0:
            raise InputError(f"layer number must be >= 0, not {number}", path, where)
        if number in records:
            raise InputError(f"layer numbers must be unique: {number} appears twice", path, where)

        def take(what: str) -> tuple[str, str]:
            nonlocal pos
            pos += 1
            if pos >= len(items):
                raise InputError(f"layer {number} ends before its {what}", path, where)  # noqa: B023
            return items[pos]

        flags = []
        for what in ("lateral heat flow flag", "power dissipation flag"):
            at, flag = take(what)
            if flag[0] not in "YyNn":
                raise InputError(f"invalid {what} '{flag}': use Y or N", path, at)
            flags.append(flag[0] in "Yy")
        at, text = take("specific heat")
        if _is_number(text):
            p_j_m3k = _number(text, path, at, "specific heat")
            at, text = take("resistivity")
            resistivity = _number(text, path, at, "resistivity")
            if resistivity <= 0:
                raise InputError(f"resistivity must be positive, not {text}", path, at)
            k_w_mk = 1.0 / resistivity
        else:
            material = (materials or {}).get(text)
            if material is None:
                known = ", ".join(sorted(materials or {})) or "none; give -materials_file"
                raise InputError(
                    f"'{text}' is neither a specific heat nor a known material (known: {known})", path, at
                )
            p_j_m3k, k_w_mk = material.p_j_m3k, material.k_w_mk
        at, text = take("thickness")
        thickness_m = _number(text, path, at, "thickness")
        if thickness_m <= 0:
            raise InputError(f"thickness must be positive, not {text}", path, at)
        at, text = take("floorplan file")
        flp_path = Path(text)
        if not flp_path.is_absolute() and not flp_path.exists():
            flp_path = Path(path).parent / flp_path
        flp, sh, res = read_flp_rc(flp_path)
        try:
            records[number] = Layer(flp, k_w_mk, p_j_m3k, thickness_m, flags[0], flags[1], 1.0 / res, sh)
        except InputError as err:
            raise InputError(err.what, path, f"layer {number}") from None
        pos += 1
    if not records:
        raise InputError("no layers in the layer configuration file", path)
    missing = sorted(set(range(len(records))) - set(records))
    if missing:
        raise InputError(
            f"layer numbers must be 0..{len(records) - 1} for {len(records)} layers; "
            f"missing {', '.join(map(str, missing))}",
            path,
        )
    return tuple(records[i] for i in range(len(records)))


def trace_in_stack_order(trace: Trace, floorplans: Sequence[Floorplan], source: PathLike) -> np.ndarray:
    """``[row, power block]`` values of a power trace for a layered grid model: the columns come grouped
    by power-dissipating layer, in layer order (as HotSpot reads them); within a group, names are matched
    to that layer's floorplan (ignoring case)."""
    sizes = [f.n_blocks for f in floorplans]
    if len(trace.names) != sum(sizes):
        raise InputError(
            f"the trace has {len(trace.names)} columns; the power-dissipating layers have "
            f"{' + '.join(map(str, sizes))} = {sum(sizes)} blocks",
            source,
            "header",
        )
    parts, start = [], 0
    for i, (flp, size) in enumerate(zip(floorplans, sizes, strict=True)):
        sub = Trace(trace.names[start : start + size], trace.values[:, start : start + size])
        try:
            parts.append(trace_in_floorplan_order(sub, flp, source))
        except InputError as err:
            raise InputError(
                f"columns {start + 1}..{start + size} (power layer {i}): {err.what}", source, "header"
            ) from None
        start += size
    return np.concatenate(parts, axis=1)


def format_flp(flp: Floorplan, comment: str | None = None) -> str:
    """A floorplan as ``.flp`` text (lengths in metres, full precision)."""
    head = [f"# {line}" for line in (comment or "").splitlines()]
    head.append(
        "# Line Format: <unit-name>\t<width>\t<height>\t<left-x>\t<bottom-y>; all dimensions in metres"
    )
    rows = (
        f"{n}\t{w:.9g}\t{h:.9g}\t{x:.9g}\t{y:.9g}"
        for n, w, h, x, y in zip(flp.names, flp.width_m, flp.height_m, flp.left_m, flp.bottom_m, strict=True)
    )
    return "\n".join([*head, *rows]) + "\n"


def write_flp(path: PathLike, flp: Floorplan, comment: str | None = None) -> Path:
    return atomic_write_text(path, format_flp(flp, comment))


def write_power_trace(
    folder: PathLike, arch_name: str, flp: Floorplan, block_power_w: np.ndarray
) -> list[str]:
    """``power.ptrace`` (``[interval, block]`` watts) and its ``floorplan.flp`` in ``folder``, ready for
    ``systolic thermal`` or HotSpot; returns the names written."""
    folder = Path(folder)
    atomic_write_text(folder / "power.ptrace", format_trace(flp.names, block_power_w, "%.6f"))
    atomic_write_text(folder / "floorplan.flp", format_flp(flp, f"systolic floorplan of {arch_name}"))
    return ["power.ptrace", "floorplan.flp"]


# --------------------------------------------------------------------------- traces


@dataclass(frozen=True, eq=False)
class Trace:
    """A power or temperature trace: column names and ``[row, column]`` values."""

    names: tuple[str, ...]
    values: np.ndarray


def read_trace(path: PathLike, what: str = "power", allow_negative: bool = False) -> Trace:
    """Read a ``.ptrace`` (``what="power"``) or ``.ttrace`` (``what="temperature"``) file."""
    rows = iter(_lines(path))
    try:
        _, names = next(rows)
    except StopIteration:
        raise InputError("empty file: expected a header of block names", path) from None
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if _is_number(name):
            raise InputError(f"the header must name the blocks, found the number '{name}'", path, "line 1")
        if name.lower() in seen:
            raise InputError(f"block '{name}' appears twice in the header", path, "header")
        seen[name.lower()] = i
    values = []
    for number, tokens in rows:
        where = f"line {number}"
        if len(tokens) != len(names):
            raise InputError(f"{len(tokens)} values for {len(names)} blocks in the header", path, where)
        row = []
        for name, text in zip(names, tokens, strict=True):
            value = _number(text, path, f"{where}, {name}", what)
            if value < 0 and not allow_negative:
                raise InputError(f"{what} must not be negative, not {text}", path, f"{where}, {name}")
            row.append(value)
        values.append(row)
    if not values:
        raise InputError(f"no {what} numbers in trace file", path)
    return Trace(tuple(names), np.array(values))


def read_ptrace(path: PathLike) -> Trace:
    """Read a power trace (W): a header of block names, then rows of non-negative numbers."""
    return read_trace(path, "power")


def read_ttrace(path: PathLike) -> Trace:
    return read_trace(path, "temperature")


def trace_in_floorplan_order(trace: Trace, flp: Floorplan, source: PathLike) -> np.ndarray:
    """``[row, block]`` trace values permuted into floorplan order; the names must match the floorplan's
    (ignoring case, as HotSpot does)."""
    wanted = {n.lower(): i for i, n in enumerate(flp.names)}
    have = {n.lower() for n in trace.names}
    missing = [n for n in flp.names if n.lower() not in have]
    extra = [n for n in trace.names if n.lower() not in wanted]
    if missing or extra:
        parts = []
        if extra:
            parts.append(f"not in the floorplan: {', '.join(extra)}")
        if missing:
            parts.append(f"missing from the trace: {', '.join(missing)}")
        raise InputError(f"trace names do not match the floorplan ({'; '.join(parts)})", source, "header")
    order = np.array([wanted[n.lower()] for n in trace.names])
    out = np.empty_like(trace.values)
    out[:, order] = trace.values
    return out


def format_trace(names: Sequence[str], values: np.ndarray, fmt: str = "%.2f") -> str:
    """Trace text: tab-separated header, then one row per line (HotSpot's ``write_names``/``write_vals``)."""
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if values.shape[1] != len(names):
        raise ValueError(f"{values.shape[1]} columns for {len(names)} names")
    body = "\n".join("\t".join(fmt % v for v in row) for row in values.tolist())
    return "\t".join(names) + "\n" + (body + "\n" if body else "")


def write_ttrace(path: PathLike, names: Sequence[str], temps_k: np.ndarray) -> Path:
    """Write a ``.ttrace``: temperatures (K) ``[row, column]`` with ``%.2f``."""
    return atomic_write_text(path, format_trace(names, temps_k))


def write_ptrace(path: PathLike, names: Sequence[str], power_w: np.ndarray) -> Path:
    """Write a ``.ptrace``: powers (W) ``[row, column]`` with ``%.6f``."""
    return atomic_write_text(path, format_trace(names, power_w, "%.6f"))


# --------------------------------------------------------------------------- steady and init files


def format_steady(names: Sequence[str], temps_k: np.ndarray) -> str:
    """``name<TAB>%.2f`` per node (HotSpot's ``dump_temp``)."""
    temps_k = np.asarray(temps_k, dtype=np.float64).reshape(-1)
    if len(temps_k) != len(names):
        raise ValueError(f"{len(temps_k)} values for {len(names)} names")
    return "".join(f"{n}\t{t:.2f}\n" for n, t in zip(names, temps_k.tolist(), strict=True))


def write_steady(path: PathLike, names: Sequence[str], temps_k: np.ndarray) -> Path:
    return atomic_write_text(path, format_steady(names, temps_k))


def read_steady(path: PathLike) -> tuple[tuple[str, ...], np.ndarray]:
    """Read a ``.steady`` or ``.init`` file: (names, values) in file order."""
    names, values = [], []
    for number, tokens in _lines(path):
        where = f"line {number}"
        if len(tokens) != 2:
            raise InputError(f"expected 'name temperature', found {len(tokens)} fields", path, where)
        value = _number(tokens[1], path, f"{where}, {tokens[0]}", "temperature")
        if value < 0:
            raise InputError(f"negative temperature {tokens[1]}", path, f"{where}, {tokens[0]}")
        names.append(tokens[0])
        values.append(value)
    if not names:
        raise InputError("no temperatures in file", path)
    return tuple(names), np.array(values)


def read_init(path: PathLike, node_names: Sequence[str]) -> np.ndarray:
    """Temperatures of ``node_names`` (the ``.steady`` order of the model) from an init file.

    Every node must appear exactly once (in any order, names compared ignoring case).
    """
    names, values = read_steady(path)
    wanted = {n.lower(): i for i, n in enumerate(node_names)}
    out = np.full(len(node_names), np.nan)
    for name, value in zip(names, values, strict=True):
        i = wanted.get(name.lower())
        if i is None:
            raise InputError(f"node '{name}' is not in the model (expected {_sample(node_names)})", path)
        if not np.isnan(out[i]):
            raise InputError(f"node '{name}' appears twice", path)
        out[i] = value
    missing = [node_names[i] for i in np.flatnonzero(np.isnan(out))]
    if missing:
        raise InputError(f"not enough lines in temperature file: missing {_sample(missing)}", path)
    return out


def _sample(names: Sequence[str], k: int = 4) -> str:
    shown = ", ".join(names[:k])
    return shown + (f" and {len(names) - k} more" if len(names) > k else "")


# --------------------------------------------------------------------------- grid files


def format_grid(layers_k: np.ndarray) -> str:
    """``Layer <n>:`` and ``<i*cols+j>\\t%.2f`` lines for a ``[layer, row, col]`` field."""
    layers_k = np.asarray(layers_k, dtype=np.float64)
    n_cells = layers_k.shape[1] * layers_k.shape[2]
    idx = [str(i) for i in range(n_cells)]
    parts = []
    for layer, field in enumerate(layers_k.reshape(len(layers_k), n_cells).tolist()):
        parts.append(f"Layer {layer}:\n")
        parts.append("".join(f"{i}\t{t:.2f}\n" for i, t in zip(idx, field, strict=True)))
    return "".join(parts)


def write_grid_steady(path: PathLike, layers_k: np.ndarray) -> Path:
    """Write a grid steady file (HotSpot's ``dump_steady_temp_grid``)."""
    return atomic_write_text(path, format_grid(layers_k))


def write_grid_transient(path: PathLike, steps: Sequence[tuple[float, np.ndarray]]) -> Path:
    """Write a grid transient file: ``t = %f`` and the field of each (time, ``[layer, row, col]``) step.

    HotSpot appends to this file and labels step k (0-based) ``t = k * sampling_intvl`` although it holds
    the field at the end of trace row k + 1; callers pass the same labels to stay comparable. This
    writer replaces the file instead of appending to it.
    """
    return atomic_write_text(path, "".join(f"t = {t:f}\n" + format_grid(f) for t, f in steps))


def read_grid(path: PathLike, n_cells: int | None = None) -> np.ndarray:
    """Read a grid steady file: ``[layer, cell]`` temperatures."""
    steps = _read_grid_blocks(path, n_cells, transient=False)
    return steps[0][1]


def read_grid_transient(path: PathLike, n_cells: int | None = None) -> list[tuple[float, np.ndarray]]:
    """Read a grid transient file: a list of (t, ``[layer, cell]``)."""
    return _read_grid_blocks(path, n_cells, transient=True)


def _read_grid_blocks(path: PathLike, n_cells: int | None, transient: bool) -> list[tuple[float, np.ndarray]]:
    steps: list[tuple[float, list[list[float]]]] = []
    layers: list[list[float]] | None = None if transient else []
    if not transient:
        steps.append((0.0, layers))
    for number, tokens in _lines(path):
        where = f"line {number}"
        if tokens[0] == "t" and transient:
            if len(tokens) != 3 or tokens[1] != "=":
                raise InputError("expected 't = <seconds>'", path, where)
            layers = []
            steps.append((_number(tokens[2], path, where, "time"), layers))
        elif tokens[0] == "Layer":
            if layers is None:
                raise InputError("expected 't = <seconds>' before the first layer", path, where)
            if len(tokens) != 2 or tokens[1] != f"{len(layers)}:":
                raise InputError(f"expected 'Layer {len(layers)}:'", path, where)
            layers.append([])
        else:
            if not layers:
                raise InputError("expected 'Layer 0:' before the first cell", path, where)
            cells = layers[-1]
            if len(tokens) != 2 or tokens[0] != str(len(cells)):
                raise InputError(f"expected '{len(cells)}<TAB>temperature'", path, where)
            cells.append(_number(tokens[1], path, where, "temperature"))
    if not steps or not steps[0][1]:
        raise InputError("no grid temperatures in file", path)
    out = []
    for t, lays in steps:
        sizes = {len(cells) for cells in lays}
        if len(sizes) != 1 or (n_cells is not None and sizes != {n_cells}):
            expected = n_cells if n_cells is not None else len(lays[0])
            raise InputError(f"every layer must have {expected} cells, found {sorted(sizes)}", path)
        out.append((t, np.array(lays)))
    return out


# --------------------------------------------------------------------------- config and materials files

#: Keys HotSpot 6 reads besides the thermal model's (see ``ThermalParams``): the command's own, file
#: names, materials, and the features this model does not implement (floorplanner, package model,
#: microchannels). They are accepted so that HotSpot's own config files load.
OTHER_KEYS = frozenset(
    {
        # hotspot.c global config
        "f", "p", "o", "c", "d", "detailed_3D", "use_microchannels", "materials_file",
        # files named in the thermal config
        "init_file", "steady_file", "grid_layer_file", "grid_steady_file", "grid_transient_file",
        "package_config_file",
        # materials overriding k_* and p_*
        "material_chip", "material_sink", "material_spreader", "material_interface",
        # microchannel.c
        "pumping_pressure", "pump_internal_res", "inlet_temperature", "coolant_material", "coolant_capac",
        "coolant_res", "coolant_visc", "wall_material", "wall_capac", "wall_res", "htc", "network_file",
        "use_microfluidic_cooling",
        # package.c (detailed package model)
        "natural_convec", "flow_type", "sink_type", "fin_height", "fin_width", "channel_width", "pin_height",
        "pin_diam", "pin_dist", "fan_radius", "motor_radius", "rpm",
        # flp.c (HotFloorplan)
        "wrap_l2", "l2_label", "model_rim", "rim_thickness", "compact_ratio", "n_orients", "P0", "Davg",
        "Kmoves", "Rcool", "Rreject", "Nmax", "lambdaA", "lambdaT", "lambdaW",
    }
)  # fmt: skip


def known_keys() -> frozenset[str]:
    """Every config key HotSpot 6 reads, spelled as HotSpot does (keys are compared ignoring case)."""
    from systolic.model.thermal_params import HOTSPOT_KEYS

    return OTHER_KEYS | frozenset(HOTSPOT_KEYS)


@dataclass(frozen=True)
class ConfigValue:
    """One ``-key value`` setting and where it came from (for error messages)."""

    value: str
    source: str
    where: str


def read_hotspot_config(path: PathLike) -> dict[str, ConfigValue]:
    """Read a HotSpot config file (``-key value`` lines) into {lower-case key: value}.

    The first occurrence of a key wins, as in HotSpot. Unknown keys are errors.
    """
    known = {k.lower() for k in known_keys()}
    out: dict[str, ConfigValue] = {}
    for number, tokens in _lines(path):
        where = f"line {number}"
        key = tokens[0]
        if not key.startswith("-") or len(key) < 2:
            raise InputError(f"expected '-name value', found '{' '.join(tokens)}'", path, where)
        if len(tokens) < 2 or tokens[1].startswith("#"):
            raise InputError(f"'{key}' has no value", path, where)
        if len(tokens) > 2 and not tokens[2].startswith("#"):
            raise InputError(f"unexpected text after the value of '{key}': '{tokens[2]}'", path, where)
        name = key[1:].lower()
        if name not in known:
            raise InputError(f"unknown config key '{key}'", path, where)
        out.setdefault(name, ConfigValue(tokens[1], str(path), where))
    return out


@dataclass(frozen=True)
class Material:
    """A material of a HotSpot materials file."""

    name: str
    fluid: bool
    k_w_mk: float
    p_j_m3k: float
    viscosity_pa_s: float = 0.0


def read_materials(path: PathLike) -> dict[str, Material]:
    """Read a HotSpot materials file: per material, one item per line (name, solid|fluid, conductivity,
    volumetric heat capacity, and for fluids the dynamic viscosity)."""
    items = [(number, tokens[0]) for number, tokens in _lines(path)]
    out: dict[str, Material] = {}
    pos = 0
    while pos < len(items):
        number, name = items[pos]
        if pos + 1 >= len(items):
            raise InputError(f"material '{name}' ends before its type", path, f"line {number}")
        type_line, kind = items[pos + 1]
        if kind not in ("solid", "fluid"):
            raise InputError(
                f"invalid material type '{kind}': must be solid or fluid", path, f"line {type_line}"
            )
        fluid = kind == "fluid"
        n_values = 3 if fluid else 2
        values = items[pos + 2 : pos + 2 + n_values]
        if len(values) < n_values:
            raise InputError(
                f"material '{name}' is incomplete at the end of the file", path, f"line {number}"
            )
        labels = ("thermal conductivity", "volumetric heat capacity", "dynamic viscosity")
        nums = []
        for (line, text), label in zip(values, labels, strict=False):
            value = _number(text, path, f"line {line}", label)
            if value < 0:
                raise InputError(f"{label} must be non-negative, not {text}", path, f"line {line}")
            nums.append(value)
        if name in out:
            raise InputError(f"material '{name}' is defined twice", path, f"line {number}")
        out[name] = Material(name, fluid, *nums)
        pos += 2 + n_values
    return out


_BOOL_FIELDS = {"model_secondary", "dtm_used", "leakage_used", "package_model_used", "block_omit_lateral"}


def thermal_params(
    settings: Mapping[str, ConfigValue], materials: Mapping[str, Material] | None = None
) -> Any:
    """Build :class:`systolic.model.thermal.ThermalParams` from config settings (HotSpot's
    ``thermal_config_add_from_strs``): HotSpot's defaults, overridden by ``settings``; then
    ``-material_chip`` etc. override the k and p of their layer, whatever the source of those."""
    from systolic.model.thermal import HOTSPOT_KEYS, ThermalParams

    lower = {k.lower(): v for k, v in HOTSPOT_KEYS.items()}
    fields = {f.name: f.type for f in ThermalParams.__dataclass_fields__.values()}
    values: dict[str, Any] = {}
    for key, setting in settings.items():
        field = lower.get(key)
        if field is None:
            continue
        text = setting.value
        kind = fields[field]
        where = f"{setting.where}, -{key}" if setting.where else f"-{key}"
        if kind == "str":
            values[field] = text
        elif kind in ("int", "bool"):
            try:
                number = parse_int(text)
            except ValueError:
                raise InputError(
                    f"invalid format for configuration parameter {key}: '{text}'", setting.source, where
                ) from None
            if field in _BOOL_FIELDS and number not in (0, 1):
                raise InputError(f"{key} must be 0 or 1, not {text}", setting.source, where)
            values[field] = number
        else:
            values[field] = _number(text, setting.source, where, key)
    for layer in ("chip", "sink", "spreader", "interface"):
        setting = settings.get(f"material_{layer}")
        if setting is None:
            continue
        material = (materials or {}).get(setting.value)
        if material is None:
            known = ", ".join(sorted(materials or {})) or "none; give -materials_file"
            raise InputError(
                f"material '{setting.value}' not found (known: {known})",
                setting.source,
                f"{setting.where}, -material_{layer}" if setting.where else f"-material_{layer}",
            )
        values[HOTSPOT_KEYS[f"k_{layer}"]] = material.k_w_mk
        values[HOTSPOT_KEYS[f"p_{layer}"]] = material.p_j_m3k
    detailed = settings.get("detailed_3d")
    if detailed is not None and detailed.value == "on":
        values["detailed_3D_used"] = True
    return ThermalParams(**values)
