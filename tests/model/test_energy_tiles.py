"""Energy by tile: each tile's statistics from its own operands, used to place a layer's energy in time."""

from __future__ import annotations

import dataclasses

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
def test_the_tiles_counts_add_up_to_the_layers(dataflow):
    cfg = small_cfg(ifmap_sram_bytes=128, filter_sram_bytes=128, ofmap_sram_bytes=512).replace(
        dataflow=dataflow
    )
    gemm = GemmArrays.of(20, 13, 30)  # partial tiles in every dimension, several K-tiles
    mem = memory_cycles(cfg, gemm)
    assert mem.schedule.tiles.layer.size > 4 and not mem.schedule.tiles.first_k.all()
    own, drain_slots = en.tile_activity_counts(cfg, mem)
    layer = en.activity_counts(cfg, gemm, mem)
    for f in dataclasses.fields(own):
        if f.name in ("cycles", "compute_cycles", "rows", "cols", "bw"):
            continue
        got = np.asarray(getattr(own, f.name)).sum(axis=-1)
        want = np.asarray(getattr(layer, f.name))[..., 0]
        if f.name in ("sram_reads", "sram_read_slots"):  # the drain's reads of the ofmap SRAM kept apart
            got[2] += drain_slots.sum() if f.name == "sram_read_slots" else own.dram_writes.sum()
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f.name)
    # the steps that compute tiles take all the layer's cycles but the prologue and the first (load)
    # and last (drain) steps
    steps = mem.schedule.steps
    np.testing.assert_allclose(own.cycles.sum(), steps.cycles[steps.compute_tile >= 0].sum())


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_the_layers_statistics_in_every_tile_give_the_layers_energy(dataflow):
    cfg, gemm, mem, a, b = _case(dataflow)
    cal = _ones()
    stats = en.layer_stats(cfg, a, b)
    layer = en.layer_energy(cfg, gemm, mem, calibration=cal, stats=stats).by_activity_pj[0]
    per_tile = en.tile_energy_by_activity(cfg, gemm, mem, calibration=cal, stats=np.stack([stats, stats]))
    busy = per_tile.sum(axis=0)  # [activity, class]
    whole, drain, results = (en.ACTIVITIES.index(x) for x in ("whole", "drain", "results"))
    # outside whole (cycles: the layer's include its load and drain steps) the same regressors and counts;
    # the controller's compute cycles overlap from tile to tile
    pe_and_memory = [c for c in range(len(en.COMPONENT_CLASSES)) if en.COMPONENT_CLASSES[c] != "ctrl"]
    np.testing.assert_allclose(
        np.delete(busy, whole, axis=0).sum(axis=0)[pe_and_memory],
        np.delete(layer, whole, axis=0).sum(axis=0)[pe_and_memory],
        rtol=1e-9,
    )
    # the drain's reads of the ofmap SRAM move from the results to the drain
    ofmap = en.COMPONENT_CLASSES.index("ofmap_sram")
    assert busy[drain, ofmap] > layer[drain, ofmap] and busy[results, ofmap] < layer[results, ofmap]
    # with the layer's statistics as the reference nothing changes
    rescaled = en.tile_energy_by_activity(
        cfg, gemm, mem, calibration=cal, stats=np.stack([stats, stats]), layer_stats=stats
    )
    np.testing.assert_allclose(rescaled, per_tile, rtol=1e-12)
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
    compute, mult = power.FAMILIES.index("array"), power.COLUMNS.index("mult")  # the PEs' compute
    # steps 1 and 2 compute tiles 0 (zeros) and 1 (random): alike by the layer's statistics...
    assert plain.energy_pj[1, compute, mult] == pytest.approx(plain.energy_pj[2, compute, mult])
    # ...but by its own the zero tile's multipliers switch less: WS streams A into both of their inputs'
    # paths that switch (the held weight changes once per fold), OS streams A on one input and B on the
    # other, IS holds A and streams B (the held operand changes once per fold, B's stream dominates)
    bound = {"ws": 0.2, "os": 0.6, "is": 0.95}[dataflow]
    assert tiled.energy_pj[1, compute, mult] < bound * tiled.energy_pj[2, compute, mult]
    # the layer's energy per column is unchanged (the tiles' own counts move some between activities)
    np.testing.assert_allclose(tiled.energy_pj.sum(axis=(0, 1)), plain.energy_pj.sum(axis=(0, 1)), rtol=1e-9)
    np.testing.assert_allclose(tiled.ctrl_pj_per_cycle, plain.ctrl_pj_per_cycle, rtol=1e-9)


def test_tile_energy_from_operands():
    cfg, gemm, mem, a, b = _case("ws")
    te = en.tile_energy(cfg, gemm, mem, calibration=_ones(), operands=[(a, b)])
    assert te.by_activity_pj.shape == (2, len(en.ACTIVITIES), len(en.COMPONENT_CLASSES))
    # tile 0's A is all zeros: its A alone fills like nothing at all; tile 1's does not
    alone_a, alone_b, none = te.fill_pj.T
    assert alone_a[0] == pytest.approx(none[0]) and alone_a[1] > 1.1 * none[1]
    assert alone_b[0] > 1.1 * none[0]
    # the layer's energy per activity and class is what the tiles' counts give with the layer's statistics,
    # but the ofmap SRAM's array side, shared between results and drains as the emulation's flips are
    st = en.layer_stats(cfg, a, b)
    alike = en.tile_energy_by_activity(cfg, gemm, mem, calibration=_ones(), stats=np.stack([st, st]))
    got, want = te.by_activity_pj.sum(axis=0), alike.sum(axis=0)
    ofmap = en.COMPONENT_CLASSES.index("ofmap_sram")
    others = [c for c in range(len(en.COMPONENT_CLASSES)) if c != ofmap]
    np.testing.assert_allclose(got[:, others], want[:, others], rtol=1e-9)
    np.testing.assert_allclose(got[:, ofmap].sum(), want[:, ofmap].sum(), rtol=1e-9)


def test_the_array_side_goes_where_the_emulation_puts_its_flips():
    """By hand: the ofmap SRAM's array-side regressor charges a layer total T; with emulated flips
    ``[[1, 0], [1, 2]]`` (results, drain) tile 0's results get T/4, tile 1's results T/4 and its drain T/2,
    every other entry is unchanged, and flips ``[[1, 0], [1, 0]]`` put T/2 in each tile's results."""
    cfg, gemm, mem, a, b = _case("os")
    cal = _ones()
    st = en.layer_stats(cfg, a, b)
    stats = np.stack([st, st])
    results, drain = en.ACTIVITIES.index("results"), en.ACTIVITIES.index("drain")
    ofmap = en.COMPONENT_CLASSES.index("ofmap_sram")

    def energy(flips):
        return en.tile_energy_by_activity(
            cfg, gemm, mem, calibration=cal, stats=stats, layer_stats=st, side_flips=np.array(flips)
        )

    one, even = energy([[1, 0], [1, 2]]), energy([[1, 0], [1, 0]])
    diff = one - even
    total = -4 * diff[0, results, ofmap]  # tile 0's results: T/4 - T/2 = -T/4
    assert total > 0
    np.testing.assert_allclose(diff[:, [results, drain], ofmap], [[-total / 4, 0], [-total / 4, total / 2]])
    diff[:, [results, drain], ofmap] = 0.0
    assert not diff.any()
    # the regressor's total is what the lane slots give: no flips at all leaves it in the results
    plain = en.tile_energy_by_activity(cfg, gemm, mem, calibration=cal, stats=stats, layer_stats=st)
    np.testing.assert_allclose(energy([[0, 0], [0, 0]]), plain, rtol=1e-12)
    np.testing.assert_allclose(one.sum(), plain.sum(), rtol=1e-12)
    with pytest.raises(InputError, match=r"side_flips must be \[tile, 2\]"):
        energy([[1, 0]])


def test_the_accumulators_count_regressor_follows_their_data():
    """By hand: two tiles of one layer, data regressor toggles 0 and 10, count regressor 5 and 5 (10 in
    all): the counts go where the data switch, 0 and 10."""
    from systolic.model.energy import tiles as et

    x = np.array([[[0.0, 5.0]], [[10.0, 5.0]]])  # [tile, class, feature]
    et._follow_data(x, np.ones((1, 2)), np.array([0, 0]), 0, [1])
    np.testing.assert_allclose(x[:, 0, 1], [0.0, 10.0])
    # a layer with no data toggles keeps its counts
    x = np.array([[[0.0, 5.0]], [[0.0, 3.0]]])
    et._follow_data(x, np.ones((1, 2)), np.array([0, 0]), 0, [1])
    np.testing.assert_allclose(x[:, 0, 1], [5.0, 3.0])


def test_a_tile_of_zero_products_has_no_accumulator_energy():
    """OS, tile 0's A all zeros: on the RTL its accumulators do not switch; the 'macs' regressor of the
    class goes to the tile whose products switch (the layer's total unchanged)."""
    cfg, gemm, mem, a, b = _case("os")
    cal = _ones()
    st = en.tile_stats(cfg, mem.schedule.tiles, [(a, b)])
    per_tile = en.tile_energy_by_activity(cfg, gemm, mem, calibration=cal, stats=st)
    acc, compute = en.COMPONENT_CLASSES.index("acc"), en.ACTIVITIES.index("compute")
    assert per_tile[0, :, acc].sum() == 0.0 and per_tile[1, compute, acc] > 0.0
    layer = en.tile_energy_by_activity(
        cfg, gemm, mem, calibration=cal, stats=st, layer_stats=en.layer_stats(cfg, a, b)
    )
    alike = en.tile_energy_by_activity(
        cfg, gemm, mem, calibration=cal, stats=np.stack([en.layer_stats(cfg, a, b)] * 2)
    )
    np.testing.assert_allclose(layer[:, :, acc].sum(), alike[:, :, acc].sum(), rtol=1e-12)


def test_without_operands_the_tiles_geometry_places_the_ofmap_sram():
    """No operands: seeded uniform operands stand in for the data, scaled to the layer's statistics; a C
    tile's first K-tile writes without reading and the drains read in their own steps (the array side's
    emulation), where the lane slots alone charge every K-tile's results alike."""
    cfg = small_cfg(ifmap_sram_bytes=128, filter_sram_bytes=128, ofmap_sram_bytes=512).replace(dataflow="os")
    gemm = GemmArrays.of(16, 8, 48)
    mem = memory_cycles(cfg, gemm)
    tiles = mem.schedule.tiles
    first = tiles.origin("k") == 0
    assert first.any() and (~first).any()
    rng = np.random.default_rng(6)
    st = en.layer_stats(cfg, rng.integers(0, 3, (16, 48)), rng.integers(-128, 128, (48, 8)))
    cal = _ones()
    geo = en.geometry_tile_energy(cfg, gemm, mem, calibration=cal, stats=st)
    assert geo.fill_pj.shape == (tiles.layer.size, 3)
    again = en.geometry_tile_energy(cfg, gemm, mem, calibration=cal, stats=st)
    np.testing.assert_array_equal(geo.by_activity_pj, again.by_activity_pj)
    plain = en.tile_energy_by_activity(
        cfg,
        gemm,
        mem,
        calibration=cal,
        stats=np.broadcast_to(st, (tiles.layer.size, st.size)),
        layer_stats=st,
    )
    ofmap = en.COMPONENT_CLASSES.index("ofmap_sram")
    results, drain = en.ACTIVITIES.index("results"), en.ACTIVITIES.index("drain")
    # by lane slots, a first pass costs about what a later one does (the later one's reads add a little)
    assert plain[first, results, ofmap].mean() == pytest.approx(
        plain[~first, results, ofmap].mean(), rel=0.05
    )
    got = geo.by_activity_pj
    assert got[first, results, ofmap].mean() < 0.8 * got[~first, results, ofmap].mean()
    assert (got[~tiles.last_k, drain, ofmap] == 0).all()
    # the layer's statistics give each activity and class its energy (the ofmap SRAM's array side moves
    # between results and drains); the stand-in data only share it out over the tiles
    want, have = plain.sum(axis=0), got.sum(axis=0)
    others = [c for c in range(len(en.COMPONENT_CLASSES)) if c != ofmap]
    np.testing.assert_allclose(have[:, others], want[:, others], rtol=1e-9)
    assert have[:, ofmap].sum() == pytest.approx(want[:, ofmap].sum(), rel=1e-9)
