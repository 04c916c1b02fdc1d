"""The fill walk's bit flips in closed form: the controller's fill lane masks, enables, read walker state
and SRAM line counters while a tile of a given kind is loaded (:func:`~.activity.fill_mask_flips`).

A tile's beats are regular: each tensor's lines are rows of equal lines but the last, each line a run of
beats of ``bw`` lanes, and the walkers count lines, line blocks and SRAM lines. The flips are sums over
consecutive beats, so they come from one line of each length (its beats' flips), the few kinds of steps
between lines and between the tensors (times how often they occur), and the counters' flips in closed
form: the cost is bounded by the tile kinds and the lanes, not by the beats. Exactly the per-beat
emulation's numbers (``tests/model/test_energy_fills.py`` keeps that emulation and compares).
"""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig
from systolic.geometry import geometry


def pair_flips(cfg: ArrayConfig, before: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Flips ``[kind]`` of loading a tile of each kind ``kinds[kind, field]`` (fields of
    :func:`~.activity.fill_mask_flips`) after one of ``before`` (all -1: none): its own beats' from an
    all-zero state, and, after another tile, what the held nets change from that tile's last beat to
    this one's first beyond starting from zero (the enables fall to zero between them either way)."""
    fills = FillBeats(cfg, kinds)
    return _kind_flips(fills) + np.where(before[:, 0] >= 0, _join_flips(FillBeats(cfg, before), fills), 0)


class FillBeats:
    """The fill walk's geometry on ``cfg`` and the beats of tile kinds ``kinds[kind, field]``
    (:func:`~.activity.fill_mask_flips`), as arrays ``[tensor, kind]`` (tensor y: 0 A, 1 B): each tensor's
    lines are rows of ``blocks`` lines (line block ``lb`` inner, line ``o`` outer, SRAM line ``lb eo + o``),
    all of ``lanes`` words but a row's last of ``part`` (conv_native A: ``a_lines`` lines of ``lanes``
    words); a line of ``v`` words takes ``ceil(v / bw)`` beats, beat j its lanes ``j bw ..``. A beat is
    ``(tensor, lane0, count)``."""

    def __init__(self, cfg: ArrayConfig, kinds: np.ndarray):
        geo = geometry(cfg)
        self.bw = cfg.dram_bw_words_per_cycle
        self.lanes = np.array([[geo[x].lanes] for x in ("A", "B")])  # [tensor, 1]
        # fill_x_addr: the response walker's line in each port's address bits
        self.addr_bits = tuple(max(geo[x].half_lines - 1, 1).bit_length() for x in ("A", "B"))
        el, eo = kinds[:, 3:5].T, kinds[:, 5:7].T  # [tensor, kind]
        blocks = -(-el // self.lanes)
        part = el - (blocks - 1) * self.lanes
        conv = np.array([kinds[:, 2] >= 0, np.zeros(len(kinds), bool)])  # conv_native A: lines of P words
        blocks, eo = np.where(conv, 1, blocks), np.where(conv, kinds[:, 2], eo)
        part = np.where(conv, self.lanes, part)
        self.present = (kinds[:, :2].T != 0) & (blocks * eo > 0)
        self.blocks, self.eo, self.part = (np.where(self.present, v, 1) for v in (blocks, eo, part))
        self.tensor = np.broadcast_to(np.arange(2)[:, None], self.eo.shape)

    def first(self, v: np.ndarray) -> tuple:
        """The first beat of lines of ``v`` words (``[tensor, kind]``)."""
        return self.tensor, np.zeros_like(v), np.minimum(self.bw, v)

    def last(self, v: np.ndarray) -> tuple:
        lo = (-(-v // self.bw) - 1) * self.bw
        return self.tensor, lo, v - lo

    def first_line(self) -> np.ndarray:
        return np.where(self.blocks > 1, self.lanes, self.part)

    def last_walk(self) -> tuple:
        """The walkers' ``(o, lb, line)`` in each tensor's last line."""
        return self.eo - 1, self.blocks - 1, self.blocks * self.eo - 1

    def intervals(self, beat: tuple, enable: bool):
        """Each fill port's wide mask (``lanes + bw`` bits, every beat) and, with ``enable``, its enable
        (``lanes`` bits, its own tensor's beats): ``(lo, hi)`` lane intervals."""
        t, lo, cnt = beat
        for y, lanes in enumerate(self.lanes[:, 0].tolist()):
            width = lanes + self.bw
            yield np.minimum(lo, width), np.minimum(lo + cnt, width)
            if enable:
                mine = t == y
                yield np.where(mine, np.minimum(lo, lanes), 0), np.where(mine, np.minimum(lo + cnt, lanes), 0)

    def state(self, beat: tuple) -> tuple:
        """The read walker's beat state: the beat's index in its line, first lane, length and beat mask."""
        _, lo, n = beat
        return lo // self.bw, lo, n, _beat_mask(n)

    def step(self, p: tuple, q: tuple, enable: bool = True) -> np.ndarray:
        """Flips from beat ``p`` to beat ``q`` in the next cycle (masks, enables, beat state; no walk)."""
        flips = 0
        for (a0, b0), (a1, b1) in zip(self.intervals(p, enable), self.intervals(q, enable), strict=True):
            both = np.maximum(0, np.minimum(b0, b1) - np.maximum(a0, a1))
            flips = flips + (b0 - a0) + (b1 - a1) - 2 * both
        return flips + 2 * sum(_pop(u, v) for u, v in zip(self.state(p), self.state(q), strict=True))

    def start(self, beat: tuple, enable: bool = True) -> np.ndarray:
        """Flips of a first beat from zero."""
        flips = sum(b - a for a, b in self.intervals(beat, enable))
        return flips + 2 * sum(_pop(v) for v in self.state(beat))

    def end(self, beat: tuple) -> np.ndarray:
        """The enables falling to zero after a last beat."""
        return sum(b - a for i, (a, b) in enumerate(self.intervals(beat, True)) if i % 2)

    def walk_from(self, walk: tuple) -> np.ndarray:
        """Flips of the walkers' ``(o, lb, line)`` (two copies) and the ports' addresses from ``walk`` to
        a tensor's first line (all zero)."""
        line = walk[2].astype(np.uint64)
        addr = sum(_pop(line & np.uint64((1 << b) - 1)) for b in self.addr_bits)
        return 2 * sum(_pop(v) for v in walk) + addr


def _beat_mask(n: np.ndarray) -> np.ndarray:
    """A port's beat mask of ``n`` lanes as the walker's state holds it (64 bits: a count of 64 or more
    wraps as NumPy's shift does on the machine)."""
    return (np.uint64(1) << np.asarray(n).astype(np.uint64)) - np.uint64(1)


def _pop(u, v=None) -> np.ndarray:
    """Bits set in ``u`` (or in ``u ^ v``), as int64."""
    x = np.asarray(u).astype(np.uint64)
    if v is not None:
        x = x ^ np.asarray(v).astype(np.uint64)
    return np.bitwise_count(x).astype(np.int64)


def _counter_bit_flips(start: np.ndarray, n: np.ndarray, d: np.ndarray | int, bits: int) -> np.ndarray:
    """``sum(popcount(x ^ (x + d)) for x in range(start, start + n))`` per bit ``[..., bit]`` (bits
    ``0 .. bits - 1``; ``x + d >= 0``), in closed form: bit b of x and x + d differ on a fixed share of
    each period of ``P = 2**(b + 1)`` values of x, an interval of ``min(r, P - r)`` just below each half
    period (``r = d mod P``, or, for ``r > P / 2``, just above each period's and half period's start)."""
    start, n = np.asarray(start)[..., None], np.maximum(np.asarray(n), 0)[..., None]
    period = np.int64(2) << np.arange(bits, dtype=np.int64)  # [bit]
    half = period // 2
    r = np.asarray(d)[..., None] % period
    width = np.minimum(r, period - r)
    low = r <= half
    at = (np.where(low, half - r, 0), np.where(low, period - r, half))  # the two intervals' starts

    def below(t):  # count of x in [0, t)
        u = t % period
        inside = sum(np.clip(u - a, 0, width) for a in at)
        return (t // period) * 2 * width + inside

    return below(start + n) - below(start)


def _line_walk(fb: FillBeats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The walkers' counters' flips per bit ``[tensor, kind, bit]`` over each tensor's lines: ``o``, ``lb``
    and the SRAM line (:func:`_walk_flips`)."""
    eo, blocks = fb.eo, fb.blocks
    zero, one, d = np.zeros_like(eo), np.ones_like(eo), (blocks - 1) * eo
    start, n, step = (
        np.stack(v)
        for v in zip(
            (zero, eo - 1, one), (zero, blocks - 1, one), (zero, d, eo), (one, eo - 1, d - 1), strict=True
        )
    )
    bits = max(int((start + n + np.abs(step)).max(initial=1)).bit_length() + 1, max(fb.addr_bits))
    o, lb, line, row_end = _counter_bit_flips(start, n, step, bits)  # [tensor, kind, bit] each
    return o, lb, line + row_end


def fill_addr_flips(cfg: ArrayConfig, kinds: np.ndarray) -> np.ndarray:
    """Flips ``[port, kind]`` of the ifmap and filter SRAMs' fill address ports (``fill_a_addr``,
    ``fill_b_addr``: the response walker's SRAM line in each port's address bits) while a tile of each
    kind is loaded: each tensor's walk over its lines from line 0, back to 0 after its last beat."""
    fb = FillBeats(cfg, kinds)
    line = _line_walk(fb)[2]  # [tensor, kind, bit]
    last = (fb.blocks * fb.eo - 1).astype(np.uint64)  # [tensor, kind]
    out = []
    for b in fb.addr_bits:
        walk = line[..., :b].sum(axis=-1) + _pop(last & np.uint64((1 << b) - 1))
        out.append(np.where(fb.present, walk, 0).sum(axis=0))
    return np.stack(out)


def _walk_flips(fb: FillBeats) -> np.ndarray:
    """Flips ``[tensor, kind]`` of the walkers' ``(o, lb, line)`` (two copies) and the ports' addresses
    over each tensor's lines: o counts rows, lb counts each row's lines and returns to zero, and the SRAM
    line ``lb eo + o`` steps by ``eo`` within a row (x to x + eo for x in ``0 .. (blocks - 1) eo``) and
    back to ``o + 1`` after it (``D + o`` to ``o + 1``, D = ``(blocks - 1) eo``)."""
    eo, blocks = fb.eo, fb.blocks
    o, lb, line = _line_walk(fb)
    lb = eo * lb.sum(axis=-1) + (eo - 1) * _pop(blocks - 1)
    addr = sum(line[..., :b].sum(axis=-1) for b in fb.addr_bits)
    return 2 * (o.sum(axis=-1) + lb + line.sum(axis=-1)) + addr


def _line_flips(fb: FillBeats, v: np.ndarray) -> np.ndarray:
    """Flips ``[..., tensor, kind]`` between the beats of one line of ``v`` words: consecutive beats' lane
    intervals are adjacent (each port's mask flips both beats' lanes, clipped to its width), the beat
    index and first lane count up (summed over a table of the first beats' flips), the length and beat
    mask change at the last beat only."""
    bw, nb = fb.bw, -(-v // fb.bw)
    flips = np.zeros_like(v)
    for p, lanes in enumerate(fb.lanes[:, 0].tolist()):
        for width, mine in ((lanes + bw, True), (lanes, fb.tensor == p)):
            size = np.minimum(v, width)
            first = np.minimum(np.minimum(bw, v), width)
            last = size - np.minimum((nb - 1) * bw, width)
            flips = flips + np.where(mine, 2 * size - first - last, 0)
    j = np.arange(int(nb.max(initial=1)), dtype=np.int64)
    table = np.r_[0, np.cumsum(_pop(j, j + 1) + _pop(j * bw, (j + 1) * bw))]  # [beats - 1] index, lane0
    cnt, full = v - (nb - 1) * bw, np.full_like(v, bw)
    ends = _pop(full, cnt) + _pop(_beat_mask(full), _beat_mask(cnt))
    return flips + 2 * (table[nb - 1] + np.where(nb > 1, ends, 0))


def _tensor_flips(fb: FillBeats) -> np.ndarray:
    """Flips ``[tensor, kind]`` within each tensor's beats of a tile: its lines' own beats, the steps
    between lines (a row's lines of ``lanes`` words, its last of ``part``), the walkers' counters."""
    blocks, eo, part = fb.blocks, fb.eo, fb.part
    full = np.broadcast_to(fb.lanes, part.shape)
    within = (blocks - 1) * eo * _line_flips(fb, full) + eo * _line_flips(fb, part)
    multi = blocks > 1
    # steps full -> full, full -> part (within rows), part -> full (between rows), part -> part (rows of one)
    pairs = ((full, full), (full, part), (part, full), (part, part))
    times = np.stack(
        [
            np.where(multi, (blocks - 2) * eo, 0),
            np.where(multi, eo, 0),
            np.where(multi, eo - 1, 0),
            np.where(multi, 0, eo - 1),
        ]
    )
    last = fb.last(np.stack([p for p, _ in pairs]))
    first = fb.first(np.stack([q for _, q in pairs]))
    joins = (times * fb.step(last, first)).sum(axis=0)
    return within + joins + _walk_flips(fb)


def _ends(fb: FillBeats) -> tuple[tuple, tuple, tuple]:
    """Each kind's first beat, last beat and last walk (A's first unless only B is loaded, B's last
    unless only A is)."""
    a, b = fb.present
    first = tuple(np.where(a, u[0], u[1]) for u in fb.first(fb.first_line()))
    last = tuple(np.where(b, u[1], u[0]) for u in fb.last(fb.part))
    walk = tuple(np.where(b, u[1], u[0]) for u in fb.last_walk())
    return first, last, walk


def _kind_flips(fb: FillBeats) -> np.ndarray:
    """Flips ``[kind]`` of loading a tile of each kind from an all-zero state: A's beats, then B's in the
    next cycles, the enables falling to zero after the last."""
    a, b = fb.present
    flips = np.where(fb.present, _tensor_flips(fb), 0).sum(axis=0)
    last_a = tuple(u[0] for u in fb.last(fb.part))
    first_b = tuple(u[1] for u in fb.first(fb.first_line()))
    ab = fb.step(last_a, first_b) + fb.walk_from(tuple(u[0] for u in fb.last_walk()))
    first, last, _ = _ends(fb)
    return flips + np.where(a & b, ab, 0) + fb.start(first) + fb.end(last)


def _join_flips(fb_before: FillBeats, fb: FillBeats) -> np.ndarray:
    """What loading each kind after one of ``fb_before``'s changes beyond starting from zero: the held
    masks, beat state and walk go from the last tile's last beat to this one's first (the enables fall
    to zero between them either way)."""
    _, last, walk = _ends(fb_before)
    first = _ends(fb)[0]
    flips = fb.step(last, first, enable=False) + fb.walk_from(walk) - fb.start(first, enable=False)
    return np.where(fb_before.present.any(axis=0), flips, 0)
