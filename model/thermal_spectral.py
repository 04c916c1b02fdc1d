"""A direct solver for grid-model matrices whose layers are uniform: cosine transforms plus a small dense
correction for the die edges, several times faster than a sparse LU.

The grid-model matrices (``G``, ``G + C/h`` and ``C + gamma h G``, see ``model/thermal.py``) are
``A = L + diag(e)``: ``L`` the graph Laplacian of the RC network, ``e`` what leaves a node to ambient or
to its capacitance. Without ``-detailed_3D`` every layer is laterally uniform: one east-west and one
north-south conductance between neighbouring cells, one vertical conductance to the next layer, one
``e`` per layer. The cells of such a stack, cut off from the package nodes, form ``A0``; a lateral
Laplacian with insulated edges is diagonalised by the orthonormal DCT-II in each direction, so ``A0 =
Q T Q^T`` with ``T`` one small ``layers x layers`` tridiagonal matrix per cosine mode. The rest of ``A``
touches only the package nodes and the edge cells of the layers joined to them (the spreader and the
sink: about ``4 (rows + cols)`` cells): ``A = A~ + U M U^T`` with ``A~ = diag(A0, I)``, and Woodbury's
identity

    A^-1 = A~^-1 - A~^-1 U (I + M K)^-1 M U^T A~^-1,   K = U^T A~^-1 U,

needs ``K`` (edge-cell entries of ``A0^-1``, from the separable cosine modes in a few small matrix
products) and one LU of ``I + M K``. A solve is then two cosine transforms (dense ``rows x rows`` and
``cols x cols`` products), two ``layers x layers`` products per mode and one small dense solve: no
sparse triangular solves, no fill.

:func:`spectral_solver` reads the layer conductances from the matrix itself and checks the result on
a random vector; any matrix that is not of this form (the detailed 3-D model's per-cell materials, grids
with fewer than two rows or columns) gets ``None`` and the caller keeps its sparse LU.
"""

from __future__ import annotations

import numpy as np

#: A solve must reproduce a random vector to this accuracy (relative), else the matrix is not handled.
CHECK_RTOL = 1e-9


def dct_basis(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal DCT-II basis ``[cell, mode]`` of a path of ``n`` cells with insulated ends, and the
    eigenvalues ``[mode]`` of its Laplacian (unit conductances): ``2 - 2 cos(pi k / n)``."""
    i, k = np.arange(n)[:, None], np.arange(n)[None, :]
    q = np.cos(np.pi * k * (2 * i + 1) / (2 * n)) * np.sqrt(2.0 / n)
    q[:, 0] = np.sqrt(1.0 / n)
    return q, 2.0 - 2.0 * np.cos(np.pi * np.arange(n) / n)


class SpectralSolver:
    """``x = A^-1 r`` for a layer-uniform grid matrix (see the module docstring); build it with
    :func:`spectral_solver`."""

    def __init__(self, matrix, rows: int, cols: int, n_layers: int, n_extra: int):
        import scipy.linalg

        a = matrix.tocsr()
        nr, nc, nl = rows, cols, n_layers
        n_cells = nr * nc
        self.shape = (nl, nr, nc)
        self.n_cell_nodes = nl * n_cells

        def entry(i: int, j: int) -> float:
            return float(a[i, j])

        base = np.arange(nl) * n_cells
        g_e = np.array([-entry(b, b + 1) for b in base])  # [layer] east-west neighbours
        g_s = np.array([-entry(b, b + nc) for b in base])  # north-south neighbours
        g_v = np.array([-entry(b, b + n_cells) for b in base[:-1]])  # [layer pair] vertical
        row_sums = np.asarray(a.sum(axis=1)).ravel()
        e = row_sums[: self.n_cell_nodes].reshape(nl, n_cells).mean(axis=1)  # [layer] to ambient / C/h

        self.qy, lam_y = dct_basis(nr)
        self.qx, lam_x = dct_basis(nc)
        t = np.zeros((nr, nc, nl, nl))  # [mode q, mode p, layer, layer]
        lat = g_e[None, None, :] * lam_x[None, :, None] + g_s[None, None, :] * lam_y[:, None, None]
        vert = np.concatenate(([0.0], g_v)) + np.concatenate((g_v, [0.0]))
        idx = np.arange(nl)
        t[:, :, idx, idx] = lat + vert + e
        t[:, :, idx[:-1], idx[1:]] = -g_v
        t[:, :, idx[1:], idx[:-1]] = -g_v
        self.t_inv = np.linalg.inv(t)
        self.t_inv_lf = np.ascontiguousarray(self.t_inv.transpose(2, 3, 0, 1))  # [layer, layer, q, p]
        self.qy_ends, self.qx_ends = self.qy[[0, nr - 1]], self.qx[[0, nc - 1]]
        self.qy_inner = self.qy[1:-1]

        # edge cells: the perimeter of every layer joined to a package node, as lines of cells
        cell_pkg = a[: self.n_cell_nodes, self.n_cell_nodes :].tocsr()  # [cell node, package node]
        joined = np.flatnonzero(np.diff(cell_pkg.indptr))
        self.edge_layers = np.unique(joined // n_cells)
        inner = np.arange(1, nr - 1)
        self.lines = []  # (layer, kind, fixed index, varying indices)
        for layer in self.edge_layers:
            self.lines += [(layer, "row", 0, np.arange(nc)), (layer, "row", nr - 1, np.arange(nc))]
            self.lines += [(layer, "col", 0, inner), (layer, "col", nc - 1, inner)]
        cells = []
        for layer, kind, fixed, var in self.lines:
            i, j = (np.full(len(var), fixed), var) if kind == "row" else (var, np.full(len(var), fixed))
            cells.append(layer * n_cells + i * nc + j)
        self.edge_cells = np.concatenate(cells) if cells else np.zeros(0, dtype=np.int64)
        if not np.all(np.isin(joined, self.edge_cells)):
            raise ValueError("a cell inside the die is joined to a package node")
        self.offsets = np.concatenate(([0], np.cumsum([len(c) for c in cells])))

        nb = len(self.edge_cells)
        extra = np.arange(self.n_cell_nodes, self.n_cell_nodes + n_extra)
        # A - A~ = U M U^T with M = [[diag(d), a_bp], [a_bp^T, a_pp - I]] and K = diag(A0^-1 on the
        # edge cells, I): M K and M u in blocks, without forming M
        self.a_bp = a[self.edge_cells][:, extra].toarray()  # [edge cell, package node]
        self.a_pp = a[extra][:, extra].toarray()
        self.d = -self.a_bp.sum(axis=1)  # [edge cell] conductance to the package nodes
        k_bb = self._edge_inverse()
        mk = np.empty((nb + n_extra, nb + n_extra))
        mk[:nb, :nb] = self.d[:, None] * k_bb
        mk[:nb, nb:] = self.a_bp
        mk[nb:, :nb] = self.a_bp.T @ k_bb
        mk[nb:, nb:] = self.a_pp - np.eye(n_extra)
        mk[np.arange(nb + n_extra), np.arange(nb + n_extra)] += 1.0
        self.lu = scipy.linalg.lu_factor(mk, overwrite_a=True, check_finite=False)
        self.lu_solve = scipy.linalg.lu_solve
        self.nb = nb

    # ----------------------------------------------------------------- A0^-1 between edge cells

    def _line_factors(self, kind: str, fixed: int, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row-mode factors, column-mode factors) of a line's cells: [cell, mode] or [mode] when fixed."""
        if kind == "row":
            return self.qy[fixed], self.qx[var]
        return self.qy[var], self.qx[fixed]

    def _block(self, alpha, beta) -> np.ndarray:
        """``A0^-1`` between the cells of two lines (``[alpha cell, beta cell]``)."""
        (la, ka, fa, va), (lb, kb, fb, vb) = alpha, beta
        t_ab = self.t_inv[:, :, la, lb]  # [q, p]
        ya, xa = self._line_factors(ka, fa, va)
        yb, xb = self._line_factors(kb, fb, vb)
        if ka == "row" and kb == "row":  # sum_q ya yb t -> [p], then the column modes
            s = (ya * yb) @ t_ab
            return (xa * s) @ xb.T
        if ka == "col" and kb == "col":
            s = t_ab @ (xa * xb)
            return (ya * s) @ yb.T
        if ka == "row":  # row line against column line: [p, q] weights, then both mode sums
            w = (t_ab * ya[:, None] * xb[None, :]).T  # [p, q]
            return xa @ w @ yb.T
        return self._block(beta, alpha).T

    def _edge_inverse(self) -> np.ndarray:
        nb = self.offsets[-1]
        k = np.empty((nb, nb))
        for ia, alpha in enumerate(self.lines):
            for ib, beta in enumerate(self.lines):
                if len(alpha[3]) and len(beta[3]):
                    k[self.offsets[ia] : self.offsets[ia + 1], self.offsets[ib] : self.offsets[ib + 1]] = (
                        self._block(alpha, beta)
                    )
        return k

    # ----------------------------------------------------------------- solves

    def _mode_solve(self, coef: np.ndarray, layers: np.ndarray | None = None) -> np.ndarray:
        """``T^-1 coef`` in every mode: ``coef`` ``[layer, q, p]`` (of ``layers`` only, if given)."""
        t_inv = self.t_inv_lf if layers is None else self.t_inv_lf[:, layers]
        return np.einsum("abqp,bqp->aqp", t_inv, coef)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        nl, nr, nc = self.shape
        qy, qx = self.qy, self.qx
        r_pkg = rhs[self.n_cell_nodes :]
        y_hat = self._mode_solve(qy.T @ rhs[: self.n_cell_nodes].reshape(nl, nr, nc) @ qx)  # [layer, q, p]
        # A0^-1 r on the edge cells, layer by layer: the first and last rows, then the first and last
        # columns between them (the order of self.edge_cells)
        y_edge = y_hat[self.edge_layers]
        rows = self.qy_ends @ y_edge @ qx.T  # [edge layer, 2, col]
        cols = self.qy_inner @ y_edge @ self.qx_ends.T  # [edge layer, inner row, 2]
        ne = len(self.edge_layers)
        u = np.concatenate([rows.reshape(ne, -1), cols.transpose(0, 2, 1).reshape(ne, -1)], axis=1)
        u = u.reshape(-1)
        mu = np.concatenate([self.d * u + self.a_bp @ r_pkg, self.a_bp.T @ u + self.a_pp @ r_pkg - r_pkg])
        z = self.lu_solve(self.lu, mu, check_finite=False)
        z_edge = z[: self.nb].reshape(ne, -1)
        z_rows = z_edge[:, : 2 * nc].reshape(ne, 2, nc)
        z_cols = z_edge[:, 2 * nc :].reshape(ne, 2, nr - 2).transpose(0, 2, 1)
        corr = self.qy_ends.T @ z_rows @ qx + self.qy_inner.T @ z_cols @ self.qx_ends  # cosine coefficients
        y_hat -= self._mode_solve(corr, self.edge_layers)
        cells = qy @ y_hat @ qx.T
        return np.concatenate([cells.reshape(-1), r_pkg - z[self.nb :]])


def spectral_solver(matrix, rows: int, cols: int, n_layers: int, n_extra: int) -> SpectralSolver | None:
    """A :class:`SpectralSolver` for ``matrix`` if it is a layer-uniform grid matrix (checked on a
    random vector), else None."""
    if rows < 2 or cols < 2:
        return None
    try:
        solver = SpectralSolver(matrix, rows, cols, n_layers, n_extra)
    except (ValueError, np.linalg.LinAlgError):
        return None
    v = np.random.default_rng(0).uniform(-1.0, 1.0, matrix.shape[0])
    if not np.all(np.abs(solver.solve(matrix @ v) - v) <= CHECK_RTOL):
        return None
    return solver
