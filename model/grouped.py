"""Grouped and depthwise convolutions in blocks of groups (``group_blocks``): how many groups per GEMM.

A grouped convolution of g groups is g independent GEMMs of M x (taps per group k_g) x (filters per group
n_g). One at a time, a depthwise 3x3 layer uses 9 rows and 1 column of a weight-stationary array, and every
GEMM pays the array's fixed costs (fill, skew, drain). With ``group_blocks`` the groups run in blocks of b:
one GEMM per block, K = b k_g, N = b n_g, B block-diagonal (:meth:`~systolic.workload.Layer.conv_blocks`).
What a block buys depends on where the dataflow puts K and N:

* WS (rows = K, cols = N, time = M): b groups side by side on b k_g rows and b n_g columns; a fold streams
  M vectors once for b groups instead of once per group;
* IS (rows = K, cols = M, time = N): b groups on b k_g rows, their b n_g filters in time; the fold's
  fixed cost (load, skew, drain) is paid once per block;
* OS (rows = M, cols = N, time = K): b groups' filters side by side on the columns, the b k_g taps in
  time (a PE accumulates zeros for the other groups' taps); a fold takes max(K, R + C - 1) cycles with
  ``fold_overlap``, so blocks fill a fold's drain time with useful work until b k_g reaches R + C - 1.

But a block's B holds b times the dense weights (zeros included, in DRAM and read like any weight),
which a memory-bound layer pays for. So b is chosen on the RTL's cycles with the memory system, in two
steps: every b from 1 to g (capped at :data:`MAX_BLOCKS`) through the array's exact compute cycles
(:func:`~.cycles.compute_cycles`; ``g // b`` GEMMs of b groups and one of the ``g % b`` left over), of
which only the b that take fewer compute cycles than every smaller b stay candidates (a larger b is worth
its extra weights only if it saves cycles on the array); those few through the memory model
(:func:`~.memory.memory_cycles`), and the fewest cycles win, the smallest b among equals. b = 1 is always
a candidate, so the blocks never take more cycles than one GEMM per group (both as the model counts them).

With ``conv_native`` a block is a dense convolution of its channel slice
(:meth:`~systolic.workload.ConvShape.block`; WS: stored channel-blocked, OS and IS: C' consecutive planes
of the NCHW tensor or its phase planes, any width: :mod:`systolic.geometry`) and the memory
model times each candidate with the plan it will run: bands of the slice where the planner takes them
(:func:`~.memory.plan_tiles`, the same rule as an ungrouped convolution), else its im2col matrix.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from systolic.config import ArrayConfig, Dataflow
from systolic.errors import InputError
from systolic.workload import ConvShape, Layer, Workload

from .cycles import GemmArrays, compute_cycles
from .memory import memory_cycles

#: The largest block tried: beyond it a block's K or N spans many folds in every dataflow on any array
#: systolic builds (4096 rows or columns at most).
MAX_BLOCKS = 4096


def _block_cycles(cfg: ArrayConfig, one: Layer, groups: int, b: np.ndarray, with_memory: bool) -> np.ndarray:
    """``[candidate]`` cycles of ``groups`` groups of ``one`` (a single group's GEMM) in blocks of ``b``:
    ``groups // b`` GEMMs of b groups, then one GEMM of the ``groups % b`` left over."""
    whole, rest = groups // b, groups % b
    tail_b = np.maximum(rest, 1)
    blocks = np.concatenate([b, tail_b])
    both = GemmArrays.of(  # [head candidates, then tail candidates]
        one.m,
        blocks * one.n,
        blocks * one.k,
        np.concatenate([whole, np.ones_like(b)]),
        conv=[one.conv] * blocks.size,  # conv_native: each block reads its channel slice in bands
        blocks=blocks,
    )
    cycles = memory_cycles(cfg, both).cycles if with_memory else compute_cycles(cfg, both).cycles
    return cycles[: b.size] + np.where(rest > 0, cycles[b.size :], 0)


def _band_blocks(cfg: ArrayConfig, shape: ConvShape) -> np.ndarray:
    """Band candidates (``conv_native``): the largest b whose filter row of S b C_g taps fits the rows in
    one fold, and the smallest b whose C' = b C_g is a multiple of the rows (k-tiles of whole filter
    rows). Bands of any C' now fold K as densely as im2col (k-lines across filter rows), so the im2col
    front covers the rest; these two are kept as candidates (their fills differ)."""
    cg = shape.channels // shape.groups
    fit = cfg.rows // (shape.filter_w * cg)
    whole = cfg.rows // math.gcd(cfg.rows, cg)
    return np.array([b for b in (fit, whole) if 1 <= b <= min(shape.groups, MAX_BLOCKS)], dtype=np.int64)


@functools.lru_cache(maxsize=4096)
def group_block(cfg: ArrayConfig, shape: ConvShape) -> int:
    """Groups per GEMM for ``shape`` on ``cfg``: the b with the fewest cycles (module docstring); 1 when
    the memory model refuses a candidate (buffers too small for a fold: it then reports the layer as it
    reports any other, and a sweep marks the point infeasible)."""
    one = Layer.from_conv("conv", shape)
    b = np.arange(1, min(shape.groups, MAX_BLOCKS) + 1)  # [candidate]
    compute = _block_cycles(cfg, one, shape.groups, b, with_memory=False)
    best_before = np.minimum.accumulate(np.concatenate([[compute[0] + 1], compute[:-1]]))
    front = b[compute < best_before]  # b = 1 and every b faster on the array than all smaller ones
    if cfg.convs_native and cfg.dataflow == Dataflow.WS:  # OS, IS: any filter rows per k-tile (K in time)
        front = np.union1d(front, _band_blocks(cfg, shape))
    try:
        total = _block_cycles(cfg, one, shape.groups, front, with_memory=True)
    except InputError:
        return 1
    return int(front[np.argmin(total)])  # argmin: the first (smallest b) of equals


def _lowerable(layer: Layer) -> bool:
    """A grouped convolution still in :meth:`Layer.from_conv`'s one-GEMM-per-group lowering."""
    conv = layer.conv
    return conv is not None and conv.groups > 1 and layer.blocks == 1 and layer.repeat == conv.groups


def lower_groups(cfg: ArrayConfig, workload: Workload) -> Workload:
    """``workload`` with every grouped convolution in blocks of :func:`group_block` groups when
    ``cfg.group_blocks`` (unchanged otherwise, or when b = 1). Idempotent: layers already in blocks,
    and every other layer, are kept as they are."""
    return lower_groups_origin(cfg, workload)[0]


def lower_groups_origin(cfg: ArrayConfig, workload: Workload) -> tuple[Workload, np.ndarray]:
    """:func:`lower_groups` and ``[lowered layer]`` the index of the layer of ``workload`` each entry
    comes from (a block lowering's ``.tail`` entry comes from the same layer as the entry before it)."""
    if not cfg.group_blocks:
        return workload, np.arange(len(workload))
    layers: list[Layer] = []
    origin: list[int] = []
    for i, layer in enumerate(workload):
        b = group_block(cfg, layer.conv) if _lowerable(layer) else 1
        entries = Layer.conv_blocks(layer.name, layer.conv, b) if b > 1 else (layer,)
        layers.extend(entries)
        origin.extend([i] * len(entries))
    return Workload(workload.name, tuple(layers)), np.array(origin, dtype=np.int64)
