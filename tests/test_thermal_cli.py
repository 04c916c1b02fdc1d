"""``systolic thermal``: HotSpot's command lines give HotSpot's files; bad input gives one-line errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from systolic.cli import EXIT_BAD_INPUT, _Parser
from systolic.errors import InputError
from systolic.thermal_cli import add_thermal

REF = Path(
    os.environ.get(
        "SYSTOLIC_HOTSPOT_REF", Path(__file__).resolve().parents[1].parent / "shared/reference/hotspot"
    )
)
needs_ref = pytest.mark.skipif(not REF.is_dir(), reason=f"HotSpot reference runs not found at {REF}")


def thermal(*argv: str) -> tuple[int, str]:
    """Run ``systolic thermal ARGV`` as ``systolic.cli.main`` would: (exit status, error message)."""
    parser = _Parser(prog="systolic")
    add_thermal(parser.add_subparsers(dest="command", required=True, parser_class=_Parser))
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


@needs_ref
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


@needs_ref
def test_block_transient_from_init_file(tmp_path, monkeypatch):
    monkeypatch.chdir(copy_case("ex1_block_transient_from_steady_init", tmp_path))
    code, err = thermal(
        "-c", "example.config", "-init_file", "gcc.init", "-f", "ev6.flp", "-p", "gcc.ptrace",
        "-materials_file", "example.materials", "-model_type", "block", "-o", "out.ttrace",
    )  # fmt: skip
    assert code == 0, err
    assert np.abs(ttrace(Path("out.ttrace")) - ttrace(Path("gcc.ttrace"))).max() <= 0.0100001


@needs_ref
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


@needs_ref
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
            "command line: -grid_layer_file: layer configuration files (3-D stacks) are not supported",
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
