"""Operand arrays a user gives as NumPy ``.npy`` files (``systolic cosim --operands``, ``--conv-operands``,
``systolic run --sample-input``): read with ``allow_pickle=False``, checked for shape, integer type and
range, every problem one line naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """The array in ``path``; a missing or unreadable file is an :class:`InputError` naming it."""
    from systolic.fileio import MAX_INPUT_BYTES

    path = Path(path)
    if not path.is_file():
        raise InputError("not a regular file" if path.exists() else "no such file", path)
    if path.stat().st_size > MAX_INPUT_BYTES:
        raise InputError(
            f"larger than {MAX_INPUT_BYTES >> 20} MiB, the most systolic reads from one input file", path
        )
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"not a NumPy .npy array ({str(err).splitlines()[0]})", path) from None


def checked(
    x: np.ndarray,
    path: str | os.PathLike,
    ndim: int,
    what: str,
    bits: int,
    signed: bool,
    ternary: bool = False,
) -> np.ndarray:
    """``x`` as int64 if it has ``ndim`` dimensions, none empty, and integer values within the format
    (-1..1 for ternary weights)."""
    if x.ndim != ndim or 0 in x.shape:
        raise InputError(f"{what} must be a non-empty {ndim}-D array, not shape {x.shape}", path)
    if not (np.issubdtype(x.dtype, np.integer) or x.dtype == bool):
        raise InputError(f"{what} must hold integers, not {x.dtype}", path)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if ternary:
        lo, hi = -1, 1
    if x.min() < lo or x.max() > hi:
        kind = "ternary" if ternary else "signed" if signed else "unsigned"
        raise InputError(
            f"{what} values must fit the configured {bits}-bit {kind} format ({lo}..{hi}), "
            f"got {x.min()}..{x.max()}",
            path,
        )
    return x.astype(np.int64)


def load_gemm_operands(cfg: ArrayConfig, path_a: str, path_b: str) -> tuple[np.ndarray, np.ndarray]:
    """A[M, K] (input format) and B[K, N] (weight format) from two ``.npy`` files."""
    a = checked(load_npy(path_a), path_a, 2, "A (M x K)", cfg.input_bits, cfg.input_signed)
    ternary = cfg.weight_format == "ternary"
    b = checked(load_npy(path_b), path_b, 2, "B (K x N)", cfg.weight_bits, cfg.weight_signed, ternary)
    if a.shape[1] != b.shape[0]:
        raise InputError(f"B has {b.shape[0]} rows but A has K = {a.shape[1]} columns", path_b)
    return a, b


def load_conv_operands(cfg: ArrayConfig, path_x: str, path_w: str) -> tuple[np.ndarray, np.ndarray]:
    """An ifmap ``[H, W, C]`` or ``[batch, H, W, C]`` (input format) and filters ``[R, S, C, F]`` (weight
    format) from two ``.npy`` files; the ifmap comes back with a batch axis."""
    raw = load_npy(path_x)
    if raw.ndim == 3:
        raw = raw[None]
    x = checked(raw, path_x, 4, "the ifmap ([H, W, C] or [batch, H, W, C])", cfg.input_bits, cfg.input_signed)
    ternary = cfg.weight_format == "ternary"
    w = checked(
        load_npy(path_w), path_w, 4, "the filters ([R, S, C, F])", cfg.weight_bits, cfg.weight_signed, ternary
    )
    if w.shape[2] != x.shape[3]:
        raise InputError(f"the filters have {w.shape[2]} channels but the ifmap has {x.shape[3]}", path_w)
    return x, w
