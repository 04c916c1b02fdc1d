"""Mappings of a network's layers onto a chip's tiles, and their evaluation, vectorised over mappings.

A mapping cuts the layers (in network order) into contiguous stages, gives every stage ``g >= 1`` tiles and
places the stages on the grid: ``order`` lists tile ids, stage 0 takes the first ``g_0`` of them, stage 1
the next ``g_1``, ... Inside a stage every layer is split over the stage's tiles (by M or N,
:mod:`.costs`), one layer after the other; between stages the activations of one batch item stream over
the NoC while the stages work on different items (an inter-layer pipeline). Layer-sequential mapping is
the one-stage case (every layer over all tiles); the pipelined one is the best balanced cut
(:func:`pipelined`); residual branches are taken in network order.

Evaluation (:func:`evaluate`) turns every mapping into a tandem line (:mod:`.schedule`) of ``2T - 1``
servers: stage ``s`` at ``2s``, its outgoing link at ``2s + 1``. Per item:

* stage: the sum of its layers' share cycles and one start cycle per layer (the accelerator's ``busy`` rises
  the cycle after its ``start``, which is taken in the previous layer's ``done`` cycle at the earliest:
  :mod:`systolic.hdl.chip`, whose timing the cosim checks cycle for cycle), plus, between two layers of a
  stage on ``g > 1`` tiles, the all-gather of the previous layer's output (``(g - 1) / g`` of it into every
  tile over one link, and the group's diameter in hops). The share cycles are those of the tile at its
  fixed lane of the shared DRAM (:meth:`~systolic.chip_config.ChipConfig.lane_tile`: a static partition
  of the channels, no contention by construction), so the shared DRAM needs no separate bound. A stage's
  input from the NoC and its output to the NoC do not touch DRAM, and every item reads every layer's
  weights from DRAM again, as the RTL's tiles do (the accelerator loads B for every layer it runs);
* link: hops x hop latency between the last tile of stage ``s`` and the first of ``s + 1`` (XY routing),
  plus the output words over ``min(g_s, g_s+1)`` links in parallel;
* buffers: a stage hands its item straight to its link (no buffer); the next stage's input FIFO holds
  ``fifo_depth`` items; the last stage writes to DRAM (unbounded).

Energy: per item the tiles' dynamic energy and the wire energy of every word-hop (Keckler et al. 2011,
:mod:`systolic.chip_config`), and every tile's leakage over the whole run (no power gating).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.chip_config import ChipConfig

from ..floorplan import floorplan_for
from .costs import TileCosts
from .schedule import UNBOUNDED, Tandem, tandem

#: A layer occupies its tile one cycle before its share cycles: the cycle its ``start`` is taken in
#: (``hdl/accel.py``: ``busy`` from the cycle after ``start``; ``hdl/chip.py``'s sequencer).
LAYER_START_CYCLES = 1


@dataclass(frozen=True, eq=False)
class Mappings:
    """``M`` mappings of ``L`` layers on ``T`` tiles (module docstring).

    Attributes
    ----------
    stage_of : numpy.ndarray
        ``[mapping, layer]`` stage of every layer: starts at 0, steps by 0 or 1.
    tiles : numpy.ndarray
        ``[mapping, T]`` tiles of every stage (0 past the last stage); at most ``T`` in all.
    order : numpy.ndarray
        ``[mapping, T]`` tile ids in placement order.
    """

    stage_of: np.ndarray
    tiles: np.ndarray
    order: np.ndarray

    @property
    def count(self) -> int:
        return int(self.stage_of.shape[0])

    @property
    def stages(self) -> np.ndarray:
        return self.stage_of[:, -1] + 1

    def take(self, index) -> Mappings:
        index = np.atleast_1d(index)
        return Mappings(self.stage_of[index], self.tiles[index], self.order[index])

    def first_position(self) -> np.ndarray:
        """``[mapping, stage]`` where each stage's tiles start in ``order``."""
        return np.cumsum(self.tiles, axis=1) - self.tiles

    def tile_stage(self) -> np.ndarray:
        """``[mapping, tile id]`` stage on every tile (-1: unused)."""
        n_map, n_tiles = self.order.shape
        ends = np.cumsum(self.tiles, axis=1)  # [mapping, stage]
        pos_stage = (np.arange(n_tiles)[None, None, :] >= ends[:, :, None]).sum(axis=1)  # [mapping, pos]
        pos_stage = np.where(pos_stage < self.stages[:, None], pos_stage, -1)
        out = np.full((n_map, n_tiles), -1)
        np.put_along_axis(out, self.order, pos_stage, axis=1)
        return out

    def describe(self, index: int = 0) -> str:
        """``stages: layers 0-3 on 2 tiles | ...`` for one mapping."""
        parts = []
        for s in range(int(self.stages[index])):
            layers = np.flatnonzero(self.stage_of[index] == s)
            parts.append(f"layers {layers[0]}-{layers[-1]} on {int(self.tiles[index, s])}")
        return " | ".join(parts)


def snake_order(chip: ChipConfig) -> np.ndarray:
    """``[T]`` tile ids row by row, every other row backwards: neighbours in the order are neighbours on
    the grid."""
    grid = np.arange(chip.tiles).reshape(chip.rows, chip.cols)
    grid[1::2] = grid[1::2, ::-1]
    return grid.ravel()


def sequential(chip: ChipConfig, layers: int) -> Mappings:
    """Layer-sequential: every layer split over all tiles."""
    tiles = np.zeros((1, chip.tiles), dtype=np.int64)
    tiles[0, 0] = chip.tiles
    return Mappings(np.zeros((1, layers), dtype=np.int64), tiles, snake_order(chip)[None, :])


def _allocate(work: np.ndarray, stages: np.ndarray, n_tiles: int) -> np.ndarray:
    """``[mapping, stage]`` tiles per stage: one each, the rest in proportion to ``work[mapping, stage]``
    (largest remainders first), never more than ``n_tiles`` in all."""
    spare = n_tiles - stages  # [mapping]
    share = work / np.maximum(work.sum(axis=1, keepdims=True), 1e-300) * spare[:, None]
    extra = np.floor(share).astype(np.int64)
    left = spare - extra.sum(axis=1)
    rank = np.argsort(np.argsort(-(share - extra), axis=1, kind="stable"), axis=1)
    extra += (rank < left[:, None]) & (work > 0)
    live = np.arange(work.shape[1])[None, :] < stages[:, None]
    return np.where(live, 1 + extra, 0)


def _from_cuts(costs: TileCosts, is_cut: np.ndarray, n_tiles: int, noise: np.ndarray | None) -> tuple:
    """Stages from cut flags ``[mapping, layer - 1]`` and tiles in proportion to one-tile work."""
    n_map = is_cut.shape[0]
    stage_of = np.concatenate([np.zeros((n_map, 1), dtype=np.int64), np.cumsum(is_cut, axis=1)], axis=1)
    stages = stage_of[:, -1] + 1
    idx = np.arange(n_map)[:, None] * n_tiles + stage_of
    work = np.bincount(
        idx.ravel(), np.broadcast_to(costs.cycles[:, 0], stage_of.shape).ravel(), n_map * n_tiles
    )
    work = work.reshape(n_map, n_tiles) * (1.0 if noise is None else noise)
    return stage_of, _allocate(work, stages, n_tiles)


def balanced(chip: ChipConfig, costs: TileCosts, stages: int) -> Mappings:
    """``stages`` contiguous stages of about equal one-tile work, tiles in proportion to the work, placed
    along the snake order (a cut where a layer's middle crosses a multiple of the total / stages)."""
    work = costs.cycles[:, 0].astype(float)
    mid = np.cumsum(work) - work / 2  # [layer]
    target = np.minimum((mid / work.sum() * stages).astype(np.int64), stages - 1)
    is_cut = (np.diff(target) > 0)[None, :]
    stage_of, tiles = _from_cuts(costs, is_cut, chip.tiles, None)
    return Mappings(stage_of, tiles, snake_order(chip)[None, :])


def pipelined(chip: ChipConfig, costs: TileCosts, batch: int) -> Mappings:
    """Layer-pipelined: the :func:`balanced` mapping of 2 .. min(layers, T) stages (1 when there is one
    layer or one tile) with the shortest batch, fewer stages on a tie."""
    most = min(costs.layers, chip.tiles)
    cands = [balanced(chip, costs, s) for s in range(2 if most > 1 else 1, most + 1)]
    maps = Mappings(*(np.concatenate([getattr(m, f) for m in cands]) for f in ("stage_of", "tiles", "order")))
    span = evaluate(chip, costs, maps, batch).makespan_cycles
    return maps.take(int(np.lexsort((maps.stages, span))[0]))


def random_mappings(chip: ChipConfig, costs: TileCosts, count: int, seed: int = 0) -> Mappings:
    """``count`` random mappings: a stage count, cut points, tiles in proportion to a noisy work estimate,
    half placed along the snake order and half at random (seeded: the same seed, the same mappings)."""
    rng = np.random.default_rng(seed)
    n_tiles, layers = chip.tiles, costs.layers
    stages = rng.integers(1, min(layers, n_tiles) + 1, size=count)  # [mapping]
    keys = rng.random((count, max(layers - 1, 0)))
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    is_cut = rank < (stages - 1)[:, None]
    noise = np.exp(rng.normal(0.0, 0.5, size=(count, n_tiles)))
    stage_of, tiles = _from_cuts(costs, is_cut, n_tiles, noise)
    order = np.where(
        (np.arange(count) % 2 == 0)[:, None],
        snake_order(chip)[None, :],
        rng.permuted(np.broadcast_to(np.arange(n_tiles), (count, n_tiles)), axis=1),
    )
    return Mappings(stage_of, tiles, order)


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Mappings evaluated over a batch (module docstring); times in cycles of the tiles' clock.

    Attributes
    ----------
    line : Tandem
        ``[mapping, server, item]`` starts and departures (stage ``s`` at server ``2s``).
    stage_cycles : numpy.ndarray
        ``[mapping, stage]`` per-item service of every stage (0 past the last).
    stall_cycles : numpy.ndarray
        ``[mapping, stage]`` the part of it the tiles wait on DRAM (their shares' memory stalls at the
        lane's width).
    stage_dynamic_pj : numpy.ndarray
        ``[mapping, stage]`` dynamic energy per item of all the stage's tiles (wire energy of its
        outgoing link and all-gathers included).
    stage_die_pj : numpy.ndarray
        ``[mapping, stage]`` its part on the die (no off-chip DRAM): the tiles' heat.
    energy_pj : numpy.ndarray
        ``[mapping]`` the whole batch: dynamic, wires, and every tile's leakage over the run.
    tile_power_w : numpy.ndarray
        ``[mapping, tile id]`` average power of every tile over the run (on the die: no off-chip DRAM).
    """

    maps: Mappings
    batch: int
    line: Tandem
    stage_cycles: np.ndarray
    stall_cycles: np.ndarray
    stage_dynamic_pj: np.ndarray
    stage_die_pj: np.ndarray
    energy_pj: np.ndarray
    tile_power_w: np.ndarray
    clock_hz: float

    @property
    def makespan_cycles(self) -> np.ndarray:
        return self.line.makespan

    @property
    def latency_cycles(self) -> np.ndarray:
        return self.line.latency

    @property
    def offchip_pj(self) -> np.ndarray:
        """``[mapping]`` the batch's energy spent off the die (the DRAM devices)."""
        return self.batch * (self.stage_dynamic_pj - self.stage_die_pj).sum(axis=1)

    @property
    def throughput_per_s(self) -> np.ndarray:
        """``[mapping]`` batch items per second over the whole batch."""
        return self.batch * self.clock_hz / self.makespan_cycles


def _diameter(chip: ChipConfig, g: np.ndarray) -> np.ndarray:
    """Hops across a group of ``g`` tiles (a square patch on the mesh, an arc of the ring)."""
    if chip.topology == "mesh":
        return 2 * (np.ceil(np.sqrt(g)) - 1)
    return g // 2


def tile_pitch_mm(chip: ChipConfig) -> float:
    """Mean distance between neighbouring tiles' centres: the tile floorplan's mean side."""
    flp = floorplan_for(chip.tile)
    return 0.5 * (flp.chip_width_m + flp.chip_height_m) * 1e3


def _layer_terms(chip: ChipConfig, costs: TileCosts, maps: Mappings) -> dict[str, np.ndarray]:
    """Per mapping and layer: share cycles (with all-gathers) and their DRAM stalls, energy, word-hops."""
    so = maps.stage_of  # [mapping, layer]
    g = np.take_along_axis(maps.tiles, so, axis=1)  # [mapping, layer]
    lay = np.arange(costs.layers)[None, :]
    first = np.concatenate([np.ones((so.shape[0], 1), bool), np.diff(so, axis=1) > 0], axis=1)
    prev_out = np.concatenate([[0], costs.out_words[:-1]])[None, :]  # [1, layer]
    gather = ~first & (g > 1)
    gather_words = np.where(gather, prev_out * (g - 1), 0)  # into all g tiles: (g - 1) / g each
    gather_cycles = np.where(
        gather,
        chip.hop_cycles * _diameter(chip, g) + np.ceil(gather_words / g / chip.link_words_per_cycle),
        0,
    )
    return {
        "cycles": costs.cycles[lay, g - 1] + LAYER_START_CYCLES + gather_cycles,
        "stall_cycles": costs.stall_cycles[lay, g - 1],
        "dynamic_pj": costs.dynamic_pj[lay, g - 1] * g,
        "die_pj": costs.die_pj[lay, g - 1] * g,
        "gather_word_hops": gather_words * np.maximum(_diameter(chip, g) / 2, 1),
    }


def _per_stage(values: np.ndarray, stage_of: np.ndarray, n_tiles: int) -> np.ndarray:
    n_map = stage_of.shape[0]
    idx = (np.arange(n_map)[:, None] * n_tiles + stage_of).ravel()
    return np.bincount(idx, values.ravel(), n_map * n_tiles).reshape(n_map, n_tiles)


def _links(chip: ChipConfig, costs: TileCosts, maps: Mappings) -> tuple[np.ndarray, np.ndarray]:
    """``[mapping, stage]`` cycles and word-hops of the link after every stage (0 after the last)."""
    n_tiles = chip.tiles
    s_range = np.arange(n_tiles)
    last_layer = (maps.stage_of[:, :, None] <= s_range[None, None, :]).sum(axis=1) - 1  # [mapping, stage]
    live = s_range[None, :] < maps.stages[:, None] - 1
    first = maps.first_position()
    src = np.take_along_axis(maps.order, np.clip(first + maps.tiles - 1, 0, n_tiles - 1), axis=1)
    nxt = np.concatenate([first[:, 1:], np.zeros_like(first[:, :1])], axis=1)
    dst = np.take_along_axis(maps.order, np.clip(nxt, 0, n_tiles - 1), axis=1)
    hops = chip.hops(src, dst)
    words = costs.out_words[np.clip(last_layer, 0, costs.layers - 1)]
    g_next = np.concatenate([maps.tiles[:, 1:], np.ones_like(maps.tiles[:, :1])], axis=1)
    lanes = np.maximum(np.minimum(maps.tiles, g_next), 1) * chip.link_words_per_cycle
    cycles = np.where(live, chip.hop_cycles * hops + np.ceil(words / lanes), 0)
    return cycles, np.where(live, words * np.maximum(hops, 1), 0)


def evaluate(  # long: the stages' terms, the line and the energy read as one model
    chip: ChipConfig,
    costs: TileCosts,
    maps: Mappings,
    batch: int,
    clock_scale: np.ndarray | None = None,
    energy_scale: np.ndarray | None = None,
    leak_w: np.ndarray | None = None,
) -> Evaluation:
    """Schedule, energy and average tile power of every mapping over ``batch`` items (module docstring).

    Per-tile DVFS (:mod:`.dtm`): ``clock_scale[mapping, stage]`` divides a stage's share cycles, its DRAM
    stalls included (a model assumption: the tile's DRAM lane is taken as clocked with the tile; the RTL
    has no DVFS; the links stay at the nominal clock), ``energy_scale[mapping, stage]`` multiplies its tiles'
    dynamic energy, ``leak_w[mapping, tile]`` replaces the tiles' leakage power.
    """
    n_tiles = chip.tiles
    t = _layer_terms(chip, costs, maps)
    stage = _per_stage(t["cycles"], maps.stage_of, n_tiles)  # [mapping, stage]
    stall = _per_stage(t["stall_cycles"], maps.stage_of, n_tiles)
    if clock_scale is not None:
        stage, stall = stage / clock_scale, stall / clock_scale
    link, link_word_hops = _links(chip, costs, maps)
    service = np.zeros((maps.count, 2 * n_tiles - 1))
    service[:, 0::2] = stage
    service[:, 1::2] = link[:, :-1]
    live = np.arange(n_tiles)[None, :] < maps.stages[:, None] - 1  # stages and links before the last
    cap = np.full(service.shape, UNBOUNDED, dtype=np.int64)
    cap[:, 0::2] = np.where(live, 0, UNBOUNDED)
    cap[:, 1::2] = np.where(live[:, :-1], chip.fifo_depth, UNBOUNDED)
    line = tandem(service, cap, batch)
    pj_per_word_hop = chip.wire_pj_per_bit_mm * chip.tile.input_bits * tile_pitch_mm(chip)
    word_hops = _per_stage(t["gather_word_hops"], maps.stage_of, n_tiles) + link_word_hops
    dynamic = _per_stage(t["dynamic_pj"], maps.stage_of, n_tiles)
    die = _per_stage(t["die_pj"], maps.stage_of, n_tiles)
    if energy_scale is not None:  # the off-chip DRAM's part does not scale with the tile's supply
        dynamic = dynamic - (1.0 - energy_scale) * die
        die = die * energy_scale
    dynamic = dynamic + word_hops * pj_per_word_hop
    die = die + word_hops * pj_per_word_hop
    seconds = line.makespan / costs.clock_hz  # [mapping]
    leak = np.full((maps.count, n_tiles), costs.leak_w) if leak_w is None else np.asarray(leak_w, dtype=float)
    energy = batch * dynamic.sum(axis=1) + leak.sum(axis=1) * seconds * 1e12
    per_tile = np.where(maps.tiles > 0, batch * die / np.maximum(maps.tiles, 1), 0) * 1e-12
    stage_w = per_tile / seconds[:, None]  # [mapping, stage]
    ts = maps.tile_stage()
    tile_w = np.where(ts >= 0, np.take_along_axis(stage_w, np.maximum(ts, 0), axis=1), 0) + leak
    return Evaluation(maps, batch, line, stage, stall, dynamic, die, energy, tile_w, costs.clock_hz)
