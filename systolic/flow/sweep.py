"""``systolic sweep SPEC.toml``: many design points over one or more networks, on Dask, resumable.

The spec (TOML)::

    base = "tpu-v1-128"          # shipped arch name or arch file (relative to the spec)
    networks = ["resnet50"]      # zoo names or topology files
    mode = "grid"                # "grid": every combination; "random": `samples` points drawn with `seed`
    samples = 10000              # random mode
    seed = 0                     # random mode
    batch = 500                  # points per Dask task (optional)
    calibration = "cal.json"     # energy calibration (optional; default as systolic run's)

    [space]                      # ArrayConfig fields and their values
    rows = [16, 32, 64, 128]                      # a list: grid values, or random choices
    dataflow = ["os", "ws", "is"]
    dram_bw_words_per_cycle = {min = 4, max = 128, log = true}   # random mode: a range (ints stay ints)

Points are numbered in spec order (grid: the last field varies fastest). Points that share their tile
candidates (:func:`systolic.model.sweep.plan_key`) go into the same batch, so the model evaluates them
together.
Each finished batch is written at once, atomically, as ``OUT/parts/part-<batch>.parquet``; a rerun of
the same spec into the same ``OUT`` skips the batches already there, so a killed sweep resumes without
redoing finished points and ends with the same bytes. At the end ``points.parquet`` and ``points.csv``
(one row per point: its fields, totals and per-network metrics, ``pareto``) and ``pareto.csv`` (the
points on the front of latency, energy and area, all minimised) are written, plus ``summary.json``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from systolic.config import ArrayConfig, Dataflow, load_arch
from systolic.errors import InputError
from systolic.fileio import (
    atomic_write_json,
    atomic_write_text,
    read_manifest,
    read_text,
    unchanged,
    write_manifest,
)

#: What the Pareto front minimises.
OBJECTIVES: tuple[str, ...] = ("latency_s", "energy_j", "area_mm2")
SPEC_KEYS = {"kind", "base", "networks", "mode", "samples", "seed", "batch", "space", "calibration"}
#: Kinds of sweep: accelerator configs over networks (this module), or LLM plan searches over systems and
#: technology (:mod:`systolic.flow.llm_sweep`), an analog core's accuracy, energy and latency over its
#: fields (:mod:`systolic.flow.analog_sweep`), or tiled chips (:mod:`systolic.flow.chip_sweep`).
KINDS: tuple[str, ...] = ("accelerator", "llm", "analog", "chip")
_INT_FIELDS = {f.name for f in fields(ArrayConfig) if f.type in ("int", int)}
_FLOAT_FIELDS = {f.name for f in fields(ArrayConfig) if f.type in ("float", float)}


@dataclass(frozen=True)
class Range:
    """A random-mode range of one field: uniform, or log-uniform when ``log``."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class SweepSpec:
    """A parsed, checked sweep spec (see the module docstring)."""

    path: Path
    base: ArrayConfig
    networks: tuple[str, ...]
    mode: str
    samples: int
    seed: int
    batch: int
    space: tuple[tuple[str, tuple[Any, ...] | Range], ...]
    calibration: Path | None = None
    int_fields: frozenset[str] = frozenset(_INT_FIELDS)  # fields whose random draws are rounded

    @property
    def digest(self) -> str:
        """Identity of what the sweep computes (base config, networks, points): resume checks it."""
        return spec_digest(
            self,
            base=self.base.to_dict(),
            networks=list(self.networks),
            calibration=None if self.calibration is None else self.calibration.read_text(),
        )


def spec_digest(spec: Any, **what: Any) -> str:
    """A sweep's identity for resuming, any kind: ``what`` it computes (its base, network, options) and its
    points (``mode``, ``samples``, ``seed``, ``batch``, ``space``; a range as ``[low, high, log]``)."""
    space = [[k, v if isinstance(v, tuple) else [v.low, v.high, v.log]] for k, v in spec.space]
    fields = {**what, "mode": spec.mode, "samples": spec.samples, "seed": spec.seed, "batch": spec.batch}
    text = json.dumps({**fields, "space": space}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read and check a sweep spec; every problem is a one-line InputError naming the file and key."""
    path = Path(path)
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML: {err}", path) from None
    kind = data.get("kind", "accelerator")
    if kind not in KINDS:
        raise InputError(f"must be one of {', '.join(KINDS)}, not {kind!r}", path, "kind")
    if kind == "llm":
        from .llm_sweep import load_llm_spec

        return load_llm_spec(path, data)
    if kind == "analog":
        from .analog_sweep import load_analog_spec

        return load_analog_spec(path, data)
    if kind == "chip":
        from .chip_sweep import load_chip_spec

        return load_chip_spec(path, data)
    check_keys(data, path, SPEC_KEYS)

    def get(key: str, kind: type, default: Any = None) -> Any:
        return _get(data, path, key, kind, default)

    base_name = get("base", str)
    base_path = path.parent / base_name
    try:
        base = load_arch(base_path if base_path.suffix in (".toml", ".cfg") else base_name)
    except InputError as err:
        raise InputError(f"base: {err}", path) from None
    networks = data.get("networks")
    if isinstance(networks, str):
        networks = [networks]
    if not networks or not isinstance(networks, list) or not all(isinstance(n, str) for n in networks):
        raise InputError("must be a non-empty list of network names or topology files", path, "networks")
    nets = tuple(str(path.parent / n) if Path(path.parent / n).is_file() else n for n in networks)
    from systolic.formats.network import load_workload

    for net in nets:  # every network readable before the sweep starts (run_sweep reads them again)
        try:
            load_workload(net)
        except InputError as err:
            raise InputError(f"networks: {err}", path) from None
    mode, samples, seed, batch = sampling(data, path, 500)
    space_raw = data.get("space")
    if not isinstance(space_raw, dict) or not space_raw:
        raise InputError("missing or empty: give at least one config field and its values", path, "space")
    known = {f.name for f in fields(ArrayConfig)} - {"name"}
    space = []
    for key, value in space_raw.items():
        if key not in known:
            raise InputError(f"not a config field (known: {', '.join(sorted(known))})", path, f"space.{key}")
        space.append((key, _axis(base, key, value, mode, path)))
    check_grid(space, mode, path)
    calibration = None
    if "calibration" in data:
        calibration = path.parent / get("calibration", str)
        from systolic.formats.calibration import load_calibration

        try:
            load_calibration(calibration)
        except InputError as err:
            raise InputError(f"calibration: {err}", path) from None
    return SweepSpec(path, base, nets, mode, samples, seed, batch, tuple(space), calibration)


def _get(data: dict, path: Path, key: str, kind: type, default: Any = None) -> Any:
    """``data[key]`` checked to be of ``kind`` (int or str), or ``default`` (None: the key is required)."""
    if key not in data:
        if default is None:
            raise InputError("missing", path, key)
        return default
    value = data[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise InputError(f"must be an integer, not {value!r}", path, key)
    if kind is str and not isinstance(value, str):
        raise InputError(f"must be a string, not {value!r}", path, key)
    return value


def check_keys(data: dict, path: Path, known: set[str]) -> None:
    """Refuse top-level keys of a sweep spec that its kind does not know (one line naming them)."""
    unknown = set(data) - known
    if unknown:
        raise InputError(f"unknown key(s) {sorted(unknown)} (known: {sorted(known)})", path)


def kind_table(data: dict, path: Path, name: str, keys: tuple[str, ...], hint: str) -> dict:
    """The spec's ``[name]`` table, every key of it among ``keys`` (``hint``: what the table holds)."""
    table = data.get(name)
    if not isinstance(table, dict):
        raise InputError(f"missing [{name}] table ({hint})", path, name)
    for key in table:
        if key not in keys:
            raise InputError(f"unknown key (known: {', '.join(keys)})", path, f"{name}.{key}")
    return table


def sampling(data: dict, path: Path, default_batch: int) -> tuple[str, int, int, int]:
    """The keys every kind of spec shares: ``mode``, ``samples``, ``seed`` and ``batch`` (points per task)."""
    mode = _get(data, path, "mode", str, "grid")
    if mode not in ("grid", "random"):
        raise InputError(f"must be 'grid' or 'random', not {mode!r}", path, "mode")
    samples = _get(data, path, "samples", int, 0 if mode == "grid" else None)
    if mode == "random" and not 1 <= samples <= 10_000_000:
        raise InputError(f"must be in 1..10000000, not {samples}", path, "samples")
    seed = _get(data, path, "seed", int, 0)
    if not 0 <= seed < 2**63:
        raise InputError(f"must be a non-negative integer, not {seed}", path, "seed")
    batch = _get(data, path, "batch", int, default_batch)
    if not 1 <= batch <= 1_000_000:
        raise InputError(f"must be in 1..1000000, not {batch}", path, "batch")
    return mode, samples, seed, batch


def check_grid(space: list, mode: str, path: Path) -> None:
    if mode == "grid":
        size = math.prod(len(v) for _, v in space)
        if size > 10_000_000:
            raise InputError(f"the grid has {size:,} points; at most 10,000,000", path, "space")


def parse_range(value: dict, mode: str, path: Path, where: str) -> Range:
    """A random-mode range table ``{min, max, log}``, its form checked (not its values)."""
    if mode != "random":
        raise InputError("a range needs mode = 'random' (grid mode takes lists)", path, where)
    extra = set(value) - {"min", "max", "log"}
    if extra or not {"min", "max"} <= set(value):
        raise InputError("a range is {min = .., max = .., log = true|false}", path, where)
    lo, hi, log = value["min"], value["max"], value.get("log", False)
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi))
    if not numbers or not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise InputError(f"min and max must be numbers with min <= max, not {lo!r}, {hi!r}", path, where)
    if log and lo <= 0:
        raise InputError(f"a log range needs min > 0, not {lo}", path, where)
    return Range(float(lo), float(hi), bool(log))


def _axis(base: ArrayConfig, key: str, value: Any, mode: str, path: Path) -> tuple | Range:
    """One axis of the space: a list of values (each checked on ``base``) or a numeric range."""
    where = f"space.{key}"
    if isinstance(value, list):
        if not value:
            raise InputError("empty list of values", path, where)
        for v in value:
            try:
                base.replace(**{key: v})
            except InputError as err:
                raise InputError(f"value {v!r}: {err.what}", path, where) from None
            except TypeError:
                raise InputError(f"value {v!r} has the wrong type", path, where) from None
        return tuple(value)
    if not isinstance(value, dict):
        raise InputError(f"must be a list of values or a range table, not {value!r}", path, where)
    rng = parse_range(value, mode, path, where)
    if key not in _INT_FIELDS | _FLOAT_FIELDS:
        raise InputError("only numeric fields take a range; give a list", path, where)
    for v in (rng.low, rng.high):
        try:
            base.replace(**{key: int(v) if key in _INT_FIELDS else float(v)})
        except InputError as err:
            raise InputError(f"bound {v!r}: {err.what}", path, where) from None
    return rng


def design_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The points, in order: the grid's combinations (last field fastest) or ``samples`` random draws."""
    keys = [k for k, _ in spec.space]
    if spec.mode == "grid":
        return [
            dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in spec.space))
        ]
    rng = np.random.default_rng(spec.seed)
    columns = {}
    for key, dom in spec.space:
        if isinstance(dom, tuple):
            columns[key] = [dom[i] for i in rng.integers(0, len(dom), spec.samples)]
            continue
        lo, hi = (math.log(dom.low), math.log(dom.high)) if dom.log else (dom.low, dom.high)
        draw = rng.uniform(lo, hi, spec.samples)
        draw = np.exp(draw) if dom.log else draw
        if key in spec.int_fields:
            columns[key] = (
                np.clip(np.round(draw), math.ceil(dom.low), math.floor(dom.high)).astype(int).tolist()
            )
        else:
            columns[key] = draw.tolist()
    return [dict(zip(keys, vals, strict=True)) for vals in zip(*columns.values(), strict=True)]


def make_configs(spec: SweepSpec, points: list[dict[str, Any]]) -> tuple[list[ArrayConfig | None], list[str]]:
    """The config of each point (None with the reason where fields contradict each other)."""
    cfgs: list[ArrayConfig | None] = []
    errors = []
    for i, p in enumerate(points):
        try:
            cfgs.append(spec.base.replace(name=f"point{i}", **p))
            errors.append("")
        except InputError as err:
            cfgs.append(None)
            errors.append(err.what)
    return cfgs, errors


def batches(spec: SweepSpec, cfgs: list[ArrayConfig | None]) -> list[np.ndarray]:
    """Point indices per batch: points grouped by tile plan (stable), cut every ``spec.batch`` points."""
    from systolic.model.sweep import plan_key

    keys = [repr(plan_key(c)) if c is not None else "" for c in cfgs]
    order = sorted(range(len(cfgs)), key=lambda i: keys[i])  # stable: spec order within a group
    return [np.array(order[s : s + spec.batch], dtype=np.int64) for s in range(0, len(order), spec.batch)]


def run_batch(cfg_dicts: list[dict | None], shared: tuple) -> dict[str, np.ndarray]:
    """Evaluate one batch (runs on a Dask worker): configs as dicts, None for a contradictory point;
    ``shared``: (networks as workloads, their layer names, the energy calibration)."""
    from systolic.model.sweep import evaluate

    networks, names, calibration = shared
    live = [i for i, d in enumerate(cfg_dicts) if d is not None]
    res = evaluate([ArrayConfig.from_dict(cfg_dicts[i]) for i in live], networks, calibration, names)
    out = {}
    for key, col in res.items():
        text = col.dtype.kind in "UO"
        full = np.full(len(cfg_dicts), "" if text else np.nan, dtype=object if text else float)
        full[live] = col
        out[key] = full
    return out


def _table(spec: SweepSpec, points: list[dict], errors: list[str], idx: np.ndarray, res: dict) -> Any:
    import pyarrow as pa

    cols: dict[str, Any] = {"point": pa.array(idx, type=pa.int64())}
    for key, dom in spec.space:
        values = [points[i][key] for i in idx]
        if key == "dataflow":
            values = [Dataflow(v).value if not isinstance(v, Dataflow) else v.value for v in values]
        if _float_axis(dom, key in spec.int_fields):  # one column type in every part, whatever its values
            values = [float(v) for v in values]
        cols[key] = pa.array(values)
    err = [errors[i] or str(res["error"][j]) for j, i in enumerate(idx)]
    for key, col in res.items():
        if key == "error":
            continue
        if key in cols:  # a result named like an axis would silently replace the axis's column
            raise ValueError(f"result column {key!r} has the name of a space axis or 'point'")
        col = np.asarray(col)
        text = col.dtype.kind in "UO" and any(isinstance(v, str) for v in col)
        cols[key] = pa.array([str(v) for v in col], type=pa.string()) if text else pa.array(col.astype(float))
    cols["error"] = pa.array(err, type=pa.string())
    return pa.table(cols)


def _float_axis(dom: tuple | Range, whole: bool) -> bool:
    """Whether an axis's column is float: a range of a non-integer field, or a list with a float in it
    (``[12, 7, 1.4]``: a batch of only 12s and 7s must not make an integer column)."""
    if isinstance(dom, Range):
        return not whole
    return any(isinstance(v, float) for v in dom)


def _write_parquet(path: Path, table: Any) -> None:
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


#: Setting up a design point (its config, batch and payload; measured: 200,000 points, 3.1 kB and 155 us
#: each) and evaluating it on one layer, per worker (README, "Sweeps": 10,000 points of ResNet-50's 54
#: layers, 35 s on 2 workers).
BYTES_PER_POINT = 3200
SECONDS_PER_POINT = 155e-6
SECONDS_PER_POINT_LAYER = 1.3e-4


def sweep_cost(spec: SweepSpec, layers: int, workers: int) -> tuple[float, float]:
    """(seconds, bytes) of a sweep over networks of ``layers`` layers in all, on ``workers`` workers."""
    points = spec.samples if spec.mode == "random" else math.prod(len(v) for _, v in spec.space)
    seconds = points * (SECONDS_PER_POINT + SECONDS_PER_POINT_LAYER * layers / max(workers, 1))
    return seconds, float(points) * BYTES_PER_POINT


#: The files a sweep writes at its end (over those of an earlier run of the same spec).
FINAL_FILES = ("points.parquet", "points.csv", "pareto.csv", "summary.json")


def _readable_part(path: Path, rows: int) -> str:
    """Why a finished part cannot be used ('' when it can): a killed write or a damaged disk."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
    except Exception as err:  # noqa: BLE001 (pyarrow raises ArrowInvalid, OSError and more)
        return " ".join(str(err).split())[:120] or type(err).__name__
    if meta.num_rows != rows:
        return f"{meta.num_rows} rows for a batch of {rows}"
    return ""


def run_sweep(
    spec: SweepSpec,
    out: Path,
    scheduler: str | None = None,
    workers: int = 2,
    progress: bool = True,
    force: bool = False,
    warn: Any = None,
) -> dict[str, Any]:
    """Run (or resume) the sweep into ``out``; returns the summary. Over the memory or time budget
    (``flow/limits.py``) it is refused before any work unless ``force``; a finished part that cannot be read
    is reported through ``warn`` (one line) and computed again."""
    if getattr(spec, "kind", "accelerator") == "llm":
        from .llm_sweep import run_llm_sweep

        return run_llm_sweep(spec, out, scheduler, workers, progress)
    if getattr(spec, "kind", "accelerator") == "analog":
        from .analog_sweep import run_analog_sweep

        return run_analog_sweep(spec, out, scheduler, workers, progress, force, warn)
    if getattr(spec, "kind", "accelerator") == "chip":
        from .chip_sweep import run_chip_sweep

        return run_chip_sweep(spec, out, scheduler, workers, progress, force, warn)
    from systolic.formats.calibration import load_calibration
    from systolic.formats.network import load_workload

    from . import limits

    start = time.perf_counter()
    workloads = {n: load_workload(n) for n in spec.networks}
    seconds, memory = sweep_cost(spec, sum(len(w) for w in workloads.values()), workers)
    limits.check("the sweep", spec.path.name, memory_bytes=memory, seconds=seconds, force=force)
    out = prepare_out(spec, out)
    labels = {n: Path(n).stem if Path(n).is_file() else n for n in spec.networks}
    # workloads: each point lowers their grouped convolutions as systolic run does (group_blocks)
    networks = {labels[n]: w for n, w in workloads.items()}
    names = {labels[n]: [ly.name for ly in w] for n, w in workloads.items()}
    calibration, cal_path = load_calibration(spec.calibration)
    points = design_points(spec)
    cfgs, errors = make_configs(spec, points)
    plan = batches(spec, cfgs)

    def payload(b: int) -> list[dict | None]:
        return [cfgs[i].to_dict() if cfgs[i] is not None else None for i in plan[b]]

    extra = {"networks": list(networks), "calibration": cal_path.name}
    work = (run_batch, payload, (networks, names, calibration))
    summary = execute(
        spec, out, points, errors, plan, work, OBJECTIVES, extra, scheduler, workers, progress, warn=warn
    )
    return {**summary, "seconds": time.perf_counter() - start}


def prepare_out(spec: Any, out: Path) -> Path:
    """``out`` made ready for ``spec``: created and stamped with the spec's digest, or a folder of the same
    spec to resume; refused if it holds another spec's sweep or something else."""
    out = Path(out)
    stamp = out / "spec.json"
    if stamp.exists():
        try:
            old = json.loads(stamp.read_text())
        except (OSError, ValueError):
            old = {}
        if not isinstance(old, dict) or old.get("digest") != spec.digest:
            raise InputError("holds a sweep of a different spec; give another --out or remove it", out)
    elif out.exists() and any(out.iterdir()):
        raise InputError("exists and is not a sweep folder; give another --out", out)
    ours = read_manifest(out) if out.exists() else {}
    for name in FINAL_FILES:
        if (out / name).exists() and not (name in ours and unchanged(out, name, ours[name])):
            raise InputError(f"{name} is not the file systolic wrote; move it or give another --out", out)
    (out / "parts").mkdir(parents=True, exist_ok=True)
    atomic_write_json(stamp, {"digest": spec.digest, "spec": spec.path.name})
    return out


def execute(
    spec: Any,
    out: Path,
    points: list[dict[str, Any]],
    errors: list[str],
    plan: list[np.ndarray],
    work: tuple,
    objectives: tuple[str, ...],
    extra: dict[str, Any],
    scheduler: str | None,
    workers: int,
    progress: bool,
    warn: Any = None,
) -> dict[str, Any]:
    """The part every kind of sweep shares: evaluate the batches of ``plan`` not yet in ``out/parts`` on
    Dask, write each as it finishes, then the points, the Pareto front of ``objectives``, the summary
    (``extra`` added to it) and the folder's manifest. A part that cannot be read (a damaged disk, a copy
    cut short) is computed again, and ``warn`` told in one line.

    ``work`` is ``(task, payload, shared)``: ``task(payload(b), shared)`` runs on a worker and returns the
    columns ``[point of batch b]`` (text or numbers; ``error`` the reason a point has no result).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from systolic.model.sweep import pareto_front

    task, payload, shared = work
    parts = out / "parts"
    for b in range(len(plan)):
        part = parts / f"part-{b:05d}.parquet"
        problem = _readable_part(part, len(plan[b])) if part.exists() else ""
        if problem:
            if warn is not None:
                warn(f"{part} cannot be read ({problem}); computing it again")
            part.unlink()
    todo = [b for b in range(len(plan)) if not (parts / f"part-{b:05d}.parquet").exists()]
    resumed = len(plan) - len(todo)

    def finish(b: int, res: dict) -> None:
        _write_parquet(parts / f"part-{b:05d}.parquet", _table(spec, points, errors, plan[b], res))

    bar = _progress(len(plan), resumed, progress)
    if todo:
        _compute(task, todo, [payload(b) for b in todo], shared, finish, bar, scheduler, workers)
    bar.close()

    table = pa.concat_tables([pq.read_table(parts / f"part-{b:05d}.parquet") for b in range(len(plan))])
    table = table.sort_by("point")
    obj = np.stack([table[k].to_numpy() for k in objectives], axis=1)
    front = pareto_front(obj)
    table = table.append_column("pareto", pa.array(front))
    _write_parquet(out / "points.parquet", table)
    atomic_write_text(out / "points.csv", _csv(table))
    atomic_write_text(out / "pareto.csv", _csv(table.filter(pa.array(front))))
    feasible = np.isfinite(obj).all(axis=1)
    summary = {
        "spec": spec.path.name,
        "digest": spec.digest,
        "points": len(points),
        "feasible": int(feasible.sum()),
        "pareto": int(front.sum()),
        "batches": len(plan),
        "objectives": list(objectives),
        **extra,
    }
    atomic_write_json(out / "summary.json", summary)  # the same bytes however often the sweep resumed
    names = [f"parts/part-{b:05d}.parquet" for b in range(len(plan))]
    write_manifest(out, ["spec.json", *names, *FINAL_FILES])
    return {**summary, "resumed_batches": resumed}


def _compute(
    task: Any,
    todo: list[int],
    payload: list[list[dict | None]],
    shared: tuple,
    finish: Any,
    bar: Any,
    scheduler: str | None,
    workers: int,
) -> None:
    """Run ``task`` on the batches ``todo`` on Dask (a local cluster, or ``scheduler``), ``finish`` each."""
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        # Dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536 (and writes it into this process's
        # environment, where every later subprocess inherits it): setting it turns off glibc's adaptive
        # mmap threshold, so each of the model's large temporaries is mapped and faulted in afresh. AlexNet's
        # 4-point golden sweep evaluated 14.5 s with it and 5.6 s without (measured in one process).
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,
            )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, ValueError, TypeError) as err:
            raise InputError(f"cannot reach the Dask scheduler: {err}", "scheduler") from None
    try:
        everywhere = client.scatter([shared], broadcast=True)[0]  # one object, on every worker
        futures = {
            client.submit(task, p, everywhere, pure=False): b for b, p in zip(todo, payload, strict=True)
        }
        for fut in as_completed(futures):
            finish(futures[fut], fut.result())
            bar.update(1)
    finally:
        _quiet_close(client, cluster)


def _quiet_close(client: Any, cluster: Any) -> None:
    """Shut the client and a local cluster down without the tracebacks Dask logs when a worker's heartbeat
    meets a closed connection during shutdown (harmless: every result is already written)."""
    loggers = [logging.getLogger(n) for n in ("distributed", "tornado", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        client.close()
        if cluster is not None:
            cluster.close()
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _csv(table: Any) -> str:
    import io

    import pyarrow.csv as pacsv

    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    return buf.getvalue().decode()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, done: int, show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="batch", desc="sweep", file=sys.stderr, delay=1.0)
