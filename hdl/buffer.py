"""``DoubleBuffer``: one on-chip SRAM buffer as two halves, one facing the array, one facing DRAM."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out


class DoubleBuffer(wiring.Component):
    """A double-buffered SRAM: two memories of ``depth`` lines of ``lanes`` elements of ``bits`` bits.

    While the array works on the *active* half (``a_*`` ports), DRAM fills or drains the other, *shadow*
    half (``s_*`` ports); ``active`` says which half is which and changes only between steps. Each half
    has one synchronous read port (data in the cycle after the address) and one write port with a write
    enable per lane.

    Parameters
    ----------
    lanes : int
        Elements per line (the array port's lanes).
    bits : int
        Bits per element.
    depth : int
        Lines per half.
    transparent : bool
        A read of the line being written in the same cycle returns the new data (the ofmap's
        read-modify-write when consecutive folds accumulate into a line back to back); otherwise the old.
    split : bool
        The array side names the half of every access (``a_rd_half``, ``a_wr_half``) instead of taking
        the active one: the ofmap with ``tile_overlap``, where a tile's last results reach their half
        after the next tile has started on the other. An array-side access has the half's port; the
        shadow side (the inactive half) uses it otherwise, and the array side never touches the half the
        shadow side is using (the controller's trail wait).
    rotate : bool
        Each lane is a memory of its own, so an array-side read may take P consecutive elements from
        any element address (``conv_native``'s window generator): lanes ``j < a_rd_rot`` read line
        ``a_rd_next``, the others line ``a_rd_addr``, and lane i of ``a_rd_data`` is memory lane
        ``(i + rot) mod P`` (rot as it was at the read). With ``a_rd_rot`` = 0 an ordinary line read.
    lane_addr : bool
        ``rotate`` with a line per memory lane (``a_rd_lines``: the WS window's k-lines across filter
        rows, the OS/IS window's pixels across output rows of a band at a row pitch, whose lanes read
        lines further apart than the next) instead of ``a_rd_addr`` and ``a_rd_next``.

    Ports
    -----
    active : In(1)
        The half the ``a_*`` ports reach (the other one is the shadow half).
    a_rd_en, a_rd_addr : In
        Read a line of the active half; its data is on ``a_rd_data`` in the next cycle.
    a_rd_data : Out(lanes * bits)
    a_rd_next : In, a_rd_rot : In(range(lanes))
        ``rotate`` only: the line the low ``a_rd_rot`` memory lanes read.
    a_rd_lines : In(lanes * addr)
        ``lane_addr`` only: the line each memory lane reads (``a_rd_next`` is not used).
    a_wr_en : In(lanes), a_wr_addr, a_wr_data : In
        Write the lanes whose enable bit is set into a line of the active half.
    s_rd_en, s_rd_addr, s_rd_data, s_wr_en, s_wr_addr, s_wr_data
        The same for the shadow half. With ``*_rd_en`` low a read port holds its data.
    """

    def __init__(
        self,
        lanes: int,
        bits: int,
        depth: int,
        transparent: bool = False,
        split: bool = False,
        rotate: bool = False,
        lane_addr: bool = False,
    ):
        for name, value in (("lanes", lanes), ("bits", bits), ("depth", depth)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        self._lanes, self._bits, self._depth = lanes, bits, depth
        self._transparent = transparent
        self._split = split
        self._rotate = rotate
        self._lane_addr = lane_addr
        if lane_addr and not rotate:
            raise ValueError("a buffer with a line per lane is a rotating buffer")
        if rotate and (split or transparent):
            raise ValueError("a rotating buffer is neither split nor transparent")
        addr = range(max(depth, 2))
        ports = {"active": In(1)}
        for side in ("a", "s"):
            ports |= {
                f"{side}_rd_en": In(1),
                f"{side}_rd_addr": In(addr),
                f"{side}_rd_data": Out(lanes * bits),
                f"{side}_wr_en": In(lanes),
                f"{side}_wr_addr": In(addr),
                f"{side}_wr_data": In(lanes * bits),
            }
        if split:
            ports |= {"a_rd_half": In(1), "a_wr_half": In(1)}
        if rotate:
            ports |= {"a_rd_next": In(addr), "a_rd_rot": In(range(max(lanes, 2)))}
        if lane_addr:
            ports |= {"a_rd_lines": In(lanes * (max(depth, 2) - 1).bit_length())}
        super().__init__(ports)

    def elaborate(self, platform) -> Module:
        if self._split:
            return self._elaborate_split()
        if self._rotate:
            return self._elaborate_rotate()
        m = Module()
        width = self._lanes * self._bits
        # Which half answered the reads of the previous cycle (reads return one cycle later).
        active_q = Signal(name="active_q")
        m.d.sync += active_q.eq(self.active)
        data = []
        for half in (0, 1):
            mem = Memory(shape=unsigned(width), depth=self._depth, init=[])
            m.submodules[f"half{half}"] = mem
            if self._transparent:
                wr = mem.write_port(granularity=self._bits)
                rd = mem.read_port(transparent_for=(wr,))
            else:
                rd = mem.read_port()
                wr = mem.write_port(granularity=self._bits)
            is_active = self.active == half
            m.d.comb += [
                rd.en.eq(Mux(is_active, self.a_rd_en, self.s_rd_en)),
                rd.addr.eq(Mux(is_active, self.a_rd_addr, self.s_rd_addr)),
                wr.en.eq(Mux(is_active, self.a_wr_en, self.s_wr_en)),
                wr.addr.eq(Mux(is_active, self.a_wr_addr, self.s_wr_addr)),
                wr.data.eq(Mux(is_active, self.a_wr_data, self.s_wr_data)),
            ]
            data.append(rd.data)
        m.d.comb += [
            self.a_rd_data.eq(Mux(active_q, data[1], data[0])),
            self.s_rd_data.eq(Mux(active_q, data[0], data[1])),
        ]
        return m

    def _elaborate_split(self) -> Module:
        """Each half serves an array-side access addressed to it, else the shadow side if it is the
        inactive half."""
        m = Module()
        width = self._lanes * self._bits
        active_q = Signal(name="active_q")
        a_half_q = Signal(name="a_rd_half_q")
        m.d.sync += [active_q.eq(self.active), a_half_q.eq(self.a_rd_half)]
        data = []
        for half in (0, 1):
            mem = Memory(shape=unsigned(width), depth=self._depth, init=[])
            m.submodules[f"half{half}"] = mem
            wr = mem.write_port(granularity=self._bits)
            rd = mem.read_port(transparent_for=(wr,) if self._transparent else ())
            a_rd = self.a_rd_en & (self.a_rd_half == half)
            a_wr = (self.a_wr_en != 0) & (self.a_wr_half == half)
            shadow = self.active != half
            m.d.comb += [
                rd.en.eq(a_rd | (self.s_rd_en & shadow)),
                rd.addr.eq(Mux(a_rd, self.a_rd_addr, self.s_rd_addr)),
                wr.en.eq(Mux(a_wr, self.a_wr_en, Mux(shadow, self.s_wr_en, 0))),
                wr.addr.eq(Mux(a_wr, self.a_wr_addr, self.s_wr_addr)),
                wr.data.eq(Mux(a_wr, self.a_wr_data, self.s_wr_data)),
            ]
            data.append(rd.data)
        m.d.comb += [
            self.a_rd_data.eq(Mux(a_half_q, data[1], data[0])),
            self.s_rd_data.eq(Mux(active_q, data[0], data[1])),
        ]
        return m

    def _elaborate_rotate(self) -> Module:
        """One memory of ``bits`` per lane and half; the array side's lanes below ``a_rd_rot`` read
        ``a_rd_next``, and its data comes out rotated by the rot of the read."""
        m = Module()
        lanes, bits = self._lanes, self._bits
        active_q = Signal(name="active_q")
        rot_q = Signal.like(self.a_rd_rot, name="a_rd_rot_q")
        m.d.sync += active_q.eq(self.active)
        with m.If(self.a_rd_en):
            m.d.sync += rot_q.eq(self.a_rd_rot)
        data = [[], []]
        for half in (0, 1):
            is_active = self.active == half
            for j in range(lanes):
                mem = Memory(shape=unsigned(bits), depth=self._depth, init=[])
                m.submodules[f"half{half}_lane{j}"] = mem
                rd = mem.read_port()
                wr = mem.write_port()
                if self._lane_addr:
                    abits = (max(self._depth, 2) - 1).bit_length()
                    a_addr = self.a_rd_lines[j * abits : (j + 1) * abits]
                else:
                    a_addr = Mux(self.a_rd_rot > j, self.a_rd_next, self.a_rd_addr)
                m.d.comb += [
                    rd.en.eq(Mux(is_active, self.a_rd_en, self.s_rd_en)),
                    rd.addr.eq(Mux(is_active, a_addr, self.s_rd_addr)),
                    wr.en.eq(Mux(is_active, self.a_wr_en[j], self.s_wr_en[j])),
                    wr.addr.eq(Mux(is_active, self.a_wr_addr, self.s_wr_addr)),
                    wr.data.eq(Mux(is_active, self.a_wr_data, self.s_wr_data)[j * bits : (j + 1) * bits]),
                ]
                data[half].append(rd.data)
        line = [Cat(*d) for d in data]
        a_line = Signal(lanes * bits, name="a_rd_lanes")
        m.d.comb += [
            a_line.eq(Mux(active_q, line[1], line[0])),
            self.a_rd_data.eq(Cat(a_line, a_line).bit_select(rot_q * bits, lanes * bits)),
            self.s_rd_data.eq(Mux(active_q, line[0], line[1])),
        ]
        return m
