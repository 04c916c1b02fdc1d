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

    @classmethod
    def from_workload(cls, workload: Workload) -> GemmArrays:
        shape = np.array([(ly.m, ly.n, ly.k, ly.repeat) for ly in workload], dtype=np.int64)  # [layer, 4]
        return cls(*shape.T.copy())

    @classmethod
    def of(cls, m, n, k, repeat=1) -> GemmArrays:
        m, n, k, repeat = np.broadcast_arrays(*(np.asarray(x, dtype=np.int64) for x in (m, n, k, repeat)))
        return cls(np.atleast_1d(m), np.atleast_1d(n), np.atleast_1d(k), np.atleast_1d(repeat))

    def dim(self, name: str) -> np.ndarray:
        return getattr(self, name)

    @property
    def macs(self) -> np.ndarray:
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
    if MAPPINGS[cfg.dataflow].stationary == "output":
        per_gemm = plan.folds * (plan.temporal + 2 * r + c - 2)
    else:
        per_gemm = plan.col_folds * plan.spatial_rows + plan.folds * (plan.temporal + r + c - 1)
    cycles = per_gemm * gemm.repeat
    macs = gemm.macs
    utilisation = macs / (cycles * (r * c))
    mapping = (plan.spatial_rows * plan.spatial_cols) / (plan.folds * (r * c))
    return ComputeResult(plan, cycles, per_gemm, macs, utilisation, mapping)


def workload_cycles(cfg: ArrayConfig, workload: Workload) -> ComputeResult:
    """:func:`compute_cycles` for a whole workload."""
    return compute_cycles(cfg, GemmArrays.from_workload(workload))
