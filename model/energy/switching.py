"""Bit switching of value streams, the building blocks of :mod:`.streams`' statistics: values as
two's-complement bit patterns, the mean Hamming distance between them along a stream, a fold apart or
between zero-gated registers' held values, per bit of their width."""

from __future__ import annotations

import numpy as np


def _patterns(values: np.ndarray, bits: int) -> np.ndarray:
    """Values as unsigned ``bits``-wide patterns (two's complement, wrapped)."""
    return np.asarray(values).astype(np.int64).astype(np.uint64) & np.uint64((1 << bits) - 1)


def _rate(x: np.ndarray, y: np.ndarray, bits: int) -> float:
    """Mean Hamming distance of ``x`` and ``y`` (same shape) over ``bits``; 0 for empty arrays."""
    if not x.size:
        return 0.0
    return float(np.bitwise_count(_patterns(x, bits) ^ _patterns(y, bits)).mean()) / bits


def _across(x: np.ndarray, fold: int, axis: int, bits: int) -> float:
    """Switching of ``x`` between positions ``fold`` apart along ``axis`` (a fold's lanes and the next
    fold's), per bit of ``bits``; one position apart where ``axis`` holds one fold only."""
    n = x.shape[axis]
    step = fold if n > fold else 1
    if n <= step:
        return 0.0
    head = np.take(x, np.arange(step, n), axis=axis)
    tail = np.take(x, np.arange(n - step), axis=axis)
    return _rate(head, tail, bits)


def _ones(x: np.ndarray, bits: int) -> float:
    return float(np.bitwise_count(_patterns(x, bits)).mean()) / bits if x.size else 0.0


def _along(x: np.ndarray, bits: int) -> float:
    """Switching along axis 0."""
    return _rate(x[1:], x[:-1], bits)


def _nonzero_switch(x: np.ndarray, bits: int) -> float:
    """Switching between consecutive non-zero values of each lane of ``x[time, lane]``."""
    lanes = _patterns(x, bits).T.reshape(x.shape[1] if x.ndim > 1 else 1, -1)  # [lane, time]
    nz = lanes[lanes != 0]
    lane_of = np.nonzero(lanes != 0)[0]
    same = lane_of[1:] == lane_of[:-1]
    if not same.any():
        return 0.0
    return float(np.bitwise_count(nz[1:][same] ^ nz[:-1][same]).mean()) / bits


def _held_flips(v: np.ndarray, bits: int) -> np.ndarray:
    """Bit flips per lane ``[lane]`` of zero-gated registers fed ``v[time, lane...]`` (lanes flattened):
    each takes its lane's non-zero values and holds them through zeros (a zero stands for a gated step)."""
    lanes = _patterns(v, bits).reshape(v.shape[0], -1).T  # [lane, time]
    nz = lanes[lanes != 0]
    lane_of = np.nonzero(lanes != 0)[0]
    same = lane_of[1:] == lane_of[:-1]
    flips = np.bitwise_count(nz[1:][same] ^ nz[:-1][same]).astype(float)
    return np.bincount(lane_of[1:][same], weights=flips, minlength=lanes.shape[0])


def _flag_flips(mask: np.ndarray) -> int:
    """Changes of a one-bit flag ``mask[time, lane...]`` along time."""
    return int(np.count_nonzero(mask[1:] != mask[:-1]))
