"""The chip report (systolic/report/chip.py): three charts, the same bytes for the same run."""

from __future__ import annotations

from systolic.chip_config import ChipConfig
from systolic.config import load_arch
from systolic.flow.chip import ChipOptions, chip_run
from systolic.formats.calibration import load_calibration
from systolic.report.chip import chip_html
from systolic.workload import Layer, Workload


def test_chip_report_has_the_charts_and_is_deterministic():
    chip = ChipConfig("c", 2, 2, load_arch("small-8x8"), "small-8x8", dram_words_per_cycle=4)
    wl = Workload("w", tuple(Layer(f"l{i}", 64, 16 * (i + 1), 32) for i in range(3)))
    cal = load_calibration()[0]
    pages = []
    for _ in range(2):
        r = chip_run(chip, wl, ChipOptions(items=3), cal)
        pages.append(chip_html(r.summary(), r.gantt, r.edges_s, r.power_w, r.thermal, chip))
    assert pages[0] == pages[1]
    for key in ("gantt", "power", "thermal"):
        assert f'id="plot-{key}"' in pages[0]
    r = chip_run(chip, wl, ChipOptions(items=3, thermal=False), cal)
    assert 'id="plot-thermal"' not in chip_html(r.summary(), r.gantt, r.edges_s, r.power_w, None, chip)
