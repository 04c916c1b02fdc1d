"""``systolic run`` on a chip (systolic/flow/chip.py): files, determinism, search, DTM and bad input."""

from __future__ import annotations

import json

import pytest

from systolic.cli import main
from systolic.errors import InputError
from systolic.flow.chip import ChipOptions, chip_run

CHIP = """name = "c2x2"
[chip]
rows = 2
cols = 2
tile = "small-8x8"
[dram]
channels = 2
words_per_cycle = 4
"""
NET = "Layer,M,N,K,\nfc1,256,16,27,\nfc2,256,32,144,\nfc3,64,32,288,\nfc4,16,10,64,\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "chip.toml").write_text(CHIP)
    (tmp_path / "net.csv").write_text(NET)
    return str(tmp_path / "chip.toml"), str(tmp_path / "net.csv")


def test_run_writes_the_chip_files_deterministically(files, tmp_path, capsys):
    chip, net = files
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        args = ["run", "--arch", chip, "--topology", net, "--mapping", "search", "--mappings", "50"]
        assert main([*args, "--items", "4", "--out", str(out)]) == 0
        outs.append(out)
    text = capsys.readouterr().out
    assert "search mapping of 4 layers" in text and "best of 52 by throughput" in text
    names = sorted(p.name for p in outs[0].iterdir() if not p.name.startswith("."))
    assert names == ["floorplan.flp", "gantt.csv", "power.csv", "report.html", "summary.json"]
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    s = json.loads((outs[0] / "summary.json").read_text())
    assert s["mapping"]["evaluated"] == 52 and s["total"]["makespan_cycles"] > 0
    assert "thermal" in s and s["thermal"]["peak_k"] > 318
    html = (outs[0] / "report.html").read_text()
    assert 'id="plot-gantt"' in html and 'id="plot-power"' in html and 'id="plot-thermal"' in html
    gantt = (outs[0] / "gantt.csv").read_text().splitlines()
    assert gantt[0] == "tile,stage,item,state,start_s,end_s" and any(",busy," in r for r in gantt)


def test_search_is_at_least_as_good_as_both_fixed_mappings(files, capsys):
    chip, net = files
    cycles = {}
    for mapping in ("sequential", "pipelined", "search"):
        main(
            [
                "run",
                "--arch",
                chip,
                "--topology",
                net,
                "--mapping",
                mapping,
                "--mappings",
                "100",
                "--no-thermal",
            ]
        )
        line = capsys.readouterr().out.splitlines()[0]
        cycles[mapping] = int(line.split(" in ")[-1].split(" cycles")[0].replace(",", ""))
    assert cycles["search"] <= min(cycles["sequential"], cycles["pipelined"])


def test_dtm_lines(files, capsys):
    chip, net = files
    assert main(["run", "--arch", chip, "--topology", net, "--items", "4", "--temp-limit-c", "45.2"]) == 0
    out = capsys.readouterr().out
    assert "DTM none" in out and "DTM dvfs" in out and "DTM migration" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "rows=4"], "--set: not for a chip"),
        (["--policy", "race"], "--policy: not for a chip"),
        (["--items", "0"], "--items: must be an integer of at least 1, not 0"),
    ],
)
def test_chip_refusals(files, capsys, extra, message):
    chip, net = files
    assert main(["run", "--arch", chip, "--topology", net, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_chip_options_refuse_a_mapping_on_an_array(capsys):
    assert main(["run", "--arch", "small-8x8", "--topology", "alexnet", "--mapping", "search"]) == 2
    assert "--mapping: needs a chip" in capsys.readouterr().err


def test_options_checked():
    with pytest.raises(InputError, match="--objective: must be one of"):
        ChipOptions(objective="speed")


@pytest.mark.slow
def test_goal_resnet18_on_the_4x4_chip():
    """Issue 19's goal: >= 1,000 mappings, the best one's power and grid transient, in < 10 s; per-tile
    DVFS holds a limit the unmanaged run exceeds (bench/chip_goal.py prints the same numbers)."""
    import time
    from pathlib import Path

    from systolic.chip_config import load_chip
    from systolic.flow.chip import chip_run
    from systolic.formats.calibration import load_calibration
    from systolic.zoo import resnet18

    chip = load_chip(Path(__file__).resolve().parents[2] / "configs" / "chip-4x4.toml")
    cal = load_calibration()[0]
    start = time.perf_counter()
    r = chip_run(chip, resnet18(), ChipOptions(mapping="search", count=1000), cal)
    assert time.perf_counter() - start < 10.0
    assert r.candidates.maps.count >= 1000 and r.thermal is not None
    limit = r.thermal.peak_k - 0.2
    m = chip_run(chip, resnet18(), ChipOptions(mapping="search", count=1000, temp_limit_k=limit), cal).managed
    assert not m["none"].held and m["dvfs"].held
    assert m["dvfs"].makespan_s > m["none"].makespan_s


def test_search_reports_the_fixed_mappings_it_beat(files):
    from systolic.chip_config import load_chip
    from systolic.formats.calibration import load_calibration
    from systolic.formats.network import load_workload

    chip, net = load_chip(files[0]), load_workload(files[1])
    cal = load_calibration()[0]
    s = chip_run(chip, net, ChipOptions(mapping="search", count=30, thermal=False), cal).summary()
    for name in ("sequential", "pipelined"):
        alone = chip_run(chip, net, ChipOptions(mapping=name, thermal=False), cal).summary()
        assert s["mapping"]["baselines"][name]["makespan_cycles"] == alone["total"]["makespan_cycles"]
        assert s["total"]["makespan_cycles"] <= alone["total"]["makespan_cycles"]
