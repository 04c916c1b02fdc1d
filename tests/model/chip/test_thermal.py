"""Gantt, per-tile power and temperatures of a chip (model/chip/thermal.py)."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.model.chip import mapping as mp
from systolic.model.chip import thermal as th
from systolic.model.chip.costs import tile_costs
from systolic.model.cycles import GemmArrays
from systolic.model.floorplan import check_tiling

from .conftest import small_net


@pytest.fixture(scope="module")
def run(chip2x2, calibration):
    costs = tile_costs(chip2x2.lane_tile(), GemmArrays.from_workload(small_net()), 4, calibration=calibration)
    return mp.evaluate(chip2x2, costs, mp.balanced(chip2x2, costs, 4), 5)


def test_floorplan_is_the_tile_grid(chip2x2):
    flp = th.chip_floorplan(chip2x2)
    check_tiling(flp)
    assert flp.names == ("tile_0_0", "tile_0_1", "tile_1_0", "tile_1_1")
    assert flp.bottom_m[0] > flp.bottom_m[2]  # row 0 is north


def test_gantt_states_cover_the_run(run):
    g = th.gantt(run, 0)
    totals = g.totals_s()
    assert np.all(totals["busy"] > 0) and np.all(totals["starved"] > 0)  # the pipeline fills and drains
    parts = totals["busy"] + totals["dram"] + totals["blocked"] + totals["starved"]
    np.testing.assert_allclose(parts, g.makespan_s)
    assert np.all(totals["dram"] >= 0)
    assert np.all(g.free_s <= g.start_s) and np.all(g.finish_s <= g.depart_s)


def test_power_trace_keeps_the_energy(run):
    g = th.gantt(run, 0)
    edges = np.linspace(0, g.makespan_s, 101)
    p = th.tile_power_w(g, edges)
    joules = (p * np.diff(edges)[:, None]).sum()
    assert joules == pytest.approx((run.energy_pj[0] - run.offchip_pj[0]) * 1e-12, rel=1e-9)
    assert 0 < run.offchip_pj[0] < run.energy_pj[0]
    np.testing.assert_allclose(p.mean(axis=0), run.tile_power_w[0], rtol=1e-9)


def test_influence_is_symmetric_and_local(chip2x2):
    r = th.influence_k_per_w(chip2x2)
    assert np.all(r > 0)
    np.testing.assert_allclose(r, r.T, rtol=1e-6)
    assert np.all(np.diag(r) > r.max(axis=1) - 1e-12)  # a tile heats itself most


def test_grid_transient_follows_the_power(chip2x2, run):
    g = th.gantt(run, 0)
    edges = np.linspace(0, g.makespan_s, 41)
    p = th.tile_power_w(g, edges)
    cool = th.grid_transient(chip2x2, p, float(edges[1]), cells=16)
    hot = th.grid_transient(chip2x2, 2 * p, float(edges[1]), cells=16)
    amb = th.default_params().ambient_k
    assert cool.peak_k > amb
    assert hot.peak_k - amb == pytest.approx(2 * (cool.peak_k - amb), rel=1e-6)  # linear without leakage
    assert cool.peak_map_k.shape == (16, 16)


def test_the_gantt_dram_stalls_are_the_shares_stall_cycles(chip2x2, calibration):
    narrow = chip2x2.replace(dram_channels=1, dram_words_per_cycle=4)  # 4 tiles on 1 channel: lane 1
    assert narrow.lane_words_per_cycle == 1
    costs = tile_costs(narrow.lane_tile(), GemmArrays.from_workload(small_net()), 4, calibration=calibration)
    ev = mp.evaluate(narrow, costs, mp.balanced(narrow, costs, 4), 3)
    g = th.gantt(ev, 0)
    dram = g.totals_s()["dram"]
    stall = ev.stall_cycles[0, :4]
    assert np.all(stall > 0)
    np.testing.assert_allclose(dram, 3 * stall / ev.clock_hz)
    assert np.all(g.totals_s()["busy"] > 0)
