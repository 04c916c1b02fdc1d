"""Convolution-native input (``conv_native``): bands of input rows instead of the im2col matrix.

A convolution that runs natively (:func:`systolic.geometry.native_conv`; for a block of groups, the dense
convolution of its channel slice) keeps its ifmap in DRAM as the NHWC tensor. Its tiles hold ``j`` whole
output rows of one image (``tm = j * OW``, j dividing OH) and the taps of ``q`` whole filter rows (``tk = q *
S * C``; q = 1 when C is not a multiple of P, the array's rows); a tile's A is the *band* of input rows those
output rows read with those filter rows, halo included, rows outside the tensor left out (:func:`band_rows`):
``rows * W * C`` words, one contiguous run of the NHWC tensor, widened to whole SRAM lines of P consecutive
words (at most P - 1 words more at each end when C is not a multiple of P, none when it is). An on-chip window
generator gives the array the im2col operand stream from it (zeros for padding): the taps of one output pixel
and one filter row are one contiguous run of the band, so a k-line's P taps are P consecutive words at any
word address, read with one word per lane (each lane of the SRAM its own column, addressed on its own) and
rotated into place. The array's timing and its SRAM reads (words per lane) are those of the im2col layer; what
changes is the DRAM words of A (the tensor plus the halo rows re-read by neighbouring bands, times the n-tiles
when there are several m-tiles, plus the alignment words) and, when C is not a multiple of P, the k-tiles (one
filter row each, the last k-line of each row partial, so possibly more folds than im2col's).

On OS and IS (A's lanes along the output pixels) the ifmap is NCHW and a band is C runs of ``rows * W`` words,
one per channel plane (:func:`band_runs`), fetched exactly (no alignment words); any number of filter rows per
k-tile (K runs in time); only stride-1 convolutions as wide as their input
(:func:`systolic.geometry.pixel_runs`) read so.

Pure NumPy; the RTL is ``hdl/window.py`` and the controller's band walk (``hdl/controller.py``).
"""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig
from systolic.geometry import Geometry, band_row_pitch
from systolic.workload import ConvShape

#: OS: the longest run of a band (rows x W words) the controller's fill walk can take (its extent along the
#: lanes is a 16-bit tile register, as M, N and K are).
MAX_RUN_WORDS = (1 << 16) - 1


def band_rows(conv: ConvShape, oh0, j: int, r0=0, r1=None):
    """(first input row, rows) of the band output rows ``oh0 .. oh0 + j - 1`` read with filter rows
    ``r0 .. r1 - 1`` (all of them by default, as the bands of :func:`plan_band`; vectorised over oh0, r0
    and r1)."""
    oh0 = np.asarray(oh0, dtype=np.int64)
    r1 = conv.filter_h if r1 is None else r1
    lo = np.maximum(0, oh0 * conv.stride_h - conv.pad_h + r0)
    hi = np.minimum(conv.ifmap_h - 1, (oh0 + j - 1) * conv.stride_h - conv.pad_h + r1 - 1)
    return lo, np.maximum(0, hi - lo + 1)


def _band_line_range(conv: ConvShape, lanes: int, b, lo, rows):
    """(first line, lines) of the bands of image ``b``, input rows ``lo .. lo + rows - 1`` (vectorised):
    the NHWC words ``((b * H + lo) * W) * C`` up to the band's last, widened to whole lines of P =
    ``lanes`` words (line ``i``: words ``i * P .. i * P + P - 1`` from A's offset). When C is a multiple
    of P the band is whole lines already; otherwise each end adds at most P - 1 words of the rows around."""
    row_words = conv.ifmap_w * conv.channels
    first = (b * conv.ifmap_h + lo) * row_words
    line0 = first // lanes
    return line0, -(-(first + rows * row_words) // lanes) - line0


def plan_band(
    cfg: ArrayConfig, geo: dict[str, Geometry], conv: ConvShape, n: int, k: int, tn_candidates: np.ndarray
) -> tuple[tuple[int, int, int], int] | None:
    """Tile sizes (tm, tn, tk) of a native convolution and its DRAM words read (A and B), or None when no
    tiling fits.

    tm = j whole output rows (j divides OH); tk = q whole filter rows (q * S * C taps, the last k-tile
    shorter; q = 1 when C is not a multiple of P, so that a k-line never spans two filter rows); tn among
    ``tn_candidates``. A tile's band holds the input rows of its output rows for every filter row, so the
    k-tiles of an m-tile share it (loaded when m changes). Every half must hold its tile (A: the tallest
    band, in whole lines). The least DRAM traffic wins (the bands, times the n-tiles when a layer has
    several m-tiles; the filters, times the m-tiles when there are several k-tiles), then the fewest
    tiles, then the largest tk, tm and tn.
    """
    oh, ow, taps_row = conv.ofmap_h, conv.ofmap_w, conv.filter_w * conv.channels
    lanes = geo["A"].lanes
    tn = np.asarray(tn_candidates, dtype=np.int64)  # [tn]
    count_n = -(-n // tn)
    image = np.arange(conv.batch)[:, None]  # [image, 1]
    by_pixel = geo["A"].lane_dim == "m"  # OS, IS: lanes along the output pixels, a run per channel
    q_max = conv.filter_h if by_pixel or conv.channels % lanes == 0 else 1
    best = None
    for j in (d for d in range(1, oh + 1) if oh % d == 0):
        lo, rows = band_rows(conv, np.arange(0, oh, j), j)  # [m-tile]
        if by_pixel:
            if int(rows.max()) * conv.ifmap_w > MAX_RUN_WORDS:
                continue
            lines = conv.channels * -(-rows * conv.ifmap_w // lanes)  # [m-tile], the same for every image
            band_words = conv.batch * conv.channels * conv.ifmap_w * int(rows.sum())
        else:
            _, lines = _band_line_range(conv, lanes, image, lo, rows)  # [image, m-tile]
            band_words = int(lines.sum()) * lanes
        if int(lines.max()) > geo["A"].half_lines:
            continue
        tm = j * ow
        fit_c = -(-tn // geo["C"].lanes) * tm <= geo["C"].half_lines  # [tn]
        count_m = conv.batch * (oh // j)
        for q in range(1, q_max + 1):
            tk = min(k, q * taps_row)
            ok = fit_c & (-(-tn // geo["B"].lanes) * tk <= geo["B"].half_lines)  # [tn]
            count_k = -(-conv.filter_h // q)
            traffic = band_words * np.where(count_m > 1, count_n, 1) + k * n * (
                count_m if count_k > 1 else 1
            )  # [tn]
            tiles = count_m * count_k * count_n
            for i in np.flatnonzero(ok):
                key = (int(traffic[i]), int(tiles[i]), -q, -tm, -int(tn[i]))
                if best is None or key < best[0]:
                    best = (key, (tm, int(tn[i]), tk))
    return None if best is None else (best[1], best[0][0])


def band_lines(cfg: ArrayConfig, conv: ConvShape, m0: np.ndarray, tm: int) -> tuple[np.ndarray, np.ndarray]:
    """(first line, lines) of the bands of native tiles (first im2col rows ``m0``, ``tm`` rows: whole
    output rows of one image; every filter row), in lines of P words counted from A's DRAM offset."""
    per_image = conv.ofmap_h * conv.ofmap_w
    b, oh0 = m0 // per_image, (m0 % per_image) // conv.ofmap_w
    lo, rows = band_rows(conv, oh0, tm // conv.ofmap_w)
    return _band_line_range(conv, cfg.rows, b, lo, rows)


def band_runs(conv: ConvShape, m0: np.ndarray, tm: int) -> tuple[np.ndarray, np.ndarray]:
    """OS and IS (lanes along the output pixels, :func:`systolic.geometry.native_conv`): (first word, words
    per run) of the bands of native tiles (first im2col rows ``m0``, ``tm`` rows: whole output rows of one
    image; every filter row). DRAM holds the ifmap NCHW, so a band is C runs of ``rows * W`` words, run c from
    ``first + c * H * W`` (words from A's offset); the ifmap SRAM holds word w of run c in line ``(w // P) * C
    + c``, lane ``w % P`` (the fill walk of an im2col tile of ``rows * W`` x C)."""
    per_image = conv.ofmap_h * conv.ofmap_w
    b, oh0 = m0 // per_image, (m0 % per_image) // conv.ofmap_w
    lo, rows = band_rows(conv, oh0, tm // conv.ofmap_w)
    return (b * conv.channels * conv.ifmap_h + lo) * conv.ifmap_w, rows * conv.ifmap_w


def window_addresses(
    conv: ConvShape,
    offset: int,
    m: np.ndarray,
    k0: np.ndarray,
    lanes: np.ndarray,
    width: int,
    by_pixel: bool = False,
) -> np.ndarray:
    """DRAM addresses ``[event, width]`` of the ifmap words an A vector of im2col row ``m`` and taps
    ``k0 .. k0 + lanes - 1`` reads (NHWC), -1 for idle lanes and for padding (zeros made on chip). With
    ``by_pixel`` (OS) the lanes run along the rows instead: rows ``m .. m + lanes - 1`` at tap ``k0``, in
    the NCHW tensor."""
    lane = np.arange(width)  # [lane]
    if by_pixel:
        m, k = m[:, None] + lane, np.broadcast_to(k0[:, None], (k0.size, width))  # [event, lane]
    else:
        m, k = m[:, None], k0[:, None] + lane  # [event, lane]
    r, rest = np.divmod(k, conv.filter_w * conv.channels)
    s, c = np.divmod(rest, conv.channels)
    b, pix = np.divmod(m, conv.ofmap_h * conv.ofmap_w)
    oh, ow = np.divmod(pix, conv.ofmap_w)
    h = oh * conv.stride_h - conv.pad_h + r
    w = ow * conv.stride_w - conv.pad_w + s
    inside = (h >= 0) & (h < conv.ifmap_h) & (w >= 0) & (w < conv.ifmap_w) & (lane < lanes[:, None])
    if by_pixel:
        addr = offset + ((b * conv.channels + c) * conv.ifmap_h + h) * conv.ifmap_w + w
    else:
        addr = offset + ((b * conv.ifmap_h + h) * conv.ifmap_w + w) * conv.channels + c
    return np.where(inside, addr, -1)


def pitched_band_lines(conv: ConvShape, lanes: int, rows) -> np.ndarray:
    """WS bands with k-lines across filter rows (designed, not built: see
    :func:`systolic.geometry.band_row_pitch`): SRAM lines of a band of ``rows`` input rows (vectorised),
    row y at SRAM words ``y * L .. y * L + W * C - 1`` from line 0, lane 0: ``ceil(((rows - 1) L + W C) /
    P)``, 0 for no rows. Its DRAM words are the rows' ``rows * W * C`` words (each row fetched as its own
    run, the gap words never fetched)."""
    pitch = band_row_pitch(conv.ifmap_w, conv.channels, conv.filter_w, lanes)
    rows = np.asarray(rows, dtype=np.int64)
    span = (rows - 1) * pitch + conv.ifmap_w * conv.channels  # [..] words from line 0, lane 0
    return np.where(rows > 0, -(-span // lanes), 0)


def pitched_fill_beats(conv: ConvShape, lanes: int, bw: int, rows: int) -> int:
    """DRAM read requests that fill a pitched band of ``rows`` input rows (designed, not built): row y is
    the DRAM run of W * C words from its first, written from SRAM word ``y * L`` (lane ``y L mod P``), in
    beats of at most ``bw`` words that do not cross an SRAM line: per row its part of its first line, its
    whole lines and its part of its last line, each ``ceil(words / bw)`` beats (vectorised over rows)."""
    pitch = band_row_pitch(conv.ifmap_w, conv.channels, conv.filter_w, lanes)
    words = conv.ifmap_w * conv.channels
    phase = (np.arange(rows, dtype=np.int64) * pitch) % lanes  # [row] first lane of the row
    first = np.minimum(words, lanes - phase)  # [row] words in the row's first line
    whole, last = np.divmod(words - first, lanes)  # [row]
    per_line = -(-lanes // bw)
    return int((-(-first // bw) + whole * per_line + -(-last // bw)).sum())


def pitched_window(
    conv: ConvShape, lanes: int, lo: np.ndarray, m: np.ndarray, k0: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WS k-lines across filter rows from a pitched band (designed, not built): for A vectors of im2col
    row ``m`` and taps ``k0 .. k0 + P - 1`` (any k0, P = ``lanes``) of a band whose first input row is
    ``lo`` (``[event]`` each), per vector lane i ``(line, memory lane, inside)`` ``[event, lane]``, as the
    window generator would compute them without a division per lane: ``rot = (V + k0) mod P`` and lines
    ``(V + k0 + i) // P`` (the two lines of a rotated read, V = (h0 - lo) L + w0 C the word of the pixel's
    tap (0, 0, 0), h0 = oh stride_h - pad_h, w0 = ow stride_w - pad_w), plus ``j_i (L - S C) / P`` for
    the j_i-th filter row past the vector's first (a chain of increments wrapping at S C along the lanes,
    from the first tap's place t0 in its filter row: j_i = (t0 + i) // (S C)); ``inside``: the tap's pixel
    is in the tensor (per lane its row h0 + r_i and its place t_i in the filter row against the
    vector's thresholds)."""
    taps_row = conv.filter_w * conv.channels
    pitch = band_row_pitch(conv.ifmap_w, conv.channels, conv.filter_w, lanes)
    step = (pitch - taps_row) // lanes  # lines per filter row, past the lanes' rotation
    b, pix = np.divmod(np.asarray(m, dtype=np.int64), conv.ofmap_h * conv.ofmap_w)
    oh, ow = np.divmod(pix, conv.ofmap_w)
    h0 = oh * conv.stride_h - conv.pad_h  # [event]
    w0 = ow * conv.stride_w - conv.pad_w
    k0 = np.asarray(k0, dtype=np.int64)
    r0, t0 = np.divmod(k0, taps_row)  # [event] once per vector (the RTL: counters, as today)
    virt = (h0 - np.asarray(lo)) * pitch + w0 * conv.channels + k0 + r0 * (pitch - taps_row)  # [event]
    lane = np.arange(lanes)  # [lane]
    j, t = np.divmod(t0[:, None] + lane, taps_row)  # [event, lane]
    line = (virt[:, None] + lane) // lanes + j * step  # [event, lane]
    mem_lane = (virt[:, None] + lane) % lanes  # [event, lane]: (rot + i) mod P
    h = h0[:, None] + r0[:, None] + j  # [event, lane]
    inside = (
        (h >= 0)
        & (h < conv.ifmap_h)
        & (r0[:, None] + j < conv.filter_h)
        & (t >= -w0[:, None] * conv.channels)
        & (t < (conv.ifmap_w - w0[:, None]) * conv.channels)
    )
    return line, mem_lane, inside
