"""The ofmap SRAM's array-side data nets, tile by tile, for placing their energy in time.

:class:`~.streams._WriteBus` emulates what the ofmap SRAM's array side shows cycle by cycle (each half's
read and write port, ``a_rd_data``, ``a_wr_data``): the read-modify-write reads and the writes of the tile
being computed, and the drain's reads of the tile being drained. The layer's statistics keep only its
total per lane slot written (``array_s``); placed by slots, that total lands evenly on every tile's results.
On the RTL it does not: a first K-tile writes without reading (about half the flips of a read-modify-write
tile), and the drain's reads, a burst at the start of the step that drains a tile, flip the shared read
data as much as a tile's results do (OS 4x4 on uniform data, ``bench/rtl_power_compare.py``). With the
operands known, :func:`array_side_flips` runs the same emulation over the whole layer and gives each flip
to the tile and the activity (its results or its drain) whose access makes it.
"""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig

from .streams import _WriteBus, a_rd_events, a_wr_events

#: Where a flip goes: the results of the tile being computed or the drain of the tile being drained.
RESULTS, DRAIN = 0, 1


def _per_event(cycle: np.ndarray, lines: np.ndarray, idle_zero: bool) -> tuple[np.ndarray, np.ndarray]:
    """Flips ``[event]`` of a bus carrying ``lines[event, lane]`` in ``cycle[event]`` (as
    :func:`~.streams._bus_flips`), each given to the event whose value makes it (a value's rise and, with
    ``idle_zero``, its fall back to zero across a gap), and the time order ``[event]`` they are in."""
    order = np.argsort(cycle, kind="stable")
    if not order.size:
        return np.zeros(0, dtype=np.int64), order
    w = lines[order]
    xor = np.bitwise_count(w[1:] ^ w[:-1]).sum(axis=1).astype(np.int64)  # [event - 1]
    flips = np.zeros(order.size, dtype=np.int64)
    if not idle_zero:
        flips[1:] = xor
        return flips, order
    ones = np.bitwise_count(w).sum(axis=1).astype(np.int64)
    next_to = np.diff(cycle[order]) == 1
    flips[1:] = np.where(next_to, xor, ones[1:])  # a value follows its neighbour or rises from zero
    flips[:-1] += np.where(next_to, 0, ones[:-1])  # ... and falls back to zero across a gap
    flips[0] += ones[0]
    flips[-1] += ones[-1]
    return flips, order


def _owners(lists: list[np.ndarray], tiles: np.ndarray) -> np.ndarray:
    """``[event]`` owner of each event of ``lists`` (one list entry per tile in ``tiles``, after the
    emulation's empty first entry)."""
    sizes = np.array([x.size for x in lists[1:]], dtype=np.int64)
    if sizes.size != tiles.size or lists[0].size:
        raise ValueError(f"{sizes.size} recorded accesses for {tiles.size} tiles")
    return np.repeat(tiles, sizes)


def write_bus(cfg: ArrayConfig, sched, a: np.ndarray, b: np.ndarray) -> _WriteBus:
    """:class:`~.streams._WriteBus` run over every step of the layer ``C = a @ b`` run as ``sched``."""
    from ..memory import tile_record
    from ..traces import Dims, dram_beats

    steps, tiles = sched.steps, sched.tiles
    m, k = a.shape
    dims = Dims(cfg, m, b.shape[1], k)
    bus = _WriteBus(cfg, dims, sched, a, b)
    for s in range(steps.layer.size):  # the emulation runs step by step, as the controller does
        drained = None
        if steps.drain_tile[s] >= 0:
            drained = dram_beats(cfg, dims, "C", tile_record(tiles, int(steps.drain_tile[s])))[0]
        bus.step(s, drained)
    return bus


def array_side_flips(cfg: ArrayConfig, sched, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Flips ``[tile, (results, drain)]`` of the ofmap SRAM's array-side data nets over the whole layer
    ``C = a @ b`` run as ``sched`` (``memory_cycles(...).schedule`` of one GEMM layer): the emulation
    :func:`~.streams._WriteBus.array_side_flips` counts, summed over tiles, each flip given to the access
    that makes it: a read-modify-write read or a write to the results of the tile being computed (so are
    the write data's falls back to the read data after an output burst), a drain read to the drain of the
    tile being drained."""
    steps, tiles = sched.steps, sched.tiles
    bus = write_bus(cfg, sched, a, b)
    computed = steps.compute_tile[steps.compute_tile >= 0]
    # reads: read-modify-write (the computed tile's results), then the drains (the drained tile's drain)
    r_cyc = np.concatenate(bus.rmw[0] + bus.drains[0])
    r_lines = np.concatenate(bus.rmw[1] + bus.drains[1])
    r_half = np.concatenate(bus.rmw[2] + bus.drains[2])
    r_tile = np.concatenate(
        [_owners(bus.rmw[0], computed), _owners(bus.drains[0], steps.drain_tile[steps.drain_tile >= 0])]
    )
    r_kind = np.r_[
        np.full(r_cyc.size - sum(x.size for x in bus.drains[0]), RESULTS),
        np.full(sum(x.size for x in bus.drains[0]), DRAIN),
    ]
    w_cyc, w_lines, w_half = (np.concatenate(x) for x in bus.writes)
    w_tile = _owners(bus.writes[0], computed)
    out = np.zeros((tiles.layer.size, 2), dtype=np.int64)

    def add(flips: np.ndarray, tile: np.ndarray, kind: np.ndarray) -> None:
        np.add.at(out, (tile, kind), flips)

    r_tag = np.stack([r_tile, r_kind], axis=1)
    if cfg.tiles_overlap:  # a_rd_data: the south port's tile's half (a switch: that tile's results)
        s_cyc, s_half = (np.concatenate(x) for x in bus.switches)
        s_tile = _owners(bus.switches[0], computed)
        s_tag = np.stack([s_tile, np.full(s_tile.size, RESULTS)], axis=1)
        f, tag = a_rd_events(r_cyc, r_lines, r_half, s_cyc, s_half, r_tag, s_tag)
        add(f, tag[:, 0], tag[:, 1])
    else:  # a_rd_data: both halves' reads in time order
        f, o = _per_event(r_cyc, r_lines, idle_zero=False)
        add(f, r_tile[o], r_kind[o])
    for h in (0, 1):
        sel = np.flatnonzero(r_half == h)
        f, o = _per_event(r_cyc[sel], r_lines[sel], idle_zero=False)  # the half's read port
        add(f, r_tile[sel][o], r_kind[sel][o])
        sel = np.flatnonzero(w_half == h)
        f, o = _per_event(w_cyc[sel], w_lines[sel], idle_zero=True)  # the half's write port
        add(f, w_tile[sel][o], np.full(o.size, RESULTS))
    w_tag = np.stack([w_tile, np.full(w_tile.size, RESULTS)], axis=1)  # outputs: the written tile's results
    f, tag = a_wr_events(r_cyc, r_lines, w_cyc, w_lines, r_tag, w_tag)
    add(f, tag[:, 0], tag[:, 1])
    return out
