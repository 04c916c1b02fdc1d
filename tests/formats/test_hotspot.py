"""systolic/formats/hotspot.py: HotSpot's file formats, read and written, and every bad input's message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from systolic.errors import InputError
from systolic.formats import hotspot as io
from systolic.model.floorplan import Floorplan

#: HotSpot 6's runs on its own examples and on systolic's cases (inputs, cmd.txt, outputs; see its README.md).
REF = Path(__file__).resolve().parents[1] / "data" / "hotspot"

FLP = """# two blocks
a\t0.001\t0.002\t0\t0

b 0.001 0.002 0.001 0.0
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def two_blocks() -> Floorplan:
    return Floorplan(
        ("a", "b"), np.array([1e-3, 1e-3]), np.array([2e-3, 2e-3]), np.array([0, 1e-3]), np.zeros(2)
    )


# --------------------------------------------------------------------------- floorplans


def test_read_flp(tmp_path):
    f = io.read_flp(write(tmp_path, "x.flp", FLP))
    assert f.names == ("a", "b")
    np.testing.assert_allclose(f.left_m, [0, 1e-3])


def test_flp_round_trip(tmp_path):
    f = two_blocks()
    path = io.write_flp(tmp_path / "o.flp", f, comment="made here")
    assert path.read_text().startswith("# made here\n")
    again = io.read_flp(path)
    assert again.names == f.names
    np.testing.assert_array_equal(again.width_m, f.width_m)


def test_flp_extra_columns_and_connectivity_are_ignored(tmp_path):
    text = FLP.replace("a\t0.001\t0.002\t0\t0", "a 0.001 0.002 0 0 1.6e6 0.01") + "a b 1.0\n"
    assert io.read_flp(write(tmp_path, "x.flp", text)).n_blocks == 2


def test_read_reference_flp():
    f = io.read_flp(REF / "ex1_block_steady/ev6.flp")
    assert f.n_blocks == 30 and f.names[0] == "L2_left"
    assert (f.chip_width_m, f.chip_height_m) == pytest.approx((0.016, 0.016))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a 0.001 0.002 0\n",
            r"x.flp: line 1: expected 'name width height left-x bottom-y' \(5 fields\), found 4",
        ),
        ("a 0.001 wide 0 0\n", "x.flp: line 1: height must be a number, not 'wide'"),
        ("a 0.001 -0.002 0 0\n", "x.flp: line 1: block 'a': height must be positive, not -0.002"),
        ("# nothing\n", "x.flp: no units specified in the floorplan file"),
        (
            "a 0.001 0.002 0 0\nb 0.001 0.002 0.0005 0\n",
            "x.flp: blocks 'a' and 'b' overlap at x=0.5 mm, y=0 mm",
        ),
        ("a 0.001 0.002 0 0\nb 0.001 0.001 0.001 0\n", "x.flp: gap: no block covers x=1..2 mm, y=1..2 mm"),
        ("a 0.001 0.002 0 0\nA 0.001 0.002 0.001 0\n", "x.flp: block name 'A' appears twice"),
    ],
)
def test_flp_errors(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        io.read_flp(write(tmp_path, "x.flp", text))


# --------------------------------------------------------------------------- traces


def test_ptrace_round_trip_and_floorplan_order(tmp_path):
    path = io.write_ptrace(tmp_path / "p.ptrace", ["b", "a"], np.array([[1.0, 2.0], [3.0, 4.5]]))
    assert path.read_text() == "b\ta\n1.000000\t2.000000\n3.000000\t4.500000\n"
    trace = io.read_ptrace(path)
    assert trace.names == ("b", "a")
    np.testing.assert_array_equal(
        io.trace_in_floorplan_order(trace, two_blocks(), path), [[2.0, 1.0], [4.5, 3.0]]
    )


def test_ttrace_format():
    assert io.format_trace(["x", "y"], np.array([[300.004, 301.0]])) == "x\ty\n300.00\t301.00\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a b\n1 -2\n", "p.ptrace: line 2, b: power must not be negative, not -2"),
        ("a b\n1 x\n", "p.ptrace: line 2, b: power must be a number, not 'x'"),
        ("a b\n1 nan\n", "p.ptrace: line 2, b: power must be a finite number, not 'nan'"),
        ("a b\n1 2 3\n", "p.ptrace: line 2: 3 values for 2 blocks in the header"),
        ("a b\n", "p.ptrace: no power numbers in trace file"),
        ("", "p.ptrace: empty file: expected a header of block names"),
        ("a a\n1 2\n", "p.ptrace: header: block 'a' appears twice in the header"),
        ("1 2\n1 2\n", "p.ptrace: line 1: the header must name the blocks, found the number '1'"),
    ],
)
def test_ptrace_errors(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        io.read_ptrace(write(tmp_path, "p.ptrace", text))


def test_ptrace_names_must_match_floorplan(tmp_path):
    path = write(tmp_path, "p.ptrace", "a c\n1 2\n")
    trace = io.read_ptrace(path)
    with pytest.raises(
        InputError,
        match=r"p.ptrace: header: trace names do not match the floorplan \(not in the floorplan: c; missing from the trace: b\)",
    ):
        io.trace_in_floorplan_order(trace, two_blocks(), path)


# --------------------------------------------------------------------------- steady and init files


def test_steady_round_trip(tmp_path):
    path = io.write_steady(tmp_path / "s", ["a", "iface_a"], np.array([330.126, 320.0]))
    assert path.read_text() == "a\t330.13\niface_a\t320.00\n"
    names, values = io.read_steady(path)
    assert names == ("a", "iface_a")
    np.testing.assert_array_equal(values, [330.13, 320.0])


def test_read_init_orders_by_node_names(tmp_path):
    path = write(tmp_path, "i.init", "B 2\na 1\n")
    np.testing.assert_array_equal(io.read_init(path, ["a", "b"]), [1.0, 2.0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a 1\n", "i.init: not enough lines in temperature file: missing b"),
        ("a 1\nb 2\nc 3\n", r"i.init: node 'c' is not in the model \(expected a, b\)"),
        ("a 1\na 2\n", "i.init: node 'a' appears twice"),
        ("a 1 2\n", "i.init: line 1: expected 'name temperature', found 3 fields"),
        ("a -1\n", "i.init: line 1, a: negative temperature -1"),
    ],
)
def test_init_errors(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        io.read_init(write(tmp_path, "i.init", text), ["a", "b"])


# --------------------------------------------------------------------------- grid files


def test_grid_round_trip(tmp_path):
    field = np.arange(2 * 2 * 3, dtype=float).reshape(2, 2, 3) + 300.0
    path = io.write_grid_steady(tmp_path / "g", field)
    assert path.read_text().startswith("Layer 0:\n0\t300.00\n1\t301.00\n")
    np.testing.assert_array_equal(io.read_grid(path, 6), field.reshape(2, 6))
    path = io.write_grid_transient(tmp_path / "gt", [(0.0, field), (0.01, field + 1)])
    assert path.read_text().startswith("t = 0.000000\nLayer 0:\n")
    steps = io.read_grid_transient(path, 6)
    assert [t for t, _ in steps] == [0.0, 0.01]
    np.testing.assert_array_equal(steps[1][1], field.reshape(2, 6) + 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Layer 0:\n0\t300\n2\t301\n", "g: line 3: expected '1<TAB>temperature'"),
        ("0\t300\n", "g: line 1: expected 'Layer 0:' before the first cell"),
        ("Layer 1:\n", "g: line 1: expected 'Layer 0:'"),
        ("Layer 0:\n0\t300\nLayer 1:\n", r"g: every layer must have 1 cells, found \[0, 1\]"),
    ],
)
def test_grid_errors(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        io.read_grid(write(tmp_path, "g", text))


# --------------------------------------------------------------------------- config and materials


def test_config_first_occurrence_wins_and_comments(tmp_path):
    path = write(
        tmp_path,
        "c.config",
        "# comment\n-t_chip 0.0002  # thick\n\n-T_CHIP 0.0003\n-fin_height 0.03 # ignored key\n",
    )
    settings = io.read_hotspot_config(path)
    assert settings["t_chip"].value == "0.0002"
    assert settings["t_chip"].where == "line 2"
    assert io.thermal_params(settings).t_chip_m == 0.0002


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-t_chipp 1\n", "c.config: line 1: unknown config key '-t_chipp'"),
        ("t_chip 1\n", "c.config: line 1: expected '-name value', found 't_chip 1'"),
        ("-t_chip\n", "c.config: line 1: '-t_chip' has no value"),
        ("-t_chip 1 2\n", "c.config: line 1: unexpected text after the value of '-t_chip': '2'"),
    ],
)
def test_config_errors(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        io.read_hotspot_config(write(tmp_path, "c.config", text))


def test_config_value_errors(tmp_path):
    with pytest.raises(InputError, match="c.config: line 1, -t_chip: t_chip must be a number, not 'thin'"):
        io.thermal_params(io.read_hotspot_config(write(tmp_path, "c.config", "-t_chip thin\n")))
    with pytest.raises(
        InputError,
        match="c.config: line 1, -grid_rows: invalid format for configuration parameter grid_rows: 'many'",
    ):
        io.thermal_params(io.read_hotspot_config(write(tmp_path, "c.config", "-grid_rows many\n")))
    with pytest.raises(
        InputError,
        match=r"c.config: line 1, -material_chip: material 'unobtainium' not found \(known: none; give -materials_file\)",
    ):
        io.thermal_params(io.read_hotspot_config(write(tmp_path, "c.config", "-material_chip unobtainium\n")))


def test_reference_config_and_materials():
    d = REF / "ex2_grid_steady"
    materials = io.read_materials(d / "example.materials")
    assert materials["silicon"] == io.Material("silicon", False, 130.0, 1630300.0)
    assert materials["water"].fluid and materials["water"].viscosity_pa_s == 8.89e-4
    params = io.thermal_params(io.read_hotspot_config(d / "example.config"), materials)
    assert (params.k_chip_w_mk, params.p_chip_j_m3k) == (130.0, 1630300.0)
    assert (params.k_sink_w_mk, params.k_spreader_w_mk, params.p_sink_j_m3k) == (237.0, 237.0, 2.422e6)
    assert (params.grid_rows, params.grid_map_mode, params.sampling_intvl_s) == (64, "avg", 0.01)
    assert params.ambient_k == params.init_temp_k == 318.15


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gold\nmetal\n300\n2.5e6\n", "m: line 2: invalid material type 'metal': must be solid or fluid"),
        ("gold\nsolid\n-300\n2.5e6\n", "m: line 3: thermal conductivity must be non-negative, not -300"),
        ("gold\nsolid\nhot\n2.5e6\n", "m: line 3: thermal conductivity must be a number, not 'hot'"),
        ("gold\nsolid\n300\n", "m: line 1: material 'gold' is incomplete at the end of the file"),
        ("gold\n", "m: line 1: material 'gold' ends before its type"),
        ("g\nsolid\n1\n2\ng\nsolid\n1\n2\n", "m: line 5: material 'g' is defined twice"),
    ],
)
def test_materials_errors(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        io.read_materials(write(tmp_path, "m", text))


def test_vocabulary_stays_light():
    code = "import sys, systolic.formats.hotspot; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --------------------------------------------------------------------------- layer configuration files

LCF = """# silicon
0
Y
Y
1.75e6
0.01
0.00015
two.flp

# a material stands for the heat capacity and the resistivity
1
N
n
copper
2.0e-05
two.flp
"""


def test_read_lcf(tmp_path):
    write(tmp_path, "two.flp", FLP)
    materials = {"copper": io.Material("copper", False, 400.0, 3.55e6)}
    layers = io.read_lcf(write(tmp_path, "stack.lcf", LCF), materials)  # floorplan found beside the lcf
    assert [(la.lateral, la.power) for la in layers] == [(True, True), (False, False)]
    assert layers[0].k_w_mk == pytest.approx(100.0) and layers[0].p_j_m3k == 1.75e6
    assert (layers[1].k_w_mk, layers[1].p_j_m3k, layers[1].thickness_m) == (400.0, 3.55e6, 2e-5)
    assert layers[0].floorplan.names == ("a", "b")
    # layers may come in any order; the result is ordered by layer number
    swapped = LCF.split("# a material")
    text = "# a material" + swapped[1] + swapped[0]
    layers = io.read_lcf(write(tmp_path, "swapped.lcf", text), materials)
    assert layers[0].power and not layers[1].power


def test_flp_per_block_columns_for_3d(tmp_path):
    flp, sh, res = io.read_flp_rc(
        write(tmp_path, "c.flp", "a 0.001 0.002 0 0 1.5e6 0.02\nb 0.001 0.002 0.001 0\n")
    )
    assert flp.names == ("a", "b")
    assert sh[0] == 1.5e6 and res[0] == 0.02 and np.isnan(sh[1]) and np.isnan(res[1])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x\n", "s.lcf: line 1: invalid layer number 'x'"),
        ("0\nY\nQ\n", "s.lcf: line 3: invalid power dissipation flag 'Q': use Y or N"),
        ("0\nY\nY\n1.75e6\n", "s.lcf: line 1: layer 0 ends before its resistivity"),
        ("0\nY\nY\n1.75e6\n-1\n", "s.lcf: line 5: resistivity must be positive, not -1"),
        (
            "0\nY\nY\nunobtainium\n",
            "s.lcf: line 4: 'unobtainium' is neither a specific heat nor a known material (known: none; give -materials_file)",
        ),
        ("0\nY\nY\n1.75e6\n0.01\n0\ntwo.flp\n", "s.lcf: line 6: thickness must be positive, not 0"),
        ("0\nY\nY\n1.75e6\n0.01\n1e-4\nnone.flp\n", "none.flp: no such file"),
        (
            "0\nY\nY\n1.75e6\n0.01\n1e-4\ntwo.flp\n0\nY\nN\n4e6\n0.25\n2e-5\ntwo.flp\n",
            "s.lcf: line 8: layer numbers must be unique: 0 appears twice",
        ),
        (
            "1\nY\nY\n1.75e6\n0.01\n1e-4\ntwo.flp\n",
            "s.lcf: layer numbers must be 0..0 for 1 layers; missing 0",
        ),
        ("# nothing\n", "s.lcf: no layers in the layer configuration file"),
    ],
)
def test_lcf_errors(tmp_path, text, message):
    write(tmp_path, "two.flp", FLP)
    with pytest.raises(InputError) as err:
        io.read_lcf(write(tmp_path, "s.lcf", text))
    assert str(err.value).endswith(message)


def test_trace_in_stack_order(tmp_path):
    one = two_blocks()
    other = Floorplan(("x",), [2e-3], [2e-3], [0.0], [0.0])
    trace = io.Trace(("b", "a", "x"), np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(io.trace_in_stack_order(trace, [one, other], "p"), [[2.0, 1.0, 3.0]])
    bad = io.Trace(("x", "a", "b"), np.array([[1.0, 2.0, 3.0]]))
    with pytest.raises(
        InputError,
        match=r"p: header: columns 1..2 \(power layer 0\): trace names do not match the floorplan \(not in the floorplan: x; missing from the trace: b\)",
    ):
        io.trace_in_stack_order(bad, [one, other], "p")
