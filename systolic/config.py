"""The architecture vocabulary: one frozen, validated ``ArrayConfig`` and the readers that make it.

This module is imported by the RTL generator, the testbenches and the model alike, so it stays small and
imports nothing heavy. Sources, in order of precedence (later wins):

1. the defaults below,
2. a systolic TOML file (``configs/*.toml``) or a SCALE-Sim ``.cfg`` file,
3. ``--set FIELD=VALUE`` overrides from the command line.
"""

from __future__ import annotations

import configparser
import dataclasses
import enum
import json
import math
import sys
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import InputError
from .fileio import read_text, read_toml, toml_tables
from .numbers import parse_float, parse_int

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


class Dataflow(str, enum.Enum):
    """Which operand stays in the PEs while the others move.

    OS: output stationary (rows=M, cols=N, time=K); WS: weight stationary (rows=K, cols=N, time=M);
    IS: input stationary (rows=K, cols=M, time=N).
    """

    OS = "os"
    WS = "ws"
    IS = "is"

    def __str__(self) -> str:
        return self.value


KIB = 1024


@dataclass(frozen=True)
class ArrayConfig:
    """A systolic-array accelerator, fully described. Every length carries its unit in its name.

    Attributes
    ----------
    name : str
        Label used in reports and build directories.
    rows, cols : int
        PE array height and width.
    dataflow : Dataflow
        ``os``, ``ws`` or ``is``.
    input_bits, weight_bits : int
        Operand widths, 2..16 bits (a 2-bit signed weight holds ternary values).
    input_signed, weight_signed : bool
        Two's-complement operands when true.
    weight_format : str
        ``int`` (a ``weight_bits`` two's-complement or unsigned integer, multiplied) or ``ternary``
        (weights in {-1, 0, +1} coded in two signed bits: the PE selects +x, -x or 0 by the weight's
        sign and adds, with no multiplier; needs ``weight_bits = 2`` and ``weight_signed``).
    acc_bits : int
        Accumulator width; sums wrap around modulo ``2**acc_bits`` (two's complement when either
        operand is signed).
    ifmap_sram_bytes, filter_sram_bytes, ofmap_sram_bytes : int
        Capacity of each on-chip buffer (both halves of a double buffer together).
    word_bytes : int
        Bytes per stored operand word.
    dram_bw_words_per_cycle : int
        Words the DRAM interface moves per cycle.
    dram_latency_cycles : int
        Cycles from a DRAM read request to its data.
    clock_hz : float
        Core clock.
    tech_node_nm : float
        Technology node.
    vdd_v : float
        Supply voltage.
    zero_gating : bool
        Hold a multiplier's inputs when an operand is zero, so they do not toggle.
    fold_overlap : bool
        Overlap consecutive folds on the array. WS and IS: every PE holds two banks of the stationary
        operand; the next fold's tile loads into one while the current fold streams against the other,
        so folds follow each other every max(T, C, ru) cycles. OS: every PE keeps a result register; a
        fold's results drain from those while the next fold accumulates (every max(T, R + C - 1)
        cycles). False: each fold loads, streams and drains before the next one starts (README, "The
        accelerator and its cycle count").
    tile_overlap : bool
        Run a layer's tiles back to back on the array: the controller starts the next tile as soon as
        the array has taken the last operands of the current one, while its last results are still in
        the array (they are written, and the tile drained to DRAM, in the next step). Needs
        ``fold_overlap``: the serial sequencer takes a new tile only when the last one's results are
        out, so without it tiles run one after the other whatever this says. False: every tile fills
        and empties the array's pipeline (README, "The memory system").
    conv_native : bool or "auto"
        Convolutions read their ifmap tensor itself from DRAM (NHWC on WS, NCHW on OS and IS,
        :mod:`systolic.geometry`), a band of input rows with its halo per tile, and an on-chip window
        generator feeds the array the operand stream of the im2col matrix (zeros for padding made on
        chip). ``auto`` (the default) is on for every dataflow, on IS only with ``fold_overlap``
        (true on IS without it is refused). On OS and IS only stride-1 convolutions with as many output
        as input columns (grouped ones too, a block of groups as its channel slice) read natively; the
        others read their im2col matrix, with true too. With ``auto`` a
        convolution reads its bands when the model times them faster than its im2col plan (or as fast,
        with no more DRAM words); with true whenever a band fits the ifmap SRAM's half. Layers whose
        bands do not fit read their im2col matrix from DRAM, as every layer does with false (README,
        "The memory system").
    group_blocks : bool
        Lower a grouped or depthwise convolution's ``groups`` groups in blocks of b groups, each block ONE
        GEMM with a block-diagonal weight matrix (K = b x taps per group, N = b x filters per group, zeros
        off the diagonal blocks, held in DRAM and read like any weight), so b groups share the array's
        folds and fixed costs; b is the block size with the fewest compute cycles on this array and
        dataflow (:mod:`systolic.model.grouped`). False: ``groups`` separate small GEMMs, one per group
        (README, "Grouped and depthwise convolutions").
    ifmap_offset, filter_offset, ofmap_offset : int
        Base addresses of the three tensors in the traces (SCALE-Sim's offsets).
    read_request_buffer, write_request_buffer : int
        SCALE-Sim 3's DRAM request-buffer depths, kept for round trips to SCALE-Sim.
    memory_banks : int
        SCALE-Sim's ``MemoryBanks``.
    interface_bandwidth : str
        SCALE-Sim's ``InterfaceBandwidth``: ``user`` (use ``dram_bw_words_per_cycle``) or ``calc``.
    vth_v : float
        Threshold voltage of the alpha-power law ``f ~ (V - vth_v)**alpha_power / V`` that relates each
        voltage domain's supply to its highest clock (``model/dvfs.py``); the law passes through
        (``vdd_v``, ``clock_hz``).
    alpha_power : float
        The law's velocity-saturation exponent (1 for fully velocity-saturated, 2 for Shockley devices).
    dvfs_vdd_v : tuple of float
        Supply voltages of the DVFS operating points, strictly increasing; empty: ``vdd_v`` x (0.7, 0.8,
        0.9, 1.0, 1.1), keeping those at least 50 mV above ``vth_v``.
    dvfs_clock_hz : tuple of float
        Clock of each operating point, strictly increasing, none above what the law allows at its
        voltage; empty: the law's clock at each voltage.
    dvfs_domains : tuple of str
        Voltage domains with a regulator of their own: ``array`` (PEs and controller), ``sram`` (the
        three buffers) and ``dram_if`` (the on-chip DRAM interface), or groups of them joined by ``+``
        that share one regulator (``array+sram``). A part named in no domain stays at the nominal point.
    dvfs_transition_latency_s : float
        Time one change of a domain's operating point takes, during which the accelerator waits
        (on-chip regulators: tens to hundreds of ns; off-chip: tens of us).
    dvfs_transition_energy_j : float
        Energy of one change of one domain's operating point (regulator losses, recharging the domain).
    """

    name: str = "custom"
    rows: int = 8
    cols: int = 8
    dataflow: Dataflow = Dataflow.WS
    input_bits: int = 8
    weight_bits: int = 8
    input_signed: bool = True
    weight_signed: bool = True
    weight_format: str = "int"
    acc_bits: int = 32
    ifmap_sram_bytes: int = 64 * KIB
    filter_sram_bytes: int = 64 * KIB
    ofmap_sram_bytes: int = 64 * KIB
    word_bytes: int = 1
    dram_bw_words_per_cycle: int = 10
    dram_latency_cycles: int = 20
    clock_hz: float = 1.0e9
    tech_node_nm: float = 45.0
    vdd_v: float = 0.9
    zero_gating: bool = False
    fold_overlap: bool = True
    tile_overlap: bool = True
    conv_native: bool | str = "auto"
    group_blocks: bool = True
    ifmap_offset: int = 0
    filter_offset: int = 10_000_000
    ofmap_offset: int = 20_000_000
    read_request_buffer: int = 32
    write_request_buffer: int = 32
    memory_banks: int = 1
    interface_bandwidth: str = "user"
    vth_v: float = 0.3
    alpha_power: float = 1.3
    dvfs_vdd_v: tuple[float, ...] = ()
    dvfs_clock_hz: tuple[float, ...] = ()
    dvfs_domains: tuple[str, ...] = ("array", "sram", "dram_if")
    dvfs_transition_latency_s: float = 100e-9
    dvfs_transition_energy_j: float = 10e-9

    def __post_init__(self) -> None:
        for f in fields(self):
            value = _coerce(f.name, getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        _check_relations(self)

    def replace(self, **changes: Any) -> ArrayConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict, field order preserved. ``weight_format`` is left out while it is the
        default ``int``, and ``group_blocks`` while it is the default true, so the configs that existed before
        them keep their JSON, slugs and build folders."""
        out = {f.name: _plain(getattr(self, f.name)) for f in fields(self)}
        if out["weight_format"] == "int":
            del out["weight_format"]
        if out["group_blocks"]:  # a lowering choice, not RTL: the default keeps slugs and build folders
            del out["group_blocks"]
        return out

    def to_json(self) -> str:
        """Canonical JSON (used to pass the config to testbenches and to name build directories)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | None = None) -> ArrayConfig:
        """Build from a flat dict of field names; unknown keys are errors."""
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise InputError(f"unknown config field '{key}' (known: {', '.join(sorted(known))})", source)
        try:
            return cls(**data)
        except InputError as err:
            raise err.located(source) from None

    @property
    def product_bits(self) -> int:
        """Width of one full product of an input and a weight."""
        return self.input_bits + self.weight_bits

    @property
    def tiles_overlap(self) -> bool:
        """Tiles run back to back (``tile_overlap``, effective only with ``fold_overlap``)."""
        return self.tile_overlap and self.fold_overlap

    @property
    def convs_native(self) -> bool:
        """Convolutions read their ifmap natively (``conv_native``; ``auto``: on, on IS only with
        ``fold_overlap``, whose loads walk an m-block's taps first to last as the window steps them)."""
        if self.conv_native == "auto":
            return self.dataflow != Dataflow.IS or self.fold_overlap
        return bool(self.conv_native)

    @property
    def pe_count(self) -> int:
        return self.rows * self.cols

    @property
    def slug(self) -> str:
        """A short, file-name-safe identity: name plus a hash of every field."""
        import hashlib

        digest = hashlib.sha256(self.to_json().encode()).hexdigest()[:10]
        return f"{self.name}-{self.rows}x{self.cols}-{self.dataflow.value}-{digest}"


# --------------------------------------------------------------------------- validation

_INT_RANGES: dict[str, tuple[int, int]] = {
    "rows": (1, 4096),
    "cols": (1, 4096),
    "input_bits": (2, 16),
    "weight_bits": (2, 16),
    "acc_bits": (4, 64),
    "ifmap_sram_bytes": (1, 2**40),
    "filter_sram_bytes": (1, 2**40),
    "ofmap_sram_bytes": (1, 2**40),
    "word_bytes": (1, 8),
    "dram_bw_words_per_cycle": (1, 1 << 20),
    "dram_latency_cycles": (0, 1 << 20),
    "ifmap_offset": (0, 2**48),
    "filter_offset": (0, 2**48),
    "ofmap_offset": (0, 2**48),
    "read_request_buffer": (1, 1 << 20),
    "write_request_buffer": (1, 1 << 20),
    "memory_banks": (1, 1024),
}
_FLOAT_RANGES: dict[str, tuple[float, float]] = {
    "clock_hz": (1.0e3, 1.0e11),
    "tech_node_nm": (3.0, 250.0),
    "vdd_v": (0.1, 3.0),
    "vth_v": (0.0, 1.5),
    "alpha_power": (1.0, 2.0),
    "dvfs_transition_latency_s": (0.0, 1.0),
    "dvfs_transition_energy_j": (0.0, 1.0),
}
#: ``weight_format`` values: multiplied integers, or ternary weights that the PE sign-selects and adds.
WEIGHT_FORMATS: tuple[str, ...] = ("int", "ternary")
_BOOLS = {"input_signed", "weight_signed", "zero_gating", "fold_overlap", "tile_overlap", "group_blocks"}
#: Booleans that may also be "auto" (a default that depends on other fields).
_AUTO_BOOLS = {"conv_native"}

#: The micro-architecture options of issue 15 all off: the serial machine that came first (im2col matrices
#: in DRAM, each fold and each tile after the last one, one GEMM per group of a grouped convolution);
#: ``cfg.replace(**SERIAL_OPTIONS)``.
SERIAL_OPTIONS: dict[str, bool] = {
    "fold_overlap": False,
    "tile_overlap": False,
    "conv_native": False,
    "group_blocks": False,
}
#: Tuple fields and the range of each element.
_FLOAT_TUPLES: dict[str, tuple[float, float]] = {"dvfs_vdd_v": (0.1, 3.0), "dvfs_clock_hz": (1.0e3, 1.0e11)}
#: The parts of the accelerator a voltage domain can hold (``dvfs_domains``).
DVFS_PARTS: tuple[str, ...] = ("array", "sram", "dram_if")
#: Default DVFS voltages, as multiples of ``vdd_v``.
DVFS_DEFAULT_V_RATIOS: tuple[float, ...] = (0.7, 0.8, 0.9, 1.0, 1.1)
#: The smallest gate overdrive V - vth_v an operating point may have.
DVFS_MIN_OVERDRIVE_V = 0.05


def _coerce(name: str, value: Any) -> Any:
    """Check one field's type and range; return it in canonical form."""
    if name == "name":
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{name} must be a non-empty string, not {value!r}", where=name)
        if not value.isprintable() or any(c in value for c in "/\\"):
            # it names build folders and files, and is written into SCALE-Sim and TOML files
            raise InputError(f"{name} must be printable and hold no '/' or '\\', not {value!r}", where=name)
        return value.strip()
    if name == "dataflow":
        try:
            return Dataflow(str(value).strip().lower())
        except ValueError:
            raise InputError(f"dataflow must be one of os, ws, is, not {value!r}", where=name) from None
    if name == "interface_bandwidth":
        text = str(value).strip().lower()
        if text not in ("user", "calc"):
            raise InputError(f"interface_bandwidth must be 'user' or 'calc', not {value!r}", where=name)
        return text
    if name == "weight_format":
        text = str(value).strip().lower()
        if text not in WEIGHT_FORMATS:
            raise InputError(f"weight_format must be 'int' or 'ternary', not {value!r}", where=name)
        return text
    if name in _FLOAT_TUPLES:
        return _coerce_float_tuple(name, value)
    if name == "dvfs_domains":
        return _coerce_domains(value)
    if name in _BOOLS:
        if not isinstance(value, bool):
            raise InputError(f"{name} must be true or false, not {value!r}", where=name)
        return value
    if name in _AUTO_BOOLS:
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        if not isinstance(value, bool):
            raise InputError(f'{name} must be true, false or "auto", not {value!r}', where=name)
        return value
    if name in _INT_RANGES:
        lo, hi = _INT_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise InputError(f"{name} must be an integer, not {value!r}", where=name)
        if not lo <= value <= hi:
            raise InputError(f"{name} must be in {lo}..{hi}, not {value}", where=name)
        return value
    if name in _FLOAT_RANGES:
        lo, hi = _FLOAT_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InputError(f"{name} must be a number, not {value!r}", where=name)
        if not lo <= value <= hi:
            raise InputError(f"{name} must be in {lo:g}..{hi:g}, not {value:g}", where=name)
        return float(value)
    raise AssertionError(f"field {name} has no validator")  # a programming error, not user input


def _coerce_float_tuple(name: str, value: Any) -> tuple[float, ...]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (value,)
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InputError(f"{name} must be a list of numbers, not {value!r}", where=name)
    lo, hi = _FLOAT_TUPLES[name]
    out = []
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"{name}[{i}] must be a number, not {v!r}", where=name)
        if not lo <= v <= hi:
            raise InputError(f"{name}[{i}] must be in {lo:g}..{hi:g}, not {v:g}", where=name)
        out.append(float(v))
    return tuple(out)


def _coerce_domains(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InputError(f"dvfs_domains must be a list of domains, not {value!r}", where="dvfs_domains")
    out, seen = [], set()
    for entry in value:
        parts = [p.strip().lower() for p in str(entry).split("+")]
        for part in parts:
            if part not in DVFS_PARTS:
                raise InputError(
                    f"dvfs_domains: unknown part {part!r} in {entry!r} (known: {', '.join(DVFS_PARTS)})",
                    where="dvfs_domains",
                )
            if part in seen:
                raise InputError(f"dvfs_domains: {part!r} is in two domains", where="dvfs_domains")
            seen.add(part)
        out.append("+".join(parts))
    return tuple(out)


def alpha_power_clock_hz(cfg: ArrayConfig, vdd_v: float) -> float:
    """The highest clock at ``vdd_v`` by the alpha-power law through (``cfg.vdd_v``, ``cfg.clock_hz``).

    ``f(V) = clock_hz * g(V) / g(vdd_v)`` with ``g(V) = (V - vth_v)**alpha_power / V`` (Sakurai and
    Newton, "Alpha-power law MOSFET model", IEEE JSSC 25(2), 1990: gate delay ~ C V / (V - Vth)**alpha).
    """

    def g(v: float) -> float:
        return (v - cfg.vth_v) ** cfg.alpha_power / v

    return cfg.clock_hz * g(vdd_v) / g(cfg.vdd_v)


def dvfs_levels(cfg: ArrayConfig) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The DVFS operating points as (voltages, clocks), both increasing (see ``dvfs_vdd_v``)."""
    volts = cfg.dvfs_vdd_v or tuple(
        round(cfg.vdd_v * r, 6)
        for r in DVFS_DEFAULT_V_RATIOS
        if cfg.vdd_v * r - cfg.vth_v >= DVFS_MIN_OVERDRIVE_V
    )
    clocks = cfg.dvfs_clock_hz or tuple(alpha_power_clock_hz(cfg, v) for v in volts)
    return volts, clocks


def _check_dvfs(cfg: ArrayConfig) -> None:
    if cfg.vdd_v - cfg.vth_v < DVFS_MIN_OVERDRIVE_V:
        raise InputError(
            f"vth_v must be at least {DVFS_MIN_OVERDRIVE_V * 1e3:g} mV below vdd_v ({cfg.vdd_v:g} V), "
            f"not {cfg.vth_v:g}",
            where="vth_v",
        )
    volts, clocks = cfg.dvfs_vdd_v, cfg.dvfs_clock_hz
    for i in range(1, len(volts)):
        if volts[i] <= volts[i - 1]:
            raise InputError(
                f"dvfs_vdd_v must be strictly increasing, but [{i - 1}] = {volts[i - 1]:g} V is followed "
                f"by [{i}] = {volts[i]:g} V",
                where="dvfs_vdd_v",
            )
    for i, v in enumerate(volts):
        if v - cfg.vth_v < DVFS_MIN_OVERDRIVE_V:
            raise InputError(
                f"dvfs_vdd_v[{i}] = {v:g} V must be at least {DVFS_MIN_OVERDRIVE_V * 1e3:g} mV above "
                f"vth_v ({cfg.vth_v:g} V)",
                where="dvfs_vdd_v",
            )
    if clocks and len(clocks) != len(volts):
        raise InputError(
            f"dvfs_clock_hz has {len(clocks)} entries for {len(volts)} dvfs_vdd_v operating points",
            where="dvfs_clock_hz",
        )
    for i in range(1, len(clocks)):
        if clocks[i] <= clocks[i - 1]:
            raise InputError(
                f"dvfs_clock_hz must be strictly increasing, but [{i - 1}] = {clocks[i - 1]:g} Hz is "
                f"followed by [{i}] = {clocks[i]:g} Hz",
                where="dvfs_clock_hz",
            )
    for i, (v, f) in enumerate(zip(volts, clocks, strict=False)):
        limit = alpha_power_clock_hz(cfg, v)
        if f > limit * (1 + 1e-9):
            raise InputError(
                f"dvfs_clock_hz[{i}] = {f:g} Hz is above the {limit:.6g} Hz the alpha-power law allows at "
                f"{v:g} V (vth_v = {cfg.vth_v:g} V, alpha_power = {cfg.alpha_power:g}, through "
                f"{cfg.clock_hz:g} Hz at {cfg.vdd_v:g} V)",
                where="dvfs_clock_hz",
            )
    if not dvfs_levels(cfg)[0]:
        raise InputError(
            f"no default DVFS voltage is {DVFS_MIN_OVERDRIVE_V * 1e3:g} mV above vth_v ({cfg.vth_v:g} V); "
            "give dvfs_vdd_v",
            where="dvfs_vdd_v",
        )


def _check_relations(cfg: ArrayConfig) -> None:
    _check_dvfs(cfg)
    if cfg.weight_format == "ternary" and (cfg.weight_bits != 2 or not cfg.weight_signed):
        raise InputError(
            "weight_format = 'ternary' codes weights in two signed bits: it needs weight_bits = 2 and "
            "weight_signed = true, "
            f"not {cfg.weight_bits} bits {'signed' if cfg.weight_signed else 'unsigned'}",
            where="weight_format",
        )
    if cfg.conv_native is True and cfg.dataflow == Dataflow.IS and not cfg.fold_overlap:
        raise InputError(
            "conv_native on the is dataflow needs fold_overlap = true (the serial sequencer loads a "
            'fold\'s taps last first); set conv_native = false or "auto"',
            where="conv_native",
        )
    if cfg.acc_bits < cfg.product_bits:
        raise InputError(
            f"acc_bits must be at least input_bits + weight_bits ({cfg.product_bits}), not {cfg.acc_bits}",
            where="acc_bits",
        )
    widest = max(cfg.input_bits, cfg.weight_bits)
    if cfg.word_bytes * 8 < widest:
        raise InputError(
            f"word_bytes must hold a {widest}-bit operand (at least {math.ceil(widest / 8)}), "
            f"not {cfg.word_bytes}",
            where="word_bytes",
        )


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


# --------------------------------------------------------------------------- systolic TOML

#: Sections of a systolic TOML file and the fields each may hold.
TOML_SECTIONS: dict[str, tuple[str, ...]] = {
    "array": ("rows", "cols", "dataflow", "zero_gating", "fold_overlap"),
    "precision": ("input_bits", "weight_bits", "input_signed", "weight_signed", "weight_format", "acc_bits"),
    "memory": (
        "ifmap_sram_bytes",
        "filter_sram_bytes",
        "ofmap_sram_bytes",
        "word_bytes",
        "memory_banks",
        "ifmap_offset",
        "filter_offset",
        "ofmap_offset",
        "tile_overlap",
        "conv_native",
        "group_blocks",
    ),
    "dram": (
        "dram_bw_words_per_cycle",
        "dram_latency_cycles",
        "read_request_buffer",
        "write_request_buffer",
        "interface_bandwidth",
    ),
    "technology": ("clock_hz", "tech_node_nm", "vdd_v"),
    "dvfs": (
        "vth_v",
        "alpha_power",
        "dvfs_vdd_v",
        "dvfs_clock_hz",
        "dvfs_domains",
        "dvfs_transition_latency_s",
        "dvfs_transition_energy_j",
    ),
}


def load_toml(path: str | Path) -> ArrayConfig:
    """Read a systolic architecture TOML file (top-level ``name`` plus the sections above)."""
    path = Path(path)
    flat, entries = toml_tables(read_toml(path), TOML_SECTIONS, path, ("name",))
    flat.update((key, value) for _, key, value in entries)
    if not set(flat) - {"name"}:
        # an empty file would silently become the default 8x8 array
        raise InputError(
            "sets no architecture field: an architecture file needs at least [array] rows and cols", path
        )
    flat.setdefault("name", path.stem)
    return _from_flat(flat, path)


def to_toml(cfg: ArrayConfig) -> str:
    """The config as systolic TOML (the inverse of :func:`load_toml`)."""
    values = cfg.to_dict()
    lines = [f"name = {_toml_value(values['name'])}"]
    for section, names in TOML_SECTIONS.items():
        lines += ["", f"[{section}]"]
        lines += [f"{n} = {_toml_value(values[n])}" for n in names if n in values]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)


# --------------------------------------------------------------------------- SCALE-Sim .cfg

# SCALE-Sim 2 and 3 keys (configparser lower-cases them) -> how each maps onto ArrayConfig.
_SCALESIM_KEYS: dict[str, dict[str, str | None]] = {
    "general": {"run_name": "name"},
    "architecture_presets": {
        "arrayheight": "rows",
        "arraywidth": "cols",
        "ifmapsramszkb": "ifmap_sram_bytes",
        "filtersramszkb": "filter_sram_bytes",
        "ofmapsramszkb": "ofmap_sram_bytes",
        "ifmapoffset": "ifmap_offset",
        "filteroffset": "filter_offset",
        "ofmapoffset": "ofmap_offset",
        "dataflow": "dataflow",
        "bandwidth": "dram_bw_words_per_cycle",
        "memorybanks": "memory_banks",
        "onchipmemorybanks": "memory_banks",
        "onchipmemorybankports": None,
        "readrequestbuffer": "read_request_buffer",
        "writerequestbuffer": "write_request_buffer",
    },
    "run_presets": {"interfacebandwidth": "interface_bandwidth", "useramulatortrace": "!false"},
    "network_presets": {"topologycsvloc": None},
    "systolic": {},  # every field SCALE-Sim has no key for (written by to_scalesim_cfg, ignored by SCALE-Sim)
    "layout": {
        "ifmapcustomlayout": "!false",
        "ifmapsrambankbandwidth": None,
        "ifmapsrambanknum": None,
        "ifmapsrambankport": None,
        "filtercustomlayout": "!false",
        "filtersrambankbandwidth": None,
        "filtersrambanknum": None,
        "filtersrambankport": None,
    },
    "sparsity": {
        "sparsitysupport": "!false",
        "sparserep": None,
        "optimizedmapping": None,
        "blocksize": None,
        "randomnumbergeneratorseed": None,
        "nonzeroelems": None,
    },
}
_SCALESIM_KB = {"ifmap_sram_bytes", "filter_sram_bytes", "ofmap_sram_bytes"}


def load_scalesim_cfg(path: str | Path) -> ArrayConfig:
    """Read a SCALE-Sim 2 or 3 ``.cfg`` file.

    Sizes in kB become bytes (x1024, SCALE-Sim's convention). Keys SCALE-Sim accepts but systolic does not
    model (bank layouts, topology location) are accepted and ignored; features it cannot honour
    (sparsity, custom layouts, Ramulator traces switched on) are errors rather than silently dropped.
    """
    path = Path(path)
    text = read_text(path)
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"))
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as err:
        raise InputError(f"malformed SCALE-Sim config: {' '.join(str(err).split())}", path) from None
    flat: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for section in parser.sections():
        keymap = _SCALESIM_KEYS.get(section.lower())
        if keymap is None:
            raise InputError(f"unknown section [{section}] (known: {', '.join(_SCALESIM_KEYS)})", path)
        if section.lower() == "systolic":
            _systolic_section(parser, section, path, flat, origin)
            continue
        for key, raw in parser.items(section):
            where = f"[{section}] {key}"
            if key not in keymap:
                raise InputError(f"unknown key '{key}'", path, f"[{section}]")
            target = keymap[key]
            raw = raw.strip().strip('"')
            if target is None:
                continue
            if target == "!false":
                if raw.lower() not in ("false", "0", "no", ""):
                    raise InputError(f"'{raw}' is not supported by systolic (only False)", path, where)
                continue
            flat[target] = _scalesim_value(target, raw, path, where)
            origin[target] = where
    missing = [key for key, field in (("ArrayHeight", "rows"), ("ArrayWidth", "cols")) if field not in flat]
    if missing:
        # SCALE-Sim needs them too; without them the file would silently become the default 8x8 array
        raise InputError(f"[architecture_presets] must give {' and '.join(missing)}", path)
    flat.setdefault("name", path.stem)
    return _from_flat(flat, path, origin)


def _scalesim_fields() -> set[str]:
    """The config fields that SCALE-Sim's own keys hold."""
    return {t for keys in _SCALESIM_KEYS.values() for t in keys.values() if t and not t.startswith("!")}


def _systolic_section(parser: Any, section: str, path: Path, flat: dict, origin: dict) -> None:
    """The ``[systolic]`` section: ``field = TOML value`` for fields SCALE-Sim has no key for."""
    own = {f.name for f in dataclasses.fields(ArrayConfig)} - _scalesim_fields()
    for key, raw in parser.items(section):
        where = f"[{section}] {key}"
        if key not in own:
            raise InputError(
                f"not a config field SCALE-Sim lacks (known: {', '.join(sorted(own))})", path, where
            )
        try:
            flat[key] = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            raise InputError(f"not a TOML value: {raw!r}", path, where) from None
        origin[key] = where


def _scalesim_value(field: str, raw: str, path: Path, where: str) -> Any:
    if field in ("name", "dataflow", "interface_bandwidth"):
        return raw
    if field == "dram_bw_words_per_cycle":
        parts = [p.strip() for p in raw.split(",") if p.strip()]
        values = {_int(p, path, where) for p in parts}
        if len(values) != 1:
            raise InputError(f"per-layer bandwidth lists are not supported, got '{raw}'", path, where)
        return values.pop()
    value = _int(raw, path, where)
    return value * KIB if field in _SCALESIM_KB else value


def _int(raw: str, path: Path, where: str) -> int:
    try:
        return parse_int(raw)
    except ValueError:
        raise InputError(f"expected an integer, got '{raw}'", path, where) from None


def to_scalesim_cfg(cfg: ArrayConfig, topology_csv: str = "") -> str:
    """The config as a SCALE-Sim 3 ``.cfg`` (with every key SCALE-Sim 3 requires), and every field SCALE-Sim
    has no key for in a ``[systolic]`` section, so that :func:`load_scalesim_cfg` reads the same config."""
    for n in _SCALESIM_KB:
        if getattr(cfg, n) % KIB:
            raise InputError(f"{n} = {getattr(cfg, n)} is not a whole number of kB, which SCALE-Sim needs")
    bw_mode = cfg.interface_bandwidth.upper()
    lines = [
        "[general]",
        f"run_name = {cfg.name}",
        "",
        "[architecture_presets]",
        f"ArrayHeight: {cfg.rows}",
        f"ArrayWidth: {cfg.cols}",
        f"IfmapSramSzkB: {cfg.ifmap_sram_bytes // KIB}",
        f"FilterSramSzkB: {cfg.filter_sram_bytes // KIB}",
        f"OfmapSramSzkB: {cfg.ofmap_sram_bytes // KIB}",
        f"IfmapOffset: {cfg.ifmap_offset}",
        f"FilterOffset: {cfg.filter_offset}",
        f"OfmapOffset: {cfg.ofmap_offset}",
        f"Bandwidth : {cfg.dram_bw_words_per_cycle}",
        f"Dataflow : {cfg.dataflow.value}",
        f"MemoryBanks: {cfg.memory_banks}",
        f"ReadRequestBuffer: {cfg.read_request_buffer}",
        f"WriteRequestBuffer: {cfg.write_request_buffer}",
        "",
        "[layout]",
        "IfmapCustomLayout: False",
        # SCALE-Sim 3 in USER mode fetches the ifmap and the filter at these bank bandwidths (and only
        # the ofmap at `Bandwidth`): one bank at the DRAM bandwidth keeps all three at the config's
        f"IfmapSRAMBankBandwidth: {cfg.dram_bw_words_per_cycle}",
        "IfmapSRAMBankNum: 1",
        "IfmapSRAMBankPort: 2",
        "FilterCustomLayout: False",
        f"FilterSRAMBankBandwidth: {cfg.dram_bw_words_per_cycle}",
        "FilterSRAMBankNum: 1",
        "FilterSRAMBankPort: 2",
        "",
        "[sparsity]",
        "SparsitySupport : false",
        "SparseRep : ellpack_block",
        "OptimizedMapping : false",
        "BlockSize : 8",
        "RandomNumberGeneratorSeed : 40",
        "",
        "[run_presets]",
        f"InterfaceBandwidth: {bw_mode}",
        "UseRamulatorTrace: False",
    ]
    if topology_csv:
        lines += ["", "[network_presets]", f'TopologyCsvLoc: "{topology_csv}"']
    values = cfg.to_dict()
    own = [f.name for f in dataclasses.fields(ArrayConfig) if f.name not in _scalesim_fields()]
    lines += [
        "",
        "[systolic]",
        "# fields SCALE-Sim has no key for: SCALE-Sim ignores them, systolic reads them back",
    ]
    lines += [f"{name} = {_toml_value(values[name])}" for name in own if name in values]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- resolution and overrides


def builtin_arch_names() -> list[str]:
    """Names of the architectures shipped in ``configs/``."""
    root = resources.files("systolic.configs")
    return sorted(
        p.name[: -len(".toml")]
        for p in root.iterdir()
        if p.name.endswith(".toml")
        and not p.name.startswith(
            ("analog-", "chip-")
        )  # analog cores: analog_config.py; chips: chip_config.py
    )


def load_arch(arch: str | Path, overrides: dict[str, Any] | None = None) -> ArrayConfig:
    """Resolve ``arch`` (a shipped name, a ``.toml`` or a SCALE-Sim ``.cfg`` path) and apply overrides."""
    text = str(arch)
    path = Path(text)
    if path.suffix.lower() == ".cfg":
        cfg = load_scalesim_cfg(path)
    elif path.suffix.lower() == ".toml" or path.exists():
        cfg = load_toml(path)
    elif text in builtin_arch_names():
        with resources.as_file(resources.files("systolic.configs") / f"{text}.toml") as p:
            cfg = load_toml(p)
    else:
        names = ", ".join(builtin_arch_names())
        raise InputError(f"no such architecture file or name (shipped: {names})", text)
    if overrides:
        try:
            cfg = cfg.replace(**overrides)
        except InputError as err:
            raise err.located("--set") from None
    return cfg


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``FIELD=VALUE`` command-line override into a typed value."""
    if "=" not in text:
        raise InputError(f"expected FIELD=VALUE, got '{text}'", "--set")
    key, _, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    known = {f.name for f in fields(ArrayConfig)}
    if key not in known:
        raise InputError(f"unknown config field '{key}'", "--set")
    if key in _AUTO_BOOLS and raw.lower() == "auto":
        return key, "auto"
    if key in _BOOLS | _AUTO_BOOLS:
        low = raw.lower()
        if low not in ("true", "false", "1", "0", "yes", "no"):
            raise InputError(f"{key} must be true or false, not '{raw}'", "--set")
        return key, low in ("true", "1", "yes")
    if key in _INT_RANGES:
        try:
            return key, parse_int(raw.replace("_", ""))  # 65_536 as in TOML
        except ValueError:
            raise InputError(f"{key} must be an integer, not '{raw}'", "--set") from None
    if key in _FLOAT_RANGES:
        try:
            return key, parse_float(raw)
        except ValueError:
            raise InputError(f"{key} must be a number, not '{raw}'", "--set") from None
    if key in _FLOAT_TUPLES:
        try:
            return key, tuple(parse_float(p) for p in raw.split(",") if p.strip())
        except ValueError:
            raise InputError(f"{key} must be numbers separated by commas, not '{raw}'", "--set") from None
    if key == "dvfs_domains":
        return key, tuple(p.strip() for p in raw.split(",") if p.strip())
    return key, raw


def _from_flat(flat: dict[str, Any], path: Path, origin: dict[str, str] | None = None) -> ArrayConfig:
    """Validate a flat field dict read from ``path``; errors name the file's own key for the field."""
    try:
        return ArrayConfig.from_dict(flat)
    except InputError as err:
        where = (origin or {}).get(err.where or "") or _toml_where(err.where)
        raise InputError(err.what, path, where) from None


def _toml_where(field: str | None) -> str | None:
    if field is None:
        return None
    for section, names in TOML_SECTIONS.items():
        if field in names:
            return f"[{section}] {field}"
    return field
