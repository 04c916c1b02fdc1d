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
    costs = tile_costs(chip.lane_tile(), GemmArrays.from_workload(small_net()), 4, calibration=calibration)
    maps = mp.balanced(chip, costs, 4)
    return chip, costs, maps, th.influence_k_per_w(chip)


def problem(setup, limit_k: float) -> dtm.Problem:
    chip, costs, maps, r = setup
    return dtm.Problem(chip, costs, maps, 6, limit_k, r, intervals=40)


def test_dvfs_holds_a_limit_the_unmanaged_run_exceeds(setup):
    free = dtm.unmanaged(problem(setup, 400.0))
    amb = th.default_params().ambient_k
    limit = amb + 0.8 * (free.thermal.peak_k - amb)
    p = problem(setup, limit)
    base = dtm.unmanaged(p)
    assert not base.held
    managed = dtm.per_tile_dvfs(p, base)
    assert managed.held and managed.thermal.peak_k <= limit
    assert managed.makespan_s > base.makespan_s  # slower
    assert managed.transitions > 0 and (managed.levels < managed.levels.max()).any()


def test_migration_keeps_the_nominal_point(setup):
    base = dtm.unmanaged(problem(setup, 400.0))
    moved = dtm.migration(problem(setup, base.thermal.peak_k - 1e-3), base)
    assert moved.transitions == 0
    assert sorted(moved.evaluation.maps.order[0].tolist()) == [0, 1, 2, 3]
