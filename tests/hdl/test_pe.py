"""The PEs under amaranth.sim, cycle by cycle against a Python model of their registers."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Fragment

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.amaranth_sim import simulate
from systolic.geometry import acc_signed, port_format
from systolic.hdl.pe import OSPE, WSPE, BankedPE, ShadowPE, make_pe

FORMATS = [
    # (input_bits, input_signed, weight_bits, weight_signed, acc_bits)
    (2, True, 2, True, 4),  # ternary-capable, accumulator wraps quickly
    (8, True, 8, True, 32),
    (8, False, 8, False, 16),
    (3, False, 5, True, 8),  # mixed signedness, acc_bits == product bits
    (16, True, 16, True, 32),
    (16, False, 16, False, 64),
]


def _fmt_id(fmt) -> str:
    ib, isg, wb, wsg, acc = fmt
    return f"i{ib}{'s' if isg else 'u'}-w{wb}{'s' if wsg else 'u'}-acc{acc}"


def _cfg(dataflow, fmt, zero_gating=False, fold_overlap=False) -> ArrayConfig:
    ib, isg, wb, wsg, acc = fmt
    return ArrayConfig(
        rows=2,
        cols=2,
        dataflow=dataflow,
        input_bits=ib,
        input_signed=isg,
        weight_bits=wb,
        weight_signed=wsg,
        acc_bits=acc,
        word_bytes=2,
        zero_gating=zero_gating,
        fold_overlap=fold_overlap,
    )


def _random(rng, fmt, size, zero_fraction=0.3):
    bits, is_signed = fmt
    values = [_signed(int.from_bytes(rng.bytes(8), "little"), bits, is_signed) for _ in range(size)]
    return [0 if z else v for v, z in zip(values, rng.random(size) < zero_fraction, strict=True)]


def _signed(value: int, bits: int, is_signed: bool) -> int:
    """``value`` modulo 2**bits, two's complement when signed (Python ints: any width)."""
    value %= 1 << bits
    return value - (1 << bits) if is_signed and value >> (bits - 1) else value


class _OSModel:
    """Registers of an output-stationary PE, in Python."""

    controls = ("drain",)
    psum = "psum_in"

    def __init__(self, acc_fmt):
        self.acc_fmt, self.acc = acc_fmt, 0

    def operands(self, x):
        return x["a_in"], x["b_in"]

    def tick(self, x):
        a, b = self.operands(x)
        self.acc = x["psum_in"] if x["drain"] else _signed(self.acc + a * b, *self.acc_fmt)
        return {"acc": self.acc, "psum_out": self.acc, "a_out": x["a_in"], "b_out": x["b_in"]}


class _WSModel:
    """Registers of an operand-stationary PE, in Python."""

    controls = ("load",)
    psum = "psum_in"

    def __init__(self, acc_fmt):
        self.acc_fmt, self.w = acc_fmt, 0

    def operands(self, x):
        return x["a_in"], self.w

    def tick(self, x):
        psum = _signed(x["psum_in"] + x["a_in"] * self.w, *self.acc_fmt)
        if x["load"]:
            self.w = x["b_in"]
        return {"psum_out": psum, "a_out": x["a_in"], "w": self.w, "b_out": self.w}


class _ShadowModel:
    """Registers of the output-stationary PE with a result register (``fold_overlap``), in Python."""

    controls = ("a_tag_in", "shift")
    psum = "res_in"

    def __init__(self, acc_fmt):
        self.acc_fmt, self.acc, self.res = acc_fmt, 0, 0

    def operands(self, x):
        return x["a_in"], x["b_in"]

    def tick(self, x):
        total = _signed(self.acc + x["a_in"] * x["b_in"], *self.acc_fmt)
        if x["a_tag_in"]:
            self.res, self.acc = total, 0
        else:
            self.acc = total
            if x["shift"]:
                self.res = x["res_in"]
        out = {"acc": self.acc, "psum_out": self.res, "a_out": x["a_in"], "b_out": x["b_in"]}
        return {**out, "a_tag_out": x["a_tag_in"]}


class _BankedModel:
    """Registers of the operand-stationary PE with two banks (``fold_overlap``), in Python."""

    controls = ("a_tag_in", "ld", "ld_bank")
    psum = "psum_in"

    def __init__(self, acc_fmt):
        self.acc_fmt, self.w = acc_fmt, [0, 0]

    def operands(self, x):
        return x["a_in"], self.w[x["a_tag_in"]]

    def tick(self, x):
        psum = _signed(x["psum_in"] + x["a_in"] * self.w[x["a_tag_in"]], *self.acc_fmt)
        if x["ld"]:
            self.w[x["ld_bank"]] = x["b_in"]
        out = {"psum_out": psum, "a_out": x["a_in"], "a_tag_out": x["a_tag_in"]}
        return {**out, "w0": self.w[0], "w1": self.w[1]}


MODELS = {
    (False, False): _WSModel,
    (False, True): _OSModel,
    (True, False): _BankedModel,
    (True, True): _ShadowModel,
}


@pytest.mark.parametrize("overlap", [False, True], ids=["serial", "overlap"])
@pytest.mark.parametrize("zero_gating", [False, True], ids=["plain", "gated"])
@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
@pytest.mark.parametrize("fmt", FORMATS, ids=_fmt_id)
def test_pe_registers_cycle_by_cycle(fmt, dataflow, zero_gating, overlap):
    """OS: acc += a*b or drain; WS/IS: psum_out <= psum_in + a*w, w loads; operands pass on; gating holds.
    With ``fold_overlap``: OS moves the sum to ``res`` on a tagged operand and shifts ``res``; WS/IS
    multiply by the bank the operand's tag selects and load the bank ``ld_bank`` names."""
    cfg = _cfg(dataflow, fmt, zero_gating, overlap)
    pe = make_pe(cfg)
    model = MODELS[overlap, dataflow is Dataflow.OS]((cfg.acc_bits, acc_signed(cfg)))
    rng = np.random.default_rng([fmt[0], fmt[2], fmt[4], list(Dataflow).index(dataflow)])
    cycles = 60
    stimulus = {
        "a_in": _random(rng, port_format(cfg, "west"), cycles),
        "b_in": _random(rng, port_format(cfg, "north"), cycles),
        **{name: [int(v) for v in rng.random(cycles) < 0.3] for name in model.controls},
        model.psum: _random(rng, (cfg.acc_bits, acc_signed(cfg)), cycles, 0.0),
    }

    async def bench(ctx):
        prev_mul = (0, 0)
        for t in range(cycles):
            x = {name: values[t] for name, values in stimulus.items()}
            for name, value in x.items():
                ctx.set(getattr(pe, name), value)
            a, b = model.operands(x)
            mul = (ctx.get(pe.mul.mul_a), ctx.get(pe.mul.mul_b))
            assert ctx.get(pe.mul.product) == a * b  # the product signal is wide enough never to wrap
            if zero_gating and (a == 0 or b == 0):
                assert mul == prev_mul
            prev_mul = mul
            await ctx.tick()
            want = model.tick(x)
            got = {name: ctx.get(getattr(pe, name)) for name in want}
            assert got == want, f"cycle {t}"

    simulate(pe, bench)


def test_gated_multiplier_inputs_do_not_toggle_on_zero_operands():
    cfg = _cfg(Dataflow.OS, (8, True, 8, True, 32), zero_gating=True)
    pe = OSPE(cfg)
    pairs = [(3, 5), (0, 7), (9, 0), (0, 0), (-2, 4), (0, -1)]

    async def bench(ctx):
        seen = []
        for a, b in pairs:
            ctx.set(pe.a_in, a)
            ctx.set(pe.b_in, b)
            seen.append((ctx.get(pe.mul.mul_a), ctx.get(pe.mul.mul_b), ctx.get(pe.mul.product)))
            await ctx.tick()
        assert seen == [(3, 5, 15), (3, 5, 0), (3, 5, 0), (3, 5, 0), (-2, 4, -8), (-2, 4, 0)]
        assert ctx.get(pe.acc) == 15 - 8

    simulate(pe, bench)


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_pe_kind_and_operand_formats_follow_the_dataflow(dataflow):
    cfg = ArrayConfig(
        rows=2, cols=2, dataflow=dataflow, input_bits=3, weight_bits=7, input_signed=False, fold_overlap=False
    )
    pe = make_pe(cfg)
    assert isinstance(pe, OSPE if dataflow is Dataflow.OS else WSPE)
    overlapped = make_pe(cfg.replace(fold_overlap=True))
    assert isinstance(overlapped, ShadowPE if dataflow is Dataflow.OS else BankedPE)
    Fragment.get(overlapped, None)
    west = pe.a_in.shape()
    north = pe.b_in.shape()
    if dataflow is Dataflow.IS:  # B streams from the west, A is stationary
        assert (west.width, west.signed, north.width, north.signed) == (7, True, 3, False)
    else:
        assert (west.width, west.signed, north.width, north.signed) == (3, False, 7, True)
    assert pe.psum_out.shape().width == cfg.acc_bits and pe.psum_out.shape().signed
    Fragment.get(pe, None)  # elaborates


@pytest.mark.parametrize("overlap", [False, True], ids=["serial", "overlap"])
@pytest.mark.parametrize("zero_gating", [False, True], ids=["plain", "gated"])
@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
@pytest.mark.parametrize("input_signed", [True, False], ids=["sx", "ux"])
def test_ternary_pe_selects_by_the_weights_sign(input_signed, dataflow, zero_gating, overlap):
    """weight_format = "ternary": product = 0, x or -x by the weight (-1, 0, +1), the registers as an
    integer PE's; the weight streams from the west in IS, from the north in OS and WS."""
    cfg = _cfg(dataflow, (4, input_signed, 2, True, 8), zero_gating, overlap).replace(weight_format="ternary")
    pe = make_pe(cfg)
    model = MODELS[overlap, dataflow is Dataflow.OS]((cfg.acc_bits, acc_signed(cfg)))
    rng = np.random.default_rng([int(input_signed), list(Dataflow).index(dataflow), zero_gating, overlap])
    cycles = 60
    weight_port = "a_in" if dataflow is Dataflow.IS else "b_in"
    x_port = "b_in" if dataflow is Dataflow.IS else "a_in"
    stimulus = {
        weight_port: [int(v) for v in rng.integers(-1, 1, cycles, endpoint=True)],
        x_port: _random(rng, (4, input_signed), cycles),
        **{name: [int(v) for v in rng.random(cycles) < 0.3] for name in model.controls},
        model.psum: _random(rng, (cfg.acc_bits, acc_signed(cfg)), cycles, 0.0),
    }

    async def bench(ctx):
        for t in range(cycles):
            x = {name: values[t] for name, values in stimulus.items()}
            for name, value in x.items():
                ctx.set(getattr(pe, name), value)
            a, b = model.operands(x)
            assert ctx.get(pe.mul.product) == a * b
            await ctx.tick()
            want = model.tick(x)
            assert {name: ctx.get(getattr(pe, name)) for name in want} == want, f"cycle {t}"

    simulate(pe, bench)


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_ternary_pe_has_no_multiplier(dataflow):
    """The ternary PE's Verilog has no ``*``: sign select and add; the integer PE's has one."""
    from amaranth.back import verilog

    cfg = _cfg(dataflow, (8, True, 2, True, 16))
    assert "*" in _body(verilog.convert(make_pe(cfg), name="pe"))
    assert "*" not in _body(verilog.convert(make_pe(cfg.replace(weight_format="ternary")), name="pe"))


def _body(text: str) -> str:
    """Verilog without its comments, attributes (``(* ... *)``) and ``always @*``, which hold ``*`` too."""
    import re

    return re.sub(r"\(\*.*?\*\)|/\*.*?\*/|//[^\n]*|@\*", "", text, flags=re.S)
