"""The PE grid: ``rows x cols`` PEs of the dataflow's kind, wired as a systolic array."""

from __future__ import annotations

from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from systolic.config import ArrayConfig
from systolic.dataflow import STATIONARY

from .dataflow import check_config
from .pe import make_pe, operand_shapes


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
    """

    def __init__(self, cfg: ArrayConfig):
        self._cfg = check_config(cfg)
        a, b, acc = operand_shapes(cfg)
        self._output_stationary = STATIONARY[cfg.dataflow] == "output"
        control = "drain" if self._output_stationary else "load"
        super().__init__(
            {
                "west": In(cfg.rows * a.width),
                "north": In(cfg.cols * b.width),
                control: In(1),
                "south": Out(cfg.cols * acc.width),
            }
        )

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self._cfg
        rows, cols = cfg.rows, cfg.cols
        a, b, _ = operand_shapes(cfg)
        pe = [[make_pe(cfg) for _ in range(cols)] for _ in range(rows)]
        control = self.drain if self._output_stationary else self.load
        for r in range(rows):
            for c in range(cols):
                p = pe[r][c]
                m.submodules[f"pe_{r}_{c}"] = p
                a_in = pe[r][c - 1].a_out if c else self.west[r * a.width : (r + 1) * a.width]
                b_in = pe[r - 1][c].b_out if r else self.north[c * b.width : (c + 1) * b.width]
                psum_in = pe[r - 1][c].psum_out if r else 0
                pe_control = p.drain if self._output_stationary else p.load
                m.d.comb += [p.a_in.eq(a_in), p.b_in.eq(b_in), p.psum_in.eq(psum_in), pe_control.eq(control)]
        m.d.comb += self.south.eq(Cat(*(pe[rows - 1][c].psum_out for c in range(cols))))
        return m
