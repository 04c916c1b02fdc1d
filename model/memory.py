"""The memory system of the generated accelerator: tiles, double-buffered SRAMs and a DRAM port.

Per layer: total cycles including stalls, SRAM reads and writes per buffer, DRAM reads and writes per
tensor, exact against the RTL (``hdl/controller.py``). Vectorised over tiles; the only Python loop is over
distinct layer shapes (to plan their tiles).

Storage
-------
How A, B and C are laid out in DRAM and in the buffers is vocabulary, shared with the RTL:
:mod:`systolic.geometry` (an SRAM line holds one array-port vector; a tile with extents (El along the
lanes, Eo along the other axis) takes ``ceil(El / P) * Eo`` lines of P elements).

Tiles and steps
---------------
A layer C[M,N] = A[M,K] @ B[K,N] is cut into tiles of at most ``tm x tn x tk`` (:func:`plan_tiles`),
walked with n outermost, then m, then k. The controller runs *steps* separated by a barrier. Step s
(s = 0 .. S+1, S tiles) does, all starting in its first cycle:

* compute tile s-1 on the array (1 <= s <= S), reading A and B from the active halves and accumulating
  C in the active ofmap half (overwrite on the tile's first k-tile and first K-fold, else add);
* load tile s's A and B into the shadow halves (s < S), skipping an operand whose tile is the one just
  loaded (then its halves do not swap);
* drain tile s-2's C from the shadow ofmap half to DRAM (when tile s-2 was its output tile's last
  k-tile).

A convolution that reads its ifmap natively (``conv_native``, :mod:`systolic.model.band`) has tiles of whole
output rows (and whole filter rows, or whole k-lines across them); its A tile is a band of input rows for
every filter row, which the k-tiles of an m-tile share (A is loaded when m changes, not when k does),
everything else as below. On WS the band is ``a_runs`` input rows of ``a_run`` = W C words from word
``a_word0`` (``Tiles.a_pitch``: their SRAM row pitch, ``a_lines`` SRAM lines; beats
:func:`~systolic.model.band.pitched_fill_beats`); on OS and IS runs of ``rows * W'`` words of phase planes
(``a_word0``, ``a_run``, ``a_runs``; beats as for an im2col tile of ``a_run`` x ``a_runs``), or, when
the band's plane rows sit at a row pitch in the SRAM (OW != W', :func:`systolic.geometry.pixel_row_pitch`),
``a_rows`` plane rows of ``a_run`` = W' words a run (beats :func:`~systolic.model.band.pitched_fill_beats`
per run).

DRAM: one read request per cycle, data ``dram_latency_cycles`` later; one write beat per cycle; a beat
carries at most ``dram_bw_words_per_cycle`` words and never crosses an SRAM line. The engine takes the
step's tile in the barrier cycle that ends the step before and requests its first operands in that
cycle: they are read in the step's first cycle and on the array's ports one cycle later
(:func:`array_start_cycles`: the SRAM's read latency; the serial sequencer of ``fold_overlap = false``
latches a GEMM a cycle before it requests). Without ``tile_overlap`` a step lasts (cycles)

    1 + max(cc + start [compute], beats_read + L [load], beats_write + 1 [drain])

over the activities it has, where cc is the array's compute cycles for the tile
(:func:`~systolic.model.cycles.compute_cycles`) and start = :func:`array_start_cycles`: the barrier
falls in the cycle the last result is written to the ofmap SRAM (one cycle after it leaves the array).
A layer's cycles run from the first cycle ``busy`` is high to the last: one prologue cycle (the
controller's empty pipeline takes its first barrier) and then the steps. ``compute_cycles`` is what the
array needs with operands always ready, from the step's first cycle (the first operands' SRAM read) to the
last result's write into the ofmap SRAM; ``stall_cycles`` is the rest: the prologue, the exposed first
fill and last drain, and DRAM time beyond compute.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from systolic.config import ArrayConfig
from systolic.dataflow import MAPPINGS, TENSOR_DIMS
from systolic.errors import InputError
from systolic.geometry import (
    ADDR_BITS,
    BUFFER,
    OFFSET_FIELD,
    SRAM_FIELD,
    TENSORS,
    Geometry,
    geometry,
    native_conv,
)

from .band import band_fill, band_runs, pitched_fill_beats, plan_band
from .cycles import GemmArrays, compute_cycles
from .trail import trail_scan

#: Cycles from a result on the array's south port to its write into the ofmap SRAM (the read-modify-write
#: reads the line in the cycle the result leaves the array and writes it the next: ``hdl/accel.py``).
RESULT_WRITE_CYCLES = 1
#: The layer's first busy cycle, in which the controller's empty pipeline takes its first barrier.
PROLOGUE_CYCLES = 1


def _lines(ext_lane, ext_other, lanes: int):
    return -(-ext_lane // lanes) * ext_other


def _beats(ext_lane, ext_other, lanes: int, bw: int):
    """DRAM beats to move a tile: per line ceil(valid lanes / bw), never crossing a line."""
    full, rest = ext_lane // lanes, ext_lane % lanes
    return ext_other * (full * -(-lanes // bw) + -(-rest // bw))


@dataclass(frozen=True)
class TilePlan:
    """Tile sizes per layer (``tm``, ``tn``, ``tk``) and how many tiles each dimension has."""

    tm: np.ndarray  # [layer]
    tn: np.ndarray  # [layer]
    tk: np.ndarray  # [layer]
    count_m: np.ndarray  # [layer]
    count_n: np.ndarray  # [layer]
    count_k: np.ndarray  # [layer]
    native: tuple = ()  # [layer] the ConvShape of a layer that reads its ifmap natively, else None

    @property
    def tiles(self) -> np.ndarray:
        return self.count_m * self.count_n * self.count_k


@functools.lru_cache(maxsize=4096)
def _candidates(extent: int, granule: int) -> np.ndarray:
    """Tile sizes worth trying along one dimension: balanced splits into 1..q pieces, in granules
    (ascending; cached, read-only: layers and design points share them)."""
    q = -(-extent // granule)
    pieces = np.unique(np.concatenate([np.arange(1, min(q, 32) + 1), np.geomspace(1, q, 64).round()]))
    out = np.unique(np.minimum(extent, -(-q // pieces.astype(np.int64)) * granule))
    out.flags.writeable = False
    return out


def _granules(cfg: ArrayConfig) -> dict[str, int]:
    mp = MAPPINGS[cfg.dataflow]
    return {mp.spatial_rows: cfg.rows, mp.spatial_cols: cfg.cols, mp.temporal: 1}


def check_memory(cfg: ArrayConfig) -> None:
    """Config-level checks of the memory system (before any layer is looked at)."""
    if cfg.dram_latency_cycles < 1:
        raise InputError(
            f"dram_latency_cycles must be at least 1 for the memory system, not {cfg.dram_latency_cycles}",
            where="dram_latency_cycles",
        )


def plan_layer(
    cfg: ArrayConfig, m: int, n: int, k: int, layer: str = "layer", conv=None
) -> tuple[int, int, int]:
    """Tile sizes (tm, tn, tk) for one M x N x K layer (:func:`plan_conv_layer` without its verdict)."""
    return plan_conv_layer(cfg, m, n, k, layer, conv)[0]


def plan_conv_layer(
    cfg: ArrayConfig, m: int, n: int, k: int, layer: str = "layer", conv=None
) -> tuple[tuple[int, int, int], bool]:
    """Tile sizes (tm, tn, tk) for one M x N x K layer lowered from ``conv`` (a ConvShape or None), and
    whether it reads its ifmap natively (:func:`plan_tiles` of that one layer)."""
    plan = plan_tiles(cfg, GemmArrays.of(m, n, k, conv=[conv]), [layer])
    return (int(plan.tm[0]), int(plan.tn[0]), int(plan.tk[0])), plan.native[0] is not None


def _plan_options(cfg: ArrayConfig, m: int, n: int, k: int, layer: str, conv) -> tuple:
    """(im2col tile sizes, band candidates, im2col DRAM words, band DRAM words) of one M x N x K layer:
    the band plans (:func:`systolic.model.band.plan_band`: tile sizes, best first, all of the least
    traffic) of ``conv`` (the convolution the layer may read natively,
    :func:`~systolic.geometry.native_conv`, or None) when a band fits, else () and None.

    Every tensor's tile must fit one half of its buffer. Among the tile sizes that fit, the plan takes
    the one with the least DRAM traffic for the n, m, k walk (an operand tile is reloaded whenever it
    changes between consecutive tiles), then the fewest tiles, then the largest tk, tm, tn.

    Raises
    ------
    InputError
        A buffer cannot hold the operands of one fold (the smallest tile), or a tensor does not fit the
        DRAM address space.
    """
    check_memory(cfg)
    geo = geometry(cfg)
    dims = {"m": m, "n": n, "k": k}
    gran = _granules(cfg)
    for x, g in geo.items():
        size = dims[TENSOR_DIMS[x][0]] * dims[TENSOR_DIMS[x][1]]
        if g.offset + size > 1 << ADDR_BITS:
            raise InputError(
                f"{layer}: tensor {x} ({size} words from {g.offset}) is larger than the {ADDR_BITS}-bit "
                "DRAM address space",
                where=OFFSET_FIELD[x],
            )
        smallest = {d: min(dims[d], gran[d]) for d in dims}
        need = int(_lines(smallest[g.lane_dim], smallest[g.other_dim], g.lanes))
        if need > g.half_lines:
            need_bytes = 2 * need * g.lanes * g.element_bytes
            raise InputError(
                f"too small to hold one fold's operands of {layer}: {BUFFER[x]} needs {need_bytes} bytes "
                f"(two halves of {need} line(s) of {g.lanes} x {g.element_bytes} bytes), not "
                f"{getattr(cfg, SRAM_FIELD[x])}",
                where=SRAM_FIELD[x],
            )
    sizes = _best_tile(geo, dims, {d: _candidates(dims[d], gran[d]) for d in "mnk"})
    if conv is not None:
        bands = plan_band(cfg, geo, conv, n, k, _candidates(n, gran["n"]))
        if bands:
            return sizes, tuple(b[0] for b in bands), _traffic(dims, sizes), bands[0][1]
    return sizes, (), _traffic(dims, sizes), None


def _traffic(dims: dict[str, int], sizes: tuple[int, int, int]) -> int:
    """DRAM words of A and B read by the n, m, k walk of tiles of ``sizes`` (:func:`_best_tile`'s measure)."""
    m, n, k = dims["m"], dims["n"], dims["k"]
    tm_, tn_, tk_ = (-(-dims[d] // t) for d, t in zip("mnk", sizes, strict=True))
    return m * k * (tn_ if tm_ * tk_ > 1 else 1) + k * n * (tm_ if tk_ > 1 else 1)


def _best_tile(
    geo: dict[str, Geometry], dims: dict[str, int], cand: dict[str, np.ndarray]
) -> tuple[int, int, int]:
    """The plan's choice among the candidate sizes (ascending per dimension): the fitting (tm, tn, tk)
    with the least traffic, then the fewest tiles, then the largest tk, tm, tn.

    For a fixed (tm, tk), traffic and tile count never grow with tn and ties go to the larger tn, so the
    best tn is the largest that fits B's and C's halves (line counts grow with every extent, so the
    fitting tn form a prefix of the candidates). That leaves a search over (tm, tk) pairs only.
    """
    m, n, k = dims["m"], dims["n"], dims["k"]
    cm, cn, ck = cand["m"], cand["n"], cand["k"]

    def fits(x: str, ext: dict[str, np.ndarray]) -> np.ndarray:
        g = geo[x]
        return _lines(ext[g.lane_dim], ext[g.other_dim], g.lanes) <= g.half_lines

    n_fit_b = fits("B", {"k": ck[:, None], "n": cn[None, :]}).sum(axis=1)  # [tk] fitting tn candidates
    n_fit_c = fits("C", {"m": cm[:, None], "n": cn[None, :]}).sum(axis=1)  # [tm]
    sm, sk = (a.ravel() for a in np.meshgrid(cm, ck, indexing="ij"))  # [pair]
    n_fit = np.minimum.outer(n_fit_c, n_fit_b).ravel()  # [pair]
    ok = fits("A", {"m": sm, "k": sk}) & (n_fit > 0)
    sm, sk = sm[ok], sk[ok]
    sn = cn[n_fit[ok] - 1]
    tm_, tn_, tk_ = -(-m // sm), -(-n // sn), -(-k // sk)
    traffic = m * k * np.where(tm_ * tk_ > 1, tn_, 1) + k * n * np.where(tk_ > 1, tm_, 1)
    tiles = tm_ * tn_ * tk_
    best = np.lexsort((-sn, -sm, -sk, tiles, traffic))[0]
    return int(sm[best]), int(sn[best]), int(sk[best])


#: What the memory model keeps per tile (tiles, steps, access counts; measured: 262,144 tiles, 71 MB) and
#: takes (0.9 us a tile). It materialises every tile, so a GEMM of 1e15 MACs on an 8x8 array cannot run.
BYTES_PER_TILE = 300
SECONDS_PER_TILE = 0.9e-6


def tile_count(cfg: ArrayConfig, gemm: GemmArrays, names: list[str] | None = None) -> int:
    """How many tiles the memory model will lay out for ``gemm`` (cheap: one plan per distinct shape)."""
    return int(plan_tiles(cfg, gemm, names).tiles.sum())


def plan_tiles(cfg: ArrayConfig, gemm: GemmArrays, names: list[str] | None = None) -> TilePlan:
    """Tile sizes of every layer (each distinct shape planned once): the im2col plan, or a band plan of
    a convolution read natively: with ``conv_native = true`` wherever a band fits, with ``auto`` where it
    takes no more cycles in total and no more with the first fill and last drain hidden
    (:func:`_layer_cycles`: the steady cycles, but at least the DRAM port's busy cycles; a compute-bound
    layer does not trade array time for a shorter first fill, a DRAM-bound one takes the fewer words),
    fewer in one of them or else no more DRAM words.
    The band plan is the fastest (fewest cycles in total, then with the first fill hidden, then the
    first offered) of :func:`~systolic.model.band.plan_band`'s candidates: k-tile sizes of the same
    least DRAM traffic. All candidates are timed at once for all layers (the whole memory model: steps,
    DRAM bandwidth and latency; up to :data:`TIMED_PLAN_TILES` tiles a candidate); a layer whose first
    candidates are larger chooses untimed: the first band candidate, and under ``auto`` bands or im2col on
    DRAM words alone."""
    plans, _ = plan_tiles_for(cfg, gemm, names, [cfg.dram_bw_words_per_cycle], [cfg.dram_latency_cycles])
    return plans[0]


def plan_tiles_for(
    cfg: ArrayConfig, gemm: GemmArrays, names: list[str] | None, bw, latency
) -> tuple[list[TilePlan], np.ndarray]:
    """:func:`plan_tiles` of design points that differ from ``cfg`` only in DRAM bandwidth and latency
    (``bw``, ``latency``: ``[point]``): each shape's candidate plans are made once and timed for all
    points at once. Returns the distinct plans and ``[point]`` the index of each point's (the same plan
    as :func:`plan_tiles` of that point alone)."""
    layers = gemm.m.size
    blocks = gemm.block_counts
    convs = [native_conv(cfg, gemm.conv_of(i), int(blocks[i])) for i in range(layers)]
    keys = [(int(gemm.m[i]), int(gemm.n[i]), int(gemm.k[i]), convs[i]) for i in range(layers)]
    options: dict = {}
    for i, key in enumerate(keys):
        if key not in options:
            options[key] = _plan_options(cfg, *key[:3], names[i] if names else f"layer {i}", key[3])
    uniq = list(options)
    opts = [options[key] for key in uniq]
    # [point, key] the chosen band candidate, -1: im2col; untimed: the first band where bands are taken
    band = np.array([bool(o[1]) for o in opts], dtype=bool)  # [key]
    if cfg.conv_native is not True:  # bands read no more words
        band &= np.array([bool(o[1]) and o[3] <= o[2] for o in opts], dtype=bool)
    choice = np.repeat(np.where(band, 0, -1)[None, :], len(bw), axis=0)  # [point, key]
    auto = cfg.conv_native is not True
    # the timed keys' candidates: (key, band candidate or -1 for im2col) of each timed row
    rows = []
    for i, o in enumerate(opts):
        if not o[1] or not _tiles(uniq[i], o[0] if auto else o[1][0], o[1][0]):
            continue
        bands = [c for c, sizes in enumerate(o[1]) if c == 0 or _tiles(uniq[i], sizes)]
        if auto or len(bands) > 1:
            rows += [(i, -1)] * auto + [(i, c) for c in bands]
    if rows:
        key_of, cand = np.array(rows, dtype=np.int64).T  # [row]
        shapes = GemmArrays.of(*np.array([uniq[i][:3] for i in key_of]).T)
        sizes = np.array([opts[i][1][c] if c >= 0 else opts[i][0] for i, c in rows], dtype=np.int64)
        native = tuple(uniq[i][3] if c >= 0 else None for i, c in rows)
        cycles = _layer_cycles(cfg, shapes, sizes, native, bw, latency)  # [point, row, 2]
        timed, at = np.unique(key_of, return_inverse=True)  # [timed key], [row] its timed key
        b = cand >= 0  # [row] the band rows
        took = np.full((len(bw), timed.size, int(cand.max()) + 1, 2), np.iinfo(np.int64).max)
        took[:, at[b], cand[b]] = cycles[:, b]  # [point, timed key, band, 2]; absent candidates never win
        ok = took[..., 0] < np.iinfo(np.int64).max  # [point, timed key, band] the bands it may take
        if auto:  # those no slower than im2col, faster in total or hidden or else no more words
            im2col = np.zeros((len(bw), timed.size, 1, 2), dtype=np.int64)
            im2col[:, at[~b], 0] = cycles[:, ~b]
            words = np.array([opts[i][3] <= opts[i][2] for i in timed])[None, :, None]
            ok &= (took <= im2col).all(axis=3) & ((took < im2col).any(axis=3) | words)
        # of those, the fastest: fewest cycles in total, then with the fill hidden, then offered first
        order = np.broadcast_to(np.arange(took.shape[2]), ok.shape)
        best = np.lexsort((order, took[..., 1], took[..., 0], ~ok), axis=2)[..., :1]  # [point, timed key, 1]
        choice[:, timed] = np.where(np.take_along_axis(ok, best, axis=2), best, -1)[..., 0]
    pos = {key: i for i, key in enumerate(uniq)}
    col = np.array([pos[key] for key in keys], dtype=np.int64)  # [layer]
    choices, which = np.unique(choice[:, col], axis=0, return_inverse=True)  # [plan, layer], [point]
    plans = []
    for chosen in choices:
        sizes = np.array(
            [opts[c][1][b] if b >= 0 else opts[c][0] for c, b in zip(col, chosen, strict=True)],
            dtype=np.int64,
        )
        tm, tn, tk = sizes.reshape(-1, 3).T
        conv = tuple(key[3] if b >= 0 else None for key, b in zip(keys, chosen, strict=True))
        plans.append(TilePlan(tm, tn, tk, -(-gemm.m // tm), -(-gemm.n // tn), -(-gemm.k // tk), conv))
    return plans, which.reshape(-1)


#: Layers with more tiles than this (in the im2col plan or the first band candidate) choose between bands
#: and im2col on DRAM words only and take the first band candidate; other band candidates with more are not
#: timed (nor taken).
TIMED_PLAN_TILES = 4096


def _tiles(key: tuple, *plans: tuple[int, int, int]) -> bool:
    """Whether every plan of the M x N x K layer ``key`` has at most :data:`TIMED_PLAN_TILES` tiles."""
    return all(
        math.prod(-(-d // t) for d, t in zip(key[:3], p, strict=True)) <= TIMED_PLAN_TILES for p in plans
    )


def _layer_cycles(
    cfg: ArrayConfig, gemm: GemmArrays, sizes: np.ndarray, native: tuple, bw, latency
) -> np.ndarray:
    """[point, layer, 2] (total, hidden-fill) cycles of one GEMM of each layer with tiles of ``sizes``
    [layer, 3] (``native``: per layer the ConvShape read in bands, or None), stalls included, at each
    point's DRAM bandwidth and latency (``bw``, ``latency``: ``[point]``; the tiles are laid out once).

    Hidden-fill: the cycles the layer would take if its first fill and last drain overlapped its
    neighbours' work (a network prefetching its next layer; SCALE-Sim's cycles leave them out): the
    steady cycles (without the prologue, the first step, which is the first fill alone, and the last
    step's drain), but at least the DRAM port's busy cycles (read requests or write beats, whichever
    are more), which hiding the fill does not remove."""
    tm, tn, tk = sizes.T
    plan = TilePlan(tm, tn, tk, -(-gemm.m // tm), -(-gemm.n // tn), -(-gemm.k // tk), native)
    tiles = tiles_of(cfg, gemm, plan)
    lay = step_layout(tiles, gemm.m.size)
    last = np.append(lay.first[1:], lay.layer.size) - 1  # [layer] each layer's drain-only step
    bw, latency = (np.asarray(x, dtype=np.int64)[:, None] for x in (bw, latency))  # [point, 1]
    chunk = max(1, (1 << 21) // lay.layer.size)  # points timed at once: bounded [point, step] arrays
    out = []
    for s in range(0, bw.shape[0], chunk):
        read, write = step_beats(cfg, tiles, lay, bw[s : s + chunk])  # [point, step]
        timing = step_timing(cfg, tiles, lay, read, write, latency[s : s + chunk])
        cycles = timing.cycles  # [point, step]
        total = np.add.reduceat(cycles, lay.first, axis=1) + PROLOGUE_CYCLES  # [point, layer]
        exposed = cycles[:, lay.first] + (cycles - timing.trail)[:, last]
        port = np.maximum(
            *(np.add.reduceat(np.broadcast_to(b, cycles.shape), lay.first, axis=1) for b in (read, write))
        )
        out.append(np.stack([total, np.maximum(total - PROLOGUE_CYCLES - exposed, port)], axis=2))
    return np.concatenate(out)


def _compute_per_layer(cfg: ArrayConfig, tiles: Tiles, layers: int) -> np.ndarray:
    """[layer] compute cycles of one GEMM: the array's cycles with operands always ready, from the first
    operands' SRAM read to the last result's write into the ofmap SRAM (:func:`array_start_cycles` +
    :data:`RESULT_WRITE_CYCLES` around the array's cc). Without ``tile_overlap`` every tile pays them; with
    it tiles run back to back: each tile but the last for the step its compute activity makes
    (:func:`compute_activity`: the next tile's first operands follow as soon as the engine is ready, in WS
    and IS the cycle after this tile's last ones unless its last stationary rows are still loading,
    :func:`ready_shift`), the last one until its last result is written."""
    tiles_per_layer = np.bincount(tiles.layer, minlength=layers)
    ends = array_start_cycles(cfg) + RESULT_WRITE_CYCLES
    if not cfg.tiles_overlap:
        return _per_layer(tiles.compute_cycles, tiles.layer, layers) + tiles_per_layer * ends
    not_last = np.append(tiles.layer[1:] == tiles.layer[:-1], False)
    step = 1 + compute_activity(cfg, tiles.compute_cycles, ready_shift(cfg, tiles))  # [tile]
    return _per_layer(np.where(not_last, step, tiles.compute_cycles + ends), tiles.layer, layers)


@dataclass(frozen=True)
class Tiles:
    """Every tile of every layer, in execution order (one GEMM of each layer; repeats are identical)."""

    layer: np.ndarray  # [tile]
    m0: np.ndarray  # [tile] first row of A / C
    n0: np.ndarray  # [tile]
    k0: np.ndarray  # [tile]
    mt: np.ndarray  # [tile] extents
    nt: np.ndarray  # [tile]
    kt: np.ndarray  # [tile]
    load_a: np.ndarray  # [tile] bool: A's tile is loaded from DRAM (else reused)
    load_b: np.ndarray  # [tile] bool
    first_k: np.ndarray  # [tile] bool: first k-tile of its output tile
    last_k: np.ndarray  # [tile] bool: last k-tile: C is drained after it
    compute_cycles: np.ndarray  # [tile] cc
    a_pitch: np.ndarray  # [tile] conv_native WS: the band's SRAM row pitch in words, else -1
    a_lines: np.ndarray  # [tile] conv_native: the band's SRAM lines, else -1 (A is the im2col tile)
    # bands: a_runs runs of a_run words, the first from word a_word0 of A's DRAM region; -1 on other tiles.
    # WS (:func:`systolic.model.band.band_fill`): input rows of W C words, the next W C words on; OS and IS
    # (lanes along the pixels, :func:`systolic.model.band.band_runs`): C times the phases read runs of rows
    # W' words, each next one the phase layout's pitch on (:func:`systolic.geometry.phase_layout`); with a
    # row pitch (OW != W', ``a_pitch`` >= 0) each run is ``a_rows`` DRAM runs of ``a_run`` = W' words, the
    # next W' words on, plane row y from run word ``y * a_pitch`` in the SRAM
    a_word0: np.ndarray  # [tile]
    a_run: np.ndarray  # [tile]
    a_runs: np.ndarray  # [tile]
    a_rows: np.ndarray  # [tile] OS, IS pitched bands: plane rows a run; 1 on other bands, -1 on other tiles

    def ext(self, dim: str) -> np.ndarray:
        return {"m": self.mt, "n": self.nt, "k": self.kt}[dim]

    def origin(self, dim: str) -> np.ndarray:
        return {"m": self.m0, "n": self.n0, "k": self.k0}[dim]


def tiles_of(cfg: ArrayConfig, gemm: GemmArrays, plan: TilePlan) -> Tiles:
    """The tiles of every layer in the order the controller walks them (n, then m, then k innermost)."""
    count = plan.tiles
    layer = np.repeat(np.arange(count.size), count)  # [tile]
    j = np.arange(layer.size) - np.repeat(np.cumsum(count) - count, count)  # index within the layer
    cm, ck = plan.count_m[layer], plan.count_k[layer]
    i_n, i_m, i_k = j // (cm * ck), (j // ck) % cm, j % ck
    m0, n0, k0 = i_m * plan.tm[layer], i_n * plan.tn[layer], i_k * plan.tk[layer]
    mt = np.minimum(plan.tm[layer], gemm.m[layer] - m0)
    nt = np.minimum(plan.tn[layer], gemm.n[layer] - n0)
    kt = np.minimum(plan.tk[layer], gemm.k[layer] - k0)
    first = j == 0
    prev = np.roll(np.stack([i_m, i_n, i_k]), 1, axis=1)  # [3, tile] the previous tile's indices
    shared = np.array([c is not None for c in plan.native], dtype=bool)[layer] if plan.native else False
    load_a = first | (prev[0] != i_m) | ((prev[2] != i_k) & ~shared)  # a band serves all its k-tiles
    load_b = first | (prev[1] != i_n) | (prev[2] != i_k)
    cc = compute_cycles(cfg, GemmArrays.of(mt, nt, kt)).cycles_per_gemm
    pitch, lines, word0, run, runs, rows = (np.full_like(m0, -1) for _ in range(6))
    geo_a = geometry(cfg)["A"]
    for i, conv in enumerate(plan.native):
        if conv is None:
            continue
        mine = layer == i
        walk = band_runs if geo_a.lane_dim == "m" else band_fill  # OS, IS: a run per channel and phase read
        fill = walk(conv, geo_a.lanes, m0[mine], int(plan.tm[i]))
        fill = {"rows": 1} | fill  # OS and IS: plane rows a run (W' words each) when pitched
        for out, key in (
            (word0, "word0"),
            (run, "run"),
            (runs, "runs"),
            (lines, "lines"),
            (pitch, "pitch"),
            (rows, "rows"),
        ):
            out[mine] = fill[key]
    first_k, last_k = i_k == 0, i_k == ck - 1
    return Tiles(
        layer,
        m0,
        n0,
        k0,
        mt,
        nt,
        kt,
        load_a,
        load_b,
        first_k,
        last_k,
        cc,
        pitch,
        lines,
        word0,
        run,
        runs,
        rows,
    )


@dataclass(frozen=True)
class Steps:
    """The controller's steps, every layer's S + 2 of them, in order."""

    layer: np.ndarray  # [step]
    index: np.ndarray  # [step] s within the layer
    start: np.ndarray  # [step] first cycle, counted from the layer's first busy cycle
    cycles: np.ndarray  # [step]
    compute_tile: np.ndarray  # [step] global tile index computed in this step, -1 for none
    load_tile: np.ndarray  # [step] tile loaded, -1 for none
    drain_tile: np.ndarray  # [step] tile whose C is drained, -1 for none
    read_beats: np.ndarray  # [step] DRAM read requests
    write_beats: np.ndarray  # [step] DRAM write beats
    trail: np.ndarray  # [step] cycles until the previous tile's last result is in (tile_overlap), else 0


def tile_beats(cfg: ArrayConfig, tiles: Tiles, bw=None) -> dict[str, np.ndarray]:
    """DRAM beats to move each tile's A, B and C whole (before reuse is taken into account), at the
    config's bandwidth or at ``bw`` (a ``[point, 1]`` column gives ``[point, tile]`` arrays)."""
    geo = geometry(cfg)
    bw = cfg.dram_bw_words_per_cycle if bw is None else bw
    out = {x: _beats(tiles.ext(g.lane_dim), tiles.ext(g.other_dim), g.lanes, bw) for x, g in geo.items()}
    band = tiles.a_lines >= 0  # conv_native: the band's rows (WS), its runs per channel (OS)
    if geo["A"].lane_dim == "m":  # a run per channel and phase, in plane rows at a row pitch or whole
        rows = np.maximum(tiles.a_rows, 0)
        pitched = tiles.a_runs * pitched_fill_beats(tiles.a_pitch, tiles.a_run, rows, geo["A"].lanes, bw)
        whole = _beats(np.maximum(tiles.a_run, 0), tiles.a_runs, geo["A"].lanes, bw)
        runs = np.where(tiles.a_pitch >= 0, pitched, whole)
    else:
        runs = pitched_fill_beats(tiles.a_pitch, tiles.a_run, np.maximum(tiles.a_runs, 0), geo["A"].lanes, bw)
    out["A"] = np.where(band, runs, out["A"])
    return out


@dataclass(frozen=True)
class StepLayout:
    """Which tile each step computes, loads and drains (-1 for none): the steps without their timing."""

    layer: np.ndarray  # [step]
    index: np.ndarray  # [step] s within the layer
    first: np.ndarray  # [layer] index of the layer's first step
    n_steps: np.ndarray  # [layer] S + 2
    compute: np.ndarray  # [step]
    load: np.ndarray  # [step]
    drain: np.ndarray  # [step]


def step_layout(tiles: Tiles, layers: int) -> StepLayout:
    """Lay the tiles out as steps (see the module docstring): step s computes s-1, loads s, drains s-2."""
    count = np.bincount(tiles.layer, minlength=layers)  # [layer] S
    n_steps = count + 2
    layer = np.repeat(np.arange(layers), n_steps)  # [step]
    first = np.cumsum(n_steps) - n_steps
    index = np.arange(layer.size) - np.repeat(first, n_steps)
    base = (np.cumsum(count) - count)[layer]  # global index of the layer's tile 0
    s_count = count[layer]

    def tile_at(offset: int, valid: np.ndarray) -> np.ndarray:
        return np.where(valid, base + index - offset, -1)

    drain = tile_at(2, index >= 2)
    drain = np.where(drain >= 0, np.where(tiles.last_k[np.maximum(drain, 0)], drain, -1), -1)
    return StepLayout(
        layer,
        index,
        first,
        n_steps,
        tile_at(1, (index >= 1) & (index <= s_count)),
        tile_at(0, index < s_count),
        drain,
    )


def step_beats(cfg: ArrayConfig, tiles: Tiles, layout: StepLayout, bw) -> tuple[np.ndarray, np.ndarray]:
    """(read requests, write beats) of every step; ``bw`` a scalar or a ``[point, 1]`` column of
    bandwidths (then ``[point, step]`` arrays, for design points that share the tiles)."""
    beats = tile_beats(cfg, tiles, bw)
    read = np.where(tiles.load_a, beats["A"], 0) + np.where(tiles.load_b, beats["B"], 0)  # [(point,) tile]
    write = np.where(tiles.last_k, beats["C"], 0)
    load, drain = layout.load, layout.drain
    read_beats = np.where(load >= 0, read[..., np.maximum(load, 0)], 0)
    write_beats = np.where(drain >= 0, write[..., np.maximum(drain, 0)], 0)
    return read_beats, write_beats


def pipeline_cycles(cfg: ArrayConfig) -> int:
    """``tile_overlap``: cycles of a tile's results after the engine has requested its last operands and
    is ready for the next tile, before :func:`ready_shift`, P: R + C in WS and IS (the operands' way
    through the array); R + 1 in OS, counted from R + C - 1 cycles after the last fold's last operands
    (where the last fold's drain of R rows begins)."""
    if MAPPINGS[cfg.dataflow].stationary == "output":
        return cfg.rows + 1
    return cfg.rows + cfg.cols


def load_wait(cfg: ArrayConfig, tiles: Tiles) -> np.ndarray:
    """``tile_overlap``, WS and IS: ``[tile]`` cycles the array takes the next tile after the tile's last
    operands, while its one load walker still loads the last fold's stationary rows (``idle`` in
    ``hdl/fold_pipeline.py``): that load starts C - 1 cycles after the fold before streams (or with the
    tile's only fold, max(1, ru - C + 1) cycles before it streams) and lasts ru rows, so it ends
    max(0, min(C, ru) - 1 - T) cycles after the last fold's T time steps. 0 for OS."""
    mp = MAPPINGS[cfg.dataflow]
    if not cfg.tiles_overlap or mp.stationary == "output":
        return np.zeros_like(tiles.compute_cycles)
    sr = tiles.ext(mp.spatial_rows)
    ru_last = sr - (-(-sr // cfg.rows) - 1) * cfg.rows
    return np.maximum(0, np.minimum(cfg.cols, ru_last) - 1 - tiles.ext(mp.temporal))


def array_start_cycles(cfg: ArrayConfig) -> int:
    """Cycles from a step's first cycle to its tile's first operand data on the array's ports: 1, the
    operand SRAMs' read latency (the engine, ``hdl/fold_pipeline.py``, takes the tile in the barrier cycle
    and requests its first operands in that same cycle; they are read in the step's first cycle). The
    serial sequencer (``fold_overlap = false``, ``hdl/sequencer.py``) latches a GEMM before its first
    request: 2."""
    return 1 if cfg.fold_overlap else 2


def result_done_cycles(cfg: ArrayConfig, cc: np.ndarray) -> np.ndarray:
    """Cycles from a step's first cycle until its tile's last result is in the ofmap SRAM (the cycle after
    its write): the operands' start, the tile's cc array cycles, the write."""
    return cc + array_start_cycles(cfg) + RESULT_WRITE_CYCLES


def ready_shift(cfg: ArrayConfig, tiles: Tiles) -> np.ndarray:
    """``tile_overlap``: ``[tile]`` cycles the engine becomes ready for the next tile later (> 0) or earlier
    (< 0) than P cycles before the tile's last result (:func:`pipeline_cycles`). WS and IS:
    :func:`load_wait`. OS: the engine takes the next tile once its first fold may stream at once by the
    rule a next fold follows, its T operands ending R + C - 1 cycles after the last ones at the earliest
    (``gap`` in ``hdl/fold_pipeline.py``): min(R + C - 2, T' - 1) cycles earlier than R + C - 1 cycles
    after the last operands, T' the next tile's time steps (the layer's last tile: as soon as its walker
    is idle, R + C - 2 earlier)."""
    mp = MAPPINGS[cfg.dataflow]
    if mp.stationary != "output" or not cfg.tiles_overlap:
        return load_wait(cfg, tiles)
    spare = cfg.rows + cfg.cols - 2
    t_next = np.append(tiles.ext(mp.temporal)[1:], 0)  # [tile]
    has_next = np.append(tiles.layer[1:] == tiles.layer[:-1], False)
    return -np.where(has_next, np.minimum(spare, t_next - 1), spare)


def compute_activity(cfg: ArrayConfig, cc: np.ndarray, wait=0) -> np.ndarray:
    """Cycles of a step's compute activity (from its first cycle to its barrier) for tiles of ``cc`` array
    cycles: until the last result's write (the engine's ``done`` pulses in that cycle) or, with
    ``tile_overlap``, until the engine has requested the last operands and is ready for the next tile
    (its last operands' data one cycle later, then the P cycles of pipeline behind them;
    ``wait``: :func:`ready_shift`)."""
    if not cfg.tiles_overlap:
        return cc + array_start_cycles(cfg)
    return cc - pipeline_cycles(cfg) + array_start_cycles(cfg) - 1 + wait


@dataclass(frozen=True)
class StepTiming:
    """Every step's activities and length, ``[..., step]`` (0 where a step has no such activity)."""

    cycles: np.ndarray  # 1 + the longest of the activities
    compute: np.ndarray  # until the array is done (tile_overlap: has taken the last operands)
    load: np.ndarray  # until the last read data is in
    drain: np.ndarray  # from the end of the trail to the last write beat out
    trail: np.ndarray  # tile_overlap: until the previous step's tile's last result is in the ofmap SRAM


def step_timing(
    cfg: ArrayConfig, tiles: Tiles, layout: StepLayout, read_beats, write_beats, latency
) -> StepTiming:
    """Time every step (``latency`` broadcasts like the beats; leading axes are design points).

    A step lasts 1 + max(compute, load, trail + drain). Without ``tile_overlap`` the trail is 0 (the
    compute activity includes the last results). With it, step s's tile's last result is in the SRAM
    d = cc + 2 cycles into step s (:func:`result_done_cycles`), so step s+1 waits t = max(0, d - cycles
    of step s) for it (its drain of that tile starts then): a recurrence,
    :func:`systolic.model.trail.trail_scan`.
    """
    has = layout.compute >= 0
    cc = tiles.compute_cycles[np.maximum(layout.compute, 0)]  # [step]
    wait = ready_shift(cfg, tiles)[np.maximum(layout.compute, 0)]
    shape = np.broadcast_shapes(np.shape(read_beats), np.shape(write_beats), has.shape)
    compute = np.broadcast_to(np.where(has, compute_activity(cfg, cc, wait), 0), shape)
    load = np.where(read_beats > 0, read_beats + latency, 0)
    drain = np.broadcast_to(np.where(write_beats > 0, write_beats + 1, 0), shape)
    fixed = np.maximum(compute, load)
    if cfg.tiles_overlap:
        done = result_done_cycles(cfg, cc)  # the tile's last result is in the ofmap SRAM
        trail = trail_scan(np.where(has, done - 1 - fixed, -1), done - 1 - drain)
    else:
        trail = np.zeros(shape, dtype=np.int64)
    return StepTiming(np.maximum(fixed, trail + drain) + 1, compute, load, drain, trail)


def steps_of(cfg: ArrayConfig, tiles: Tiles, layers: int) -> Steps:
    """Lay the tiles out as steps and time them (see the module docstring)."""
    lay = step_layout(tiles, layers)
    read_beats, write_beats = step_beats(cfg, tiles, lay, cfg.dram_bw_words_per_cycle)
    timing = step_timing(cfg, tiles, lay, read_beats, write_beats, cfg.dram_latency_cycles)
    cycles = timing.cycles
    start = np.cumsum(cycles) - cycles
    start -= np.repeat(
        start[lay.first], np.diff(np.append(lay.first, cycles.size))
    )  # from each layer's first step
    start += PROLOGUE_CYCLES  # counted from the layer's first busy cycle
    return Steps(
        lay.layer,
        lay.index,
        start,
        cycles,
        lay.compute,
        lay.load,
        lay.drain,
        read_beats,
        write_beats,
        timing.trail,
    )


def cycles_per_gemm_for(
    cfg: ArrayConfig, tiles: Tiles, layers: int, bw: np.ndarray, latency: np.ndarray
) -> np.ndarray:
    """``[point, layer]`` cycles per GEMM for design points that differ from ``cfg`` only in DRAM
    bandwidth and latency (``bw``, ``latency``: ``[point]``): the same tiles, timed for all points at once."""
    lay = step_layout(tiles, layers)
    bw = np.asarray(bw, dtype=np.int64)[:, None]
    read_beats, write_beats = step_beats(cfg, tiles, lay, bw)
    latency = np.asarray(latency, dtype=np.int64)[:, None]
    cycles = step_timing(cfg, tiles, lay, read_beats, write_beats, latency).cycles
    return np.add.reduceat(cycles, lay.first, axis=1) + PROLOGUE_CYCLES


@dataclass(frozen=True)
class MemoryResult:
    """Per-layer results of the memory system (all repeats of a layer included, except ``*_per_gemm``)."""

    schedule: Schedule  # the plan, tiles and timed steps the numbers come from (traces and windows reuse it)
    cycles: np.ndarray  # [layer] total, stalls included
    cycles_per_gemm: np.ndarray  # [layer]
    compute_cycles: np.ndarray  # [layer] the array's cycles with operands always ready, from the first
    #                             operands' SRAM read to the last result's write (tile_overlap: tiles back
    #                             to back, each one's first operands as soon as the engine is ready
    #                             after the last of the one before: ready_shift)
    stall_cycles: np.ndarray  # [layer] cycles - compute_cycles
    sram_reads: dict[str, np.ndarray]  # buffer -> [layer] words read (ifmap/filter by the array;
    #                                    ofmap: read-modify-write plus drain to DRAM)
    sram_writes: dict[str, np.ndarray]  # buffer -> [layer] words written (ifmap/filter by DRAM fills)
    dram_reads: dict[str, np.ndarray]  # buffer -> [layer] words (ofmap: 0)
    dram_writes: dict[str, np.ndarray]  # buffer -> [layer] words (ifmap/filter: 0)
    macs: np.ndarray  # [layer]

    @property
    def plan(self) -> TilePlan:
        return self.schedule.plan

    @property
    def total_cycles(self) -> int:
        return int(self.cycles.sum())

    @property
    def dram_bandwidth(self) -> np.ndarray:
        """[layer] DRAM words moved per cycle, averaged over the layer."""
        words = sum(self.dram_reads.values()) + sum(self.dram_writes.values())
        return words / self.cycles


def _per_layer(values: np.ndarray, layer: np.ndarray, layers: int) -> np.ndarray:
    return np.bincount(layer, weights=values, minlength=layers).astype(np.int64)


def access_counts(cfg: ArrayConfig, tiles: Tiles) -> dict[str, dict[str, np.ndarray]]:
    """SRAM and DRAM words moved per tile: ``{'sram_reads': {buffer: [tile]}, ...}``."""
    mp = MAPPINGS[cfg.dataflow]
    spatial = {mp.spatial_rows: cfg.rows, mp.spatial_cols: cfg.cols}
    folds = {d: -(-tiles.ext(d) // size) for d, size in spatial.items()}
    size = {x: tiles.ext(TENSOR_DIMS[x][0]) * tiles.ext(TENSOR_DIMS[x][1]) for x in TENSORS}

    def passes(x: str) -> np.ndarray:  # how often the array touches each element of x
        out = np.ones_like(tiles.mt)
        for d, f in folds.items():
            if d not in TENSOR_DIMS[x]:
                out = out * f
        return out

    c_writes = size["C"] * passes("C")
    a_words = np.where(tiles.a_lines >= 0, tiles.a_run * tiles.a_runs * tiles.a_rows, size["A"])
    loaded = {"A": np.where(tiles.load_a, a_words, 0), "B": np.where(tiles.load_b, size["B"], 0)}
    drained = np.where(tiles.last_k, size["C"], 0)
    zero = np.zeros_like(tiles.mt)
    return {
        "sram_reads": {
            "ifmap": size["A"] * passes("A"),
            "filter": size["B"] * passes("B"),
            "ofmap": c_writes - np.where(tiles.first_k, size["C"], 0) + drained,
        },
        "sram_writes": {"ifmap": loaded["A"], "filter": loaded["B"], "ofmap": c_writes},
        "dram_reads": {"ifmap": loaded["A"], "filter": loaded["B"], "ofmap": zero},
        "dram_writes": {"ifmap": zero, "filter": zero, "ofmap": drained},
    }


@dataclass(frozen=True)
class Schedule:
    """Everything the traces and reports need: the plan, the tiles and the timed steps."""

    plan: TilePlan
    tiles: Tiles
    steps: Steps


def schedule(
    cfg: ArrayConfig, gemm: GemmArrays, names: list[str] | None = None, plan: TilePlan | None = None
) -> Schedule:
    """Plan (unless ``plan`` is given: :func:`plan_tiles_for`'s), tile and time every layer."""
    plan = plan_tiles(cfg, gemm, names) if plan is None else plan
    tiles = tiles_of(cfg, gemm, plan)
    return Schedule(plan, tiles, steps_of(cfg, tiles, gemm.m.size))


def memory_cycles(
    cfg: ArrayConfig, gemm: GemmArrays, names: list[str] | None = None, plan: TilePlan | None = None
) -> MemoryResult:
    """Cycles with stalls and access counts of every layer on the accelerator with its memory system
    (``plan``: the tile plan, if already made for ``cfg``)."""
    sched = schedule(cfg, gemm, names, plan)
    layers = gemm.m.size
    tiles, steps = sched.tiles, sched.steps
    per_gemm = _per_layer(steps.cycles, steps.layer, layers) + PROLOGUE_CYCLES
    compute = _compute_per_layer(cfg, tiles, layers)
    counts = access_counts(cfg, tiles)
    rep = gemm.repeat

    def total(kind: str) -> dict[str, np.ndarray]:
        return {b: _per_layer(v, tiles.layer, layers) * rep for b, v in counts[kind].items()}

    return MemoryResult(
        schedule=sched,
        cycles=per_gemm * rep,
        cycles_per_gemm=per_gemm,
        compute_cycles=compute * rep,
        stall_cycles=(per_gemm - compute) * rep,
        sram_reads=total("sram_reads"),
        sram_writes=total("sram_writes"),
        dram_reads=total("dram_reads"),
        dram_writes=total("dram_writes"),
        macs=gemm.macs,
    )


def access_windows(cfg: ArrayConfig, gemm: GemmArrays, sched: Schedule) -> dict[str, np.ndarray]:
    """First and last cycle of each kind of access per layer (SCALE-Sim's detailed-report columns).

    Keys ``'<buffer>_sram'`` and ``'<buffer>_dram'``; values ``[layer, 2]`` (start, stop), counted from the
    layer's first busy cycle (-1 where a layer has no such access). Array-side windows come from the
    fold timing of the first and last compute tiles (:func:`systolic.model.traces.array_windows`); DRAM
    windows from the steps.
    """
    from .traces import array_windows

    layers = gemm.m.size
    tiles, steps = sched.tiles, sched.steps
    out = {
        f"{b}_{kind}": np.full((layers, 2), -1, dtype=np.int64)
        for b in BUFFER.values()
        for kind in ("sram", "dram")
    }
    beats = tile_beats(cfg, tiles)
    for layer in range(layers):
        idx = np.flatnonzero(steps.layer == layer)
        comp = idx[steps.compute_tile[idx] >= 0]
        for s, col in ((comp[0], 0), (comp[-1], 1)):
            tile = tile_record(tiles, int(steps.compute_tile[s]))
            spans = array_windows(cfg, tile, int(steps.start[s]) + array_start_cycles(cfg))
            for name, span in spans.items():
                out[name.split("_")[0].lower() + "_sram"][layer, col] = span[col]
        loads = idx[steps.load_tile[idx] >= 0]
        t = steps.load_tile[loads]
        a_beats = np.where(tiles.load_a[t], beats["A"][t], 0)
        b_beats = np.where(tiles.load_b[t], beats["B"][t], 0)
        start = steps.start[loads]
        has_a, has_b = a_beats > 0, b_beats > 0
        if has_a.any():
            out["ifmap_dram"][layer] = start[has_a][0], (start + a_beats - 1)[has_a][-1]
        if has_b.any():
            out["filter_dram"][layer] = (
                (start + a_beats)[has_b][0],
                (start + a_beats + b_beats - 1)[has_b][-1],
            )
        drains = idx[steps.drain_tile[idx] >= 0]
        if drains.size:
            w = steps.write_beats[drains] + steps.trail[drains]
            out["ofmap_dram"][layer] = (
                steps.start[drains][0] + 1 + steps.trail[drains][0],
                (steps.start[drains] + w)[-1],
            )
    return out


def tile_record(tiles: Tiles, j: int) -> dict:
    """Origins and extents of tile ``j`` as plain ints (``m0``, ``mt``, ...; ``a_pitch``, ``a_lines``,
    ``a_word0``, ``a_run``, ``a_runs``, ``a_rows``: its conv_native band, -1 for an im2col tile)."""
    return {
        **{f"{d}0": int(tiles.origin(d)[j]) for d in "mnk"},
        **{f"{d}t": int(tiles.ext(d)[j]) for d in "mnk"},
        "a_pitch": int(tiles.a_pitch[j]),
        "a_lines": int(tiles.a_lines[j]),
        "a_word0": int(tiles.a_word0[j]),
        "a_run": int(tiles.a_run[j]),
        "a_runs": int(tiles.a_runs[j]),
        "a_rows": int(tiles.a_rows[j]),
    }
