"""cocotb testbench: runs the layer cases of ``$SYSTOLIC_COSIM`` on ``systolic_accel`` out of a DRAM model.

Glue only: the DRAM model, the monitors (cycles, SRAM and DRAM words, traces) and the checker are the
simulator-independent :class:`systolic.cosim.mem_harness.LayerHarness`, which the amaranth.sim tests drive
too. Every cycle, at the falling clock edge, the DUT's outputs and the monitored internal signals (the
array's memory-side ports, the controller's compute tile) are sampled and handed to the harness, and the
inputs it returns are driven. The model's traces of the same layer are generated here and compared row
for row with the recorded ones.
"""

from __future__ import annotations

import json
import os

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

from systolic.config import ArrayConfig
from systolic.cosim.conv import conv_tensors, direct_conv, im2col
from systolic.cosim.harness import random_operands
from systolic.cosim.mem_harness import LayerHarness
from systolic.fileio import atomic_write_json
from systolic.model.cycles import GemmArrays
from systolic.model.memory import memory_cycles, schedule
from systolic.model.traces import collect, layer_traces, trace_widths
from systolic.workload import ConvShape

CLOCK_NS = 10


def _handle(dut, name: str):
    obj = dut
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _sample(name: str, handle) -> int:
    value = handle.value
    if value.is_resolvable:
        return int(value)
    if name == "dram_wr_data":  # SRAM contents nobody wrote yet are X in Icarus; only read while valid
        return 0
    raise ValueError(f"{name} is {value} (not 0/1)")


async def _run_one(dut, harness: LayerHarness, limit: int) -> int:
    handles = {name: _handle(dut, name) for name in (*harness.output_ports, *harness.monitored)}
    drive = harness.inputs_for_start()
    for cycle in range(limit):
        for name, value in drive.items():
            getattr(dut, name).value = value
        await FallingEdge(dut.clk)
        sampled = {name: _sample(name, h) for name, h in handles.items()}
        drive = harness.step(sampled)
        if harness.done:
            for name, value in drive.items():
                getattr(dut, name).value = value
            return cycle + 1
    raise TimeoutError(f"no 'done' after {limit} cycles")


@cocotb.test()
async def layer_cases(dut):
    """Every case of the spec, one after the other, on one build."""
    spec = json.loads(os.environ["SYSTOLIC_COSIM"])
    cfg = ArrayConfig.from_dict(spec["config"])
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    dut.rst.value = 1
    for name, value in LayerHarness.idle_inputs(cfg).items():
        getattr(dut, name).value = value
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    results = []
    for case in spec["cases"]:
        rng = np.random.default_rng(case["seed"])
        if case.get("conv"):
            shape = ConvShape(**case["conv"])
            ifmap, filters = conv_tensors(cfg, shape, rng)
            a, b = im2col(ifmap, filters, shape)
        else:
            a, b = random_operands(cfg, case["m"], case["n"], case["k"], rng)
        harness = LayerHarness(cfg, a, b)
        gemm = GemmArrays.of(harness.m, harness.n, harness.k)
        expected = int(memory_cycles(cfg, gemm).cycles[0])
        try:
            sim_cycles = await _run_one(dut, harness, limit=4 * expected + 1000)
        except TimeoutError as err:
            results.append({"error": str(err)})
            break
        got, want = harness.result, harness.expected()
        mismatches = int(np.count_nonzero(got != want))
        if case.get("conv"):
            direct = direct_conv(cfg, ifmap, filters, shape).reshape(got.shape)
            mismatches = max(mismatches, int(np.count_nonzero(got != direct)))
        recorded = harness.trace_arrays()
        model = collect(
            layer_traces(cfg, schedule(cfg, gemm), 0, harness.m, harness.n, harness.k), trace_widths(cfg)
        )
        traces_match = all(np.array_equal(recorded[name], model[name]) for name in recorded)
        results.append(
            {
                "cycles": harness.cycles,
                "outputs_match": mismatches == 0,
                "mismatches": mismatches,
                "sim_cycles": sim_cycles,
                "problems": harness.problems[:20],
                "counts": harness.counts,
                "tile": list(harness.tile),
                "traces_match": traces_match,
                "trace_rows": {name: int(rows.shape[0]) for name, rows in recorded.items()},
            }
        )
        await ClockCycles(dut.clk, 2)
    atomic_write_json(spec["out"], {"cases": results})
    assert all("error" not in r for r in results), results
