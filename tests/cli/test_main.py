"""The `systolic` command end to end: output, exit status 2 and one-line errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from systolic.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "systolic.cli", *args], capture_output=True, text=True)


def assert_one_line_error(proc: subprocess.CompletedProcess, expected: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("systolic: error: ")
    assert expected in lines[0]


def test_help_lists_commands():
    proc = run("--help")
    assert proc.returncode == 0
    for cmd in ("config", "workload", "hdl", "cosim"):
        assert cmd in proc.stdout


def test_config_show_json(capsys):
    assert main(["config", "show", "ws-32x32", "--format", "json", "--set", "acc_bits=24"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["rows"], data["cols"], data["dataflow"], data["acc_bits"]) == (32, 32, "ws", 24)


def test_config_show_scalesim_round_trip(tmp_path, capsys):
    assert main(["config", "show", "eyeriss", "--format", "scalesim"]) == 0
    path = tmp_path / "eyeriss.cfg"
    path.write_text(capsys.readouterr().out)
    assert main(["config", "show", str(path), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["rows"], data["cols"], data["ifmap_sram_bytes"]) == (12, 14, 36864)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["config", "show", "small-8x8", "--set", "rows=-3"], "--set: rows: rows must be in 1..4096, not -3"),
        (["config", "show", "small-8x8", "--set", "input_bits=40"], "input_bits must be in 2..16, not 40"),
        (["config", "show", "small-8x8", "--set", "weight_bits=0"], "weight_bits must be in 2..16, not 0"),
        (
            ["config", "show", "small-8x8", "--set", "dataflow=rs"],
            "dataflow must be one of os, ws, is, not 'rs'",
        ),
        (["config", "show", "missing.toml"], "missing.toml: no such file"),
        (["config", "show", "nonesuch"], "nonesuch: no such architecture file or name"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["cosim", "--arch", "small-8x8", "--gemm", "4,4"], "--gemm: expected M,N,K, got '4,4'"),
        (["cosim", "--arch", "small-8x8", "--gemm", "0,4,4"], "m must be an integer in 1..65535"),
        (
            ["cosim", "--arch", "small-8x8", "--gemm=-3,4,4"],
            "--gemm: m must be an integer in 1..65535 (the sequencer's 16-bit counters), not -3",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(args, expected):
    assert_one_line_error(run(*args), expected)


def test_malformed_toml_names_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[array]\nrows = = 3\n")
    assert_one_line_error(run("config", "show", str(path)), f"{path}: malformed TOML")


def test_malformed_cfg_names_key(tmp_path):
    path = tmp_path / "broken.cfg"
    path.write_text("[architecture_presets]\nArrayHeight: many\n")
    assert_one_line_error(
        run("config", "show", str(path)),
        f"{path}: [architecture_presets] arrayheight: expected an integer, got 'many'",
    )


def test_workload_show_resnet50_mac_total():
    proc = run("workload", "show", "resnet50")
    assert proc.returncode == 0, proc.stderr
    assert "total: 54 layers, 4,089,184,256 MACs (4.089 G MACs)" in proc.stdout
    assert "layer1.0.conv1" in proc.stdout


def test_workload_show_scalesim_csv(tmp_path):
    path = tmp_path / "net.csv"
    path.write_text("Layer,M,N,K,\r\nfc1,16,32,64,\r\nfc2,16,8,32,\r\n")
    proc = run("workload", "show", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "total: 2 layers, 36,864 MACs" in proc.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Layer,M,N,K,\nfc1,16,x,64,\n", "line 2: N must be an integer, got 'x'"),
        ("Layer,M,N,K,\nfc1,16,0,64,\n", "line 2: n must be a positive integer, not 0"),
        ("Layer,M,N,K,\nfc1,-3,4,64,\n", "line 2: m must be a positive integer, not -3"),
        ("hello,world\n", "unrecognised header"),
        ("", "empty topology"),
    ],
)
def test_workload_show_bad_csv(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    proc = run("workload", "show", str(path))
    assert_one_line_error(proc, f"{path}: ")
    assert expected in proc.stderr


def test_workload_show_bad_onnx(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x00\x01 definitely not a protobuf \xff" * 10)
    assert_one_line_error(run("workload", "show", str(path)), f"{path}: ")


def test_workload_show_unknown_network():
    assert_one_line_error(run("workload", "show", "resnet51"), "resnet51: no such network or file")


def test_workload_bad_parameter():
    assert_one_line_error(run("workload", "show", "gpt2", "--seq-len", "0"), "seq_len")


def test_hdl_writes_verilog_and_lint_waivers(tmp_path):
    out = tmp_path / "ws.v"
    assert (
        main(
            [
                "hdl",
                "--arch",
                "small-8x8",
                "--set",
                "rows=2",
                "--set",
                "cols=3",
                "--set",
                "dataflow=ws",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    text = out.read_text()
    assert "module systolic_top(" in text and "pe_1_2" in text
    assert "lint_off -rule DECLFILENAME" in (tmp_path / "ws.vlt").read_text()
