"""Convolution-native input (``conv_native``): bands of input rows instead of the im2col matrix.

A convolution that runs natively (:func:`systolic.geometry.conv_native_layer`) keeps its ifmap in DRAM as
the NHWC tensor. Its tiles hold ``j`` whole output rows of one image (``tm = j * OW``, j dividing OH) and
the taps of ``q`` whole filter rows (``tk = q * S * C``); a tile's A is the *band* of input rows those
output rows read with those filter rows, halo included, rows outside the tensor left out
(:func:`band_rows`): ``rows * W * C`` words from DRAM, one contiguous run of the NHWC tensor, stored as
``rows * W * C / P`` SRAM lines of P channels. An on-chip
window generator gives the array the im2col operand stream from it (zeros for padding), so the array's
timing and its SRAM reads are those of the im2col layer; only the DRAM words of A change: the tensor plus
the halo rows re-read by neighbouring bands (times the n-tiles when there are several m-tiles).

Pure NumPy; the RTL is ``hdl/window.py`` and the controller's band walk (``hdl/controller.py``).
"""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig
from systolic.geometry import Geometry
from systolic.workload import ConvShape


def band_rows(conv: ConvShape, oh0, j: int, r0=0, r1=None):
    """(first input row, rows) of the band output rows ``oh0 .. oh0 + j - 1`` read with filter rows
    ``r0 .. r1 - 1`` (all of them by default; vectorised over oh0, r0 and r1)."""
    oh0 = np.asarray(oh0, dtype=np.int64)
    r1 = conv.filter_h if r1 is None else r1
    lo = np.maximum(0, oh0 * conv.stride_h - conv.pad_h + r0)
    hi = np.minimum(conv.ifmap_h - 1, (oh0 + j - 1) * conv.stride_h - conv.pad_h + r1 - 1)
    return lo, np.maximum(0, hi - lo + 1)


def _lines_per_pixel(cfg: ArrayConfig, conv: ConvShape) -> int:
    return conv.channels // cfg.rows


def plan_band(
    cfg: ArrayConfig, geo: dict[str, Geometry], conv: ConvShape, n: int, k: int, tn_candidates: np.ndarray
) -> tuple[tuple[int, int, int], int] | None:
    """Tile sizes (tm, tn, tk) of a native convolution and its DRAM words read (A and B), or None when no
    tiling fits.

    tm = j whole output rows (j divides OH); tk = q whole filter rows (q * S * C taps, the last k-tile
    shorter); tn among ``tn_candidates``. Every half must hold its tile (A: the tallest band), and no
    band may be empty (a k-tile whose filter rows all fall in the padding). The least DRAM traffic wins
    (every tile's band, times the n-tiles when a layer has several (m, k) tiles; the filters, times the
    m-tiles when there are several k-tiles), then the fewest tiles, then the largest tk, tm and tn.
    """
    oh, ow, taps_row = conv.ofmap_h, conv.ofmap_w, conv.filter_w * conv.channels
    row_words = conv.ifmap_w * conv.channels
    tn = np.asarray(tn_candidates, dtype=np.int64)  # [tn]
    count_n = -(-n // tn)
    best = None
    for q in range(1, conv.filter_h + 1):
        r0 = np.arange(0, conv.filter_h, q)  # [k-tile]
        r1 = np.minimum(r0 + q, conv.filter_h)
        fit_b = -(-tn // geo["B"].lanes) * min(k, q * taps_row) <= geo["B"].half_lines  # [tn]
        for j in (d for d in range(1, oh + 1) if oh % d == 0):
            _, rows = band_rows(conv, np.arange(0, oh, j)[:, None], j, r0, r1)  # [m-tile, k-tile]
            if int(rows.max()) * row_words // geo["A"].lanes > geo["A"].half_lines or int(rows.min()) < 1:
                continue
            tm = j * ow
            ok = fit_b & (-(-tn // geo["C"].lanes) * tm <= geo["C"].half_lines)  # [tn]
            if not ok.any():
                continue
            count_m, count_k = conv.batch * (oh // j), r0.size
            band_words = conv.batch * int(rows.sum()) * row_words
            traffic = band_words * np.where(count_m * count_k > 1, count_n, 1) + k * n * (
                count_m if count_k > 1 else 1
            )  # [tn]
            tiles = count_m * count_k * count_n
            for i in np.flatnonzero(ok):
                key = (int(traffic[i]), int(tiles[i]), -q, -tm, -int(tn[i]))
                if best is None or key < best[0]:
                    best = (key, (tm, int(tn[i]), min(k, q * taps_row)))
    return None if best is None else (best[1], best[0][0])


def band_lines(
    cfg: ArrayConfig, conv: ConvShape, m0: np.ndarray, tm: int, k0: np.ndarray, kt: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(first line, lines) of the bands of native tiles (first im2col rows ``m0``, ``tm`` rows; taps
    ``k0 .. k0 + kt - 1``, whole filter rows), in lines of P words counted from A's DRAM offset."""
    per_image, taps_row = conv.ofmap_h * conv.ofmap_w, conv.filter_w * conv.channels
    b, oh0 = m0 // per_image, (m0 % per_image) // conv.ofmap_w
    lo, rows = band_rows(conv, oh0, tm // conv.ofmap_w, k0 // taps_row, (k0 + kt) // taps_row)
    per_row = conv.ifmap_w * _lines_per_pixel(cfg, conv)
    return (b * conv.ifmap_h + lo) * per_row, rows * per_row


def window_addresses(
    conv: ConvShape, offset: int, m: np.ndarray, k0: np.ndarray, lanes: np.ndarray, width: int
) -> np.ndarray:
    """DRAM addresses ``[event, width]`` of the ifmap words an A vector of im2col row ``m`` and taps
    ``k0 .. k0 + lanes - 1`` reads (NHWC), -1 for idle lanes and for padding (zeros made on chip)."""
    lane = np.arange(width)  # [lane]
    k = k0[:, None] + lane  # [event, lane]
    r, rest = np.divmod(k, conv.filter_w * conv.channels)
    s, c = np.divmod(rest, conv.channels)
    b, pix = np.divmod(m, conv.ofmap_h * conv.ofmap_w)
    oh, ow = np.divmod(pix, conv.ofmap_w)
    h = (oh * conv.stride_h - conv.pad_h)[:, None] + r
    w = (ow * conv.stride_w - conv.pad_w)[:, None] + s
    inside = (h >= 0) & (h < conv.ifmap_h) & (w >= 0) & (w < conv.ifmap_w) & (lane < lanes[:, None])
    addr = offset + ((b[:, None] * conv.ifmap_h + h) * conv.ifmap_w + w) * conv.channels + c
    return np.where(inside, addr, -1)
