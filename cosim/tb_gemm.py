"""cocotb testbench: runs the GEMM cases of ``$SYSTOLIC_COSIM`` on ``systolic_top``, writes what it measured.

Glue only: the memory model, the output accumulation, the checker and the cycle counter are the
simulator-independent :class:`systolic.cosim.harness.GemmHarness`, which the amaranth.sim tests drive too.
Every cycle, at the falling clock edge, the DUT's outputs are sampled and handed to the harness, and the
inputs it returns are driven; the rising edge then captures them.
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
from systolic.cosim.harness import GemmHarness, random_operands, reference
from systolic.fileio import atomic_write_json
from systolic.workload import ConvShape

CLOCK_NS = 10


async def _run_one(dut, harness: GemmHarness, limit: int) -> int:
    """Drive one GEMM to completion; return the number of simulated clock cycles it took."""
    names = harness.output_ports
    drive = harness.inputs_for_start()
    for cycle in range(limit):
        for name, value in drive.items():
            getattr(dut, name).value = value
        await FallingEdge(dut.clk)
        sampled = {name: int(getattr(dut, name).value) for name in names}
        drive = harness.step(sampled)
        if harness.done:
            for name, value in drive.items():
                getattr(dut, name).value = value
            return cycle + 1
    raise TimeoutError(f"no 'done' after {limit} cycles")


@cocotb.test()
async def gemm_cases(dut):
    """Every case of the spec, one after the other, on one build."""
    spec = json.loads(os.environ["SYSTOLIC_COSIM"])
    cfg = ArrayConfig.from_dict(spec["config"])
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    dut.rst.value = 1
    for name, value in GemmHarness.idle_inputs(cfg).items():
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
        harness = GemmHarness(cfg, a, b, junk_seed=case["seed"])  # junk on unrequested lanes: DUT must mask
        try:
            sim_cycles = await _run_one(dut, harness, limit=4 * harness.expected_cycles + 1000)
        except TimeoutError as err:
            results.append({"error": str(err)})
            break
        want = reference(cfg, a, b)
        got = harness.result
        mismatches = int(np.count_nonzero(got != want))
        if case.get("conv"):  # the convolution computed directly, not through im2col
            direct = direct_conv(cfg, ifmap, filters, shape).reshape(got.shape)
            mismatches = max(mismatches, int(np.count_nonzero(got != direct)))
        results.append(
            {
                "cycles": harness.cycles,
                "outputs_match": mismatches == 0,
                "mismatches": mismatches,
                "sim_cycles": sim_cycles,
                "problems": harness.problems[:20],
            }
        )
        await ClockCycles(dut.clk, 2)
    atomic_write_json(spec["out"], {"cases": results})
    assert all("error" not in r for r in results), results
