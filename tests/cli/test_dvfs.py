"""``systolic dvfs``: printed timeline and totals, the output directory, determinism, bad input."""

from __future__ import annotations

import json
import re

import pytest

from systolic.cli import main
from systolic.formats.hotspot import read_flp, read_ptrace, trace_in_floorplan_order

from .one_line import refused

SMALL = ["--arch", "small-8x8", "--set", "ifmap_sram_bytes=512", "--set", "filter_sram_bytes=512"]


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.csv"
    path.write_text("Layer,M,N,K,\nfc1,40,20,30,\nfc2,7,5,9,\nfc3,64,64,64,\n")
    return str(path)


def _fastest_ms(net, capsys) -> float:
    assert main(["dvfs", *SMALL, "--topology", net, "--deadline-ms", "1e-9", "--policy", "race"]) == 2
    err = capsys.readouterr().err
    return float(re.search(r"the fastest achievable is ([0-9.e+-]+) ms", err).group(1))


@pytest.mark.parametrize("policy", ["none", "race", "deadline", "activity"])
def test_dvfs_prints_timeline_and_totals(net, capsys, policy):
    fastest = _fastest_ms(net, capsys)
    deadline = 1.5 * fastest
    args = ["dvfs", *SMALL, "--topology", net, "--deadline-ms", f"{deadline}", "--policy", policy]
    assert main([*args, "--interval", "500cycles"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["t_ms", "array_V@MHz", "sram_V@MHz", "dram_if_V@MHz"]
    assert out[0].split()[-1] == "total_W"
    last = out[-1]
    assert f"policy {policy}:" in last and "met" in last and "MISSED" not in last
    assert re.search(r"saved -?[0-9.]+ mJ \(-?[0-9.]+%\)", last)
    if policy == "deadline":
        assert float(re.search(r"saved [0-9.]+ mJ \(([0-9.]+)%\)", last).group(1)) > 5


def test_dvfs_writes_the_output_directory_atomically_and_deterministically(net, tmp_path, capsys):
    fastest = _fastest_ms(net, capsys)
    out = tmp_path / "d"
    args = ["dvfs", *SMALL, "--topology", net, "--deadline-ms", f"{2 * fastest}", "--out", str(out)]
    assert main(args) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".systolic-manifest.json",
        "dvfs.png",
        "floorplan.flp",
        "layers.csv",
        "power.ptrace",
        "summary.json",
        "timeline.csv",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["deadline_met"] and summary["policy"] == "deadline"
    assert summary["energy_j"] < summary["nominal_energy_j"]
    assert summary["time_s"] <= summary["deadline_s"]
    flp = read_flp(out / "floorplan.flp")
    flp = flp[0] if isinstance(flp, tuple) else flp
    power = trace_in_floorplan_order(read_ptrace(out / "power.ptrace"), flp, out / "power.ptrace")
    assert power.shape == (summary["intervals"], flp.n_blocks) and (power >= 0).all()
    timeline = (out / "timeline.csv").read_text().splitlines()
    assert len(timeline) == 1 + summary["intervals"]
    assert len((out / "layers.csv").read_text().splitlines()) == 4
    assert (out / "dvfs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(args) == 0  # replaced whole, byte for byte the same
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_nominal_policy_missing_the_deadline_exits_1(net, capsys):
    fastest = _fastest_ms(net, capsys)
    args = ["dvfs", *SMALL, "--topology", net, "--deadline-ms", f"{fastest * 1.0001}", "--policy", "none"]
    assert main(args) == 1
    assert "MISSED" in capsys.readouterr().out


def test_unreachable_deadline_is_one_line_with_the_fastest_time(net, capsys):
    assert main(["dvfs", *SMALL, "--topology", net, "--deadline-ms", "0.000001"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert re.fullmatch(
        r"systolic: error: --deadline-ms: no operating point meets a deadline of 1e-06 ms: the fastest "
        r"achievable is [0-9.e+-]+ ms \(every domain at its fastest point\)",
        lines[0],
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--deadline-ms", "-1"],
            "systolic: error: --deadline-ms: must be a positive number of milliseconds, not -1",
        ),
        (
            ["--deadline-ms", "1", "--interval", "3 parsecs"],
            "systolic: error: --interval: expected a positive length with a unit (s, ms, us, ns or cycles), "
            "e.g. 10us or 5000cycles, not '3 parsecs'",
        ),
        (
            ["--deadline-ms", "1", "--set", "dvfs_vdd_v=0.9,0.8"],
            "systolic: error: --set: dvfs_vdd_v: dvfs_vdd_v must be strictly increasing, but [0] = 0.9 V is "
            "followed by [1] = 0.8 V",
        ),
        (
            ["--deadline-ms", "1", "--policy", "slow"],
            "systolic: error: systolic dvfs: argument --policy: invalid choice: 'slow'",
        ),
    ],
)
def test_bad_input(net, capsys, extra, message):
    assert main(["dvfs", *SMALL, "--topology", net, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(message)


def test_energy_model_choice_is_recorded(net, tmp_path, capsys):
    fastest = _fastest_ms(net, capsys)
    energies = {}
    for model in ("calibrated", "default"):
        out = tmp_path / model
        args = ["dvfs", *SMALL, "--topology", net, "--deadline-ms", f"{2 * fastest}", "--out", str(out)]
        assert main([*args, "--energy", model]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["energy_model"] == model
        energies[model] = summary["nominal_energy_j"]
    assert "calibrated energy (" in capsys.readouterr().err
    assert energies["calibrated"] != energies["default"]


# --------------------------------------------------------------------------- issue 17: nothing lost, one line


def test_out_keeps_the_users_files(net, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["dvfs", *SMALL, "--topology", net, "--deadline-ms", "1", "--out", str(out)]) == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "timeline.csv").is_file()


@pytest.mark.parametrize(
    ("argv", "files", "message"),
    [
        (["--out", "f/o"], {"f": "x"}, "--out: f/o: 'f' is a file, not a folder"),
        (["--out", "f"], {"f": "x"}, "--out: f: exists and is not a folder"),
        (
            ["--out", "."],
            {},
            "--out: .: holds the input net.csv; give an output folder that holds none of the",
        ),
        (["--interval", "1e9s"], {}, "--interval: 1e+09 s is longer than the whole run (0.001 s)"),
        (["--temperature-c", "300"], {}, "--temperature-c: must be in -73.15..226.85 C, not 300"),
        (
            ["--temperature-c", "40", "--temperature-k", "300"],
            {},
            "systolic dvfs: argument --temperature-k: not allowed with argument --temperature-c",
        ),
        (
            ["--temperature-k", "٣٠٠"],
            {},
            "systolic dvfs: argument --temperature-k: invalid float value: '٣٠٠'",
        ),
    ],
)
def test_refused_before_the_plan(tmp_path, capsys, argv, files, message):
    base = ["dvfs", "--arch", "small-8x8", "--topology", "net.csv", "--deadline-ms", "1"]
    got = refused(tmp_path, capsys, [*base, *argv], {"net.csv": "Layer,M,N,K\nl1,16,16,16\n", **files})
    assert got.startswith(message), got


def test_temperature_in_celsius_is_the_same_plan_as_in_kelvin(net, capsys):
    """``--temperature-c`` (as ``run --temp-limit-c``) and ``--temperature-k`` give the same plan; a hotter
    die leaks more, so the totals move with the temperature."""
    base = ["dvfs", *SMALL, "--topology", net, "--deadline-ms", "1", "--policy", "none"]
    outs = []
    for extra in (["--temperature-c", "85"], ["--temperature-k", "358.15"], ["--temperature-c", "25"]):
        assert main([*base, *extra]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and outs[0] != outs[2]
