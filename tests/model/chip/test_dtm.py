"""Per-tile DTM (model/chip/dtm.py): DVFS holds a limit the unmanaged run exceeds, at a cost."""

from __future__ import annotations

import pytest

from systolic.model.chip import dtm
from systolic.model.chip import mapping as mp
from systolic.model.chip import thermal as th
from systolic.model.chip.costs import tile_costs
from systolic.model.cycles import GemmArrays

from .conftest import small_net


@pytest.fixture(scope="module")
def setup(chip2x2, tile, calibration):
    chip = chip2x2.replace(dram_words_per_cycle=64)
    costs = tile_costs(tile, GemmArrays.from_workload(small_net()), 4, calibration=calibration)
    maps = mp.pipelined(chip, costs)
    return chip, costs, maps, th.influence_k_per_w(chip)


def test_dvfs_holds_a_limit_the_unmanaged_run_exceeds(setup):
    chip, costs, maps, r = setup
    free = dtm.unmanaged(chip, costs, maps, 6, 400.0, intervals=40)
    amb = th.default_params().ambient_k
    limit = amb + 0.8 * (free.thermal.peak_k - amb)
    base = dtm.unmanaged(chip, costs, maps, 6, limit, intervals=40)
    assert not base.held
    managed = dtm.per_tile_dvfs(chip, costs, maps, 6, limit, base, r, intervals=40)
    assert managed.held and managed.thermal.peak_k <= limit
    assert managed.makespan_s > base.makespan_s  # slower
    assert managed.transitions > 0 and (managed.levels < managed.levels.max()).any()


def test_migration_keeps_the_nominal_point(setup):
    chip, costs, maps, r = setup
    base = dtm.unmanaged(chip, costs, maps, 6, 400.0, intervals=40)
    moved = dtm.migration(chip, costs, maps, 6, base.thermal.peak_k - 1e-3, base, r, intervals=40)
    assert moved.transitions == 0
    assert sorted(moved.evaluation.maps.order[0].tolist()) == [0, 1, 2, 3]
