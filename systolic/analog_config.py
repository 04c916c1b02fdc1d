"""The analog in-memory core vocabulary: one frozen, validated ``AnalogConfig`` and its TOML reader.

An analog core is a set of resistive crossbars. Weights are stored as cell conductances (weight
stationary: programming them costs time and energy), inputs are applied as word-line voltages a few bits
at a time by DACs (bit-serial slicing), every column sums its currents (Kirchhoff), ADCs shared by
several columns digitise the sums, and a shift-and-add unit weights each slice's result by its place
value. Partial sums of a K larger than the crossbar's rows are added digitally across crossbars.

Like :mod:`systolic.config`, this module imports nothing heavy. Every default is a published number;
its source sits next to it.

Sources
-------
* **ISAAC**: A. Shafiee et al., "ISAAC: A Convolutional Neural Network Accelerator with In-Situ Analog
  Arithmetic in Crossbars", ISCA 2016, Table I (per in-situ multiply-accumulate unit, IMA, at 32 nm:
  8 crossbars of 128 x 128 cells of 2 bits, 2.4 mW; 8 x 128 1-bit DACs, 4 mW; 8 ADCs of 8 bits at
  1.2 GS/s, 16 mW; 4 shift-and-add units, 0.2 mW; a crossbar read takes 100 ns). The ADC is Kull et al.,
  "A 3.1 mW 8b 1.2 GS/s single-channel asynchronous SAR ADC ... in 32 nm digital SOI CMOS", ISSCC 2013.
* **Walden**: R. H. Walden, "Analog-to-digital converter survey and analysis", IEEE JSAC 17(4), 1999:
  energy per conversion = FOM x 2**bits, the figure of merit that B. Murmann's "ADC Performance Survey
  1997-2024" (Stanford) and B. E. Jonsson's survey (ADMS Design) track across the literature.
* **PRIME**: P. Chi et al., "PRIME: A Novel Processing-in-Memory Architecture for Neural Network
  Computation in ReRAM-based Main Memory", ISCA 2016: RRAM set voltage 2 V and set pulse 40 ns, as
  CiMLoop's ISAAC cell description (Andrulis et al., ISPASS 2024; mit-emze/cimloop) also uses, with
  R_on = 1333 ohm.
* **NeuroSim**: P.-Y. Chen, X. Peng, S. Yu, "NeuroSim: A Circuit-Level Macro Model for Benchmarking
  Neuro-Inspired Architectures in Online Learning", IEEE TCAD 37(12), 2018 (neurosim/MLP_NeuroSim_V3.0 and
  DNN_NeuroSim): an analog-RRAM subarray is written one row per write operation
  (``numWriteCellPerOperationNeuro = numCol``), and a digital-RRAM one ``numCol / numWriteColMuxed`` cells
  per operation with ``numWriteColMuxed = 16`` columns sharing one write driver (``Param.cpp``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import InputError
from .fileio import read_toml, toml_tables

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

# --------------------------------------------------------------------------- defaults and their sources

#: ISAAC, Table I: 8 crossbars per IMA dissipate 2.4 mW while reading every 100 ns, 128 x 128 cells each:
#: 2.4e-3 W / 8 x 100e-9 s / 16384 cells = 1.83 fJ per cell and read.
ISAAC_CELL_READ_FJ = 2.4e-3 / 8 * 100e-9 / (128 * 128) * 1e15
#: ISAAC, Table I: 8 x 128 1-bit DACs dissipate 4 mW, each converting once per 100 ns read:
#: 4e-3 W / 1024 x 100e-9 s = 0.39 pJ per 1-bit conversion.
ISAAC_DAC_PJ = 4e-3 / 1024 * 100e-9 * 1e12
#: ISAAC, Table I: 8 ADCs of 8 bits at 1.2 GS/s dissipate 16 mW: 2 mW / 1.2e9 = 1.67 pJ per conversion,
#: a Walden figure of merit of 1.67 pJ / 2**8 = 6.5 fJ per conversion step. (For scale: the best Nyquist
#: ADCs in the surveys reach 2-5 fJ per step, e.g. 2.2 fJ, Harpe et al., ISSCC 2013.)
ISAAC_ADC_FJ_PER_STEP = 2e-3 / 1.2e9 / 2**8 * 1e15
#: ISAAC, Table I: 4 shift-and-add units dissipate 0.2 mW while taking the 8 ADCs' 9.6 G samples/s:
#: 0.2e-3 W / 9.6e9 = 0.021 pJ per shift-and-add.
ISAAC_SHIFT_ADD_PJ = 0.2e-3 / (8 * 1.2e9) * 1e12
#: ISAAC's technology node: its component energies are scaled from here to ``tech_node_nm``.
ISAAC_NODE_NM = 32.0
#: Cells the whole core writes in one programming pulse. No published core-wide write parallelism for a
#: multi-crossbar analog core was found (ISAAC and PRIME give none; NeuroSim writes one row of one subarray
#: per write operation and time-shares write drivers among 16 columns in its digital-RRAM mode). The
#: default is NeuroSim's analog-RRAM write, one 128-cell crossbar row at a time for the whole core, i.e. one
#: set of write drivers and one charge pump shared by all crossbars: 128 x 1.5 mA (2 V into PRIME's
#: 1333 ohm) = 0.19 A, 0.38 W while writing, the order of ISAAC's read power for 12 IMAs (12 x 22.6 mW =
#: 0.27 W), where a row of every crossbar at once would be 96 times that (18 A, 37 W).
NEUROSIM_ROW_WRITE_CELLS = 128


@dataclass(frozen=True)
class AnalogConfig:
    """An analog in-memory crossbar core, fully described. Every quantity carries its unit in its name.

    Attributes
    ----------
    name : str
        Label used in reports.
    rows, cols : int
        Cells per crossbar: word lines (inputs, the GEMM's K) and bit lines (outputs). ISAAC: 128 x 128.
    cell_bits : int
        Bits one cell stores as a conductance level (ISAAC: 2). A weight of ``weight_bits`` takes
        ``ceil(magnitude bits / cell_bits)`` cells side by side, shifted and added after the ADC.
    crossbars : int
        Crossbars in the core (ISAAC: 8 per IMA, 12 IMAs per tile: 96). Weights that do not fit are
        reprogrammed layer by layer.
    input_bits, weight_bits : int
        Operand widths (2..16). A signed 2-bit weight holds the ternary values -1, 0, 1.
    input_signed, weight_signed : bool
        Two's-complement operands. A signed weight is stored as a differential pair of columns
        (positive and negative part); a signed input's top slice drives a negative voltage.
    acc_bits : int
        Width of the digital accumulator after the shift-and-add; sums wrap modulo ``2**acc_bits``.
    dac_bits : int
        Input bits applied per crossbar read (ISAAC: 1); an input takes ``ceil(input_bits / dac_bits)``
        reads.
    adc_bits : int
        ADC resolution (ISAAC: 8).
    cols_per_adc : int
        Bit lines one ADC converts one after another per read (ISAAC: 128, one ADC per crossbar).
    adc_full_scale : float
        The ADC's input range as a fraction of the largest column sum a read can produce,
        ``rows x (2**dac_bits - 1) x (2**cell_bits - 1)``; smaller ranges clip large sums but resolve
        small ones finer. With ``adc_bits`` large enough to count that sum in unit steps (ISAAC's choice,
        with its encoding tricks) the conversion is exact.
    read_s : float
        Time of one crossbar read, DAC to sample-and-hold (ISAAC: 100 ns).
    adc_rate_hz : float
        Conversions per second of one ADC (ISAAC: 1.2 GS/s).
    adc_fj_per_step : float
        Walden figure of merit: ADC energy per conversion = this x ``2**adc_bits`` (ISAAC's ADC: 6.5 fJ).
    dac_pj : float
        Energy of one 1-bit DAC conversion (ISAAC: 0.39 pJ); a ``dac_bits`` DAC of unit elements costs
        ``2**dac_bits - 1`` times that.
    cell_read_fj : float
        Energy of one cell in one read (ISAAC: 1.83 fJ).
    shift_add_pj : float
        Energy of one shift-and-add of one ADC sample (ISAAC: 0.021 pJ).
    energy_node_nm : float
        The node the DAC, ADC and shift-and-add energies above were published for (ISAAC: 32 nm); they
        are scaled to ``tech_node_nm`` and ``vdd_v`` like the digital array's energies. Cell energies
        are device physics and are not scaled.
    program_v : float
        Programming (set) voltage of a cell (PRIME: 2 V).
    program_pulse_s : float
        Width of one programming pulse (PRIME: 40 ns). A crossbar is programmed a row at a time, at most
        ``program_parallel_cells`` cells of the core in one pulse.
    g_on_s : float
        Conductance of a fully-on cell (1 / 1333 ohm, CiMLoop's ISAAC cell); a programming pulse costs
        ``program_v**2 x g_on_s x program_pulse_s`` (120 pJ with the defaults).
    program_pulses : int
        Write-verify pulses per cell (1: a single pulse; write-verify schemes take several).
    program_parallel_cells : int
        Cells the whole core writes in one pulse, whichever crossbars they sit in: the write drivers and
        the charge pump limit the write current (default 128, one crossbar row at a time as NeuroSim
        writes; see :data:`NEUROSIM_ROW_WRITE_CELLS`). A wave of ``c`` cells takes
        ``max(rows written, ceil(c / program_parallel_cells)) x program_pulses`` pulses (a crossbar never
        writes two of its rows at once).
    tech_node_nm, vdd_v : float
        Technology node and supply of the core's digital and mixed-signal periphery.
    program_sigma : float
        Weight programming noise: standard deviation of a cell's conductance error, as a fraction of
        the full conductance range, drawn once when the weights are programmed.
    read_sigma : float
        Read noise: standard deviation of a cell's conductance in each read, same unit, drawn anew in
        every read.
    ir_drop : float
        Optional first-order IR drop along the wires: a cell at word line i and bit line j contributes
        ``1 - ir_drop x (i / rows + j / cols) / 2`` of its ideal current (0: none).
    """

    name: str = "analog"
    rows: int = 128
    cols: int = 128
    cell_bits: int = 2
    crossbars: int = 96
    input_bits: int = 8
    weight_bits: int = 8
    input_signed: bool = False
    weight_signed: bool = True
    acc_bits: int = 32
    dac_bits: int = 1
    adc_bits: int = 8
    cols_per_adc: int = 128
    adc_full_scale: float = 1.0
    read_s: float = 100e-9
    adc_rate_hz: float = 1.2e9
    adc_fj_per_step: float = ISAAC_ADC_FJ_PER_STEP
    dac_pj: float = ISAAC_DAC_PJ
    cell_read_fj: float = ISAAC_CELL_READ_FJ
    shift_add_pj: float = ISAAC_SHIFT_ADD_PJ
    energy_node_nm: float = ISAAC_NODE_NM
    program_v: float = 2.0
    program_pulse_s: float = 40e-9
    g_on_s: float = 1.0 / 1333.0
    program_pulses: int = 1
    program_parallel_cells: int = NEUROSIM_ROW_WRITE_CELLS
    tech_node_nm: float = 32.0
    vdd_v: float = 0.9
    program_sigma: float = 0.0
    read_sigma: float = 0.0
    ir_drop: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _coerce(f.name, getattr(self, f.name)))
        _check_relations(self)

    def replace(self, **changes: Any) -> AnalogConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict, field order preserved."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def weight_slices(self) -> int:
        """Cells side by side that hold one weight's magnitude (or its positive or negative part)."""
        return math.ceil(self.weight_magnitude_bits / self.cell_bits)

    @property
    def weight_magnitude_bits(self) -> int:
        """Bits of a weight's magnitude: a signed weight's parts need one bit fewer than its width."""
        return self.weight_bits - 1 if self.weight_signed else self.weight_bits

    @property
    def polarities(self) -> int:
        """Columns per weight slice: 2 (differential pair) for signed weights, else 1."""
        return 2 if self.weight_signed else 1

    @property
    def cols_per_weight(self) -> int:
        """Bit lines one weight occupies."""
        return self.weight_slices * self.polarities

    @property
    def input_slices(self) -> int:
        """Crossbar reads per input vector (bit-serial slices of ``dac_bits``)."""
        return math.ceil(self.input_bits / self.dac_bits)

    @property
    def max_column_sum(self) -> int:
        """The largest sum one bit line can carry in one read (unit: one input step x one level)."""
        return self.rows * (2**self.dac_bits - 1) * (2**self.cell_bits - 1)

    @property
    def adc_exact(self) -> bool:
        """Whether the ADC counts every column sum in its range in unit steps (no quantization loss)."""
        levels = 2 ** (self.adc_bits - 1) - 1 if self.input_signed else 2**self.adc_bits - 1
        return self.adc_full_scale * self.max_column_sum <= levels


# --------------------------------------------------------------------------- validation

_INT_RANGES: dict[str, tuple[int, int]] = {
    "rows": (1, 4096),
    "cols": (1, 4096),
    "cell_bits": (1, 8),
    "crossbars": (1, 1 << 24),
    "input_bits": (1, 16),
    "weight_bits": (1, 16),
    "acc_bits": (4, 64),
    "dac_bits": (1, 8),
    "adc_bits": (1, 16),
    "cols_per_adc": (1, 4096),
    "program_pulses": (1, 1000),
    "program_parallel_cells": (1, 1 << 30),
}
_FLOAT_RANGES: dict[str, tuple[float, float]] = {
    "adc_full_scale": (1e-6, 1.0),
    "read_s": (1e-12, 1e-3),
    "adc_rate_hz": (1e3, 1e12),
    "adc_fj_per_step": (1e-3, 1e6),
    "dac_pj": (0.0, 1e3),
    "cell_read_fj": (0.0, 1e6),
    "shift_add_pj": (0.0, 1e3),
    "energy_node_nm": (3.0, 250.0),
    "program_v": (0.0, 10.0),
    "program_pulse_s": (0.0, 1e-3),
    "g_on_s": (0.0, 1.0),
    "tech_node_nm": (3.0, 250.0),
    "vdd_v": (0.1, 3.0),
    "program_sigma": (0.0, 10.0),
    "read_sigma": (0.0, 10.0),
    "ir_drop": (0.0, 1.0),
}
_BOOLS = {"input_signed", "weight_signed"}


def _coerce(name: str, value: Any) -> Any:
    """Check one field's type and range; return it in canonical form."""
    if name == "name":
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{name} must be a non-empty string, not {value!r}", where=name)
        return value.strip()
    if name in _BOOLS:
        if not isinstance(value, bool):
            raise InputError(f"{name} must be true or false, not {value!r}", where=name)
        return value
    if name in _INT_RANGES:
        lo, hi = _INT_RANGES[name]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{name} must be an integer, not {value!r}", where=name)
        if not lo <= value <= hi:
            raise InputError(f"{name} must be in {lo}..{hi}, not {value}", where=name)
        return value
    lo, hi = _FLOAT_RANGES[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{name} must be a number, not {value!r}", where=name)
    if not lo <= value <= hi:
        raise InputError(f"{name} must be in {lo:g}..{hi:g}, not {value:g}", where=name)
    return float(value)


def _check_relations(cfg: AnalogConfig) -> None:
    if cfg.weight_signed and cfg.weight_bits < 2:
        raise InputError("weight_bits must be at least 2 for signed weights, not 1", where="weight_bits")
    if cfg.dac_bits > cfg.input_bits:
        raise InputError(
            f"dac_bits must be at most input_bits ({cfg.input_bits}), not {cfg.dac_bits}", where="dac_bits"
        )
    if cfg.cols_per_adc > cfg.cols:
        raise InputError(
            f"cols_per_adc must be at most cols ({cfg.cols}), not {cfg.cols_per_adc}", where="cols_per_adc"
        )
    if cfg.cols_per_weight > cfg.cols:
        raise InputError(
            f"a weight takes {cfg.cols_per_weight} bit lines (weight_bits {cfg.weight_bits}, cell_bits "
            f"{cfg.cell_bits}), more than cols ({cfg.cols})",
            where="cols",
        )
    if cfg.acc_bits < cfg.input_bits + cfg.weight_bits:
        raise InputError(
            f"acc_bits must be at least input_bits + weight_bits ({cfg.input_bits + cfg.weight_bits}), "
            f"not {cfg.acc_bits}",
            where="acc_bits",
        )


# --------------------------------------------------------------------------- TOML

#: Sections of an analog TOML file and the fields each may hold.
TOML_SECTIONS: dict[str, tuple[str, ...]] = {
    "crossbar": ("rows", "cols", "cell_bits", "crossbars"),
    "precision": ("input_bits", "weight_bits", "input_signed", "weight_signed", "acc_bits"),
    "converters": ("dac_bits", "adc_bits", "cols_per_adc", "adc_full_scale", "adc_rate_hz"),
    "timing": ("read_s",),
    "energy": ("adc_fj_per_step", "dac_pj", "cell_read_fj", "shift_add_pj", "energy_node_nm"),
    "programming": ("program_v", "program_pulse_s", "g_on_s", "program_pulses", "program_parallel_cells"),
    "technology": ("tech_node_nm", "vdd_v"),
    "noise": ("program_sigma", "read_sigma", "ir_drop"),
}


def load_analog_toml(path: str | Path) -> AnalogConfig:
    """Read an analog-core TOML file: a top-level ``kind = "analog"`` and ``name``, and the sections above.

    Every error is one line naming the file and the ``[section] field``.
    """
    path = Path(path)
    data = read_toml(path)
    if data.get("kind") != "analog":
        raise InputError(f'kind must be "analog" in an analog core file, not {data.get("kind")!r}', path)
    head, entries = toml_tables(data, TOML_SECTIONS, path, ("kind", "name"))
    flat: dict[str, Any] = {key: value for _, key, value in entries}
    if "name" in head:
        flat["name"] = head["name"]
    flat.setdefault("name", path.stem)
    try:
        return AnalogConfig(**flat)
    except InputError as err:
        raise InputError(err.what, path, _toml_where(err.where)) from None


def _toml_where(field: str | None) -> str | None:
    for section, names in TOML_SECTIONS.items():
        if field in names:
            return f"[{section}] {field}"
    return field


def is_analog_toml(path: str | Path) -> bool:
    """Whether ``path`` is a TOML file that declares ``kind = "analog"`` (False for anything unreadable)."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8")).get("kind") == "analog"
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def builtin_analog_names() -> list[str]:
    """Names of the analog cores shipped in ``configs/`` (the ``analog-*.toml`` files)."""
    root = resources.files("systolic.configs")
    return sorted(
        p.name[: -len(".toml")]
        for p in root.iterdir()
        if p.name.startswith("analog-") and p.name.endswith(".toml")
    )


def load_analog(arch: str | Path, overrides: dict[str, Any] | None = None) -> AnalogConfig:
    """Resolve ``arch`` (a shipped ``analog-*`` name or a ``.toml`` path) and apply ``overrides``."""
    text = str(arch)
    if text in builtin_analog_names():
        with resources.as_file(resources.files("systolic.configs") / f"{text}.toml") as p:
            cfg = load_analog_toml(p)
    elif Path(text).suffix.lower() == ".toml" or Path(text).exists():
        cfg = load_analog_toml(text)
    else:
        names = ", ".join(builtin_analog_names())
        raise InputError(f"no such analog core file or name (shipped: {names})", text)
    if overrides:
        known = {f.name for f in fields(AnalogConfig)}
        for key in overrides:
            if key not in known:
                raise InputError(f"unknown analog core field '{key}'", "--set")
        try:
            cfg = cfg.replace(**overrides)
        except InputError as err:
            raise err.located("--set") from None
    return cfg
