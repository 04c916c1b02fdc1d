"""model/thermal_spectral.py: the cosine-mode solver equals a sparse direct solve on every grid-model matrix
it accepts, and declines the ones it cannot do."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from systolic.model import thermal as th
from systolic.model.floorplan import Floorplan
from systolic.model.thermal.grid_solve import _GridFactor
from systolic.model.thermal_spectral import dct_basis, spectral_solver

PARAMS = th.ThermalParams(ambient_k=300.0, init_temp_k=300.0, sampling_intvl_s=0.01)


def rect(width_mm: float, height_mm: float, nx: int = 3, ny: int = 2) -> Floorplan:
    w, h = width_mm * 1e-3 / nx, height_mm * 1e-3 / ny
    i, j = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    names = tuple(f"b{a}_{b}" for a, b in zip(i.ravel(), j.ravel(), strict=True))
    return Floorplan(names, np.full(nx * ny, w), np.full(nx * ny, h), j.ravel() * w, i.ravel() * h)


def stack(flp: Floorplan) -> list[th.Layer]:
    """Two power dies with bonding layers, the last one without lateral flow (like a .lcf)."""
    return [
        th.Layer(flp, 100.0, 1.75e6, 1.5e-4, power=True),
        th.Layer(flp, 4.0, 4e6, 2e-5),
        th.Layer(flp, 130.0, 1.6e6, 1e-4, power=True),
        th.Layer(flp, 4.0, 4e6, 2e-5, lateral=False),
    ]


def matrices(model: th.GridModel) -> dict[str, scipy.sparse.spmatrix]:
    g, c = model.g_w_k, model.c_j_k
    return {
        "G": g,  # steady state
        "G + C/h": g + scipy.sparse.diags(c / 0.01),  # a backward-Euler row
        "C + gamma h G": scipy.sparse.diags(c) + 0.4 * 1.25e-3 * g,  # an SDIRK sub-step
    }


def test_dct_basis_diagonalises_the_insulated_path():
    for n in (1, 2, 5, 64):
        q, lam = dct_basis(n)
        lap = np.diag(np.r_[1.0, np.full(max(n - 2, 0), 2.0), 1.0][:n]) if n > 1 else np.zeros((1, 1))
        lap -= np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)
        np.testing.assert_allclose(q.T @ q, np.eye(n), atol=1e-12)
        np.testing.assert_allclose(q.T @ lap @ q, np.diag(lam), atol=1e-12)


@pytest.mark.parametrize(
    ("rows", "cols", "layered", "lateral"),
    [(16, 16, False, "hotspot"), (24, 40, False, "hotspot"), (40, 24, False, "physical"), (2, 7, False, "hotspot"),
     (32, 16, True, "hotspot"), (3, 3, True, "physical")],
)  # fmt: skip
def test_spectral_solve_equals_the_sparse_solve(rows, cols, layered, lateral):
    flp = rect(12.0, 6.0)
    layers = stack(flp) if layered else None
    model = th.grid_model(None if layered else flp, PARAMS, rows, cols, "avg", layers, lateral=lateral)
    rhs = np.random.default_rng(rows * cols).uniform(0.0, 2.0, model.n_nodes)
    for name, matrix in matrices(model).items():
        solver = spectral_solver(matrix, rows, cols, model.n_layers, th.N_EXTRA)
        assert solver is not None, name
        exact = scipy.sparse.linalg.spsolve(matrix.tocsc(), rhs)
        np.testing.assert_allclose(solver.solve(rhs), exact, rtol=1e-10, atol=1e-12 * np.abs(exact).max())


def test_declines_what_it_cannot_solve():
    flp = rect(12.0, 6.0)
    model = th.grid_model(flp, PARAMS, 1, 8)
    assert spectral_solver(model.g_w_k, 1, 8, model.n_layers, th.N_EXTRA) is None  # one row of cells
    # per-cell materials (the detailed 3-D model): not layer-uniform
    rc = [th.Layer(flp, 100.0, 1.75e6, 1.5e-4, power=True, block_k_w_mk=np.r_[100.0, 20.0, 100, 100, 100, 100]),
          th.Layer(flp, 4.0, 4e6, 2e-5)]  # fmt: skip
    detailed = th.grid_model(None, PARAMS.replace(detailed_3D_used=True), 16, 16, "avg", rc)
    assert spectral_solver(detailed.g_w_k, 16, 16, detailed.n_layers, th.N_EXTRA) is None
    # a matrix whose cells are not uniform within a layer
    big = th.grid_model(flp, PARAMS, 8, 8)
    g = big.g_w_k + scipy.sparse.diags(np.r_[1e-3, np.zeros(big.n_nodes - 1)])
    assert spectral_solver(g, 8, 8, big.n_layers, th.N_EXTRA) is None


def test_grid_models_use_it_when_it_pays():
    flp = rect(12.0, 6.0)
    big, small = th.grid_model(flp, PARAMS, 16, 32), th.grid_model(flp, PARAMS, 8, 8)
    assert big.n_cells >= th.SPECTRAL_MIN_CELLS > small.n_cells
    assert _GridFactor(big, big.g_w_k).spectral is not None
    assert _GridFactor(small, small.g_w_k).spectral is None
    # both give the same steady state and backward-Euler rows as a sparse LU of the same model
    power = np.linspace(0.5, 3.0, flp.n_blocks)
    sparse = _GridFactor(small, small.g_w_k)
    assert sparse.solve(small.source_w(power)) == pytest.approx(
        scipy.sparse.linalg.spsolve(small.g_w_k.tocsc(), small.source_w(power)), abs=1e-9
    )
    steady = th.steady_grid(big, power)
    exact = scipy.sparse.linalg.spsolve(big.g_w_k.tocsc(), big.source_w(power))
    assert np.abs(steady.field_k - exact).max() < 1e-9


def test_grid_transient_reports_progress_per_row():
    """A caller's progress callback sees every row, in order (the flow prints long transients' progress)."""
    from systolic.model.thermal_params import ThermalParams

    mm = 1e-3
    flp = Floorplan(
        ("a", "b"), np.array([2 * mm, 2 * mm]), np.array([1 * mm, 1 * mm]), np.zeros(2), np.array([0, mm])
    )
    model = th.grid_model(flp, ThermalParams(), rows=8, cols=8)
    seen = []
    th.transient_grid(model, np.ones((5, 2)), 318.15, progress=lambda done, rows: seen.append((done, rows)))
    assert seen == [(i, 5) for i in range(1, 6)]
