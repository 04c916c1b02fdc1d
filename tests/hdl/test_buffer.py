# amaranth: UnusedElaboratable=no
# ^ error-path tests construct components whose __init__ raises; Amaranth would warn they went unused.
"""The double-buffered SRAM: two halves behind an ``active`` select, synchronous reads, per-lane writes."""

from __future__ import annotations

import pytest

from systolic.cosim.amaranth_sim import simulate
from systolic.cosim.harness import pack, unpack
from systolic.hdl.buffer import DoubleBuffer

LANES, BITS, DEPTH = 3, 6, 4


def test_shadow_writes_appear_on_the_array_side_after_the_swap():
    dut = DoubleBuffer(LANES, BITS, DEPTH)
    seen = {}

    async def write(ctx, side: str, line: int, values: list[int], enables: int) -> None:
        ctx.set(getattr(dut, f"{side}_wr_en"), enables)
        ctx.set(getattr(dut, f"{side}_wr_addr"), line)
        ctx.set(getattr(dut, f"{side}_wr_data"), pack(values, BITS))
        await ctx.tick()
        ctx.set(getattr(dut, f"{side}_wr_en"), 0)

    async def read(ctx, label: str, line: int) -> None:
        """Read ``line`` on both sides; the data is there in the next cycle."""
        for side in ("a", "s"):
            ctx.set(getattr(dut, f"{side}_rd_en"), 1)
            ctx.set(getattr(dut, f"{side}_rd_addr"), line)
        await ctx.tick()
        for side in ("a", "s"):
            ctx.set(getattr(dut, f"{side}_rd_en"), 0)
            seen[f"{label} {side}"] = unpack(ctx.get(getattr(dut, f"{side}_rd_data")), BITS, LANES, False)

    async def bench(ctx):
        ctx.set(dut.active, 0)
        await write(ctx, "s", 2, [1, 2, 3], 0b111)  # DRAM side fills half 1
        await write(ctx, "s", 2, [9, 9, 9], 0b010)  # only lane 1 is written
        await write(ctx, "a", 2, [4, 5, 6], 0b101)  # the array side writes half 0, lanes 0 and 2
        await read(ctx, "before", 2)
        await ctx.tick()  # a read port with its enable low holds its data
        seen["held a"] = unpack(ctx.get(dut.a_rd_data), BITS, LANES, False)
        ctx.set(dut.active, 1)  # swap: half 1 faces the array
        await read(ctx, "after", 2)

    simulate(dut, bench)
    assert seen == {
        "before a": [4, 0, 6],
        "before s": [1, 9, 3],
        "held a": [4, 0, 6],
        "after a": [1, 9, 3],
        "after s": [4, 0, 6],
    }


@pytest.mark.parametrize("transparent", [False, True])
def test_a_read_of_the_line_being_written_sees_the_new_data_when_transparent(transparent):
    dut = DoubleBuffer(LANES, BITS, DEPTH, transparent=transparent)
    got = []

    async def bench(ctx):
        ctx.set(dut.a_wr_en, 0b111)
        ctx.set(dut.a_wr_addr, 1)
        ctx.set(dut.a_wr_data, pack([1, 2, 3], BITS))
        await ctx.tick()
        ctx.set(dut.a_wr_data, pack([7, 8, 9], BITS))  # written in the cycle it is read
        ctx.set(dut.a_rd_en, 1)
        ctx.set(dut.a_rd_addr, 1)
        await ctx.tick()
        got.append(unpack(ctx.get(dut.a_rd_data), BITS, LANES, False))

    simulate(dut, bench)
    assert got == [[7, 8, 9] if transparent else [1, 2, 3]]


def test_split_halves_take_each_access_where_it_says():
    """``split``: array-side reads and writes name their half; the shadow side reaches the inactive one."""
    dut = DoubleBuffer(LANES, BITS, DEPTH, split=True)
    got = {}

    async def bench(ctx):
        ctx.set(dut.active, 0)
        for half, values in ((0, [1, 2, 3]), (1, [4, 5, 6])):  # the array side writes both halves
            ctx.set(dut.a_wr_en, 0b111)
            ctx.set(dut.a_wr_half, half)
            ctx.set(dut.a_wr_addr, 2)
            ctx.set(dut.a_wr_data, pack(values, BITS))
            await ctx.tick()
        ctx.set(dut.a_wr_en, 0)
        ctx.set(dut.a_rd_en, 1)  # read half 0 on the array side, the shadow (half 1) at once
        ctx.set(dut.a_rd_half, 0)
        ctx.set(dut.a_rd_addr, 2)
        ctx.set(dut.s_rd_en, 1)
        ctx.set(dut.s_rd_addr, 2)
        await ctx.tick()
        got["a"] = unpack(ctx.get(dut.a_rd_data), BITS, LANES, False)
        got["s"] = unpack(ctx.get(dut.s_rd_data), BITS, LANES, False)
        ctx.set(dut.s_rd_en, 0)
        ctx.set(dut.a_rd_half, 1)  # the array side may read the shadow half too
        await ctx.tick()
        got["a1"] = unpack(ctx.get(dut.a_rd_data), BITS, LANES, False)

    simulate(dut, bench)
    assert got == {"a": [1, 2, 3], "s": [4, 5, 6], "a1": [4, 5, 6]}


def test_ports_are_sized_from_lanes_bits_and_depth():
    dut = DoubleBuffer(LANES, BITS, 1)  # one line per half: the address still has a bit
    widths = {name: len(getattr(dut, name)) for name in dut.signature.members}
    assert widths == {
        "active": 1,
        **{f"{side}_rd_en": 1 for side in "as"},
        **{f"{side}_rd_addr": 1 for side in "as"},
        **{f"{side}_rd_data": LANES * BITS for side in "as"},
        **{f"{side}_wr_en": LANES for side in "as"},
        **{f"{side}_wr_addr": 1 for side in "as"},
        **{f"{side}_wr_data": LANES * BITS for side in "as"},
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 8, 4), "lanes must be a positive integer, not 0"),
        ((2, -1, 4), "bits must be a positive integer, not -1"),
        ((2, 8, 2.5), "depth must be a positive integer, not 2.5"),
    ],
)
def test_bad_arguments_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        DoubleBuffer(*args)


async def _fill_counting(ctx, dut, lanes: int) -> None:
    """Fill half 0 of ``dut`` from the shadow side (line l holds 4l .. 4l + 3), then ``active`` back to 0:
    the array side reads it."""
    ctx.set(dut.active, 1)
    for line in range(DEPTH):
        ctx.set(dut.s_wr_en, 0b1111)
        ctx.set(dut.s_wr_addr, line)
        ctx.set(dut.s_wr_data, pack([4 * line + j for j in range(lanes)], BITS))
        await ctx.tick()
    ctx.set(dut.s_wr_en, 0)
    ctx.set(dut.active, 0)


def test_a_rotating_buffer_reads_lanes_consecutive_elements_from_any_element():
    """``rotate``: lanes below ``a_rd_rot`` read ``a_rd_next``; lane i of the data is memory lane
    (i + rot) mod P of the read, so lines L and L + 1 give the P elements from L * P + rot."""
    lanes = 4
    dut = DoubleBuffer(lanes, BITS, DEPTH, rotate=True)
    seen = {}

    async def bench(ctx):
        await _fill_counting(ctx, dut, lanes)
        for line, rot in ((1, 0), (1, 1), (1, 3), (2, 2)):
            ctx.set(dut.a_rd_en, 1)
            ctx.set(dut.a_rd_addr, line)
            ctx.set(dut.a_rd_next, line + 1)
            ctx.set(dut.a_rd_rot, rot)
            await ctx.tick()
            ctx.set(dut.a_rd_en, 0)
            ctx.set(dut.a_rd_rot, 0)  # the data keeps the rotation of its read
            seen[(line, rot)] = unpack(ctx.get(dut.a_rd_data), BITS, lanes, False)

    simulate(dut, bench)
    assert seen == {(line, rot): [4 * line + rot + i for i in range(lanes)] for line, rot in seen}
    assert len(seen) == 4


def test_a_rotating_buffer_is_neither_split_nor_transparent():
    with pytest.raises(ValueError, match="a rotating buffer is neither split nor transparent"):
        DoubleBuffer(LANES, BITS, DEPTH, split=True, rotate=True)


def test_a_rotating_buffer_with_a_line_per_lane_reads_each_memory_lane_from_its_own_line():
    """``lane_addr``: memory lane q reads line ``a_rd_lines[q]`` (the WS window's k-lines across filter
    rows); the data comes out rotated by ``a_rd_rot`` as with one line and the next."""
    lanes = 4
    abits = (DEPTH - 1).bit_length()
    dut = DoubleBuffer(lanes, BITS, DEPTH, rotate=True, lane_addr=True)
    seen = {}

    async def bench(ctx):
        await _fill_counting(ctx, dut, lanes)
        for lines, rot in (((0, 3, 1, 2), 0), ((2, 0, 3, 1), 1), ((3, 3, 0, 0), 3)):
            ctx.set(dut.a_rd_en, 1)
            ctx.set(dut.a_rd_lines, sum(line << (q * abits) for q, line in enumerate(lines)))
            ctx.set(dut.a_rd_rot, rot)
            await ctx.tick()
            ctx.set(dut.a_rd_en, 0)
            seen[(lines, rot)] = unpack(ctx.get(dut.a_rd_data), BITS, lanes, False)

    simulate(dut, bench)
    want = {
        (lines, rot): [4 * lines[(i + rot) % lanes] + (i + rot) % lanes for i in range(lanes)]
        for lines, rot in seen
    }
    assert seen == want and len(seen) == 3


def test_a_buffer_with_a_line_per_lane_rotates():
    with pytest.raises(ValueError, match="a buffer with a line per lane is a rotating buffer"):
        DoubleBuffer(LANES, BITS, DEPTH, lane_addr=True)
