"""Convolution-native input (``conv_native``): the layer's convolution registers, the band of input rows a
tile reads, and the window generator that turns the array's im2col operand requests into band lines.

The storage is :mod:`systolic.geometry`'s (NHWC ifmap in DRAM; in the ifmap SRAM a band of whole input
rows at a row pitch of L words, :func:`band_pitch`); the timing is the im2col layer's (one read per
request, data the next cycle), so the array and its sequencer do not change. WS (:func:`window`): a
k-line's P taps, across filter rows too, lie on P distinct lanes of the band: the ifmap SRAM has a memory
per lane (``DoubleBuffer(rotate=True, lane_addr=True)``), each reading its own line, and the data comes
out rotated. OS and IS (:func:`pixel_window`): P consecutive output pixels of a channel's run, their plane
rows at a row pitch L in the band (:func:`phase_registers`) so that they too lie on P distinct lanes, each
reading its own line, the same buffer. The model is :mod:`systolic.model.band`.

The window divides by no layer register per request: the output pixel and the first tap of a request
are counters stepped along the sequencer's walk (as Gemmini's im2col unit does), per lane chains of
increments and comparisons against per-vector thresholds. What still divides by the layer's registers
is once per tile (a tile's band, :func:`band`: its image and first output row, ``m0 / (OH OW)``, ``/
OW``, and its output rows, ``mt / OW``; its first tap ``divmod(k0, S C)``): inputs that change at a
step's barrier, which silicon could also step with the controller's tile walk.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib.wiring import In

from systolic.geometry import CONV_PORTS

from .sequencer import DIM_BITS

#: Width of the band and window arithmetic (line numbers of a whole NHWC tensor in lines of P words).
WIDE = 40


def div_const(value: Value, divisor: int, max_value: int) -> Value:
    """``value // divisor`` for 0 <= value <= max_value, as a multiply and shift (no divider)."""
    if divisor & (divisor - 1) == 0:
        return value >> (divisor.bit_length() - 1)
    shift = max_value.bit_length() + divisor.bit_length()
    magic = -(-(1 << shift) // divisor)
    # Exact over the whole range (checked once here, in Python, so a wrong shift fails at generation).
    worst = max(range(max_value - divisor, max_value + 1), key=lambda v: (v * magic >> shift) - v // divisor)
    assert (worst * magic >> shift) == worst // divisor, (divisor, max_value)
    return (value * magic) >> shift


def conv_ports() -> dict:
    """``conv_en`` (the layer reads its NHWC ifmap through bands) and the convolution's registers."""
    return {"conv_en": In(1), **{name: In(DIM_BITS) for name in CONV_PORTS}}


def conv_registers(prefix: str = "cv") -> dict[str, Signal]:
    """Registers holding the layer's ``conv_en`` and convolution (latched at ``start``)."""
    regs = {"conv_en": Signal(name=f"{prefix}_en")}
    for name in CONV_PORTS:
        regs[name] = Signal(DIM_BITS, name=f"{prefix}_{name[5:]}")
    return regs


def _named(m: Module, name: str, value: Value, shape=WIDE) -> Signal:
    sig = Signal(shape, name=name)
    m.d.comb += sig.eq(value)
    return sig


def _tile_rows(m: Module, cv: dict[str, Signal], m0: Value, mt: Value, prefix: str) -> tuple[Signal, ...]:
    """A tile of whole output rows of one image (im2col rows ``m0`` .. ``m0 + mt - 1``): its image, first
    output row and output rows (divisions by the layer's registers, once per tile)."""
    per_img = _named(m, f"{prefix}_per_img", cv["conv_oh"] * cv["conv_ow"])
    b = _named(m, f"{prefix}_img", m0 // per_img)
    oh0 = _named(m, f"{prefix}_oh0", (m0 - b * per_img) // cv["conv_ow"])
    return b, oh0, _named(m, f"{prefix}_out_rows", mt // cv["conv_ow"])


def band(
    m: Module, cv: dict[str, Signal], tile: dict[str, Value], lanes: int, prefix: str
) -> dict[str, Signal]:
    """The band of a tile (``m0``, ``mt``: im2col rows, whole output rows of one image; every filter
    row, so the k-tiles of an m-tile share it; P = ``lanes``): its image ``b``, first output row ``oh0``,
    first input row ``lo``, its input ``rows`` and ``row0 = b H + lo``, the first row's index in the NHWC
    tensor (the fill walk reads row ``row0 + y`` as a run of W C words into SRAM word ``y L``,
    :func:`band_pitch`)."""
    m0, mt = tile["m0"], tile["mt"]
    b, oh0, j = _tile_rows(m, cv, m0, mt, prefix)
    first = _named(m, f"{prefix}_first_tap", oh0 * cv["conv_stride_h"])
    lo = _named(m, f"{prefix}_lo", Mux(first >= cv["conv_pad_h"], first - cv["conv_pad_h"], 0))
    top = _named(
        m, f"{prefix}_top", (oh0 + j - 1) * cv["conv_stride_h"] + cv["conv_r"] - 1 - cv["conv_pad_h"]
    )
    hi = _named(m, f"{prefix}_hi", Mux(top >= cv["conv_h"], cv["conv_h"] - 1, top))
    return {
        "img": b,
        "oh0": oh0,
        "lo": lo,
        "rows": _named(m, f"{prefix}_rows", Mux(hi >= lo, hi + 1 - lo, 0)),
        "row0": _named(m, f"{prefix}_row0", b * cv["conv_h"] + lo),
    }


def band_pitch(m: Module, cv: dict[str, Signal], lanes: int, prefix: str) -> dict[str, Signal]:
    """The layer's band row pitch in the ifmap SRAM (:func:`systolic.geometry.band_row_pitch`: L = W C + ((S
    C - W C) mod P), the smallest L >= W C with L - S C a multiple of P; P = ``lanes``): ``row_words`` (W
    C), ``taps_row`` (S C), ``pitch`` L, and ``step_lines``, ``step_lanes`` (L = step_lines P + step_lanes:
    how the fill walk's row start moves per row), ``row_lines`` ((L - S C) / P, signed: the lines a
    k-line's lane moves per filter row past the vector's first). Constants of the layer (its registers
    and P: divisions by P only)."""
    row_words = _named(m, f"{prefix}_row_words", cv["conv_w"] * cv["conv_c"])
    taps_row = _named(m, f"{prefix}_taps_row", cv["conv_s"] * cv["conv_c"])
    big = lanes << 33  # a multiple of P above any W C (< 2**32): the mod of a non-negative value
    gap_b = _named(m, f"{prefix}_gap_biased", taps_row + big - row_words, WIDE + 12)
    gap = _named(m, f"{prefix}_gap", gap_b - div_const(gap_b, lanes, (1 << (WIDE + 12)) - 1) * lanes)
    pitch = _named(m, f"{prefix}_pitch", row_words + gap)
    step_lines = _named(m, f"{prefix}_step_lines", div_const(pitch, lanes, (1 << WIDE) - 1))
    d_b = _named(m, f"{prefix}_row_lines_biased", pitch + big - taps_row, WIDE + 12)
    return {
        "row_words": row_words,
        "taps_row": taps_row,
        "pitch": pitch,
        "step_lines": step_lines,
        "step_lanes": _named(m, f"{prefix}_step_lanes", pitch - step_lines * lanes, range(max(lanes, 2))),
        "row_lines": _named(
            m,
            f"{prefix}_row_lines",
            div_const(d_b, lanes, (1 << (WIDE + 12)) - 1) - (1 << 33),
            signed(WIDE + 2),
        ),
    }


def phase_registers(m: Module, cv: dict[str, Signal], lanes: int, prefix: str) -> dict[str, Signal]:
    """OS and IS: the layer's phase layout (:func:`systolic.geometry.phase_layout`), from its registers
    (divisions by the strides once per layer, as inputs latched at ``start``): plane rows ``plane_h`` = H'
    = ceil(H / sh) and words a row ``plane_w`` = W' = ceil(W / sw); ``one`` (a band reads one phase of a
    channel, ``first``, else all ``phases``), ``read`` (phases read per channel) and ``pitch`` (words
    between runs); ``dy_neg`` = ceil(pad_h / sh) (plane rows a band reaches above its first output row) and
    ``dy_hi`` (its last filter row's dy, floor((R - 1 - pad_h) / sh)); ``py0`` = (-pad_h) mod sh, and
    ``px0``, ``dx0`` (tap column 0's phase and offset); ``rem_h``, ``rem_w`` (phases of H' rows, of W'
    columns: the others hold one fewer); and the band's row pitch in the SRAM
    (:func:`systolic.geometry.pixel_row_pitch`, P = ``lanes``): ``row_pitch`` L = W' + ((OW - W') mod P),
    ``split`` (L != W': the fill walk writes each plane row from its own SRAM start), ``step_lines``,
    ``step_lanes`` (L = step_lines P + step_lanes) and ``row_lines`` ((L - OW) / P, signed: the lines a
    vector's lane moves per output row past the vector's first)."""
    sh, sw, pad_h, pad_w = cv["conv_stride_h"], cv["conv_stride_w"], cv["conv_pad_h"], cv["conv_pad_w"]
    sg = signed(WIDE + 2)
    plane_h = _named(m, f"{prefix}_plane_h", (cv["conv_h"] + sh - 1) // sh)
    plane_w = _named(m, f"{prefix}_plane_w", (cv["conv_w"] + sw - 1) // sw)
    dy_neg = _named(m, f"{prefix}_dy_neg", (pad_h + sh - 1) // sh)
    dx_neg = _named(m, f"{prefix}_dx_neg", (pad_w + sw - 1) // sw)
    py0 = _named(m, f"{prefix}_py0", dy_neg * sh - pad_h)
    px0 = _named(m, f"{prefix}_px0", dx_neg * sw - pad_w)
    one = _named(m, f"{prefix}_one", ((cv["conv_r"] == 1) | (sh == 1)) & ((cv["conv_s"] == 1) | (sw == 1)), 1)
    phases = _named(m, f"{prefix}_phases", sh * sw)
    words = _named(m, f"{prefix}_plane_words", plane_h * plane_w)
    big = lanes << 33  # a multiple of P above any W' (< 2**16): the mod of a non-negative value
    gap_b = _named(m, f"{prefix}_gap_biased", cv["conv_ow"] + big - plane_w, WIDE + 12)
    gap = _named(m, f"{prefix}_gap", gap_b - div_const(gap_b, lanes, (1 << (WIDE + 12)) - 1) * lanes)
    row_pitch = _named(m, f"{prefix}_row_pitch", plane_w + gap)
    step_lines = _named(m, f"{prefix}_step_lines", div_const(row_pitch, lanes, (1 << WIDE) - 1))
    d_b = _named(m, f"{prefix}_row_lines_biased", row_pitch + big - cv["conv_ow"], WIDE + 12)
    return {
        "plane_h": plane_h,
        "plane_w": plane_w,
        "one": one,
        "phases": phases,
        "read": _named(m, f"{prefix}_read", Mux(one, 1, phases)),
        "first": _named(m, f"{prefix}_first_phase", Mux(one, py0 * sw + px0, 0)),
        "pitch": _named(m, f"{prefix}_pitch", Mux(one, phases * words, words)),
        "dy_neg": dy_neg,
        "dy_hi": _named(m, f"{prefix}_dy_hi", (cv["conv_r"] - 1 + py0) // sh - dy_neg, sg),
        "py0": py0,
        "px0": px0,
        "dx0": _named(m, f"{prefix}_dx0", -dx_neg, sg),
        "rem_h": _named(m, f"{prefix}_rem_h", cv["conv_h"] - (plane_h - 1) * sh),
        "rem_w": _named(m, f"{prefix}_rem_w", cv["conv_w"] - (plane_w - 1) * sw),
        "row_pitch": row_pitch,
        "split": _named(m, f"{prefix}_split", gap != 0, 1),
        "step_lines": step_lines,
        "step_lanes": _named(m, f"{prefix}_step_lanes", row_pitch - step_lines * lanes, range(max(lanes, 2))),
        "row_lines": _named(
            m, f"{prefix}_row_lines", div_const(d_b, lanes, (1 << (WIDE + 12)) - 1) - (1 << 33), sg
        ),
    }


def pixel_band(
    m: Module, cv: dict[str, Signal], tile: dict[str, Value], lanes: int, prefix: str
) -> dict[str, Signal]:
    """OS and IS (A's lanes along the output pixels): the band of a tile (``m0``, ``mt``: whole output rows of
    one image; every filter row) in the phase planes (:func:`phase_registers`; stride 1: the NCHW channel
    planes): its image ``b``, first output row ``oh0``, first plane row ``lo``, plane ``rows``, and the fill
    walk's runs: ``runs`` = C ``read`` runs (``c0 = b C read``: the image's first run) of ``run = rows W'``
    words from word ``first`` of each run's slot of ``pitch`` words, ``ph`` the phase layout (its
    ``row_pitch``: plane row y of a run from the run's SRAM word y L)."""
    m0, mt = tile["m0"], tile["mt"]
    ph = phase_registers(m, cv, lanes, prefix)
    sg = signed(WIDE + 2)
    b, oh0, j = _tile_rows(m, cv, m0, mt, prefix)
    lo = _named(m, f"{prefix}_lo", Mux(oh0 >= ph["dy_neg"], oh0 - ph["dy_neg"], 0))
    top = _named(m, f"{prefix}_top", oh0 + j - 1 + ph["dy_hi"], sg)
    hi = _named(m, f"{prefix}_hi", Mux(top >= ph["plane_h"], ph["plane_h"] - 1, top), sg)
    rows = _named(m, f"{prefix}_rows", Mux(hi + 1 > lo, hi + 1 - lo, 0))
    words = ph["plane_h"] * ph["plane_w"]
    return {
        "img": b,
        "oh0": oh0,
        "lo": lo,
        "rows": rows,
        "ph": ph,
        "c0": _named(m, f"{prefix}_c0", b * cv["conv_c"] * ph["read"]),
        "runs": _named(m, f"{prefix}_runs", cv["conv_c"] * ph["read"]),
        "run": _named(m, f"{prefix}_run", rows * ph["plane_w"]),
        "first": _named(m, f"{prefix}_first", Mux(ph["one"], ph["first"] * words, 0) + lo * ph["plane_w"]),
        "plane": ph["pitch"],
    }


#: The window's word address in the band is biased by this many lines so that it is never negative (a
#: pixel's run starts up to pad_w * C < 2**32 words before its row, in the left padding).
BIAS_LINES = 1 << 33


#: WS: the window's word address in the band is biased by this many lines so that it is never negative
#: (a vector's first tap may lie pad_h rows of L < 2**33 words above the band, pad_h < 2**16).
WS_BIAS_LINES = 1 << 49


def window(
    m: Module,
    cv: dict[str, Signal],
    tile: dict[str, Signal],
    req: Value,
    row: Value,
    col: Value,
    lanes: int,
    depth: int,
) -> dict[str, Signal]:
    """The A vector at tile row ``row`` (im2col row ``m0 + row``) and taps ``k0 + col ..`` (P = ``lanes``
    of them, across filter rows): tap k = (r, t) (t = s C + c, its place in filter row r) of pixel (oh,
    ow) is SRAM word ``(h - lo) L + w0 C + t`` of the band (h = oh stride_h - pad_h + r, w0 = ow stride_w
    - pad_w, L the band's row pitch, :func:`band_pitch`), and so ``V + i + j_i (L - S C)`` for lane i of
    a vector whose first tap is at word V, j_i its filter row past the first: with L - S C a multiple of
    P the P lanes read P distinct memory lanes, lane i memory lane ``(V + i) mod P`` (``rot`` = V mod
    P), line ``(V + i) // P`` (the first tap's line or the next) plus ``j_i (L - S C) / P``. Returns
    ``lines`` (per *memory* lane, clamped to the half's ``depth`` lines: a line outside the band holds
    only lanes that are masked), ``rot`` and ``valid`` (per vector lane: the tap's pixel is inside the
    tensor). ``tile``: ``band()`` and ``band_pitch()`` of the compute tile plus its ``m0`` and ``k0``.

    No division per request: the output pixel (oh, ow) and the first tap's (r, t) are counters stepped
    with the sequencer's walk, which requests (``req``) a fold's rows 0, 1, 2, ... at one ``col`` and
    moves ``col`` on by P between folds (back to 0 for the next column fold or tile): row 0 is the tile's
    first output row (``oh0``), each next row one output pixel on (wrapping at OW); col 0 is the tile's
    first tap (r0, t0) = divmod(k0, S C) (once per tile), the same col the same (r, t), the next the
    chain's lane P. Along the lanes (t_i, j_i) is a chain of increments wrapping at S C, and the line
    offsets a chain of additions of (L - S C) / P, rotated into memory-lane order like the data."""
    taps_row, pitch, row_lines = tile["taps_row"], tile["pitch"], tile["row_lines"]
    r0 = Signal(WIDE, name="win_r0")  # the tile's first tap: divmod(k0, S C), once per tile
    t0 = Signal(WIDE, name="win_t0")
    oh, ow = Signal(WIDE, name="win_oh"), Signal(WIDE, name="win_ow")
    r, t = Signal(WIDE, name="win_r"), Signal(WIDE, name="win_t")
    # the last request's col and counters, and the next fold's first tap
    col_q = Signal(DIM_BITS, name="win_col_q")
    oh_q, ow_q = Signal(WIDE, name="win_oh_q"), Signal(WIDE, name="win_ow_q")
    r_q, t_q = Signal(WIDE, name="win_r_q"), Signal(WIDE, name="win_t_q")
    rn_q, tn_q = Signal(WIDE, name="win_r_next_q"), Signal(WIDE, name="win_t_next_q")
    ow_wrap = Signal(name="win_ow_wrap")
    sw = signed(WIDE + 2)
    h, w0 = Signal(sw, name="win_h"), Signal(sw, name="win_w0")
    word = Signal(signed(WIDE + 36), name="win_word")  # in the band, from its first line
    same = col == col_q
    m.d.comb += [
        r0.eq(tile["k0"] // taps_row),
        t0.eq(tile["k0"] - r0 * taps_row),
        ow_wrap.eq(ow_q + 1 == cv["conv_ow"]),
        oh.eq(Mux(row == 0, tile["oh0"], Mux(ow_wrap, oh_q + 1, oh_q))),
        ow.eq(Mux((row == 0) | ow_wrap, 0, ow_q + 1)),
        r.eq(Mux(col == 0, r0, Mux(same, r_q, rn_q))),
        t.eq(Mux(col == 0, t0, Mux(same, t_q, tn_q))),
        h.eq(oh * cv["conv_stride_h"] + r - cv["conv_pad_h"]),
        w0.eq(ow * cv["conv_stride_w"] - cv["conv_pad_w"]),
        word.eq((h - tile["lo"]) * pitch + w0 * cv["conv_c"] + t),
    ]
    line, rot = _line_and_lane(m, word, lanes, WS_BIAS_LINES, "win")
    ts, js, offs = _tap_chain(m, t, taps_row, row_lines, lanes)
    valid = _lane_valid(m, cv, h, w0, ts[:lanes], js[:lanes])
    lines = _lane_lines(m, offs[:lanes], line, rot, depth)
    with m.If(req):
        m.d.sync += [
            col_q.eq(col),
            oh_q.eq(oh),
            ow_q.eq(ow),
            r_q.eq(r),
            t_q.eq(t),
            rn_q.eq(r + js[lanes]),
            tn_q.eq(ts[lanes]),
        ]
    return {"lines": lines, "rot": rot, "valid": valid}


def _line_and_lane(m: Module, word: Value, lanes: int, bias: int, prefix: str) -> tuple[Signal, Signal]:
    """(line, lane) of band word ``word`` (P = ``lanes`` words a line; the line signed, from the band's
    first: ``word`` may be negative, in the padding above or left of the band), by one division by the
    constant P of the word biased by ``bias`` lines."""
    biased = Signal(WIDE + 36, name=f"{prefix}_word_biased")
    line_b = Signal(WIDE + 36, name=f"{prefix}_line_biased")
    line = Signal(signed(WIDE + 2), name=f"{prefix}_line_signed")
    rot = Signal(range(max(lanes, 2)), name=f"{prefix}_rot")
    m.d.comb += [
        biased.eq(word + bias * lanes),
        line_b.eq(div_const(biased, lanes, (1 << (WIDE + 36)) - 1)),
        line.eq(line_b - bias),
        rot.eq(biased - line_b * lanes),
    ]
    return line, rot


def _lane_valid(m: Module, cv: dict, h: Value, w0: Value, ts: list, js: list) -> Signal:
    """Per vector lane i: its tap's pixel is inside the tensor, its place t_i in its filter row and its
    rows past the first j_i against thresholds computed once per vector (h, w0: the first tap's row and
    the pixel's first column)."""
    sw = signed(WIDE + 2)
    t_lo, t_hi = Signal(sw, name="win_t_lo"), Signal(sw, name="win_t_hi")  # t_i inside: t_lo <= t_i < t_hi
    j_lo, j_hi = Signal(sw, name="win_j_lo"), Signal(sw, name="win_j_hi")  # rows inside: j_lo <= j_i < j_hi
    valid = Signal(len(ts), name="win_valid")
    m.d.comb += [
        t_lo.eq(Mux(w0 < 0, -w0 * cv["conv_c"], 0)),
        t_hi.eq((cv["conv_w"] - w0) * cv["conv_c"]),
        j_lo.eq(-h),
        j_hi.eq(cv["conv_h"] - h),
        valid.eq(
            Cat(*((t_lo <= t) & (t_hi > t) & (j_lo <= j) & (j_hi > j) for t, j in zip(ts, js, strict=True)))
        ),
    ]
    return valid


def _lane_lines(
    m: Module, offs: list, line: Value, rot: Value, depth: int, nxt: Value | None = None, prefix: str = "win"
) -> list[Signal]:
    """The line each memory lane q reads: the first tap's line (or the next, ``nxt``, by default ``line +
    1``, below ``rot``) plus the line offset of the vector lane it holds, (q - rot) mod P (the offsets
    rotated like the data)."""
    lanes, width = len(offs), len(offs[0])
    both = Cat(*offs, *offs)
    rotated = Signal(lanes * width, name=f"{prefix}_offsets_mem")
    unrot = Signal(range(lanes + 1), name=f"{prefix}_unrot")  # P - rot: vector lane 0 is memory lane rot
    m.d.comb += [unrot.eq(lanes - rot), rotated.eq(both.bit_select(unrot * width, lanes * width))]
    lines = []
    for q in range(lanes):
        base = Mux(rot > q, line + 1 if nxt is None else nxt, line)
        out = Signal(range(max(depth, 2)), name=f"{prefix}_line_{q}")
        m.d.comb += out.eq(_clamp(base + rotated[q * width : (q + 1) * width].as_signed(), depth))
        lines.append(out)
    return lines


def _tap_chain(m: Module, t: Value, taps_row: Value, row_lines: Value, lanes: int):
    """Per lane i = 0 .. P of a vector whose first tap is at place ``t`` of its filter row: its place t_i
    (wrapping at S C = ``taps_row``), its filter rows past the first j_i, and its line offset j_i *
    ``row_lines``, as chains of increments (no multiply or divide per lane)."""
    ts, js, offs = [t], [Const(0, range(lanes + 2))], [Const(0, signed(WIDE + 2))]
    for i in range(1, lanes + 1):
        wrap = Signal(name=f"win_wrap_{i}")
        ti = Signal(WIDE, name=f"win_t_{i}")
        ji = Signal(range(lanes + 2), name=f"win_j_{i}")
        oi = Signal(signed(WIDE + 2), name=f"win_off_{i}")
        m.d.comb += [
            wrap.eq(ts[-1] + 1 == taps_row),
            ti.eq(Mux(wrap, 0, ts[-1] + 1)),
            ji.eq(js[-1] + wrap),
            oi.eq(Mux(wrap, offs[-1] + row_lines, offs[-1])),
        ]
        ts.append(ti)
        js.append(ji)
        offs.append(oi)
    return ts, js, offs


def _clamp(line: Value, depth: int) -> Value:
    return Mux(line < 0, 0, Mux(line >= depth, depth - 1, line))


def pixel_window(
    m: Module,
    cv: dict[str, Signal],
    tile: dict[str, Value],
    req: Value,
    row: Value,
    col: Value,
    lanes: int,
    depth: int,
) -> dict[str, Signal]:
    """OS and IS (A's lanes along the output pixels): the A vector at tile rows ``row ..`` (output pixels ``p0
    = oh0 OW + row ..`` of the image) and tap ``k0 + col`` = (r, s, c), read from the run of channel c and
    phase (py, px) = ((r - pad_h) mod sh, (s - pad_w) mod sw) in the band, its plane rows at the row pitch
    L (:func:`phase_registers`, :func:`systolic.geometry.pixel_row_pitch`): pixel (oh, ow) at run word ``(oh
    - lo + dy) L + ow + dx`` ((dy, dx) = (floor((r - pad_h) / sh), floor((s - pad_w) / sw))), so lane i at
    ``V + i + k_i (L - OW)`` (V the first pixel's word, k_i its output rows past the first): with L - OW a
    multiple of P the P lanes read P distinct memory lanes, lane i memory lane ``(V + i) mod P`` (``rot``
    = V mod P), run line ``(V + i) // P`` (V's line or the next) plus ``k_i (L - OW) / P``; run line l of
    run i is SRAM line ``l runs + i`` (i = c read + the phase when the band reads every phase). Returns
    ``lines`` (per *memory* lane, clamped to the half's ``depth`` lines: a line outside the band holds
    only lanes that are masked), ``rot`` and ``valid`` (per vector lane: the tap's pixel is inside the
    tensor: plane rows by two comparisons against per-vector thresholds on the lane (the pixel index is p0
    + lane; the phase's rows: H', or one fewer), columns by the lane's output column (ow0 + lane) mod OW, a
    chain of increments wrapping at OW from the vector's first column, which changes once per fold
    (silicon would register it per fold), against the phase's W' or W' - 1 columns; lanes past the tile's
    rows are masked too). The same chain's wraps give k_i. ``tile``: :func:`pixel_band` of the compute
    tile plus its ``m0``, ``mt`` and ``k0``.

    No division per request: (r, s, c) and the phases and offsets (py, dy), (px, dx) are counters stepped
    with the sequencer's walk, which requests an m-block's taps col = 0, 1, 2, ... at one ``row`` (OS: a
    fold's; IS with ``fold_overlap``: the loads of its folds, first row first; col 0: the tile's first
    filter row r0 = k0 / (S C), its (dy, py) = divmod(r0 - pad_h, sh) once per tile, s = c = 0; each next
    col c + 1, wrapping into s (px + 1, wrapping into dx) and r (py + 1, wrapping into dy)), and the
    vector's first output pixel (oh, ow0) steps by divmod(P, OW) (once per layer) when ``row`` moves on
    by P ((oh0, 0) when ``row`` is 0: a tile starts on an output row)."""
    ph = tile["ph"]
    c, py, dy, px, dx = _pixel_taps(m, cv, tile, req, col)
    sw_ = signed(WIDE + 2)
    out_w = cv["conv_ow"]
    p0 = Signal(sw_, name="pwin_p0")
    word = Signal(sw_, name="pwin_word")  # in the run of channel c and phase (py, px)
    run = Signal(WIDE, name="pwin_run_index")
    oh, ow0 = _pixel_start(m, tile, req, row, out_w, lanes)
    m.d.comb += [
        p0.eq(tile["oh0"] * out_w + row),
        word.eq((dy + oh - tile["lo"]) * ph["row_pitch"] + ow0 + dx),  # dy first: signed
    ]
    line, rot = _line_and_lane(m, word, lanes, BIAS_LINES, "pwin")
    m.d.comb += run.eq(c * ph["read"] + Mux(ph["one"], 0, py * cv["conv_stride_w"] + px))
    runs = tile["runs"]
    valid, wraps = _pixel_valid(m, cv, tile, row, p0, ow0, (py, dy, px, dx), lanes)
    row_step = _named(m, "pwin_row_step", ph["row_lines"] * runs, sw_)  # SRAM lines per output row
    offs = [Const(0, sw_)]
    for i, wrap in enumerate(wraps, start=1):
        oi = Signal(sw_, name=f"pwin_off_{i}")
        m.d.comb += oi.eq(Mux(wrap, offs[-1] + row_step, offs[-1]))
        offs.append(oi)
    first = _named(m, "pwin_line", line * runs + run, sw_)
    lines = _lane_lines(m, offs, first, rot, depth, nxt=first + runs, prefix="pwin")
    return {"lines": lines, "rot": rot, "valid": valid}


def _pixel_start(
    m: Module, tile: dict, req: Value, row: Value, out_w: Value, lanes: int
) -> tuple[Signal, Signal]:
    """The output pixel (oh, ow0) of :func:`pixel_window`'s vector at tile row ``row``, as counters: (oh0,
    0) at row 0 (a tile starts on an output row), the last request's at the same row, else that one
    stepped by divmod(P, OW) (P mod OW wrapping into oh): no division per request."""
    row_q = Signal(DIM_BITS, name="pwin_row_q")
    ow0, ow0_q = Signal(WIDE, name="pwin_ow0"), Signal(WIDE, name="pwin_ow0_q")
    oh, oh_q = Signal(WIDE, name="pwin_oh"), Signal(WIDE, name="pwin_oh_q")
    step = Signal(WIDE, name="pwin_ow_step")  # P mod OW
    step_rows = Signal(WIDE, name="pwin_oh_step")  # P // OW
    ow_next = Signal(WIDE + 1, name="pwin_ow_next")
    same = row == row_q
    m.d.comb += [
        step_rows.eq(lanes // out_w),
        step.eq(lanes - step_rows * out_w),
        ow_next.eq(ow0_q + step),
        ow0.eq(Mux(row == 0, 0, Mux(same, ow0_q, Mux(ow_next >= out_w, ow_next - out_w, ow_next)))),
        oh.eq(Mux(row == 0, tile["oh0"], Mux(same, oh_q, oh_q + step_rows + (ow_next >= out_w)))),
    ]
    with m.If(req):
        m.d.sync += [row_q.eq(row), ow0_q.eq(ow0), oh_q.eq(oh)]
    return oh, ow0


def _pixel_taps(m: Module, cv: dict, tile: dict, req: Value, col: Value) -> tuple[Signal, ...]:
    """The tap (r, s, c) of a request at ``col`` of :func:`pixel_window`'s walk, as counters (c, then s,
    then r), and its phases and plane offsets (py, dy), (px, dx), stepped with s and r: returns (c, py,
    dy, px, dx)."""
    ph = tile["ph"]
    sh, sw = cv["conv_stride_h"], cv["conv_stride_w"]
    taps_row = Signal(WIDE, name="pwin_row_taps")  # S * C
    r0 = Signal(WIDE, name="pwin_r0")
    e0 = Signal(WIDE, name="pwin_e0")  # r0 - pad_h + dy_neg sh >= 0
    r, s, c = (Signal(WIDE, name=f"pwin_{x}") for x in "rsc")
    r_q, s_q, c_q = (Signal(WIDE, name=f"pwin_{x}_q") for x in "rsc")
    sg = signed(WIDE + 2)
    py, px = Signal(WIDE, name="pwin_py"), Signal(WIDE, name="pwin_px")
    dy, dx = Signal(sg, name="pwin_dy"), Signal(sg, name="pwin_dx")
    py_q, px_q = Signal(WIDE, name="pwin_py_q"), Signal(WIDE, name="pwin_px_q")
    dy_q, dx_q = Signal(sg, name="pwin_dy_q"), Signal(sg, name="pwin_dx_q")
    c_wrap, s_wrap = Signal(name="pwin_c_wrap"), Signal(name="pwin_s_wrap")
    px_wrap, py_wrap = Signal(name="pwin_px_wrap"), Signal(name="pwin_py_wrap")
    first = col == 0
    m.d.comb += [
        taps_row.eq(cv["conv_s"] * cv["conv_c"]),
        r0.eq(tile["k0"] // taps_row),
        e0.eq(r0 + ph["py0"]),
        c_wrap.eq(c_q + 1 == cv["conv_c"]),
        s_wrap.eq(c_wrap & (s_q + 1 == cv["conv_s"])),
        px_wrap.eq(px_q + 1 == sw),
        py_wrap.eq(py_q + 1 == sh),
        c.eq(Mux(first | c_wrap, 0, c_q + 1)),
        s.eq(Mux(first | s_wrap, 0, Mux(c_wrap, s_q + 1, s_q))),
        r.eq(Mux(first, r0, Mux(s_wrap, r_q + 1, r_q))),
        px.eq(Mux(first | s_wrap, ph["px0"], Mux(c_wrap, Mux(px_wrap, 0, px_q + 1), px_q))),
        dx.eq(Mux(first | s_wrap, ph["dx0"], Mux(c_wrap & px_wrap, dx_q + 1, dx_q))),
        py.eq(Mux(first, e0 % sh, Mux(s_wrap, Mux(py_wrap, 0, py_q + 1), py_q))),
        dy.eq(Mux(first, e0 // sh - ph["dy_neg"], Mux(s_wrap & py_wrap, dy_q + 1, dy_q))),
    ]
    with m.If(req):
        m.d.sync += [r_q.eq(r), s_q.eq(s), c_q.eq(c), py_q.eq(py), dy_q.eq(dy), px_q.eq(px), dx_q.eq(dx)]
    return c, py, dy, px, dx


def _pixel_valid(
    m: Module, cv: dict, tile: dict, row: Value, p0: Value, ow0: Value, tap: tuple, lanes: int
) -> tuple[Signal, list[Signal]]:
    """Per lane i of an OS vector (pixel p0 + i, output column (ow0 + i) mod OW, tap ``(py, dy, px, dx)``):
    the tap's pixel is inside the tensor (plane row oh + dy among its phase's H' or H' - 1 rows, plane
    column ow + dx among its W' or W' - 1) and the lane inside the tile's rows. Returns the mask and, per
    lane i = 1 .. P - 1, whether its output column wrapped to 0 (lane i starts an output row)."""
    py, dy, px, dx = tap
    ph = tile["ph"]
    out_w = cv["conv_ow"]
    sw = signed(WIDE + 2)
    y_lo, y_hi = Signal(sw, name="pwin_y_lo"), Signal(sw, name="pwin_y_hi")  # rows inside: y_lo <= i < y_hi
    x_lo, x_hi = Signal(sw, name="pwin_x_lo"), Signal(sw, name="pwin_x_hi")  # columns: x_lo <= ow_i < x_hi
    valid = Signal(lanes, name="pwin_valid")
    rows = Mux(py < ph["rem_h"], ph["plane_h"], ph["plane_h"] - 1)
    cols = Mux(px < ph["rem_w"], ph["plane_w"], ph["plane_w"] - 1)
    m.d.comb += [
        y_lo.eq(-dy * out_w - p0),
        y_hi.eq((rows - dy) * out_w - p0),
        x_lo.eq(-dx),
        x_hi.eq(cols - dx),
    ]
    ow = ow0
    bits, wraps = [], []
    for i in range(lanes):
        if i:
            nxt = Signal(WIDE, name=f"pwin_ow_{i}")
            wrap = Signal(name=f"pwin_wrap_{i}")
            m.d.comb += [wrap.eq(ow + 1 == out_w), nxt.eq(Mux(wrap, 0, ow + 1))]
            ow = nxt
            wraps.append(wrap)
        bits.append((y_lo <= i) & (y_hi > i) & (x_lo <= ow) & (x_hi > ow) & (tile["mt"] > row + i))
    m.d.comb += valid.eq(Cat(*bits))
    return valid, wraps
