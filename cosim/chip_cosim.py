"""Build ``systolic_chip`` for a :class:`~systolic.cosim.chip_harness.ChipCase` and run it under Icarus or
Verilator (``tb_chip``); compare every stage's and link's start, finish and departure of every item with
the model's tandem line (:func:`~systolic.cosim.chip_harness.model_times`) and the outputs with NumPy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from systolic.errors import InputError

from .chip_harness import ChipCase, chip_setup, model_times
from .runner import ENV_VAR, CaseResult, compile_verilog, run_testbench

TB_CHIP = "systolic.cosim.tb_chip"


def describe(case: ChipCase) -> str:
    """``4 layers on 3 tiles, batch 5, FIFO 1`` for the matrix's table."""
    return (
        f"{len(case.layers)} layers on {max(case.stage_of) + 1} tiles, batch {case.batch}, "
        f"FIFO {case.fifo_depth}"
    )


def run_chip_case(case: ChipCase, sim: str, *, root: Path = Path("build"), waves: bool = False) -> CaseResult:
    """Run ``case`` on its chip's RTL under ``sim``; the result's cycles are the batch's makespan and its
    ``extra`` holds the largest interval difference of each kind (``intervals_match``: all 0)."""
    from systolic.hdl.generate import CHIP_TOP_NAME, chip_verilog_text, pe_module_name

    chip, pipe = chip_setup(case)
    model = model_times(chip, pipe, case.batch)
    makespan = int(model["depart"][-1, -1])
    bdir = compile_verilog(
        json.dumps(case.to_dict(), sort_keys=True),
        root / "sim" / sim / f"chip-{case.name}" / ("waves" if waves else "plain"),
        CHIP_TOP_NAME,
        lambda: chip_verilog_text(chip, pipe),
        sim,
        waves=waves,
        what=f"chip {case.name}",
        extra_key=["chip"],
        pe_module=pe_module_name("chip"),
    )
    spec = {"case": case.to_dict(), "limit": 4 * makespan + 1000}
    got, log, wall_s = run_testbench(
        chip.tile, sim, bdir, bdir / "runs" / "case", TB_CHIP, CHIP_TOP_NAME, ENV_VAR, spec, waves=waves
    )
    if got.get("problems"):
        raise InputError(f"{sim} chip {case.name}: protocol violations: {got['problems'][:3]}; see {log}")
    diffs = {k: int(np.abs(np.asarray(got["times"][k]) - model[k]).max()) for k in model}
    return CaseResult(
        config=chip.tile.to_dict(),
        arch=f"chip-{case.name}",
        dataflow=chip.tile.dataflow.value,
        array=f"{chip.tile.rows}x{chip.tile.cols} tiles",
        workload=describe(case),
        shape={
            "layers": [list(x) for x in case.layers],
            "stage_of": list(case.stage_of),
            "batch": case.batch,
        },
        simulator=sim,
        seed=case.seed,
        rtl_cycles=int(got["cycles"]),
        model_cycles=makespan,
        outputs_match=got["mismatches"] == 0,
        mismatches=int(got["mismatches"]),
        waves=str(bdir / "runs" / "case" / ("waves.vcd" if sim == "icarus" else "dump.vcd"))
        if waves
        else None,
        extra={
            "intervals_match": all(d == 0 for d in diffs.values()),
            "interval_differences": diffs,
            "rtl_times": got["times"],
            "model_times": {k: v.astype(int).tolist() for k, v in model.items()},
            "sim_wall_s": round(wall_s, 4),
            "sim_cycles_total": got.get("sim_cycles"),
        },
    )
