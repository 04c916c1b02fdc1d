"""The ofmap SRAM's array-side flips tile by tile (model/energy/side_flips.py)."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.model.cycles import GemmArrays
from systolic.model.energy import side_flips as sf
from systolic.model.energy import streams
from systolic.model.memory import memory_cycles, tile_record
from systolic.model.traces import Dims, dram_beats


def test_flips_per_event_by_hand():
    cycle = np.array([0, 1, 3])
    lines = np.array([[0b11], [0b01], [0b10]], dtype=np.uint64)
    # held between accesses: 11 -> 01 one flip, 01 -> 10 two
    flips, order = sf._per_event(cycle, lines, idle_zero=False)
    assert flips.tolist() == [0, 1, 2] and order.tolist() == [0, 1, 2]
    # zero between bursts: 11 rises (2), 01 follows it (1) and falls after it (1), 10 rises (1) and falls (1)
    flips, _ = sf._per_event(cycle, lines, idle_zero=True)
    assert flips.tolist() == [2, 2, 2]
    assert flips.sum() == streams._bus_flips(cycle, lines, idle_zero=True)


def _cfg(df: str) -> ArrayConfig:
    # 16-deep K in K-tiles of 8: each C tile a first pass, then a read-modify-write pass, then its drain
    return ArrayConfig(
        rows=4,
        cols=4,
        dataflow=Dataflow(df),
        ifmap_sram_bytes=256,
        filter_sram_bytes=256,
        ofmap_sram_bytes=512,
        dram_bw_words_per_cycle=4,
        dram_latency_cycles=4,
    )


@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_the_tiles_flips_add_up_to_the_emulations(df):
    cfg = _cfg(df)
    rng = np.random.default_rng(3)
    m, n, k = 16, 12, 24
    a, b = rng.integers(-128, 128, (m, k)), rng.integers(-128, 128, (k, n))
    sched = memory_cycles(cfg, GemmArrays.of(m, n, k)).schedule
    got = sf.array_side_flips(cfg, sched, a, b)
    dims, steps, tiles = Dims(cfg, m, n, k), sched.steps, sched.tiles
    bus = streams._WriteBus(cfg, dims, sched, a, b)
    for s in range(steps.layer.size):
        d = steps.drain_tile[s]
        bus.step(s, dram_beats(cfg, dims, "C", tile_record(tiles, int(d)))[0] if d >= 0 else None)
    assert got.sum() == sum(bus.array_side_flips())
    # only drained tiles (their C tile's last K-tile) have drain flips, and every one of them has some
    last = tiles.origin("k") + tiles.ext("k") >= k
    assert tiles.origin("k").max() > 0 and (~last).any()
    assert (got[~last, sf.DRAIN] == 0).all() and (got[last, sf.DRAIN] > 0).all()
    assert (got[:, sf.RESULTS] > 0).all()


def test_a_first_pass_switches_less_than_a_read_modify_write():
    """OS: a C tile's first K-tile only writes; its second reads the partial sums back as well."""
    cfg = _cfg("os")
    rng = np.random.default_rng(4)
    m, n, k = 8, 8, 24
    a, b = rng.integers(-128, 128, (m, k)), rng.integers(-128, 128, (k, n))
    sched = memory_cycles(cfg, GemmArrays.of(m, n, k)).schedule
    got = sf.array_side_flips(cfg, sched, a, b)
    first = sched.tiles.origin("k") == 0
    assert first.any() and (~first).any()
    assert got[first, sf.RESULTS].mean() < 0.8 * got[~first, sf.RESULTS].mean()
