"""``Accelerator``: the GEMM engine with its double-buffered SRAMs, controller and DRAM port."""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, Value
from amaranth.lib import wiring

from systolic.config import ArrayConfig
from systolic.dataflow import OPERAND_PORTS, PORT_MAP
from systolic.geometry import BUFFER, geometry, operand_format

from .buffer import DoubleBuffer
from .controller import Controller, controller_ports, div_const
from .dataflow import check_config
from .engine import GemmEngine
from .sequencer import MAX_DIM
from .window import band, band_pitch, pixel_band, pixel_window, window

#: Submodule name of each tensor's buffer (SCALE-Sim's names: ifmap = A, filter = B, ofmap = C).
BUFFER_NAMES = {x: f"{name}_sram" for x, name in BUFFER.items()}


class Accelerator(wiring.Component):
    """A systolic-array accelerator for one :class:`~systolic.config.ArrayConfig`: runs whole layers
    C[M,N] = A[M,K] @ B[K,N] out of DRAM.

    Submodules: ``core`` (:class:`~systolic.hdl.engine.GemmEngine`, the array and its sequencer),
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
        self.core = GemmEngine(cfg)
        self.ctrl = Controller(cfg)
        self._geo = geometry(cfg)
        self.buffers = {}
        for x, g in self._geo.items():
            bits = operand_format(cfg, x)[0]
            transparent = x == "C" and cfg.fold_overlap  # folds may accumulate into a line back to back
            split = x == "C" and cfg.tiles_overlap  # a tile's last results follow the next tile's start
            rotate = x == "A" and cfg.convs_native  # the window reads P words from any word address
            self.buffers[x] = DoubleBuffer(
                g.lanes,
                bits,
                max(g.half_lines, 1),
                transparent=transparent,
                split=split,
                rotate=rotate,
                lane_addr=rotate,  # a line per lane: WS k-lines across filter rows, OS/IS pixels across rows
            )

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.core = self.core
        m.submodules.ctrl = self.ctrl
        for x, buf in self.buffers.items():
            m.submodules[BUFFER_NAMES[x]] = buf
        self._connect_controller(m)
        self._operand_reads(m)
        self._ofmap_accumulate(m)
        return m

    def _connect_controller(self, m: Module) -> None:
        """External ports, the array's start and dimensions, the active halves, fills and drain."""
        core, ctrl = self.core, self.ctrl
        a_buf, b_buf, c_buf = (self.buffers[x] for x in "ABC")
        for name, member in controller_ports(self._cfg).items():
            ours, theirs = getattr(self, name), getattr(ctrl, name)
            m.d.comb += theirs.eq(ours) if member.flow == wiring.In else ours.eq(theirs)

        m.d.comb += [
            core.start.eq(ctrl.core_start),
            core.dim_m.eq(ctrl.core_m),
            core.dim_n.eq(ctrl.core_n),
            core.dim_k.eq(ctrl.core_k),
            ctrl.core_done.eq(core.done),
        ]
        if self._cfg.tiles_overlap:
            m.d.comb += [ctrl.core_ready.eq(core.ready), ctrl.core_south_id.eq(core.south_id)]
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

    def _line_of(self, tensor: str, port: str, row: Value, col: Value, record: str = "cp") -> Value:
        """The SRAM line holding lane 0 of a vector at tile coordinates (row, col) of the controller's
        tile ``record`` (``cp``: the compute tile; ``out``: the tile of the output on the south port)."""
        g = self._geo[tensor]
        lane_axis = PORT_MAP[self._cfg.dataflow][port].lane_axis
        lane, other = (row, col) if lane_axis == 0 else (col, row)
        return div_const(lane, g.lanes, MAX_DIM) * getattr(self.ctrl, f"{record}_{g.other_dim}t") + other

    def _operand_reads(self, m: Module) -> None:
        """The array's operand ports read the active halves of A and B (synchronous: data the next cycle)."""
        core = self.core
        for port in OPERAND_PORTS:
            x = PORT_MAP[self._cfg.dataflow][port].tensor
            buf = self.buffers[x]
            row, col = getattr(core, f"{port}_row"), getattr(core, f"{port}_col")
            req = getattr(core, f"{port}_req")
            line, data = self._line_of(x, port, row, col), buf.a_rd_data
            if x == "A" and self._cfg.convs_native:
                line, data = self._window(m, req, row, col, line, data)
            m.d.comb += [
                buf.a_rd_en.eq(req),
                buf.a_rd_addr.eq(line),
                getattr(core, f"{port}_data").eq(data),
            ]

    def _window(self, m: Module, req: Value, row: Value, col: Value, line: Value, data: Value):
        """conv_native: the window generator (WS: lanes along K, a request is im2col row ``row`` at taps
        from ``col``; OS and IS: lanes along M, rows from ``row`` at tap ``col``). A request
        reads P words of the band on P distinct memory lanes (a line per lane, rotated) and zeros the
        lanes in the padding; with ``conv_en`` low the im2col line as before."""
        cv, ctrl = self.ctrl.cv, self.ctrl
        g = self._geo["A"]
        buf = self.buffers["A"]
        cp = {key: getattr(ctrl, f"cp_{key}") for key in ("m0", "mt")}
        on = cv["conv_en"]
        # held at 0 while the layer is a GEMM, so the generator's logic does not toggle
        args = (req & on, Mux(on, row, 0), Mux(on, col, 0), g.lanes, max(g.half_lines, 1))
        if g.lane_dim == "m":  # OS: lanes along the output pixels, a run per channel
            tile = pixel_band(m, cv, cp, g.lanes, "cpband")
            tile |= {"m0": ctrl.cp_m0, "mt": ctrl.cp_mt, "k0": ctrl.cp_k0}
            win = pixel_window(m, cv, tile, *args)
        else:
            tile = band(m, cv, cp, g.lanes, "cpband") | {"m0": ctrl.cp_m0, "k0": ctrl.cp_k0}
            tile |= band_pitch(m, cv, g.lanes, "cppitch")
            win = window(m, cv, tile, *args)
        valid_q = Signal(
            g.lanes, name="win_valid_q", init=(1 << g.lanes) - 1
        )  # the data of a read arrives the next cycle
        with m.If(req):
            m.d.sync += valid_q.eq(Mux(on, win["valid"], (1 << g.lanes) - 1))
        m.d.comb += buf.a_rd_rot.eq(Mux(on, win["rot"], 0))
        # a line per memory lane (the im2col line for every lane when the layer is a GEMM)
        abits = len(buf.a_rd_lines) // g.lanes
        m.d.comb += buf.a_rd_lines.eq(Cat(*(Mux(on, q, line)[:abits] for q in win["lines"])))
        bits = operand_format(self._cfg, "A")[0]
        masked = Cat(*(Mux(valid_q[i], data[i * bits : (i + 1) * bits], 0) for i in range(g.lanes)))
        return line, masked

    def _ofmap_accumulate(self, m: Module) -> None:
        """Array results into the active ofmap half: overwrite on the first pass over an output, else
        read-modify-write (read in the cycle the result leaves the array, write the next cycle)."""
        core, ctrl, c_buf = self.core, self.ctrl, self.buffers["C"]
        acc = self._cfg.acc_bits
        lanes_c = self._geo["C"].lanes
        first = Signal(name="ofmap_first")
        w_valid = Signal(name="ofmap_w_valid")
        w_first = Signal(name="ofmap_w_first")
        w_line = Signal.like(c_buf.a_wr_addr, name="ofmap_w_line")
        w_mask = Signal(lanes_c, name="ofmap_w_mask")
        w_data = Signal(lanes_c * acc, name="ofmap_w_data")
        record = "out" if self._cfg.tiles_overlap else "cp"
        line = self._line_of("C", "south", core.south_row, core.south_col, record)
        m.d.comb += [
            first.eq(core.south_first & getattr(ctrl, f"{record}_first_k")),
            c_buf.a_rd_en.eq(core.south_valid & ~first),
            c_buf.a_rd_addr.eq(line),
        ]
        if self._cfg.tiles_overlap:  # the half of the tile the output belongs to, for the read and the write
            w_half = Signal(name="ofmap_w_half")
            m.d.sync += w_half.eq(ctrl.out_c_half)
            m.d.comb += [c_buf.a_rd_half.eq(ctrl.out_c_half), c_buf.a_wr_half.eq(w_half)]
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
