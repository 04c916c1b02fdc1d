"""SRAM and DRAM traces in SCALE-Sim's CSV layout, generated vectorised, one step at a time.

Six traces per layer, as SCALE-Sim names them: ``IFMAP_SRAM_TRACE`` and ``FILTER_SRAM_TRACE`` (reads by
the array), ``OFMAP_SRAM_TRACE`` (writes by the array), ``IFMAP_DRAM_TRACE`` and ``FILTER_DRAM_TRACE``
(read requests) and ``OFMAP_DRAM_TRACE`` (write beats). A row is a cycle (counted from the layer's first
busy cycle) and then one DRAM word address per port lane (SRAM traces: the array port's lanes; DRAM
traces: ``dram_bw_words_per_cycle``), ``-1`` for an idle lane; rows exist only for cycles with an access.
Addresses are the tensors' DRAM word addresses (see :mod:`systolic.model.memory` for the layout), so an
SRAM trace says which element is read, as SCALE-Sim's do.

The array-side events follow the RTL's timing contract (``GemmEngine``): per fold, operand requests one
cycle before their data, results leaving the array and written to the ofmap SRAM one cycle later.
:func:`layer_traces` yields one chunk per step and trace, so a whole network's traces are never in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from systolic.config import ArrayConfig
from systolic.dataflow import MAPPINGS, PORT_MAP, ROLES
from systolic.geometry import BUFFER, geometry, phase_layout
from systolic.model.band import window_addresses
from systolic.model.cycles import fold_starts
from systolic.model.memory import Schedule, array_start_cycles, tile_record

TRACE_NAMES: tuple[str, ...] = (
    "IFMAP_SRAM_TRACE",
    "FILTER_SRAM_TRACE",
    "OFMAP_SRAM_TRACE",
    "IFMAP_DRAM_TRACE",
    "FILTER_DRAM_TRACE",
    "OFMAP_DRAM_TRACE",
)


def trace_widths(cfg: ArrayConfig) -> dict[str, int]:
    """Address columns of each trace (the cycle column not included)."""
    geo = geometry(cfg)
    bw = cfg.dram_bw_words_per_cycle
    return {
        "IFMAP_SRAM_TRACE": geo["A"].lanes,
        "FILTER_SRAM_TRACE": geo["B"].lanes,
        "OFMAP_SRAM_TRACE": geo["C"].lanes,
        "IFMAP_DRAM_TRACE": bw,
        "FILTER_DRAM_TRACE": bw,
        "OFMAP_DRAM_TRACE": bw,
    }


def _rows(cycle: np.ndarray, start: np.ndarray, count: np.ndarray, width: int) -> np.ndarray:
    """Rows [cycle, start, start+1, ..., -1 ...]: ``count`` consecutive addresses, then idle lanes."""
    lane = np.arange(width)  # [lane]
    addr = np.where(lane < count[:, None], start[:, None] + lane, -1)  # [event, lane]
    return np.concatenate([cycle[:, None], addr], axis=1)


def _ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, index): for each of ``counts.sum()`` items, which group it is in and its index there."""
    owner = np.repeat(np.arange(counts.size), counts)
    index = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, index


class Dims:
    """Global tensor extents of the layer and DRAM geometry, for address arithmetic."""

    def __init__(self, cfg: ArrayConfig, m: int, n: int, k: int, native=None):
        self.cfg = cfg
        self.geo = geometry(cfg)
        self.full = {"m": m, "n": n, "k": k}
        self.native = (
            native  # conv_native: the layer's ConvShape (A is its NHWC, on OS NCHW, ifmap), else None
        )

    def start_address(self, tensor: str, coord: dict[str, np.ndarray]) -> np.ndarray:
        g = self.geo[tensor]
        return g.offset + coord[g.other_dim] * self.full[g.lane_dim] + coord[g.lane_dim]


def _tile_folds(cfg: ArrayConfig, tile: dict) -> tuple:
    """Spatial extents, fold bases and used rows/columns of one compute tile's folds, and their starts
    (:func:`~systolic.model.cycles.fold_starts`), folds in walk order."""
    mp = MAPPINGS[cfg.dataflow]
    ext = {"m": tile["mt"], "n": tile["nt"], "k": tile["kt"]}
    sr, sc, t_len = ext[mp.spatial_rows], ext[mp.spatial_cols], ext[mp.temporal]
    f_sr, f_sc = -(-sr // cfg.rows), -(-sc // cfg.cols)
    sc_i, sr_i = np.divmod(np.arange(f_sr * f_sc), f_sr)  # [fold] spatial columns outer, rows inner
    sr_base, sc_base = sr_i * cfg.rows, sc_i * cfg.cols
    ru, cu = np.minimum(cfg.rows, sr - sr_base), np.minimum(cfg.cols, sc - sc_base)
    load, stream = fold_starts(cfg, ru, t_len)
    return t_len, sr_base, sc_base, ru, cu, load, stream


def array_events(cfg: ArrayConfig, dims: Dims, tile: dict, first_data: int) -> dict[str, np.ndarray]:
    """SRAM trace rows of one compute tile whose first operand data arrives in cycle ``first_data``."""
    mp = MAPPINGS[cfg.dataflow]
    roles = ROLES[cfg.dataflow]
    r, c = cfg.rows, cfg.cols
    t_len, sr_base, sc_base, ru, cu, load, stream = _tile_folds(cfg, tile)
    load, x0 = first_data + load, first_data + stream  # [fold] first load and stream data cycles

    def rows(port: str, fold, cycle, t, sr_index, lanes) -> np.ndarray:
        pm = PORT_MAP[cfg.dataflow][port]
        base = {"sr": sr_base[fold], "sc": sc_base[fold]}
        coord = {}
        for d in pm.dims:
            if d == pm.lane_dim:
                value = base[roles[d]]
            elif roles[d] == "t":
                value = t
            else:
                value = sr_index
            coord[d] = value + tile[f"{d}0"]
        width = dims.geo[pm.tensor].lanes
        if pm.tensor == "A" and dims.native is not None:  # the window generator's reads of the band
            m_, k_, n_ = np.broadcast_arrays(coord["m"], coord["k"], lanes)
            by_pixel = pm.lane_dim == "m"  # OS, IS: lanes along the output pixels, NCHW
            addr = window_addresses(dims.native, dims.geo["A"].offset, m_, k_, n_, width, by_pixel)
            return np.concatenate([np.broadcast_to(cycle, m_.shape)[:, None], addr], axis=1)
        start = dims.start_address(pm.tensor, coord)
        return _rows(cycle, start, lanes, width)

    out = {}
    fold_t, u = _ragged(np.full(ru.shape, t_len))
    if mp.stationary == "operand":
        fold_l, i = _ragged(ru)
        # the stationary tile's rows: last row first without fold_overlap, first row first with it
        row = i if cfg.fold_overlap else ru[fold_l] - 1 - i
        out["north"] = rows("north", fold_l, load[fold_l] - 1 + i, 0, sr_base[fold_l] + row, cu[fold_l])
        out["west"] = rows("west", fold_t, x0[fold_t] - 1 + u, u, 0, ru[fold_t])
        cyc = x0[fold_t] + u + r + c - 1 + 1
        out["south"] = rows("south", fold_t, cyc, u, 0, cu[fold_t])
    else:
        out["west"] = rows("west", fold_t, x0[fold_t] - 1 + u, u, 0, ru[fold_t])
        out["north"] = rows("north", fold_t, x0[fold_t] - 1 + u, u, 0, cu[fold_t])
        fold_d, row = _ragged(ru)
        cyc = x0[fold_d] + t_len + r + c - 2 + (r - 1 - row) + 1
        south = rows("south", fold_d, cyc, 0, sr_base[fold_d] + row, cu[fold_d])
        out["south"] = south[np.argsort(south[:, 0], kind="stable")]
    names = {}
    for port, arr in out.items():
        tensor = PORT_MAP[cfg.dataflow][port].tensor
        names[f"{BUFFER[tensor].upper()}_SRAM_TRACE"] = arr
    return names


def array_windows(cfg: ArrayConfig, tile: dict, first_data: int) -> dict[str, tuple[int, int]]:
    """(first, last) cycle of each SRAM trace's events for one compute tile, from its fold timing alone
    (the same timing :func:`array_events` spells out event by event)."""
    r, c = cfg.rows, cfg.cols
    t_len, _, _, ru, _, load, stream = _tile_folds(cfg, tile)
    load, x0 = first_data + load, first_data + stream
    if MAPPINGS[cfg.dataflow].stationary == "operand":
        spans = {
            "north": (int(load[0]) - 1, int(load[-1] + ru[-1]) - 2),
            "west": (int(x0[0]) - 1, int(x0[-1]) + t_len - 2),
            "south": (int(x0[0]) + r + c, int(x0[-1]) + t_len + r + c - 1),
        }
    else:
        drain = t_len + r + c - 2
        spans = {
            "north": (int(x0[0]) - 1, int(x0[-1]) + t_len - 2),
            "west": (int(x0[0]) - 1, int(x0[-1]) + t_len - 2),
            "south": (int(x0[0]) + drain + r - int(ru[0]) + 1, int(x0[-1]) + drain + r),
        }
    return {f"{BUFFER[PORT_MAP[cfg.dataflow][p].tensor].upper()}_SRAM_TRACE": v for p, v in spans.items()}


def dram_beats(cfg: ArrayConfig, dims: Dims, tensor: str, tile: dict) -> tuple[np.ndarray, np.ndarray]:
    """(start address, words) of each DRAM beat moving ``tensor``'s tile, in the controller's order."""
    return beat_walk(cfg, dims, tensor, tile)[:2]


def beat_walk(
    cfg: ArrayConfig, dims: Dims, tensor: str, tile: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`dram_beats`' (start address, words) and each beat's first lane ``j bw`` within its SRAM
    line (where the fill walker puts its words)."""
    g = dims.geo[tensor]
    bw = cfg.dram_bw_words_per_cycle
    if tensor == "A" and tile["a_pitch"] >= 0 and g.lane_dim == "m":  # OS, IS: pitched plane rows a run
        start, count, lane0 = _pitched_beats(g.offset, g.lanes, bw, tile | {"a_runs": tile["a_rows"]})
        runs = np.arange(tile["a_runs"])[:, None] * phase_layout(dims.native).pitch  # [run, 1]
        return (start + runs).ravel(), np.tile(count, runs.size), np.tile(lane0, runs.size)
    if tensor == "A" and tile["a_pitch"] >= 0:  # conv_native WS: the band's rows at its SRAM row pitch
        return _pitched_beats(g.offset, g.lanes, bw, tile)
    el, eo = tile[f"{g.lane_dim}t"], tile[f"{g.other_dim}t"]
    if tensor == "A" and tile["a_run"] >= 0:  # conv_native on OS and IS: a run per channel (NCHW)
        el, eo = tile["a_run"], tile["a_runs"]
    lb = np.arange(-(-el // g.lanes))  # [line block]
    valid = np.minimum(g.lanes, el - lb * g.lanes)
    per_line = -(-valid // bw)  # [line block] beats
    blk, j = _ragged(np.tile(per_line, eo))  # over (o, lb) pairs, o outer
    o, lb_of = np.divmod(blk, lb.size)
    words = np.minimum(bw, valid[lb_of] - j * bw)
    if tensor == "A" and tile["a_run"] >= 0:
        pitch = phase_layout(dims.native).pitch
        return g.offset + tile["a_word0"] + o * pitch + lb_of * g.lanes + j * bw, words, j * bw
    coord = {
        g.other_dim: tile[f"{g.other_dim}0"] + o,
        g.lane_dim: tile[f"{g.lane_dim}0"] + lb_of * g.lanes + j * bw,
    }
    return dims.start_address(tensor, coord), words, j * bw


def _pitched_beats(offset: int, lanes: int, bw: int, tile: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A WS band's beats (:func:`systolic.model.band.pitched_fill_beats`): row y's ``a_run`` words from its
    SRAM lane ``y L mod P``, the row's part of each SRAM line in beats of at most ``bw`` (row outer, line,
    beat): (DRAM start address, words, first lane within the SRAM line)."""
    words, rows = tile["a_run"], tile["a_runs"]
    phase = (np.arange(rows) * tile["a_pitch"]) % lanes  # [row]
    end = phase + words  # [row] the row's end, in lanes from its first line's lane 0
    blocks = -(-end // lanes)  # [row] SRAM lines it touches
    row, lb = _ragged(blocks)  # [row line]
    lo = np.where(lb == 0, phase[row], 0)  # its first lane in that line
    hi = np.minimum(lanes, end[row] - lb * lanes)
    blk, j = _ragged(-(-(hi - lo) // bw))  # [beat]
    lane0 = lo[blk] + j * bw
    count = np.minimum(bw, hi[blk] - lane0)
    start = offset + tile["a_word0"] + row[blk] * words + lb[blk] * lanes + lane0 - phase[row[blk]]
    return start, count, lane0


def layer_traces(
    cfg: ArrayConfig, sched: Schedule, layer: int, m: int, n: int, k: int
) -> Iterator[tuple[str, np.ndarray]]:
    """(trace name, rows) chunks of one layer's six traces, in cycle order per trace."""
    native = sched.plan.native[layer] if sched.plan.native else None
    dims = Dims(cfg, m, n, k, native)
    tiles, steps = sched.tiles, sched.steps
    bw = cfg.dram_bw_words_per_cycle

    def tile_dict(j: int) -> dict:
        return tile_record(tiles, j)

    for s in np.flatnonzero(steps.layer == layer):
        t0 = int(steps.start[s])
        if steps.compute_tile[s] >= 0:
            x0 = t0 + array_start_cycles(cfg)
            events = array_events(cfg, dims, tile_dict(int(steps.compute_tile[s])), x0)
            yield from events.items()
        if steps.load_tile[s] >= 0:
            j = int(steps.load_tile[s])
            tile = tile_dict(j)
            parts = [
                (x, *dram_beats(cfg, dims, x, tile))
                for x, load in (("A", tiles.load_a[j]), ("B", tiles.load_b[j]))
                if load
            ]
            offset = 0
            for x, start, words in parts:
                cycle = t0 + offset + np.arange(start.size)
                offset += start.size
                yield f"{BUFFER[x].upper()}_DRAM_TRACE", _rows(cycle, start, words, bw)
        if steps.drain_tile[s] >= 0:
            start, words = dram_beats(cfg, dims, "C", tile_dict(int(steps.drain_tile[s])))
            first = t0 + 1 + int(steps.trail[s])  # tile_overlap: after the tile's last results are in
            yield "OFMAP_DRAM_TRACE", _rows(first + np.arange(start.size), start, words, bw)


def collect(chunks: Iterator[tuple[str, np.ndarray]], widths: dict[str, int]) -> dict[str, np.ndarray]:
    """All chunks joined per trace (for small layers and tests; large runs stream :func:`layer_traces`)."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in TRACE_NAMES}
    for name, rows in chunks:
        parts[name].append(rows)
    return {
        name: np.concatenate(p) if p else np.zeros((0, 1 + widths[name]), dtype=np.int64)
        for name, p in parts.items()
    }
