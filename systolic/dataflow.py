"""Dataflows as data: which GEMM dimension is spread over the array's rows, which over its columns, which runs
in time, and what stays in the PEs. The model's fold planner and the RTL generator both read this one table
instead of branching per dataflow.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Dataflow


@dataclass(frozen=True)
class Mapping:
    """How one dataflow lays C[M,N] = A[M,K] @ B[K,N] onto a rows x cols array.

    Attributes
    ----------
    spatial_rows, spatial_cols, temporal : str
        The GEMM dimension ('m', 'n' or 'k') spread over the array's rows, its columns, and time.
    stationary : str
        What stays in the PEs for a fold: 'output' (partial sums accumulate in place and are drained
        afterwards) or 'operand' (an operand tile is loaded first; partial sums flow down the columns).
    """

    spatial_rows: str
    spatial_cols: str
    temporal: str
    stationary: str


MAPPINGS: dict[Dataflow, Mapping] = {
    Dataflow.OS: Mapping("m", "n", "k", "output"),
    Dataflow.WS: Mapping("k", "n", "m", "operand"),
    Dataflow.IS: Mapping("k", "m", "n", "operand"),  # WS on the transposed problem C^T = B^T A^T
}
