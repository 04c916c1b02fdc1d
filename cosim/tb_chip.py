"""cocotb testbench: runs the chip case of ``$SYSTOLIC_COSIM`` on ``systolic_chip``.

Glue only: the DRAM lanes, the interval monitors and the output check are the simulator-independent
:class:`systolic.cosim.chip_harness.ChipHarness`, which the amaranth.sim test drives too; the per-cycle
loop is :mod:`systolic.cosim.tb_common`'s. The RTL's start, finish and departure of every item at every
stage and link go to the results file; the runner compares them with the model's.
"""

from __future__ import annotations

import cocotb

from systolic.cosim.chip_harness import ChipCase, ChipHarness, case_tensors, chip_setup
from systolic.cosim.runner import read_spec
from systolic.cosim.tb_common import run_one, start_and_reset
from systolic.fileio import atomic_write_json


@cocotb.test()
async def chip_case(dut):
    spec = read_spec("SYSTOLIC_COSIM")
    case = ChipCase.from_dict(spec["case"])
    chip, pipe = chip_setup(case)
    inputs, weights = case_tensors(chip.tile, case)
    harness = ChipHarness(chip, pipe, case.batch, inputs, weights)
    await start_and_reset(dut, harness.idle_inputs())
    result: dict = {}
    try:
        result["sim_cycles"] = await run_one(dut, harness, int(spec["limit"]), spec.get("progress"))
    except TimeoutError as err:
        result["error"] = str(err)
    result |= {
        "cycles": harness.cycles,
        "mismatches": harness.mismatches(),
        "times": {k: v.tolist() for k, v in harness.times.items()},
        "problems": harness.problems[:20],
    }
    atomic_write_json(spec["out"], result)
    assert "error" not in result, result["error"]
