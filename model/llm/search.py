"""The best parallel plan for a model, a system and a batch: every plan at once, the fastest that fits, and
the Pareto front of time, memory and energy.

:func:`plans` enumerates (tp, pp, dp, micro-batch, sequence parallelism, recomputation, interleaving,
ZeRO level) with tp x pp x dp = the system's devices, tp dividing the heads and the FFN width, pp x vpp
dividing the layers and dp x mb dividing the batch; :func:`search` evaluates them all in one vectorised
call of :func:`~.training.train`. A technology sweep is a loop over a few :class:`~.hardware.Hardware`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from systolic.errors import InputError
from systolic.llm_spec import ModelSpec

from ..sweep import pareto_front
from .hardware import Hardware
from .training import RECOMPUTE, ParallelPlan, TrainOptions, TrainResult, train


def _divisors(n: int) -> list[int]:
    """The divisors of ``n``, ascending, found up to its square root (``--devices 2**40`` would otherwise loop
    a trillion times)."""
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted({*small, *(n // d for d in small)})


def plans(
    model: ModelSpec,
    devices: int,
    batch: int,
    *,
    tp: Sequence[int] | None = None,
    pp: Sequence[int] | None = None,
    mb: Sequence[int] = (1, 2, 4, 8, 16, 32),
    sp: Sequence[bool] = (False, True),
    recompute: Sequence[str] = RECOMPUTE,
    vpp: Sequence[int] = (1, 2, 3, 4, 6, 8),
    zero: Sequence[int] = (0, 1, 2, 3),
) -> ParallelPlan:
    """Every valid plan on ``devices`` devices (``None``: every divisor that fits)."""
    rec = [RECOMPUTE.index(r) if isinstance(r, str) else int(r) for r in recompute]
    tps = [t for t in (tp or _divisors(devices)) if model.heads % t == 0 and model.ffn_hidden % t == 0]
    rows = []
    for t in tps:
        for p in pp or _divisors(devices // t) if devices % t == 0 else []:
            if devices % (t * p) or model.layers % p:
                continue
            d = devices // (t * p)
            for m, s, r, v, z in itertools.product(mb, sp, rec, vpp, zero):
                if batch % (d * m) or model.layers % (p * v) or (s and t == 1):
                    continue
                if v > 1 and (p == 1 or (batch // (d * m)) % p):
                    continue
                rows.append((t, p, d, m, s, r, v, z))
    if not rows:
        raise InputError(
            f"no parallel plan fits {devices} devices, batch {batch} and {model.name}", where="search"
        )
    a = np.array(rows, dtype=np.int64)  # [plan, field]
    return ParallelPlan.of(
        a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4].astype(bool), a[:, 5], a[:, 6], a[:, 7]
    )


@dataclass(frozen=True)
class SearchResult:
    """Every plan's :class:`~.training.TrainResult`, the index of the fastest plan that fits (-1 if none),
    and the Pareto front of (iteration time, memory per device, energy per iteration) among fitting plans."""

    result: TrainResult
    best: int
    pareto: np.ndarray


def search(
    model: ModelSpec, hw: Hardware, opts: TrainOptions, candidates: ParallelPlan | None = None
) -> SearchResult:
    """Evaluate ``candidates`` (default: :func:`plans` on all the system's devices) and pick the best."""
    cands = candidates if candidates is not None else plans(model, hw.devices, opts.batch)
    res = train(model, hw, cands, opts)
    time = np.where(res.fits, res.iteration_s, np.inf)
    best = int(np.argmin(time)) if np.isfinite(time).any() else -1
    obj = np.stack([res.iteration_s, res.memory_bytes, res.energy_j], axis=1)
    obj[~res.fits] = np.nan
    return SearchResult(res, best, pareto_front(obj))
