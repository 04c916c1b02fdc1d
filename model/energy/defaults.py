"""The statistics-free default: what a layer's streams look like on independent uniform operands
(:func:`default_stats`), taken by :func:`~.streams.layer_stats` from a small seeded synthetic layer."""

from __future__ import annotations

import functools

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError

from .streams import STAT_COLUMNS, layer_stats


def _uniform_nonzero(bits: int, signed: bool, shape, z: float, rng: np.random.Generator) -> np.ndarray:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    v = rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)
    zero = v == 0
    while zero.any():  # non-zero values only, then the requested share of zeros
        v[zero] = rng.integers(lo, hi, size=int(zero.sum()), endpoint=True, dtype=np.int64)
        zero = v == 0
    v[rng.random(shape) < z] = 0
    return v


#: Shape of the synthetic layer behind :func:`default_stats`: time steps, array columns followed, and the
#: largest K (beyond it the partial sums' statistics hardly move).
DEFAULT_TIME, DEFAULT_COLS, DEFAULT_MAX_K = 128, 64, 512


@functools.lru_cache(maxsize=65536)
def _bucket(x: int) -> int:
    """``x`` rounded to the ladder 1, 2, 3, 4, 6, 8, 11, 16, 23, 32, ... (steps of sqrt(2)), at most
    :data:`DEFAULT_MAX_K`: statistics of sums change with the log of their length (memoised: a sweep
    asks for the same few lengths for every layer of every point)."""
    x = int(min(max(x, 1), DEFAULT_MAX_K))
    return int(min(round(2 ** (round(2 * np.log2(x)) / 2)), DEFAULT_MAX_K))


def block_diagonal_mask(k: int, n: int, blocks: int, group_channels: int = 1) -> np.ndarray:
    """``[k, n]`` bool: where a block-diagonal B of ``blocks`` groups holds weights, K in the order the
    lowering and the RTL use (:func:`~systolic.model.functional.block_operands`: tap-major, the block's
    ``group_channels``-channel groups innermost, so K index i belongs to group ``(i // Cg) % blocks``), N
    in ``blocks`` contiguous column groups stretched over ``n``."""
    group_k = (np.arange(k) // group_channels) % blocks
    return group_k[:, None] == (np.arange(n) * blocks // n)[None, :]


@functools.lru_cache(maxsize=4096)
def _default_row(
    formats: tuple,
    dataflow: str,
    depth: int,
    k: int,
    tile_k: int,
    z: float,
    blocks: int = 1,
    group_channels: int = 1,
) -> tuple[float, ...]:
    bits_a, signed_a, bits_b, signed_b, acc, gating = formats
    cfg = ArrayConfig(
        name="stats",
        rows=depth,
        cols=DEFAULT_COLS,
        dataflow=dataflow,
        input_bits=bits_a,
        input_signed=signed_a,
        weight_bits=bits_b,
        weight_signed=signed_b,
        acc_bits=acc,
        zero_gating=gating,  # the gated operands' fold jumps (gjump_*) are taken only with gating
        word_bytes=-(-max(bits_a, bits_b) // 8),
        dram_bw_words_per_cycle=1,  # independent data: any lag is the same
    )
    rng = np.random.default_rng(12345)
    m, n = (DEFAULT_TIME, DEFAULT_COLS) if dataflow != "is" else (DEFAULT_COLS, DEFAULT_TIME)
    a = _uniform_nonzero(bits_a, signed_a, (m, k), z, rng)
    b = _uniform_nonzero(bits_b, signed_b, (k, n), z, rng)
    if blocks > 1:  # block-diagonal B: zero outside its groups' weights, in the RTL's K order
        b[~block_diagonal_mask(k, n, blocks, group_channels)] = 0  # [k, n]
    return tuple(layer_stats(cfg, a, b, tile_k=tile_k).tolist())


def default_stats(
    cfg: ArrayConfig,
    k: np.ndarray | int,
    zero_frac: float | np.ndarray = 0.0,
    tile_k: np.ndarray | int | None = None,
    blocks: np.ndarray | int = 1,
    group_channels: np.ndarray | int = 1,
) -> np.ndarray:
    """Statistics ``[layer, stat]`` of layers with reduction lengths ``k`` on independent operands drawn
    uniformly from the non-zero values of the configured formats, a share ``zero_frac`` of them then set
    to zero: the assumption for a network without data (the statistics-free default).

    Taken by :func:`layer_stats` from a small synthetic layer of such operands (seeded: same bytes every
    time), its K and the array's fold depth rounded to steps of sqrt(2) up to :data:`DEFAULT_MAX_K`
    (:func:`_bucket`), memoised per format (zero gating included), dataflow, fold depth, K and zero
    fraction. For independent data the DRAM lane order and the array's width do not matter.

    ``blocks`` ``[layer]``: a block-diagonal B (a grouped convolution in blocks, ``group_blocks``) of
    that many diagonal blocks, zero elsewhere; the synthetic B keeps that share ``1 / blocks`` of its
    weights (at most :data:`DEFAULT_COLS` blocks), placed as the lowering places them
    (:func:`block_diagonal_mask`: K tap-major with ``group_channels`` ``[layer]`` channels per group
    innermost, so a depthwise block's weights change group on every K line).
    """
    k = np.atleast_1d(np.asarray(k, dtype=np.int64))
    z = np.broadcast_to(np.asarray(zero_frac, dtype=float), k.shape)
    if np.any((z < 0) | (z > 1)):
        raise InputError(f"zero fraction must be in 0..1, not {np.unique(z).tolist()}")
    tk = k if tile_k is None else np.broadcast_to(np.asarray(tile_k, dtype=np.int64), k.shape)
    formats = (
        cfg.input_bits,
        cfg.input_signed,
        cfg.weight_bits,
        cfg.weight_signed,
        cfg.acc_bits,
        cfg.zero_gating,
    )
    df = cfg.dataflow.value
    nb = np.broadcast_to(np.asarray(blocks, dtype=np.int64), k.shape)
    cg = np.broadcast_to(np.asarray(group_channels, dtype=np.int64), k.shape)
    rows = [
        _default_row(
            formats,
            df,
            _bucket(min(cfg.rows, ki)),
            _bucket(ki),
            _bucket(ti),
            round(float(zi), 3),
            min(bi, DEFAULT_COLS),
            ci if bi > 1 else 1,
        )
        for ki, ti, zi, bi, ci in zip(
            k.tolist(), tk.tolist(), z.tolist(), nb.tolist(), cg.tolist(), strict=True
        )
    ]
    return np.array(rows, dtype=float).reshape(k.size, len(STAT_COLUMNS))
