"""What a tile kind costs per layer share: the table the chip's mapping search reads.

A layer split over ``g`` tiles by M (output rows: pixels) or N (output columns: channels) gives every tile
a GEMM of ``ceil(M / g) x N x K`` or ``M x ceil(N / g) x K``. Its cycles (stalls included), dynamic energy
and DRAM words on one tile come from the single-array model (``model/memory.py``, ``model/energy``), all
shares of all layers in one vectorised call; on a chip the tile is the one with its fixed DRAM lane
(:meth:`systolic.chip_config.ChipConfig.lane_tile`), so the shared channels are in these cycles exactly.
Per layer and tile count the table keeps the split (M or N) with fewer cycles (M on a tie). Leakage is
the chip's business (every tile leaks for the whole run).

This is the seam for other tile kinds (an analog core): the schedule needs only :class:`TileCosts`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.config import ArrayConfig

from ..cycles import GemmArrays
from ..energy import COMPONENT_CLASSES, layer_energy
from ..energy.leakage import leakage_w
from ..memory import memory_cycles
from ..power import DRAM_IF_ENERGY_SHARE


@dataclass(frozen=True, eq=False)
class TileCosts:
    """Per layer and tile count ``g = 1 .. max_tiles`` (axis 1 holds ``g - 1``), for one tile's share.

    Attributes
    ----------
    cycles : numpy.ndarray
        ``[layer, g]`` cycles of the share, stalls at the tile's DRAM bandwidth included (on a chip: its
        lane of the shared channel, :meth:`systolic.chip_config.ChipConfig.lane_tile`).
    stall_cycles : numpy.ndarray
        ``[layer, g]`` the part of ``cycles`` the array waits on memory (``model/memory.py``'s stalls).
    dynamic_pj : numpy.ndarray
        ``[layer, g]`` dynamic energy of the share.
    die_pj : numpy.ndarray
        ``[layer, g]`` the part of it spent on the die (the off-chip DRAM's share left out, as
        ``model/power.py`` splits it with ``DRAM_IF_ENERGY_SHARE``): what heats the tile.
    dram_in_words, dram_weight_words, dram_out_words : numpy.ndarray
        ``[layer, g]`` DRAM words of the share: ifmap reads, filter reads, ofmap writes.
    weight_words : numpy.ndarray
        ``[layer, g]`` distinct weights of the share (K x N share x repeat).
    filter_words : int
        Weights a tile's filter SRAM holds.
    split_n : numpy.ndarray
        ``[layer, g]`` bool: the layer is split by N (else by M).
    out_words : numpy.ndarray
        ``[layer]`` output activations of the whole layer (M x N x repeat): what the next layer takes.
    leak_w : float
        One tile's leakage power at the reference temperature.
    clock_hz : float
    """

    cycles: np.ndarray
    stall_cycles: np.ndarray
    dynamic_pj: np.ndarray
    die_pj: np.ndarray
    dram_in_words: np.ndarray
    dram_weight_words: np.ndarray
    dram_out_words: np.ndarray
    weight_words: np.ndarray
    filter_words: int
    split_n: np.ndarray
    out_words: np.ndarray
    leak_w: float
    clock_hz: float

    @property
    def layers(self) -> int:
        return int(self.cycles.shape[0])

    @property
    def max_tiles(self) -> int:
        return int(self.cycles.shape[1])


def share_gemms(gemm: GemmArrays, max_tiles: int) -> GemmArrays:
    """Every layer's share for ``g = 1 .. max_tiles`` tiles, split by M then by N: ``[2, layer, g]``
    flattened (split, layer, g)."""
    g = np.arange(1, max_tiles + 1)  # [g]
    m_share = -(-gemm.m[:, None] // g)  # [layer, g]
    n_share = -(-gemm.n[:, None] // g)
    full_m = np.broadcast_to(gemm.m[:, None], m_share.shape)
    full_n = np.broadcast_to(gemm.n[:, None], n_share.shape)
    k = np.broadcast_to(gemm.k[:, None], m_share.shape)
    rep = np.broadcast_to(gemm.repeat[:, None], m_share.shape)
    return GemmArrays.of(
        np.concatenate([m_share.ravel(), full_m.ravel()]),
        np.concatenate([full_n.ravel(), n_share.ravel()]),
        np.concatenate([k.ravel(), k.ravel()]),
        np.concatenate([rep.ravel(), rep.ravel()]),
    )


def tile_costs(cfg: ArrayConfig, gemm: GemmArrays, max_tiles: int, *, calibration) -> TileCosts:
    """The share table of ``gemm``'s layers on tiles of ``cfg`` for up to ``max_tiles`` tiles per layer.

    On a chip ``cfg`` is :meth:`~systolic.chip_config.ChipConfig.lane_tile`: the tile with its DRAM port
    cut to its fixed lane of the shared channel, as the RTL builds it."""
    layers = gemm.m.size
    shares = share_gemms(gemm, max_tiles)
    mem = memory_cycles(cfg, shares)
    cyc = mem.cycles.reshape(2, layers, max_tiles)  # [split, layer, g]
    split_n = cyc[1] < cyc[0]
    pick = np.where(split_n, 1, 0)  # [layer, g]
    flat = (pick * layers + np.arange(layers)[:, None]) * max_tiles + np.arange(max_tiles)  # [layer, g]
    chosen = np.unique(flat.ravel())  # energy only for the kept shares
    sub = GemmArrays(*(x[chosen] for x in (shares.m, shares.n, shares.k, shares.repeat)))
    energy = layer_energy(cfg, sub, memory_cycles(cfg, sub), calibration=calibration)
    dyn, die = np.zeros(shares.m.size), np.zeros(shares.m.size)
    dyn[chosen] = energy.dynamic_pj.sum(axis=1)
    offchip = energy.dynamic_pj[:, COMPONENT_CLASSES.index("dram")] * (1.0 - DRAM_IF_ENERGY_SHARE)
    die[chosen] = dyn[chosen] - offchip

    def take(per_share: np.ndarray) -> np.ndarray:
        return np.asarray(per_share)[flat]

    return TileCosts(
        cycles=take(mem.cycles),
        stall_cycles=take(mem.stall_cycles),
        dynamic_pj=take(dyn),
        die_pj=take(die),
        dram_in_words=take(mem.dram_reads["ifmap"]),
        dram_weight_words=take(mem.dram_reads["filter"]),
        dram_out_words=take(mem.dram_writes["ofmap"]),
        weight_words=take(shares.k * shares.n * shares.repeat),
        filter_words=int(cfg.filter_sram_bytes * 8 // cfg.weight_bits),
        split_n=split_n,
        out_words=gemm.m * gemm.n * gemm.repeat,
        leak_w=float(leakage_w(cfg).sum()),
        clock_hz=float(cfg.clock_hz),
    )
