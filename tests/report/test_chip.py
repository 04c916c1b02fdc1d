"""The chip report (systolic/report/chip.py): three charts, the same bytes for the same run."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_gantt_rows_fill_where_the_states_are():
    from systolic.report.chip import STATES, _gantt_chart

    chip = ChipConfig("c", 1, 2, load_arch("small-8x8"), "small-8x8", dram_words_per_cycle=4)
    wl = Workload("w", tuple(Layer(f"l{i}", 64, 16 * (i + 1), 32) for i in range(3)))
    r = chip_run(chip, wl, ChipOptions(items=3, thermal=False), load_calibration()[0])
    g, ch = r.gantt, _gantt_chart(r.gantt, chip)
    filled = {state: 0.0 for state in STATES}
    for op in ch.ops:  # ("stairs", edges, lo, hi, colour, dash): filled time = where hi is above lo
        _, edges, lo, hi, colour, _ = op
        state = next(k for k, v in STATES.items() if v == colour)
        filled[state] += float((np.diff(edges) * (hi > lo)).sum()) * 1e-3
    totals = {k: float((v * g.tiles).sum()) for k, v in g.totals_s().items()}  # one row per tile
    assert filled["busy"] == pytest.approx(totals["busy"], rel=1e-9)
    assert filled["starved"] == pytest.approx(totals["starved"], rel=1e-9)
