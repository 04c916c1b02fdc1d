"""``systolic sweep`` of ``kind = "analog"``: accuracy, energy and latency of an analog core at every point
of a space of its fields (ADC bits, crossbar size, cell bits, ...), with the Pareto front of the three.

The spec (TOML)::

    kind = "analog"
    mode = "grid"                    # or "random" with samples and seed, as in any sweep
    batch = 4                        # design points per Dask task (optional)

    [analog]
    base = "analog-ternary"          # a shipped analog core or a .toml file (relative to the spec)
    network = "digits-cnn"           # a shipped trained network (systolic accuracy --network)
    seeds = 1                        # noise seeds per point (optional; the accuracy is their mean)

    [space]                          # AnalogConfig fields, and `crossbar`: rows = cols, with the
                                     # base's ADCs per crossbar (unless cols_per_adc is an axis too)
    adc_bits = [4, 5, 6, 7, 8]
    crossbar = [64, 128, 256]
    cell_bits = [1, 2]

Each point is the base core with the point's fields, at the network's widths
(:func:`systolic.flow.accuracy.core_for`). Its accuracy is the integer network's on the held-out digits
with every GEMM on :func:`~systolic.model.functional.analog_gemm` (seeded: seed ``s`` of ``seeds``), its
energy and latency per inference are :func:`~systolic.model.analog.analog_layers`'. The Pareto front
minimises the error rate, the energy and the latency. The rest (parts per batch, resume, points and pareto
CSV and Parquet, summary.json) is :func:`systolic.flow.sweep.execute`, as for the other kinds.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from systolic.analog_config import AnalogConfig, load_analog
from systolic.errors import InputError

from .sweep import (
    Range,
    check_grid,
    check_keys,
    design_points,
    execute,
    kind_table,
    parse_range,
    prepare_out,
    sampling,
    spec_digest,
)

SPEC_KEYS = {"kind", "mode", "samples", "seed", "batch", "space", "analog"}
ANALOG_KEYS = ("base", "network", "seeds")
MAX_SEEDS = 10
#: Seconds one point takes per noise seed on one worker: the digits network's 450 held-out images through
#: analog_gemm (measured here: 2 s on an idle core, 5.5 s per point with its Dask overhead on a loaded one).
SECONDS_PER_POINT_SEED = 3.0
#: What the Pareto front minimises.
OBJECTIVES: tuple[str, ...] = ("error_rate", "energy_j", "latency_s")
#: A point's columns beside its axes.
COLUMNS: tuple[str, ...] = ("accuracy", *OBJECTIVES, "pj_per_mac", "program_j", "crossbars_used")
#: Fields a sweep may not set: the network fixes the operand widths.
FIXED = frozenset({"name", "input_bits", "weight_bits", "input_signed", "weight_signed"})
INT_FIELDS = frozenset(
    f.name for f in dataclasses.fields(AnalogConfig) if f.type in ("int", int) and f.name not in FIXED
) | {"crossbar"}


@dataclass(frozen=True)
class AnalogSweepSpec:
    """A parsed, checked analog sweep spec (see the module docstring)."""

    path: Path
    base: AnalogConfig
    network: str
    seeds: int
    mode: str
    samples: int
    seed: int
    batch: int
    space: tuple[tuple[str, tuple[Any, ...] | Range], ...]
    kind: str = "analog"
    int_fields: frozenset[str] = INT_FIELDS

    @property
    def digest(self) -> str:
        """Identity of what the sweep computes: resume checks it."""
        return spec_digest(
            self, kind=self.kind, base=self.base.to_dict(), network=self.network, seeds=self.seeds
        )


def point_config(base: AnalogConfig, values: dict[str, Any]) -> AnalogConfig:
    """The core of one point: ``base`` with ``values`` (``crossbar`` sets rows and cols); an InputError
    names a value that cannot be used."""
    fields = dict(values)
    if "crossbar" in fields:
        size = fields.pop("crossbar")
        fields["rows"] = fields["cols"] = size
        if "cols_per_adc" not in fields and isinstance(size, int):  # as many ADCs per crossbar as the base's
            fields["cols_per_adc"] = max(1, round(base.cols_per_adc * size / base.cols))
    for key, v in fields.items():
        if key in INT_FIELDS and isinstance(v, float) and v.is_integer():
            fields[key] = int(v)
    try:
        return base.replace(**fields)
    except TypeError:
        raise InputError(f"a value of the wrong type in {values!r}") from None


def load_analog_spec(path: Path, data: dict[str, Any]) -> AnalogSweepSpec:
    """Check an analog sweep spec already read from ``path``; every problem is one line naming the key."""
    from .accuracy import NETWORKS, core_for, shipped_network

    check_keys(data, path, SPEC_KEYS)
    mode, samples, seed, batch = sampling(data, path, 4)
    table = kind_table(data, path, "analog", ANALOG_KEYS, "base, network, seeds")
    name = str(table.get("base", "analog-ternary"))
    near = path.parent / name
    try:
        base = load_analog(str(near) if near.is_file() else name)
    except InputError as err:
        raise InputError(str(err) if err.source else err.what, path, "analog.base") from None
    network = table.get("network", "digits-cnn")
    if network not in NETWORKS:
        raise InputError(f"must be one of {', '.join(NETWORKS)}, not {network!r}", path, "analog.network")
    seeds = table.get("seeds", 1)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise InputError(f"must be an integer in 1..{MAX_SEEDS}, not {seeds!r}", path, "analog.seeds")
    base = core_for(base, shipped_network(network).net)
    space = _space(path, data.get("space"), mode, base)
    check_grid(space, mode, path)
    return AnalogSweepSpec(path, base, network, seeds, mode, samples, seed, batch, tuple(space))


def _space(path: Path, raw: Any, mode: str, base: AnalogConfig) -> list:
    """The axes, every value (or range bound) checked by building the base core with it."""
    if not isinstance(raw, dict) or not raw:
        raise InputError("missing or empty: give at least one axis and its values", path, "space")
    known = sorted({f.name for f in dataclasses.fields(AnalogConfig)} - FIXED | {"crossbar"})
    space = []
    for key, value in raw.items():
        where = f"space.{key}"
        if key not in known:
            raise InputError(f"not an analog core field (known: {', '.join(known)})", path, where)
        if key == "crossbar" and ({"rows", "cols"} & set(raw)):
            raise InputError("give crossbar (rows = cols) or rows and cols, not both", path, where)
        if isinstance(value, dict):
            axis: tuple | Range = parse_range(value, mode, path, where)
            checks = [(f"bound {v!r}", v) for v in (axis.low, axis.high)]
        elif isinstance(value, list) and value:
            axis, checks = tuple(value), [(f"value {v!r}", v) for v in value]
        else:
            raise InputError(
                f"must be a non-empty list of values or a range table, not {value!r}", path, where
            )
        for label, v in checks:
            try:
                point_config(base, {key: v})
            except InputError as err:
                raise InputError(f"{label}: {err.what}", path, where) from None
        space.append((key, axis))
    return space


def run_analog_batch(cfg_dicts: list[dict | None], shared: tuple) -> dict[str, np.ndarray]:
    """Evaluate one batch (runs on a Dask worker): cores as dicts, None for a point that has none;
    ``shared``: (network name, seeds)."""
    from systolic.model import qnet
    from systolic.model.analog import analog_layers
    from systolic.model.cycles import GemmArrays

    from .accuracy import accuracy, analog_logits, digits_split, shipped_network

    network, seeds = shared
    net = shipped_network(network).net
    _, _, x_test, y_test = digits_split()
    codes = qnet.input_codes(x_test, net.act_bits)
    gemm = GemmArrays.from_workload(qnet.workload(name=network))
    cols = {c: np.full(len(cfg_dicts), np.nan) for c in COLUMNS}
    for j, d in enumerate(cfg_dicts):
        if d is None:
            continue
        cfg = AnalogConfig(**d)
        acc = float(np.mean([accuracy(analog_logits(net, codes, cfg, s), y_test) for s in range(seeds)]))
        res = analog_layers(cfg, gemm)
        row = {
            "accuracy": acc,
            "error_rate": 1.0 - acc,
            "energy_j": float(res.inference_pj.sum()) * 1e-12,
            "latency_s": float(res.latency_s.sum()),
            "pj_per_mac": res.pj_per_mac(),
            "program_j": float(res.program_pj.sum()) * 1e-12,
            "crossbars_used": float(res.crossbars.sum()),
        }
        for c, v in row.items():
            cols[c][j] = v
    return {**cols, "error": np.full(len(cfg_dicts), "", dtype=object)}


def run_analog_sweep(
    spec: AnalogSweepSpec,
    out: Path,
    scheduler: str | None = None,
    workers: int = 2,
    progress: bool = True,
    force: bool = False,
    warn: Any = None,
) -> dict[str, Any]:
    """Run (or resume) the analog sweep into ``out``; returns the summary. Over the time budget
    (``flow/limits.py``, :data:`SECONDS_PER_POINT_SEED`) it is refused before any work unless ``force``."""
    from . import limits

    start = time.perf_counter()
    points = design_points(spec)
    seconds = len(points) * spec.seeds * SECONDS_PER_POINT_SEED / max(1, workers)
    limits.check(f"the sweep ({len(points):,} points)", spec.path.name, seconds=seconds, force=force)
    out = prepare_out(spec, out)
    cfgs: list[AnalogConfig | None] = []
    errors = []
    for i, p in enumerate(points):
        try:
            cfgs.append(point_config(spec.base, {"name": f"point{i}", **p}))
            errors.append("")
        except InputError as err:
            cfgs.append(None)
            errors.append(err.what)
    plan = [np.arange(s, min(s + spec.batch, len(points))) for s in range(0, len(points), spec.batch)]

    def payload(b: int) -> list[dict | None]:
        return [cfgs[i].to_dict() if cfgs[i] is not None else None for i in plan[b]]

    work = (run_analog_batch, payload, (spec.network, spec.seeds))
    extra = {"kind": "analog", "base": spec.base.name, "network": spec.network, "seeds": spec.seeds}
    summary = execute(
        spec, out, points, errors, plan, work, OBJECTIVES, extra, scheduler, workers, progress, warn=warn
    )
    return {**summary, "seconds": time.perf_counter() - start}
