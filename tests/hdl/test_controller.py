# amaranth: UnusedElaboratable=no
# ^ error-path tests construct components whose __init__ raises; Amaranth would warn they went unused.
"""The memory controller alone, around a stand-in array and a DRAM model: its steps, DRAM requests and
write beats against the model's step list and traces (model/memory.py, model/traces.py), cycle for cycle."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.amaranth_sim import simulate
from systolic.geometry import geometry
from systolic.hdl.controller import Controller, controller_ports, div_const
from systolic.model.cycles import GemmArrays, compute_cycles
from systolic.model.memory import array_start_cycles, memory_cycles, pipeline_cycles, plan_layer, schedule
from systolic.model.traces import collect, layer_traces, trace_widths

SMALL = dict(
    rows=2,
    cols=3,
    dram_bw_words_per_cycle=2,
    dram_latency_cycles=3,
    ifmap_sram_bytes=64,
    filter_sram_bytes=64,
    ofmap_sram_bytes=96,
    ifmap_offset=0,
    filter_offset=1000,
    ofmap_offset=2000,
)
#: Layers: tiles that keep their B tile, tiles that keep their A tile, tiles along k, a single element.
SHAPES = [(5, 6, 7), (2, 12, 3), (4, 5, 20), (1, 1, 1)]


def _run(cfg: ArrayConfig, m: int, n: int, k: int) -> dict:
    """One layer on the controller. The stand-in array takes ``core_start`` (the barrier cycle that ends
    the step before the tile's) and pulses ``core_done`` when the GEMM engine would (in the last result's
    write: array_start_cycles + cc + 1 cycles after ``core_start``, cc from the model's fold timing) and,
    with ``tile_overlap``, drops ``core_ready`` until it has requested the tile's last operands (cc - P + 1
    cycles after the start; OS: earlier by min(R + C - 2, K - 1) for the next tile's K on ``core_k``); DRAM answers each read request ``dram_latency_cycles`` later and takes a
    write beat every cycle. Cycles count from the first busy one."""
    dut = Controller(cfg)
    tm, tn, tk = plan_layer(cfg, m, n, k)
    out = {"starts": [], "reads": [], "writes": [], "fill_words": {"A": 0, "B": 0}, "busy": 0}
    latency = cfg.dram_latency_cycles
    done_after = array_start_cycles(cfg) + 1

    async def bench(ctx):
        for name, value in dict(dim_m=m, dim_n=n, dim_k=k, tile_m=tm, tile_n=tn, tile_k=tk).items():
            ctx.set(getattr(dut, name), value)
        ctx.set(dut.dram_rd_req_ready, 1)
        ctx.set(dut.dram_wr_ready, 1)
        ctx.set(dut.start, 1)
        await ctx.tick()  # the edge that takes start: cycle 0, the first busy one, begins
        ctx.set(dut.start, 0)
        responses: deque[int] = deque()  # due cycles of the requested reads
        done_at: deque[int] = deque()  # cycles of the stand-in's done pulses (tiles finish in order)
        busy_until = -1  # tile_overlap: the stand-in takes no start until then
        started = None  # the cycle of the last start: the tile is on the cp_* ports the cycle after
        for t in range(20_000):
            if not ctx.get(dut.busy):
                out["done"] = ctx.get(dut.done)
                return
            out["busy"] += 1
            # the barrier (and so core_start) sees ready and done in the same cycle: set them first
            if cfg.tiles_overlap:
                # OS: ready earlier when the next tile's first fold may stream at once (ready_shift)
                k_next = ctx.get(dut.core_k)
                shift = -min(cfg.rows + cfg.cols - 2, k_next - 1) if cfg.dataflow is Dataflow.OS else 0
                ctx.set(dut.core_ready, t > busy_until + shift)
            ctx.set(dut.core_done, bool(done_at) and done_at[0] == t)
            if done_at and done_at[0] == t:
                done_at.popleft()
            if started is not None:
                tile = tuple(ctx.get(getattr(dut, f"cp_{d}{f}")) for f in "0t" for d in "mnk")
                out["starts"].append((started, *tile))
                started = None
            if ctx.get(dut.core_start):
                mnk = tuple(ctx.get(getattr(dut, f"core_{d}")) for d in "mnk")
                cc = int(compute_cycles(cfg, GemmArrays.of(*mnk)).cycles_per_gemm[0])
                done_at.append(t + done_after + cc)
                busy_until = t + cc - pipeline_cycles(cfg)
                started = t
            if ctx.get(dut.dram_rd_req_valid):
                out["reads"].append((t, ctx.get(dut.dram_rd_req_addr), ctx.get(dut.dram_rd_req_len)))
                responses.append(t + latency)
            ctx.set(dut.dram_rd_data_valid, bool(responses) and responses[0] == t)
            if responses and responses[0] == t:
                responses.popleft()
            if ctx.get(dut.dram_wr_valid):
                out["writes"].append((t, ctx.get(dut.dram_wr_addr), ctx.get(dut.dram_wr_len)))
            for x in "AB":
                out["fill_words"][x] += bin(ctx.get(getattr(dut, f"fill_{x.lower()}_en"))).count("1")
            await ctx.tick()
        raise AssertionError("the layer did not finish")

    simulate(dut, bench)
    return out


def _beats(rows: np.ndarray) -> list[tuple[int, int, int]]:
    """Trace rows [cycle, addr, addr+1, ..., -1 ...] as (cycle, first address, words)."""
    return [(int(r[0]), int(r[1]), int((r[1:] >= 0).sum())) for r in rows]


@pytest.mark.parametrize("tile_overlap", [False, True], ids=["tiles-serial", "tiles-overlap"])
@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
@pytest.mark.parametrize("shape", SHAPES)
def test_steps_and_dram_traffic_are_the_models(dataflow, shape, tile_overlap):
    cfg = ArrayConfig(name="ctrl", dataflow=dataflow, tile_overlap=tile_overlap, **SMALL)
    got = _run(cfg, *shape)
    gemm = GemmArrays.of(*shape)
    sched = schedule(cfg, gemm)
    memory = memory_cycles(cfg, gemm)
    steps, tiles = sched.steps, sched.tiles
    computed = steps.compute_tile >= 0
    want_starts = [
        (int(s) - 1, *(int(tiles.origin(d)[j]) for d in "mnk"), *(int(tiles.ext(d)[j]) for d in "mnk"))
        for s, j in zip(steps.start[computed], steps.compute_tile[computed], strict=True)
    ]
    assert got["starts"] == want_starts  # each tile started in the barrier cycle before its step
    traces = collect(layer_traces(cfg, sched, 0, *shape), trace_widths(cfg))
    want_reads = sorted(_beats(traces["IFMAP_DRAM_TRACE"]) + _beats(traces["FILTER_DRAM_TRACE"]))
    assert got["reads"] == want_reads
    assert got["writes"] == _beats(traces["OFMAP_DRAM_TRACE"])
    assert got["fill_words"] == {"A": memory.sram_writes["ifmap"][0], "B": memory.sram_writes["filter"][0]}
    assert got["busy"] == memory.cycles_per_gemm[0] and got["done"] == 1


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_the_layers_reuse_operand_tiles_and_split_k(dataflow):
    cfg = ArrayConfig(dataflow=dataflow, **SMALL)
    plans = {shape: schedule(cfg, GemmArrays.of(*shape)) for shape in SHAPES}
    assert plans[(5, 6, 7)].tiles.load_b.sum() < plans[(5, 6, 7)].tiles.layer.size  # some B tile is kept
    assert plans[(2, 12, 3)].tiles.load_a.sum() < plans[(2, 12, 3)].tiles.layer.size  # some A tile is kept
    assert plans[(4, 5, 20)].plan.count_k[0] > 1  # C accumulates over k tiles, drained after the last


@pytest.mark.parametrize(("divisor", "max_value"), [(1, 50), (3, 200), (4, 200), (5, 1000), (12, 65535)])
def test_div_const_is_exact_over_its_range(divisor, max_value):
    from amaranth.hdl import Module, Signal
    from amaranth.sim import Simulator

    value = Signal(range(max_value + 1))
    quotient = Signal(range(max_value + 1))
    m = Module()
    m.d.comb += quotient.eq(div_const(value, divisor, max_value))
    values = sorted({*range(min(max_value, 300) + 1), *range(max(max_value - 300, 0), max_value + 1)})
    got = []

    async def bench(ctx):
        for v in values:
            ctx.set(value, v)
            got.append((v, ctx.get(quotient)))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert got == [(v, v // divisor) for v in values]


def test_ports_are_the_accelerators_plus_the_inner_ones():
    cfg = ArrayConfig(dataflow=Dataflow.WS, **SMALL)
    dut = Controller(cfg)
    geo = geometry(cfg)
    assert set(controller_ports(cfg)) < set(dut.signature.members)
    assert len(dut.dram_rd_req_addr) == len(dut.dram_wr_addr) == 48
    assert len(dut.dram_rd_req_len) == len(dut.dram_wr_len) == 2  # 0..bw
    assert len(dut.dram_rd_data) == 2 * 8 and len(dut.dram_wr_data) == 2 * cfg.acc_bits
    assert (len(dut.fill_a_en), len(dut.fill_b_en)) == (geo["A"].lanes, geo["B"].lanes)
    assert len(dut.drain_rd_data) == geo["C"].lanes * cfg.acc_bits


def test_the_config_must_be_an_array_config():
    with pytest.raises(TypeError, match="cfg must be an ArrayConfig, not dict"):
        Controller({"rows": 2})
