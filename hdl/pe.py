"""Processing elements: one multiply-accumulate cell per dataflow kind.

* :class:`OSPE`, output stationary: the accumulator stays in the PE; operands pass right and down.
* :class:`WSPE`, operand stationary (WS, and IS with the operand formats swapped): a weight is shifted
  into the PE and held; the west operand passes right; partial sums flow down.
* :class:`ShadowPE` and :class:`BankedPE`: the same with ``fold_overlap``: a result register that drains
  while the accumulator starts the next fold (OS), two banks of the stationary operand (WS, IS).
* :class:`SharedPE`: for Verilog output, the array instantiates one separately emitted PE module instead of
  elaborating every PE (Amaranth writes a module per elaborated instance: 16,384 modules at 128x128).

Signal names are stable so that per-signal activity can be attributed from a VCD:
``a_in``, ``b_in``, ``w``, ``a_out``, ``b_out``, ``psum_in``, ``psum_out``, ``acc``, ``mul_a``, ``mul_b``,
``product``.

Zero-operand gating (``cfg.zero_gating``): when either operand of the multiply is zero, ``mul_a`` and
``mul_b`` keep the values of the last non-zero pair (held in the enabled registers ``hold_a``/``hold_b``)
and ``product`` is forced to 0, so the multiplier's inputs do not toggle. The multiplier still works in
the cycle its operands arrive (``mul_x = nonzero ? x : hold_x``), so gating changes no timing.

Ternary weights (``cfg.weight_format == "ternary"``): the weight operand (``mul_b`` in OS and WS, ``mul_a``
in IS, where weights stream from the west) is -1, 0 or +1 in two signed bits, and ``product`` is selected
by its sign, ``0``, ``x`` or ``-x``, with no multiplier; the accumulator adds it as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import ClockSignal, Instance, Module, Mux, ResetSignal, Shape, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from systolic.config import ArrayConfig
from systolic.dataflow import PORT_MAP, STATIONARY
from systolic.geometry import acc_signed, port_format

from .dataflow import check_config


def _shape(bits: int, is_signed: bool) -> Shape:
    return signed(bits) if is_signed else unsigned(bits)


def operand_shapes(cfg: ArrayConfig) -> tuple[Shape, Shape, Shape]:
    """Shapes of the west operand, the north operand and the accumulator for ``cfg``'s dataflow."""
    return (
        _shape(*port_format(cfg, "west")),
        _shape(*port_format(cfg, "north")),
        _shape(cfg.acc_bits, acc_signed(cfg)),
    )


class _Multiplier:
    """The named signals around one PE's multiplier (created with the PE, so tests can probe them).

    ``ternary``: None for an integer multiplier, else which operand (``"a"`` or ``"b"``) is the ternary
    weight that selects ``0``, ``x`` or ``-x`` of the other.
    """

    def __init__(self, a: Shape, b: Shape, ternary: str | None = None):
        self.mul_a = Signal(a, name="mul_a")
        self.mul_b = Signal(b, name="mul_b")
        self.product = Signal((self.mul_a * self.mul_b).shape(), name="product")
        self._ternary = ternary

    @classmethod
    def of(cls, cfg: ArrayConfig) -> _Multiplier:
        """The multiplier of ``cfg``'s PE: operand shapes of its dataflow, ternary if its weights are."""
        a, b, _ = operand_shapes(cfg)
        if cfg.weight_format != "ternary":
            return cls(a, b)
        return cls(a, b, "a" if PORT_MAP[cfg.dataflow]["west"].tensor == "B" else "b")

    def _times(self):
        if self._ternary is None:
            return self.mul_a * self.mul_b
        w, x = (self.mul_a, self.mul_b) if self._ternary == "a" else (self.mul_b, self.mul_a)
        return Mux(w == 0, 0, Mux(w[-1], -x, x))  # sign select: the weight's code 11 is -1, 01 is +1

    def build(self, m: Module, a: Signal, b: Signal, zero_gating: bool) -> None:
        """Drive ``product = a * b`` through ``mul_a``/``mul_b``, gated on zero operands if asked."""
        mul_a, mul_b, product = self.mul_a, self.mul_b, self.product
        if not zero_gating:
            m.d.comb += [mul_a.eq(a), mul_b.eq(b), product.eq(self._times())]
            return
        nonzero = Signal(name="nonzero")
        hold_a = Signal(a.shape(), name="hold_a")
        hold_b = Signal(b.shape(), name="hold_b")
        m.d.comb += nonzero.eq((a != 0) & (b != 0))
        with m.If(nonzero):
            m.d.sync += [hold_a.eq(a), hold_b.eq(b)]
        m.d.comb += [
            mul_a.eq(Mux(nonzero, a, hold_a)),
            mul_b.eq(Mux(nonzero, b, hold_b)),
            product.eq(Mux(nonzero, self._times(), 0)),
        ]


class _PE(wiring.Component):
    """What both PE kinds share: the signature (with a one-bit ``control`` input) and the multiplier."""

    def __init__(self, cfg: ArrayConfig, control: str):
        check_config(cfg)
        self._zero_gating = cfg.zero_gating
        a, b, acc = operand_shapes(cfg)
        self.mul = _Multiplier.of(cfg)
        super().__init__(
            {
                "a_in": In(a),
                "b_in": In(b),
                control: In(1),
                "psum_in": In(acc),
                "a_out": Out(a),
                "b_out": Out(b),
                "psum_out": Out(acc),
            }
        )


class OSPE(_PE):
    """Output-stationary PE: ``acc += a_in * b_in``; operands move on through registers.

    Parameters
    ----------
    cfg : ArrayConfig
        Operand formats follow the tensors of the west (A) and north (B) ports; the accumulator is
        ``acc_bits`` wide, signed if either operand is.

    Ports
    -----
    a_in : In(west operand)
        Operand from the left neighbour (or the west skew).
    b_in : In(north operand)
        Operand from the upper neighbour (or the north skew).
    drain : In(1)
        When high, ``acc`` loads ``psum_in`` instead of accumulating: the array's accumulators shift
        down one row per cycle (zero enters at the top, which also clears them).
    psum_in : In(acc)
        The accumulator of the PE above (zero for row 0).
    a_out : Out(west operand)
        ``a_in`` registered, to the right neighbour.
    b_out : Out(north operand)
        ``b_in`` registered, to the lower neighbour.
    psum_out : Out(acc)
        The accumulator register ``acc``.

    Attributes
    ----------
    acc : Signal
        The accumulator register.
    mul : object
        ``mul.mul_a``, ``mul.mul_b``: the multiplier's operand inputs; ``mul.product``: its output
        (0 while gated).
    """

    def __init__(self, cfg: ArrayConfig):
        super().__init__(cfg, "drain")
        self.acc = Signal(self.psum_out.shape(), name="acc")

    def elaborate(self, platform) -> Module:
        m = Module()
        acc, product = self.acc, self.mul.product
        self.mul.build(m, self.a_in, self.b_in, self._zero_gating)
        m.d.sync += [self.a_out.eq(self.a_in), self.b_out.eq(self.b_in)]
        with m.If(self.drain):
            m.d.sync += acc.eq(self.psum_in)
        with m.Else():
            m.d.sync += acc.eq(acc + product)  # wraps modulo 2**acc_bits
        m.d.comb += self.psum_out.eq(acc)
        return m


class WSPE(_PE):
    """Operand-stationary PE: ``psum_out <= psum_in + a_in * w`` with a held weight ``w``.

    Used for WS (west = A, weight = B) and IS (west = B, weight = A).

    Parameters
    ----------
    cfg : ArrayConfig
        Operand formats follow the tensors of the west and north ports of ``cfg``'s dataflow.

    Ports
    -----
    a_in : In(west operand)
        Streaming operand from the left neighbour (or the west skew).
    b_in : In(north operand)
        Weight being shifted in from the PE above (or the north port for row 0).
    load : In(1)
        When high, ``w`` takes ``b_in``: the column's weights shift down one row.
    psum_in : In(acc)
        Partial sum from the PE above (zero for row 0).
    a_out : Out(west operand)
        ``a_in`` registered, to the right neighbour.
    b_out : Out(north operand)
        The held weight ``w``, to the PE below (for shifting).
    psum_out : Out(acc)
        ``psum_in + a_in * w`` registered, wrapping modulo ``2**acc_bits``.

    Attributes
    ----------
    w : Signal
        The stationary weight register.
    mul : object
        ``mul.mul_a``, ``mul.mul_b``: the multiplier's operand inputs; ``mul.product``: its output
        (0 while gated).
    """

    def __init__(self, cfg: ArrayConfig):
        super().__init__(cfg, "load")
        self.w = Signal(self.b_in.shape(), name="w")

    def elaborate(self, platform) -> Module:
        m = Module()
        w = self.w
        with m.If(self.load):
            m.d.sync += w.eq(self.b_in)
        self.mul.build(m, self.a_in, w, self._zero_gating)
        m.d.sync += [self.a_out.eq(self.a_in), self.psum_out.eq(self.psum_in + self.mul.product)]
        m.d.comb += self.b_out.eq(w)
        return m


class BankedPE(wiring.Component):
    """Operand-stationary PE with two banks of the stationary operand (``fold_overlap``, WS and IS).

    The next fold's operand is written into one bank while the current fold computes with the other:
    ``psum_out <= psum_in + a_in * (w1 if a_tag_in else w0)``. The bank select travels with the west
    operand (``a_tag_in`` -> ``a_tag_out``), so every PE switches banks exactly when the first operand
    of the next fold reaches it. The stationary operand arrives on a column bus (``b_in``, the same value
    for every row of the column); the row whose ``ld`` is high writes it into bank ``ld_bank``.

    Parameters
    ----------
    cfg : ArrayConfig
        Operand formats follow the tensors of the west and north ports of ``cfg``'s dataflow.

    Ports
    -----
    a_in : In(west operand), a_tag_in : In(1)
        Streaming operand from the left neighbour (or the west skew) and its bank select.
    b_in : In(north operand)
        The column's stationary-operand bus.
    ld : In(1), ld_bank : In(1)
        Write ``b_in`` into bank ``ld_bank`` at the end of this cycle.
    psum_in : In(acc)
        Partial sum from the PE above (zero for row 0).
    a_out : Out(west operand), a_tag_out : Out(1)
        ``a_in`` and ``a_tag_in`` registered, to the right neighbour.
    psum_out : Out(acc)
        ``psum_in + a_in * w`` registered, wrapping modulo ``2**acc_bits``.

    Attributes
    ----------
    w0, w1 : Signal
        The two banks.
    mul : object
        The multiplier's named signals (``mul_a``, ``mul_b``, ``product``), as in :class:`WSPE`.
    """

    def __init__(self, cfg: ArrayConfig):
        check_config(cfg)
        self._zero_gating = cfg.zero_gating
        a, b, acc = operand_shapes(cfg)
        self.mul = _Multiplier.of(cfg)
        self.w0 = Signal(b, name="w0")
        self.w1 = Signal(b, name="w1")
        super().__init__(
            {
                "a_in": In(a),
                "a_tag_in": In(1),
                "b_in": In(b),
                "ld": In(1),
                "ld_bank": In(1),
                "psum_in": In(acc),
                "a_out": Out(a),
                "a_tag_out": Out(1),
                "psum_out": Out(acc),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        with m.If(self.ld & ~self.ld_bank):
            m.d.sync += self.w0.eq(self.b_in)
        with m.If(self.ld & self.ld_bank):
            m.d.sync += self.w1.eq(self.b_in)
        self.mul.build(m, self.a_in, Mux(self.a_tag_in, self.w1, self.w0), self._zero_gating)
        m.d.sync += [
            self.a_out.eq(self.a_in),
            self.a_tag_out.eq(self.a_tag_in),
            self.psum_out.eq(self.psum_in + self.mul.product),
        ]
        return m


class ShadowPE(wiring.Component):
    """Output-stationary PE with a result register (``fold_overlap``, OS): ``acc += a_in * b_in``; on a
    fold's last operands (``a_tag_in``) the finished sum moves to ``res`` and ``acc`` restarts from 0, so
    the next fold accumulates while ``res`` drains down the column.

    Parameters
    ----------
    cfg : ArrayConfig
        Operand formats follow the tensors of the west (A) and north (B) ports.

    Ports
    -----
    a_in : In(west operand), a_tag_in : In(1)
        Operand from the left neighbour (or the west skew), and whether it is its fold's last.
    b_in : In(north operand)
        Operand from the upper neighbour (or the north skew).
    shift : In(1)
        ``res`` takes ``res_in`` at the end of this cycle (the drain moves down one row).
    res_in : In(acc)
        The result register of the PE above (zero for row 0).
    a_out, a_tag_out, b_out : Out
        ``a_in``, ``a_tag_in``, ``b_in`` registered, to the neighbours.
    psum_out : Out(acc)
        The result register ``res``.

    Attributes
    ----------
    acc, res : Signal
        The accumulator and the result register.
    mul : object
        The multiplier's named signals, as in :class:`OSPE`.
    """

    def __init__(self, cfg: ArrayConfig):
        check_config(cfg)
        self._zero_gating = cfg.zero_gating
        a, b, acc = operand_shapes(cfg)
        self.mul = _Multiplier.of(cfg)
        self.acc = Signal(acc, name="acc")
        self.res = Signal(acc, name="res")
        super().__init__(
            {
                "a_in": In(a),
                "a_tag_in": In(1),
                "b_in": In(b),
                "shift": In(1),
                "res_in": In(acc),
                "a_out": Out(a),
                "a_tag_out": Out(1),
                "b_out": Out(b),
                "psum_out": Out(acc),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        res = self.res
        total = self.acc + self.mul.product  # wraps modulo 2**acc_bits when assigned
        self.mul.build(m, self.a_in, self.b_in, self._zero_gating)
        m.d.comb += self.psum_out.eq(res)
        m.d.sync += [self.a_out.eq(self.a_in), self.a_tag_out.eq(self.a_tag_in), self.b_out.eq(self.b_in)]
        with m.If(self.a_tag_in):
            m.d.sync += [res.eq(total), self.acc.eq(0)]
        with m.Else():
            m.d.sync += self.acc.eq(total)
            with m.If(self.shift):
                m.d.sync += res.eq(self.res_in)
        return m


def make_pe(cfg: ArrayConfig) -> OSPE | WSPE | ShadowPE | BankedPE:
    """The PE kind ``cfg``'s dataflow (and ``fold_overlap``) needs."""
    output_stationary = STATIONARY[cfg.dataflow] == "output"
    if cfg.fold_overlap:
        return ShadowPE(cfg) if output_stationary else BankedPE(cfg)
    return OSPE(cfg) if output_stationary else WSPE(cfg)


@dataclass(frozen=True)
class SharedPE:
    """The elaboration platform of the Verilog output: the array instantiates the Verilog module ``module``
    (the PE of its config, emitted once by :func:`~systolic.hdl.generate.verilog_text`) at every position.

    Amaranth's back end writes a Verilog module per elaborated PE (they differ only in which unused outputs
    and constant inputs their position gives them), so generating a 128x128 array took minutes and
    gigabytes, and Verilator compiled every copy. Instances of one module keep the instance names
    (``pe_<r>_<c>``) and, inside, the PE's signal names, so VCDs read the same. Elaborated without this
    platform (``platform=None``: amaranth.sim, the tests), the array holds the PE components themselves.

    Parameters
    ----------
    module : str
        Name of the PE's Verilog module.
    signature : wiring.Signature
        The PE's signature (its ports; ``clk`` and ``rst`` are added).
    """

    module: str
    signature: wiring.Signature

    def ports(self, name: str):
        """The nets of the instance ``name``'s ports in the array (signals named ``<name>__<port>``)."""
        return self.signature.create(path=(name,))

    def instance(self, ports) -> Instance:
        """An instance of :attr:`module` connected to ``ports`` (from :meth:`ports`)."""
        conns = {
            ("i_" if member.flow == In else "o_") + name: getattr(ports, name)
            for name, member in self.signature.members.items()
        }
        return Instance(self.module, i_clk=ClockSignal(), i_rst=ResetSignal(), **conns)
