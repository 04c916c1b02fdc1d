"""``systolic thermal``: HotSpot's command lines give HotSpot's files; bad input gives one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from systolic.cli.common import EXIT_BAD_INPUT, Parser
from systolic.cli.thermal import add as add_thermal
from systolic.errors import InputError

from .one_line import refused

#: HotSpot 6's runs on its own examples and on systolic's cases (inputs, cmd.txt, outputs; see its README.md).
REF = Path(__file__).resolve().parents[1] / "data" / "hotspot"


def thermal(*argv: str) -> tuple[int, str]:
    """Run ``systolic thermal ARGV`` as ``systolic.cli.main`` would: (exit status, error message)."""
    parser = Parser(prog="systolic")
    add_thermal(parser.add_subparsers(dest="command", required=True, parser_class=Parser))
    try:
        args = parser.parse_args(["thermal", *argv])
        return int(args.func(args) or 0), ""
    except InputError as err:
        return EXIT_BAD_INPUT, str(err)


def copy_case(name: str, dest: Path) -> Path:
    shutil.copytree(REF / name, dest / name)
    return dest / name


def ttrace(path: Path) -> np.ndarray:
    return np.loadtxt(path, skiprows=1)


def test_block_steady_and_transient_same_files_as_hotspot(tmp_path, monkeypatch):
    case = copy_case("ex1_block_steady_and_transient_from_init_temp", tmp_path)
    monkeypatch.chdir(case)
    # cmd.txt of the case, with the output names changed
    code, err = thermal(
        "-c", "example.config", "-f", "ev6.flp", "-p", "gcc.ptrace", "-materials_file", "example.materials",
        "-model_type", "block", "-steady_file", "out.steady", "-o", "out.ttrace",
    )  # fmt: skip
    assert code == 0, err
    assert Path("out.steady").read_text() == Path("gcc.steady").read_text()
    assert Path("out.ttrace").read_text().splitlines()[0] == Path("gcc.ttrace").read_text().splitlines()[0]
    assert np.abs(ttrace(Path("out.ttrace")) - ttrace(Path("gcc.ttrace"))).max() <= 0.0100001


def test_block_transient_from_init_file(tmp_path, monkeypatch):
    monkeypatch.chdir(copy_case("ex1_block_transient_from_steady_init", tmp_path))
    code, err = thermal(
        "-c", "example.config", "-init_file", "gcc.init", "-f", "ev6.flp", "-p", "gcc.ptrace",
        "-materials_file", "example.materials", "-model_type", "block", "-o", "out.ttrace",
    )  # fmt: skip
    assert code == 0, err
    assert np.abs(ttrace(Path("out.ttrace")) - ttrace(Path("gcc.ttrace"))).max() <= 0.0100001


def test_grid_be_byte_identical_to_hotspot(tmp_path, monkeypatch):
    monkeypatch.chdir(copy_case("ex2_grid_transient", tmp_path))
    code, err = thermal(
        "-c", "example.config", "-f", "ev6.flp", "-p", "gcc.ptrace", "-materials_file", "example.materials",
        "-model_type", "grid", "-steady_file", "out.steady", "-grid_steady_file", "out.grid.steady",
        "-o", "out.ttrace",
    )  # fmt: skip
    assert code == 0, err
    for ours, theirs in (
        ("out.steady", "gcc.steady"),
        ("out.grid.steady", "gcc.grid.steady"),
        ("out.ttrace", "gcc.ttrace"),
    ):
        assert Path(ours).read_text() == Path(theirs).read_text(), ours


def test_long_spellings_and_overrides(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(copy_case("ex2_grid_steady", tmp_path))
    code, err = thermal(
        "--config", "example.config", "--flp", "ev6.flp", "--ptrace", "gcc.ptrace", "--materials", "example.materials",
        "--model", "grid", "--grid-rows", "16", "--grid-cols", "16", "-grid_map_mode", "center", "-ambient", "300",
    )  # fmt: skip
    assert code == 0, err
    out = capsys.readouterr()
    assert "grid 16x16 model, 30 blocks, 100 trace rows" in out.err
    # nothing was written, so the steady block temperatures go to stdout
    lines = out.out.splitlines()
    assert len(lines) == 30 and lines[0].startswith("L2_left\t")
    assert all(float(line.split("\t")[1]) > 300 for line in lines)


def test_arch_floorplan_and_exact_integrator(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = thermal("--arch", "small-8x8", "--tile", "4x4", "--write-flp", "arch.flp")
    assert code == 0, err
    names = [
        line.split()[0] for line in Path("arch.flp").read_text().splitlines() if not line.startswith("#")
    ]
    assert names == [
        "pe_t0_0",
        "pe_t0_1",
        "pe_t1_0",
        "pe_t1_1",
        "ifmap_sram",
        "filter_sram",
        "ofmap_sram",
        "ctrl",
        "dram_if",
    ]
    power = np.vstack([np.full(len(names), 0.05), np.full(len(names), 0.2)])
    Path("p.ptrace").write_text(
        "\t".join(names) + "\n" + "\n".join("\t".join(map(str, r)) for r in power) + "\n"
    )
    code, err = thermal(
        "-f", "arch.flp", "-p", "p.ptrace", "-model_type", "grid", "-grid_rows", "8", "-grid_cols", "8",
        "-sampling_intvl", "0.01", "-o", "t.ttrace", "--integrator", "exact", "-grid_transient_file", "g.tt",
        "-steady_file", "s.steady", "-d", "dump.config",
    )  # fmt: skip
    assert code == 0, err
    temps = ttrace(Path("t.ttrace"))
    assert temps.shape == (2, len(names)) and np.all(temps[1] > temps[0])
    assert Path("g.tt").read_text().count("t = ") == 2
    assert "-sampling_intvl\t0.01" in Path("dump.config").read_text()
    # the dumped config reads back
    code, err = thermal("-c", "dump.config", "-f", "arch.flp", "-p", "p.ptrace", "-steady_file", "s2.steady")
    assert code == 0, err


def test_block_model_ignores_grid_files(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    thermal("--arch", "small-8x8", "--write-flp", "a.flp")
    names = [line.split()[0] for line in Path("a.flp").read_text().splitlines() if not line.startswith("#")]
    Path("p.ptrace").write_text("\t".join(names) + "\n" + "\t".join(["0.1"] * len(names)) + "\n")
    code, err = thermal("-f", "a.flp", "-p", "p.ptrace", "-grid_steady_file", "g", "-steady_file", "s")
    assert code == 0, err
    assert "warning: ignoring -grid_steady_file because the grid model is not used" in capsys.readouterr().err
    assert not Path("g").exists() and Path("s").exists()


@pytest.mark.parametrize(
    ("files", "argv", "message"),
    [
        ({}, ["-p", "x.ptrace"], "systolic thermal: a floorplan is needed: -f FLP or --arch ARCH"),
        (
            {"a.flp": "a 0.001 0.001 0 0\n"},
            ["-f", "a.flp"],
            "systolic thermal: required parameter -p (power trace) missing",
        ),
        (
            {"a.flp": "a 0.001 0.001 0 0\n"},
            ["-f", "a.flp", "--arch", "small-8x8", "-p", "x"],
            "give a floorplan (-f) or an architecture (--arch), not both",
        ),
        (
            {"a.flp": "a 0.001 0.001 0 0\n", "p": "b\n1\n"},
            ["-f", "a.flp", "-p", "p"],
            "p: header: trace names do not match the floorplan (not in the floorplan: b; missing from the trace: a)",
        ),
        (
            {"a.flp": "a 0.001 0.001 0 0\n", "p": "a\n-1\n"},
            ["-f", "a.flp", "-p", "p"],
            "p: line 2, a: power must not be negative, not -1",
        ),
        (
            {"a.flp": "a 0.001 0.001 0 0\n", "p": "a\n1\n", "c": "-sampling_interval 0.1\n"},
            ["-c", "c", "-f", "a.flp", "-p", "p"],
            "c: line 1: unknown config key '-sampling_interval'",
        ),
        (
            {"a.flp": "a 0.001 0.001 0 0\n", "p": "a\n1\n"},
            ["-f", "a.flp", "-p", "p", "-grid_layer_file", "x.lcf"],
            "command line: -grid_layer_file: a layer file needs -model_type grid",
        ),
        (
            {"a.flp": "a 0.001 0.001 0 0\n", "p": "a\n1\n"},
            ["-f", "a.flp", "-p", "p", "-model_secondary", "1"],
            "thermal config: model_secondary: the secondary heat path is not supported; set it to 0",
        ),
        (
            {"a.flp": "a 0.001 0.001 0 0\n", "p": "a\n1\n"},
            ["-f", "a.flp", "-p", "p", "-model_type", "mesh"],
            "invalid model type 'mesh'. use 'block' or 'grid'",
        ),
        (
            {"a.flp": "a 0.001 0.001 0 0\n", "p": "a\n1\n", "i": "a 300\n"},
            ["-f", "a.flp", "-p", "p", "-init_file", "i", "-o", "t"],
            "i: not enough lines in temperature file: missing iface_a",
        ),
        (
            {},
            ["--arch", "small-8x8", "--tile", "4by4", "--write-flp", "x"],
            "--tile: expected ROWSxCOLS, e.g. 4x4, not '4by4'",
        ),
        ({}, ["--integrator", "rk4"], "systolic thermal: argument --integrator: invalid choice: 'rk4'"),
        (
            {
                "a.flp": "a 0.001 0.001 0 0\n",
                "s.lcf": "0\nY\nY\n1.75e6\n0.01\n0.00015\na.flp\n",
                "p": "a\tb\n1\t1\n",
            },
            ["-p", "p", "-grid_layer_file", "s.lcf", "-model_type", "grid"],
            "p: header: the trace has 2 columns; the power-dissipating layers have 1 = 1 blocks",
        ),
        (
            {"a.flp": "a 0.001 0.001 0 0\n", "p": "a\n1\n"},
            ["-f", "a.flp", "-p", "p", "-detailed_3D", "on", "-model_type", "grid"],
            "thermal config: detailed_3D: detailed 3-D modelling can only be used in 3-D mode",
        ),
    ],
)
def test_errors(tmp_path, monkeypatch, files, argv, message):
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        Path(name).write_text(text)
    code, err = thermal(*argv)
    assert code == EXIT_BAD_INPUT
    assert message in err
    assert "\n" not in err


# --------------------------------------------------------------------------- layer files and heatmaps

#: HotSpot 6 on ex3_3d_inputs exactly as its cmd.txt says (the .ttrace it writes; the reference folder
#: holds the inputs only, see tests/model/test_thermal.py for the steady values).
EX3_TTRACE = (
    "Unit1\tUnit2\tUnit3\tL2_left\tL2\tL2_right\tIcache\tDcache\tBpred\tDTB\tFPAdd\tFPReg\tFPMul\tFPMap\tIntMap\tIntQ\tIntReg\tIntExec\tFPQ\tLdStQ\tITB\n"
    "324.04\t321.87\t326.76\t321.10\t320.98\t322.56\t329.06\t332.68\t331.40\t329.78\t327.90\t326.57\t325.37\t323.42\t327.36\t331.18\t341.70\t335.05\t327.96\t335.26\t331.24\n"
    "326.05\t323.45\t329.12\t322.69\t322.54\t324.73\t330.81\t333.97\t332.68\t332.51\t329.86\t328.57\t327.34\t325.54\t329.44\t332.94\t340.08\t336.00\t330.68\t336.19\t333.71\n"
)


def test_layer_file_3d_stack_same_ttrace_as_hotspot(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(copy_case("ex3_3d_inputs", tmp_path))
    code, err = thermal(
        "-c", "example.config", "-p", "example.ptrace", "-grid_layer_file", "example.lcf",
        "-materials_file", "example.materials", "-model_type", "grid", "-detailed_3D", "on",
        "-o", "example.ttrace", "-steady_file", "example.steady", "--png", "ex3.png",
    )  # fmt: skip
    assert code == 0, err
    assert Path("example.ttrace").read_text() == EX3_TTRACE
    steady = Path("example.steady").read_text().splitlines()
    assert steady[0] == "layer_0_Unit1\t352.63" and steady[-1].startswith("inode_11\t")
    assert "4 layers (detailed 3-D)" in capsys.readouterr().err
    assert Path("ex3.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("model", ["block", "grid"])
def test_png_heatmap_is_deterministic(tmp_path, monkeypatch, model):
    monkeypatch.chdir(tmp_path)
    thermal("--arch", "small-8x8", "--tile", "4x4", "--write-flp", "a.flp")
    names = [line.split()[0] for line in Path("a.flp").read_text().splitlines() if not line.startswith("#")]
    rows = np.random.default_rng(5).uniform(0.01, 0.3, (6, len(names)))
    Path("p.ptrace").write_text(
        "\t".join(names) + "\n" + "\n".join("\t".join(f"{v:.4f}" for v in r) for r in rows) + "\n"
    )
    argv = ["-f", "a.flp", "-p", "p.ptrace", "-model_type", model, "-grid_rows", "16", "-grid_cols", "16",
            "-sampling_intvl", "0.001", "-o", "t.ttrace"]  # fmt: skip
    assert thermal(*argv, "--png", "one.png")[0] == 0
    assert thermal(*argv, "--heatmap", "two.png")[0] == 0
    one = Path("one.png").read_bytes()
    assert one[:8] == b"\x89PNG\r\n\x1a\n" and one == Path("two.png").read_bytes()
    assert b"Software" not in one and b"tIME" not in one


def test_run_thermal_for_systolic_run(tmp_path):
    from systolic.config import load_arch
    from systolic.flow.thermal import thermal_section
    from systolic.model.floorplan import floorplan_for

    cfg = load_arch("small-8x8", {})
    flp = floorplan_for(cfg)
    power = np.random.default_rng(2).uniform(0.0, 0.4, (80, flp.n_blocks))
    power[30:40, 0] = 3.0  # a hot burst in pe_t0_0
    names = tuple(reversed(flp.names))
    result = thermal_section(cfg, power[:, ::-1], 1e-3, names, png=tmp_path / "t.png")
    assert result.run.peak_block == "pe_t0_0" and 30e-3 <= result.run.peak_time_s <= 41e-3
    assert result.dtm is None and result.png.read_bytes()[:4] == b"\x89PNG"
    limit = (result.run.peak_k + float(result.run.steady_k.max())) / 2
    managed = thermal_section(
        cfg, power[:, ::-1], 1e-3, names, limit_k=limit, leakage=np.full(flp.n_blocks, 1e-3)
    )
    assert managed.dtm.held and managed.dtm.peak_k < managed.dtm.unmanaged_peak_k
    assert managed.dtm.time_cost_s > 0
    summary = managed.summary()
    assert summary["dtm"]["held"] is True and summary["peak_block"] == "pe_t0_0"
    assert managed.lines()[0].startswith("thermal: peak ") and "held" in managed.lines()[1]
    # the hot spot is a PE tile, so "auto" throttles the array: the same run as region="array"
    auto = thermal_section(
        cfg, power[:, ::-1], 1e-3, names, limit_k=limit, leakage=np.full(flp.n_blocks, 1e-3), region="auto"
    )
    assert auto.summary() == summary
    with pytest.raises(
        InputError, match="dtm: region must be 'array', 'chip', 'auto' or block names, not 'pe'"
    ):
        thermal_section(cfg, power, 1e-3, flp.names, limit_k=limit, region="pe")


# --------------------------------------------------------------------------- issue 17: refused in one line

FLP = "a 0.005 0.005 0 0\nb 0.005 0.005 0.005 0\nc 0.005 0.005 0 0.005\nd 0.005 0.005 0.005 0.005\n"
PTRACE = "a\tb\tc\td\n1.0\t2.0\t0.5\t0.0\n2.0\t1.0\t0.5\t0.1\n"


@pytest.mark.parametrize(
    ("argv", "files", "message"),
    [
        (["-o", "a.ptrace"], {}, "-o: a.ptrace: is also an input (a.ptrace); give another output"),
        (["-steady_file", "a.flp"], {}, "-steady_file: a.flp: is also an input (a.flp); give another output"),
        (["-o", "d"], {"d": None}, "-o: d: is a folder, not a file"),
        (["--png", "d"], {"d": None}, "--png: d: is a folder, not a file"),
        (["-o", "a.flp/x"], {}, "-o: a.flp/x: 'a.flp' is a file, not a folder"),
        (["-o", "x", "-steady_file", "x"], {}, "-steady_file: names the same file as -o (x)"),
        (
            ["-init_temp", "-1", "-o", "x"],
            {},
            "thermal config: init_temp: must be a temperature above 0 K and at",
        ),
        (
            ["-init_temp", "0", "-o", "x"],
            {},
            "thermal config: init_temp: must be a temperature above 0 K and at",
        ),
        (
            ["-ambient", "0"],
            {},
            "thermal config: ambient: must be a temperature above 0 K and at most 2000 K",
        ),
        (["-t_chip", "1e-300"], {}, "thermal config: t_chip: must be in 1e-09..10 m, not 1e-300"),
        (
            ["-model_type", "grid", "-grid_rows", "5000", "-grid_cols", "5000"],
            {},
            "-grid_rows: the 5000x5000 grid model of 2 layers needs about 662 GiB of memory",
        ),
        (
            ["-p", "h.ptrace"],
            {"h.ptrace": PTRACE.replace("1.0\t2.0", "1e308\t1e308")},
            "h.ptrace: the steady state overflows in block 'a', which no chip does (limit 2000 K)",
        ),
        (
            ["-f", "t.flp"],
            {"t.flp": "a 1e-300 1e-300 0 0\n", "a.ptrace": "a\n1\n"},
            "t.flp: block 'a': width must be between 1e-09 and 1 m, not 1e-300 m",
        ),
        (
            ["-model_type", "grid", "-grid_rows", "٤"],
            {},
            "command line: -grid_rows: invalid format for configuration",
        ),
    ],
)
def test_refused_in_one_line(tmp_path, capsys, argv, files, message):
    base = {"a.flp": FLP, "a.ptrace": PTRACE, **files}
    got = refused(tmp_path, capsys, ["thermal", "-f", "a.flp", "-p", "a.ptrace", *argv], base)
    assert got.startswith(message), got


def test_floorplan_of_an_absurd_array(tmp_path, capsys):
    argv = ["thermal", "--arch", "small-8x8", "--set", "rows=4096", "--set", "cols=4096", "--tile", "1x1"]
    message = refused(tmp_path, capsys, [*argv, "--write-flp", "x.flp"])
    assert message == (
        "--tile: a floorplan of 16,777,221 blocks needs about 9.38 GiB of memory (limit 4 GiB); --force to run "
        "anyway"
    )
