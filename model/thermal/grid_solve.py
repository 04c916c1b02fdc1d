"""The grid model's solvers: steady state (sparse LU or cosine modes), transients (backward Euler as
HotSpot's SuperLU build, or sub-stepped exact decay)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from systolic.errors import InputError

from .block import _check_power, _fixed_point, _row_steps
from .common import INTEGRATORS, N_EXTRA, Leakage, scipy
from .grid import GridModel


@dataclass(frozen=True, eq=False)
class GridSteady:
    """Steady state of the grid model.

    Attributes
    ----------
    field_k : numpy.ndarray
        ``[node]`` temperature of every cell and package node.
    power_k : numpy.ndarray
        ``[power block]`` temperatures of the power inputs' blocks.
    nodes_k : numpy.ndarray
        ``[block node]`` every layer's block temperatures and the package nodes (``.steady`` order).
    blocks_k : numpy.ndarray or None
        ``[layer, block]`` block temperatures mapped from each layer, when the layers share a floorplan.
    """

    field_k: np.ndarray
    power_k: np.ndarray
    nodes_k: np.ndarray
    blocks_k: np.ndarray | None


def _grid_steady(model: GridModel, field: np.ndarray) -> GridSteady:
    blocks = model.blocks_k(field) if model.uniform else None
    return GridSteady(field, model.power_blocks_k(field), model.block_node_temps_k(field), blocks)


def _splu(matrix: scipy.sparse.spmatrix):
    # The matrices are symmetric positive definite: a symmetric ordering and no pivoting keep the
    # factors sparse and the factorisation fast.
    return scipy.sparse.linalg.splu(
        scipy.sparse.csc_matrix(matrix),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )


def _dissection_order(rows: int, cols: int, leaf: int = 36) -> np.ndarray:
    """Cells in nested-dissection order: halves first, the separating line of cells last, recursively."""
    out, stack = [], [(0, rows, 0, cols)]
    while stack:  # over sub-rectangles (about 2 * rows * cols / leaf of them), not cells
        r0, r1, c0, c1 = stack.pop()
        h, w = r1 - r0, c1 - c0
        if h * w <= leaf or h < 3 or w < 3:
            out.append((np.arange(r0, r1)[:, None] * cols + np.arange(c0, c1)[None]).ravel())
        elif h >= w:
            m = (r0 + r1) // 2
            out.append(m * cols + np.arange(c0, c1))
            stack += [(r0, m, c0, c1), (m + 1, r1, c0, c1)]
        else:
            m = (c0 + c1) // 2
            out.append(np.arange(r0, r1) * cols + m)
            stack += [(r0, r1, c0, m), (r0, r1, m + 1, c1)]
    return np.concatenate(out[::-1])  # separators after the parts they separate


#: Grids of at least this many cells per layer are solved spectrally (model/thermal_spectral.py) when
#: their layers are uniform; smaller ones are quicker with the sparse LU.
SPECTRAL_MIN_CELLS = 256


class _GridFactor:
    """Solves with a grid-model matrix: spectrally (cosine modes and a dense correction for the die
    edges, :mod:`.thermal_spectral`) when the layers are uniform and the grid is not small, else a
    sparse LU, factorised in nested-dissection order with the layers of a cell next to each other and
    the package nodes last; SuperLU's minimum-degree ordering refines it. That gives about 15% less
    fill, and faster solves, than minimum degree on the natural order."""

    def __init__(self, model: GridModel, matrix: scipy.sparse.spmatrix):
        self.spectral = None
        if model.n_cells >= SPECTRAL_MIN_CELLS and not model.params.detailed_3D_used:
            from ..thermal_spectral import spectral_solver

            self.spectral = spectral_solver(matrix, model.rows, model.cols, model.n_layers, N_EXTRA)
            if self.spectral is not None:
                return
        cells = _dissection_order(model.rows, model.cols)
        layers = np.arange(model.n_layers)[None, :] * model.n_cells
        self.perm = np.concatenate(
            [(cells[:, None] + layers).ravel(), model.n_layers * model.n_cells + np.arange(N_EXTRA)]
        )
        csc = scipy.sparse.csc_matrix(matrix)
        self.lu = _splu(csc[self.perm][:, self.perm])

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        if self.spectral is not None:
            return self.spectral.solve(rhs)
        out = np.empty_like(rhs)
        out[self.perm] = self.lu.solve(rhs[self.perm])
        return out


def steady_grid(model: GridModel, power_w: np.ndarray, leakage: Leakage | None = None) -> GridSteady:
    """Steady state of the grid model for powers ``[power block]`` (W): one sparse solve (per leakage
    iteration, with the factorisation reused). ``leakage(T_power_blocks_k) -> W`` as in
    :func:`steady_block`."""
    power_w = _check_power(power_w, model.n_blocks)
    lu = _GridFactor(model, model.g_w_k)

    def solve(pw: np.ndarray) -> np.ndarray:
        return lu.solve(model.source_w(pw))

    if leakage is None:
        field = solve(power_w)
    else:
        field = _fixed_point(
            solve,
            model.power_blocks_k,
            power_w,
            leakage,
            np.full(model.n_nodes, model.params.ambient_k),
            model.power_names,
        )
    return _grid_steady(model, field)


@dataclass(frozen=True, eq=False)
class GridTransient:
    """A grid-model transient.

    Attributes
    ----------
    nodes_k : numpy.ndarray
        ``[row, block node]`` every layer's block temperatures and the package nodes (``.steady`` order)
        at the end of every trace row.
    power_k : numpy.ndarray
        ``[row, power block]`` temperatures of the power inputs' blocks (the ``.ttrace`` columns).
    blocks_k : numpy.ndarray or None
        ``[row, layer, block]`` block temperatures, when the layers share one floorplan.
    final_k : numpy.ndarray
        ``[node]`` field at the end of the last row.
    fields_k : numpy.ndarray or None
        ``[kept row, node]`` fields at the end of the rows asked for with ``keep``.
    kept_rows : numpy.ndarray
        Row indices of ``fields_k``.
    """

    nodes_k: np.ndarray
    power_k: np.ndarray
    blocks_k: np.ndarray | None
    final_k: np.ndarray
    fields_k: np.ndarray | None
    kept_rows: np.ndarray


#: Alexander's (1977) L-stable, stiffly accurate 3-stage SDIRK method of order 3: one diagonal coefficient,
#: so one factorisation of C + gamma h G serves every stage.
_SDIRK_GAMMA = 0.435866521508459
_SDIRK_A = np.array(
    [
        [_SDIRK_GAMMA, 0.0, 0.0],
        [(1 - _SDIRK_GAMMA) / 2, _SDIRK_GAMMA, 0.0],
        [
            -1.5 * _SDIRK_GAMMA**2 + 4 * _SDIRK_GAMMA - 0.25,
            1.5 * _SDIRK_GAMMA**2 - 5 * _SDIRK_GAMMA + 1.25,
            _SDIRK_GAMMA,
        ],
    ]
)


class _SubStepped:
    """x -> exp(-h C^-1 G) x, approximated by ``substeps`` steps of the SDIRK method above.

    Over one row the error is at most 1.3e-3, 1.9e-4, 2.6e-5 of |x| for 4, 8, 16 sub-steps, whatever the
    stiffness (the method is L-stable: the fast modes of the thin interface layer are damped, not
    amplified). SciPy's complex sparse LU is about 15 times slower than its real one, which rules out
    the complex-pole rational approximations of the exponential; ``expm_multiply`` needs on the order of
    ``||h C^-1 G||`` (about 1e6 here) products.
    """

    def __init__(self, model: GridModel, h_s: float, substeps: int):
        self.g = model.g_w_k
        self.h = h_s / substeps
        self.substeps = substeps
        self.lu = _GridFactor(model, scipy.sparse.diags(model.c_j_k) + (_SDIRK_GAMMA * self.h) * self.g)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        a, h, g, solve = _SDIRK_A, self.h, self.g, self.lu.solve
        for _ in range(self.substeps):
            k1 = solve(-(g @ x))
            k2 = solve(-(g @ (x + h * a[1, 0] * k1)))
            k3 = solve(-(g @ (x + h * (a[2, 0] * k1 + a[2, 1] * k2))))
            x = x + h * (a[2, 0] * k1 + a[2, 1] * k2 + a[2, 2] * k3)
        return x


def _kept_rows(keep: bool | str | np.ndarray, n_rows: int) -> tuple[bool, np.ndarray]:
    """Whether only the peak row's field is kept, and the rows whose fields are kept."""
    peak_only = isinstance(keep, str) and keep == "peak"
    if isinstance(keep, str) and not peak_only:
        raise InputError(f"keep must be a bool, 'peak' or row numbers, not {keep!r}", "keep")
    if peak_only:
        return True, np.zeros(1, dtype=np.int64)
    if isinstance(keep, (bool, np.bool_)):
        return False, np.arange(n_rows) if keep else np.zeros(0, dtype=np.int64)
    return False, np.asarray(keep, dtype=np.int64)


def _row_solvers(model: GridModel, dts: np.ndarray, integrator: str, substeps: int) -> tuple[dict, Any]:
    """One solver per distinct row length: ``C/h + G`` factorised (``be``), or the sub-stepped decay with
    G factorised for the rows' steady states (``exact``)."""
    g, c = model.g_w_k, model.c_j_k
    if integrator == "be":
        return {h: _GridFactor(model, g + scipy.sparse.diags(c / h)) for h in np.unique(dts)}, None
    if isinstance(substeps, bool) or not isinstance(substeps, (int, np.integer)) or substeps < 1:
        raise InputError(f"substeps must be a positive integer, not {substeps!r}", "substeps")
    return {h: _SubStepped(model, h, int(substeps)) for h in np.unique(dts)}, _GridFactor(model, g)


def transient_grid(
    model: GridModel,
    power_w: np.ndarray,
    init_k: np.ndarray | float,
    dt_s: float | np.ndarray | None = None,
    integrator: str = "be",
    leakage: Leakage | None = None,
    keep: bool | str | np.ndarray = False,
    substeps: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> GridTransient:
    """Grid-model temperatures at the end of every trace row.

    Parameters
    ----------
    model : GridModel
    power_w : numpy.ndarray
        ``[row, block]`` silicon power of each trace row (W).
    init_k : float or numpy.ndarray
        Start temperatures: one value, or a ``[node]`` field (use
        :meth:`GridModel.field_from_block_nodes` for a block-level init file, as HotSpot does).
    dt_s : float or numpy.ndarray, optional
        Length of each row (scalar or ``[row]``); default the sampling interval.
    integrator : {"be", "exact"}
        ``be``: one backward-Euler step per row (HotSpot's SuperLU build); ``exact``: each row's steady
        state plus the decay of the deviation from it, ``exp(-h C^-1 G)``, integrated with ``substeps``
        steps of an L-stable third-order method (near HotSpot's adaptive-RK4 build).
    leakage : callable, optional
        ``leakage(T_silicon_blocks_k) -> W`` evaluated at the start of every row.
    keep : bool, "peak" or array of int
        Keep the whole field at the end of all rows (True), of the listed rows, or of the row whose
        hottest power block is the hottest of the transient (``"peak"``, for a thermal map).
    substeps : int
        ``exact`` only: sub-steps per row; the relative error of the decay over a row is at most 1.9e-4
        with 8, 2.6e-5 with 16.
    progress : callable, optional
        ``progress(rows_done, rows)``, called after every row (the caller decides what to show).
    """
    power_w = _check_power(np.atleast_2d(power_w), model.n_blocks)
    if integrator not in INTEGRATORS:
        raise InputError(f"integrator must be 'be' or 'exact', not {integrator!r}", "integrator")
    n_rows = power_w.shape[0]
    dts = _row_steps(dt_s, model.params.sampling_intvl_s, n_rows)
    peak_only, kept = _kept_rows(keep, n_rows)
    keep_slot = {int(r): s for s, r in enumerate(kept)}
    field = np.broadcast_to(np.asarray(init_k, dtype=np.float64), (model.n_nodes,)).copy()
    c = model.c_j_k
    steps, g_lu = _row_solvers(model, dts, integrator, substeps)
    nodes = np.empty((n_rows, model.n_block_nodes))
    peak_k = -np.inf
    fields = np.empty((len(kept), model.n_nodes)) if len(kept) else None
    for row in range(n_rows):
        pw = power_w[row]
        if leakage is not None:
            pw = pw + leakage(model.power_blocks_k(field))
        rhs = model.source_w(pw)
        h = dts[row]
        if integrator == "be":
            field = steps[h].solve(rhs + c / h * field)
        else:
            ss = g_lu.solve(rhs)
            field = ss + steps[h](field - ss)
        nodes[row] = model.block_node_temps_k(field)
        if peak_only:
            hottest = float(nodes[row, model.power_node_index].max())
            if hottest > peak_k:
                peak_k, kept[0], fields[0] = hottest, row, field
        elif row in keep_slot:
            fields[keep_slot[row]] = field
        if progress is not None:
            progress(row + 1, n_rows)
    power = nodes[:, model.power_node_index]
    blocks = None
    if model.uniform:
        blocks = nodes[:, :-N_EXTRA].reshape(n_rows, model.n_layers, model.floorplan.n_blocks)
    return GridTransient(nodes, power, blocks, field, fields, kept)
