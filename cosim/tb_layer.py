"""cocotb testbench: runs the layer cases of ``$SYSTOLIC_COSIM`` on ``systolic_accel`` out of a DRAM model.

Glue only: the DRAM model, the monitors (cycles, SRAM and DRAM words, traces) and the checker are the
simulator-independent :class:`systolic.cosim.mem_harness.LayerHarness`, which the amaranth.sim tests drive
too; the per-cycle loop is :mod:`systolic.cosim.tb_common`'s. Every cycle, at the falling clock edge, the
DUT's outputs and the monitored internal signals (the array's memory-side ports, the controller's compute
tile) are sampled and handed to the harness, and the inputs it returns are driven. The model's traces of
the same layer are generated here and compared row for row with the recorded ones.
"""

from __future__ import annotations

import cocotb
import numpy as np

from systolic.config import ArrayConfig
from systolic.cosim.conv import block_tensors, conv_tensors
from systolic.cosim.mem_harness import LayerHarness
from systolic.cosim.tb_common import run_spec
from systolic.model.cycles import GemmArrays
from systolic.model.memory import memory_cycles
from systolic.model.traces import collect, layer_traces, trace_widths
from systolic.workload import ConvShape


def _model(cfg: ArrayConfig, harness: LayerHarness):
    return memory_cycles(cfg, GemmArrays.of(harness.m, harness.n, harness.k, conv=[harness.conv]))


def _harness(cfg: ArrayConfig, a: np.ndarray, b: np.ndarray, case: dict) -> LayerHarness:
    """The case's harness; a random convolution also brings its shape and NHWC ifmap (``conv_native``)."""
    if not case.get("conv") or case.get("operands"):
        return LayerHarness(cfg, a, b)
    shape = ConvShape(**case["conv"])
    ifmap, filters = conv_tensors(cfg, shape, np.random.default_rng(case["seed"]))  # case_operands' draw
    if case.get("blocks"):  # a block of groups: the dense convolution of its channel slice
        ifmap, _ = block_tensors(ifmap, filters, shape, case["first_group"], case["blocks"])
        shape = shape.block(case["blocks"])
    return LayerHarness(cfg, a, b, shape, ifmap)


def _memory_results(cfg: ArrayConfig, harness: LayerHarness) -> dict:
    recorded = harness.trace_arrays()
    sched = _model(cfg, harness).schedule
    model = collect(layer_traces(cfg, sched, 0, harness.m, harness.n, harness.k), trace_widths(cfg))
    return {
        "counts": harness.counts,
        "tile": list(harness.tile),
        "traces_match": all(np.array_equal(recorded[name], model[name]) for name in recorded),
        "trace_rows": {name: int(rows.shape[0]) for name, rows in recorded.items()},
    }


@cocotb.test()
async def layer_cases(dut):
    """Every case of the spec, one after the other, on one build."""
    await run_spec(
        dut,
        LayerHarness,
        make=_harness,
        expected_cycles=lambda harness: int(_model(harness.cfg, harness).cycles[0]),
        extra=_memory_results,
    )
