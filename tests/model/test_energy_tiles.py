"""Energy by tile: each tile's statistics from its own operands, used to place a layer's energy in time."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.errors import InputError
from systolic.model import energy as en
from systolic.model import power
from systolic.model.cycles import GemmArrays
from systolic.model.memory import memory_cycles

from .small_configs import small_cfg


def _ones() -> en.Calibration:
    """Every regressor's coefficient 1: the tests do not depend on what ``make calibrate`` fitted."""
    coeffs = np.zeros((len(en.DATAFLOWS), len(en.COMPONENT_CLASSES), en.N_TOGGLE_FEATURES))
    for j, cls in enumerate(en.COMPONENT_CLASSES):
        coeffs[:, j, : len(en.TOGGLE_FEATURES[cls])] = 1.0
    return en.Calibration(coeffs)


def _case(dataflow: str = "ws"):
    """Two equal tiles (M split in two); A's first tile is all zeros, its second random."""
    cfg = small_cfg(ifmap_sram_bytes=128, filter_sram_bytes=128, ofmap_sram_bytes=512).replace(
        dataflow=dataflow
    )
    gemm = GemmArrays.of(16, 8, 8)
    mem = memory_cycles(cfg, gemm)
    rng = np.random.default_rng(5)
    a = rng.integers(-128, 128, (16, 8))
    a[:8] = 0
    b = rng.integers(-128, 128, (8, 8))
    return cfg, gemm, mem, a, b


def test_tile_stats_are_the_stats_of_each_tiles_blocks():
    cfg, gemm, mem, a, b = _case()
    tiles = mem.schedule.tiles
    got = en.tile_stats(cfg, tiles, [(a, b)])
    assert got.shape == (2, len(en.STAT_COLUMNS))
    for t in range(2):
        m0, mt = int(tiles.m0[t]), int(tiles.mt[t])
        np.testing.assert_array_equal(got[t], en.layer_stats(cfg, a[m0 : m0 + mt], b))
    alone = en.tile_stats(cfg, tiles, [(a, b)], keep="B")  # A taken as zeros
    np.testing.assert_array_equal(alone[1], en.layer_stats(cfg, np.zeros((8, 8), dtype=int), b))
    with pytest.raises(InputError, match="keep must be 'AB', 'A', 'B' or '', not 'C'"):
        en.tile_stats(cfg, tiles, [(a, b)], keep="C")
    with pytest.raises(InputError, match="one \\(A, B\\) pair per layer: 1 layers, 2 pairs"):
        en.tile_stats(cfg, tiles, [(a, b), (a, b)])


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_the_layers_statistics_in_every_tile_give_the_layers_energy(dataflow):
    cfg, gemm, mem, a, b = _case(dataflow)
    cal = _ones()
    stats = en.layer_stats(cfg, a, b)
    layer = en.layer_energy(cfg, gemm, mem, calibration=cal, stats=stats).by_activity_pj
    per_tile = en.tile_energy_by_activity(cfg, gemm, mem, calibration=cal, stats=np.stack([stats, stats]))
    np.testing.assert_allclose(per_tile, np.concatenate([layer, layer]), rtol=1e-12)
    with pytest.raises(InputError, match=r"tile statistics must be \[tile, stat\]"):
        en.tile_energy_by_activity(cfg, gemm, mem, calibration=cal, stats=stats[None])


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_a_tile_of_zeros_gets_less_of_the_layers_compute_energy(dataflow):
    cfg, gemm, mem, a, b = _case(dataflow)
    cal = _ones()
    by_activity = en.layer_energy(
        cfg, gemm, mem, calibration=cal, stats=en.layer_stats(cfg, a, b)
    ).by_activity_pj
    st = en.tile_stats(cfg, mem.schedule.tiles, [(a, b)])
    per_tile = en.tile_energy_by_activity(cfg, gemm, mem, calibration=cal, stats=st)
    plain = power.step_work(cfg, gemm, mem.schedule, layer_dynamic_pj=by_activity)
    tiled = power.step_work(cfg, gemm, mem.schedule, layer_dynamic_pj=by_activity, tile_dynamic_pj=per_tile)
    compute, mult = power.FAMILIES.index("compute"), power.COLUMNS.index("mult")
    # steps 1 and 2 compute tiles 0 (zeros) and 1 (random): alike by the layer's statistics...
    assert plain.energy_pj[1, compute, mult] == pytest.approx(plain.energy_pj[2, compute, mult])
    # ...but by its own the zero tile's multipliers switch less: WS streams A into both of their inputs'
    # paths that switch (the held weight changes once per fold), OS streams A on one input and B on the
    # other, IS holds A and streams B (the held operand changes once per fold, B's stream dominates)
    bound = {"ws": 0.2, "os": 0.6, "is": 0.95}[dataflow]
    assert tiled.energy_pj[1, compute, mult] < bound * tiled.energy_pj[2, compute, mult]
    # the layer's energy per family and column is unchanged
    np.testing.assert_allclose(tiled.energy_pj.sum(axis=0), plain.energy_pj.sum(axis=0), rtol=1e-9)
    np.testing.assert_allclose(tiled.ctrl_pj_per_cycle, plain.ctrl_pj_per_cycle, rtol=1e-9)
