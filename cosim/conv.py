"""Convolutions on the GEMM engine: im2col operands, and a direct-convolution reference to check them by.

The RTL runs the im2col GEMM of a convolution: A[M, K] with M = batch x OH x OW (rows in (b, oh, ow)
order) and K = filter_h x filter_w x channels (in (r, s, c) order), B[K, N] the filters with N = filters.
The result is checked twice: against A @ B (the GEMM) and, reshaped to [batch, OH, OW, filters], against a
convolution computed directly from the ifmap and the filters, so a wrong lowering cannot hide.

A grouped convolution runs in blocks of groups (``group_blocks``, :func:`group_block_im2col`): one GEMM
per block, the im2col GEMM of the block's channel slice as a dense convolution (B block-diagonal, zero
where a filter meets another group's channel); its result is the block's output channels of the grouped
convolution computed directly.
"""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.geometry import acc_signed
from systolic.workload import ConvShape

from .harness import random_tensor, wrap


def conv_tensors(
    cfg: ArrayConfig, shape: ConvShape, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Random ifmap [batch, H, W, C] and filters [R, S, C / groups, F] (filter f sees the channels of its
    group, ``f // (F / groups)``) in the config's operand formats."""
    ifmap = random_tensor(cfg, "A", (shape.batch, shape.ifmap_h, shape.ifmap_w, shape.channels), rng)
    per = shape.channels // shape.groups
    filters = random_tensor(cfg, "B", (shape.filter_h, shape.filter_w, per, shape.filters), rng)
    return ifmap, filters


def check_ungrouped(shape: ConvShape) -> None:
    """Co-simulation runs one GEMM: a grouped convolution (``groups`` GEMMs) is refused with a hint."""
    if shape.groups != 1:
        raise InputError(
            f"groups = {shape.groups}: a grouped convolution is {shape.groups} independent GEMMs; "
            "co-simulate one group with --gemm and its per-group M,N,K",
            "--conv",
        )


def _padded(ifmap: np.ndarray, shape: ConvShape) -> np.ndarray:
    h, w = (shape.pad_h, shape.pad_h + shape.extra_h), (shape.pad_w, shape.pad_w + shape.extra_w)
    return np.pad(ifmap, ((0, 0), h, w, (0, 0)))


def im2col(ifmap: np.ndarray, filters: np.ndarray, shape: ConvShape) -> tuple[np.ndarray, np.ndarray]:
    """A[M, K] and B[K, N] of the convolution (vectorised with a sliding-window view)."""
    x = _padded(ifmap, shape)
    win = np.lib.stride_tricks.sliding_window_view(x, (shape.filter_h, shape.filter_w), axis=(1, 2))
    # win: [b, H', W', C, R, S] -> stride, then order K as (r, s, c)
    win = win[:, :: shape.stride_h, :: shape.stride_w][:, : shape.ofmap_h, : shape.ofmap_w]
    a = win.transpose(0, 1, 2, 4, 5, 3).reshape(shape.batch * shape.ofmap_h * shape.ofmap_w, -1)
    b = filters.reshape(-1, shape.filters)
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


def block_tensors(
    ifmap: np.ndarray, filters: np.ndarray, shape: ConvShape, first: int, blocks: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ifmap [batch, H, W, blocks C_g] and dense filters [R, S, blocks C_g, blocks N_g] of groups
    ``first .. first + blocks - 1`` of a grouped convolution (filters [R, S, C / groups, F]) as the dense
    convolution :meth:`~systolic.workload.ConvShape.block` (zeros where a filter meets another group's
    channel): the block's channel slice is what DRAM holds for it (channel-blocked, ``conv_native``)."""
    cg, ng = shape.channels // shape.groups, shape.filters // shape.groups
    dense = np.zeros((shape.filter_h, shape.filter_w, blocks * cg, blocks * ng), dtype=filters.dtype)
    for j in range(blocks):
        g = first + j
        dense[:, :, j * cg : (j + 1) * cg, j * ng : (j + 1) * ng] = filters[..., g * ng : (g + 1) * ng]
    return ifmap[..., first * cg : (first + blocks) * cg], dense


def group_block_im2col(
    ifmap: np.ndarray, filters: np.ndarray, shape: ConvShape, first: int, blocks: int
) -> tuple[np.ndarray, np.ndarray]:
    """A[M, blocks K_g] and block-diagonal B[blocks K_g, blocks N_g] of the GEMM of groups ``first ..
    first + blocks - 1`` of a grouped convolution (filters [R, S, C / groups, F]): the im2col GEMM of the
    block's dense convolution (:func:`block_tensors`), K in (r, s, c') order, c' the slice's channel
    (:func:`~systolic.model.functional.block_operands` with C_g channels per group)."""
    return im2col(*block_tensors(ifmap, filters, shape, first, blocks), shape.block(blocks))


def direct_conv(cfg: ArrayConfig, ifmap: np.ndarray, filters: np.ndarray, shape: ConvShape) -> np.ndarray:
    """The convolution [batch, OH, OW, F], summed tap by tap (no im2col), wrapped like the accumulator;
    grouped: filter f sums over the channels of its group only."""
    x = _padded(ifmap, shape).astype(np.int64)
    g = shape.groups
    cg, ng = shape.channels // g, shape.filters // g
    out = np.zeros((shape.batch, shape.ofmap_h, shape.ofmap_w, g, ng), dtype=np.int64)
    rows = shape.stride_h * (shape.ofmap_h - 1) + 1
    cols = shape.stride_w * (shape.ofmap_w - 1) + 1
    for r in range(shape.filter_h):
        for s in range(shape.filter_w):
            patch = x[:, r : r + rows : shape.stride_h, s : s + cols : shape.stride_w, :]  # [b, OH, OW, C]
            w = filters[r, s].astype(np.int64).reshape(cg, g, ng)  # [C / g, g, F / g]
            out += np.einsum("bhwgc,cgf->bhwgf", patch.reshape(*patch.shape[:3], g, cg), w)
    return wrap(out.reshape(*out.shape[:3], shape.filters), cfg.acc_bits, acc_signed(cfg))
