"""systolic/flow/chip_sweep.py (``systolic sweep`` with ``kind = "chip"``): every point equal to the chip
run on its own, the axes, and spec errors."""

from __future__ import annotations

import json

import pytest

from systolic.chip_config import load_chip
from systolic.errors import InputError
from systolic.flow.chip import chip_run
from systolic.flow.chip_sweep import point_chip
from systolic.flow.sweep import design_points, load_spec, run_sweep
from systolic.formats.calibration import load_calibration
from systolic.formats.network import load_workload

CHIP = """name = "c"
[chip]
rows = 1
cols = 2
tile = "small-8x8"
[dram]
channels = 2
words_per_cycle = 4
"""
SPEC = """kind = "chip"
chip = "chip.toml"
network = "net.csv"
mappings = 20
items = 3
[space]
cols = [1, 2]
array_rows = [4, 8]
link_words_per_cycle = [2]
"""
NET = "Layer,M,N,K,\nfc1,64,16,27,\nfc2,64,32,64,\nfc3,16,10,64,\n"


@pytest.fixture
def spec(tmp_path):
    (tmp_path / "chip.toml").write_text(CHIP)
    (tmp_path / "net.csv").write_text(NET)
    (tmp_path / "s.toml").write_text(SPEC)
    return tmp_path / "s.toml"


def test_points_equal_the_chip_run(spec, tmp_path):
    from dask.distributed import LocalCluster

    s = load_spec(spec)
    assert [k for k, _ in s.space] == ["cols", "array_rows", "link_words_per_cycle"]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as c:
        summary = run_sweep(s, tmp_path / "out", scheduler=c.scheduler_address, progress=False)
    assert summary["points"] == 4 and summary["feasible"] == 4
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "out" / "points.parquet").to_pylist()
    wl, cal = load_workload(str(tmp_path / "net.csv")), load_calibration()[0]
    for row, point in zip(table, design_points(s), strict=True):
        chip = point_chip(s.chip, point)
        r = chip_run(chip, wl, s.opts, cal)
        assert row["makespan_s"] == pytest.approx(r.chosen.makespan_cycles[0] / chip.clock_hz, rel=1e-12)
        assert row["energy_j"] == pytest.approx(r.chosen.energy_pj[0] * 1e-12, rel=1e-12)
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["kind"] == "chip"


def test_axes_change_the_chip(spec):
    base = load_chip(spec.parent / "chip.toml")
    chip = point_chip(base, {"rows": 2, "array_cols": 4, "link_words_per_cycle": 16})
    assert chip.tiles == 4 and chip.tile.cols == 4 and chip.link_words_per_cycle == 16


def test_a_point_whose_channels_leave_no_lane_is_refused(spec):
    base = load_chip(spec.parent / "chip.toml")
    per_channel = base.replace(rows=8, cols=8).tiles_per_channel
    with pytest.raises(InputError, match="dram_words_per_cycle: 1 words per cycle cannot give each of the"):
        point_chip(base, {"rows": 8, "cols": 8, "dram_words_per_cycle": 1})
    assert per_channel > 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[space]", "[space]\nbanks = [2]"), "space.banks: not a chip sweep axis"),
        (("cols = [1, 2]", "cols = [0]"), "space.cols: value 0: must be a positive integer"),
        (('chip = "chip.toml"', 'chip = "nope.toml"'), "chip: no such chip file 'nope.toml'"),
        (("items = 3", "items = 0"), "items: must be an integer of at least 1, not 0"),
    ],
)
def test_spec_errors(spec, change, message):
    from systolic.errors import InputError

    spec.write_text(SPEC.replace(*change))
    with pytest.raises(InputError) as err:
        load_spec(spec)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_sweep_over_the_time_budget_is_refused(spec, tmp_path):
    from systolic.errors import InputError

    spec.write_text(SPEC.replace("mappings = 20", 'mappings = 20\nmode = "random"\nsamples = 100000'))
    with pytest.raises(InputError, match=r"the sweep \(100,000 points\)"):
        run_sweep(load_spec(spec), tmp_path / "big", progress=False)
    assert not (tmp_path / "big").exists()  # refused before any work
