"""Convolution-native input (``conv_native``): bands of input rows instead of the im2col matrix.

A convolution that runs natively (:func:`systolic.geometry.native_conv`; for a block of groups, the dense
convolution of its channel slice) keeps its ifmap in DRAM as the NHWC tensor. Its tiles hold ``j`` whole
output rows of one image (``tm = j * OW``, j dividing OH) and either ``q`` whole filter rows of taps (``tk = q
* S * C``, C a multiple of P, the array's rows) or, when C is not a multiple of P, any whole number of k-lines
(``tk`` a multiple of P, or K); a tile's A is the *band* of input rows those output rows read with every
filter row, halo included, rows outside the tensor left out (:func:`band_rows`): ``rows`` DRAM runs of
``W * C`` words (:func:`band_fill`), each fetched exactly, written to the ifmap SRAM at a row pitch of L words
(:func:`systolic.geometry.band_row_pitch`: the smallest L >= W C with L - S C a multiple of P; W C when C is
a multiple of P). An on-chip window generator gives the array the im2col operand stream from it (zeros for
padding): the taps k = (r S + s) C + c of one output pixel are at SRAM word ``V + k + r (L - S C)``, so a
k-line's P taps, across filter rows too, fall on P distinct lanes (each lane of the SRAM its own column,
addressed on its own: :func:`pitched_window`) and are rotated into place. The array's timing and its SRAM
reads (words per lane) are those of the im2col layer with these tiles; what changes is the DRAM words of A
(the tensor plus the halo rows re-read by neighbouring bands, times the n-tiles when there are several
m-tiles) and the fill's beats (none crosses an SRAM line: :func:`pitched_fill_beats`).

On OS and IS (A's lanes along the output pixels) the ifmap is NCHW split into the stride's phase planes
(:func:`systolic.geometry.phase_layout`; stride 1: the channel planes) and a band is ``runs`` runs of ``rows *
W'`` words, one per channel and phase read (:func:`band_runs`), fetched exactly (no alignment words; the
padding words of a smaller phase's last row or column are read with its plane rows), its plane rows at a
row pitch L in the SRAM (:func:`systolic.geometry.pixel_row_pitch`: W' for 'same' widths, OW = W', else
the smallest L >= W' with L - OW a multiple of P, so that a vector of P output pixels spanning output
rows reads P distinct lanes); any number of filter rows per k-tile (K runs in time); any output width
(:func:`systolic.geometry.pixel_runs`: every phase of a channel or one), grouped ones too (a block of
groups: the dense convolution of its C' consecutive channels' planes).

Pure NumPy; the RTL is ``hdl/window.py`` and the controller's band walk (``hdl/controller.py``).
"""

from __future__ import annotations

import bisect

import numpy as np

from systolic.config import ArrayConfig
from systolic.geometry import (
    Geometry,
    band_row_pitch,
    phase_layout,
    pixel_address,
    pixel_row_pitch,
    pixel_words,
)
from systolic.workload import ConvShape

#: The longest run of a band (OS and IS: rows x W' words; WS: a row's W x C words, plus up to P lanes of its
#: start in its first SRAM line) and the most runs (OS and IS: C x phases read) the controller's fill walk can
#: take (its extents are 16-bit tile registers, as M, N and K are).
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


def plane_rows(conv: ConvShape, oh0, j: int):
    """OS and IS: (first plane row, rows) of the band of output rows ``oh0 .. oh0 + j - 1`` (vectorised over
    oh0): the phase-plane rows every filter row reads, oh + dy for dy from ``row_lo`` to ``row_hi``
    (:func:`systolic.geometry.phase_layout`), rows outside the plane left out; the same rows of every phase
    read."""
    lay = phase_layout(conv)
    oh0 = np.asarray(oh0, dtype=np.int64)
    lo = np.maximum(0, oh0 + lay.row_lo)
    hi = np.minimum(lay.plane_h - 1, oh0 + j - 1 + lay.row_hi)
    return lo, np.maximum(0, hi - lo + 1)


#: The most k-tile sizes :func:`plan_band` offers for timing (each with the least DRAM traffic).
TIMED_BAND_TKS = 5


def plan_band(
    cfg: ArrayConfig, geo: dict[str, Geometry], conv: ConvShape, n: int, k: int, tn_candidates: np.ndarray
) -> list[tuple[tuple[int, int, int], int]]:
    """Candidate tile sizes (tm, tn, tk) of a native convolution, each with its DRAM words read (A and B),
    best first; empty when no tiling fits.

    tm = j whole output rows (j divides OH); tk = q whole filter rows (q * S * C taps, the last k-tile
    shorter) when C is a multiple of P or on OS and IS, else any multiple of P (k-lines across filter rows
    from a pitched band, :func:`systolic.geometry.band_row_pitch`) up to K; tn among ``tn_candidates``. A
    tile's band holds the input rows of its output rows for every filter row, so the k-tiles of an m-tile
    share it (loaded when m changes). Every half must hold its tile (A: the tallest band, in SRAM lines:
    :func:`pitched_band_lines` on WS). The least DRAM traffic wins (the bands, times the n-tiles when a
    layer has several m-tiles; the filters, times the m-tiles when there are several k-tiles), then the fewest
    tiles, then the largest tk, tm and tn: that is the first candidate. The others are the best plans of
    other tk with the same least traffic, at most :data:`TIMED_BAND_TKS` in all, their k-tile counts spread
    geometrically from the first's to the most (the smallest tk): traffic does not tell them apart, but
    their timing does (several k-tiles let the filters' fill overlap the array's work, one does not), so the
    memory model times them (:func:`systolic.model.memory.plan_tiles_for`).
    """
    oh, ow, taps_row = conv.ofmap_h, conv.ofmap_w, conv.filter_w * conv.channels
    lanes = geo["A"].lanes
    tn = np.asarray(tn_candidates, dtype=np.int64)  # [tn]
    count_n = -(-n // tn)
    by_pixel = geo["A"].lane_dim == "m"  # OS, IS: lanes along the output pixels, a run per channel
    if by_pixel or conv.channels % lanes == 0:  # whole filter rows: tk = q S C
        tks = [min(k, q * taps_row) for q in range(1, conv.filter_h + 1)]
    else:  # k-lines across filter rows: any tk, in whole k-lines
        tks = [min(k, i * lanes) for i in range(1, -(-k // lanes) + 1)]
    lay = phase_layout(conv) if by_pixel else None
    best: dict[int, tuple] = {}  # tk -> (key, sizes): the best plan of each k-tile size
    for j in (d for d in range(1, oh + 1) if oh % d == 0):
        if by_pixel:
            _, rows = plane_rows(conv, np.arange(0, oh, j), j)  # [m-tile]
            if int(rows.max()) * lay.plane_w > MAX_RUN_WORDS or int(rows.min()) == 0:
                continue  # a band of no plane rows (output rows all padding): the fill walk has no empty run
            runs = conv.channels * lay.read
            if runs > MAX_RUN_WORDS:  # the fill walk's count of runs is a 16-bit tile register too
                return []
            lines = pixel_band_lines(conv, lanes, rows)  # [m-tile], the same for every image
            band_words = conv.batch * runs * lay.plane_w * int(rows.sum())
        else:
            lo, rows = band_rows(conv, np.arange(0, oh, j), j)  # [m-tile]
            if conv.ifmap_w * conv.channels + lanes > MAX_RUN_WORDS:  # a row is the fill walk's run
                continue
            lines = pitched_band_lines(conv, lanes, rows)  # [m-tile], each row its own DRAM run, in SRAM
            band_words = conv.batch * conv.ifmap_w * conv.channels * int(rows.sum())  # at the row pitch
        if int(lines.max()) > geo["A"].half_lines:
            continue
        tm = j * ow
        fit_c = -(-tn // geo["C"].lanes) * tm <= geo["C"].half_lines  # [tn]
        count_m = conv.batch * (oh // j)
        for tk in tks:
            ok = fit_c & (-(-tn // geo["B"].lanes) * tk <= geo["B"].half_lines)  # [tn]
            count_k = -(-k // tk)
            traffic = band_words * np.where(count_m > 1, count_n, 1) + k * n * (
                count_m if count_k > 1 else 1
            )  # [tn]
            tiles = count_m * count_k * count_n
            for i in np.flatnonzero(ok):
                key = (int(traffic[i]), int(tiles[i]), -tk, -tm, -int(tn[i]))
                if tk not in best or key < best[tk][0]:
                    best[tk] = (key, (tm, int(tn[i]), tk))
    plans = sorted(best.values())  # [(key, sizes)]
    tied = [(sizes, key[0]) for key, sizes in plans if key[0] == plans[0][0][0]]
    if len(tied) <= TIMED_BAND_TKS:
        return tied
    # the first (fewest tiles), then the fewest k-tiles at or above counts spread geometrically to the most
    by_count = sorted(range(1, len(tied)), key=lambda i: -(-k // tied[i][0][2]))  # stable: best key first
    counts = [-(-k // tied[i][0][2]) for i in by_count]
    lo, hi = -(-k // tied[0][0][2]), counts[-1]
    pick = [0]
    for step in range(1, TIMED_BAND_TKS):
        want = lo * (hi / lo) ** (step / (TIMED_BAND_TKS - 1))
        i = by_count[min(bisect.bisect_left(counts, want - 1e-9), len(counts) - 1)]
        if i not in pick:
            pick.append(i)
    return [tied[i] for i in pick]


def band_fill(conv: ConvShape, lanes: int, m0: np.ndarray, tm: int) -> dict[str, np.ndarray]:
    """WS: the bands of native tiles (first im2col rows ``m0``, ``tm`` rows: whole output rows of one image;
    every filter row) as the fill walk reads them: ``runs`` input rows, DRAM runs of ``run`` = W C words,
    the first from word ``word0`` of A's DRAM region (NHWC: the next ``W C`` words on), row y written from
    SRAM word ``y * pitch`` (:func:`systolic.geometry.band_row_pitch`), ``lines`` SRAM lines in all
    (``[tile]`` each but ``run``)."""
    per_image = conv.ofmap_h * conv.ofmap_w
    b, oh0 = m0 // per_image, (m0 % per_image) // conv.ofmap_w
    lo, rows = band_rows(conv, oh0, tm // conv.ofmap_w)
    return {
        "word0": (b * conv.ifmap_h + lo) * conv.ifmap_w * conv.channels,
        "run": conv.ifmap_w * conv.channels,
        "runs": rows,
        "lines": pitched_band_lines(conv, lanes, rows),
        "pitch": np.full_like(rows, band_row_pitch(conv.ifmap_w, conv.channels, conv.filter_w, lanes)),
    }


def band_runs(conv: ConvShape, lanes: int, m0: np.ndarray, tm: int) -> dict[str, np.ndarray]:
    """OS and IS (lanes along the output pixels, :func:`systolic.geometry.native_conv`): the bands of native
    tiles (first im2col rows ``m0``, ``tm`` rows: whole output rows of one image; every filter row) as the
    fill walk reads them. DRAM holds the ifmap in phase planes (:func:`systolic.geometry.phase_layout`), so
    a band is ``runs`` = C ``read`` runs of ``rows * W'`` words (:func:`plane_rows`), run i from ``word0 +
    i * pitch_dram`` (words from A's offset); the ifmap SRAM holds run word w of run i in line ``(w // P) *
    runs + i``, lane ``w % P``, plane row y from run word ``y * L``
    (:func:`systolic.geometry.pixel_row_pitch`), ``lines`` (:func:`pixel_band_lines`) in all (``[tile]``
    each but ``runs``). When L = W' ('same' widths) a run is one DRAM run of ``run`` = rows W' words,
    ``rows`` 1 and ``pitch`` -1 (the fill walk of an im2col tile of ``run`` x ``runs``); else each plane
    row is a DRAM run of ``run`` = W' words of its own, ``rows`` of them per run at SRAM row pitch
    ``pitch`` = L (:func:`pitched_fill_beats` per run)."""
    lay = phase_layout(conv)
    per_image = conv.ofmap_h * conv.ofmap_w
    b, oh0 = m0 // per_image, (m0 % per_image) // conv.ofmap_w
    lo, rows = plane_rows(conv, oh0, tm // conv.ofmap_w)
    image = b * conv.channels * lay.phases + lay.first
    pitch = pixel_row_pitch(conv, lanes)
    split = pitch != lay.plane_w
    return {
        "word0": image * lay.plane_words + lo * lay.plane_w,
        "run": np.full_like(rows, lay.plane_w) if split else rows * lay.plane_w,
        "runs": conv.channels * lay.read,
        "rows": rows if split else np.ones_like(rows),
        "lines": pixel_band_lines(conv, lanes, rows),
        "pitch": np.full_like(rows, pitch if split else -1),
    }


def pixel_band_lines(conv: ConvShape, lanes: int, rows) -> np.ndarray:
    """OS and IS bands (:func:`band_runs`): SRAM lines of a band of ``rows`` plane rows (vectorised): its C
    ``read`` runs, each in whole lines of P = ``lanes`` words of its own, plane row y at run words ``y L ..
    y L + W' - 1`` (:func:`systolic.geometry.pixel_row_pitch`): ``ceil(((rows - 1) L + W') / P)`` lines a
    run (``rows W'`` words when L = W'), 0 for no rows."""
    lay = phase_layout(conv)
    rows = np.asarray(rows, dtype=np.int64)
    span = (rows - 1) * pixel_row_pitch(conv, lanes) + lay.plane_w  # [..] run words from line 0, lane 0
    return conv.channels * lay.read * np.where(rows > 0, -(-span // lanes), 0)


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
    the phase planes (:func:`systolic.geometry.pixel_address`)."""
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
        addr = offset + pixel_address(conv, b, c, np.maximum(h, 0), np.maximum(w, 0))
    else:
        addr = offset + ((b * conv.ifmap_h + h) * conv.ifmap_w + w) * conv.channels + c
    return np.where(inside, addr, -1)


def pitched_band_lines(conv: ConvShape, lanes: int, rows) -> np.ndarray:
    """WS bands (:func:`systolic.geometry.band_row_pitch`): SRAM lines of a band of ``rows`` input rows
    (vectorised), row y at SRAM words ``y * L .. y * L + W * C - 1`` from line 0, lane 0: ``ceil(((rows -
    1) L + W C) / P)``, 0 for no rows. Its DRAM words are the rows' ``rows * W * C`` words (each row
    fetched as its own run, the gap words never fetched)."""
    pitch = band_row_pitch(conv.ifmap_w, conv.channels, conv.filter_w, lanes)
    rows = np.asarray(rows, dtype=np.int64)
    span = (rows - 1) * pitch + conv.ifmap_w * conv.channels  # [..] words from line 0, lane 0
    return np.where(rows > 0, -(-span // lanes), 0)


def pitched_fill_beats(pitch, row_words, rows, lanes: int, bw) -> np.ndarray:
    """DRAM read requests that fill pitched bands (``[tile]`` arrays: the row pitch L, ``W C`` words a row,
    rows; ``bw``: a scalar or a ``[point, 1]`` column, giving ``[point, tile]``): row y is the DRAM run of
    W C words from its first, written from SRAM word ``y * L`` (lane ``y L mod P``), in beats of at most
    ``bw`` words that do not cross an SRAM line: per row its part of its first line, its whole lines and
    its part of its last line, each ``ceil(words / bw)`` beats (as the controller's fill walk)."""
    pitch, row_words, rows = (np.asarray(v, dtype=np.int64)[:, None] for v in (pitch, row_words, rows))
    y = np.arange(max(int(rows.max(initial=0)), 0))  # [row]
    phase = (y * pitch) % lanes  # [tile, row] first lane of the row
    first = np.minimum(row_words, lanes - phase)  # [tile, row] words in the row's first line
    whole, last = np.divmod(row_words - first, lanes)  # [tile, row]
    bw = np.asarray(bw, dtype=np.int64)[..., None]  # [(point,) 1, 1] or [1]
    per_row = -(-first // bw) + whole * -(-lanes // bw) + -(-last // bw)  # [(point,) tile, row]
    return np.where(y < rows, per_row, 0).sum(axis=-1)


def pitched_window(
    conv: ConvShape, lanes: int, lo: np.ndarray, m: np.ndarray, k0: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WS k-lines across filter rows from a pitched band (the window generator's reads): for A vectors of
    im2col row ``m`` and taps ``k0 .. k0 + P - 1`` (any k0, P = ``lanes``) of a band whose first input row is
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


def native_dram_image(conv: ConvShape, nhwc: bool, a: np.ndarray, ifmap: np.ndarray | None) -> np.ndarray:
    """The ifmap of a layer read natively as it lies in DRAM from A's offset: NHWC (``nhwc``: WS) or the
    phase planes (OS and IS: :func:`systolic.geometry.pixel_address`, padding words zero) of ``ifmap``
    [batch, H, W, C] or, without it, of the words im2col matrix A holds (rows in (b, oh, ow) order, taps in
    (r, s, c) order), the others zero (fetched by a band, read by no window: the energy model's DRAM bus
    sees them, :mod:`systolic.model.energy.streams`)."""
    shape = (conv.batch, conv.ifmap_h, conv.ifmap_w, conv.channels)
    if ifmap is None:
        m = np.arange(a.shape[0])[:, None]  # [m, 1]
        r, rest = np.divmod(np.arange(a.shape[1]), conv.filter_w * conv.channels)  # [k]
        s, c = np.divmod(rest, conv.channels)
        bb, pix = np.divmod(m, conv.ofmap_h * conv.ofmap_w)
        oh, ow = np.divmod(pix, conv.ofmap_w)
        h, w = oh * conv.stride_h - conv.pad_h + r, ow * conv.stride_w - conv.pad_w + s  # [m, k]
        inside = (h >= 0) & (h < conv.ifmap_h) & (w >= 0) & (w < conv.ifmap_w)
        x = np.zeros(shape, dtype=np.int64)
        bb, c = np.broadcast_to(bb, h.shape), np.broadcast_to(c, h.shape)
        x[bb[inside], h[inside], w[inside], c[inside]] = a[inside]
    else:
        x = np.asarray(ifmap, dtype=np.int64).reshape(shape)
    if nhwc:
        return x.ravel()
    bb, h, w, c = np.indices(shape).reshape(4, -1)
    out = np.zeros(pixel_words(conv), dtype=np.int64)
    out[pixel_address(conv, bb, c, h, w)] = x.ravel()
    return out
