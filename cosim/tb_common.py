"""The cocotb side shared by the testbenches: clock and reset, one case's operands, the per-cycle loop that
hands sampled signals to a simulator-independent harness, and the results file.

A harness (:class:`~systolic.cosim.harness.GemmHarness`, :class:`~systolic.cosim.mem_harness.LayerHarness`)
provides ``idle_inputs(cfg)``, ``inputs_for_start()``, ``step(sampled)``, ``done``, ``cycles``,
``result``, ``problems``, and the names it needs sampled: ``output_ports``, ``monitored`` (internal
signals as ``submodule.signal``) and ``may_be_unknown`` (signals that may hold X/Z, sampled as 0).
"""

from __future__ import annotations

from collections.abc import Callable

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge

from systolic.config import ArrayConfig
from systolic.fileio import atomic_write_json
from systolic.workload import ConvShape

from .conv import conv_tensors, direct_conv, group_block_im2col, im2col
from .harness import random_operands, reference
from .progress import EVERY_CYCLES
from .progress import write as write_progress

CLOCK_NS = 10


def case_operands(
    cfg: ArrayConfig, case: dict, spec: dict | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A, B of a spec case (given as files beside the spec, else seeded random), and for a random
    convolution its output computed directly (else None)."""
    if case.get("operands"):
        from .runner import spec_array

        return spec_array(spec, case["operands"][0]), spec_array(spec, case["operands"][1]), None
    rng = np.random.default_rng(case["seed"])
    if not case.get("conv"):
        a, b = random_operands(cfg, case["m"], case["n"], case["k"], rng)
        return a, b, None
    shape = ConvShape(**case["conv"])
    ifmap, filters = conv_tensors(cfg, shape, rng)
    direct = direct_conv(cfg, ifmap, filters, shape)
    if case.get("blocks"):  # a block of a grouped convolution: its GEMM and its output channels
        first, blocks, per = case["first_group"], case["blocks"], shape.filters // shape.groups
        a, b = group_block_im2col(ifmap, filters, shape, first, blocks)
        return a, b, direct[..., first * per : (first + blocks) * per]
    a, b = im2col(ifmap, filters, shape)
    return a, b, direct


def _handle(dut, name: str):
    obj = dut
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _sample(name: str, handle, may_be_unknown: tuple[str, ...]) -> int:
    value = handle.value
    if value.is_resolvable:
        return int(value)
    if name in may_be_unknown:
        return 0
    raise ValueError(f"{name} is {value} (not 0/1)")


async def start_and_reset(dut, idle_inputs: dict[str, int]) -> None:
    """Start the clock, hold reset for three cycles with the inputs idle, release it on a falling edge
    (Icarus starts registers as X: nothing may be driven before this)."""
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    dut.rst.value = 1
    _drive(dut, idle_inputs)
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


def _drive(dut, values: dict[str, int]) -> None:
    for name, value in values.items():
        getattr(dut, name).value = value


async def run_one(dut, harness, limit: int, progress: str | None = None, done_before: int = 0) -> int:
    """Drive one case to completion; return the number of simulated clock cycles it took. Every
    ``progress.EVERY_CYCLES`` cycles the total so far (``done_before`` + this case's) goes to ``progress``."""
    names = (*harness.output_ports, *harness.monitored)
    handles = {name: _handle(dut, name) for name in names}
    drive = harness.inputs_for_start()
    for cycle in range(limit):
        if progress and cycle % EVERY_CYCLES == 0:
            write_progress(progress, done_before + cycle)
        _drive(dut, drive)
        await FallingEdge(dut.clk)
        drive = harness.step({name: _sample(name, h, harness.may_be_unknown) for name, h in handles.items()})
        if harness.done:
            _drive(dut, drive)
            return cycle + 1
    raise TimeoutError(f"no 'done' after {limit} cycles")


async def run_spec(
    dut,
    harness_class: type,
    make: Callable[[ArrayConfig, np.ndarray, np.ndarray, dict], object],
    expected_cycles: Callable[[object], int],
    extra: Callable[[ArrayConfig, object], dict] | None = None,
) -> None:
    """Every case of ``$SYSTOLIC_COSIM``, one after the other, on one build; write what was measured.

    ``harness_class.idle_inputs(cfg)`` are driven during reset; ``make(cfg, a, b, case)`` builds a case's
    harness, ``expected_cycles(harness)`` bounds its run (four times the model's count plus slack), and
    ``extra(cfg, harness)`` adds testbench-specific results.
    """
    from .runner import read_spec

    spec = read_spec("SYSTOLIC_COSIM")
    cfg = ArrayConfig.from_dict(spec["config"])
    await start_and_reset(dut, harness_class.idle_inputs(cfg))
    results, done = [], 0
    for case in spec["cases"]:
        a, b, direct = case_operands(cfg, case, spec)
        harness = make(cfg, a, b, case)
        try:
            limit = 4 * expected_cycles(harness) + 1000
            sim_cycles = await run_one(dut, harness, limit, spec.get("progress"), done)
            done += sim_cycles
        except TimeoutError as err:
            results.append({"error": str(err)})
            break
        got = harness.result
        mismatches = int(np.count_nonzero(got != reference(cfg, a, b)))
        if direct is not None:  # the convolution computed directly, not through im2col
            mismatches = max(mismatches, int(np.count_nonzero(got != direct.reshape(got.shape))))
        results.append(
            {
                "cycles": harness.cycles,
                "outputs_match": mismatches == 0,
                "mismatches": mismatches,
                "sim_cycles": sim_cycles,
                "problems": harness.problems[:20],
                **(extra(cfg, harness) if extra else {}),
            }
        )
        await ClockCycles(dut.clk, 2)
    atomic_write_json(spec["out"], {"cases": results})
    assert all("error" not in r for r in results), results
