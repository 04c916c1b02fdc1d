"""Mappings and their evaluation (model/chip/mapping.py, costs.py)."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.chip_config import single_tile_chip
from systolic.model.chip import mapping as mp
from systolic.model.chip.costs import tile_costs
from systolic.model.cycles import GemmArrays
from systolic.model.energy import layer_energy
from systolic.model.network import network_run

from .conftest import small_net


@pytest.fixture(scope="module")
def costs(chip2x2, calibration):
    return tile_costs(chip2x2.lane_tile(), GemmArrays.from_workload(small_net()), 4, calibration=calibration)


@pytest.mark.parametrize("arch", ["small-8x8", "ws-32x32"])
def test_a_single_tile_chip_is_todays_machine(arch, calibration):
    from systolic.config import load_arch

    cfg = load_arch(arch)
    wl = small_net()
    chip = single_tile_chip(cfg)
    c = tile_costs(cfg, GemmArrays.from_workload(wl), 1, calibration=calibration)
    for items in (1, 3):
        ev = mp.evaluate(chip, c, mp.sequential(chip, len(wl)), items)
        net = network_run(cfg, wl)
        e = layer_energy(cfg, net.gemm, net.memory, calibration=calibration)
        # a layer's start cycle (the RTL's, hdl/chip.py) on top of the single-array model's layer cycles
        starts = items * len(wl) * mp.LAYER_START_CYCLES
        assert ev.makespan_cycles[0] == items * net.memory.cycles.sum() + starts
        leak_pj = c.leak_w * starts / c.clock_hz * 1e12  # the tile leaks through those cycles too
        assert ev.energy_pj[0] == pytest.approx(items * e.energy_pj.sum() + leak_pj, rel=1e-12)


def test_random_mappings_are_valid_and_seeded(chip2x2, costs):
    maps = mp.random_mappings(chip2x2, costs, 200, seed=5)
    again = mp.random_mappings(chip2x2, costs, 200, seed=5)
    np.testing.assert_array_equal(maps.order, again.order)
    stages = maps.stages
    assert np.all(np.diff(maps.stage_of, axis=1) >= 0) and np.all(np.diff(maps.stage_of, axis=1) <= 1)
    live = np.arange(4)[None, :] < stages[:, None]
    assert np.all(maps.tiles[live] >= 1) and np.all(maps.tiles[~live] == 0)
    assert np.all(maps.tiles.sum(axis=1) <= 4)
    assert np.all(np.sort(maps.order, axis=1) == np.arange(4))
    ts = maps.tile_stage()
    for s in range(4):
        assert np.array_equal((ts == s).sum(axis=1), maps.tiles[:, s])


def test_evaluating_together_or_alone_gives_the_same(chip2x2, costs):
    maps = mp.random_mappings(chip2x2, costs, 30, seed=2)
    all_ = mp.evaluate(chip2x2, costs, maps, 4)
    for i in (0, 7, 29):
        one = mp.evaluate(chip2x2, costs, maps.take(i), 4)
        assert one.makespan_cycles[0] == all_.makespan_cycles[i]
        assert one.energy_pj[0] == pytest.approx(all_.energy_pj[i], rel=1e-12)


def test_pipelining_overlaps_items(chip2x2, costs):
    pipe = mp.balanced(chip2x2, costs, 4)
    assert pipe.stages[0] == 4
    one, many = mp.evaluate(chip2x2, costs, pipe, 1), mp.evaluate(chip2x2, costs, pipe, 8)
    # the steady state adds the slowest stage per item, not the whole line
    per_item = (many.makespan_cycles[0] - one.makespan_cycles[0]) / 7
    assert per_item == pytest.approx(many.line.service[0].max(), rel=0.05)
    assert per_item < one.latency_cycles[0]


def test_a_deeper_fifo_never_slows_the_line(chip2x2, costs):
    maps = mp.random_mappings(chip2x2, costs, 50, seed=9)
    shallow = mp.evaluate(chip2x2.replace(fifo_depth=1), costs, maps, 6)
    deep = mp.evaluate(chip2x2.replace(fifo_depth=4), costs, maps, 6)
    assert np.all(deep.makespan_cycles <= shallow.makespan_cycles)


def test_less_dram_bandwidth_never_speeds_up(chip2x2, costs, calibration):
    maps = mp.random_mappings(chip2x2, costs, 50, seed=1)
    wide = mp.evaluate(chip2x2, costs, maps, 4)
    narrow_chip = chip2x2.replace(dram_words_per_cycle=2)  # lane 1 instead of 2
    narrow_costs = tile_costs(
        narrow_chip.lane_tile(), GemmArrays.from_workload(small_net()), 4, calibration=calibration
    )
    narrow = mp.evaluate(narrow_chip, narrow_costs, maps, 4)
    assert np.all(narrow.makespan_cycles >= wide.makespan_cycles)
    assert np.any(narrow.makespan_cycles > wide.makespan_cycles)


def test_a_narrow_channel_gives_every_stage_the_single_array_cycles_at_the_lane(tile, calibration):
    """4 tiles of 4 words on one channel of 4 words: a lane of 1 word each; every stage's service is
    the single-array model of its layers at 1 word per cycle (the RTL's tiles are built so)."""
    from systolic.chip_config import ChipConfig
    from systolic.model.memory import memory_cycles

    wl = small_net()
    chip = ChipConfig("narrow", 2, 2, tile, tile.name, dram_channels=1, dram_words_per_cycle=4)
    assert chip.lane_words_per_cycle == 1 and tile.dram_bw_words_per_cycle == 4
    gemm = GemmArrays.from_workload(wl)
    c = tile_costs(chip.lane_tile(), gemm, 4, calibration=calibration)
    maps = mp.balanced(chip, c, 4)
    ev = mp.evaluate(chip, c, maps, 3)
    lane = memory_cycles(tile.replace(dram_bw_words_per_cycle=1), gemm).cycles
    own = memory_cycles(tile, gemm).cycles
    for s in range(4):
        layers = np.flatnonzero(maps.stage_of[0] == s)
        if maps.tiles[0, s] == 1:
            assert ev.stage_cycles[0, s] == sum(lane[x] + mp.LAYER_START_CYCLES for x in layers)
    one_tile = maps.tiles[0, : int(maps.stages[0])] == 1
    assert one_tile.any()
    assert lane.sum() > own.sum()  # the channel is the bottleneck: the lane costs cycles


def test_pipelined_is_the_best_balanced_cut(chip2x2, costs):
    best = mp.evaluate(chip2x2, costs, mp.pipelined(chip2x2, costs, 6), 6).makespan_cycles[0]
    for stages in (2, 3, 4):
        assert best <= mp.evaluate(chip2x2, costs, mp.balanced(chip2x2, costs, stages), 6).makespan_cycles[0]
