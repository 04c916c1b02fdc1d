"""The controller's drain walker (hdl/controller.py, ``_drain``: a ``_Walker`` over the drained tile of C
and its registered copies) beat by beat, per kind of drained tile: a count that needs no data."""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig
from systolic.geometry import geometry

from .fills import _pop


def _walk_state(lanes: int, bw: int, el: int, eo: int, port_bits: int) -> dict[str, np.ndarray]:
    """The walker's nets ``{name: [beat]}`` over one tile's C lines of ``el`` words along the lanes and
    ``eo`` along the other axis: lines ``o`` outer, line blocks ``lb`` inner, beats ``j`` innermost; a
    block's line holds ``lanes`` words but the last block's ``el - lb lanes``."""
    blocks = -(-el // lanes)
    valid = np.minimum(lanes, el - np.arange(blocks) * lanes)  # [lb]
    beats = -(-valid // bw)  # [lb]
    lb = np.repeat(np.tile(np.arange(blocks), eo), np.tile(beats, eo))  # [beat]
    o = np.repeat(np.arange(eo), beats.sum())
    starts = np.r_[0, np.cumsum(np.tile(beats, eo))[:-1]]
    j = np.arange(lb.size) - np.repeat(starts, np.tile(beats, eo))
    v = valid[lb]
    last_beat = j * bw + bw >= v
    line = lb * eo + o
    return {
        "j": j,
        "lane0": j * bw,  # and its registered copy
        "len": np.where(last_beat, v - j * bw, bw),  # and its two copies
        "o": o,
        "lb": lb,
        "line": line,
        "rd_addr": line & ((1 << port_bits) - 1),
        "lane_base": lb * lanes,
        "valid_lanes": v,
        "last_beat": last_beat,
        "last_lb": lb == blocks - 1,
        "last_o": o == eo - 1,
    }


#: Nets of the walker's state that the controller keeps more than once: the beat's lanes and length are
#: registered with the beat (``wr_lane0_q``, ``wr_len_q``) and the length shown on the DRAM port.
_COPIES = {"lane0": 2, "len": 3}


def drain_walk_flips(cfg: ArrayConfig, kinds: np.ndarray) -> np.ndarray:
    """Bit flips ``[kind]`` of the drain walker's nets while a tile of each kind ``kinds[kind] = (lane
    extent, other extent)`` of C drains: its beats' states, from the idle walker's (the first beat's) and
    back to it after the last beat, each net times its copies; the valid, last and busy flags rise and
    fall once (``drain_busy``, ``drain_last``, ``wr_valid_q``, ``wr_last_q``, ``dram_wr_valid``) and
    the DRAM port's length rises from and falls to zero. The addresses are charged apart (``write_beats
    a_wr``)."""
    g = geometry(cfg)["C"]
    bw = cfg.dram_bw_words_per_cycle
    port_bits = max(g.half_lines - 1, 1).bit_length()
    out = np.zeros(len(kinds))
    for i, (el, eo) in enumerate(np.asarray(kinds, dtype=np.int64).tolist()):
        if el <= 0 or eo <= 0:
            continue
        state = _walk_state(g.lanes, bw, el, eo, port_bits)
        flips = 0
        for name, values in state.items():
            cycle = np.r_[values, values[:1]].astype(np.int64)  # back to the idle (first beat's) state
            flips += _COPIES.get(name, 1) * int(_pop(cycle[1:] ^ cycle[:-1]).sum())
        edges = _pop(state["len"][0]) + _pop(state["len"][-1])  # dram_wr_len: zero outside bursts
        out[i] = flips + int(edges) + 5 * 2
    return out


def drain_flips(cfg: ArrayConfig, tiles) -> np.ndarray:
    """The drain walker's flips ``[tile]`` (:func:`drain_walk_flips`), on the tiles that drain (their
    last K-tile)."""
    g = geometry(cfg)["C"]
    kinds = np.stack([tiles.ext(g.lane_dim), tiles.ext(g.other_dim)], axis=1).astype(np.int64)  # [tile, 2]
    unique, inverse = np.unique(kinds, axis=0, return_inverse=True)
    return np.where(tiles.last_k, drain_walk_flips(cfg, unique)[inverse.reshape(-1)], 0.0)
