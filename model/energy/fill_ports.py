"""The operand SRAMs' fill write ports beat by beat (hdl/controller.py, ``_fill``): every DRAM read beat's
words, each cut to the port's operand width (its low bits), shifted to the beat's lanes ``j bw ..`` of
the line and cut to the port's lanes, drive both fill ports (``fill_a_data``, ``fill_b_data``: each
SRAM's ``s_wr_data``, and the shadow half's write data), whichever tensor the beat carries; between
beats the read bus is zero and so are the ports."""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig
from systolic.geometry import geometry, operand_format


def _seen(cfg: ArrayConfig, beats: tuple):
    """Per port (A's, B's): its operand's bits and lanes and the beats as it sees them, ``(cycle, words,
    count, lane0, tensor)`` in time order."""
    order = np.argsort(beats[0], kind="stable")
    ordered = tuple(np.asarray(x)[order] for x in beats)
    for x in ("A", "B"):
        bits, _ = operand_format(cfg, x)
        yield bits, geometry(cfg)[x].lanes, ordered


def port_flips(cfg: ArrayConfig, beats: tuple) -> tuple[int, int]:
    """Bit flips of the ifmap and filter SRAMs' fill data ports over read beats ``(cycle, words, count,
    lane0, tensor)`` (``[beat]`` each but ``words[beat, lane]``, the bit patterns of the read bus's words;
    ``count`` words of the beat, from lane ``lane0`` of the line; ``tensor`` 0 for A, 1 for B).

    The bus changes between clock edges and the response walker's lanes at the edge that takes a beat,
    to the next beat's (the next tile's first beat and an idle walker's are at lane 0): a port shows a
    beat at its own lanes, then, until the next beat or the idle bus's zeros arrive, at the next beat's.
    Two beats' lanes are blocks of ``bw`` lanes that are the same or apart: where they are the same a
    port flips the XOR of the words, else the ones of both (each appears from and falls back to zero)."""
    out = []
    for bits, lanes, (cycle, words, _, lane0, _) in _seen(cfg, beats):
        if not cycle.size:
            return 0, 0
        nxt = np.r_[lane0[1:], 0]  # [beat] the walker's lanes after taking the beat
        offsets = np.arange(words.shape[1])
        data = words & np.uint64((1 << bits) - 1)

        here, moved = (np.where(at[:, None] + offsets < lanes, data, np.uint64(0)) for at in (lane0, nxt))
        ones_here = np.bitwise_count(here).sum(axis=1).astype(np.int64)
        ones_moved = np.bitwise_count(moved).sum(axis=1).astype(np.int64)
        xor = np.bitwise_count(here[1:] ^ moved[:-1]).sum(axis=1).astype(np.int64)  # same lanes
        joined = np.diff(cycle) == 1  # [beat - 1] the next beat follows in the next cycle
        flips = ones_here[0] + ones_moved[-1] + np.where(nxt != lane0, ones_here + ones_moved, 0).sum()
        flips += np.where(joined, xor, ones_moved[:-1] + ones_here[1:]).sum()
        out.append(int(flips))
    return out[0], out[1]


def form_flips(cfg: ArrayConfig, beats: tuple, rates: tuple) -> tuple[float, float]:
    """What the counts' form of :func:`~.activity._memory_features` charges the same beats, per port,
    with ``rates`` ``(switch, ones)[port][tensor]`` per bit: each word visible on the port its
    switching, each of a beat that moves twice its ones."""
    out = []
    for p, (bits, lanes, (_, _, count, lane0, tensor)) in enumerate(_seen(cfg, beats)):
        moves = np.r_[lane0[1:], 0] != lane0
        switch, ones = (np.asarray(r[p], dtype=float)[tensor.astype(np.int64)] for r in rates)  # [beat]
        visible = np.clip(np.minimum(lanes - lane0, count), 0, None)  # [beat] words on the port
        out.append(float(bits * (visible * (switch + 2 * moves * ones)).sum()))
    return out[0], out[1]
