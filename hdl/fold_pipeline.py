"""The fold sequencer with ``fold_overlap``: consecutive folds overlap on the array.

Same ports and request protocol as :class:`~systolic.hdl.sequencer.Sequencer` (a request visible in cycle
t has its data on the port in cycle t+1; outputs are announced in the cycle their data is on the south
port), plus the tags and controls of the overlapped array (:class:`~systolic.hdl.array.SystolicArray`).
Folds are walked in the same order (spatial rows innermost). Times below are data cycles; x_f is the
cycle fold f's first west operand arrives, T the temporal extent, ru the fold's rows.

* Operand stationary (WS, IS). The stationary tile of fold f arrives on the north port first row first,
  one row per cycle from l_f, and row j of the array writes it into bank f mod 2 (``ld``, ``ld_bank``).
  The west operands of fold f carry the bank (``west_tag``). l_0 is the GEMM's first data cycle, x_0 =
  l_0 + max(1, ru_0 - C + 1); fold f+1 loads from l_{f+1} = x_f + C - 1 (the bank it overwrites was last
  read by fold f-1, whose last operand leaves column C-1 by then) and streams from x_{f+1} = x_f +
  max(T, C, ru_{f+1}): a fold after the last streams T vectors. The output of time step t leaves the
  array R + C - 1 cycles after its operand arrived, as without overlap.
* Output stationary (OS). The west operands of a fold's last time step carry a tag that moves the
  finished sums into the PEs' result registers (row r, column c: x_f + T - 1 + r + c). From d_f =
  x_f + T + R + C - 2 the results drain down the columns, tile row R-1-j in cycle d_f + j; row r shifts
  only while j < r, so it is free for the next fold's results from d_f + r on, and folds follow each
  other every max(T, R + C - 1) cycles.

The sequencer works in the cycle it accepts a GEMM on the GEMM's first state (``_first_state``), so the
first requests (fold 0's first load row in WS and IS, its first operands in OS) go out in that cycle, as
a next fold's would: with ``tile_overlap`` a GEMM accepted in the cycle ``ready`` rises follows the last
one's last request without a gap, and the start of a layer's first tile costs only the SRAM's read.

A GEMM's cycle count (first operand data to last output, both included) is therefore, with folds f =
0..F-1: WS/IS: max(1, ru_0 - C + 1) + sum over f >= 1 of max(T, C, ru_f) + T + R + C - 1; OS: (F - 1)
max(T, R + C - 1) + T + 2R + C - 2 (:func:`systolic.model.cycles.compute_cycles`).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from systolic.config import ArrayConfig
from systolic.dataflow import MAPPINGS, OPERAND_PORTS, STATIONARY

from .dataflow import check_config, coordinate_source
from .sequencer import DIM_BITS, MAX_DIM, sequencer_ports


def _min(a: Value, b: Value | int) -> Value:
    return Mux(a < b, a, b)


def pipeline_ports(cfg: ArrayConfig) -> dict:
    """Ports a GEMM engine has with ``tile_overlap`` (:attr:`ArrayConfig.tiles_overlap`): ``ready``, it
    takes a ``start`` now (the last GEMM's operands are all requested; its results may still be in the
    array; OS: the GEMM on ``dim_*`` may stream its first fold at once, as a next fold would), and
    ``south_id``, which GEMM the output on the south port belongs to (a bit that flips with
    every GEMM started)."""
    return {"ready": Out(1), "south_id": Out(1)} if cfg.tiles_overlap else {}


class PipelinedSequencer(wiring.Component):
    """Fold sequencer and memory request generator for ``fold_overlap`` (module docstring).

    Parameters
    ----------
    cfg : ArrayConfig
        Array size and dataflow.

    Ports
    -----
    start, dim_m, dim_n, dim_k, busy, done, west_*, north_*, south_*, west_mask, north_mask
        As :class:`~systolic.hdl.sequencer.Sequencer`'s.
    west_tag : Out(1)
        The tag of the west vector arriving this cycle: its bank (WS, IS) or "the fold's last time step"
        (OS).
    ld : Out(rows), ld_bank : Out(1)
        WS and IS: the array row that takes the north vector arriving this cycle, and into which bank.
    shift : Out(rows)
        OS: the rows whose result registers take those of the row above at the end of this cycle.
    """

    def __init__(self, cfg: ArrayConfig):
        self._cfg = check_config(cfg)
        self._output_stationary = STATIONARY[cfg.dataflow] == "output"
        ports = sequencer_ports(cfg)
        ports["west_mask"] = Out(cfg.rows)
        ports["north_mask"] = Out(cfg.cols)
        ports["west_tag"] = Out(1)
        if self._output_stationary:
            ports["shift"] = Out(cfg.rows)
        else:
            ports["ld"] = Out(cfg.rows)
            ports["ld_bank"] = Out(1)
        super().__init__(ports | pipeline_ports(cfg))

    def elaborate(self, platform) -> Module:
        m = Module()
        st = self._walker(m)
        if self._output_stationary:
            self._os_requests(m, st)
            last = self._os_drain(m, st)
        else:
            st["load"] = load = self._load_walker(m, st)
            self._stationary_requests(m, st, load)
            last = self._stationary_outputs(m, st)
        self._start(m, st, last)
        return m

    # ------------------------------------------------------------------ the stream walker
    def _walker(self, m: Module) -> dict:
        """The GEMM's registers and the stream walker: fold bases, the cycle in the fold's period."""
        cfg = self._cfg
        rows, cols = cfg.rows, cfg.cols
        # The walker's registers (``q``) and what it works on this cycle: the registers, or in the cycle a
        # GEMM is accepted its first state, so that its first requests go out in that cycle (the start
        # costs no cycle; a GEMM accepted when the last one's last request has gone follows it at once).
        q = {
            "sr_dim": Signal(DIM_BITS, name="sr_dim"),
            "sc_dim": Signal(DIM_BITS, name="sc_dim"),
            "t_dim": Signal(DIM_BITS, name="t_dim"),
            "active": Signal(name="active"),
            "wait": Signal(range(rows + 1), name="stream_wait"),  # WS, IS: cycles until fold 0 streams
            "sr": Signal(DIM_BITS, name="sr_base"),
            "sc": Signal(DIM_BITS, name="sc_base"),
            "u": Signal(range(MAX_DIM + rows + cols + 1), name="run_u"),
            "id": Signal(name="gemm_id"),  # tile_overlap: flips with every GEMM started
        }
        st = {key: Signal.like(reg, name=f"{reg.name}_now") for key, reg in q.items()}
        st |= {
            "q": q,
            "accept": Signal(name="accept"),  # a GEMM is taken this cycle (driven by _start)
            "bank": Signal(name="bank"),  # WS, IS: the streaming fold's bank (parity runs on across GEMMs)
            "gap": Signal(range(rows + cols), name="fold_gap"),  # OS: see below
            "empty": Signal(name="empty"),
        }
        sr_left = Signal(DIM_BITS + 1, name="sr_left")
        sc_left = Signal(DIM_BITS + 1, name="sc_left")
        derived = {
            "ru": Signal(range(rows + 1), name="ru"),
            "cu": Signal(range(cols + 1), name="cu"),
            "last_sr": Signal(name="last_sr"),
            "last_sc": Signal(name="last_sc"),
            "last_fold": Signal(name="last_fold"),
            "next_sr": Signal(DIM_BITS + 1, name="next_sr_base"),
            "next_sc": Signal(DIM_BITS + 1, name="next_sc_base"),
            "next_ru": Signal(range(rows + 1), name="next_ru"),
            "next_cu": Signal(range(cols + 1), name="next_cu"),
            "streaming": Signal(name="streaming"),
            "req": Signal(name="stream_req"),
            "step_last": Signal(name="step_last"),  # the fold's last time step
            "end": Signal(name="period_end"),
        }
        st |= derived
        self._first_state(m, st)
        m.d.comb += [
            sr_left.eq(st["sr_dim"] - st["sr"]),
            sc_left.eq(st["sc_dim"] - st["sc"]),
            st["last_sr"].eq(sr_left <= rows),
            st["last_sc"].eq(sc_left <= cols),
            st["ru"].eq(Mux(st["last_sr"], sr_left, rows)),
            st["cu"].eq(Mux(st["last_sc"], sc_left, cols)),
            st["last_fold"].eq(st["last_sr"] & st["last_sc"]),
            st["next_sr"].eq(Mux(st["last_sr"], 0, st["sr"] + rows)),
            st["next_sc"].eq(Mux(st["last_sr"], st["sc"] + cols, st["sc"])),
            st["next_ru"].eq(_min(st["sr_dim"] - st["next_sr"], rows)),
            st["next_cu"].eq(_min(st["sc_dim"] - st["next_sc"], cols)),
            st["req"].eq(st["streaming"] & (st["u"] < st["t_dim"])),
            st["step_last"].eq(st["u"] + 1 == st["t_dim"]),
        ]
        self._advance(m, st)
        return st

    def _first_state(self, m: Module, st: dict) -> None:
        """The walker's state in the cycle a GEMM is accepted: fold 0, time step 0, from the ``dim_*``
        ports (``st['zero']``, ``st['ru0']``, ``st['cu0']`` are kept for the load walker)."""
        cfg = self._cfg
        mp = MAPPINGS[cfg.dataflow]
        q = st["q"]
        dims = {"m": self.dim_m, "n": self.dim_n, "k": self.dim_k}
        st["zero"] = (self.dim_m == 0) | (self.dim_n == 0) | (self.dim_k == 0)
        sr_in, sc_in = dims[mp.spatial_rows], dims[mp.spatial_cols]
        st["ru0"] = ru0 = _min(sr_in, cfg.rows)
        st["cu0"] = _min(sc_in, cfg.cols)
        if self._output_stationary:
            first_wait = q["wait"]
        elif cfg.rows <= cfg.cols:
            first_wait = 1
        else:
            first_wait = Mux(ru0 > cfg.cols, ru0 - (cfg.cols - 1), 1)
        first = {
            "sr_dim": sr_in,
            "sc_dim": sc_in,
            "t_dim": dims[mp.temporal],
            "active": ~st["zero"],
            "wait": first_wait,  # WS, IS: fold 0 streams first_wait cycles after its first load row
            "sr": 0,
            "sc": 0,
            "u": 0,
            "id": ~q["id"],
        }
        m.d.comb += [st[key].eq(Mux(st["accept"], first[key], q[key])) for key in q]

    def _advance(self, m: Module, st: dict) -> None:
        """When a fold may stream and when its period ends; the walk to the next fold."""
        rows, cols = self._cfg.rows, self._cfg.cols
        u1 = st["u"] + 1
        if self._output_stationary:
            # A fold's results move to the result registers at its last operands; the previous fold's
            # rows must have drained past by then: its last operands R + C - 1 cycles before ours at
            # least. ``gap`` counts that down from each fold's last request, so a fold (of this GEMM or
            # the next) starts only when its own last request will be late enough.
            m.d.comb += [
                st["streaming"].eq(st["active"] & ((st["u"] != 0) | (st["gap"] < st["t_dim"]))),
                st["end"].eq(st["step_last"]),
            ]
            with m.If(st["req"] & st["step_last"]):
                m.d.sync += st["gap"].eq(rows + cols - 2)
            with m.Elif(st["gap"] != 0):
                m.d.sync += st["gap"].eq(st["gap"] - 1)
        else:
            spaced = (u1 >= cols) & (u1 >= st["next_ru"])
            m.d.comb += [
                st["streaming"].eq(st["active"] & (st["wait"] == 0)),
                st["end"].eq(Mux(st["last_fold"], st["step_last"], (u1 >= st["t_dim"]) & spaced)),
            ]

        q = st["q"]
        m.d.sync += [q[key].eq(st[key]) for key in q]  # hold what this cycle works on, unless it moves
        with m.If(st["wait"] != 0):
            m.d.sync += q["wait"].eq(st["wait"] - 1)
        with m.If(st["streaming"]):
            with m.If(st["end"]):
                m.d.sync += [q["u"].eq(0), q["sr"].eq(st["next_sr"]), q["sc"].eq(st["next_sc"])]
                if not self._output_stationary:
                    m.d.sync += st["bank"].eq(~st["bank"])
                with m.If(st["last_fold"]):
                    m.d.sync += q["active"].eq(0)
            with m.Else():
                m.d.sync += q["u"].eq(u1)

    def _coords(self, port: str, sr_base: Value, sc_base: Value, t: Value, sr_index: Value) -> tuple:
        """Tensor coordinates (row, col) of lane 0 of ``port``'s vector."""
        sources = {"sr_base": sr_base, "sc_base": sc_base, "t": t, "sr_index": sr_base + sr_index}
        return tuple(sources[coordinate_source(self._cfg.dataflow, port, axis)] for axis in (0, 1))

    def _request(self, m: Module, port: str, req: Value, coords: tuple, lanes: Value) -> None:
        """Register one port's request (visible next cycle) and its lane mask (visible with the data)."""
        r_req, r_row, r_col, r_lanes = (getattr(self, f"{port}_{f}") for f in ("req", "row", "col", "lanes"))
        m.d.sync += [r_req.eq(req), r_lanes.eq(Mux(req, lanes, 0))]
        with m.If(req):
            m.d.sync += [r_row.eq(coords[0]), r_col.eq(coords[1])]
        mask = getattr(self, f"{port}_mask")
        m.d.sync += mask.eq(Cat(*(r_lanes > i for i in range(len(mask)))))

    def _west_tag(self, m: Module, tag: Value) -> None:
        """The west tag, registered twice: visible with the west data."""
        tag_q = Signal(name="west_tag_q")
        m.d.sync += [tag_q.eq(tag), self.west_tag.eq(tag_q)]

    # ------------------------------------------------------------------ WS, IS
    def _load_walker(self, m: Module, st: dict) -> dict:
        """Loads a fold's stationary tile, first row first: fold 0 from the start, fold f+1 from the C-th
        cycle of fold f's period (that cycle's row comes straight from the walker, the rest from the
        load registers). Returns the row being requested now (``now``) and the registers."""
        rows, cols = self._cfg.rows, self._cfg.cols
        ld = {
            "active": Signal(name="load_active"),
            "j": Signal(range(max(rows, 2)), name="load_j"),
            "sr": Signal(DIM_BITS, name="load_sr_base"),
            "sc": Signal(DIM_BITS, name="load_sc_base"),
            "ru": Signal(range(rows + 1), name="load_ru"),
            "cu": Signal(range(cols + 1), name="load_cu"),
            "bank": Signal(name="load_bank"),
        }
        trigger = Signal(name="load_trigger")
        m.d.comb += trigger.eq(st["streaming"] & (st["u"] == cols - 1) & ~st["last_fold"])
        now = {key: Signal.like(sig, name=f"load_{key}_now") for key, sig in ld.items()}
        given = {
            "active": 1,
            "j": 0,
            "sr": st["next_sr"],
            "sc": st["next_sc"],
            "ru": st["next_ru"],
            "cu": st["next_cu"],
            "bank": ~st["bank"],
        }
        # a GEMM accepted this cycle loads fold 0 from this cycle (the walker is idle then: no trigger)
        first = {
            "active": ~st["zero"],
            "j": 0,
            "sr": 0,
            "sc": 0,
            "ru": st["ru0"],
            "cu": st["cu0"],
            "bank": st["bank"],  # not the last GEMM's last fold's bank: its operands may be in flight
        }
        m.d.comb += [
            now[key].eq(Mux(st["accept"], first[key], Mux(trigger, given[key], ld[key]))) for key in ld
        ]
        with m.If(now["active"]):
            m.d.sync += [ld[key].eq(now[key]) for key in ("sr", "sc", "ru", "cu", "bank")]
            with m.If(now["j"] + 1 == now["ru"]):
                m.d.sync += [ld["active"].eq(0), ld["j"].eq(0)]
            with m.Else():
                m.d.sync += [ld["active"].eq(1), ld["j"].eq(now["j"] + 1)]
        return {"regs": ld, "now": now}

    def _stationary_requests(self, m: Module, st: dict, load: dict) -> None:
        """West requests of the streaming fold (tagged with its bank), north requests of the loading one
        (with the row and bank that take the data)."""
        rows = self._cfg.rows
        ld = load["now"]
        west = self._coords("west", st["sr"], st["sc"], st["u"], 0)
        self._request(m, "west", st["req"], west, st["ru"])
        north = self._coords("north", ld["sr"], ld["sc"], 0, ld["j"])
        self._request(m, "north", ld["active"], north, ld["cu"])
        self._west_tag(m, st["bank"])
        ld_q = Signal(rows, name="ld_q")
        bank_q = Signal(name="ld_bank_q")
        m.d.sync += [
            ld_q.eq(Cat(*(ld["active"] & (ld["j"] == r) for r in range(rows)))),
            bank_q.eq(ld["bank"]),
            self.ld.eq(ld_q),
            self.ld_bank.eq(bank_q),
        ]

    def _stationary_outputs(self, m: Module, st: dict) -> Value:
        """Every west request becomes an output R + C - 1 cycles after its data: a delay line of the
        announcement. Returns the announcement of the GEMM's last output, visible with it."""
        cfg = self._cfg
        row, col = self._coords("south", st["sr"], st["sc"], st["u"], 0)
        fields = {
            "valid": (st["req"], 1),
            "row": (row, DIM_BITS),
            "col": (col, DIM_BITS),
            "lanes": (Mux(st["req"], st["cu"], 0), range(cfg.cols + 1)),
            "first": (st["req"] & (st["sr"] == 0), 1),
            "last": (st["req"] & st["step_last"] & st["last_fold"], 1),
        }
        if cfg.tiles_overlap:
            fields["id"] = (st["id"], 1)
        return self._announce(m, fields, cfg.rows + cfg.cols)

    def _announce(self, m: Module, fields: dict, stages: int) -> Value:
        """Delay the decoded announcement ``fields`` (name -> (value, shape)) by ``stages`` registers,
        then register it onto the ``south_*`` ports (coordinates held while nothing is announced).
        Returns the ``last`` field as it is on the ports."""
        out = {}
        for name, (value, shape) in fields.items():
            tap = value
            for i in range(stages):
                reg = Signal(shape, name=f"ann_{name}_{i}")
                m.d.sync += reg.eq(tap)
                tap = reg
            out[name] = tap
        return self._present(m, out)

    def _present(self, m: Module, out: dict) -> Value:
        """Register an announcement (``valid``, ``row``, ``col``, ``lanes``, ``first``, ``last`` and, with
        ``tile_overlap``, ``id``) onto the ``south_*`` ports, coordinates held while nothing is announced.
        Returns ``last`` as it is on the ports."""
        last = Signal(name="out_last")
        m.d.sync += [
            self.south_valid.eq(out["valid"]),
            self.south_lanes.eq(out["lanes"]),
            self.south_first.eq(out["first"]),
            last.eq(out["last"]),
        ]
        if "id" in out:
            m.d.sync += self.south_id.eq(out["id"])
        with m.If(out["valid"]):
            m.d.sync += [self.south_row.eq(out["row"]), self.south_col.eq(out["col"])]
        return last

    # ------------------------------------------------------------------ OS
    def _os_requests(self, m: Module, st: dict) -> None:
        """Both operands of the streaming fold's time step; the last step's west vector is tagged."""
        for port in OPERAND_PORTS:
            coords = self._coords(port, st["sr"], st["sc"], st["u"], 0)
            self._request(m, port, st["req"], coords, st["ru"] if port == "west" else st["cu"])
        self._west_tag(m, st["req"] & st["step_last"])

    def _os_drain(self, m: Module, st: dict) -> Value:
        """A fold's last request arms a timer; R + C - 1 cycles after that request's data the drain
        presents tile rows R-1 .. 0, one per cycle, and tells each row when to shift."""
        cfg = self._cfg
        rows, cols = cfg.rows, cfg.cols
        fold = {
            "sr": Signal(DIM_BITS, name="drain_sr_base"),
            "sc": Signal(DIM_BITS, name="drain_sc_base"),
            "ru": Signal(range(rows + 1), name="drain_ru"),
            "cu": Signal(range(cols + 1), name="drain_cu"),
            "last": Signal(name="drain_last"),
        }
        if cfg.tiles_overlap:
            fold["id"] = Signal(name="drain_id")
        pend = {key: Signal.like(sig, name=f"pend_{key}") for key, sig in fold.items()}
        pend_valid = Signal(name="pend_valid")
        timer = Signal(range(rows + cols), name="pend_timer")
        fire = Signal(name="drain_fire")
        active = Signal(name="drain_active")
        j = Signal(range(max(rows, 2)), name="drain_j")
        m.d.comb += fire.eq(pend_valid & (timer == 0))
        with m.If(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.If(active):
            with m.If(j == rows - 1):
                m.d.sync += active.eq(0)
            with m.Else():
                m.d.sync += j.eq(j + 1)
        with m.If(fire):
            m.d.sync += [pend_valid.eq(0), active.eq(1), j.eq(0)]
            m.d.sync += [fold[key].eq(pend[key]) for key in fold]
        with m.If(st["req"] & st["step_last"]):
            m.d.sync += [
                pend_valid.eq(1),
                timer.eq(rows + cols - 2),
                pend["sr"].eq(st["sr"]),
                pend["sc"].eq(st["sc"]),
                pend["ru"].eq(st["ru"]),
                pend["cu"].eq(st["cu"]),
                pend["last"].eq(st["last_fold"]),
            ]
            if "id" in pend:
                m.d.sync += pend["id"].eq(st["id"])
        row_index = Signal(range(max(rows, 2)), name="drain_row")
        m.d.comb += row_index.eq(rows - 1 - j)
        valid = active & (row_index < fold["ru"])
        row, col = self._coords("south", fold["sr"], fold["sc"], 0, row_index)
        m.d.sync += self.shift.eq(Cat(0, *(active & (j < r) for r in range(1, rows))))  # row 0: none above
        out = {
            "valid": valid,
            "row": row,
            "col": col,
            "lanes": Mux(valid, fold["cu"], 0),
            "first": valid,
            "last": active & fold["last"] & (j == rows - 1),
        }
        if "id" in fold:
            out["id"] = fold["id"]
        return self._present(m, out)

    # ------------------------------------------------------------------ start and finish
    def _start(self, m: Module, st: dict, last: Value) -> None:
        """Accept a GEMM (its first requests go out in the same cycle, :meth:`_first_state`); finish after
        the last output (or at once, two cycles later, for a GEMM with a zero dimension). With
        ``tile_overlap`` a GEMM is accepted as soon as the walkers are idle and ``busy`` stays high while
        any GEMM has outputs to come."""
        cfg = self._cfg
        q = st["q"]
        empty_q = Signal(name="empty_q")
        done_now = Signal(name="done_now")
        accept = st["accept"]
        m.d.sync += [st["empty"].eq(0), empty_q.eq(st["empty"])]
        m.d.comb += done_now.eq(last | empty_q)
        m.d.sync += self.done.eq(done_now)
        if cfg.tiles_overlap:
            # OS: also wait until a new GEMM's first fold may stream at once, by the rule a next fold
            # follows (``gap`` below its T: its last operands late enough for the last fold's results to
            # have moved on), so its timing does not depend on how long after this one it starts
            if self._output_stationary:
                t_in = {"m": self.dim_m, "n": self.dim_n, "k": self.dim_k}[MAPPINGS[cfg.dataflow].temporal]
                idle = ~q["active"] & ((st["gap"] < t_in) | (st["gap"] == 0))
            else:
                idle = ~q["active"] & ~st["load"]["regs"]["active"]
            pending = Signal(range(4), name="pending")  # GEMMs started whose last output is still to come
            after = pending + accept - done_now
            m.d.comb += [self.ready.eq(idle), accept.eq(self.start & idle)]
            m.d.sync += [pending.eq(after), self.busy.eq(after != 0)]
        else:
            m.d.comb += accept.eq(self.start & ~self.busy)
            with m.If(done_now):
                m.d.sync += self.busy.eq(0)
        with m.If(accept):
            m.d.sync += st["empty"].eq(st["zero"])
            if not cfg.tiles_overlap:
                m.d.sync += self.busy.eq(1)
