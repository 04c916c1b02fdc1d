"""cocotb testbench: runs the GEMM cases of ``$SYSTOLIC_COSIM`` on ``systolic_top``, writes what it measured.

Glue only: the memory model, the output accumulation, the checker and the cycle counter are the
simulator-independent :class:`systolic.cosim.harness.GemmHarness`, which the amaranth.sim tests drive too;
the per-cycle loop is :mod:`systolic.cosim.tb_common`'s. Every cycle, at the falling clock edge, the DUT's
outputs are sampled and handed to the harness, and the inputs it returns are driven; the rising edge then
captures them.
"""

from __future__ import annotations

import cocotb

from systolic.cosim.harness import GemmHarness
from systolic.cosim.tb_common import run_spec


@cocotb.test()
async def gemm_cases(dut):
    """Every case of the spec, one after the other, on one build."""
    await run_spec(
        dut,
        GemmHarness,
        # junk on unrequested lanes: the DUT must mask them
        make=lambda cfg, a, b, case: GemmHarness(cfg, a, b, junk_seed=case["seed"]),
        expected_cycles=lambda harness: harness.expected_cycles,
    )
