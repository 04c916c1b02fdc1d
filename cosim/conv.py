"""Convolutions on the GEMM engine: im2col operands, and a direct-convolution reference to check them by.

The RTL runs the im2col GEMM of a convolution: A[M, K] with M = batch x OH x OW (rows in (b, oh, ow)
order) and K = filter_h x filter_w x channels (in (r, s, c) order), B[K, N] the filters with N = filters.
The result is checked twice: against A @ B (the GEMM) and, reshaped to [batch, OH, OW, filters], against a
convolution computed directly from the ifmap and the filters, so a wrong lowering cannot hide.
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
    """Random ifmap [batch, H, W, C] and filters [R, S, C, F] in the config's operand formats."""
    check_ungrouped(shape)
    ifmap = random_tensor(cfg, "A", (shape.batch, shape.ifmap_h, shape.ifmap_w, shape.channels), rng)
    filters = random_tensor(cfg, "B", (shape.filter_h, shape.filter_w, shape.channels, shape.filters), rng)
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


def direct_conv(cfg: ArrayConfig, ifmap: np.ndarray, filters: np.ndarray, shape: ConvShape) -> np.ndarray:
    """The convolution [batch, OH, OW, F], summed tap by tap (no im2col), wrapped like the accumulator."""
    x = _padded(ifmap, shape).astype(np.int64)
    out = np.zeros((shape.batch, shape.ofmap_h, shape.ofmap_w, shape.filters), dtype=np.int64)
    rows = shape.stride_h * (shape.ofmap_h - 1) + 1
    cols = shape.stride_w * (shape.ofmap_w - 1) + 1
    for r in range(shape.filter_h):
        for s in range(shape.filter_w):
            patch = x[:, r : r + rows : shape.stride_h, s : s + cols : shape.stride_w, :]  # [b, OH, OW, C]
            out += patch @ filters[r, s].astype(np.int64)  # [C, F]
    return wrap(out, cfg.acc_bits, acc_signed(cfg))
