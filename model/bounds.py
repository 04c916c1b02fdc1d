"""Cheap performance bounds beside the detailed model: the roofline and Eyexam's seven bounds, per layer.

Both are pure functions of the config, the layer shapes and the memory model's result (its DRAM traffic,
tile plan and cycles), vectorised over layers. The last Eyexam bound is the model's cycle count, so the
seven numbers say where a layer's cycles go; the roofline says whether DRAM or the PEs limit it.

Roofline
--------
Peak compute is ``rows * cols`` MACs per cycle. The DRAM port moves at most ``dram_bw_words_per_cycle``
words per cycle *in each direction*: reads (A, B fills) and writes (C drains) run at the same time
(``model/memory.py``: a step lasts ``1 + max(compute, read beats + L, write beats + 1)``). So the traffic
that takes the port's time is the busier direction's, ``max(read words, write words)``, and the operational
intensity is MACs per word of that direction (per byte: divided by ``word_bytes``). Attainable performance
is ``min(peak compute, intensity * bandwidth)``; a layer is memory-bound when the second term is the
smaller (its intensity is left of the ridge point ``rows * cols / bandwidth``). ``macs / attainable`` is a
true lower bound on the model's cycles (it is Eyexam's average-bandwidth step without the array's
quantisation). The roofline assumes a fully used array; :attr:`Bounds.dram_limited` asks the same question
of the real mapping: does the plan's DRAM traffic at peak bandwidth take longer than its tiles' compute
(Eyexam step 6 above step 5)? A layer that uses the array poorly can be memory-bound on the roofline and
still be limited by its compute.

Eyexam (Chen et al., "Eyexam: Inferring Opportunities for Higher Efficiency in Multichip Accelerators")
--------------------------------------------------------------------------------------------------------
Each step adds one constraint of the architecture to the previous step's and gives a lower bound on a
layer's cycles (all of its ``repeat`` GEMMs); performance is ``macs / cycles``. With
C[M,N] = A[M,K] @ B[K,N], the dataflow's spatial-row extent S_r, spatial-column extent S_c and temporal
extent T (OS: M, N, K; WS: K, N, M; IS: K, M, N, :data:`systolic.dataflow.MAPPINGS`), R = rows, C = cols:

1. ``workload``: the layer's own parallelism. Every MAC of every repeat is independent (partial sums can be
   reduced spatially), so with unbounded PEs, storage and bandwidth it takes one cycle.
2. ``dataflow``: the dataflow spreads only S_r x S_c over space and runs T in time, and the repeats run one
   after the other: ``T * repeat`` cycles (parallelism S_r * S_c).
3. ``pe_count``: at most R * C PEs: parallelism ``min(S_r * S_c, R * C)``, so
   ``ceil(S_r * S_c * T / min(S_r * S_c, R * C)) * repeat``.
4. ``array_shape``: the PEs form an R x C grid, S_r can only use rows and S_c only columns, and the skewed
   array fills and drains between folds: the closed-form compute cycles of ``model/cycles.py`` for the
   untiled layer, at least the fold quantisation ``ceil(S_r / R) * ceil(S_c / C) * T * repeat``
   (kept as :attr:`Bounds.fold_cycles`); or the tiles' compute cycles (step 5) where they are fewer: with
   ``tile_overlap`` a tile's first fold starts without the spacing the folds of one GEMM keep (WS, IS:
   the next fold's tile loads C - 1 cycles into the current one), so small tiles can beat the whole
   layer.
5. ``storage``: the buffers hold one tile at a time, so the layer runs as the tile plan's tiles (with
   ``tile_overlap`` back to back, else each a GEMM of its own that fills and drains the array again),
   with the operand SRAMs' read before the first operands and the ofmap SRAM's write after the last
   result (``MemoryResult.compute_cycles``). The plan's extra DRAM traffic over the compulsory traffic
   (:attr:`Bounds.compulsory_dram_words`) is what the next step charges.
6. ``avg_bandwidth``: the plan's DRAM traffic at the port's peak, overlapped perfectly with compute:
   ``max(step 5, ceil(max(read words, write words) / bandwidth))``.
7. ``inst_bandwidth``: the bandwidth each step needs when it needs it: the exposed first fill and last
   drain, DRAM latency per step, steps whose transfers outlast their compute, and the controller's
   prologue cycle. This is the model's cycle count (``MemoryResult.cycles``).

Each step's bound is at least the previous one's (tested on random layers and configs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.config import ArrayConfig

from .cycles import GemmArrays, compute_cycles, fold_plan
from .memory import MemoryResult

#: Eyexam's steps in order: key, and the label reports show.
STEPS: tuple[tuple[str, str], ...] = (
    ("workload", "workload parallelism"),
    ("dataflow", "dataflow parallelism"),
    ("pe_count", "PE count"),
    ("array_shape", "array shape"),
    ("storage", "storage capacity"),
    ("avg_bandwidth", "average bandwidth"),
    ("inst_bandwidth", "instantaneous bandwidth"),
)
STEP_KEYS: tuple[str, ...] = tuple(k for k, _ in STEPS)
STEP_LABELS: tuple[str, ...] = tuple(label for _, label in STEPS)


@dataclass(frozen=True)
class Bounds:
    """Roofline and Eyexam bounds of every layer (see the module docstring for the definitions).

    Attributes
    ----------
    macs : np.ndarray, int64 [layer]
    cycles : np.ndarray, int64 [step, layer]
        Eyexam's lower bounds on cycles, steps in :data:`STEPS` order; ``cycles[-1]`` is the model's.
    fold_cycles : np.ndarray, int64 [layer]
        ``folds * T * repeat``: the array-shape step without the fill and drain of the skewed array.
    peak_macs_per_cycle : int
        ``rows * cols``.
    peak_words_per_cycle : int
        DRAM words per cycle in each direction.
    word_bytes : int
    dram_read_words, dram_write_words : np.ndarray, int64 [layer]
        The tile plan's DRAM traffic (all repeats).
    compulsory_dram_words : np.ndarray, int64 [layer]
        A and B read once and C written once per GEMM: the traffic with unbounded buffers.
    intensity_macs_per_word : np.ndarray, float64 [layer]
        MACs per DRAM word in the busier direction.
    attainable_macs_per_cycle : np.ndarray, float64 [layer]
        ``min(peak compute, intensity * bandwidth)``.
    achieved_macs_per_cycle : np.ndarray, float64 [layer]
        ``macs / model cycles``.
    memory_bound : np.ndarray, bool [layer]
        The roofline's memory roof is the lower one.
    dram_limited : np.ndarray, bool [layer]
        With the actual tiles, DRAM time at peak bandwidth exceeds compute time (``cycles[5] > cycles[4]``).
    """

    macs: np.ndarray
    cycles: np.ndarray
    fold_cycles: np.ndarray
    peak_macs_per_cycle: int
    peak_words_per_cycle: int
    word_bytes: int
    dram_read_words: np.ndarray
    dram_write_words: np.ndarray
    compulsory_dram_words: np.ndarray
    intensity_macs_per_word: np.ndarray
    attainable_macs_per_cycle: np.ndarray
    achieved_macs_per_cycle: np.ndarray
    memory_bound: np.ndarray
    dram_limited: np.ndarray

    @property
    def layers(self) -> int:
        return int(self.macs.size)

    @property
    def macs_per_cycle(self) -> np.ndarray:
        """Eyexam's performance bounds, ``[step, layer]`` (non-increasing along steps)."""
        return self.macs / self.cycles

    @property
    def intensity_macs_per_byte(self) -> np.ndarray:
        """[layer] MACs per DRAM byte in the busier direction."""
        return self.intensity_macs_per_word / self.word_bytes

    @property
    def ridge_macs_per_word(self) -> float:
        """The intensity where the memory roof meets the compute roof."""
        return self.peak_macs_per_cycle / self.peak_words_per_cycle

    @property
    def roofline_cycles(self) -> np.ndarray:
        """[layer] ``macs / attainable``: the roofline's lower bound on cycles."""
        return self.macs / self.attainable_macs_per_cycle

    @property
    def limiter(self) -> np.ndarray:
        """[layer] index into :data:`STEPS` of the step that adds the most cycles (0: none is lost)."""
        gain = np.diff(self.cycles, axis=0)  # [step - 1, layer]
        return np.where(gain.max(axis=0) > 0, gain.argmax(axis=0) + 1, 0)

    def to_dict(self) -> dict:
        """JSON-ready per-layer lists (``cycles`` keyed by step)."""
        return {
            "cycles": {k: self.cycles[i].tolist() for i, k in enumerate(STEP_KEYS)},
            "fold_cycles": self.fold_cycles.tolist(),
            "peak_macs_per_cycle": self.peak_macs_per_cycle,
            "peak_words_per_cycle": self.peak_words_per_cycle,
            "dram_read_words": self.dram_read_words.tolist(),
            "dram_write_words": self.dram_write_words.tolist(),
            "compulsory_dram_words": self.compulsory_dram_words.tolist(),
            "intensity_macs_per_word": self.intensity_macs_per_word.tolist(),
            "attainable_macs_per_cycle": self.attainable_macs_per_cycle.tolist(),
            "achieved_macs_per_cycle": self.achieved_macs_per_cycle.tolist(),
            "memory_bound": self.memory_bound.tolist(),
            "dram_limited": self.dram_limited.tolist(),
            "limiter": [STEP_KEYS[i] for i in self.limiter.tolist()],
        }


def layer_bounds(cfg: ArrayConfig, gemm: GemmArrays, mem: MemoryResult) -> Bounds:
    """Roofline and the seven Eyexam bounds of every layer of ``gemm`` run as ``mem`` says.

    Parameters
    ----------
    cfg : ArrayConfig
    gemm : GemmArrays
        The layers (``mem`` must come from :func:`~systolic.model.memory.memory_cycles` on them).
    mem : MemoryResult
        The memory model's result: DRAM traffic, tile compute cycles and cycles.
    """
    if mem.cycles.shape != gemm.m.shape:
        raise ValueError(f"mem has {mem.cycles.size} layers, gemm {gemm.m.size}")
    rep = gemm.repeat
    macs = gemm.macs  # [layer]
    plan = fold_plan(cfg, gemm)
    sr, sc, t = plan.spatial_rows, plan.spatial_cols, plan.temporal
    pes = cfg.rows * cfg.cols
    parallel = np.minimum(sr * sc, pes)  # [layer] MACs per cycle with R*C PEs
    fold_cycles = plan.folds * t * rep
    reads = sum(mem.dram_reads.values())  # [layer]
    writes = sum(mem.dram_writes.values())
    bw = cfg.dram_bw_words_per_cycle
    busier = np.maximum(reads, writes)
    cycles = np.stack(
        [
            np.ones_like(macs),
            t * rep,
            -(-(sr * sc * t) // parallel) * rep,
            np.minimum(compute_cycles(cfg, gemm).cycles, mem.compute_cycles),
            mem.compute_cycles,
            np.maximum(mem.compute_cycles, -(-busier // bw)),
            mem.cycles,
        ]
    ).astype(np.int64)  # [step, layer]
    intensity = macs / busier
    memory_roof = intensity * bw
    compulsory = (gemm.m * gemm.k + gemm.k * gemm.n + gemm.m * gemm.n) * rep
    return Bounds(
        macs=macs,
        cycles=cycles,
        fold_cycles=fold_cycles,
        peak_macs_per_cycle=pes,
        peak_words_per_cycle=bw,
        word_bytes=cfg.word_bytes,
        dram_read_words=np.asarray(reads, dtype=np.int64),
        dram_write_words=np.asarray(writes, dtype=np.int64),
        compulsory_dram_words=compulsory,
        intensity_macs_per_word=intensity,
        attainable_macs_per_cycle=np.minimum(float(pes), memory_roof),
        achieved_macs_per_cycle=macs / mem.cycles,
        memory_bound=memory_roof < pes,
        dram_limited=cycles[5] > cycles[4],
    )
