"""model/energy/fills.py: the fill walk's flips in closed form against the per-beat emulation they
replaced (kept here as the reference: a cycle-by-cycle walk checks it, and it checks the closed forms on
many tile kinds), and their cost bounded by the tile kinds, not the beats."""

from __future__ import annotations

import dataclasses
import tracemalloc

import numpy as np
import pytest

from systolic.config import ArrayConfig
from systolic.geometry import geometry
from systolic.model.cycles import GemmArrays
from systolic.model.energy.activity import fill_mask_flips, tile_kind_pairs
from systolic.model.energy.fills import _counter_bit_flips
from systolic.model.memory import memory_cycles
from systolic.model.traces import _ragged


def _emulated_fill_mask_flips(cfg: ArrayConfig, tiles) -> np.ndarray:
    """``fill_mask_flips`` by emulating every beat of each pair of consecutive tile kinds."""
    loads, before, kind, inverse = tile_kind_pairs(cfg, tiles)
    memo: dict = {}
    flips = np.array([_emulated_pair_flips(cfg, b, k, memo) for b, k in zip(before, kind, strict=True)])
    return np.where(loads, flips[inverse], 0.0)


def _emulated_pair_flips(cfg: ArrayConfig, before: np.ndarray, kind: np.ndarray, memo: dict) -> float:
    """Flips of loading a tile of ``kind`` after one of ``before`` (all -1: none): those of the tile's
    beats alone (memoised per kind) and, after another tile, what the held nets change from its last beat
    to this tile's first beyond starting from zero (the enables fall to zero between them either way)."""

    def beats(k: np.ndarray, burst: int):
        key = (tuple(k.tolist()), burst)
        if key not in memo:
            memo[key] = _emulated_tile_beats(cfg, k, burst)
        return memo[key]

    own = tuple(kind.tolist())
    if own not in memo:
        memo[own] = _emulated_mask_flips(cfg, *beats(kind, 1))
    if before[0] < 0:
        return float(memo[own])
    last, first = (tuple(v[[i]] for v in b) for b, i in ((beats(before, 0), -1), (beats(kind, 1), 0)))
    both = [np.concatenate(v) for v in zip(last, first, strict=True)]
    return float(
        memo[own]
        + _emulated_mask_flips(cfg, *both)
        - _emulated_mask_flips(cfg, *last)
        - _emulated_mask_flips(cfg, *first)
    )


def _emulated_tile_beats(cfg: ArrayConfig, kind: np.ndarray, burst: int):
    """``(cycle, tensor, lane0, count)`` of each read beat of a tile ``kind`` (``fill_mask_flips``),
    the tile's beats in burst ``burst`` (bursts apart by an idle cycle)."""
    geo, bw = geometry(cfg), cfg.dram_bw_words_per_cycle
    parts = []
    for y, x in enumerate(("A", "B")):
        if not kind[y]:
            continue
        lanes = geo[x].lanes
        if x == "A" and kind[2] >= 0:  # conv_native: whole lines of P words
            valid = np.full(kind[2], lanes)
        else:
            el, eo = int(kind[3 + y]), int(kind[5 + y])
            valid = np.tile(np.minimum(lanes, el - np.arange(-(-el // lanes)) * lanes), eo)  # [line]
        line, j = _ragged(-(-valid // bw))
        blocks = valid.size // (int(kind[2]) if x == "A" and kind[2] >= 0 else int(kind[5 + y]))
        o, lb = np.divmod(line, blocks)  # lines o outer, line blocks lb inner
        eo = valid.size // blocks
        parts.append(
            (np.full(j.size, y), j * bw, np.minimum(bw, valid[line] - j * bw), np.c_[o, lb, lb * eo + o])
        )
    tensor, lane0, count, walk = (np.concatenate(v) for v in zip(*parts, strict=True))
    return burst * 1_000_000_000 + np.arange(tensor.size), tensor, lane0, count, walk


def _emulated_mask_flips(cfg: ArrayConfig, cycle, tensor, lane0, count, walk=None) -> int:
    """Flips of the fill lane masks over beats in ``cycle`` (``fill_mask_flips``). Masks are
    intervals of lanes, so a change flips the lanes of their symmetric difference. ``walk`` ``[beat, 3]``:
    the walkers' line ``o``, line block ``lb`` and SRAM line, whose flips count too (also on both fill
    ports' addresses, the line in their address widths)."""
    order = np.argsort(cycle, kind="stable")
    cycle, tensor, lo = cycle[order], tensor[order], lane0[order]
    hi = lo + count[order]
    geo = geometry(cfg)
    flips = 0
    for y, x in enumerate(("A", "B")):
        lanes = geo[x].lanes
        for width, mine in ((lanes + cfg.dram_bw_words_per_cycle, None), (lanes, tensor == y)):
            a, b = np.minimum(lo, width), np.minimum(hi, width)
            if mine is not None:  # the enable: zero outside x's beats and between beats
                a, b = np.where(mine, a, 0), np.where(mine, b, 0)
                gap = np.r_[True, np.diff(cycle) != 1, True]  # [beat + 1] an idle cycle before / after
            else:
                gap = np.r_[True, np.zeros(cycle.size - 1, bool), True]  # held: starts at zero only
            size = b - a
            both = np.maximum(0, np.minimum(b[1:], b[:-1]) - np.maximum(a[1:], a[:-1]))
            diff = size[1:] + size[:-1] - 2 * both  # [beat - 1] consecutive beats
            end = size[-1] if mine is not None else 0  # the enable falls to zero after the last beat
            flips += int(np.where(gap[1:-1], size[1:] + size[:-1], diff).sum() + size[0] + end)
    # the read walker's beat state, held between beats, in both copies (request and response side): the
    # beat's index in its line, its first lane and its length, and both fill ports' beat masks
    n = count[order]
    beat = (lo // cfg.dram_bw_words_per_cycle, lo, n, (np.uint64(1) << n.astype(np.uint64)) - np.uint64(1))
    state = list(beat) + ([] if walk is None else [walk[order, 0], walk[order, 1], walk[order, 2]])
    for v in state:
        v = np.asarray(v).astype(np.uint64)
        flips += 2 * int(np.bitwise_count(v[1:] ^ v[:-1]).sum() + np.bitwise_count(v[:1]).sum())
    if walk is not None:  # fill_x_addr: the response walker's line in the port's address bits
        for x in ("A", "B"):
            v = walk[order, 2].astype(np.uint64) & np.uint64(
                (1 << max(geo[x].half_lines - 1, 1).bit_length()) - 1
            )
            flips += int(np.bitwise_count(v[1:] ^ v[:-1]).sum() + np.bitwise_count(v[:1]).sum())
    return flips


def test_emulated_fill_lane_masks_against_a_cycle_walk():
    """The reference emulation of the fill ports' lane masks and enables (hdl/controller.py) against a
    cycle-by-cycle walk of the same beats: each tensor's wide mask (lanes + bw bits) holds the last beat's
    lanes, its enable shows them in its own tensor's beats only, zero otherwise; the read walkers' beat
    state holds the beat's."""
    cfg = ArrayConfig(rows=6, cols=3, dataflow="os", dram_bw_words_per_cycle=2)
    lanes = (6, 3)  # A's and B's SRAM lanes (rows, cols in OS)
    rng = np.random.default_rng(3)
    cycle = np.sort(rng.choice(60, 30, replace=False))
    tensor, lane0, count = rng.integers(0, 2, 30), rng.integers(0, 6, 30), rng.integers(1, 3, 30)
    want, wide, en_, walker = 0, [0, 0], [0, 0], (0, 0, 0, 0)
    for t in range(cycle.max() + 2):
        i = np.flatnonzero(cycle == t)
        mask = ((1 << int(count[i[0]])) - 1) << int(lane0[i[0]]) if i.size else None
        if i.size:  # the walkers' j, lane0, len and the ports' beat mask, two copies each, held
            c, l0 = int(count[i[0]]), int(lane0[i[0]])
            now = (l0 // 2, l0, c, (1 << c) - 1)
            want += 2 * sum((p ^ q).bit_count() for p, q in zip(now, walker, strict=True))
            walker = now
        for y in (0, 1):
            new_wide = wide[y] if mask is None else mask & ((1 << (lanes[y] + 2)) - 1)
            new_en = mask & ((1 << lanes[y]) - 1) if mask is not None and tensor[i[0]] == y else 0
            want += (new_wide ^ wide[y]).bit_count() + (new_en ^ en_[y]).bit_count()
            wide[y], en_[y] = new_wide, new_en
    assert _emulated_mask_flips(cfg, cycle, tensor, lane0, count) == want


def _random_cases(seed: int, count: int):
    """(config, tiles) of random small accelerators and GEMMs: every dataflow, conv_native, buffers from
    a line to many, DRAM widths below, at and above the lanes (powers of two and not)."""
    rng = np.random.default_rng(seed)
    while count:
        kw = dict(
            rows=int(rng.choice([2, 3, 4, 6, 8, 12, 16, 32])),
            cols=int(rng.choice([2, 3, 4, 5, 8, 16, 32])),
            dataflow=str(rng.choice(["os", "ws", "is"])),
            dram_bw_words_per_cycle=int(rng.choice([1, 2, 3, 4, 5, 7, 8, 13, 16, 33, 64, 70])),
            ifmap_sram_bytes=int(rng.choice([256, 512, 1024, 4096, 65536])),
            filter_sram_bytes=int(rng.choice([256, 512, 2048, 65536])),
            ofmap_sram_bytes=int(rng.choice([1024, 4096, 65536])),
            conv_native=bool(rng.random() < 0.3),
        )
        m, n, k = (int(x) for x in rng.integers(1, 120, 3))
        try:
            cfg = ArrayConfig(**kw)
            tiles = memory_cycles(cfg, GemmArrays.of(m, n, k)).schedule.tiles
        except Exception:  # a buffer too small for one fold: not a case
            continue
        count -= 1
        yield cfg, tiles


@pytest.mark.parametrize("seed", [0, 1])
def test_closed_form_fill_flips_equal_the_per_beat_emulation(seed):
    """Every tile of 60 random accelerators and GEMMs: the closed forms give the emulation's flips."""
    for cfg, tiles in _random_cases(seed, 60):
        np.testing.assert_array_equal(fill_mask_flips(cfg, tiles), _emulated_fill_mask_flips(cfg, tiles))


def test_closed_form_fill_flips_on_convolutions_equal_the_emulation():
    """ResNet-50's first layers (conv_native A lines, many line blocks) on sweep-like accelerators, also
    with beats of 64 lanes or more (the beat mask wraps as NumPy's 64-bit shift does, in both)."""
    from systolic.formats.network import load_workload
    from systolic.model.grouped import lower_groups

    cases = (
        (32, 16, "ws", 8),
        (32, 16, "ws", 27),
        (32, 16, "ws", 256),
        (256, 64, "os", 256),
        (64, 128, "is", 70),
    )
    for rows, cols, df, bw in cases:
        cfg = ArrayConfig(rows=rows, cols=cols, dataflow=df, dram_bw_words_per_cycle=bw,
                          ifmap_sram_bytes=1 << 20, filter_sram_bytes=1 << 20, ofmap_sram_bytes=1 << 22)  # fmt: skip
        net = lower_groups(cfg, load_workload("resnet50"))
        gemm = GemmArrays.from_workload(dataclasses.replace(net, layers=net.layers[:6]))
        tiles = memory_cycles(cfg, gemm).schedule.tiles
        np.testing.assert_array_equal(fill_mask_flips(cfg, tiles), _emulated_fill_mask_flips(cfg, tiles))


def test_counter_bit_flips_against_a_count():
    rng = np.random.default_rng(5)
    start, n, d = rng.integers(0, 300, 200), rng.integers(0, 300, 200), rng.integers(-1, 700, 200)
    start = np.maximum(start, -d)  # x + d >= 0
    got = _counter_bit_flips(start, n, d, 12)  # [case, bit]
    for i in range(200):
        x = np.arange(start[i], start[i] + n[i])
        want = [int((((x ^ (x + d[i])) >> b) & 1).sum()) for b in range(12)]
        assert got[i].tolist() == want


def test_fill_flips_cost_is_bounded_by_the_tile_kinds_not_the_beats():
    """A 256x256 OS accelerator at one word per DRAM beat on a large GEMM: its tiles take about 10**9
    fill beats (an emulation would hold them in gigabytes); the closed forms take a few hundred kB."""
    cfg = ArrayConfig(rows=256, cols=256, dataflow="os", dram_bw_words_per_cycle=1, ofmap_sram_bytes=1 << 21)
    gemm = GemmArrays.of(4096, 4096, 4096)
    tiles = memory_cycles(cfg, gemm).schedule.tiles
    lanes = np.array([geometry(cfg)[x].lanes for x in ("A", "B")])
    beats = (tiles.load_a * tiles.mt * tiles.kt + tiles.load_b * tiles.nt * tiles.kt).sum()
    assert beats > 1e8 and lanes.max() == 256
    tracemalloc.start()
    try:
        flips = fill_mask_flips(cfg, tiles)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert flips.sum() > beats  # every beat flips some lanes
    assert peak < 4_000_000  # measured 1.4 MB: the tiles' kind pairs


def _cal(rows: int, cols: int, df: str, bits: int, bw: int, ternary: bool = False) -> ArrayConfig:
    """A calibration accelerator (cosim/calibrate.py's make_config, no gating)."""
    from systolic.cosim.calibrate import make_config

    return make_config(rows, cols, df, bits, False, bw, ternary)


@pytest.mark.parametrize(
    "cfg, mnk, rtl",
    [
        # calibration layers run on Icarus after their warm-up layer (VCD kept): the ifmap SRAM's
        # s_wr_addr flips (the filter SRAM's the same: both ports take the walker's line)
        ((8, 8, "is", 4, 4), (39, 16, 24), 840),
        ((8, 8, "os", 8, 8, True), (34, 16, 12), 264),
        ((8, 8, "ws", 8, 8), (25, 15, 23), 572),
        ((4, 4, "is", 16, 4), (24, 13, 32), 1_632),
    ],
)
def test_fill_address_flips_are_the_rtls(cfg, mnk, rtl):
    from systolic.model import energy as en

    got = en.activity_counts(_cal(*cfg), GemmArrays.of(*mnk)).fill_addr[:, 0]
    assert got.tolist() == [rtl, rtl]
