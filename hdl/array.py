"""The PE grid: ``rows x cols`` PEs of the dataflow's kind, wired as a systolic array."""

from __future__ import annotations

from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from systolic.config import ArrayConfig
from systolic.dataflow import STATIONARY

from .dataflow import check_config
from .pe import SharedPE, make_pe, operand_shapes


class SystolicArray(wiring.Component):
    """A ``rows x cols`` grid of PEs, named ``pe_<r>_<c>``.

    West operands enter row ``r`` at ``pe_r_0`` and move right; north operands enter column ``c`` at
    ``pe_0_c`` and move down (output stationary: one operand per cycle; operand stationary: the weights
    shift down while ``load`` is high); partial sums (or, while draining, accumulators) move down and
    leave at the bottom row. Inputs are expected already skewed.

    Parameters
    ----------
    cfg : ArrayConfig
        Array size, dataflow, operand and accumulator formats.

    Ports
    -----
    west : In(rows * west width)
        Lane ``r`` feeds row ``r``.
    north : In(cols * north width)
        Lane ``c`` feeds column ``c``.
    load : In(1)
        Operand stationary only: shift the weights down one row.
    drain : In(1)
        Output stationary only: shift the accumulators down one row (zeros enter at the top).
    south : Out(cols * acc_bits)
        ``psum_out`` of the bottom row's PEs, lane ``c`` from column ``c``.
    west_tag : In(rows)
        ``fold_overlap`` only (instead of ``load`` and ``drain``): lane ``r``'s tag, skewed like its
        operand: the bank select (WS, IS) or "last operand of the fold" (OS).
    ld : In(rows), ld_bank : In(1)
        ``fold_overlap``, WS and IS: row ``r`` writes the north lanes (a bus down each column) into bank
        ``ld_bank``.
    shift : In(rows)
        ``fold_overlap``, OS: row ``r``'s result registers take those of the row above.

    Elaborated for a :class:`~systolic.hdl.pe.SharedPE` platform (the Verilog output), each ``pe_<r>_<c>``
    is an instance of the one PE module; otherwise (amaranth.sim) the PE component itself.
    """

    def __init__(self, cfg: ArrayConfig):
        self._cfg = check_config(cfg)
        a, b, acc = operand_shapes(cfg)
        self._output_stationary = STATIONARY[cfg.dataflow] == "output"
        ports = {"west": In(cfg.rows * a.width), "north": In(cfg.cols * b.width)}
        if cfg.fold_overlap:
            ports["west_tag"] = In(cfg.rows)
            if self._output_stationary:
                ports["shift"] = In(cfg.rows)
            else:
                ports |= {"ld": In(cfg.rows), "ld_bank": In(1)}
        else:
            ports["drain" if self._output_stationary else "load"] = In(1)
        super().__init__({**ports, "south": Out(cfg.cols * acc.width)})

    def elaborate(self, platform) -> Module:
        shared = platform if isinstance(platform, SharedPE) else None
        if self._cfg.fold_overlap:
            return self._elaborate_overlap(shared)
        m = Module()
        cfg = self._cfg
        rows, cols = cfg.rows, cfg.cols
        a, b, _ = operand_shapes(cfg)
        pe = self._grid(shared)
        control = self.drain if self._output_stationary else self.load
        for r in range(rows):
            for c in range(cols):
                p = pe[r][c]
                m.submodules[f"pe_{r}_{c}"] = shared.instance(p) if shared else p
                a_in = pe[r][c - 1].a_out if c else self.west[r * a.width : (r + 1) * a.width]
                b_in = pe[r - 1][c].b_out if r else self.north[c * b.width : (c + 1) * b.width]
                psum_in = pe[r - 1][c].psum_out if r else 0
                pe_control = p.drain if self._output_stationary else p.load
                m.d.comb += [p.a_in.eq(a_in), p.b_in.eq(b_in), p.psum_in.eq(psum_in), pe_control.eq(control)]
        m.d.comb += self.south.eq(Cat(*(pe[rows - 1][c].psum_out for c in range(cols))))
        return m

    def _grid(self, shared: SharedPE | None) -> list[list]:
        """``pe[r][c]``: the PE components, or for a shared PE module the nets of its instances' ports."""
        rows, cols = range(self._cfg.rows), range(self._cfg.cols)
        if shared is None:
            return [[make_pe(self._cfg) for _ in cols] for _ in rows]
        return [[shared.ports(f"pe_{r}_{c}") for c in cols] for r in rows]

    def _elaborate_overlap(self, shared: SharedPE | None) -> Module:
        """``fold_overlap``: a bank-select (WS, IS) or last-operand (OS) tag travels with every west
        operand; WS and IS load the stationary operand from a column bus into the row ``ld`` selects; OS
        drains the result registers down the rows ``shift`` selects."""
        m = Module()
        cfg = self._cfg
        rows, cols = cfg.rows, cfg.cols
        a, b, _ = operand_shapes(cfg)
        pe = self._grid(shared)
        for r in range(rows):
            for c in range(cols):
                p = pe[r][c]
                m.submodules[f"pe_{r}_{c}"] = shared.instance(p) if shared else p
                left = pe[r][c - 1] if c else None
                north_lane = self.north[c * b.width : (c + 1) * b.width]
                m.d.comb += [
                    p.a_in.eq(left.a_out if left else self.west[r * a.width : (r + 1) * a.width]),
                    p.a_tag_in.eq(left.a_tag_out if left else self.west_tag[r]),
                ]
                if self._output_stationary:
                    m.d.comb += [
                        p.b_in.eq(pe[r - 1][c].b_out if r else north_lane),
                        p.res_in.eq(pe[r - 1][c].psum_out if r else 0),
                        p.shift.eq(self.shift[r]),
                    ]
                else:
                    m.d.comb += [
                        p.b_in.eq(north_lane),
                        p.psum_in.eq(pe[r - 1][c].psum_out if r else 0),
                        p.ld.eq(self.ld[r]),
                        p.ld_bank.eq(self.ld_bank),
                    ]
        m.d.comb += self.south.eq(Cat(*(pe[rows - 1][c].psum_out for c in range(cols))))
        return m
