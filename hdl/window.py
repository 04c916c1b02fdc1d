"""Convolution-native input (``conv_native``): the layer's convolution registers, the band of input rows a
tile reads, and the window generator that turns the array's im2col operand requests into band lines.

The storage is :mod:`systolic.geometry`'s (NHWC ifmap in DRAM; in the ifmap SRAM a band of whole input rows
as lines of P channels of one pixel); the timing is the im2col layer's (one line read per request, data
the next cycle), so the array and its sequencer do not change. The model is :mod:`systolic.model.band`.

The arithmetic uses division by the layer's registers (output pixels per image, OW, taps per filter row):
simple to check against the model, cheap in simulation. Silicon would step counters along the sequencer's
walk instead, as Gemmini's im2col unit does.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, Value, signed
from amaranth.lib.wiring import In

from systolic.geometry import CONV_PORTS

from .sequencer import DIM_BITS, MAX_DIM

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


def band(
    m: Module, cv: dict[str, Signal], tile: dict[str, Value], lanes: int, prefix: str
) -> dict[str, Signal]:
    """The band of a tile (``m0``, ``mt``: im2col rows, whole output rows of one image; ``k0``, ``kt``:
    taps, whole filter rows; P = ``lanes``): its image ``b``, first input row ``lo`` and, in lines of P
    words, ``line0`` (from A's DRAM offset) and ``lines``."""
    m0, mt = tile["m0"], tile["mt"]
    per_img = _named(m, f"{prefix}_per_img", cv["conv_oh"] * cv["conv_ow"])
    b = _named(m, f"{prefix}_img", m0 // per_img)
    oh0 = _named(m, f"{prefix}_oh0", (m0 - b * per_img) // cv["conv_ow"])
    j = _named(m, f"{prefix}_out_rows", mt // cv["conv_ow"])
    taps_row = _named(m, f"{prefix}_row_klines", cv["conv_s"] * cv["conv_cl"])  # k-lines per filter row
    r0 = _named(m, f"{prefix}_r0", div_const(tile["k0"], lanes, MAX_DIM) // taps_row)
    r1 = _named(m, f"{prefix}_r1", div_const(tile["k0"] + tile["kt"], lanes, 2 * MAX_DIM) // taps_row)
    first = _named(m, f"{prefix}_first_tap", oh0 * cv["conv_stride_h"] + r0)
    lo = _named(m, f"{prefix}_lo", Mux(first >= cv["conv_pad_h"], first - cv["conv_pad_h"], 0))
    top = _named(m, f"{prefix}_top", (oh0 + j - 1) * cv["conv_stride_h"] + r1 - 1 - cv["conv_pad_h"])
    hi = _named(m, f"{prefix}_hi", Mux(top >= cv["conv_h"], cv["conv_h"] - 1, top))
    per_row = _named(m, f"{prefix}_row_lines", cv["conv_w"] * cv["conv_cl"])
    return {
        "img": b,
        "lo": lo,
        "line0": _named(m, f"{prefix}_line0", (b * cv["conv_h"] + lo) * per_row),
        "lines": _named(m, f"{prefix}_lines", (hi - lo + 1) * per_row),
    }


def window(
    m: Module, cv: dict[str, Signal], tile: dict[str, Signal], row: Value, kl: Value
) -> tuple[Signal, Signal]:
    """(line, pad) of the A vector at tile row ``row`` (im2col row ``m0 + row``) and k-line ``kl`` (taps
    ``kl * P ..``, counted from tap 0): the band line holding its P channels, and whether it lies in the
    padding (the generator then gives zeros). ``tile``: ``band()`` of the compute tile plus its ``m0``."""
    per_img = Signal(WIDE, name="win_per_img")
    mrow = Signal(WIDE, name="win_m")
    b, pix, oh, ow = (Signal(WIDE, name=f"win_{x}") for x in ("img", "pix", "oh", "ow"))
    taps_row = Signal(WIDE, name="win_row_lines")  # S * C / P: k-lines per filter row
    r, rest, s, cl = (Signal(WIDE, name=f"win_{x}") for x in ("r", "rest", "s", "cl"))
    h, w = Signal(signed(WIDE + 1), name="win_h"), Signal(signed(WIDE + 1), name="win_w")
    line, pad = Signal(WIDE, name="win_line"), Signal(name="win_pad")
    m.d.comb += [
        per_img.eq(cv["conv_oh"] * cv["conv_ow"]),
        mrow.eq(tile["m0"] + row),
        b.eq(mrow // per_img),
        pix.eq(mrow - b * per_img),
        oh.eq(pix // cv["conv_ow"]),
        ow.eq(pix - oh * cv["conv_ow"]),
        taps_row.eq(cv["conv_s"] * cv["conv_cl"]),
        r.eq(kl // taps_row),
        rest.eq(kl - r * taps_row),
        s.eq(rest // cv["conv_cl"]),
        cl.eq(rest - s * cv["conv_cl"]),
        h.eq(oh * cv["conv_stride_h"] + r - cv["conv_pad_h"]),
        w.eq(ow * cv["conv_stride_w"] + s - cv["conv_pad_w"]),
        pad.eq((h < 0) | (h >= cv["conv_h"]) | (w < 0) | (w >= cv["conv_w"])),
        line.eq(((h - tile["lo"]) * cv["conv_w"] + w) * cv["conv_cl"] + cl),
    ]
    return line, pad
