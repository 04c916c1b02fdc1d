"""The RTL's reading of the dataflow table (:mod:`systolic.dataflow`): what each array port presents.

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

The table itself (``MAPPINGS``, ``ROLES``, ``PORT_MAP``, ``port_lanes``) is vocabulary and lives in
:mod:`systolic.dataflow`; element formats live in :mod:`systolic.geometry`. What stays here is RTL-specific:
the sequencer's coordinate sources and lane roles, and the config check every component starts with.
"""

from __future__ import annotations

from systolic.config import ArrayConfig, Dataflow
from systolic.dataflow import PORT_MAP, PORTS, ROLES, Role, port_lanes


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


def check_config(cfg: ArrayConfig) -> ArrayConfig:
    """``cfg`` itself if it is an :class:`ArrayConfig` (which validates its own fields), else a TypeError."""
    if not isinstance(cfg, ArrayConfig):
        raise TypeError(f"cfg must be an ArrayConfig, not {type(cfg).__name__}")
    return cfg


def _check_tables() -> None:
    """The table's invariants; a violation is a programming error caught at import."""
    for df in Dataflow:
        assert sorted(ROLES[df].values()) == ["sc", "sr", "t"], df
        for port in PORTS:
            # west lanes feed the array's rows, north and south lanes its columns
            assert lane_role(df, port) == ("sr" if port_lanes(1, 2, port) == 1 else "sc"), (df, port)
            for axis in (0, 1):
                coordinate_source(df, port, axis)
        tensors = {PORT_MAP[df][p].tensor for p in PORTS}
        assert tensors == {"A", "B", "C"} and PORT_MAP[df]["south"].tensor == "C", df


_check_tables()
