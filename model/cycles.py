"""Compute cycles of the generated RTL, per layer, in closed form and vectorised over layers.

The RTL runs a GEMM as folds: the spatial dimensions are cut into tiles of at most rows x cols, and every
tile (fold) runs through the whole temporal dimension T. Folds run back to back. Per fold, with R = rows,
C = cols and ru the rows of the array the fold uses:

* operand-stationary (WS, IS): load the stationary tile (ru cycles), stream T vectors, and let the last
  partial sums cross the R rows and the column de-skew: period = ru + T + R + C - 1;
* output-stationary (OS): stream T vectors; the last MAC reaches PE(R-1, C-1) after the skew; the R
  rows of accumulators drain down the columns: period = T + 2R + C - 2.

A GEMM's cycle count runs from the cycle its first operand reaches the array to the cycle its last result
leaves it (both included), so it is the sum of its folds' periods. The sum over a spatial-row fold series
of ru is the spatial-row extent itself, which gives the closed forms below. ``repeat`` identical GEMMs run
one after the other.

With ``fold_overlap`` (``hdl/fold_pipeline.py``) consecutive folds overlap:

* WS, IS: the PEs hold two banks of the stationary operand; fold f+1's tile loads (one row per cycle, a
  row of the array taking each) while fold f streams, and fold f+1 streams max(T, C, ru_{f+1}) cycles
  after fold f. GEMM = max(1, ru_0 - C + 1) + sum over f >= 1 of max(T, C, ru_f) + T + R + C - 1;
* OS: the PEs move a fold's sums into result registers that drain while the next fold accumulates; folds
  start every max(T, R + C - 1) cycles. GEMM = (F - 1) max(T, R + C - 1) + T + 2R + C - 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.config import ArrayConfig
from systolic.dataflow import MAPPINGS
from systolic.workload import Workload


@dataclass(frozen=True)
class GemmArrays:
    """Layer shapes as int64 arrays, one entry per layer."""

    m: np.ndarray  # [layer]
    n: np.ndarray  # [layer]
    k: np.ndarray  # [layer]
    repeat: np.ndarray  # [layer]
    conv: tuple | None = None  # [layer] the ConvShape each layer was lowered from (None: a GEMM), or None
    blocks: np.ndarray | None = None  # [layer] diagonal blocks of a block-diagonal B (None: all 1)

    @classmethod
    def from_workload(cls, workload: Workload) -> GemmArrays:
        shape = np.array([(ly.m, ly.n, ly.k, ly.repeat, ly.blocks) for ly in workload], dtype=np.int64)
        m, n, k, repeat, blocks = shape.T.copy()  # [layer] each
        conv = tuple(ly.conv for ly in workload)
        return cls(
            m,
            n,
            k,
            repeat,
            conv=conv if any(c is not None for c in conv) else None,
            blocks=blocks if np.any(blocks != 1) else None,
        )

    @classmethod
    def of(cls, m, n, k, repeat=1, conv=None, blocks=1) -> GemmArrays:
        m, n, k, repeat, blocks = np.broadcast_arrays(
            *(np.asarray(x, dtype=np.int64) for x in (m, n, k, repeat, blocks))
        )
        conv = tuple(conv) if conv is not None else None
        parts = (np.atleast_1d(x) for x in (m, n, k, repeat))
        return cls(*parts, conv, np.atleast_1d(blocks) if np.any(blocks != 1) else None)

    def conv_of(self, layer: int):
        """The ConvShape layer ``layer`` was lowered from, or None."""
        return None if self.conv is None else self.conv[layer]

    def dim(self, name: str) -> np.ndarray:
        return getattr(self, name)

    @property
    def block_counts(self) -> np.ndarray:
        """``[layer]`` diagonal blocks of each layer's B (1: a dense B)."""
        return np.ones_like(self.m) if self.blocks is None else self.blocks

    @property
    def macs(self) -> np.ndarray:
        """``[layer]`` useful MACs (a block-diagonal B's zero blocks left out)."""
        return self.array_macs // self.block_counts

    @property
    def array_macs(self) -> np.ndarray:
        """``[layer]`` MACs the array performs, zeros of a block-diagonal B included."""
        return self.m * self.n * self.k * self.repeat


@dataclass(frozen=True)
class FoldPlan:
    """How each layer is cut into folds."""

    spatial_rows: np.ndarray  # [layer] extent mapped on the array's rows (M, K or K)
    spatial_cols: np.ndarray  # [layer] extent mapped on the array's columns (N, N or M)
    temporal: np.ndarray  # [layer] time steps per fold (K, M or N)
    row_folds: np.ndarray  # [layer] ceil(spatial_rows / rows)
    col_folds: np.ndarray  # [layer] ceil(spatial_cols / cols)

    @property
    def folds(self) -> np.ndarray:
        return self.row_folds * self.col_folds


def fold_plan(cfg: ArrayConfig, gemm: GemmArrays) -> FoldPlan:
    """Cut every layer into folds for ``cfg``'s array and dataflow."""
    mp = MAPPINGS[cfg.dataflow]
    sr, sc, t = gemm.dim(mp.spatial_rows), gemm.dim(mp.spatial_cols), gemm.dim(mp.temporal)
    return FoldPlan(sr, sc, t, -(-sr // cfg.rows), -(-sc // cfg.cols))


@dataclass(frozen=True)
class ComputeResult:
    """Per-layer compute timing of the RTL (operands at full rate, no memory stalls)."""

    plan: FoldPlan
    cycles: np.ndarray  # [layer] all repeats of the layer
    cycles_per_gemm: np.ndarray  # [layer] one GEMM
    macs: np.ndarray  # [layer]
    utilisation: np.ndarray  # [layer] MACs / (cycles x PEs)
    mapping_efficiency: np.ndarray  # [layer] mapped PEs / (folds x PEs)

    @property
    def total_cycles(self) -> int:
        return int(self.cycles.sum())


def compute_cycles(cfg: ArrayConfig, gemm: GemmArrays) -> ComputeResult:
    """Cycle count of every layer on the RTL, exact (see the module docstring for the timing)."""
    plan = fold_plan(cfg, gemm)
    r, c = cfg.rows, cfg.cols
    t = plan.temporal
    output_stationary = MAPPINGS[cfg.dataflow].stationary == "output"
    if cfg.fold_overlap and output_stationary:
        per_gemm = (plan.folds - 1) * np.maximum(t, r + c - 1) + t + 2 * r + c - 2
    elif cfg.fold_overlap:
        # a fold's period is max(T, C, ru of the next fold); the first waits max(1, ru_0 - C + 1)
        ru_first = np.minimum(r, plan.spatial_rows)
        ru_last = plan.spatial_rows - (plan.row_folds - 1) * r
        span = np.maximum(t, c)
        periods = plan.col_folds * ((plan.row_folds - 1) * np.maximum(span, r) + np.maximum(span, ru_last))
        first_wait = np.maximum(1, ru_first - c + 1)
        per_gemm = first_wait + periods - np.maximum(span, ru_first) + t + r + c - 1
    elif output_stationary:
        per_gemm = plan.folds * (t + 2 * r + c - 2)
    else:
        per_gemm = plan.col_folds * plan.spatial_rows + plan.folds * (t + r + c - 1)
    cycles = per_gemm * gemm.repeat
    macs = gemm.macs
    utilisation = macs / (cycles * (r * c))
    mapping = (plan.spatial_rows * plan.spatial_cols) / (plan.folds * (r * c))
    return ComputeResult(plan, cycles, per_gemm, macs, utilisation, mapping)


def fold_starts(cfg: ArrayConfig, ru: np.ndarray, temporal: int) -> tuple[np.ndarray, np.ndarray]:
    """When each fold of one GEMM starts: ``(load, stream)``, ``[fold]`` data cycles counted from the
    GEMM's first operand data, for folds in walk order using ``ru`` array rows and ``temporal`` time steps.

    ``stream`` is the cycle the fold's first west operand arrives (x_f); ``load`` the cycle the first row
    of its stationary tile arrives (WS, IS; OS: equal to ``stream``). The rest of a fold's timing
    follows from these (module docstring, ``hdl/fold_pipeline.py``).
    """
    r, c, t = cfg.rows, cfg.cols, temporal
    ru = np.asarray(ru, dtype=np.int64)
    if MAPPINGS[cfg.dataflow].stationary == "output":
        period = np.full(ru.shape, max(t, r + c - 1) if cfg.fold_overlap else t + 2 * r + c - 2)
        stream = np.cumsum(period) - period
        return stream, stream
    if not cfg.fold_overlap:
        period = ru + t + r + c - 1
        load = np.cumsum(period) - period
        return load, load + ru
    period = np.maximum(max(t, c), ru[1:])  # [fold - 1] fold f's period ends when fold f+1 may stream
    stream = max(1, int(ru[0]) - c + 1) + np.concatenate([[0], np.cumsum(period)])
    load = np.concatenate([[0], stream[:-1] + c - 1])
    return load, stream


def fold_rows(cfg: ArrayConfig, spatial_rows: int, spatial_cols: int) -> np.ndarray:
    """Array rows each fold of a GEMM uses, ``[fold]`` in walk order (spatial rows innermost)."""
    sr_base = np.arange(-(-spatial_rows // cfg.rows)) * cfg.rows
    return np.tile(np.minimum(cfg.rows, spatial_rows - sr_base), -(-spatial_cols // cfg.cols))


def workload_cycles(cfg: ArrayConfig, workload: Workload) -> ComputeResult:
    """:func:`compute_cycles` for a whole workload."""
    return compute_cycles(cfg, GemmArrays.from_workload(workload))
