"""``systolic sweep`` of ``kind = "llm"``: the best parallel plan of an LLM at every point of a space of
systems and technologies, on Dask, resumable, with the Pareto front of time, memory and energy.

The spec (TOML)::

    kind = "llm"
    mode = "grid"                    # or "random" with samples and seed, as in any sweep
    batch = 4                        # design points per Dask task (optional)

    [llm]
    model = "gpt3-175b"              # a zoo decoder or a .toml file with [model] (relative to the spec)
    system = "dgx-a100-selene"       # a shipped system or a system .toml file (relative to the spec)
    task = "train"                   # "train": plans (tp, pp, dp, mb, sp, recompute, vpp, zero) for
                                     # the fastest iteration; "infer": (tp, pp) by `objective`
    batch = 1536                     # global batch in sequences (train) or sequences decoded (infer)
    devices = 1024                   # optional: the system cut to this many devices
    precision = "bf16"               # optional (GPU-class devices)
    seq_len = 2048                   # optional (default: the model's)
    objective = "tpot_s"             # infer only: "ttft_s", "tpot_s" (default) or "e2e_s"
    [llm.options]                    # optional: TrainOptions / InferOptions fields (model/llm)
    flash_attention = true

    [space]                          # the axes (:data:`AXES`)
    devices = [256, 512, 1024]
    logic_node_nm = [12, 7, 5, 3, 2, 1.4, 1]
    memory = ["hbm2e", "hbm3", "hbm3e", "hbm4"]
    memory_stacks = [5]

Each point's hardware is the system at the point's device count, moved to the point's technology
(:func:`systolic.model.llm.hardware.scale`: logic node, memory generation, link generations, then
explicit bandwidths and capacity). On a Dask worker, :func:`~systolic.model.llm.search.search` (training)
or every (tp, pp) of inference evaluates all plans of the point in one vectorised call; the point's row
is its best plan that fits and that plan's time, memory per device and energy. Points are batched by
device count (they share the candidate plans). The rest (parts written per batch, resume after a kill,
``points.parquet``/``.csv``, ``pareto.csv`` of the objectives in :data:`OBJECTIVES`, ``summary.json``) is
:func:`systolic.flow.sweep.execute`, the same as for accelerator sweeps.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from systolic.errors import InputError
from systolic.llm_spec import ModelSpec, SystemSpec, load_system, model_spec

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

SPEC_KEYS = {"kind", "mode", "samples", "seed", "batch", "space", "llm"}
LLM_KEYS = ("model", "system", "task", "batch", "devices", "precision", "seq_len", "objective", "options")
TASKS = ("train", "infer")
INFER_OBJECTIVES = ("ttft_s", "tpot_s", "e2e_s")

#: The axes of the space and what each sets. Link and memory generations are the tables of
#: :mod:`systolic.model.llm.hardware`; a bandwidth axis overrides its level's generation.
AXES: dict[str, str] = {
    "devices": "devices in the system (whole nodes)",
    "logic_node_nm": "logic node of a GPU-class device (iso-area, iso-power scaling)",
    "memory": "device memory generation (with memory_stacks)",
    "memory_stacks": "memory stacks per device (with memory)",
    "memory_capacity_bytes": "device memory capacity",
    "intra": "link generation inside a node",
    "inter": "network generation between nodes",
    "intra_bandwidth_bytes_per_s": "link bandwidth inside a node, per device and direction",
    "inter_bandwidth_bytes_per_s": "network bandwidth between nodes, per device and direction",
}
INT_AXES = frozenset({"devices", "memory_stacks"})
NUMERIC_AXES = INT_AXES | {
    "memory_capacity_bytes",
    "intra_bandwidth_bytes_per_s",
    "inter_bandwidth_bytes_per_s",
}

#: What the sweep's Pareto front minimises, per task: the best plan's time, memory per device, energy.
OBJECTIVES: dict[str, tuple[str, ...]] = {
    "train": ("iteration_s", "memory_bytes", "energy_j"),
    "infer": ("{objective}", "memory_bytes", "energy_per_token_j"),
}

#: The columns of a point's row (its best plan and that plan's numbers), per task.
COLUMNS: dict[str, tuple[str, ...]] = {
    "train": (
        *("tp", "pp", "dp", "mb", "sp", "recompute", "vpp", "zero"),
        *("iteration_s", "memory_bytes", "energy_j", "mfu", "tokens_per_s"),
        *("compute_s", "tp_comm_s", "pp_comm_s", "bubble_s", "dp_comm_s", "optimizer_s"),
        *("plans", "fit_plans", "pareto_plans"),
    ),
    "infer": (
        *("tp", "pp", "ttft_s", "tpot_s", "e2e_s", "throughput_tok_s"),
        *("memory_bytes", "kv_cache_bytes", "energy_per_token_j", "plans", "fit_plans"),
    ),
}
_TEXT = {"recompute"}


@dataclass(frozen=True)
class LlmSweepSpec:
    """A parsed, checked LLM sweep spec (see the module docstring)."""

    path: Path
    model: ModelSpec
    system: SystemSpec
    task: str
    llm_batch: int
    precision: str
    objective: str
    options: Any  # TrainOptions or InferOptions
    mode: str
    samples: int
    seed: int
    batch: int
    space: tuple[tuple[str, tuple[Any, ...] | Range], ...]
    kind: str = "llm"
    int_fields: frozenset[str] = INT_AXES

    @property
    def objectives(self) -> tuple[str, ...]:
        return tuple(o.format(objective=self.objective) for o in OBJECTIVES[self.task])

    @property
    def digest(self) -> str:
        """Identity of what the sweep computes (model, system, task, options, points): resume checks it."""
        return spec_digest(
            self,
            kind=self.kind,
            model=dataclasses.asdict(self.model),
            system=dataclasses.asdict(self.system),
            task=self.task,
            llm_batch=self.llm_batch,
            precision=self.precision,
            objective=self.objective,
            options=dataclasses.asdict(self.options),
        )


def _relative(path: Path, name: str) -> str:
    """``name`` as a file next to the spec if there is one, else as given (a shipped name)."""
    near = path.parent / name
    return str(near) if near.is_file() else name


def _located(path: Path, where: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)``, its InputError re-raised as one line at ``path`` and ``where`` (keeping the name of
    the file or model it was about)."""
    try:
        return fn(*args)
    except InputError as err:
        raise InputError(str(err) if err.source else err.what, path, where) from None


def load_llm_spec(path: Path, data: dict[str, Any]) -> LlmSweepSpec:
    """Check an LLM sweep spec already read from ``path``; every problem is one line naming the key."""
    from .llm import hardware, infer_options, train_options

    check_keys(data, path, SPEC_KEYS)
    mode, samples, seed, batch = sampling(data, path, 4)
    llm = kind_table(data, path, "llm", LLM_KEYS, "model, system, task, batch, ...")
    for key in ("model", "system", "batch"):
        if key not in llm:
            raise InputError("missing", path, f"llm.{key}")
    task = llm.get("task", "train")
    if task not in TASKS:
        raise InputError(f"must be one of {', '.join(TASKS)}, not {task!r}", path, "llm.task")
    objective = llm.get("objective", "tpot_s")
    if task == "train" and "objective" in llm:
        raise InputError("only for task = 'infer' (training takes the fastest plan)", path, "llm.objective")
    if objective not in INFER_OBJECTIVES:
        raise InputError(
            f"must be one of {', '.join(INFER_OBJECTIVES)}, not {objective!r}", path, "llm.objective"
        )
    model = _located(path, "llm.model", model_spec, _relative(path, str(llm["model"])), llm.get("seq_len"))
    system = _located(path, "llm.system", load_system, _relative(path, str(llm["system"])))
    if "devices" in llm:
        system = _located(path, "llm.devices", system.with_devices, llm["devices"])
    precision = llm.get("precision", "bf16")
    base = _located(path, "llm.precision", hardware, system, precision)
    if isinstance(llm["batch"], bool) or not isinstance(llm["batch"], int) or llm["batch"] < 1:
        raise InputError(f"must be a positive integer, not {llm['batch']!r}", path, "llm.batch")
    opts = llm.get("options", {})
    if not isinstance(opts, dict) or {"batch", "seq_len"} & set(opts):
        raise InputError(
            "must be a table of options other than batch and seq_len (in [llm])", path, "llm.options"
        )
    if task == "train":
        fields = {"batch": llm["batch"], "seq_len": llm.get("seq_len"), **opts}
        options = _located(path, "llm.options", train_options, fields)
    else:
        options = _located(path, "llm.options", infer_options, {"batch": llm["batch"], **opts})
    space = _space(path, data.get("space"), mode, system, base)
    check_grid(space, mode, path)
    return LlmSweepSpec(
        path, model, system, task, llm["batch"], precision, objective, options,
        mode, samples, seed, batch, tuple(space),
    )  # fmt: skip


def _space(path: Path, raw: Any, mode: str, system: SystemSpec, base: Any) -> list:
    """The axes, every value (or range bound) checked by building the base system's hardware with it."""
    if not isinstance(raw, dict) or not raw:
        raise InputError("missing or empty: give at least one axis and its values", path, "space")
    for key in raw:
        if key not in AXES:
            raise InputError(f"not an LLM sweep axis (known: {', '.join(AXES)})", path, f"space.{key}")
    pairs = [("memory", "memory_stacks"), ("memory_stacks", "memory")]
    for key, other in pairs:
        if key in raw and other not in raw:
            raise InputError(f"needs space.{other} as well ({AXES[key]})", path, f"space.{key}")
    for level in ("intra", "inter"):
        if level in raw and f"{level}_bandwidth_bytes_per_s" in raw:
            raise InputError(
                f"give {level} (a generation) or {level}_bandwidth_bytes_per_s, not both",
                path,
                f"space.{level}",
            )
    companion = {"memory": {"memory_stacks": 1}, "memory_stacks": {"memory": "hbm3"}}
    space = []
    for key, value in raw.items():
        where = f"space.{key}"
        if isinstance(value, dict):
            rng = parse_range(value, mode, path, where)
            if key not in NUMERIC_AXES:
                raise InputError("only numeric axes take a range; give a list", path, where)
            bounds = [int(v) if key in INT_AXES else v for v in (rng.low, rng.high)]
            checks, axis = [(f"bound {v!r}", v) for v in bounds], rng
        elif isinstance(value, list) and value:
            checks, axis = [(f"value {v!r}", v) for v in value], tuple(value)
        else:
            raise InputError(
                f"must be a non-empty list of values or a range table, not {value!r}", path, where
            )
        for label, v in checks:
            try:
                point_hardware(system, base, {key: v, **companion.get(key, {})})
            except InputError as err:
                raise InputError(f"{label}: {err.what}", path, where) from None
        space.append((key, axis))
    return space


def point_hardware(system: SystemSpec, base: Any, values: dict[str, Any]) -> Any:
    """The hardware of one design point: ``base`` (the system's resolved numbers) at ``values['devices']``
    devices, moved to the point's technology. Raises InputError for a value that cannot be used."""
    from systolic.model.llm.hardware import resolve, scale

    hw = base
    if "devices" in values:
        d = values["devices"]
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
            raise InputError(f"devices must be an integer, not {d!r}", where="devices")
        hw = resolve(system.with_devices(int(d)), base.precision, base.calibration)
    for key in ("logic_node_nm", "memory_stacks"):
        v = values.get(key)
        if v is not None and (isinstance(v, (bool, str)) or not isinstance(v, (int, float, np.number))):
            raise InputError(f"{key} must be a number, not {v!r}", where=key)
    if values.get("memory_stacks") is not None and values["memory_stacks"] != int(values["memory_stacks"]):
        raise InputError(f"memory_stacks must be an integer, not {values['memory_stacks']!r}")
    tech = {k: values.get(k) for k in ("logic_node_nm", "memory", "memory_stacks", "intra", "inter")}
    if tech["memory_stacks"] is not None:
        tech["memory_stacks"] = int(tech["memory_stacks"])
    tech = {k: v for k, v in tech.items() if v is not None}
    hw = scale(hw, **tech) if tech else hw
    for key in ("memory_capacity_bytes", "intra_bandwidth_bytes_per_s", "inter_bandwidth_bytes_per_s"):
        v = values.get(key)
        if v is None:
            continue
        if isinstance(v, (bool, str)) or not isinstance(v, (int, float, np.number)) or not 0 < v < np.inf:
            raise InputError(f"{key} must be a positive number, not {v!r}", where=key)
        if key == "memory_capacity_bytes":
            hw = dataclasses.replace(hw, memory_bytes=float(v))
        else:
            level = key.split("_", 1)[0]
            link = dataclasses.replace(getattr(hw, level), bandwidth=float(v))
            hw = dataclasses.replace(hw, **{level: link})
    return hw


def make_hardware(spec: LlmSweepSpec, points: list[dict[str, Any]]) -> tuple[list[Any], list[str]]:
    """The hardware of each point (None with the reason where a value cannot be used, e.g. a device
    count that is not whole nodes)."""
    from .llm import hardware

    base = hardware(spec.system, spec.precision)
    out: list[Any] = []
    errors = []
    for p in points:
        try:
            out.append(point_hardware(spec.system, base, p))
            errors.append("")
        except InputError as err:
            out.append(None)
            errors.append(err.what)
    return out, errors


def _best_train(model: ModelSpec, hw: Any, opts: Any, cands: Any) -> tuple[dict[str, Any], str]:
    from systolic.model.llm.search import search

    found = search(model, hw, opts, cands)
    res = found.result
    counts = {
        "plans": res.plan.size,
        "fit_plans": int(res.fits.sum()),
        "pareto_plans": int(found.pareto.sum()),
    }
    if found.best < 0:
        return counts, f"no plan fits in {hw.memory_bytes / 1e9:.1f} GB per device"
    row = res.row(found.best)
    plan = row.pop("plan")
    return {**plan, **row, **counts}, ""


def _best_infer(model: ModelSpec, hw: Any, opts: Any, objective: str) -> tuple[dict[str, Any], str]:
    from .llm import search_infer

    res, score = search_infer(model, hw, opts, objective)
    counts = {"plans": res.tp.size, "fit_plans": int(res.fits.sum())}
    if not np.isfinite(score).any():
        return counts, f"no plan fits in {hw.memory_bytes / 1e9:.1f} GB per device"
    return {**res.row(int(np.argmin(score))), **counts}, ""


def run_llm_batch(hws: list[Any], shared: tuple) -> dict[str, np.ndarray]:
    """Search the plans of every point of one batch (runs on a Dask worker): ``hws`` the points'
    hardware (None for a point that has none); ``shared``: (model, task, options, objective)."""
    from systolic.model.llm.search import plans

    model, task, opts, objective = shared
    cols = {c: np.full(len(hws), "" if c in _TEXT else np.nan, dtype=object) for c in COLUMNS[task]}
    errors = np.full(len(hws), "", dtype=object)
    cands: dict[int, Any] = {}  # candidate plans per device count, shared by the batch's points
    for j, hw in enumerate(hws):
        if hw is None:
            continue
        try:
            if task == "train":
                if hw.devices not in cands:
                    cands[hw.devices] = plans(model, hw.devices, opts.batch)
                row, errors[j] = _best_train(model, hw, opts, cands[hw.devices])
            else:
                row, errors[j] = _best_infer(model, hw, opts, objective)
        except InputError as err:
            row, errors[j] = {}, err.what
        for c, v in row.items():
            if c in cols:
                cols[c][j] = v if c in _TEXT else float(v)
    return {**{c: v if c in _TEXT else v.astype(float) for c, v in cols.items()}, "error": errors}


def batches(spec: LlmSweepSpec, hws: list[Any]) -> list[np.ndarray]:
    """Point indices per batch: points grouped by device count (stable), cut every ``spec.batch``."""
    keys = [hw.devices if hw is not None else 0 for hw in hws]
    order = sorted(range(len(hws)), key=lambda i: keys[i])
    return [np.array(order[s : s + spec.batch], dtype=np.int64) for s in range(0, len(order), spec.batch)]


def run_llm_sweep(
    spec: LlmSweepSpec, out: Path, scheduler: str | None = None, workers: int = 2, progress: bool = True
) -> dict[str, Any]:
    """Run (or resume) the LLM sweep into ``out``; returns the summary."""
    start = time.perf_counter()
    out = prepare_out(spec, out)
    points = design_points(spec)
    hws, errors = make_hardware(spec, points)
    plan = batches(spec, hws)

    def payload(b: int) -> list[Any]:
        return [hws[i] for i in plan[b]]

    work = (run_llm_batch, payload, (spec.model, spec.task, spec.options, spec.objective))
    extra = {
        "kind": "llm",
        "model": spec.model.name,
        "system": spec.system.name,
        "task": spec.task,
        "llm_batch": spec.llm_batch,
    }
    summary = execute(
        spec, out, points, errors, plan, work, spec.objectives, extra, scheduler, workers, progress
    )
    return {**summary, "seconds": time.perf_counter() - start}
