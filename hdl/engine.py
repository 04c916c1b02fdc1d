"""``GemmEngine``: the GEMM engine, C[M,N] = A[M,K] @ B[K,N], with its memory-facing ports.

As the top of its own Verilog (``verilog_text(cfg, "core")``) its module is named ``systolic_top``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from systolic.config import ArrayConfig
from systolic.dataflow import OPERAND_PORTS, STATIONARY, port_lanes
from systolic.geometry import port_format

from .array import SystolicArray
from .dataflow import check_config
from .fold_pipeline import PipelinedSequencer, pipeline_ports
from .sequencer import Sequencer, sequencer_ports
from .skew import LaneDelay


class GemmEngine(wiring.Component):
    """A systolic-array GEMM engine for one :class:`~systolic.config.ArrayConfig`.

    Runs C[M,N] = A[M,K] @ B[K,N] for any M, N, K in 1..65535 as a series of folds, reading operand
    vectors from two memories (west, north) and writing output vectors to a third (south). Which tensor
    each port carries is :data:`systolic.dataflow.PORT_MAP`. Submodules: ``sequencer``,
    ``skew_west``, ``skew_west_tag`` (``fold_overlap``), ``skew_north`` (OS), ``array`` (PEs
    ``pe_<r>_<c>``), ``deskew_south`` (WS, IS).

    Parameters
    ----------
    cfg : ArrayConfig
        Array size (R = rows, C = cols), dataflow, operand and accumulator formats, zero gating.

    Ports
    -----
    start : In(1)
        Start a GEMM with the current ``dim_m``, ``dim_n``, ``dim_k``; ignored while ``busy``.
    dim_m, dim_n, dim_k : In(16)
        The GEMM's dimensions, 1..65535.
    busy : Out(1)
        High from the cycle after an accepted ``start`` to the last output cycle.
    done : Out(1)
        One-cycle pulse in the cycle after the last output.
    west_req, north_req : Out(1)
        Request one operand vector. A request visible during cycle t must have its data on
        ``<port>_data`` during cycle t+1 (synchronous-SRAM read latency).
    west_row, west_col, north_row, north_col : Out(16)
        Tensor coordinates of lane 0 of the requested vector; lane i is the next element along the
        port's lane axis (``PORT_MAP``). Meaningful while ``<port>_req``; held otherwise.
    west_lanes, north_lanes : Out
        Number of valid lanes (0 without a request); the hardware zeroes the other lanes of the data
        arriving next cycle, whatever memory returns.
    west_data : In(rows * west width), north_data : In(cols * north width)
        Operand vectors, lane i at bits [i*w, (i+1)*w); widths and signedness follow the tensor
        (A: input_bits/input_signed, B: weight_bits/weight_signed).
    south_valid : Out(1)
        An output vector is on ``south_data`` this cycle.
    south_row, south_col : Out(16)
        Coordinates in C of lane 0 (held while ``south_valid`` is low).
    south_lanes : Out
        Number of valid lanes (0 while ``south_valid`` is low).
    south_first : Out(1)
        1: first K-fold of these outputs, the output memory overwrites; 0: it adds the vector to what
        it holds, wrapping modulo 2**acc_bits. The accumulation across K-folds is the output memory's
        job (the testbench's memory model, or the accelerator's ofmap SRAM with its read-modify-write).
        Always 1 for OS.
    south_data : Out(cols * acc_bits)
        The output vector, lane i at bits [i*acc_bits, (i+1)*acc_bits), two's complement when either
        operand is signed.

    Attributes
    ----------
    west_masked, north_masked : Signal
        The operand data after masking (lanes beyond the request's are zero), as it enters the skew.

    Notes
    -----
    With ``cfg.fold_overlap`` (the default) folds overlap: the contract below holds per fold, but the next
    fold's stationary tile loads, first row first, while the current fold streams (WS, IS), and the
    results drain while the next fold accumulates (OS); when each fold starts is in
    :mod:`systolic.hdl.fold_pipeline`. Without it:

    Timing contract (a cycle is one clock period; "cycle t" lies between rising edges t and t+1). A GEMM's
    cycle count runs from the first cycle with operand data on a ``*_data`` port to the last cycle with
    ``south_valid`` high, both included. Folds run back to back: each fold's first operand data arrives in
    the cycle right after the previous fold's period ends, so the count is the sum of the fold periods.

    * WS and IS (Sr = K spatial rows; Sc = N (WS) or M (IS) spatial columns; T = M (WS) or N (IS) time
      steps). Folds: outer loop over Sc folds, inner over Sr folds; a fold uses ru = min(R, Sr - base)
      rows and cu columns. Weight load: ru cycles of north data, the tile's last row first, shifting down
      each column. Then T cycles of west data, one vector per time step, first at cycle s; lane r is
      skewed by r registers, each PE passes its west operand right through one register and registers
      ``psum_in + a * w``; column c is de-skewed by C-1-c registers. The output of time step t is on
      ``south_data`` during cycle s + t + R + C - 1. Period = ru + T + R + C - 1.
    * OS (Sr = M, Sc = N, T = K). Folds: outer over N, inner over M. West A[m0:m0+R, k] and north
      B[k, n0:n0+C] arrive together, one k per cycle from cycle s, skewed by lane; PE(r, c) accumulates
      and passes its operands right and down. Drain: the accumulators shift down the columns (zeros enter
      at the top); drain cycle j = 0..R-1, during cycle s + K + R + C - 2 + j, presents tile row R-1-j
      (``south_valid`` only for rows < ru). Period = K + 2R + C - 2.

    Totals, with Fx = ceil(X / array extent): WS: Fn*K + Fk*Fn*(M + R + C - 1); IS: Fm*K +
    Fk*Fm*(N + R + C - 1); OS: Fm*Fn*(K + 2R + C - 2). Around the count: ``start`` high in cycle t-1
    (captured by edge t) raises ``busy`` in cycle t; the first request is visible in cycle t+1 and its
    data arrives in cycle t+2; ``done`` pulses, and ``busy`` falls, in the cycle after the last output.
    With ``fold_overlap`` the sequencer requests in the cycle it accepts ``start``: the first request is
    visible in cycle t, its data in cycle t+1 (the SRAM's read latency is the only cycle before the count).
    """

    def __init__(self, cfg: ArrayConfig):
        self._cfg = check_config(cfg)
        ports = sequencer_ports(cfg)
        for port in OPERAND_PORTS:
            bits, _ = port_format(cfg, port)
            ports[f"{port}_data"] = In(port_lanes(cfg.rows, cfg.cols, port) * bits)
        ports["south_data"] = Out(cfg.cols * cfg.acc_bits)
        super().__init__(ports | pipeline_ports(cfg))
        self.west_masked = Signal(self.west_data.shape(), name="west_masked")
        self.north_masked = Signal(self.north_data.shape(), name="north_masked")

    def elaborate(self, platform) -> Module:
        m = Module()
        cfg = self._cfg
        rows, cols = cfg.rows, cfg.cols
        output_stationary = STATIONARY[cfg.dataflow] == "output"
        west_bits, _ = port_format(cfg, "west")
        north_bits, _ = port_format(cfg, "north")

        m.submodules.sequencer = seq = PipelinedSequencer(cfg) if cfg.fold_overlap else Sequencer(cfg)
        m.submodules.array = array = SystolicArray(cfg)
        for name in (*sequencer_ports(cfg), *pipeline_ports(cfg)):
            ours, theirs = getattr(self, name), getattr(seq, name)
            m.d.comb += theirs.eq(ours) if name in ("start", "dim_m", "dim_n", "dim_k") else ours.eq(theirs)

        # Lanes beyond the request's are zeroed here, whatever memory returns: the array relies on it
        # (rows of stale weights see a zero operand; OS accumulators see zeros between folds).
        west, north = self.west_masked, self.north_masked
        m.d.comb += [
            west.eq(self.west_data & Cat(*(seq.west_mask[i].replicate(west_bits) for i in range(rows)))),
            north.eq(self.north_data & Cat(*(seq.north_mask[i].replicate(north_bits) for i in range(cols)))),
        ]

        m.submodules.skew_west = skew_west = LaneDelay(west_bits, list(range(rows)))
        m.d.comb += [skew_west.i.eq(west), array.west.eq(skew_west.o)]
        if cfg.fold_overlap:
            # the tag of lane r travels with its operand: the same skew
            m.submodules.skew_west_tag = skew_tag = LaneDelay(1, list(range(rows)))
            m.d.comb += [skew_tag.i.eq(seq.west_tag.replicate(rows)), array.west_tag.eq(skew_tag.o)]
        if output_stationary:
            m.submodules.skew_north = skew_north = LaneDelay(north_bits, list(range(cols)))
            m.d.comb += [
                skew_north.i.eq(north),
                array.north.eq(skew_north.o),
                array.shift.eq(seq.shift) if cfg.fold_overlap else array.drain.eq(seq.drain),
                self.south_data.eq(array.south),
            ]
        else:
            m.submodules.deskew_south = deskew = LaneDelay(cfg.acc_bits, [cols - 1 - c for c in range(cols)])
            load = (
                [array.ld.eq(seq.ld), array.ld_bank.eq(seq.ld_bank)]
                if cfg.fold_overlap
                else [array.load.eq(seq.load)]
            )
            m.d.comb += [
                array.north.eq(north),
                *load,
                deskew.i.eq(array.south),
                self.south_data.eq(deskew.o),
            ]
        return m
