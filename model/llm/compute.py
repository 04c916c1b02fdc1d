"""Time and energy of GEMMs and element-wise kernels on one device, vectorised over any array shape.

GPU-class devices: a GEMM takes ``max(FLOPs / achievable FLOP/s, bytes / achievable bandwidth)`` (the
roofline; Williams, Waterman and Patterson, CACM 2009) with the achievable FLOP/s of a large GEMM
(``gemm_efficiency`` x peak) and its operands and result crossing device memory once. Wave and tile
quantisation are not modelled: the GEMM library's choice among tile shapes keeps them small for the
GEMMs of large transformers, and the efficiency is a measured best-case number.

Systolic devices: the cycles of the accelerator with its memory system (``model/memory.py``), exact for
the RTL, and the calibrated energy model (``model/energy.py: layer_energy``); each distinct (M, N, K) is
planned once and batched GEMMs run one after the other.

Element-wise kernels stream their bytes at the achievable bandwidth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hardware import Hardware


@dataclass(frozen=True)
class GemmCost:
    """Per GEMM (all ``batch`` repeats): seconds, its compute-only and memory-only times, FLOPs, energy."""

    seconds: np.ndarray
    compute_s: np.ndarray
    memory_s: np.ndarray
    flops: np.ndarray
    energy_pj: np.ndarray

    @property
    def compute_bound(self) -> np.ndarray:
        return self.compute_s >= self.memory_s


def gemm_cost(hw: Hardware, m, n, k, batch=1) -> GemmCost:
    """Cost of ``batch`` GEMMs C[M,N] = A[M,K] @ B[K,N] (arrays broadcast; fractional sizes are rounded up:
    a tensor-parallel shard of an odd width is the larger shard)."""
    m, n, k, batch = (np.ceil(np.asarray(x, dtype=float)) for x in (m, n, k, batch))
    m, n, k, batch = np.broadcast_arrays(m, n, k, batch)
    flops = 2.0 * m * n * k * batch
    nbytes = (m * k + k * n + m * n) * batch * hw.element_bytes
    if hw.kind == "systolic":
        return _systolic(hw, m, n, k, batch, flops, nbytes)
    compute = flops / hw.gemm_flops
    memory = nbytes / hw.memory_bw
    return GemmCost(np.maximum(compute, memory), compute, memory, flops, flops * hw.pj_per_flop)


def _systolic(hw: Hardware, m, n, k, batch, flops, nbytes) -> GemmCost:
    from systolic.model.cycles import GemmArrays
    from systolic.model.energy import layer_energy
    from systolic.model.memory import memory_cycles

    cfg = hw.arch
    shape = np.stack([m.ravel(), n.ravel(), k.ravel()], axis=1).astype(np.int64)  # [gemm, 3]
    uniq, inverse = np.unique(shape, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    gemm = GemmArrays.of(uniq[:, 0], uniq[:, 1], uniq[:, 2])
    mem = memory_cycles(cfg, gemm)
    per = mem.cycles_per_gemm.astype(float) / cfg.clock_hz  # [unique] seconds of one GEMM
    comp = mem.compute_cycles.astype(float) / cfg.clock_hz
    words = sum(mem.dram_reads.values()) + sum(mem.dram_writes.values())
    dram = words.astype(float) / (cfg.dram_bw_words_per_cycle * cfg.clock_hz)
    if hw.calibration is not None:
        energy = layer_energy(cfg, gemm, mem, calibration=hw.calibration).total_pj
    else:
        energy = np.full(len(uniq), np.nan)
    b = batch.ravel()

    def back(values: np.ndarray) -> np.ndarray:
        return (values[inverse] * b).reshape(m.shape)

    return GemmCost(back(per), back(comp), back(dram), flops, back(energy))


def stream_seconds(hw: Hardware, nbytes) -> np.ndarray:
    """Seconds to stream ``nbytes`` through device memory (element-wise kernels)."""
    return np.asarray(nbytes, dtype=float) / hw.memory_bw


def fused_attention_seconds(hw: Hardware, flops) -> np.ndarray:
    """Seconds of a fused (flash) attention kernel doing ``flops`` (compute-bound by construction: it keeps
    the score matrix on chip; Dao et al., "FlashAttention", NeurIPS 2022)."""
    return np.asarray(flops, dtype=float) / hw.attention_flops
