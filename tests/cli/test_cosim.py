"""``systolic cosim``: options and outputs refused before any simulator starts (issue 17); ``--operands`` and
``--conv-operands`` with ``--energy`` on Icarus (the JSON's energy per class, measured against predicted),
operands of any size travel by file, and bad arrays are one line naming the file and what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from systolic.cli import main

from .one_line import refused


@pytest.mark.parametrize(
    ("argv", "files", "message"),
    [
        (
            ["--gemm", "-1,4,4"],
            {},
            "systolic cosim: argument --gemm: expected one argument (a value that starts with '-' is joined to "
            "its option with '=', e.g. --gemm=-1; or was the value left out?)",
        ),
        (["--gemm", "4,4,4", "--jobs", "0"], {}, "--jobs: must be in 1..64, not 0"),
        (["--gemm", "4,4,4", "--seed=-1"], {}, "--seed: must be in 0..4294967295, not -1"),
        (["--gemm", "4,4,4", "--build-dir", "f"], {"f": "x"}, "--build-dir: f: exists and is not a folder"),
        (["--gemm", "4,4,4", "--json", "d"], {"d": None}, "--json: d: is a folder, not a file"),
        (["--gemm", "٤,4,4"], {}, "--gemm: M, N and K must be integers, got '٤,4,4'"),
        (["--matrix", "default", "--jobs", "0"], {}, "--jobs: must be in 1..64, not 0"),
        (
            ["--gemm", "65535,65535,65535"],
            {},
            "systolic cosim: simulating 65535x65535x65535 on the 8x8 array (4,397,979,402,262 cycles) needs about",
        ),
    ],
)
def test_refused_before_the_simulator(tmp_path, capsys, argv, files, message):
    assert refused(tmp_path, capsys, ["cosim", "--arch", "small-8x8", *argv], files).startswith(message)


BUILD = Path(__file__).resolve().parents[2] / "build" / "test-sim"
ARCH = ["--arch", "small-8x8", "--set", "rows=4", "--set", "cols=4", "--set", "dataflow=ws"]


def _save(tmp_path: Path, name: str, x) -> str:
    path = tmp_path / name
    np.save(path, np.asarray(x))
    return str(path)


BAD = {
    "float": (np.zeros((3, 4)), np.zeros((4, 2), int), "A (M x K) must hold integers, not float64"),
    "3-d": (np.zeros((3, 4, 1), int), np.zeros((4, 2), int), "A (M x K) must be a non-empty 2-D array"),
    "range": (np.full((3, 4), 300), np.zeros((4, 2), int), "values must fit the configured 8-bit signed"),
    "k": (np.zeros((3, 4), int), np.zeros((5, 2), int), "B has 5 rows but A has K = 4 columns"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_operands_are_one_line(tmp_path, capsys, name):
    a, b, message = BAD[name]
    files = f"{_save(tmp_path, 'a.npy', a)},{_save(tmp_path, 'b.npy', b)}"
    assert main(["cosim", *ARCH, "--operands", files, "--energy"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and ".npy" in err[0], err


def test_missing_and_malformed_files(tmp_path, capsys):
    good = _save(tmp_path, "b.npy", np.zeros((4, 2), int))
    assert main(["cosim", *ARCH, "--operands", f"{tmp_path / 'nope.npy'},{good}"]) == 2
    assert "nope.npy: no such file" in capsys.readouterr().err
    (tmp_path / "junk.npy").write_text("junk")
    assert main(["cosim", *ARCH, "--operands", f"{tmp_path / 'junk.npy'},{good}"]) == 2
    assert "junk.npy: not a NumPy .npy array" in capsys.readouterr().err
    assert main(["cosim", *ARCH, "--operands", good]) == 2
    assert "--operands: expected two .npy files separated by a comma" in capsys.readouterr().err
    x = _save(tmp_path, "x.npy", np.zeros((5, 5, 2), int))
    w = _save(tmp_path, "w.npy", np.zeros((3, 3, 3, 4), int))
    assert main(["cosim", *ARCH, "--conv-operands", f"{x},{w}"]) == 2
    assert "w.npy: the filters have 3 channels but the ifmap has 2" in capsys.readouterr().err


TERNARY = ["--set", "weight_bits=2", "--set", "weight_format=ternary"]


def test_ternary_weights_outside_minus_one_to_one_are_one_line(tmp_path, capsys):
    files = (
        f"{_save(tmp_path, 'a.npy', np.ones((3, 4), int))},{_save(tmp_path, 'b.npy', np.full((4, 2), -2))}"
    )
    assert main(["cosim", *ARCH, *TERNARY, "--operands", files]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith(
        "b.npy: B (K x N) values must fit the configured 2-bit ternary format (-1..1), got -2..-2"
    ), err


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_energy_check_of_a_ternary_layer(tmp_path, dataflow):
    """The sign-select PE against the energy model: outputs bit-exact, and the RTL's toggles x energy per
    toggle within 15% of the model in total (the multiplier class keeps its nets, mul_a and mul_b)."""
    rng = np.random.default_rng(4)
    a = np.maximum(rng.normal(0, 30, size=(40, 27)), 0).astype(np.int64)
    b = rng.integers(-1, 1, size=(27, 9), endpoint=True)
    out = tmp_path / "check.json"
    files = f"{_save(tmp_path, 'a.npy', a)},{_save(tmp_path, 'b.npy', b)}"
    arch = [*ARCH[:-1], f"dataflow={dataflow}", *TERNARY]
    code = main(
        ["cosim", *arch, "--operands", files, "--energy", "--json", str(out), "--build-dir", str(BUILD)]
    )
    assert code == 0
    data = json.loads(out.read_text())
    assert data["outputs_match"] and data["cycle_difference"] == 0 and data["extra"]["counts_match"], data
    assert abs(data["extra"]["energy"]["total"]["error"]) < 0.15, data["extra"]["energy"]["total"]


@pytest.mark.slow
@pytest.mark.sim
def test_energy_check_on_given_operands(tmp_path, capsys):
    rng = np.random.default_rng(2)
    a = np.maximum(rng.normal(0, 30, size=(40, 27)), 0).astype(np.int64)  # ReLU-like activations
    b = rng.integers(-60, 60, size=(27, 9))
    out = tmp_path / "check.json"
    files = f"{_save(tmp_path, 'a.npy', a)},{_save(tmp_path, 'b.npy', b)}"
    code = main(
        ["cosim", *ARCH, "--operands", files, "--energy", "--json", str(out), "--build-dir", str(BUILD)]
    )
    assert code == 0
    data = json.loads(out.read_text())
    assert data["outputs_match"] and data["shape"] == {"m": 40, "n": 9, "k": 27}
    energy = data["extra"]["energy"]
    for row in (*energy["classes"].values(), energy["total"]):
        assert row["measured_pj"] > 0 and row["predicted_pj"] > 0
    assert abs(energy["total"]["error"]) < 0.15, energy["total"]
    assert "measured pJ" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.sim
def test_conv_operands_run_their_im2col(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 100, size=(6, 6, 2))
    w = rng.integers(-50, 50, size=(3, 3, 2, 5))
    out = tmp_path / "conv.json"
    files = f"{_save(tmp_path, 'x.npy', x)},{_save(tmp_path, 'w.npy', w)}"
    args = ["--conv-operands", files, "--conv-stride", "2", "--conv-pad", "1", "--energy", "--json", str(out)]
    assert main(["cosim", *ARCH, *args, "--build-dir", str(BUILD)]) == 0
    data = json.loads(out.read_text())
    assert data["shape"] == {"m": 9, "n": 5, "k": 18} and data["outputs_match"]
    assert data["extra"]["energy"]["total"]["measured_pj"] > 0


def test_a_depthwise_layer_of_a_network_is_the_first_gemm_of_its_lowering():
    """--topology-layer on a depthwise layer: the first block GEMM of the config's lowering (checked
    against the direct convolution), one channel's GEMM with group_blocks off."""
    from systolic.cli.cosim import _layer_case
    from systolic.config import load_arch

    cfg = load_arch("small-8x8")
    case = _layer_case(cfg, "mobilenetv2:features.1.depthwise", 0)
    assert case.conv["groups"] == 32 and case.first_group == 0 and case.blocks > 1
    assert (case.n, case.k) == (case.blocks, 9 * case.blocks)
    off = _layer_case(cfg.replace(group_blocks=False), "mobilenetv2:features.1.depthwise", 0)
    assert (off.blocks, off.n, off.k) == (1, 1, 9)


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_energy_check_of_a_natively_read_conv(tmp_path, dataflow):
    """--conv --energy on a layer the RTL reads from its bands: the model predicts that run, not the im2col
    one (whose DRAM words are 2-2.4x as many: predicted DRAM energy was +110% to +136% before the check
    planned the convolution)."""
    out = tmp_path / "conv.json"
    arch = ["--arch", "small-8x8", "--set", f"dataflow={dataflow}", "--set", "conv_native=true"]
    args = ["--conv", "8,8,3,3,8,8,1,1", "--sim", "icarus", "--energy", "--json", str(out)]
    assert main(["cosim", *arch, *args, "--build-dir", str(BUILD)]) == 0
    data = json.loads(out.read_text())
    assert data["outputs_match"] and data["cycle_difference"] == 0 and data["extra"]["counts_match"], data
    energy = data["extra"]["energy"]
    assert abs(energy["classes"]["dram"]["error"]) < 0.05, energy["classes"]["dram"]
    assert abs(energy["total"]["error"]) < 0.05, energy["total"]
