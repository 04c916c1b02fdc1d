"""Dataflows as data: which GEMM dimension is spread over the array's rows, which over its columns, which runs
in time, and what stays in the PEs. The model's fold planner and the RTL generator both read this one table
instead of branching per dataflow. :data:`PORT_MAP` adds, per dataflow, which tensor each of the array's
three edge ports carries and along which tensor axis its lanes run (the table is drawn in
``systolic.hdl.dataflow``); the memory system stores every tensor contiguous along that lane axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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


Tensor = Literal["A", "B", "C"]
Role = Literal["sr", "sc", "t"]

#: The GEMM dimensions along each tensor's axes (axis 0 = row, axis 1 = column).
TENSOR_DIMS: dict[str, tuple[str, str]] = {"A": ("m", "k"), "B": ("k", "n"), "C": ("m", "n")}

#: Streams at the array's edge, in the order their lanes are listed in port names.
PORTS: tuple[str, ...] = ("west", "north", "south")
#: The operand streams the sequencer requests from memory.
OPERAND_PORTS: tuple[str, ...] = ("west", "north")


@dataclass(frozen=True)
class PortMap:
    """What one array port carries.

    Attributes
    ----------
    tensor : {'A', 'B', 'C'}
        The tensor the port reads (west, north) or writes (south).
    lane_axis : {0, 1}
        The tensor axis its lanes run along: lane ``i`` of a vector whose lane 0 is at ``(row, col)``
        holds ``X[row + i, col]`` for axis 0 and ``X[row, col + i]`` for axis 1.
    """

    tensor: Tensor
    lane_axis: int

    @property
    def dims(self) -> tuple[str, str]:
        """The GEMM dimensions of the tensor's (row, column) axes."""
        return TENSOR_DIMS[self.tensor]

    @property
    def lane_dim(self) -> str:
        """The GEMM dimension the lanes run over."""
        return self.dims[self.lane_axis]


#: Role of each GEMM dimension per dataflow: spatial rows, spatial columns, time (from the vocabulary's
#: one dataflow table, :data:`systolic.dataflow.MAPPINGS`).
ROLES: dict[Dataflow, dict[str, Role]] = {
    df: {mp.spatial_rows: "sr", mp.spatial_cols: "sc", mp.temporal: "t"} for df, mp in MAPPINGS.items()
}

#: Stationary kind per dataflow: 'output' (partial sums stay in the PEs and drain afterwards) or
#: 'operand' (an operand tile is loaded first; partial sums flow down the columns).
STATIONARY: dict[Dataflow, str] = {df: mp.stationary for df, mp in MAPPINGS.items()}

#: Which tensor each port carries and along which axis its lanes run (the table in the module docstring).
PORT_MAP: dict[Dataflow, dict[str, PortMap]] = {
    Dataflow.OS: {"west": PortMap("A", 0), "north": PortMap("B", 1), "south": PortMap("C", 1)},
    Dataflow.WS: {"west": PortMap("A", 1), "north": PortMap("B", 1), "south": PortMap("C", 1)},
    Dataflow.IS: {"west": PortMap("B", 0), "north": PortMap("A", 0), "south": PortMap("C", 0)},
}


def tensor_port(dataflow: Dataflow, tensor: str) -> str:
    """The array port ('west', 'north' or 'south') that carries ``tensor`` in ``dataflow``."""
    return next(p for p, pm in PORT_MAP[dataflow].items() if pm.tensor == tensor)


def port_lanes(rows: int, cols: int, port: str) -> int:
    """Lanes of ``port``: one per array row for west, one per column for north and south."""
    return rows if port == "west" else cols
