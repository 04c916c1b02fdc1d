# amaranth: UnusedElaboratable=no
# ^ error-path tests construct components whose __init__ raises; Amaranth would warn they went unused.
"""Per-lane delay lines (skew and de-skew)."""

from __future__ import annotations

import pytest

from systolic.cosim.amaranth_sim import simulate
from systolic.cosim.harness import pack, unpack
from systolic.hdl.skew import LaneDelay


def test_each_lane_is_delayed_by_its_own_count():
    delays = [0, 2, 1, 3]
    dut = LaneDelay(5, delays)
    inputs = [[(7 * t + lane) % 32 for lane in range(4)] for t in range(10)]

    async def bench(ctx):
        for t, vector in enumerate(inputs):
            ctx.set(dut.i, pack(vector, 5))
            got = unpack(ctx.get(dut.o), 5, 4, False)
            want = [inputs[t - d][lane] if t >= d else 0 for lane, d in enumerate(delays)]
            assert got == want, t
            await ctx.tick()

    simulate(dut, bench)


@pytest.mark.parametrize(
    ("width", "delays", "message"),
    [
        (0, [0, 1], "width must be a positive integer, not 0"),
        (4, [], r"delays must be a non-empty list of non-negative integers, not \[\]"),
        (4, [1, -1], r"delays must be a non-empty list of non-negative integers, not \[1, -1\]"),
    ],
)
def test_bad_arguments_are_named(width, delays, message):
    with pytest.raises(ValueError, match=message):
        LaneDelay(width, delays)
