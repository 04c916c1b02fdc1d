"""model/thermal.py against HotSpot 6's runs (tests/data/hotspot) and against physics.

The reference runs (HotSpot's outputs on its example floorplans and on systolic's non-square cases) are
committed under tests/data/hotspot with their inputs and commands; its README.md says how they were made.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

from systolic.errors import InputError
from systolic.formats.hotspot import (
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

#: HotSpot 6's runs on its own examples and on systolic's cases (inputs, cmd.txt, outputs; see its README.md).
REF = Path(__file__).resolve().parents[1] / "data" / "hotspot"


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


def test_block_steady_matches_hotspot():
    flp, power, _, params = case("ex1_block_steady")
    model = th.block_model(flp, params)
    names, ref = read_steady(REF / "ex1_block_steady/gcc.steady")
    assert names == model.names  # blocks, iface_, hsp_, hsink_, inode_0..11
    temps = th.steady_block(model, power.mean(axis=0))
    assert np.abs(temps - ref).max() < 0.006  # print precision %.2f: 0.005


def test_block_transient_from_init_temp_matches_hotspot():
    flp, power, order, params = case("ex1_block_steady_and_transient_from_init_temp")
    model = th.block_model(flp, params)
    temps = th.transient_block(model, power, params.init_temp_k)
    ref = ttrace(REF / "ex1_block_steady_and_transient_from_init_temp/gcc.ttrace")
    assert np.abs(temps[:, order] - ref).max() < 0.01  # measured 0.0065


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
    from systolic.formats.hotspot import read_grid

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


def rect(width_mm: float, height_mm: float, nx: int = 3, ny: int = 2) -> Floorplan:
    """nx x ny equal blocks on a width x height die."""
    w, h = width_mm * 1e-3 / nx, height_mm * 1e-3 / ny
    i, j = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    names = tuple(f"b{a}_{b}" for a, b in zip(i.ravel(), j.ravel(), strict=True))
    return Floorplan(names, np.full(nx * ny, w), np.full(nx * ny, h), j.ravel() * w, i.ravel() * h)


@pytest.mark.parametrize("lateral", ["hotspot", "physical"])
def test_lateral_resistances_between_cells(lateral):
    # issue 18: HotSpot's find_res joins east-west neighbours by ry = ch / (k cw t) and north-south ones
    # by rx = cw / (k ch t) (both its builds); the physical network has them the other way round
    model = th.grid_model(rect(12.0, 6.0), PARAMS, rows=4, cols=4, lateral=lateral)
    cw, ch, k, t = 3e-3, 1.5e-3, PARAMS.k_chip_w_mk, PARAMS.t_chip_m
    g = model.g_w_k.tocsr()
    g_east, g_south = -g[0, 1], -g[0, 4]  # silicon cell (0, 0) to (0, 1) and to (1, 0)
    if lateral == "hotspot":
        assert g_east == pytest.approx(k * cw * t / ch) and g_south == pytest.approx(k * ch * t / cw)
    else:
        assert g_east == pytest.approx(k * ch * t / cw) and g_south == pytest.approx(k * cw * t / ch)
    assert model.lateral == lateral


def test_lateral_modes_agree_on_square_cells():
    a = th.grid_model(rect(12.0, 6.0), PARAMS, rows=8, cols=16, lateral="hotspot")
    b = th.grid_model(rect(12.0, 6.0), PARAMS, rows=8, cols=16, lateral="physical")
    assert abs(a.g_w_k - b.g_w_k).max() < 1e-12


def test_physical_lateral_resistances_do_not_depend_on_the_cell_shape():
    # the same die on square and on 4:1 cells: the physical network only pays the discretisation error;
    # HotSpot's swapped lateral resistances make thin cells conduct the wrong way, by over a kelvin here
    flp = rect(8.0, 8.0, 3, 3)
    power = np.array([6.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 6.0])
    for lateral, low, high in (("physical", 0.0, 0.15), ("hotspot", 1.0, 10.0)):
        square_cells = th.steady_grid(th.grid_model(flp, PARAMS, 36, 36, "avg", lateral=lateral), power)
        tall_cells = th.steady_grid(th.grid_model(flp, PARAMS, 18, 72, "avg", lateral=lateral), power)
        assert low <= np.abs(square_cells.power_k - tall_cells.power_k).max() < high, lateral
    with pytest.raises(InputError, match="grid model: lateral: must be 'hotspot' or 'physical', not 'diag'"):
        th.grid_model(flp, PARAMS, 4, 4, lateral="diag")


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
    power = np.array([3.0, 0.0, 0.0, 0.0])
    with pytest.raises(
        InputError,
        match=r"leakage: thermal runaway: temperature and leakage power do not converge; block 'b0_0' passed 2000 K after \d+ iterations",
    ):
        th.steady_block(model, power, leakage=lambda t: 50.0 * np.exp((t - 300.0) / 5.0))


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
    with pytest.raises(InputError, match="integrator: integrator must be 'be' or 'exact', not 'rk4'"):
        th.transient_grid(model, np.ones((1, 4)), 300.0, integrator="rk4")
    with pytest.raises(InputError, match="dt_s: time steps must be positive"):
        th.transient_grid(model, np.ones((1, 4)), 300.0, dt_s=0.0)
    with pytest.raises(InputError, match="grid rows and columns should both be greater than zero"):
        th.grid_model(square(2), PARAMS, rows=0, cols=4)


def test_model_imports_no_hdl_or_cosim():
    code = "import sys, systolic.model.thermal, systolic.model.floorplan, systolic.model.dtm; print('amaranth' in sys.modules, 'cocotb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# --------------------------------------------------------------------------- layer files (3-D stacks)

#: HotSpot 6 (its SuperLU build, in build/peers/hotspot) on the inputs of
#: ex3_3d_inputs, run as its cmd.txt says: .ttrace rows, then the steady temperatures of the blocks of the
#: two power-dissipating layers (layer_0_*, layer_2_*), %.2f. "detailed" is cmd.txt (-detailed_3D on),
#: "plain" the same without -detailed_3D. The reference folder holds the inputs only.
EX3_HOTSPOT = {
    "plain": (
        "322.30 320.91 324.46 319.94 319.97 320.87 325.99 329.02 328.01 325.92 324.94 323.90 322.97 321.36 324.38 327.54 337.71 331.08 324.45 331.11 327.16",
        "322.61 321.41 324.74 320.23 320.32 321.28 325.24 327.56 326.70 325.65 324.47 323.62 322.85 321.61 324.10 326.81 333.95 329.39 324.38 329.22 326.59",
        "337.39 334.86 340.13 334.23 333.98 335.80 341.78 344.87 343.56 342.36 340.57 339.33 338.22 336.48 339.89 343.21 351.90 346.57 340.63 346.66 343.51",
    ),
    "detailed": (
        "324.04 321.87 326.76 321.10 320.98 322.56 329.06 332.68 331.40 329.78 327.90 326.57 325.37 323.42 327.36 331.18 341.70 335.05 327.96 335.26 331.24",
        "326.05 323.45 329.12 322.69 322.54 324.73 330.81 333.97 332.68 332.51 329.86 328.57 327.34 325.54 329.44 332.94 340.08 336.00 330.68 336.19 333.71",
        "352.63 346.15 357.38 346.16 346.17 350.02 363.62 368.37 364.95 365.51 360.06 357.16 354.39 350.75 357.32 361.79 369.42 367.02 361.67 368.33 366.57",
    ),
}


def ex3(detailed: bool):
    from systolic.formats.hotspot import read_lcf, trace_in_stack_order

    d = REF / "ex3_3d_inputs"
    materials = read_materials(d / "example.materials")
    params = thermal_params(read_hotspot_config(d / "example.config"), materials)
    params = params.replace(model_type="grid", detailed_3D_used=detailed)
    model = th.grid_model(None, params, layers=read_lcf(d / "example.lcf", materials))
    trace = read_ptrace(d / "example.ptrace")
    power = trace_in_stack_order(trace, [model.layers[i].floorplan for i in model.power_layers], "ptrace")
    return model, power, params


@pytest.mark.parametrize("kind", ["plain", "detailed"])
def test_layer_file_matches_hotspot(kind):
    model, power, params = ex3(kind == "detailed")
    assert model.n_layers == 6 and model.power_layers == (0, 2) and not model.uniform
    assert model.power_names[:4] == ("Unit1", "Unit2", "Unit3", "L2_left")
    ref = np.array([row.split() for row in EX3_HOTSPOT[kind]], dtype=float)
    steady = th.steady_grid(model, power.mean(axis=0))
    assert np.abs(steady.power_k - ref[2]).max() < 0.006
    result = th.transient_grid(model, power, params.init_temp_k)
    assert np.abs(result.power_k - ref[:2]).max() < 0.006  # the trace lists the blocks in stack order
    names = th.grid_node_names(model)
    assert names[:2] == ("layer_0_Unit1", "layer_0_Unit2") and names[-13:-11] == ("hsink_ITB", "inode_0")
    assert len(names) == len(steady.nodes_k) == 3 + 3 + 18 + 18 + 18 + 18 + 12


def test_layer_file_of_the_default_stack_gives_the_default_model(tmp_path):
    from systolic.formats.hotspot import read_lcf

    flp = square(3)
    p = PARAMS.replace(grid_map_mode="avg")
    (tmp_path / "a.flp").write_text(
        "".join(
            f"{n}\t{w}\t{h}\t{x}\t{y}\n"
            for n, w, h, x, y in zip(
                flp.names, flp.width_m, flp.height_m, flp.left_m, flp.bottom_m, strict=True
            )
        )
    )
    (tmp_path / "stack.lcf").write_text(
        f"# silicon\n0\nY\nY\n{p.p_chip_j_m3k}\n{1 / p.k_chip_w_mk}\n{p.t_chip_m}\na.flp\n"
        f"# interface\n1\nY\nN\n{p.p_interface_j_m3k}\n{1 / p.k_interface_w_mk}\n{p.t_interface_m}\na.flp\n"
    )
    layered = th.grid_model(None, p, rows=12, cols=12, layers=read_lcf(tmp_path / "stack.lcf"))
    default = th.grid_model(flp, p, rows=12, cols=12)
    power = np.linspace(0.5, 4.0, 9)
    a, b = th.steady_grid(layered, power), th.steady_grid(default, power)
    np.testing.assert_allclose(a.nodes_k, b.nodes_k, rtol=0, atol=1e-9)
    ta = th.transient_grid(layered, np.tile(power, (3, 1)), 300.0)
    tb = th.transient_grid(default, np.tile(power, (3, 1)), 300.0)
    np.testing.assert_allclose(ta.power_k, tb.blocks_k[:, 0], rtol=0, atol=1e-9)
    assert th.grid_node_names(layered)[0] == "layer_0_b0_0" and th.grid_node_names(default)[0] == "b0_0"


def test_detailed_3d_needs_a_layer_file_and_the_grid_model():
    p = PARAMS.replace(detailed_3D_used=True)
    with pytest.raises(InputError, match="detailed_3D: detailed 3-D modelling can only be used in 3-D mode"):
        th.grid_model(square(2), p, rows=4, cols=4)
    with pytest.raises(InputError, match="detailed_3D: detailed 3-D modelling needs the grid model"):
        th.block_model(square(2), p)


def test_layers_must_cover_the_same_die():
    small = square(2, side_mm=4.0)
    big = square(2, side_mm=5.0)
    layers = [th.Layer(small, 100.0, 1.75e6, 1e-4, power=True), th.Layer(big, 4.0, 4e6, 2e-5)]
    with pytest.raises(
        InputError, match="grid_layer_file: width and height differ across layers: layer 1 is 5 x 5 mm"
    ):
        th.grid_model(None, PARAMS, rows=4, cols=4, layers=layers)
    with pytest.raises(InputError, match="grid_layer_file: no layer dissipates power"):
        th.grid_model(None, PARAMS, rows=4, cols=4, layers=[th.Layer(small, 100.0, 1.75e6, 1e-4)])


# --------------------------------------------------------------------------- leakage coupled to temperature


def one_block() -> Floorplan:
    return Floorplan(("core",), [4e-3], [4e-3], [0.0], [0.0])


def test_linear_leakage_on_one_block_has_a_closed_form():
    # T = T_amb + R (P + a + b (T - T0))  =>  T = (T_amb + R (P + a - b T0)) / (1 - R b)
    model = th.block_model(one_block(), PARAMS)
    r_th = float(th.steady_block(model, np.array([1.0]))[0] - PARAMS.ambient_k)  # K/W, the model is linear
    p_w, a_w, b_w_k, t0 = 5.0, 1.0, 0.02, 300.0
    assert r_th * b_w_k < 1  # converges
    closed = (PARAMS.ambient_k + r_th * (p_w + a_w - b_w_k * t0)) / (1 - r_th * b_w_k)
    leak = lambda t: a_w + b_w_k * (t - t0)  # noqa: E731
    temps = th.steady_block(model, np.array([p_w]), leakage=leak)
    assert temps[0] == pytest.approx(closed, abs=th.LEAK_TOL_K)
    grid = th.grid_model(one_block(), PARAMS, rows=8, cols=8, map_mode="avg")
    r_grid = float(th.steady_grid(grid, np.array([1.0])).power_k[0] - PARAMS.ambient_k)
    closed_grid = (PARAMS.ambient_k + r_grid * (p_w + a_w - b_w_k * t0)) / (1 - r_grid * b_w_k)
    assert th.steady_grid(grid, np.array([p_w]), leakage=leak).power_k[0] == pytest.approx(
        closed_grid, abs=th.LEAK_TOL_K
    )


def test_linear_leakage_past_the_loop_gain_of_one_runs_away():
    model = th.block_model(one_block(), PARAMS)
    r_th = float(th.steady_block(model, np.array([1.0]))[0] - PARAMS.ambient_k)
    b_w_k = 1.5 / r_th  # loop gain 1.5: every iteration adds more heat than the package removes
    with pytest.raises(InputError, match="leakage: thermal runaway: .* block 'core' passed 2000 K"):
        th.steady_block(model, np.array([5.0]), leakage=lambda t: b_w_k * (t - 300.0))


def test_transient_leakage_is_re_evaluated_every_row():
    model = th.block_model(one_block(), PARAMS)
    leak = lambda t: 1.0 * np.exp((np.asarray(t) - 300.0) / 20.0)  # noqa: E731
    power = np.full((400, 1), 4.0)
    coupled, _ = th.transient_modal(th.block_modal(model), power, 300.0, 1.0, leakage=leak)
    plain, _ = th.transient_modal(th.block_modal(model), power, 300.0, 1.0)
    assert np.all(np.diff(coupled[:, 0] - plain[:, 0]) >= -1e-12)  # leakage grows as the block heats
    assert coupled[-1, 0] > plain[-1, 0] + 0.5
    # by the end it has settled on the steady fixed point
    steady = th.steady_block(model, power[0], leakage=leak)
    assert coupled[-1, 0] == pytest.approx(steady[0], abs=0.05)


def test_exponential_leakage_doubles_every_20_k():
    leak = th.exponential_leakage(np.array([1.0, 2.0]))
    np.testing.assert_allclose(leak(np.array([298.15, 318.15])), [1.0, 4.0])


# --------------------------------------------------------------------------- modal transients and runs


def test_modal_transient_is_the_matrix_exponential():
    model = th.block_model(square(3), PARAMS)
    power = np.random.default_rng(3).uniform(0, 3, (20, 9))
    exact = th.transient_block(model, power, 310.0, dt_s=0.01)
    modal = th.block_modal(model)
    temps, final = th.transient_modal(modal, power, 310.0, 0.01)
    np.testing.assert_allclose(temps, exact[:, :9], atol=1e-8)
    np.testing.assert_allclose(final, exact[-1], atol=1e-8)
    dts = np.where(np.arange(20) % 2 == 0, 0.01, 0.03)  # rows of different lengths
    np.testing.assert_allclose(
        th.transient_modal(modal, power, 310.0, dts)[0],
        th.transient_block(model, power, 310.0, dts)[:, :9],
        atol=1e-8,
    )
    np.testing.assert_allclose(modal.steady_k(power[0]), th.steady_block(model, power[0]), atol=1e-8)


def test_thermal_run_peak_and_names():
    flp = square(2)
    power = np.zeros((50, 4))
    power[20:30, 3] = 8.0  # a burst in block b1_1
    names = ("b1_1", "b0_0", "b0_1", "b1_0")
    run = th.thermal_run(flp, power[:, [3, 0, 1, 2]], 1e-3, names, init="ambient")
    assert run.peak_block == "b1_1" and run.peak_time_s == pytest.approx(30e-3)
    assert run.peak_k == pytest.approx(run.transient_k.max()) and run.peak_row == 29
    assert run.steady_k.shape == (4,) and run.steady_nodes_k.shape == (4 * 4 + 12,)
    assert int(np.argmax(run.steady_k)) == 3
    with pytest.raises(
        InputError, match=r"power: block names do not match the floorplan \(not in it: x; missing: b1_0\)"
    ):
        th.thermal_run(flp, power, 1e-3, ("b1_1", "b0_0", "b0_1", "x"))
    with pytest.raises(InputError, match="power: power must be finite and non-negative"):
        th.thermal_run(flp, -power - 1, 1e-3)


def test_grid_transient_keeps_the_field_of_the_peak_row():
    model = th.grid_model(square(2), PARAMS, rows=4, cols=4)
    power = np.zeros((6, 4))
    power[2, 1] = 50.0  # a pulse: the end of row 2 is the hottest moment
    result = th.transient_grid(model, power, 300.0, keep="peak")
    assert list(result.kept_rows) == [2]
    full = th.transient_grid(model, power, 300.0, keep=True)
    np.testing.assert_array_equal(result.fields_k[0], full.fields_k[2])
    with pytest.raises(InputError, match="keep: keep must be a bool, 'peak' or row numbers, not 'max'"):
        th.transient_grid(model, power, 300.0, keep="max")
