"""Dataflows as data for the RTL and its testbenches: what each array port carries, written once.

C[M,N] = A[M,K] @ B[K,N] runs on a rows x cols array. A dataflow gives every GEMM dimension a role:
spread over the array's rows (``sr``), over its columns (``sc``), or run in time (``t``). The array has
three streams at its edge, and :data:`PORT_MAP` says, for each dataflow, which tensor each one carries
and along which of that tensor's axes its lanes run:

========  ==========================  ==========================  ===========================
port      OS (sr=m, sc=n, t=k)        WS (sr=k, sc=n, t=m)        IS (sr=k, sc=m, t=n)
========  ==========================  ==========================  ===========================
west      A[m0+r, k]  (lanes: m)      A[m, k0+r]  (lanes: k)      B[k0+r, n]  (lanes: k)
north     B[k, n0+c]  (lanes: n)      B[k0+i, n0+c] (lanes: n)    A[m0+c, k0+i] (lanes: m)
south     C[m0+i, n0+c] (lanes: n)    C[m, n0+c]  (lanes: n)      C[m0+c, n]  (lanes: m)
========  ==========================  ==========================  ===========================

West lanes feed the array's rows, north and south lanes its columns. IS is WS on the transposed problem
C^T = B^T A^T: the same hardware, with A as the stationary operand.

Every coordinate a port presents follows from the table (see :func:`coordinate_source`): the lane
dimension starts at its fold's base; a dimension that runs in time is the time step; a spatial-row
dimension that is not the lane dimension (the stationary tile's row being loaded, the output row being
drained) is the fold's row base plus that row's index.

This module imports nothing heavy: the testbenches and the generator both read it.
"""

from __future__ import annotations

from systolic.config import ArrayConfig, Dataflow
from systolic.dataflow import (  # noqa: F401  (re-exported: the RTL's readers import them from here)
    MAPPINGS,
    OPERAND_PORTS,
    PORT_MAP,
    PORTS,
    ROLES,
    STATIONARY,
    TENSOR_DIMS,
    PortMap,
    Role,
    Tensor,
)

#: The role the lane dimension of each port must have: west lanes feed rows, north and south lanes columns.
_LANE_ROLE: dict[str, Role] = {"west": "sr", "north": "sc", "south": "sc"}


def dim_of_role(dataflow: Dataflow, role: Role) -> str:
    """The GEMM dimension ('m', 'n' or 'k') that has ``role`` in ``dataflow``."""
    return next(d for d, r in ROLES[dataflow].items() if r == role)


def coordinate_source(dataflow: Dataflow, port: str, axis: int) -> str:
    """Where the sequencer takes the coordinate of ``port``'s lane 0 along tensor ``axis`` from.

    Returns
    -------
    str
        ``'sr_base'`` or ``'sc_base'`` (the fold's base along the lane dimension), ``'t'`` (the time step)
        or ``'sr_index'`` (the fold's row base plus the index of the row being loaded or drained).
    """
    pm = PORT_MAP[dataflow][port]
    dim = pm.dims[axis]
    role = ROLES[dataflow][dim]
    if axis == pm.lane_axis:
        return f"{role}_base"
    if role == "t":
        return "t"
    if role == "sr":
        return "sr_index"
    raise AssertionError(f"{dataflow} {port}: a spatial-column dimension must be the lane dimension")


def lane_role(dataflow: Dataflow, port: str) -> Role:
    """The role ('sr' or 'sc') of the dimension ``port``'s lanes run over."""
    return ROLES[dataflow][PORT_MAP[dataflow][port].lane_dim]


def lane_count(cfg: ArrayConfig, port: str) -> int:
    """Lanes of ``port``: one per array row for west, one per column for north and south."""
    return cfg.rows if _LANE_ROLE[port] == "sr" else cfg.cols


def operand_format(cfg: ArrayConfig, tensor: str) -> tuple[int, bool]:
    """(bits, signed) of one element of ``tensor``: A is the input, B the weight, C the accumulator."""
    if tensor == "A":
        return cfg.input_bits, cfg.input_signed
    if tensor == "B":
        return cfg.weight_bits, cfg.weight_signed
    if tensor == "C":
        return cfg.acc_bits, acc_signed(cfg)
    raise ValueError(f"tensor must be A, B or C, not {tensor!r}")


def port_format(cfg: ArrayConfig, port: str) -> tuple[int, bool]:
    """(bits, signed) of one lane of ``port`` for ``cfg``'s dataflow."""
    return operand_format(cfg, PORT_MAP[cfg.dataflow][port].tensor)


def check_config(cfg: ArrayConfig) -> ArrayConfig:
    """``cfg`` itself if it is an :class:`ArrayConfig` (which validates its own fields), else a TypeError."""
    if not isinstance(cfg, ArrayConfig):
        raise TypeError(f"cfg must be an ArrayConfig, not {type(cfg).__name__}")
    return cfg


def acc_signed(cfg: ArrayConfig) -> bool:
    """Accumulators and partial sums are two's complement when either operand is signed."""
    return cfg.input_signed or cfg.weight_signed


def _check_tables() -> None:
    """The table's invariants; a violation is a programming error caught at import."""
    for df in Dataflow:
        assert sorted(ROLES[df].values()) == ["sc", "sr", "t"], df
        for port in PORTS:
            assert lane_role(df, port) == _LANE_ROLE[port], (df, port)
            for axis in (0, 1):
                coordinate_source(df, port, axis)
        tensors = {PORT_MAP[df][p].tensor for p in PORTS}
        assert tensors == {"A", "B", "C"} and PORT_MAP[df]["south"].tensor == "C", df


_check_tables()
