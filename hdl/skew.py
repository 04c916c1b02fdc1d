"""Per-lane delay lines: the skew in front of the array and the de-skew behind it."""

from __future__ import annotations

from collections.abc import Sequence

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class LaneDelay(wiring.Component):
    """Delay lane ``i`` of a bus by ``delays[i]`` clock cycles.

    Skew: ``delays = [0, 1, ..., n-1]``; de-skew: ``delays = [n-1, ..., 1, 0]``.

    Parameters
    ----------
    width : int
        Bits per lane; lane ``i`` sits at bits ``[i*width, (i+1)*width)``.
    delays : sequence of int
        Register stages per lane (0 = wire).

    Ports
    -----
    i : In(lanes * width)
        Lanes in.
    o : Out(lanes * width)
        Lanes out, each delayed by its own number of cycles. Registers are named ``lane<i>_<stage>``.
    """

    def __init__(self, width: int, delays: Sequence[int]):
        if width < 1:
            raise ValueError(f"width must be a positive integer, not {width}")
        if not delays or any(d < 0 for d in delays):
            raise ValueError(f"delays must be a non-empty list of non-negative integers, not {list(delays)}")
        self._width = width
        self._delays = tuple(delays)
        super().__init__({"i": In(width * len(delays)), "o": Out(width * len(delays))})

    def elaborate(self, platform) -> Module:
        m = Module()
        w = self._width
        outs = []
        for lane, delay in enumerate(self._delays):
            tap = self.i[lane * w : (lane + 1) * w]
            for stage in range(delay):
                reg = Signal(w, name=f"lane{lane}_{stage}")
                m.d.sync += reg.eq(tap)
                tap = reg
            outs.append(tap)
        m.d.comb += self.o.eq(Cat(*outs))
        return m
