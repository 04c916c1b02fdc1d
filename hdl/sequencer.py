"""The fold sequencer: walks a GEMM of any size (1..65535 per dimension) as back-to-back folds.

One walker, one counter per phase, for all three dataflows. Per fold (``sr_base``, ``sc_base``; ``ru``
spatial rows and ``cu`` spatial columns used), in walker cycles:

* operand stationary (WS, IS): LOAD for ``ru`` cycles (request the stationary tile's rows, last row
  first), then RUN for ``T + R + C - 1`` cycles: request the west vector of time step ``u`` while
  ``u < T``; announce the output of time step ``u - (R + C - 1)`` while ``u >= R + C - 1``.
* output stationary (OS): RUN for ``T + 2R + C - 2`` cycles: request both operand vectors of step ``u``
  while ``u < T``; drain row ``run_end - u`` during the last ``R`` cycles.

Requests are decoded from the walker state and registered onto the ports (visible one cycle after the
walker state that made them); their data arrives from memory one cycle later. Output announcements go
through two registers, so they appear on the ``south_*`` ports exactly when the array's results do.
Folds iterate the spatial rows innermost (K for WS/IS, M for OS), the spatial columns outermost.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from systolic.config import ArrayConfig
from systolic.dataflow import MAPPINGS, OPERAND_PORTS, STATIONARY, port_lanes

from .dataflow import check_config, coordinate_source, lane_role

#: Width of the dimension inputs and of the coordinate outputs.
DIM_BITS = 16
MAX_DIM = (1 << DIM_BITS) - 1


def sequencer_ports(cfg: ArrayConfig) -> dict:
    """The memory-facing ports shared by the sequencer and the top level (see :class:`Sequencer`)."""
    ports: dict = {
        "start": In(1),
        "dim_m": In(DIM_BITS),
        "dim_n": In(DIM_BITS),
        "dim_k": In(DIM_BITS),
        "busy": Out(1),
        "done": Out(1),
    }
    for port in OPERAND_PORTS:
        ports[f"{port}_req"] = Out(1)
        ports[f"{port}_row"] = Out(DIM_BITS)
        ports[f"{port}_col"] = Out(DIM_BITS)
        ports[f"{port}_lanes"] = Out(range(port_lanes(cfg.rows, cfg.cols, port) + 1))
    ports["south_valid"] = Out(1)
    ports["south_row"] = Out(DIM_BITS)
    ports["south_col"] = Out(DIM_BITS)
    ports["south_lanes"] = Out(range(cfg.cols + 1))
    ports["south_first"] = Out(1)
    return ports


class Sequencer(wiring.Component):
    """Fold sequencer and memory request generator.

    Parameters
    ----------
    cfg : ArrayConfig
        Array size and dataflow.

    Ports
    -----
    start : In(1)
        Start a GEMM with the current ``dim_*`` (ignored while ``busy``).
    dim_m, dim_n, dim_k : In(16)
        GEMM dimensions, 1..65535 (a zero dimension finishes at once with no requests).
    busy : Out(1)
        From the cycle after ``start`` until the last output cycle.
    done : Out(1)
        One-cycle pulse in the cycle after the last output.
    west_req, north_req : Out(1)
        A request for one operand vector this cycle; its data is expected on the data port next cycle.
    west_row, west_col, north_row, north_col : Out(16)
        Tensor coordinates of lane 0 of the requested vector (held while no request).
    west_lanes, north_lanes : Out
        Valid lanes of the request; 0 while there is none.
    south_valid, south_row, south_col, south_lanes, south_first : Out
        Describe the output vector on the array's south edge this cycle (``south_first``: first K-fold
        of these outputs, always 1 for OS).
    west_mask : Out(rows), north_mask : Out(cols)
        Per-lane valid bits of the operand data arriving this cycle (thermometer code of the lanes
        requested in the previous cycle); the top level zeroes the other lanes.
    load : Out(1)
        Operand stationary only: weight data arrives this cycle, shift it in.
    drain : Out(1)
        Output stationary only: shift the accumulators down one row at the end of this cycle.
    """

    def __init__(self, cfg: ArrayConfig):
        self._cfg = check_config(cfg)
        self._output_stationary = STATIONARY[cfg.dataflow] == "output"
        ports = sequencer_ports(cfg)
        ports["west_mask"] = Out(cfg.rows)
        ports["north_mask"] = Out(cfg.cols)
        ports["drain" if self._output_stationary else "load"] = Out(1)
        super().__init__(ports)

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self._cfg
        df = cfg.dataflow
        rows, cols = cfg.rows, cfg.cols
        os_flow = self._output_stationary
        # Cycles a fold's RUN phase lasts beyond T (see the module docstring).
        extra = 2 * rows + cols - 2 if os_flow else rows + cols - 1
        out_lag = rows + cols - 1  # WS/IS: RUN cycle of the first output announcement
        row_index = range(max(rows, 2))  # a row number; at least 1 bit (Verilog has no 0-bit vectors)

        # ---- GEMM registers, latched at start
        dim = {"sr": Signal(DIM_BITS, name="sr_dim"), "sc": Signal(DIM_BITS, name="sc_dim")}
        t_dim = Signal(DIM_BITS, name="t_dim")
        run_end = Signal(range(MAX_DIM + extra), name="run_end")  # last RUN cycle: T + extra - 1

        # ---- walker state
        active = Signal(name="active")
        loading = Signal(name="loading")  # WS/IS: in the LOAD phase
        idx = Signal(row_index, name="load_idx")
        u = Signal(range(MAX_DIM + extra), name="run_u")
        sr_base = Signal(DIM_BITS, name="sr_base")
        sc_base = Signal(DIM_BITS, name="sc_base")
        empty = Signal(name="empty")  # a GEMM with a zero dimension: just pulse done

        sr_left = Signal(DIM_BITS + 1, name="sr_left")
        sc_left = Signal(DIM_BITS + 1, name="sc_left")
        ru = Signal(range(rows + 1), name="ru")
        cu = Signal(range(cols + 1), name="cu")
        last_sr = Signal(name="last_sr")
        last_sc = Signal(name="last_sc")
        run_last = Signal(name="run_last")
        m.d.comb += [
            sr_left.eq(dim["sr"] - sr_base),
            sc_left.eq(dim["sc"] - sc_base),
            last_sr.eq(sr_left <= rows),
            last_sc.eq(sc_left <= cols),
            ru.eq(Mux(last_sr, sr_left, rows)),
            cu.eq(Mux(last_sc, sc_left, cols)),
            run_last.eq(u == run_end),
        ]
        extent = {"sr": ru, "sc": cu}

        def coords(port: str, t: Value, sr_index: Value) -> tuple[Value, Value]:
            sources = {"sr_base": sr_base, "sc_base": sc_base, "t": t, "sr_index": sr_base + sr_index}
            return tuple(sources[coordinate_source(df, port, axis)] for axis in (0, 1))

        # ---- request decode (values for the ports next cycle)
        running = active & ~loading
        req = {}
        if os_flow:
            req["west"] = req["north"] = running & (u < t_dim)
            req_coords = {p: coords(p, u, 0) for p in OPERAND_PORTS}
            drain_next = Signal(name="drain_next")
            drain_row = Signal(row_index, name="drain_row")
            m.d.comb += [drain_next.eq(running & (u + (rows - 1) >= run_end)), drain_row.eq(run_end - u)]
            out_next = drain_next & (drain_row < ru)
            out_t, out_index = u, drain_row  # out_t unused: no OS output coordinate runs in time
        else:
            req["north"] = active & loading
            req["west"] = running & (u < t_dim)
            load_row = Signal(row_index, name="load_row")  # last row of the tile first
            m.d.comb += load_row.eq(ru - 1 - idx)
            req_coords = {"west": coords("west", u, 0), "north": coords("north", u, load_row)}
            out_next = running & (u >= out_lag)
            out_t, out_index = u - out_lag, 0
        out_coords = coords("south", out_t, out_index)
        out_last = running & run_last & last_sr & last_sc

        for port in OPERAND_PORTS:
            row, col = req_coords[port]
            lanes = extent[lane_role(df, port)]
            r_req, r_row, r_col = (getattr(self, f"{port}_{f}") for f in ("req", "row", "col"))
            r_lanes = getattr(self, f"{port}_lanes")
            m.d.sync += [r_req.eq(req[port]), r_lanes.eq(Mux(req[port], lanes, 0))]
            with m.If(req[port]):
                m.d.sync += [r_row.eq(row), r_col.eq(col)]
            mask = getattr(self, f"{port}_mask")
            m.d.sync += mask.eq(Cat(*(r_lanes > i for i in range(len(mask)))))
        if not os_flow:
            m.d.sync += self.load.eq(self.north_req)

        # ---- output announcements: two register stages, so they line up with the array's results
        s1 = {
            "valid": Signal(name="s1_valid"),
            "row": Signal(DIM_BITS, name="s1_row"),
            "col": Signal(DIM_BITS, name="s1_col"),
            "lanes": Signal(range(cols + 1), name="s1_lanes"),
            "first": Signal(name="s1_first"),
            "last": Signal(name="s1_last"),
        }
        s2_last = Signal(name="s2_last")
        m.d.sync += [
            s1["valid"].eq(out_next),
            s1["lanes"].eq(Mux(out_next, extent[lane_role(df, "south")], 0)),
            s1["first"].eq(out_next & (sr_base == 0) if not os_flow else out_next),
            s1["last"].eq(out_last | empty),
            self.south_valid.eq(s1["valid"]),
            self.south_lanes.eq(s1["lanes"]),
            self.south_first.eq(s1["first"]),
            s2_last.eq(s1["last"]),
            self.done.eq(s2_last),
        ]
        with m.If(out_next):
            m.d.sync += [s1["row"].eq(out_coords[0]), s1["col"].eq(out_coords[1])]
        with m.If(s1["valid"]):
            m.d.sync += [self.south_row.eq(s1["row"]), self.south_col.eq(s1["col"])]
        if os_flow:
            drain_s1 = Signal(name="drain_s1")
            m.d.sync += [drain_s1.eq(drain_next), self.drain.eq(drain_s1)]

        # ---- walker
        with m.If(active):
            with m.If(loading):
                with m.If(idx == ru - 1):
                    m.d.sync += loading.eq(0)
                with m.Else():
                    m.d.sync += idx.eq(idx + 1)
            with m.Elif(run_last):
                m.d.sync += [u.eq(0), idx.eq(0), loading.eq(not os_flow)]
                with m.If(last_sr):
                    m.d.sync += sr_base.eq(0)
                    with m.If(last_sc):
                        m.d.sync += active.eq(0)
                    with m.Else():
                        m.d.sync += sc_base.eq(sc_base + cols)
                with m.Else():
                    m.d.sync += sr_base.eq(sr_base + rows)
            with m.Else():
                m.d.sync += u.eq(u + 1)

        # ---- start and finish
        m.d.sync += empty.eq(0)
        with m.If(s2_last):
            m.d.sync += self.busy.eq(0)
        with m.If(self.start & ~self.busy):
            dims = {"m": self.dim_m, "n": self.dim_n, "k": self.dim_k}
            zero = (self.dim_m == 0) | (self.dim_n == 0) | (self.dim_k == 0)
            t_in = dims[MAPPINGS[df].temporal]
            m.d.sync += [
                self.busy.eq(1),
                dim["sr"].eq(dims[MAPPINGS[df].spatial_rows]),
                dim["sc"].eq(dims[MAPPINGS[df].spatial_cols]),
                t_dim.eq(t_in),
                run_end.eq(t_in + (extra - 1)),
                active.eq(~zero),
                empty.eq(zero),
                loading.eq(not os_flow),
                idx.eq(0),
                u.eq(0),
                sr_base.eq(0),
                sc_base.eq(0),
            ]
        return m
