"""``Accelerator``: the GEMM engine with its double-buffered SRAMs, controller and DRAM port."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring

from systolic.config import ArrayConfig
from systolic.dataflow import OPERAND_PORTS, PORT_MAP
from systolic.geometry import BUFFER, geometry, operand_format

from .buffer import DoubleBuffer
from .controller import Controller, controller_ports, div_const
from .dataflow import check_config
from .sequencer import MAX_DIM
from .top import SystolicTop

#: Submodule name of each tensor's buffer (SCALE-Sim's names: ifmap = A, filter = B, ofmap = C).
BUFFER_NAMES = {x: f"{name}_sram" for x, name in BUFFER.items()}


class Accelerator(wiring.Component):
    """A systolic-array accelerator for one :class:`~systolic.config.ArrayConfig`: runs whole layers
    C[M,N] = A[M,K] @ B[K,N] out of DRAM.

    Submodules: ``core`` (:class:`~systolic.hdl.top.SystolicTop`, the array and its sequencer),
    ``ifmap_sram``, ``filter_sram``, ``ofmap_sram`` (:class:`~systolic.hdl.buffer.DoubleBuffer`) and
    ``ctrl`` (:class:`~systolic.hdl.controller.Controller`). The timing is defined in
    :mod:`systolic.model.memory`; tensors live in DRAM contiguous along their array-port lane axis.

    Parameters
    ----------
    cfg : ArrayConfig
        Everything: array, dataflow, formats, buffer sizes, DRAM width and tensor base addresses.

    Ports
    -----
    start, dim_m, dim_n, dim_k, tile_m, tile_n, tile_k : In
        Start a layer (M, N, K in 1..65535) with the planner's tile sizes; ignored while ``busy``.
    busy : Out(1)
        High for the layer's cycles, from the cycle after ``start``.
    done : Out(1)
        Pulses in the cycle after the layer's last.
    dram_rd_req_valid, dram_rd_req_ready, dram_rd_req_addr, dram_rd_req_len
        Read requests: ``len`` (1..bw) words from word address ``addr``.
    dram_rd_data_valid, dram_rd_data_ready, dram_rd_data
        Read data in request order, word i at bits [i*w, (i+1)*w), w = the wider operand format.
    dram_wr_valid, dram_wr_ready, dram_wr_addr, dram_wr_len, dram_wr_data
        Write beats of ``len`` accumulator-wide words to word address ``addr``.
    """

    def __init__(self, cfg: ArrayConfig):
        self._cfg = check_config(cfg)
        super().__init__(controller_ports(cfg))
        self.core = SystolicTop(cfg)
        self.ctrl = Controller(cfg)
        geo = geometry(cfg)
        self.buffers = {}
        for x, g in geo.items():
            bits = operand_format(cfg, x)[0]
            self.buffers[x] = DoubleBuffer(g.lanes, bits, max(g.half_lines, 1))

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self._cfg
        geo = geometry(cfg)
        core, ctrl = self.core, self.ctrl
        m.submodules.core = core
        m.submodules.ctrl = ctrl
        for x, buf in self.buffers.items():
            m.submodules[BUFFER_NAMES[x]] = buf
        a_buf, b_buf, c_buf = (self.buffers[x] for x in "ABC")

        # external ports <-> controller
        for name, member in controller_ports(cfg).items():
            ours, theirs = getattr(self, name), getattr(ctrl, name)
            m.d.comb += theirs.eq(ours) if member.flow == wiring.In else ours.eq(theirs)

        # controller <-> array
        m.d.comb += [
            core.start.eq(ctrl.core_start),
            core.dim_m.eq(ctrl.core_m),
            core.dim_n.eq(ctrl.core_n),
            core.dim_k.eq(ctrl.core_k),
            ctrl.core_done.eq(core.done),
        ]
        m.d.comb += [
            a_buf.active.eq(ctrl.a_active),
            b_buf.active.eq(ctrl.b_active),
            c_buf.active.eq(ctrl.c_active),
        ]
        # controller -> shadow halves (fills of A and B, drain of C)
        for x, buf in (("A", a_buf), ("B", b_buf)):
            low = x.lower()
            m.d.comb += [
                buf.s_wr_en.eq(getattr(ctrl, f"fill_{low}_en")),
                buf.s_wr_addr.eq(getattr(ctrl, f"fill_{low}_addr")),
                buf.s_wr_data.eq(getattr(ctrl, f"fill_{low}_data")),
            ]
        m.d.comb += [
            c_buf.s_rd_en.eq(ctrl.drain_rd_en),
            c_buf.s_rd_addr.eq(ctrl.drain_rd_addr),
            ctrl.drain_rd_data.eq(c_buf.s_rd_data),
        ]
        extent = {d: getattr(ctrl, f"cp_{d}t") for d in "mnk"}

        def line_of(tensor: str, port: str, row, col):
            """The SRAM line of the compute tile holding lane 0 of a vector at tile coordinates (row, col)."""
            g = geo[tensor]
            lane_axis = PORT_MAP[cfg.dataflow][port].lane_axis
            lane, other = (row, col) if lane_axis == 0 else (col, row)
            return div_const(lane, g.lanes, MAX_DIM) * extent[g.other_dim] + other

        # array operand ports <- active halves of A and B (synchronous read: data the next cycle)
        for port in OPERAND_PORTS:
            x = PORT_MAP[cfg.dataflow][port].tensor
            buf = self.buffers[x]
            row, col = getattr(core, f"{port}_row"), getattr(core, f"{port}_col")
            m.d.comb += [
                buf.a_rd_en.eq(getattr(core, f"{port}_req")),
                buf.a_rd_addr.eq(line_of(x, port, row, col)),
                getattr(core, f"{port}_data").eq(buf.a_rd_data),
            ]

        # array results -> active ofmap half: overwrite on the first pass over an output, else
        # read-modify-write (read in the cycle the result leaves the array, write the next cycle)
        acc = cfg.acc_bits
        lanes_c = geo["C"].lanes
        first = Signal(name="ofmap_first")
        w_valid = Signal(name="ofmap_w_valid")
        w_first = Signal(name="ofmap_w_first")
        w_line = Signal.like(c_buf.a_wr_addr, name="ofmap_w_line")
        w_mask = Signal(lanes_c, name="ofmap_w_mask")
        w_data = Signal(lanes_c * acc, name="ofmap_w_data")
        line = line_of("C", "south", core.south_row, core.south_col)
        m.d.comb += [
            first.eq(core.south_first & ctrl.cp_first_k),
            c_buf.a_rd_en.eq(core.south_valid & ~first),
            c_buf.a_rd_addr.eq(line),
        ]
        m.d.sync += [
            w_valid.eq(core.south_valid),
            w_first.eq(first),
            w_line.eq(line),
            w_mask.eq(Cat(*(core.south_lanes > i for i in range(lanes_c)))),
            w_data.eq(core.south_data),
        ]
        old = c_buf.a_rd_data
        summed = Cat(
            *((old[i * acc : (i + 1) * acc] + w_data[i * acc : (i + 1) * acc])[:acc] for i in range(lanes_c))
        )  # lane-wise, wrapping modulo 2**acc_bits
        m.d.comb += [
            c_buf.a_wr_en.eq(Mux(w_valid, w_mask, 0)),
            c_buf.a_wr_addr.eq(w_line),
            c_buf.a_wr_data.eq(Mux(w_first, w_data, summed)),
        ]
        return m
