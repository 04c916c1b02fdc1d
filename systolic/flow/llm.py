"""The LLM flow: resolve a model and a system, run training or inference plans, search, validate.

Between the CLI (``systolic llm``) and the pure model (``systolic.model.llm``): it loads the system and its
energy calibration, turns option dictionaries into the model's dataclasses, and shapes results as plain
dictionaries for reports. The validation points (``configs/validation/llm.toml``, published measurements
with their sources) are evaluated here; ``tests/flow/test_llm.py`` fails when one drifts beyond its
tolerance.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from systolic.errors import InputError
from systolic.fileio import read_toml
from systolic.llm_spec import ModelSpec, SystemSpec, load_system, model_spec

#: Quantities a validation point can compare (what the model computes for each is in :func:`evaluate`).
QUANTITIES: dict[str, str] = {
    "tflops_per_device": "FLOPs executed (recomputation included) per device per second",
    "mfu": "model FLOPs utilisation",
    "hfu": "hardware FLOPs utilisation (recomputation included)",
    "iteration_s": "seconds per training iteration",
    "model_state_bytes": "weights + gradients + optimizer states per device",
    "ttft_s": "time to first token",
    "tpot_s": "time per output token",
}


def hardware(system: SystemSpec, precision: str = "bf16"):
    """The system's numbers; a systolic device gets the default energy calibration."""
    from systolic.model.llm.hardware import resolve

    calibration = None
    if system.device.kind == "systolic":
        from systolic.formats.calibration import load_calibration

        calibration = load_calibration()[0]
    return resolve(system, precision, calibration)


def _options(cls: type, data: dict[str, Any], source: Any, where: str):
    known = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in known:
            raise InputError(f"unknown option '{key}' (allowed: {', '.join(sorted(known))})", source, where)
    try:
        return cls(**data)
    except TypeError as err:
        raise InputError(f"bad options: {err}", source, where) from None


def train_options(data: dict[str, Any], source: Any = None):
    from systolic.model.llm.training import TrainOptions

    return _options(TrainOptions, data, source, "[options]")


def infer_options(data: dict[str, Any], source: Any = None):
    from systolic.model.llm.inference import InferOptions

    return _options(InferOptions, data, source, "[infer]")


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class Point:
    """One published measurement and how to reproduce it."""

    id: str
    source: str
    quantity: str
    published: float
    tolerance: float
    note: str
    model: ModelSpec
    system: SystemSpec
    precision: str
    plan: dict
    options: dict
    infer: dict | None


def default_validation_path() -> Path:
    return Path(str(resources.files("systolic.configs") / "validation" / "llm.toml"))


def load_points(path: str | Path | None = None) -> list[Point]:
    """The validation points of ``path`` (default: the shipped file)."""
    path = Path(path) if path is not None else default_validation_path()
    data = read_toml(path)
    out = []
    for i, p in enumerate(data.get("point", [])):
        where = f"point {i + 1} ({p.get('id', '?')})"
        try:
            quantity = p["quantity"]
            if quantity not in QUANTITIES:
                raise InputError(
                    f"quantity must be one of {', '.join(QUANTITIES)}, not {quantity!r}", path, where
                )
            m = p["model"]
            model = model_spec(m) if isinstance(m, str) else ModelSpec.from_dict(m, path, f"{where} model")
            system = load_system(p["system"]).with_devices(int(p["devices"]))
            out.append(
                Point(
                    id=p["id"],
                    source=p["source"],
                    quantity=quantity,
                    published=float(p["published"]),
                    tolerance=float(p.get("tolerance", 0.10)),
                    note=p.get("note", ""),
                    model=model,
                    system=system,
                    precision=p.get("precision", "bf16"),
                    plan=dict(p.get("plan", {})),
                    options=dict(p.get("options", {})),
                    infer=p.get("infer"),
                )
            )
        except KeyError as err:
            raise InputError(f"missing key {err}", path, where) from None
    if not out:
        raise InputError("no [[point]] entries", path)
    return out


def evaluate(point: Point) -> float:
    """The model's value of ``point.quantity`` for the point's model, system and plan."""
    from systolic.model.llm.inference import infer
    from systolic.model.llm.training import ParallelPlan, train

    hw = hardware(point.system, point.precision)
    if point.infer is not None:
        data = dict(point.infer)
        tp, pp = data.pop("tp", 1), data.pop("pp", 1)
        res = infer(point.model, hw, tp, pp, infer_options(data))
        return float(getattr(res, point.quantity)[0])
    res = train(point.model, hw, ParallelPlan.of(**point.plan), train_options(point.options))
    if not res.valid[0]:
        raise InputError(f"the plan is not valid: {res.reason[0]}", point.id)
    i = 0
    if point.quantity == "tflops_per_device":
        return float(res.hardware_flops[i] / (res.iteration_s[i] * hw.devices))
    if point.quantity == "model_state_bytes":
        return float(res.weights_bytes[i] + res.grads_bytes[i] + res.optimizer_bytes[i])
    return float(getattr(res, point.quantity)[i])


def validate(path: str | Path | None = None) -> list[dict]:
    """Every point with the model's value, the relative error and whether it is within tolerance."""
    rows = []
    for p in load_points(path):
        value = evaluate(p)
        err = value / p.published - 1.0
        rows.append(
            {
                "id": p.id,
                "source": p.source,
                "quantity": p.quantity,
                "published": p.published,
                "model": value,
                "error": err,
                "tolerance": p.tolerance,
                "ok": abs(err) <= p.tolerance,
                "note": p.note,
            }
        )
    return rows


# --------------------------------------------------------------------------- runs for the CLI


def setup(model: str, system: str, devices: int | None, precision: str, seq_len: int | None, tech: dict):
    """The model, the system (cut to ``devices``) and its numbers, moved to the technology in ``tech``
    (keys of :func:`systolic.model.llm.hardware.scale`; None values are left alone)."""
    from systolic.model.llm.hardware import scale

    spec = model_spec(model, seq_len)
    sys_spec = load_system(system)
    if devices is not None:
        sys_spec = sys_spec.with_devices(devices)
    hw = hardware(sys_spec, precision)
    tech = {k: v for k, v in tech.items() if v is not None}
    return spec, sys_spec, scale(hw, **tech) if tech else hw


def describe(model: ModelSpec, system: SystemSpec, hw) -> dict:
    """What a report says about the model and the system (no paths: names only)."""
    return {
        "model": {**dataclasses.asdict(model), "params": model.params()},
        "system": {
            "name": system.name,
            "device": system.device.name,
            "kind": hw.kind,
            "devices": hw.devices,
            "devices_per_node": hw.devices_per_node,
            "nodes": hw.nodes,
            "precision": hw.precision,
            "peak_flops": hw.peak_flops,
            "memory_bytes": hw.memory_bytes,
            "memory_bw": hw.memory_bw_peak,
            "logic_node_nm": hw.logic_node_nm,
        },
    }


def run_train(model, system, hw, plan: dict | None, options: dict, top: int = 10) -> dict:
    """One plan (``plan``: tp, pp, dp, mb, sp, recompute, vpp, zero; dp defaults to the rest of the
    devices) or, with ``plan=None``, the search over all plans: the best, the ``top`` fastest that fit and
    the Pareto front."""
    from systolic.model.llm.search import search
    from systolic.model.llm.training import ParallelPlan, train

    opts = train_options(options)
    out = describe(model, system, hw)
    out["options"] = dataclasses.asdict(opts)
    if plan is not None:
        plan = dict(plan)
        tp, pp = plan.get("tp", 1), plan.get("pp", 1)
        plan.setdefault("dp", max(hw.devices // max(tp * pp, 1), 1))
        res = train(model, hw, ParallelPlan.of(**plan), opts)
        if not res.valid[0]:
            raise InputError(f"the plan does not work: {res.reason[0]}", "plan")
        out["result"] = res.row(0)
        return out
    found = search(model, hw, opts)
    res = found.result
    if found.best < 0:
        raise InputError(f"no plan fits in {hw.memory_bytes / 1e9:.1f} GB per device", "search")
    order = np.argsort(np.where(res.fits, res.iteration_s, np.inf), kind="stable")[
        : min(top, int(res.fits.sum()))
    ]
    out["result"] = res.row(found.best)
    out["search"] = {
        "plans": res.plan.size,
        "fit": int(res.fits.sum()),
        "top": [res.row(int(i)) for i in order],
        "pareto": [res.row(int(i)) for i in np.flatnonzero(found.pareto)],
    }
    return out


def search_infer(model, hw, opts, objective: str = "tpot_s"):
    """Every (tp, pp) whose replicas fill the devices, and each plan's score by ``objective`` (lower is
    better; inf where the plan does not fit)."""
    from systolic.model.llm.inference import infer

    tps = [t for t in range(1, hw.devices + 1) if hw.devices % t == 0]
    pairs = [(t, p) for t in tps for p in tps if hw.devices % (t * p) == 0]
    res = infer(model, hw, [t for t, _ in pairs], [p for _, p in pairs], opts)
    key = getattr(res, objective)
    return res, np.where(res.fits, -key if objective == "throughput_tok_s" else key, np.inf)


def run_infer(model, system, hw, plan: dict | None, options: dict, objective: str = "tpot_s") -> dict:
    """One (tp, pp) plan or, with ``plan=None``, every plan that fits, the best by ``objective``; with the
    per-GEMM table of the chosen plan."""
    from systolic.model.llm.inference import gemm_table, infer

    opts = infer_options(options)
    out = describe(model, system, hw)
    out["options"] = dataclasses.asdict(opts)
    if plan is not None:
        res = infer(model, hw, plan.get("tp", 1), plan.get("pp", 1), opts)
        if not res.valid[0]:
            raise InputError(f"the plan does not work: {res.reason[0]}", "plan")
        best = 0
    else:
        res, score = search_infer(model, hw, opts, objective)
        if not np.isfinite(score).any():
            raise InputError(f"no plan fits in {hw.memory_bytes / 1e9:.1f} GB per device", "search")
        best = int(np.argmin(score))
        order = np.argsort(score, kind="stable")[: int(res.fits.sum())]
        out["search"] = {"objective": objective, "plans": [res.row(int(i)) for i in order]}
    out["result"] = res.row(best)
    out["gemms"] = gemm_table(model, hw, int(res.tp[best]), opts)
    return out
