"""The memory controller: walks a layer's tiles in steps, fills and drains the double buffers over DRAM.

The timing it implements is the one :mod:`systolic.model.memory` computes (its docstring defines it): a
layer runs as steps separated by a barrier; in step s the array computes tile s-1, DRAM fills tile s's
operands into the shadow halves and drains tile s-2's outputs from the shadow ofmap half. The barrier is
decided in the cycle everything is ready (the engine's ``ready`` or ``done`` seen that cycle, not a
registered copy) and starts the engine on the next tile in that same cycle, so a step whose buffers are
ready costs no cycle of its own. Tiles are walked
n outermost, then m, then k; their sizes come in as registers (the planner's choice,
:func:`systolic.model.memory.plan_layer`).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from systolic.config import ArrayConfig
from systolic.geometry import ADDR_BITS, geometry, operand_format

from .dataflow import check_config
from .sequencer import DIM_BITS
from .window import band, band_pitch, conv_ports, conv_registers, pixel_band
from .window import div_const as div_const  # re-exported: the accelerator and its tests use it from here


class _Walker:
    """Walks the DRAM beats of up to two tile segments: for each, lines o outer, line blocks lb, beats j.

    ``segments``: list of dicts with ``enable`` (Value), ``lanes`` (int P), ``ext_lane``, ``ext_other``
    (Values), ``base`` (int), ``origin_lane``, ``origin_other``, ``pitch`` (Values: the tensor's extent
    along its lane axis) and optionally ``rows``, ``step_lines``, ``step_lanes`` (Values): with ``rows``
    high the segment's lines o (a WS band's input rows) are written from SRAM word ``o * L`` (L =
    ``step_lines * P + step_lanes``: row o's first line and lane are registers stepped per line o),
    line block lb being SRAM line ``first + lb`` and the first block's beats starting at the row's lane,
    so that no beat crosses an SRAM line; else line o's block lb is SRAM line ``lb * ext_other + o``. With
    ``sub`` high (an OS or IS band whose plane rows sit at a row pitch L in the SRAM: ``sub_rows`` rows of
    ``ext_lane`` words a run, the next ``sub_words`` words on in DRAM) each line o (a run) is walked as its
    rows y, row y from the run's word ``y * L`` (L = ``step_lines * P + step_lanes``): its block lb is SRAM
    line ``(first + lb) * ext_other + o``, first and the row's lane registers stepped per row.
    Provides ``busy``, ``seg``, ``line``, ``lane0`` (first lane of the beat within the line),
    ``length``, ``addr``, ``last`` (the beat is the walk's last) and ``init``/``advance`` statements.
    """

    def __init__(self, m: Module, name: str, segments: list[dict], bw: int):
        self.busy = Signal(name=f"{name}_busy")
        self.seg = Signal(range(max(len(segments), 2)), name=f"{name}_seg")
        self.o = Signal(DIM_BITS, name=f"{name}_o")
        self.lb = Signal(DIM_BITS, name=f"{name}_lb")
        most = max(s["lanes"] for s in segments)
        self.j = Signal(range(-(-most // bw) + 1), name=f"{name}_j")
        self.line = Signal(2 * DIM_BITS, name=f"{name}_line")
        self.lane0 = Signal(range(most + bw + 1), name=f"{name}_lane0")  # small: it sizes lane shifts
        self.length = Signal(range(bw + 1), name=f"{name}_len")
        self.addr = Signal(ADDR_BITS, name=f"{name}_addr")
        self.last = Signal(name=f"{name}_last")
        default = {"rows": 0, "sub": 0, "sub_rows": 0, "sub_words": 0, "step_lines": 0, "step_lanes": 0}
        self._segments = segments = [default | sg for sg in segments]
        self._rowed = any(not isinstance(sg["rows"], int) for sg in segments)
        self._sub = any(not isinstance(sg["sub"], int) for sg in segments)
        sel = self._pick
        lanes_p = sel("lanes")
        ext_lane, ext_other = sel("ext_lane"), sel("ext_other")
        lane_base = Signal(DIM_BITS + 1, name=f"{name}_lane_base")
        valid = Signal(DIM_BITS + 1, name=f"{name}_valid_lanes")
        self.last_beat = Signal(name=f"{name}_last_beat")
        self.last_lb = Signal(name=f"{name}_last_lb")
        self.last_o = Signal(name=f"{name}_last_o")
        self.last_seg = Signal(name=f"{name}_last_seg")
        extra = None
        if self._rowed:
            ext_lane, phase, line = self._rowed_walk(m, name, most, lanes_p, ext_lane, ext_other)
        elif self._sub:
            ext_lane, phase, line, extra = self._sub_walk(m, name, most, lanes_p, ext_lane, ext_other)
        else:
            phase, line = None, self.lb * ext_other + self.o
        self._beats(m, bw, lanes_p, ext_lane, ext_other, lane_base, valid, line, phase, extra)
        if len(segments) == 1:
            m.d.comb += self.last_seg.eq(1)
        else:  # two segments: the first is the last one when the second is not enabled
            m.d.comb += self.last_seg.eq((self.seg == 1) | ~segments[1]["enable"])
        last = self.last_beat & self.last_lb & self.last_o & self.last_seg
        m.d.comb += self.last.eq(last & self.last_y if self._sub else last)

    def _rowed_walk(
        self, m: Module, name: str, most: int, lanes_p: Value, ext_lane: Value, ext_other: Value
    ) -> tuple[Signal, Signal, Value]:
        """A walk with a rowed segment (a WS band): its row o's words from lane ``row_lane`` of SRAM line
        ``row_line`` (registers stepped per row), so the first block's beats start there and its DRAM
        address is ``phase`` lanes behind the lane. Returns the row's end in lanes from its first line,
        ``phase`` and the beat's SRAM line, for :meth:`_beats`."""
        sel = self._pick
        self.row_line = Signal(2 * DIM_BITS, name=f"{name}_row_line")
        self.row_lane = Signal(range(max(most, 2)), name=f"{name}_row_lane")
        rows_on = Signal(name=f"{name}_rows")
        phase = Signal(range(max(most, 2)), name=f"{name}_phase")
        row_end = Signal(DIM_BITS + 1, name=f"{name}_row_end")  # the row's end, in lanes from its first line
        self._steps = (sel("step_lines"), sel("step_lanes"), lanes_p)
        m.d.comb += [
            rows_on.eq(sel("rows")),
            phase.eq(Mux(rows_on, self.row_lane, 0)),
            row_end.eq(ext_lane + phase),
        ]
        return row_end, phase, Mux(rows_on, self.row_line + self.lb, self.lb * ext_other + self.o)

    def _sub_walk(
        self, m: Module, name: str, most: int, lanes_p: Value, ext_lane: Value, ext_other: Value
    ) -> tuple[Signal, Signal, Value, Value]:
        """A walk with a segment of runs in rows (an OS or IS band at a row pitch): row y of run o from lane
        ``row_lane`` of the run's line ``row_line`` and DRAM word ``row_addr`` of the run (registers stepped
        per row), so the first block's beats start there and its DRAM address is ``phase`` lanes behind the
        lane. Returns the row's end in lanes from its first line, ``phase``, the beat's SRAM line and the
        row's DRAM offset, for :meth:`_beats`."""
        sel = self._pick
        self.y = Signal(DIM_BITS, name=f"{name}_y")
        self.row_line = Signal(2 * DIM_BITS, name=f"{name}_row_line")
        self.row_lane = Signal(range(max(most, 2)), name=f"{name}_row_lane")
        self.row_addr = Signal(ADDR_BITS, name=f"{name}_row_addr")
        self.last_y = Signal(name=f"{name}_last_y")
        sub_on = Signal(name=f"{name}_sub")
        phase = Signal(range(max(most, 2)), name=f"{name}_phase")
        row_end = Signal(DIM_BITS + 1, name=f"{name}_row_end")  # the row's end, in lanes from its first line
        self._steps = (sel("step_lines"), sel("step_lanes"), lanes_p, sel("sub_words"))
        m.d.comb += [
            sub_on.eq(sel("sub")),
            phase.eq(Mux(sub_on, self.row_lane, 0)),
            row_end.eq(ext_lane + phase),
            self.last_y.eq(~sub_on | (self.y + 1 >= sel("sub_rows"))),
        ]
        line = (Mux(sub_on, self.row_line, 0) + self.lb) * ext_other + self.o
        return row_end, phase, line, Mux(sub_on, self.row_addr, 0)

    def _beats(
        self,
        m: Module,
        bw: int,
        lanes_p: Value,
        ext_lane: Value,
        ext_other: Value,
        lane_base: Signal,
        valid: Signal,
        line: Value,
        phase: Signal | None,
        extra: Value | None = None,
    ) -> None:
        """The beat of line o, block lb, beat j: its SRAM ``line``, first lane, length, DRAM address and
        the last-of flags; with ``phase`` (a rowed walk, :meth:`_rowed_walk`) the first block's beats start
        ``phase`` lanes into the line and the address is that many words behind the lane (plus ``extra``:
        a sub-row walk's row offset, :meth:`_sub_walk`)."""
        sel = self._pick
        lane0 = self.j * bw if phase is None else Mux(self.lb == 0, phase, 0) + self.j * bw
        addr = (
            sel("base")
            + (sel("origin_other") + self.o) * sel("pitch")
            + sel("origin_lane")
            + lane_base
            + self.lane0
        )
        if extra is not None:
            addr = addr + extra
        m.d.comb += [
            lane_base.eq(self.lb * lanes_p),
            self.last_lb.eq(lane_base + lanes_p >= ext_lane),
            valid.eq(Mux(self.last_lb, ext_lane - lane_base, lanes_p)),
            self.lane0.eq(lane0),
            self.last_beat.eq(self.lane0 + bw >= valid),
            self.length.eq(Mux(self.last_beat, valid - self.lane0, bw)),
            self.last_o.eq(self.o + 1 == ext_other),
            self.line.eq(line),
            self.addr.eq(addr if phase is None else addr - phase),
        ]

    def _pick(self, key: str) -> Value:
        values = [Value.cast(s[key]) for s in self._segments]
        out = values[-1]
        for i in range(len(values) - 2, -1, -1):
            out = Mux(self.seg == i, values[i], out)
        return out

    def init(self, enables: list[Value]) -> list:
        """Statements that (re)start the walk at the first enabled segment."""
        first = 0 if len(enables) == 1 else Mux(enables[0], 0, 1)
        any_enabled = enables[0] if len(enables) == 1 else enables[0] | enables[1]
        rows = [self.row_line.eq(0), self.row_lane.eq(0)] if self._rowed or self._sub else []
        if self._sub:
            rows += [self.y.eq(0), self.row_addr.eq(0)]
        return [
            self.busy.eq(any_enabled),
            self.seg.eq(first),
            self.o.eq(0),
            self.lb.eq(0),
            self.j.eq(0),
            *rows,
        ]

    def advance(self, m: Module) -> None:
        """Move to the next beat (call inside the condition that consumes the current one)."""
        with m.If(self.last_beat):
            m.d.sync += self.j.eq(0)
            with m.If(self.last_lb):
                m.d.sync += self.lb.eq(0)
                if self._sub:
                    with m.If(~self.last_y):  # the run's next row: L words on in the SRAM, W' in DRAM
                        m.d.sync += [
                            self.y.eq(self.y + 1),
                            *self._next_row(),
                            self.row_addr.eq(self.row_addr + self._steps[3]),
                        ]
                    with m.Else():
                        m.d.sync += [
                            self.y.eq(0),
                            self.row_line.eq(0),
                            self.row_lane.eq(0),
                            self.row_addr.eq(0),
                        ]
                        self._next_line(m)
                else:
                    self._next_line(m)
            with m.Else():
                m.d.sync += self.lb.eq(self.lb + 1)
        with m.Else():
            m.d.sync += self.j.eq(self.j + 1)

    def _next_line(self, m: Module) -> None:
        """The walk's next line o (or segment, or the end), past the last block of line o."""
        with m.If(self.last_o):
            m.d.sync += self.o.eq(0)
            if self._rowed:
                m.d.sync += [self.row_line.eq(0), self.row_lane.eq(0)]
            with m.If(self.last_seg):
                m.d.sync += self.busy.eq(0)
            with m.Else():
                m.d.sync += self.seg.eq(self.seg + 1)
        with m.Else():
            m.d.sync += self.o.eq(self.o + 1)
            if self._rowed:  # the next row starts L words on
                m.d.sync += self._next_row()

    def _next_row(self) -> list:
        """The row registers' step to the next row, L = ``step_lines * P + step_lanes`` words on in the
        SRAM (a WS band's next input row, an OS or IS pitched run's next plane row)."""
        step_lines, step_lanes, lanes_p = self._steps[:3]
        lane = self.row_lane + step_lanes
        carry = lane >= lanes_p
        return [
            self.row_lane.eq(Mux(carry, lane - lanes_p, lane)),
            self.row_line.eq(self.row_line + step_lines + carry),
        ]


def controller_ports(cfg: ArrayConfig) -> dict:
    """The accelerator's external ports (command and DRAM), shared by the controller and the top level.

    The three DRAM streams are written out as valid/ready/field signals, not as ``amaranth.lib.stream``
    signatures: a stream member flattens to ``dram_rd_req__valid``, ``dram_rd_req__ready`` and one packed
    ``dram_rd_req__payload`` (``dram_rd_data__payload``, ``dram_wr__payload`` holding addr, len and data),
    which would rename every port the testbenches (``cosim/mem_harness.py``) and the golden Verilog use.
    """
    bw = cfg.dram_bw_words_per_cycle
    rd_bits = max(cfg.input_bits, cfg.weight_bits)
    command = {
        "start": In(1),
        "dim_m": In(DIM_BITS),
        "dim_n": In(DIM_BITS),
        "dim_k": In(DIM_BITS),
        "tile_m": In(DIM_BITS),
        "tile_n": In(DIM_BITS),
        "tile_k": In(DIM_BITS),
    }
    conv = conv_ports() if cfg.convs_native else {}  # the layer's convolution, with the command
    return (
        command
        | conv
        | {
            "busy": Out(1),
            "done": Out(1),
            "dram_rd_req_valid": Out(1),
            "dram_rd_req_ready": In(1),
            "dram_rd_req_addr": Out(ADDR_BITS),
            "dram_rd_req_len": Out(range(bw + 1)),
            "dram_rd_data_valid": In(1),
            "dram_rd_data_ready": Out(1),
            "dram_rd_data": In(bw * rd_bits),
            "dram_wr_valid": Out(1),
            "dram_wr_ready": In(1),
            "dram_wr_addr": Out(ADDR_BITS),
            "dram_wr_len": Out(range(bw + 1)),
            "dram_wr_data": Out(bw * cfg.acc_bits),
        }
    )


def _tile_record(prefix: str) -> dict[str, Signal]:
    """A stage of the tile pipeline (``ld``: loading, ``cp``: computing, ``dr``: draining): whether it holds
    a tile, the tile's origin and extent per dimension, and what the step does with it.

    Separate signals rather than one ``amaranth.lib.data`` struct: a struct would be one packed register
    (``ld``) with field aliases (``ld.m0``) in the Verilog and the VCD instead of the registers ``ld_m0``,
    ``ld_valid``, ...; names, netlist and per-signal toggle counts (the energy calibration) would change.
    """
    rec = {"valid": Signal(name=f"{prefix}_valid")}
    for d in "mnk":
        rec[f"{d}0"] = Signal(DIM_BITS, name=f"{prefix}_{d}0")
        rec[f"{d}t"] = Signal(DIM_BITS, name=f"{prefix}_{d}t")
    for flag in ("load_a", "load_b", "first_k", "last_k"):
        rec[flag] = Signal(name=f"{prefix}_{flag}")
    return rec


@dataclass(frozen=True)
class _State:
    """The controller's registers, shared by the sections of :meth:`Controller.elaborate`."""

    dim: dict[str, Signal]  # the layer's M, N, K
    size: dict[str, Signal]  # the planner's tile sizes
    ld: dict[str, Signal]  # the tile pipeline: loading, computing, draining
    cp: dict[str, Signal]
    dr: dict[str, Signal]
    nxt: dict[str, Signal]  # origin of the next tile of the walk
    nxt_valid: Signal
    last: dict[str, Signal]  # the next tile is the last along each dimension
    c_done: Signal  # the step's compute, read (fill) and drain are done
    r_done: Signal
    d_done: Signal
    barrier: Signal
    req: _Walker  # DRAM read requests
    rsp: _Walker  # DRAM read responses
    drn: _Walker  # drain (DRAM writes)
    pipe: _Pipe | None = None  # tile_overlap only


@dataclass(frozen=True)
class _Pipe:
    """``tile_overlap``: the previous compute tile, whose last results are still leaving the array in the
    step after its own, and the wait for them."""

    pv: dict[str, Signal]  # the tile computed in the previous step
    pv_c_half: Signal  # the ofmap half it accumulates in
    started_id: Signal  # the GEMM id (core_south_id) of the last tile started: flips at every start
    pv_id: Signal  # the GEMM id of the previous tile
    trail: Signal  # the previous tile's last result is not yet in the ofmap SRAM
    done: Signal  # the compute tile's last result is in the ofmap SRAM (the array's done pulsed)


class Controller(wiring.Component):
    """Tile walker, step barrier, DRAM fill and drain engines.

    Parameters
    ----------
    cfg : ArrayConfig
        Array, dataflow, buffer sizes, DRAM width (``dram_bw_words_per_cycle`` words per beat) and
        tensor base addresses (``*_offset``).

    Ports
    -----
    start, dim_m, dim_n, dim_k, tile_m, tile_n, tile_k : In
        Start a layer of M x N x K with tiles of at most tile_m x tile_n x tile_k (ignored while busy).
    busy, done : Out(1)
        ``busy`` from the cycle after ``start`` to the layer's last cycle; ``done`` pulses after it.
    dram_rd_req_* : valid/ready stream of read requests (word address, length in words <= bw).
    dram_rd_data_* : valid/ready stream of read data, in request order (``ready`` is always 1).
    dram_wr_* : valid/ready stream of write beats (word address, length, data).
    core_start : Out(1), core_m, core_n, core_k : Out(16), core_done : In(1)
        Run the next compute tile on the array (pulses in the barrier cycle that makes it the compute tile).
    cp_m0, cp_n0, cp_k0, cp_mt, cp_nt, cp_kt : Out(16), cp_first_k : Out(1)
        The tile being computed (for address generation and the ofmap's overwrite-or-add).
    a_active, b_active, c_active : Out(1)
        The active half of the ifmap (A), filter (B) and ofmap (C) buffers.
    fill_a_*, fill_b_* : Out
        Shadow-half writes of the A and B buffers (``en`` per lane, ``addr``, ``data``).
    drain_rd_en, drain_rd_addr : Out; drain_rd_data : In
        Shadow-half reads of the ofmap buffer.
    """

    def __init__(self, cfg: ArrayConfig):
        self._cfg = check_config(cfg)
        self._geo = geo = geometry(cfg)
        #: conv_native: the layer's convolution registers (the accelerator's window generator reads them)
        self.cv = conv_registers() if cfg.convs_native else None
        ports = controller_ports(cfg)
        ports |= {
            "core_start": Out(1),
            "core_m": Out(DIM_BITS),
            "core_n": Out(DIM_BITS),
            "core_k": Out(DIM_BITS),
            "core_done": In(1),
            "cp_first_k": Out(1),
            "a_active": Out(1),
            "b_active": Out(1),
            "c_active": Out(1),
            "drain_rd_en": Out(1),
            "drain_rd_addr": Out(range(max(geo["C"].half_lines, 2))),
            "drain_rd_data": In(geo["C"].lanes * cfg.acc_bits),
        }
        for d in "mnk":
            ports[f"cp_{d}0"] = Out(DIM_BITS)
            ports[f"cp_{d}t"] = Out(DIM_BITS)
        for x in ("A", "B"):
            g = geo[x]
            bits, _ = operand_format(cfg, x)
            ports[f"fill_{x.lower()}_en"] = Out(g.lanes)
            ports[f"fill_{x.lower()}_addr"] = Out(range(max(g.half_lines, 2)))
            ports[f"fill_{x.lower()}_data"] = Out(g.lanes * bits)
        if cfg.tiles_overlap:
            ports |= {
                "core_ready": In(1),
                "core_south_id": In(1),
                "out_first_k": Out(1),
                "out_c_half": Out(1),
            }
            for d in "mnk":
                ports[f"out_{d}0"] = Out(DIM_BITS)
                ports[f"out_{d}t"] = Out(DIM_BITS)
        super().__init__(ports)

    def elaborate(self, platform) -> Module:
        m = Module()
        st = self._registers(m)
        self._fill(m, st)
        self._drain(m, st)
        self._compute(m, st)
        self._step(m, st)
        self._start(m, st)
        return m

    # Each method below adds one section of the state machine, in the order the statements are read; the
    # order of the calls in elaborate is also the order signals and statements are created, which keeps
    # the generated Verilog stable.

    def _registers(self, m: Module) -> _State:
        """The layer's registers, the tile pipeline, the walk, the step barrier and the three DRAM walkers."""
        geo, bw = self._geo, self._cfg.dram_bw_words_per_cycle
        dim = {d: Signal(DIM_BITS, name=f"dim_{d}_q") for d in "mnk"}
        size = {d: Signal(DIM_BITS, name=f"tile_{d}_q") for d in "mnk"}
        ld, cp, dr = _tile_record("ld"), _tile_record("cp"), _tile_record("dr")
        # The next tile of the walk (n outermost, then m, then k).
        nxt = {d: Signal(DIM_BITS + 1, name=f"next_{d}0") for d in "mnk"}
        nxt_valid = Signal(name="next_valid")
        last = {d: Signal(name=f"next_last_{d}") for d in "mnk"}
        for d in "mnk":
            m.d.comb += last[d].eq(nxt[d] + size[d] >= dim[d])

        c_done, r_done, d_done = Signal(name="c_done"), Signal(name="r_done"), Signal(name="d_done")
        barrier = Signal(name="barrier")
        c_done_now = self._compute_done(m, c_done)
        pipe = None
        if self._cfg.tiles_overlap:
            pipe = _Pipe(
                _tile_record("pv"),
                Signal(name="pv_c_half"),
                Signal(name="started_id"),
                Signal(name="pv_id"),
                Signal(name="trail"),
                Signal(name="cp_done"),
            )
            m.d.comb += barrier.eq(self.busy & c_done_now & r_done & d_done & ~pipe.trail)
        else:
            m.d.comb += barrier.eq(self.busy & c_done_now & r_done & d_done)

        def segments(rec: dict, tensors: tuple[str, ...]) -> list[dict]:
            out = []
            for x in tensors:
                g = geo[x]
                seg = {
                    "enable": rec[f"load_{x.lower()}"] if x != "C" else rec["valid"],
                    "lanes": g.lanes,
                    "ext_lane": rec[f"{g.lane_dim}t"],
                    "ext_other": rec[f"{g.other_dim}t"],
                    "base": g.offset,
                    "origin_lane": rec[f"{g.lane_dim}0"],
                    "origin_other": rec[f"{g.other_dim}0"],
                    "pitch": dim[g.lane_dim],
                }
                if x == "A" and self.cv is not None:
                    seg = self._band_segment(m, rec, seg)
                out.append(seg)
            return out

        # fill (read) walkers: requests and responses walk the same beats; the drain walker reads C
        req = _Walker(m, "rdreq", segments(ld, ("A", "B")), bw)
        rsp = _Walker(m, "rdrsp", segments(ld, ("A", "B")), bw)
        drn = _Walker(m, "drain", segments(dr, ("C",)), bw)
        return _State(
            dim=dim,
            size=size,
            ld=ld,
            cp=cp,
            dr=dr,
            nxt=nxt,
            nxt_valid=nxt_valid,
            last=last,
            c_done=c_done,
            r_done=r_done,
            d_done=d_done,
            barrier=barrier,
            req=req,
            rsp=rsp,
            drn=drn,
            pipe=pipe,
        )

    def _band_segment(self, m: Module, rec: dict, seg: dict) -> dict:
        """conv_native: A's fill walk reads the band of the tile ``rec`` when the layer's ``conv_en`` is
        high. WS: whole lines of P words of the NHWC tensor; OS and IS: runs of rows x W' words, one per
        channel and phase plane read (SRAM line ``lb runs + i`` for word ``lb P ..`` of run i), each plane
        row from its own SRAM start when the band's row pitch is not W' (``window.phase_registers``)."""
        g, cv, on = self._geo["A"], self.cv, self.cv["conv_en"]
        if g.lane_dim == "m":
            bd = pixel_band(m, cv, rec, g.lanes, "ldband")
            ph = bd["ph"]
            band_seg = {
                "ext_lane": Mux(ph["split"], ph["plane_w"], bd["run"]),
                "ext_other": bd["runs"],
                "origin_lane": bd["first"],
                "origin_other": bd["c0"],
                "pitch": bd["plane"],
            }
            seg = seg | {
                "sub": on & ph["split"],
                "sub_rows": bd["rows"],
                "sub_words": ph["plane_w"],
                "step_lines": ph["step_lines"],
                "step_lanes": ph["step_lanes"],
            }
        else:
            bd = band(m, cv, rec, g.lanes, "ldband")
            pt = band_pitch(m, cv, g.lanes, "ldpitch")
            band_seg = {
                "ext_lane": pt["row_words"],
                "ext_other": bd["rows"],
                "origin_lane": 0,
                "origin_other": bd["row0"],
                "pitch": pt["row_words"],
            }
            seg = seg | {"rows": on, "step_lines": pt["step_lines"], "step_lanes": pt["step_lanes"]}
        return seg | {key: Mux(on, value, seg[key]) for key, value in band_seg.items()}

    def _compute_done(self, m: Module, c_done: Signal) -> Signal:
        """The step's compute is done: noted (``c_done``) or seen this cycle, so that the barrier falls in
        the cycle the engine is ready (tile_overlap) or its done pulses (the last result's write), not in
        the cycle after."""
        c_done_now = Signal(name="c_done_now")
        engine_done = self.core_ready if self._cfg.tiles_overlap else self.core_done
        m.d.comb += c_done_now.eq(c_done | engine_done)
        return c_done_now

    def _fill(self, m: Module, st: _State) -> None:
        """DRAM read requests for the loaded tile's A and B, and their responses into the shadow halves."""
        cfg, geo = self._cfg, self._geo
        bw = cfg.dram_bw_words_per_cycle
        rd_bits = max(cfg.input_bits, cfg.weight_bits)
        req, rsp = st.req, st.rsp
        m.d.comb += [
            self.dram_rd_req_valid.eq(req.busy),
            self.dram_rd_req_addr.eq(req.addr),
            self.dram_rd_req_len.eq(Mux(req.busy, req.length, 0)),
            self.dram_rd_data_ready.eq(1),
        ]
        with m.If(req.busy & self.dram_rd_req_ready):
            req.advance(m)

        # Responses: write the beat's words into the shadow half of A or B.
        words = [self.dram_rd_data[i * rd_bits : (i + 1) * rd_bits] for i in range(bw)]
        take = self.dram_rd_data_valid & rsp.busy
        for i, x in enumerate(("A", "B")):
            g = geo[x]
            bits, _ = operand_format(cfg, x)
            beat = Cat(*(w[:bits] for w in words))
            beat_mask = Signal(bw, name=f"fill_{x.lower()}_beat_mask")
            m.d.comb += beat_mask.eq(Cat(*(rsp.length > lane for lane in range(bw))))
            en, addr, data = (getattr(self, f"fill_{x.lower()}_{f}") for f in ("en", "addr", "data"))
            wide_mask = Signal(g.lanes + bw, name=f"fill_{x.lower()}_wide_mask")
            wide_data = Signal((g.lanes + bw) * bits, name=f"fill_{x.lower()}_wide_data")
            m.d.comb += [
                wide_mask.eq(beat_mask << rsp.lane0),
                wide_data.eq(beat << (rsp.lane0 * bits)),
                en.eq(Mux(take & (rsp.seg == i), wide_mask[: g.lanes], 0)),
                addr.eq(rsp.line),
                data.eq(wide_data[: g.lanes * bits]),
            ]
        with m.If(take):
            rsp.advance(m)
            with m.If(rsp.last):
                m.d.sync += st.r_done.eq(1)

    def _drain(self, m: Module, st: _State) -> None:
        """Read a line of the shadow ofmap half, send a beat of it to DRAM the next cycle."""
        bw, acc = self._cfg.dram_bw_words_per_cycle, self._cfg.acc_bits
        drn = st.drn
        st_valid = Signal(name="wr_valid_q")
        st_addr = Signal(ADDR_BITS, name="wr_addr_q")
        st_len = Signal(range(bw + 1), name="wr_len_q")
        st_lane0 = Signal.like(drn.lane0, name="wr_lane0_q")
        st_last = Signal(name="wr_last_q")
        stall = Signal(name="wr_stall")
        lanes_c = self._geo["C"].lanes
        shifted = Signal(lanes_c * acc, name="wr_shifted")
        # tile_overlap: the drained tile's last results may still be arriving early in the step
        go = drn.busy if st.pipe is None else drn.busy & ~st.pipe.trail
        m.d.comb += [
            stall.eq(st_valid & ~self.dram_wr_ready),
            self.drain_rd_en.eq(~stall & go),
            self.drain_rd_addr.eq(drn.line),
            shifted.eq(self.drain_rd_data >> (st_lane0 * acc)),
            self.dram_wr_valid.eq(st_valid),
            self.dram_wr_addr.eq(st_addr),
            self.dram_wr_len.eq(Mux(st_valid, st_len, 0)),
        ]
        if bw <= lanes_c:
            m.d.comb += self.dram_wr_data.eq(shifted[: bw * acc])
        else:
            m.d.comb += self.dram_wr_data.eq(shifted)
        with m.If(~stall):
            m.d.sync += [
                st_valid.eq(go),
                st_addr.eq(drn.addr),
                st_len.eq(drn.length),
                st_lane0.eq(drn.lane0),
                st_last.eq(drn.last),
            ]
            with m.If(go):
                drn.advance(m)
        with m.If(st_valid & self.dram_wr_ready & st_last):
            m.d.sync += st.d_done.eq(1)

    def _compute(self, m: Module, st: _State) -> None:
        """Start the array on the next compute tile at the barrier (the engine takes it in that cycle and
        requests its first operands from the halves swapped there); note when it is done."""
        cp, ld = st.cp, st.ld
        m.d.comb += [
            self.core_start.eq(st.barrier & ld["valid"]),  # ld becomes the compute tile at this barrier
            self.core_m.eq(ld["mt"]),
            self.core_n.eq(ld["nt"]),
            # no next tile: the largest K, so that an OS engine is ready as soon as its walker is idle
            self.core_k.eq(Mux(ld["valid"], ld["kt"], (1 << DIM_BITS) - 1)),
            self.cp_first_k.eq(cp["first_k"]),
        ]
        for d in "mnk":
            m.d.comb += [getattr(self, f"cp_{d}0").eq(cp[f"{d}0"]), getattr(self, f"cp_{d}t").eq(cp[f"{d}t"])]
        if st.pipe is None:
            with m.If(self.core_done):
                m.d.sync += st.c_done.eq(1)
            return
        # tile_overlap: the step's compute is done when the array has taken the tile's last operands;
        # outputs go by the tile they belong to (this one or the previous)
        pipe = st.pipe
        with m.If(self.core_ready):  # the engine took the tile at the barrier: ready again = done
            m.d.sync += st.c_done.eq(1)
        with m.If(self.core_start):
            m.d.sync += pipe.started_id.eq(~pipe.started_id)
        mine = self.core_south_id != pipe.pv_id
        m.d.comb += [
            self.out_first_k.eq(Mux(mine, cp["first_k"], pipe.pv["first_k"])),
            self.out_c_half.eq(Mux(mine, self.c_active, pipe.pv_c_half)),
        ]
        for key in (f"{d}{f}" for d in "mnk" for f in "0t"):
            m.d.comb += getattr(self, f"out_{key}").eq(Mux(mine, cp[key], pipe.pv[key]))
        with m.If(self.core_done):  # results leave in order: the previous tile's first
            with m.If(pipe.trail):
                m.d.sync += pipe.trail.eq(0)
            with m.Else():
                m.d.sync += pipe.done.eq(1)

    def _step(self, m: Module, st: _State) -> None:
        """At the barrier: shift the tile pipeline, swap halves, advance the walk, restart the engines."""
        ld, cp, dr, nxt, last = st.ld, st.cp, st.dr, st.nxt, st.last
        m.d.sync += self.done.eq(0)
        same_k = ld["k0"] == nxt["k"]
        if self.cv is not None:  # conv_native: a band holds every filter row, its k-tiles share it
            same_k = same_k | self.cv["conv_en"]
        new_ld = {
            "valid": st.nxt_valid,
            "first_k": nxt["k"] == 0,
            "last_k": last["k"],
            # An operand tile is loaded unless it is the one the previous tile used.
            "load_a": st.nxt_valid & ~(ld["valid"] & (ld["m0"] == nxt["m"]) & same_k),
            "load_b": st.nxt_valid & ~(ld["valid"] & (ld["n0"] == nxt["n"]) & (ld["k0"] == nxt["k"])),
        }
        for d in "mnk":
            new_ld[f"{d}0"] = nxt[d]
            new_ld[f"{d}t"] = Mux(last[d], st.dim[d] - nxt[d], st.size[d])
        new_dr_valid = cp["valid"] & cp["last_k"]
        with m.If(st.barrier):
            if st.pipe is not None:
                pipe = st.pipe
                m.d.sync += [pipe.pv[key].eq(cp[key]) for key in cp]
                m.d.sync += [
                    pipe.pv_c_half.eq(self.c_active),
                    pipe.pv_id.eq(pipe.started_id),
                    pipe.trail.eq(cp["valid"] & ~pipe.done & ~self.core_done),
                    pipe.done.eq(0),
                ]
            m.d.sync += [ld[key].eq(value) for key, value in new_ld.items()]
            m.d.sync += [cp[key].eq(ld[key]) for key in cp]
            m.d.sync += [dr[key].eq(cp[key]) for key in dr if key != "valid"]
            m.d.sync += dr["valid"].eq(new_dr_valid)
            with m.If(ld["valid"] & ld["load_a"]):
                m.d.sync += self.a_active.eq(~self.a_active)
            with m.If(ld["valid"] & ld["load_b"]):
                m.d.sync += self.b_active.eq(~self.b_active)
            with m.If(new_dr_valid):
                m.d.sync += self.c_active.eq(~self.c_active)
            self._advance_walk(m, st)
            with m.If(st.nxt_valid | ld["valid"] | new_dr_valid):
                loading = new_ld["load_a"] | new_ld["load_b"]
                m.d.sync += [
                    st.c_done.eq(~ld["valid"]),
                    st.r_done.eq(~loading),
                    st.d_done.eq(~new_dr_valid),
                    *st.req.init([new_ld["load_a"], new_ld["load_b"]]),
                    *st.rsp.init([new_ld["load_a"], new_ld["load_b"]]),
                    *st.drn.init([new_dr_valid]),
                ]
            with m.Else():
                m.d.sync += [self.busy.eq(0), self.done.eq(1)]

    def _advance_walk(self, m: Module, st: _State) -> None:
        """The next tile: k innermost, then m, then n."""
        nxt, last, size = st.nxt, st.last, st.size
        with m.If(st.nxt_valid):
            with m.If(last["k"]):
                m.d.sync += nxt["k"].eq(0)
                with m.If(last["m"]):
                    m.d.sync += nxt["m"].eq(0)
                    with m.If(last["n"]):
                        m.d.sync += st.nxt_valid.eq(0)
                    with m.Else():
                        m.d.sync += nxt["n"].eq(nxt["n"] + size["n"])
                with m.Else():
                    m.d.sync += nxt["m"].eq(nxt["m"] + size["m"])
            with m.Else():
                m.d.sync += nxt["k"].eq(nxt["k"] + size["k"])

    def _start(self, m: Module, st: _State) -> None:
        """An empty pipeline whose first barrier (in the first busy cycle) loads tile 0."""
        with m.If(self.start & ~self.busy):
            m.d.sync += [
                self.busy.eq(1),
                st.nxt_valid.eq(1),
                st.ld["valid"].eq(0),
                st.cp["valid"].eq(0),
                st.dr["valid"].eq(0),
                st.c_done.eq(1),
                st.r_done.eq(1),
                st.d_done.eq(1),
                st.req.busy.eq(0),
                st.rsp.busy.eq(0),
                st.drn.busy.eq(0),
            ]
            if self.cv is not None:
                m.d.sync += [reg.eq(getattr(self, name)) for name, reg in self.cv.items()]
            for d in "mnk":
                m.d.sync += [
                    st.dim[d].eq(getattr(self, f"dim_{d}")),
                    st.size[d].eq(getattr(self, f"tile_{d}")),
                    st.nxt[d].eq(0),
                ]
