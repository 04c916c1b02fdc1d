"""model/thermal.py against HotSpot 6's own runs (shared/reference/hotspot) and against physics.

The reference directory is external data (HotSpot's outputs on its example floorplan); it is looked up at
$SYSTOLIC_HOTSPOT_REF or ../shared/reference/hotspot beside the repository, and the tests that need it
are skipped, naming the path, when it is absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

from systolic.errors import InputError
from systolic.hotspot_io import (
    read_flp,
    read_grid_transient,
    read_hotspot_config,
    read_materials,
    read_ptrace,
    read_steady,
    thermal_params,
    trace_in_floorplan_order,
)
from systolic.model import thermal as th
from systolic.model.floorplan import Floorplan

REF = Path(
    os.environ.get(
        "SYSTOLIC_HOTSPOT_REF", Path(__file__).resolve().parents[2].parent / "shared/reference/hotspot"
    )
)
needs_ref = pytest.mark.skipif(not REF.is_dir(), reason=f"HotSpot reference runs not found at {REF}")


def case(name: str):
    """(floorplan, power [row, block] in floorplan order, trace column -> block, params) of a reference case."""
    d = REF / name
    flp = read_flp(d / "ev6.flp")
    trace = read_ptrace(d / "gcc.ptrace")
    power = trace_in_floorplan_order(trace, flp, d / "gcc.ptrace")
    order = np.array([flp.index(n) for n in trace.names])
    params = thermal_params(
        read_hotspot_config(d / "example.config"), read_materials(d / "example.materials")
    )
    return flp, power, order, params


def ttrace(path: Path) -> np.ndarray:
    return np.loadtxt(path, skiprows=1)


# --------------------------------------------------------------------------- against HotSpot


@needs_ref
def test_block_steady_matches_hotspot():
    flp, power, _, params = case("ex1_block_steady")
    model = th.block_model(flp, params)
    names, ref = read_steady(REF / "ex1_block_steady/gcc.steady")
    assert names == model.names  # blocks, iface_, hsp_, hsink_, inode_0..11
    temps = th.steady_block(model, power.mean(axis=0))
    assert np.abs(temps - ref).max() < 0.006  # print precision %.2f: 0.005


@needs_ref
def test_block_transient_from_init_temp_matches_hotspot():
    flp, power, order, params = case("ex1_block_steady_and_transient_from_init_temp")
    model = th.block_model(flp, params)
    temps = th.transient_block(model, power, params.init_temp_k)
    ref = ttrace(REF / "ex1_block_steady_and_transient_from_init_temp/gcc.ttrace")
    assert np.abs(temps[:, order] - ref).max() < 0.01  # measured 0.0065


@needs_ref
def test_block_transient_from_steady_init_matches_hotspot():
    flp, power, order, params = case("ex1_block_transient_from_steady_init")
    model = th.block_model(flp, params)
    names, init = read_steady(REF / "ex1_block_transient_from_steady_init/gcc.init")
    assert names == model.names
    temps = th.transient_block(model, power, init)
    ref = ttrace(REF / "ex1_block_transient_from_steady_init/gcc.ttrace")
    assert np.abs(temps[:, order] - ref).max() < 0.01  # measured 0.0070


@pytest.fixture(scope="module")
def ex2():
    if not REF.is_dir():
        pytest.skip(f"HotSpot reference runs not found at {REF}")
    flp, power, order, params = case("ex2_grid_transient")
    model = th.grid_model(flp, params)
    init = model.field_from_block_nodes(np.full(4 * flp.n_blocks + 12, params.init_temp_k))
    return model, power, order, params, init


def test_grid_steady_matches_hotspot(ex2):
    model, power, _, _, _ = ex2
    assert (model.rows, model.cols, model.map_mode) == (64, 64, "avg")
    steady = th.steady_grid(model, power.mean(axis=0))
    _, ref = read_steady(REF / "ex2_grid_steady/gcc.steady")
    assert np.abs(model.block_node_temps_k(steady.field_k) - ref).max() < 0.006
    cells = read_grid_transient_free(REF / "ex2_grid_steady/gcc.grid.steady")
    assert np.abs(model.layers_k(steady.field_k).reshape(4, -1) - cells).max() < 0.006


def read_grid_transient_free(path: Path) -> np.ndarray:
    from systolic.hotspot_io import read_grid

    return read_grid(path, 64 * 64)


def test_grid_transient_be_matches_hotspot_superlu(ex2):
    model, power, order, _, init = ex2
    result = th.transient_grid(model, power, init, integrator="be", keep=np.array([0, 49, 99]))
    ref = ttrace(REF / "ex2_grid_transient/gcc.ttrace")
    assert np.abs(result.blocks_k[:, 0, order] - ref).max() < 0.006  # measured 0.0050
    steps = read_grid_transient(REF / "ex2_grid_transient/gcc.grid.ttrace.steps_1_50_100", 64 * 64)
    assert [round(t, 6) for t, _ in steps] == [0.0, 0.49, 0.99]  # HotSpot labels row k+1 as t = k * dt
    for field, (_, cells) in zip(result.fields_k, steps, strict=True):
        assert np.abs(model.layers_k(field).reshape(4, -1) - cells).max() < 0.006


def test_grid_transient_exact_lands_on_hotspot_rk4(ex2):
    model, power, order, _, init = ex2
    result = th.transient_grid(model, power, init, integrator="exact")
    rk4 = ttrace(REF / "ex2_grid_transient/no_superlu/gcc.ttrace")
    be = ttrace(REF / "ex2_grid_transient/gcc.ttrace")
    assert np.abs(result.blocks_k[:, 0, order] - rk4).max() < 0.01  # measured 0.0069 with 8 sub-steps
    assert np.abs(result.blocks_k[:, 0, order] - be).max() > 1.0  # the two HotSpot builds differ by 2.2 K


def test_uniform_init_is_spread_by_occupancy_like_hotspot(ex2):
    # ev6.flp leaves 1 um slivers: the cells under them start below init_temp in HotSpot too
    model, _, _, params, init = ex2
    assert init.max() == pytest.approx(params.init_temp_k)
    assert init.min() < params.init_temp_k - 1.0


# --------------------------------------------------------------------------- physics and numerics


def square(n: int = 2, side_mm: float = 4.0) -> Floorplan:
    """n x n equal blocks."""
    s = side_mm * 1e-3 / n
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    names = tuple(f"b{a}_{b}" for a, b in zip(i.ravel(), j.ravel(), strict=True))
    return Floorplan(names, np.full(n * n, s), np.full(n * n, s), j.ravel() * s, i.ravel() * s)


PARAMS = th.ThermalParams(ambient_k=300.0, init_temp_k=300.0, sampling_intvl_s=0.01)


def test_block_energy_balance():
    model = th.block_model(square(3), PARAMS)
    power = np.linspace(0.5, 4.0, 9)
    temps = th.steady_block(model, power)
    out_w = model.g_amb_w_k @ (temps - PARAMS.ambient_k)
    assert out_w == pytest.approx(power.sum(), rel=1e-10)


def test_grid_energy_balance():
    model = th.grid_model(square(3), PARAMS, rows=12, cols=12)
    power = np.linspace(0.5, 4.0, 9)
    steady = th.steady_grid(model, power)
    out_w = model.g_amb_w_k @ (steady.field_k - PARAMS.ambient_k)
    assert out_w == pytest.approx(power.sum(), rel=1e-10)
    assert model.power_map.sum() == pytest.approx(9.0)  # every block's watts land on the cells


@pytest.mark.parametrize("kind", ["block", "grid"])
def test_uniform_power_on_symmetric_floorplan_is_symmetric(kind):
    f = square(2)
    power = np.full(4, 2.0)
    if kind == "block":
        temps = th.steady_block(th.block_model(f, PARAMS), power)[:4].reshape(2, 2)
        np.testing.assert_allclose(temps, temps[0, 0], rtol=0, atol=1e-9)
    else:
        model = th.grid_model(f, PARAMS, rows=8, cols=8)
        field = model.layers_k(th.steady_grid(model, power).field_k)  # [layer, row, col]
        np.testing.assert_allclose(field, field[:, ::-1, :], atol=1e-9)
        np.testing.assert_allclose(field, field[:, :, ::-1], atol=1e-9)
        np.testing.assert_allclose(field, np.swapaxes(field, 1, 2), atol=1e-9)


def test_hot_block_is_hottest():
    model = th.block_model(square(3), PARAMS)
    temps = th.steady_block(model, np.array([0, 0, 0, 0, 5.0, 0, 0, 0, 0]))
    assert int(np.argmax(temps[:9])) == 4
    assert np.all(temps > PARAMS.ambient_k)


def test_block_transient_is_the_matrix_exponential_and_tends_to_steady_state():
    model = th.block_model(square(2), PARAMS)
    power = np.array([1.0, 2.0, 3.0, 4.0])
    t0 = np.full(model.n_nodes, 300.0)
    one = th.transient_block(model, power[None], t0, dt_s=0.37)[0]
    a = -model.g_w_k / model.c_j_k[:, None]
    direct = scipy.linalg.expm(a * 0.37) @ t0 + np.linalg.solve(
        a, (scipy.linalg.expm(a * 0.37) - np.eye(len(t0))) @ (model.source_w(power) / model.c_j_k)
    )
    np.testing.assert_allclose(one, direct, atol=1e-8)
    halves = th.transient_block(model, np.tile(power, (2, 1)), t0, dt_s=0.185)[-1]
    np.testing.assert_allclose(halves, one, atol=1e-8)
    late = th.transient_block(model, power[None], t0, dt_s=1e4)[0]
    np.testing.assert_allclose(late, th.steady_block(model, power), atol=1e-6)


def test_grid_exact_agrees_with_dense_expm():
    model = th.grid_model(square(2), PARAMS, rows=4, cols=4)
    power = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 0.0, 1.0, 0.5]])
    result = th.transient_grid(model, power, 300.0, integrator="exact", keep=True, substeps=16)
    g = model.g_w_k.toarray()
    a = -g / model.c_j_k[:, None]
    field = np.full(model.n_nodes, 300.0)
    prop = scipy.linalg.expm(a * PARAMS.sampling_intvl_s)
    for row in range(2):
        ss = np.linalg.solve(g, model.source_w(power[row]))
        field = ss + prop @ (field - ss)
        np.testing.assert_allclose(result.fields_k[row], field, atol=2e-4)


def test_grid_be_is_one_implicit_euler_step_per_row():
    model = th.grid_model(square(2), PARAMS, rows=4, cols=4)
    power = np.array([1.0, 2.0, 3.0, 4.0])
    result = th.transient_grid(model, power[None], 300.0, integrator="be", keep=True)
    g, c, h = model.g_w_k.toarray(), model.c_j_k, PARAMS.sampling_intvl_s
    expected = np.linalg.solve(g + np.diag(c / h), model.source_w(power) + c / h * 300.0)
    np.testing.assert_allclose(result.fields_k[0], expected, atol=1e-9)


@pytest.mark.parametrize("mode", ["avg", "min", "max", "center"])
def test_grid_map_modes(mode):
    model = th.grid_model(square(2), PARAMS, rows=8, cols=8, map_mode=mode)
    field = np.zeros(model.n_nodes)
    field[: model.n_cells] = np.arange(model.n_cells)  # cell index as temperature
    block0 = model.blocks_k(field)[0, 0]  # block b0_0: bottom-left, rows 4..7, cols 0..3
    cells = np.arange(64).reshape(8, 8)[4:, :4]
    expected = {"avg": cells.mean(), "min": cells.min(), "max": cells.max(), "center": cells[1:3, 1:3].mean()}
    assert block0 == pytest.approx(expected[mode])


def test_leakage_fixed_point():
    model = th.block_model(square(2), PARAMS)
    power = np.full(4, 3.0)
    leak = th.hotspot_leakage(model.floorplan)
    temps = th.steady_block(model, power, leakage=leak)
    plain = th.steady_block(model, power)
    assert np.all(temps[:4] > plain[:4])
    again = th.steady_block(model, power + leak(temps[:4]))
    assert np.abs(again - temps).max() < th.LEAK_TOL_K
    grid = th.grid_model(square(2), PARAMS, rows=4, cols=4)
    steady = th.steady_grid(grid, power, leakage=leak)
    assert np.all(steady.blocks_k[0] > th.steady_grid(grid, power).blocks_k[0])


def test_thermal_runaway_is_reported():
    model = th.block_model(square(2), PARAMS)
    with pytest.raises(
        InputError, match="leakage: too many iterations before temperature-leakage convergence"
    ):
        th.steady_block(model, np.full(4, 3.0), leakage=lambda t: 50.0 * np.exp((t - 300.0) / 5.0))


def test_transient_leakage_hook_runs_each_row():
    model = th.grid_model(square(2), PARAMS, rows=4, cols=4)
    calls = []

    def leak(t_blocks: np.ndarray) -> np.ndarray:
        calls.append(t_blocks.copy())
        return np.zeros(4)

    th.transient_grid(model, np.ones((3, 4)), 300.0, leakage=leak)
    assert len(calls) == 3 and calls[0].shape == (4,)


# --------------------------------------------------------------------------- parameters and errors


def test_defaults_are_hotspots():
    p = th.ThermalParams()
    assert (p.t_chip_m, p.k_chip_w_mk, p.p_chip_j_m3k) == (0.15e-3, 100.0, 1.75e6)
    assert (p.ambient_k, p.init_temp_k, p.sampling_intvl_s) == (318.15, 333.15, 3.333e-6)
    assert (p.r_convec_k_w, p.c_convec_j_k, p.s_sink_m, p.t_sink_m) == (0.1, 140.4, 0.06, 6.9e-3)
    assert (p.grid_rows, p.grid_cols, p.grid_map_mode, p.model_type) == (64, 64, "center", "block")
    assert th.HOTSPOT_KEYS["t_chip"] == "t_chip_m" and th.HOTSPOT_KEYS["r_convec"] == "r_convec_k_w"
    assert th.C_FACTOR == 0.333


def test_parameter_errors():
    with pytest.raises(
        InputError,
        match="thermal config: t_chip: chip and package dimensions should be greater than zero, not 0",
    ):
        th.ThermalParams(t_chip_m=0.0)
    with pytest.raises(InputError, match="invalid mapping mode 'mean'. use 'avg', 'min', 'max' or 'center'"):
        th.ThermalParams(grid_map_mode="mean")
    with pytest.raises(InputError, match="invalid model type 'mesh'. use 'block' or 'grid'"):
        th.ThermalParams(model_type="mesh")
    with pytest.raises(
        InputError, match="model_secondary: the secondary heat path is not supported; set it to 0"
    ):
        th.block_model(square(), th.ThermalParams(model_secondary=True))


def test_model_errors():
    with pytest.raises(
        InputError, match=r"inordinate floorplan size: the 40 x 40 mm die does not fit the 30 mm spreader"
    ):
        th.block_model(square(2, side_mm=40.0), PARAMS)
    with pytest.raises(InputError, match="power has 3 columns for 4 blocks"):
        th.steady_block(th.block_model(square(), PARAMS), np.ones(3))
    model = th.grid_model(square(), PARAMS, rows=4, cols=4)
    with pytest.raises(InputError, match="--integrator: integrator must be 'be' or 'exact', not 'rk4'"):
        th.transient_grid(model, np.ones((1, 4)), 300.0, integrator="rk4")
    with pytest.raises(InputError, match="dt_s: time steps must be positive"):
        th.transient_grid(model, np.ones((1, 4)), 300.0, dt_s=0.0)
    with pytest.raises(InputError, match="grid rows and columns should both be greater than zero"):
        th.grid_model(square(2), PARAMS, rows=0, cols=4)


def test_model_imports_no_hdl_or_cosim():
    code = "import sys, systolic.model.thermal, systolic.model.floorplan; print('amaranth' in sys.modules, 'cocotb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
