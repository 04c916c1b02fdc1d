"""Data activity: the toggle features of whole layers, and the calibrated coefficients that turn them into
toggles per component class (:class:`Calibration`, fitted by ``systolic calibrate``). The statistics of
the data come from :mod:`.streams`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.geometry import BUFFER, geometry

from .announce import announce_flips
from .folds import _joined_columns, _joined_lanes
from .streams import COLUMN, STAT_COLUMNS
from .tables import ACTIONS, COMPONENT_CLASSES, _frozen

# --------------------------------------------------------------------------- toggles of whole layers
#
# The calibrated model: the bit toggles of each component class in a layer are a non-negative
# combination of a few physically motivated regressors (:data:`TOGGLE_FEATURES`), each an action count of
# the RTL (operand hops through the PE registers, MACs, SRAM and DRAM words, cycles) times the bits that
# action can switch times a statistic of the stream the component sees (:mod:`.streams`). A stream that
# a fold frames with zeros (the array's ports mask idle lanes) toggles ``hops x s + 2 x frames x o`` bits
# per bit of width: its switching between neighbours plus the ones of its first and last value. The
# coefficients are fitted per dataflow against the toggles of the RTL's own VCDs (``systolic
# calibrate``); with the statistics of the right stream each data coefficient is close to the number of
# registers or nets that carry the stream, which does not change with the array's size or the data.

#: Regressor names per class, in column order of :attr:`Calibration.coeffs` (missing columns are 0).
#: W is the operand streamed from the west (A, or B in IS), N the other one (streamed from the north in
#: OS, held in the PEs in WS and IS); b its bits, s its switching along its stream, o its ones, s' its
#: switching between consecutive non-zero values, z its zero fraction; p the share of MACs with two
#: non-zero operands; gs per MAC switching of a zero-gated input, x between random non-zero values, flag
#: per MAC toggles of the non-zero flag; g zero gating
#: (0/1); bP the product's bits (b_W + b_N), acc the accumulator's; pass: partial-sum register steps of
#: the rows a fold leaves unused (WS/IS: they pass the fold's sums down); still_X, moving_X: words of X's
#: fills seen on a fill port in beats that stay in place (one beat per line) or move along the line;
#: prod, psum, out: the product, partial-sum register and array output streams; array_s: the ofmap
#: SRAM's array-side data nets' flips per lane slot written (an emulation of its reads and writes);
#: d_X: switching of X on the DRAM bus; o_X: ones of X; [OS]: output stationary only.
TOGGLE_FEATURES: dict[str, tuple[str, ...]] = {
    "mult": (
        "(1-g) b_W (west_hops s_W + 2 west_frames o_W)",  # the multiplier's west operand, ungated
        # its other operand: OS the streamed one; WS/IS the held weight, which changes once per fold
        "(1-g) b_N (OS: north_hops s_N + 2 north_frames o_N; "
        "WS/IS: banked: (folds + tiles) PEs r_N, else north_hops s_N)",
        # gated: each input and its hold register change on non-zero pairs only, and jump once per fold
        # to the fold's first non-zero pair (not in PEs that see none); the non-zero flag
        # toggles on its own and around every fold (idle lanes are zero between folds). One regressor:
        # the nets' counts fix the weights of its parts.
        "g (2 b_W (macs gs_W + pe_frames j_W) + 2 b_N ([OS] macs gs_N + pe_frames j_N) + macs flag "
        "+ 2 pe_frames p), j: the held operands' jumps at a fold's first non-zero pair, per PE stream",
    ),
    "acc": (
        # the product: its zero edges at each fold's first and last product (e: ones of the edge values)
        "bP (macs s_prod + 2 pe_frames e_prod)",
        # accumulator / partial-sum register, and (WS/IS) the registers of rows a fold leaves unused, which
        # pass its sums down framed by zeros
        "acc (macs s_psum + pass s_pass + 2 pe_frames e_psum + 2 pass_frames e_pass), "
        "T - 1 switches per fold",
        # OS: the result registers, emulated per register in the fold order (without fold_overlap: the
        # accumulators' drain)
        "OS: folds R C acc res_s (drain acc s_out)",
        "macs",
    ),
    "fwd": (
        # the west operand's registers: every PE's a_out and the skew's lanes of the rows a fold uses, one
        # stream (apart they are collinear on the fitted arrays, whose skew-to-PE register ratio barely
        # changes: the fit split them 0 and 2.9, 12x6 off by 42%), and the fold tag that travels with it
        # (fold_overlap: every PE's a_tag_out and the tag skew's lanes, R C + R (R - 1) / 2 registers, a
        # pulse per fold in OS, the bank select in WS/IS: 2 or 1 toggles per register and fold)
        "b_W (west_hops s_W + 2 west_frames o_W + west_skew s_W + 2 west_skew_frames o_W) + tags",
        "b_N (north_hops s_N + 2 north_frames o_N)",  # b_out (OS) or weight registers (WS/IS)
        "OS: b_N (north_skew s_N + 2 frames o_N); WS/IS: acc (deskew s_deskew + 2 frames e_out)",
        "cycles",
    ),
    **{
        f"{buf}_sram": (
            "read_slots b s",  # the read port's lines along the array's stream
            # fills: every DRAM beat passes both fill ports (each X seen at the port's width b, within its
            # lanes): a word replaces the one bw before it in DRAM order at the same lanes, and a beat
            # that moves along the line shows its words at the next beat's lanes too, from the edge that
            # takes it until the next beat arrives (they appear there and vanish); f_p: the emulated
            # port's flips over these counts' (bursts' edges, tensor junctions, partial lines)
            "sum_X b ((still_X + moving_X) d_X + 2 moving_X o_X) f_p",
            # the fill address on the port and on each memory of the shadow half (one per lane in
            # conv_native's rotating ifmap SRAM, else one: mems), and the array side's addresses
            "(1 + mems) fill_addr",
            "(1 + mems) read_slots / lanes",  # the array side's read address, per line read
            # the fill port's lane enables: the controller drives both SRAMs' fill ports with every DRAM
            # beat, of either tensor (per beat, not per lane slot written)
            "read_beats",
            "cycles",
        )
        for buf in ("ifmap", "filter")
    },
    "ofmap_sram": (
        # the array side's data nets (each half's read and write port, a_rd_data, a_wr_data): whole lines
        # read (read-modify-write, and the drain's while the finished tile's half is selected) and written
        # in time order, jumps between unrelated lines included
        "write_slots acc array_s",
        "writes acc drain_s",  # the drain's read port: the write bus's lines, in the drain's order
        "read_slots",
        "write_slots",
        "cycles",
    ),
    "ctrl": (
        "cycles",
        "compute_cycles",
        "folds",
        "tiles",
        # the walker's own copies of what it announces (its time step and column base, the request
        # coordinates and the ports the line ends in): once
        "announce",
        # the controller keeps three copies of each DRAM request address (request, response, port): the
        # bits they flip per beat
        "write_beats a_wr",
        "drain_walk",  # the drain walker's lines, blocks, beats, lengths and flags, beat by beat
        # WS/IS: the output announcement's delay line, rows + cols stages, each showing the walker's
        # time step, column base, lanes and flags fold by fold (announce); serial sequencer: folds
        "(rows + cols) announce",
        "read_beats a_rd",
        "fill_masks",  # fill lane masks and enables, the read walker's beat state, beat by beat
    ),
    "dram": (
        "reads rd_bits d_rd",  # read data bus, beat by beat (idle cycles zero)
        "fills bw rd_bits (o_A + o_B)",  # bursts start and end at an idle (zero) bus (ones at its width)
        "writes acc d_wr",  # write data bus
        "read_beats a_rd",  # request addresses, beat after beat
        "write_beats a_wr",  # write addresses
    ),
}
N_TOGGLE_FEATURES = max(len(v) for v in TOGGLE_FEATURES.values())

#: When in a step each feature's toggles happen (the power model spreads them over that activity's window,
#: ``model/power.py``): ``whole`` the whole step, ``compute`` the array's tile, ``load`` the DRAM read
#: requests, ``fill`` the read data arriving and being written into the shadow halves (a DRAM latency
#: after the requests), ``drain`` the finished C read out and written to DRAM, ``results`` the array's
#: results written (and read back) into the ofmap SRAM.
ACTIVITIES: tuple[str, ...] = ("whole", "compute", "load", "fill", "drain", "results")
FEATURE_ACTIVITY: dict[str, tuple[str, ...]] = {
    "mult": ("compute",) * 3,
    "acc": ("compute",) * 4,
    "fwd": ("compute", "compute", "compute", "whole"),
    "ifmap_sram": ("compute", "fill", "fill", "compute", "fill", "whole"),
    "filter_sram": ("compute", "fill", "fill", "compute", "fill", "whole"),
    "ofmap_sram": ("results", "drain", "results", "results", "whole"),  # RMW reads: results
    "ctrl": (
        *("whole", "compute", "compute", "whole", "compute"),
        *("drain", "drain", "compute", "load", "fill"),
    ),
    "dram": ("fill", "fill", "drain", "load", "drain"),  # data when it arrives, requests when made
}
DATAFLOWS: tuple[str, ...] = ("os", "ws", "is")


@dataclass(frozen=True)
class LayerActivityCounts:
    """Per-layer counts that drive switching activity (``[layer]`` arrays, all repeats included).

    Attributes
    ----------
    macs : multiply-accumulates
    west_hops : PE-cycles in which the west operand moves one PE (every column of a fold's rows)
    north_hops : OS: PE-cycles in which the north operand moves one PE; WS/IS: weight-register writes
    west_frames, north_frames : how many of those PE streams a fold starts and ends (each is framed by the
        zeros of idle lanes); north_frames is 0 for WS/IS, whose weights are loaded, not streamed
    pe_frames : PE streams of products and partial sums (one per PE and fold)
    west_skew, other_skew : lane-register writes of the west skew and of the north skew (OS) or the
        output de-skew (WS/IS); west_skew_frames, other_skew_frames: their lane registers per fold
    drain : OS: accumulator shifts draining the folds (0 for WS/IS)
    cycles, compute_cycles, tiles, folds : layer cycles with stalls, the array's cycles, tiles, folds
    sram_reads, sram_writes : ``[buffer, layer]`` words, buffers ifmap, filter, ofmap
    sram_read_slots, sram_write_slots : ``[buffer, layer]`` lane slots of the SRAM lines those words are
        read from or written to (a line holds one array-port vector; a tile whose lane extent is not a
        multiple of the lanes leaves the rest of its last line stale, and the stale lanes ride along on
        the SRAM's data ports)
    dram_reads : ``[tensor, layer]`` words of A and B; dram_writes: ``[layer]`` words of C
    read_beats, write_beats : DRAM beats; fills: steps that read from DRAM (bursts on the read bus)
    psum_pass : WS/IS: partial-sum register steps of the rows a fold leaves unused; psum_pass_frames: their
        PE streams (one per passing PE and fold, framed by zeros as a used PE's)
    south : lane-cycles of the array's output port while the folds stream (columns used x time steps);
        south_frames: its lanes per fold
    fill_still, fill_moving : ``[port, tensor, layer]`` words of each tensor (A, B) that each fill port
        (ifmap's, filter's) carries in beats that stay at lane 0 (lines of one beat) or move along the line
    fill_addr : ``[port, layer]`` bit flips of the ifmap and filter SRAMs' fill address ports
        (:func:`~.fills.fill_addr_flips`)
    drain_walk : bit flips of the controller's drain walker and its registered copies
        (:func:`~.drain_walk.drain_flips`; the addresses apart)
    announce : WS/IS with ``fold_overlap``: bit flips of one stage of the sequencer's output announcement
        line (:func:`~.announce.announce_flips`); without ``fold_overlap``: folds
    fill_masks : bit flips of the controller's fill lane masks and enables and of its read walker's beat
        state (:func:`fill_mask_flips`)
    rows, cols, bw : the array's size and the DRAM bus's words (``[layer]``, for the features)
    """

    macs: np.ndarray
    west_hops: np.ndarray
    north_hops: np.ndarray
    west_frames: np.ndarray
    north_frames: np.ndarray
    pe_frames: np.ndarray
    west_skew: np.ndarray
    other_skew: np.ndarray
    west_skew_frames: np.ndarray
    west_joined: np.ndarray
    west_skew_joined: np.ndarray
    pe_joined: np.ndarray
    north_joined: np.ndarray
    other_skew_joined: np.ndarray
    other_skew_frames: np.ndarray
    drain: np.ndarray
    cycles: np.ndarray
    compute_cycles: np.ndarray
    tiles: np.ndarray
    folds: np.ndarray
    sram_reads: np.ndarray
    sram_writes: np.ndarray
    sram_read_slots: np.ndarray
    sram_write_slots: np.ndarray
    dram_reads: np.ndarray
    dram_writes: np.ndarray
    read_beats: np.ndarray
    write_beats: np.ndarray
    fills: np.ndarray
    psum_pass: np.ndarray
    psum_pass_frames: np.ndarray
    south: np.ndarray
    south_frames: np.ndarray
    fill_still: np.ndarray
    fill_moving: np.ndarray
    fill_masks: np.ndarray
    fill_addr: np.ndarray
    drain_walk: np.ndarray
    announce: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    bw: np.ndarray


def _rows(per_buffer: Mapping[str, np.ndarray], keys: tuple[str, ...]) -> np.ndarray:
    return np.stack([np.asarray(per_buffer[k], dtype=float) for k in keys])  # [buffer, layer]


def _array_counts(cfg: ArrayConfig, tiles) -> dict[str, np.ndarray]:
    """The array's counts of :class:`LayerActivityCounts` per tile ``{name: [tile]}``."""
    from ..cycles import GemmArrays, compute_cycles

    plan = compute_cycles(cfg, GemmArrays.of(tiles.mt, tiles.nt, tiles.kt)).plan  # [tile]
    r, c = cfg.rows, cfg.cols
    os_ = cfg.dataflow.value == "os"
    folds = plan.folds
    west_frames = plan.col_folds * plan.spatial_rows * c
    if os_:
        north = plan.row_folds * plan.spatial_cols * plan.temporal * r
        north_frames = plan.row_folds * plan.spatial_cols * r
    else:
        north = plan.spatial_rows * plan.spatial_cols * r
        north_frames = np.zeros_like(folds)
    unused_rows = plan.row_folds * r - plan.spatial_rows
    if os_:
        # the north skew: lane j delays by j; the lanes of columns a fold leaves unused are masked to zero
        cu_last = plan.spatial_cols - (plan.col_folds - 1) * c
        other_lanes = plan.row_folds * (
            (plan.col_folds - 1) * (c * (c - 1) // 2) + cu_last * (cu_last - 1) // 2
        )
    else:
        # the output de-skew delays column j by c - 1 - j: lanes of columns a fold leaves unused carry
        # the zeros of its unused PEs, so only the used columns' registers count
        cu_last = plan.spatial_cols - (plan.col_folds - 1) * c  # [tile] columns of the last column fold

        def deskew(cu):
            return cu * (c - 1) - cu * (cu - 1) // 2

        other_lanes = plan.row_folds * ((plan.col_folds - 1) * deskew(c) + deskew(cu_last))
    # the west skew delays lane r by r registers; the lanes of rows a fold leaves unused are masked to zero
    # in front of it, so only the used rows' registers carry the stream
    ru_last = plan.spatial_rows - (plan.row_folds - 1) * r  # [tile] rows of the last row fold

    def tri(n):
        return n * (n - 1) // 2

    west_lanes = plan.col_folds * ((plan.row_folds - 1) * tri(r) + tri(ru_last))
    joined, skew_joined, pe_joined = _joined_lanes(cfg, plan)
    if os_:
        north_joined, other_joined = _joined_columns(cfg, plan, tri)
    else:
        north_joined, other_joined = _joined_columns(cfg, plan, deskew)
    return {
        "macs": tiles.mt * tiles.nt * tiles.kt,
        "west_hops": west_frames * plan.temporal,
        "north_hops": north,
        "west_frames": west_frames,
        "north_frames": north_frames,
        "pe_frames": plan.spatial_rows * plan.spatial_cols,
        "west_skew": west_lanes * plan.temporal,
        "other_skew": other_lanes * plan.temporal,
        "west_skew_frames": west_lanes,
        "west_joined": joined * c,
        "pe_joined": pe_joined,
        "west_skew_joined": skew_joined,
        "north_joined": north_joined * r * os_,
        "other_skew_joined": other_joined,
        "other_skew_frames": other_lanes,
        "drain": folds * (r * r * c) * os_,
        "tiles": np.ones_like(folds),
        "folds": folds,
        "psum_pass": unused_rows * plan.spatial_cols * plan.temporal * (not os_),
        "psum_pass_frames": unused_rows * plan.spatial_cols * (not os_),
        "south": plan.row_folds * plan.spatial_cols * plan.temporal,
        "south_frames": plan.row_folds * plan.spatial_cols,
        "announce": announce_flips(cfg, plan) if cfg.fold_overlap else folds,
    }


def walk_counts(cfg: ArrayConfig, tiles) -> dict[str, np.ndarray]:
    """The controller's walkers' counts of :class:`LayerActivityCounts` per tile: ``fill_masks``
    (:func:`fill_mask_flips`), ``fill_addr`` ``[port, tile]`` (:func:`~.fills.fill_addr_flips`) and
    ``drain_walk`` (:func:`~.drain_walk.drain_flips`)."""
    from .drain_walk import drain_flips
    from .fills import fill_addr_flips, pair_flips

    loads, before, kind, inverse = tile_kind_pairs(cfg, tiles)
    return {
        "fill_masks": np.where(loads, pair_flips(cfg, before, kind)[inverse].astype(float), 0.0),
        "fill_addr": np.where(loads, fill_addr_flips(cfg, kind)[:, inverse], 0.0),
        "drain_walk": drain_flips(cfg, tiles),
    }


def fill_mask_flips(cfg: ArrayConfig, tiles) -> np.ndarray:
    """Bit flips ``[tile]`` of the controller's fill lane masks and enables and of its read walker's beat
    state while the tile is loaded (hdl/controller.py): a DRAM beat writes ``count`` words into its SRAM
    line from lane ``j bw`` (the line's j-th beat); each tensor's ``fill_x_wide_mask`` (``lanes + bw``
    bits) is the beat's lane mask for every beat of either tensor, held between beats (from the last
    tile's last beat), and ``fill_x_en`` its low ``lanes`` bits in x's own beats, zero otherwise; the
    walkers' ``j``, ``lane0``, ``len`` (request and response copies) and the ports' ``beat_mask`` hold
    the beat's. A tile's A burst comes before its B burst; a tile is one of few kinds (its loads and
    extents), so each pair of consecutive kinds is counted once, in closed form (:mod:`.fills`: the
    beats of a kind repeat a few patterns; a per-beat emulation gives the same numbers)."""
    from .fills import pair_flips

    loads, before, kind, inverse = tile_kind_pairs(cfg, tiles)
    flips = pair_flips(cfg, before, kind)  # [kind pair]
    return np.where(loads, flips[inverse].astype(float), 0.0)


def tile_kind_pairs(cfg: ArrayConfig, tiles) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The tiles' fill walks as pairs of kinds: ``loads`` ``[tile]`` (the tile loads an operand), the
    distinct pairs of (kind of the last tile loaded before, all -1 for none; the tile's kind) ``[pair,
    field]`` each, and ``inverse`` ``[tile]``, each tile's pair. A kind: which operands the tile loads, A's
    lines, and the lane and other extents of the operands it loads."""
    geo = geometry(cfg)
    kind = np.stack(
        [tiles.load_a, tiles.load_b, tiles.a_lines]
        + [tiles.ext(geo[x].lane_dim) for x in ("A", "B")]
        + [tiles.ext(geo[x].other_dim) for x in ("A", "B")],
        axis=1,
    ).astype(np.int64)  # [tile, field]
    kind[:, 3:] *= kind[:, [0, 1, 0, 1]] != 0  # extents of a tensor not loaded do not matter
    loads = (kind[:, 0] != 0) | (kind[:, 1] != 0)
    idx = np.where(loads, np.arange(loads.size), -1)
    prev = np.r_[-1, np.maximum.accumulate(idx)[:-1]]  # [tile] the last tile loaded before
    pairs = np.concatenate([np.where((prev >= 0)[:, None], kind[np.maximum(prev, 0)], -1), kind], axis=1)
    unique, inverse = _unique_rows(pairs)
    return loads, unique[:, : kind.shape[1]], unique[:, kind.shape[1] :], inverse.reshape(-1)


#: Fixed odd 64-bit multipliers of :func:`_unique_rows`' row keys (random, so that no small difference of
#: rows maps to the same key; seeded, so that the order of work is the same on every machine).
_ROW_KEY_MULT = np.random.default_rng(20261206).integers(0, 2**63, 32, dtype=np.uint64) * np.uint64(
    2
) + np.uint64(1)


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)`` for ``[n, field]`` integers, through a 1-D sort
    of one 64-bit key per row (a row's fields times fixed random odd multipliers, wrapping), checked exact:
    the rows of a key must all equal its first (else the 2-D unique). np.unique along an axis sorts the
    rows as records, 20x slower on the tens of thousands of tiles of a small array's network."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    mult = _ROW_KEY_MULT[: rows.shape[1]] if rows.shape[1] <= _ROW_KEY_MULT.size else None
    if mult is None:
        return np.unique(rows, axis=0, return_inverse=True)
    key = (rows.view(np.uint64) * mult).sum(axis=1, dtype=np.uint64)  # wraps modulo 2**64
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if not np.array_equal(rows[first][inverse], rows):
        return np.unique(rows, axis=0, return_inverse=True)
    order = np.lexsort(rows[first].T[::-1])  # the 2-D unique's order: rows ascending
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return rows[first][order], rank[inverse.reshape(-1)]


def activity_counts(cfg: ArrayConfig, gemm, memory=None) -> LayerActivityCounts:
    """Per-layer counts of ``gemm`` (a :class:`~systolic.model.cycles.GemmArrays`) on ``cfg``'s accelerator.

    Folds are those of each tile the memory system runs (``memory``, a
    :class:`~systolic.model.memory.MemoryResult`; computed when not given), summed per layer and
    multiplied by the layer's ``repeat``; SRAM, DRAM and cycle counts are the memory model's.
    """
    from ..memory import access_counts, memory_cycles

    if memory is None:
        memory = memory_cycles(cfg, gemm)
    tiles, steps = memory.schedule.tiles, memory.schedule.steps
    layers = gemm.m.size
    rep = np.asarray(gemm.repeat, dtype=float)

    def per_layer(values: np.ndarray, owner: np.ndarray) -> np.ndarray:
        return np.bincount(owner, weights=np.asarray(values, dtype=float), minlength=layers) * rep

    array = {name: per_layer(v, tiles.layer) for name, v in _array_counts(cfg, tiles).items()}
    per_tile_words = access_counts(cfg, tiles)
    slots = {"sram_reads": [], "sram_writes": []}
    for x, g in geometry(cfg).items():
        lane_ext = tiles.ext(g.lane_dim)
        fill = -(-lane_ext // g.lanes) * g.lanes / lane_ext  # [tile] lane slots per word
        for kind, rows in slots.items():
            rows.append(per_layer(per_tile_words[kind][BUFFER[x]] * fill, tiles.layer))
    still, moving = _fill_words(cfg, tiles, per_tile_words, layers, rep)
    buffers = ("ifmap", "filter", "ofmap")
    ones = np.ones(layers)
    return LayerActivityCounts(
        **array,
        cycles=np.asarray(memory.cycles, dtype=float),
        compute_cycles=np.asarray(memory.compute_cycles, dtype=float),
        sram_reads=_rows(memory.sram_reads, buffers),
        sram_writes=_rows(memory.sram_writes, buffers),
        sram_read_slots=np.stack(slots["sram_reads"]),
        sram_write_slots=np.stack(slots["sram_writes"]),
        dram_reads=_rows(memory.dram_reads, ("ifmap", "filter")),
        dram_writes=np.asarray(memory.dram_writes["ofmap"], dtype=float),
        read_beats=per_layer(steps.read_beats, steps.layer),
        write_beats=per_layer(steps.write_beats, steps.layer),
        fills=per_layer(steps.read_beats > 0, steps.layer),
        fill_still=still,
        fill_moving=moving,
        **{
            name: np.stack([per_layer(row, tiles.layer) for row in np.atleast_2d(v)]).reshape(
                np.shape(v)[:-1] + (layers,)
            )
            for name, v in walk_counts(cfg, tiles).items()
        },
        rows=ones * cfg.rows,
        cols=ones * cfg.cols,
        bw=ones * cfg.dram_bw_words_per_cycle,
    )


def _fill_words(cfg: ArrayConfig, tiles, words: dict, layers: int, rep: np.ndarray):
    """Words of A and B per fill port, in beats that stay in place and in beats that move (see
    :class:`LayerActivityCounts`), ``[port, tensor, layer]`` each.

    A beat writes at most ``bw`` words into one SRAM line at its lane offset; a line of one beat puts its
    words at lane 0 beat after beat, a longer line moves them along. Both fill ports see every beat (the
    controller drives them alike and enables one); a port of fewer lanes sees only the words that land
    within its lanes.
    """
    geo = geometry(cfg)
    bw = cfg.dram_bw_words_per_cycle
    still = np.zeros((2, 2, layers))
    moving = np.zeros((2, 2, layers))
    for y, x in enumerate(("A", "B")):
        g = geo[x]
        ext = tiles.ext(g.lane_dim).astype(float)  # [tile]
        loaded = words["dram_reads"][BUFFER[x]].astype(float)
        full = np.floor(ext / g.lanes) * g.lanes / ext  # share of the words in full lines
        part = ext % g.lanes  # lanes of the last, partial line
        moves = full * (g.lanes > bw) + (1 - full) * (part > bw)  # [tile] share of words in moving beats
        for p, port in enumerate(("A", "B")):
            lanes = geo[port].lanes
            seen_still = np.minimum(1.0, lanes / np.minimum(np.minimum(ext, g.lanes), bw))
            seen_moving = min(1.0, lanes / g.lanes)
            for out, share in ((still, (1 - moves) * seen_still), (moving, moves * seen_moving)):
                out[p, y] = np.bincount(tiles.layer, weights=loaded * share, minlength=layers) * rep
    return still, moving


class _Widths:
    """Bit widths of a config's streams: west (A; B in IS), the other operand, product, accumulator."""

    def __init__(self, cfg: ArrayConfig):
        self.a, self.b = float(cfg.input_bits), float(cfg.weight_bits)
        self.w, self.n = (self.b, self.a) if cfg.dataflow.value == "is" else (self.a, self.b)
        self.acc = float(cfg.acc_bits)


def _framed(
    bits: float, values, frames, joined, v, stream: str, edge: str = "o", switch: str = "s"
) -> np.ndarray:
    """Toggles of register streams of ``values`` in all over ``frames`` folds: a stream's T values per
    fold switch T - 1 times between them (``<stream>_<switch>``) and, framed by zeros, rise and fall once
    (``<stream>_<edge>``: the ones of the stream's values, or ``edge``, of those at the fold's edges);
    one of the ``joined`` that runs straight into the next fold switches once to its values instead
    (``<stream>_j``)."""
    return bits * (
        (values - frames) * v(f"{stream}_{switch}")
        + joined * v(f"{stream}_j")
        + 2 * (frames - joined) * v(f"{stream}_{edge}")
    )


def _tag_toggles(cfg: ArrayConfig, k: LayerActivityCounts) -> np.ndarray:
    """Toggles ``[layer]`` of the fold tag (``fold_overlap``): it travels with the west operand through
    the tag skew's lanes (R (R - 1) / 2 registers) and every PE's ``a_tag_out`` (R C), all of them in
    every fold whatever rows and columns it uses; in OS it marks a fold's last operands (a pulse: two
    toggles per register and fold), in WS/IS it is the bank select (one; a tile's end turns it once more,
    and the next tile's first fold keeps it). An 8x8 IS layer of 18 folds: 1,152 + 504, the RTL's."""
    if not cfg.fold_overlap:
        return np.zeros_like(k.folds)
    per_fold = 2.0 if cfg.dataflow.value == "os" else 1.0
    return per_fold * k.folds * (k.rows * k.cols + k.rows * (k.rows - 1) / 2)


def _array_features(cfg: ArrayConfig, k: LayerActivityCounts, v) -> dict[str, list[np.ndarray]]:
    """The PE classes' regressors (``v(name)``: a statistic's column)."""
    df = cfg.dataflow.value
    os_ = 1.0 if df == "os" else 0.0
    g = 1.0 if cfg.zero_gating else 0.0
    b = _Widths(cfg)
    west = _framed(b.w, k.west_hops, k.west_frames, k.west_joined, v, "w")
    west_skew = _framed(b.w, k.west_skew, k.west_skew_frames, k.west_skew_joined, v, "w")
    north = _framed(b.n, k.north_hops, k.north_frames, k.north_joined, v, "n")
    if df != "os" and cfg.fold_overlap:  # the bank registers: one write per fold
        north = b.n * k.folds * k.rows * k.cols * v("bankw_s")
    elif df != "os":  # the weight registers: shifted in, not streamed
        north = b.n * k.north_hops * v("n_s")
    if df != "os" and cfg.fold_overlap:
        # the multiplier's held operand is the bank the tag selects: it changes with every fold in every
        # PE (the tag passes along all rows and columns), from one bank's value to the other's; and at
        # every tile's end the tag turns to the other bank before the next tile's first fold writes it,
        # so each PE shows that bank's stale weight (two folds old) until the write: one swap more per tile
        held_mult = b.n * (k.folds + k.tiles) * k.rows * k.cols * v("bank_s")
    else:
        held_mult = b.n * k.north_hops * v("n_s")  # WS/IS shifting: the multiplier's input is the register
    if df == "os":  # the north skew's used lanes, one stream with the b_out registers (see west)
        north_skew = _framed(b.n, k.other_skew, k.other_skew_frames, k.other_skew_joined, v, "n")
        other_skew = np.zeros_like(k.macs)
    else:
        north_skew = np.zeros_like(k.macs)
        # the de-skew's lanes rise to a fold's first output and fall from its last (the edges' values),
        # and switch along its outputs as the de-skew weights the columns (deskew_s: column j's lane has
        # C - 1 - j registers)
        skew, frames, joined = k.other_skew, k.other_skew_frames, k.other_skew_joined
        other_skew = b.acc * (
            (skew - frames) * v("deskew_s") + joined * v("out_j") + 2 * (frames - joined) * v("out_edge")
        )
    # WS/IS: the switching along each fold's time steps from the fold walk (prod_f, psum_f)
    within = "s" if df == "os" else "f"
    prod = _framed(b.w + b.n, k.macs, k.pe_frames, k.pe_joined, v, "prod", "edge", within)
    # and the rows a fold leaves unused pass its outputs down, framed by zeros
    psum = _framed(b.acc, k.macs, k.pe_frames, k.pe_joined, v, "psum", "edge", within) + b.acc * (
        (k.psum_pass - k.psum_pass_frames) * v("pass_f") + 2 * k.psum_pass_frames * v("pass_edge")
    )
    if df == "os" and cfg.fold_overlap:
        # the accumulator shows a fold's running sums but its last (that goes to res) and returns to zero:
        # K - 2 switches and two zero edges per PE and fold, never joined
        psum = b.acc * ((k.macs - 2 * k.pe_frames) * v("psum_s") + 2 * k.pe_frames * v("psum_edge"))
    # the held operands' jumps at a fold's first non-zero pair, emulated in the RTL's fold order (per PE
    # stream: PEs that never see a non-zero pair in a fold do not jump)
    gated = (
        2 * b.w * (k.macs * v("gw_s") + k.pe_frames * v("gjump_w"))
        + 2 * b.n * (os_ * k.macs * v("gn_s") + k.pe_frames * v("gjump_n"))
        + k.macs * v("g_flag")
        + 2 * k.pe_frames * v("p_nz")
    )
    return {
        "mult": [
            (1 - g) * west,  # the multiplier's west input: the a_out stream
            (1 - g) * (north if df == "os" else held_mult),
            g * gated,
        ],
        "acc": [
            prod + (1 - os_) * psum,
            os_ * psum,
            os_ * b.acc * k.folds * k.rows * k.cols * v("res_s")
            if cfg.fold_overlap
            else os_ * k.drain * b.acc * v("out_s"),
            k.macs,
        ],
        "fwd": [
            west + west_skew + _tag_toggles(cfg, k),
            north + north_skew,
            other_skew,
            k.cycles,
        ],
    }


def _memory_features(cfg: ArrayConfig, k: LayerActivityCounts, v) -> dict[str, list[np.ndarray]]:
    """The SRAM, controller and DRAM classes' regressors (``v(name)``: a statistic's column)."""
    df = cfg.dataflow.value
    b = _Widths(cfg)
    reads = k.dram_reads.sum(axis=0)
    # each fill port (ifmap: A's width, filter: B's) takes its width's low bits of every beat's words
    port_bits = np.array([b.a, b.b])[:, None, None]
    switch = np.stack([[v("dram_a"), v("dram_ba")], [v("dram_ab"), v("dram_b")]]) * port_bits
    ones = np.stack([[v("a_o"), v("ba_o")], [v("ab_o"), v("b_o")]]) * port_bits  # [port, X, layer]
    fills = ((k.fill_still + k.fill_moving) * switch + 2 * k.fill_moving * ones).sum(axis=1)  # [port, layer]
    fills = fills * np.stack([v("fill_a"), v("fill_b")])
    # the array-side read port of each operand's SRAM sees it along the array's stream
    # memories per half: conv_native's ifmap SRAM has one per lane (hdl/buffer.py, rotate)
    mems = {"A": geometry(cfg)["A"].lanes if cfg.convs_native else 1, "B": 1}
    sram_switch = {"A": v("n_s") if df == "is" else v("w_s"), "B": v("w_s") if df == "is" else v("n_s")}
    out = {
        f"{buf}_sram": [
            k.sram_read_slots[i] * (b.a if x == "A" else b.b) * sram_switch[x],
            fills[i],
            (1 + mems[x]) * k.fill_addr[i],
            (1 + mems[x]) * k.sram_read_slots[i] / geometry(cfg)[x].lanes,
            k.read_beats,
            k.cycles,
        ]
        for i, (buf, x) in enumerate((("ifmap", "A"), ("filter", "B")))
    }
    out["ofmap_sram"] = [
        k.sram_write_slots[2] * b.acc * v("array_s"),
        # the drain's read port: the lines the DRAM write bus shows, whole (the bus shifts them to its lanes)
        k.dram_writes * b.acc * v("drain_s"),
        k.sram_read_slots[2],
        k.sram_write_slots[2],
        k.cycles,
    ]
    rd_bits = max(b.a, b.b)  # the read bus's words: both operands in two's complement of the wider width
    ones_rd = (v("a_o") if b.a >= b.b else v("ab_o"), v("b_o") if b.b >= b.a else v("ba_o"))
    out["ctrl"] = [
        k.cycles,
        k.compute_cycles,
        k.folds,
        k.tiles,
        k.announce,
        k.write_beats * v("addr_wr"),
        k.drain_walk,
        (k.rows + k.cols) * k.announce,
        k.read_beats * v("addr_rd"),
        k.fill_masks,
    ]
    out["dram"] = [
        reads * max(b.a, b.b) * v("dram_rd"),
        k.fills * k.bw * rd_bits * (ones_rd[0] + ones_rd[1]),
        k.dram_writes * b.acc * v("dram_wr"),
        k.read_beats * v("addr_rd"),
        k.write_beats * v("addr_wr"),
    ]
    return out


def toggle_features(cfg: ArrayConfig, counts: LayerActivityCounts, stats: np.ndarray) -> np.ndarray:
    """The regressors of :data:`TOGGLE_FEATURES`, ``[layer, class, feature]`` (bit toggles per coefficient).

    ``stats``: ``[layer, stat]`` or ``[stat]`` (:data:`~.streams.STAT_COLUMNS`) from
    :func:`~.streams.layer_stats` on real tensors, a profile, or :func:`~.defaults.default_stats`.
    """
    layers = counts.macs.size
    st = np.broadcast_to(np.asarray(stats, dtype=float), (layers, len(STAT_COLUMNS)))

    def v(name: str) -> np.ndarray:
        return st[:, COLUMN[name]]

    per_class = _array_features(cfg, counts, v) | _memory_features(cfg, counts, v)
    out = np.zeros((layers, len(COMPONENT_CLASSES), N_TOGGLE_FEATURES))  # [layer, class, feature]
    for ci, name in enumerate(COMPONENT_CLASSES):
        cols = per_class[name]
        out[:, ci, : len(cols)] = np.stack([np.broadcast_to(c, (layers,)) for c in cols], axis=-1)
    return out


@dataclass(frozen=True)
class Calibration:
    """Fitted toggle coefficients, ``coeffs[dataflow, class, feature]`` (:data:`DATAFLOWS`,
    :data:`COMPONENT_CLASSES`, :data:`TOGGLE_FEATURES`), non-negative. ``info`` says where they came from
    (calibration set, held-out errors); it does not enter any computation."""

    coeffs: np.ndarray
    info: Mapping = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = _frozen(np.asarray(self.coeffs, dtype=float))
        shape = (len(DATAFLOWS), len(COMPONENT_CLASSES), N_TOGGLE_FEATURES)
        if c.shape != shape:
            raise InputError(f"toggle coefficients must have shape {shape}, not {c.shape}")
        if not np.all(np.isfinite(c)) or np.any(c < 0):
            raise InputError("toggle coefficients must be finite and non-negative")
        object.__setattr__(self, "coeffs", c)

    def to_dict(self) -> dict:
        """Plain JSON-able form (coefficients rounded to 6 significant digits, so the bytes are stable)."""
        return {
            "format": "systolic-calibration",
            "version": 2,
            "features": {cls: list(TOGGLE_FEATURES[cls]) for cls in COMPONENT_CLASSES},
            "coefficients": {
                df: {
                    cls: [float(f"{v:.6g}") for v in self.coeffs[i, j, : len(TOGGLE_FEATURES[cls])]]
                    for j, cls in enumerate(COMPONENT_CLASSES)
                }
                for i, df in enumerate(DATAFLOWS)
            },
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: object, source: str | None = None) -> Calibration:
        """Read :meth:`to_dict`'s form; a wrong field is an :class:`InputError` naming it."""
        if not isinstance(data, dict) or data.get("format") != "systolic-calibration":
            raise InputError("not a systolic calibration file (no 'format': 'systolic-calibration')", source)
        if data.get("version") != 2:
            raise InputError(
                f"unsupported version {data.get('version')!r} (known: 2; regenerate it: 'make calibrate')",
                source,
                "version",
            )
        expected = {cls: list(TOGGLE_FEATURES[cls]) for cls in COMPONENT_CLASSES}
        if data.get("features") != expected:
            raise InputError(
                "fitted with other toggle features than this version of systolic has; regenerate it with "
                "'make calibrate'",
                source,
                "features",
            )
        coeffs = np.zeros((len(DATAFLOWS), len(COMPONENT_CLASSES), N_TOGGLE_FEATURES))
        table = data.get("coefficients")
        if not isinstance(table, dict):
            raise InputError("missing or malformed", source, "coefficients")
        for i, df in enumerate(DATAFLOWS):
            row = table.get(df)
            if not isinstance(row, dict):
                raise InputError("missing", source, f"coefficients.{df}")
            for j, name in enumerate(COMPONENT_CLASSES):
                values = row.get(name)
                where = f"coefficients.{df}.{name}"
                n = len(TOGGLE_FEATURES[name])
                if not isinstance(values, list) or len(values) != n:
                    raise InputError(f"must be a list of {n} numbers", source, where)
                for v in values:
                    number = isinstance(v, (int, float)) and not isinstance(v, bool)
                    if not number or not math.isfinite(v) or v < 0:
                        raise InputError(f"must be non-negative numbers, not {v!r}", source, where)
                coeffs[i, j, :n] = values
        info = data.get("info", {})
        return cls(coeffs, info if isinstance(info, dict) else {})


def feature_activity_matrix() -> np.ndarray:
    """One-hot ``[class, feature, activity]`` of :data:`FEATURE_ACTIVITY` (padding features: ``whole``)."""
    out = np.zeros((len(COMPONENT_CLASSES), N_TOGGLE_FEATURES, len(ACTIVITIES)))
    out[:, :, 0] = 1.0
    for c, name in enumerate(COMPONENT_CLASSES):
        for f, act in enumerate(FEATURE_ACTIVITY[name]):
            out[c, f] = 0.0
            out[c, f, ACTIVITIES.index(act)] = 1.0
    return out


def predict_toggles_by_activity(
    cfg: ArrayConfig,
    counts: LayerActivityCounts,
    stats: np.ndarray,
    calibration: Calibration,
    features: np.ndarray | None = None,
) -> np.ndarray:
    """Bit toggles ``[layer, activity, class]`` (:data:`ACTIVITIES`); summed over activities they are
    :func:`predict_toggles` (``features``: :func:`toggle_features` of the same arguments, if at hand)."""
    x = toggle_features(cfg, counts, stats) if features is None else features  # [layer, class, feature]
    beta = calibration.coeffs[DATAFLOWS.index(cfg.dataflow.value)]  # [class, feature]
    return np.einsum("lcf,cf,cfa->lac", x, beta, feature_activity_matrix())


def predict_toggles(
    cfg: ArrayConfig,
    counts: LayerActivityCounts,
    stats: np.ndarray,
    calibration: Calibration,
    features: np.ndarray | None = None,
) -> np.ndarray:
    """Bit toggles ``[layer, class]``: the regressors times the coefficients of the dataflow
    (``features``: :func:`toggle_features` of the same arguments, if at hand)."""
    x = toggle_features(cfg, counts, stats) if features is None else features  # [layer, class, feature]
    beta = calibration.coeffs[DATAFLOWS.index(cfg.dataflow.value)]  # [class, feature]
    return np.einsum("lcf,cf->lc", x, beta)


def fit_toggles(features: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Non-negative coefficients ``[class, feature]`` from ``features[sample, class, feature]`` and measured
    toggles ``[sample, class]`` by weighted least squares with Poisson weights (each sample's residual
    divided by the square root of its count: a count's noise grows as its square root, so long layers
    count more than short ones, but not in proportion to their size). Measured on the calibration set:
    relative weights (every layer alike) bias the summed held-out toggles of the SRAM classes by -16 to
    -19%, unweighted least squares lets the largest layers decide (DRAM +6%); Poisson weights keep every
    class within 10%. Non-negative: every regressor is a physical source of toggles, and a negative
    coefficient fitted to noise would extrapolate badly to large layers."""
    from scipy.optimize import nnls

    x = np.asarray(features, dtype=float)
    y = np.asarray(measured, dtype=float)
    out = np.zeros(x.shape[1:])
    for c in range(x.shape[1]):
        w = 1.0 / np.sqrt(np.maximum(y[:, c], 1.0))
        a = x[:, c, :] * w[:, None]
        scale = np.maximum(np.abs(a).max(axis=0), 1e-300)  # column scaling for a well-conditioned solve
        beta, _ = nnls(a / scale, y[:, c] * w)
        out[c] = beta / scale
    return out


def action_counts(cfg: ArrayConfig, counts: LayerActivityCounts) -> np.ndarray:
    """Counts ``[layer, action]`` of :data:`ACTIONS` for ``counts @ table`` (one energy table row each).

    ``multiply``, ``accumulate``: MACs; ``input_hop``: west-operand hops; ``weight_hop``: north hops (OS)
    or weight-register writes (WS, IS); ``psum_hop``: accumulator shifts of the OS drain or psum writes
    in the WS/IS output de-skew (in WS and IS the PE's psum register is the accumulator and is charged
    once, to ``accumulate``); SRAM: words; ``ctrl.cycle``: cycles; DRAM: words of ``word_bytes`` (a
    partial sum written back is ``ceil(acc_bits / 8) / word_bytes`` of them).
    """
    k = counts
    psum = k.drain if cfg.dataflow.value == "os" else k.other_skew
    c_words = math.ceil(cfg.acc_bits / 8) / cfg.word_bytes
    cols = {
        ("mult", "multiply"): k.macs,
        ("acc", "accumulate"): k.macs,
        ("fwd", "input_hop"): k.west_hops,
        ("fwd", "weight_hop"): k.north_hops,
        ("fwd", "psum_hop"): psum,
        ("ifmap_sram", "read"): k.sram_reads[0],
        ("ifmap_sram", "write"): k.sram_writes[0],
        ("filter_sram", "read"): k.sram_reads[1],
        ("filter_sram", "write"): k.sram_writes[1],
        ("ofmap_sram", "read"): k.sram_reads[2],
        ("ofmap_sram", "write"): k.sram_writes[2],
        ("ctrl", "cycle"): k.cycles,
        ("dram", "read"): k.dram_reads.sum(axis=0),
        ("dram", "write"): k.dram_writes * c_words,
    }
    return np.stack([np.asarray(cols[a], dtype=float) for a in ACTIONS], axis=-1)
