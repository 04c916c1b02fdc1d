"""The share table (model/chip/costs.py) is the single-array model on every share."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.model.chip.costs import tile_costs
from systolic.model.cycles import GemmArrays
from systolic.model.energy import layer_energy
from systolic.model.memory import memory_cycles

from .conftest import small_net


@pytest.fixture(scope="module")
def costs(tile, calibration):
    return tile_costs(tile, GemmArrays.from_workload(small_net()), 4, calibration=calibration)


def test_share_table_is_the_single_array_model(tile, costs, calibration):
    g = GemmArrays.from_workload(small_net())
    for layer, tiles in ((0, 1), (1, 3), (3, 4)):
        split_n = bool(costs.split_n[layer, tiles - 1])
        m = g.m[layer] if split_n else -(-g.m[layer] // tiles)
        n = -(-g.n[layer] // tiles) if split_n else g.n[layer]
        share = GemmArrays.of(m, n, g.k[layer])
        one = memory_cycles(tile, share)
        assert costs.cycles[layer, tiles - 1] == one.cycles[0]
        e = layer_energy(tile, share, one, calibration=calibration)
        assert costs.dynamic_pj[layer, tiles - 1] == pytest.approx(e.dynamic_pj.sum(), rel=1e-12)
        assert costs.weight_words[layer, tiles - 1] == g.k[layer] * n


def test_the_kept_split_is_the_faster(tile, costs):
    g = GemmArrays.from_workload(small_net())
    for tiles in (2, 3):
        by_m = memory_cycles(tile, GemmArrays.of(-(-g.m // tiles), g.n, g.k)).cycles
        by_n = memory_cycles(tile, GemmArrays.of(g.m, -(-g.n // tiles), g.k)).cycles
        np.testing.assert_array_equal(costs.cycles[:, tiles - 1], np.minimum(by_m, by_n))


def test_die_energy_leaves_the_dram_devices_out(costs):
    assert np.all(costs.die_pj <= costs.dynamic_pj) and np.all(costs.die_pj > 0)
    assert costs.leak_w > 0 and costs.filter_words == 4096
