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

from dataclasses import dataclass

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


@dataclass(frozen=True)
class _Fold:
    """The sequencer's registers and the current fold's extents, shared by the sections of
    :meth:`Sequencer.elaborate`."""

    dim: dict[str, Signal]  # the spatial dimensions: 'sr' (rows), 'sc' (columns)
    t_dim: Signal  # the temporal dimension
    run_end: Signal  # last RUN cycle of a fold
    active: Signal
    loading: Signal  # WS/IS: in the LOAD phase
    idx: Signal  # the row being loaded
    u: Signal  # RUN cycle
    sr_base: Signal  # the fold's base along the spatial rows and columns
    sc_base: Signal
    empty: Signal  # a GEMM with a zero dimension
    ru: Signal  # spatial rows and columns the fold uses
    cu: Signal
    last_sr: Signal  # the fold is the last along the spatial rows, columns
    last_sc: Signal
    run_last: Signal  # the fold's last RUN cycle
    row_index: range  # the shape of a row number

    @property
    def extent(self) -> dict[str, Signal]:
        return {"sr": self.ru, "sc": self.cu}


@dataclass(frozen=True)
class _Output:
    """What the request decode tells the output announcements."""

    next: Value  # an output vector is announced next cycle
    coords: tuple[Value, Value]  # its tensor coordinates
    last: Value  # it is the GEMM's last
    drain_next: Value | None  # OS: the accumulators shift down next cycle


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
        self._output_stationary = os_flow = STATIONARY[cfg.dataflow] == "output"
        # Cycles a fold's RUN phase lasts beyond T (see the module docstring).
        self._extra = 2 * cfg.rows + cfg.cols - 2 if os_flow else cfg.rows + cfg.cols - 1
        self._out_lag = cfg.rows + cfg.cols - 1  # WS/IS: RUN cycle of the first output announcement
        ports = sequencer_ports(cfg)
        ports["west_mask"] = Out(cfg.rows)
        ports["north_mask"] = Out(cfg.cols)
        ports["drain" if self._output_stationary else "load"] = Out(1)
        super().__init__(ports)

    def elaborate(self, platform) -> Module:
        m = Module()
        fold = self._registers(m)
        out = self._requests(m, fold)
        s2_last = self._announce(m, fold, out)
        self._walk(m, fold)
        self._start(m, fold, s2_last)
        return m

    # The order of the calls in elaborate is the order signals and statements are created, which keeps
    # the generated Verilog stable.

    def _registers(self, m: Module) -> _Fold:
        """The GEMM's registers (latched at start), the walker's state and the current fold's extents."""
        rows, cols = self._cfg.rows, self._cfg.cols
        extra = self._extra
        row_index = range(max(rows, 2))  # a row number; at least 1 bit (Verilog has no 0-bit vectors)

        # GEMM registers, latched at start
        dim = {"sr": Signal(DIM_BITS, name="sr_dim"), "sc": Signal(DIM_BITS, name="sc_dim")}
        t_dim = Signal(DIM_BITS, name="t_dim")
        run_end = Signal(range(MAX_DIM + extra), name="run_end")  # last RUN cycle: T + extra - 1

        # walker state
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
        return _Fold(
            dim=dim,
            t_dim=t_dim,
            run_end=run_end,
            active=active,
            loading=loading,
            idx=idx,
            u=u,
            sr_base=sr_base,
            sc_base=sc_base,
            empty=empty,
            ru=ru,
            cu=cu,
            last_sr=last_sr,
            last_sc=last_sc,
            run_last=run_last,
            row_index=row_index,
        )

    def _coords(self, fold: _Fold, port: str, t: Value, sr_index: Value) -> tuple[Value, Value]:
        """Tensor coordinates (row, col) of lane 0 of ``port``'s vector at time step ``t``, fold row
        ``sr_index``."""
        base = fold.sr_base
        sources = {"sr_base": base, "sc_base": fold.sc_base, "t": t, "sr_index": base + sr_index}
        return tuple(sources[coordinate_source(self._cfg.dataflow, port, axis)] for axis in (0, 1))

    def _requests(self, m: Module, fold: _Fold) -> _Output:
        """Decode the requests from the walker state and register them onto the ports (visible next
        cycle); return what the output announcements need."""
        df, rows = self._cfg.dataflow, self._cfg.rows
        os_flow = self._output_stationary
        u = fold.u
        running = fold.active & ~fold.loading
        req = {}
        drain_next = None
        if os_flow:
            req["west"] = req["north"] = running & (u < fold.t_dim)
            req_coords = {p: self._coords(fold, p, u, 0) for p in OPERAND_PORTS}
            drain_next = Signal(name="drain_next")
            drain_row = Signal(fold.row_index, name="drain_row")
            m.d.comb += [
                drain_next.eq(running & (u + (rows - 1) >= fold.run_end)),
                drain_row.eq(fold.run_end - u),
            ]
            out_next = drain_next & (drain_row < fold.ru)
            out_t, out_index = u, drain_row  # out_t unused: no OS output coordinate runs in time
        else:
            req["north"] = fold.active & fold.loading
            req["west"] = running & (u < fold.t_dim)
            load_row = Signal(fold.row_index, name="load_row")  # last row of the tile first
            m.d.comb += load_row.eq(fold.ru - 1 - fold.idx)
            req_coords = {
                "west": self._coords(fold, "west", u, 0),
                "north": self._coords(fold, "north", u, load_row),
            }
            out_next = running & (u >= self._out_lag)
            out_t, out_index = u - self._out_lag, 0
        out_coords = self._coords(fold, "south", out_t, out_index)
        out_last = running & fold.run_last & fold.last_sr & fold.last_sc

        for port in OPERAND_PORTS:
            row, col = req_coords[port]
            lanes = fold.extent[lane_role(df, port)]
            r_req, r_row, r_col = (getattr(self, f"{port}_{f}") for f in ("req", "row", "col"))
            r_lanes = getattr(self, f"{port}_lanes")
            m.d.sync += [r_req.eq(req[port]), r_lanes.eq(Mux(req[port], lanes, 0))]
            with m.If(req[port]):
                m.d.sync += [r_row.eq(row), r_col.eq(col)]
            mask = getattr(self, f"{port}_mask")
            m.d.sync += mask.eq(Cat(*(r_lanes > i for i in range(len(mask)))))
        if not os_flow:
            m.d.sync += self.load.eq(self.north_req)
        return _Output(out_next, out_coords, out_last, drain_next)

    def _announce(self, m: Module, fold: _Fold, out: _Output) -> Value:
        """Output announcements: two register stages, so they line up with the array's results. Returns
        the second stage's ``last`` (the GEMM's last output is on the ports)."""
        os_flow = self._output_stationary
        s1 = {
            "valid": Signal(name="s1_valid"),
            "row": Signal(DIM_BITS, name="s1_row"),
            "col": Signal(DIM_BITS, name="s1_col"),
            "lanes": Signal(range(self._cfg.cols + 1), name="s1_lanes"),
            "first": Signal(name="s1_first"),
            "last": Signal(name="s1_last"),
        }
        s2_last = Signal(name="s2_last")
        m.d.sync += [
            s1["valid"].eq(out.next),
            s1["lanes"].eq(Mux(out.next, fold.extent[lane_role(self._cfg.dataflow, "south")], 0)),
            s1["first"].eq(out.next & (fold.sr_base == 0) if not os_flow else out.next),
            s1["last"].eq(out.last | fold.empty),
            self.south_valid.eq(s1["valid"]),
            self.south_lanes.eq(s1["lanes"]),
            self.south_first.eq(s1["first"]),
            s2_last.eq(s1["last"]),
            self.done.eq(s2_last),
        ]
        with m.If(out.next):
            m.d.sync += [s1["row"].eq(out.coords[0]), s1["col"].eq(out.coords[1])]
        with m.If(s1["valid"]):
            m.d.sync += [self.south_row.eq(s1["row"]), self.south_col.eq(s1["col"])]
        if os_flow:
            drain_s1 = Signal(name="drain_s1")
            m.d.sync += [drain_s1.eq(out.drain_next), self.drain.eq(drain_s1)]
        return s2_last

    def _walk(self, m: Module, fold: _Fold) -> None:
        """LOAD then RUN per fold; folds over the spatial rows innermost, the spatial columns outermost."""
        with m.If(fold.active):
            with m.If(fold.loading):
                with m.If(fold.idx == fold.ru - 1):
                    m.d.sync += fold.loading.eq(0)
                with m.Else():
                    m.d.sync += fold.idx.eq(fold.idx + 1)
            with m.Elif(fold.run_last):
                m.d.sync += [fold.u.eq(0), fold.idx.eq(0), fold.loading.eq(not self._output_stationary)]
                with m.If(fold.last_sr):
                    m.d.sync += fold.sr_base.eq(0)
                    with m.If(fold.last_sc):
                        m.d.sync += fold.active.eq(0)
                    with m.Else():
                        m.d.sync += fold.sc_base.eq(fold.sc_base + self._cfg.cols)
                with m.Else():
                    m.d.sync += fold.sr_base.eq(fold.sr_base + self._cfg.rows)
            with m.Else():
                m.d.sync += fold.u.eq(fold.u + 1)

    def _start(self, m: Module, fold: _Fold, s2_last: Value) -> None:
        """Start a GEMM (latch its dimensions in their roles) and finish it after its last output."""
        mp = MAPPINGS[self._cfg.dataflow]
        m.d.sync += fold.empty.eq(0)
        with m.If(s2_last):
            m.d.sync += self.busy.eq(0)
        with m.If(self.start & ~self.busy):
            dims = {"m": self.dim_m, "n": self.dim_n, "k": self.dim_k}
            zero = (self.dim_m == 0) | (self.dim_n == 0) | (self.dim_k == 0)
            t_in = dims[mp.temporal]
            m.d.sync += [
                self.busy.eq(1),
                fold.dim["sr"].eq(dims[mp.spatial_rows]),
                fold.dim["sc"].eq(dims[mp.spatial_cols]),
                fold.t_dim.eq(t_in),
                fold.run_end.eq(t_in + (self._extra - 1)),
                fold.active.eq(~zero),
                fold.empty.eq(zero),
                fold.loading.eq(not self._output_stationary),
                fold.idx.eq(0),
                fold.u.eq(0),
                fold.sr_base.eq(0),
                fold.sc_base.eq(0),
            ]
