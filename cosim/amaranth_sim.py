"""Run GEMMs on ``GemmEngine`` under Amaranth's Python simulator, driven by :class:`GemmHarness`.

The fastest tier: no Verilog, no compiler. The adapter is as thin as the cocotb one: once per cycle,
right after the rising edge (the outputs are registers, so this is the same as sampling at the falling
edge), it samples the DUT's outputs, calls :meth:`GemmHarness.step` and drives what it returns.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np
from amaranth.sim import Simulator

from systolic.config import ArrayConfig
from systolic.hdl.engine import GemmEngine

from .harness import GemmHarness

#: Simulated clock period (only the VCD's time axis depends on it).
CLOCK_PERIOD_S = 10e-9
#: Cycles allowed per GEMM beyond its expected count before the run is declared hung.
_SLACK_CYCLES = 64


def run_gemms(
    cfg: ArrayConfig,
    operands: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    junk_seed: int | None = 0,
    idle_cycles: int = 1,
    vcd: str | os.PathLike | None = None,
) -> list[GemmHarness]:
    """Run one GEMM per ``(a, b)`` pair back to back on one simulated ``GemmEngine(cfg)``.

    Parameters
    ----------
    cfg : ArrayConfig
        The configuration to elaborate.
    operands : sequence of (a, b)
        A[M, K] and B[K, N] for each GEMM.
    junk_seed : int, optional
        Passed to each harness: random junk on unrequested lanes (None: zeros).
    idle_cycles : int
        Cycles between one GEMM's ``done`` and the next ``start``.
    vcd : path, optional
        Write a VCD of the whole run.

    Returns
    -------
    list of GemmHarness
        One finished harness per GEMM (``result``, ``cycles``, ``problems``, ...).

    Raises
    ------
    TimeoutError
        A GEMM did not finish within its expected cycle count plus some slack.
    """
    dut = GemmEngine(cfg)
    harnesses = [
        GemmHarness(cfg, a, b, junk_seed=None if junk_seed is None else junk_seed + i)
        for i, (a, b) in enumerate(operands)
    ]
    limits = [h.expected_cycles + _SLACK_CYCLES for h in harnesses]
    _run_harnesses(cfg, dut, GemmHarness, harnesses, limits, idle_cycles=idle_cycles, vcd=vcd)
    return harnesses


def _run_harnesses(cfg, dut, harness_class, harnesses, limits, *, idle_cycles: int, vcd) -> None:
    """Drive each harness to its ``done`` in turn on one simulated ``dut``: once per cycle, right after the
    rising edge, sample its outputs and monitored internal signals (``submodule.signal``) and drive what
    :meth:`step` returns."""
    sys.set_int_max_str_digits(0)
    inputs = harness_class.idle_inputs(cfg)  # every input port (conv_native adds the convolution's)
    ports = {name: getattr(dut, name) for name in (*harness_class.output_ports, *inputs)}
    watched = harnesses[0].monitored if harnesses else ()
    for name in watched:
        sub, sig = name.split(".")
        ports[name] = getattr(getattr(dut, sub), sig)
    sampled_names = (*harness_class.output_ports, *watched)

    def drive(ctx, values: dict[str, int]) -> None:
        for name, value in values.items():
            ctx.set(ports[name], value)

    async def testbench(ctx):
        drive(ctx, harness_class.idle_inputs(cfg))
        await ctx.tick()
        for harness, limit in zip(harnesses, limits, strict=True):
            values = harness.inputs_for_start()
            for _ in range(limit):
                drive(ctx, values)
                await ctx.tick()
                values = harness.step({name: ctx.get(ports[name]) for name in sampled_names})
                if harness.done:
                    break
            else:
                raise TimeoutError(f"{harness.m}x{harness.n}x{harness.k}: no done")
            drive(ctx, values)
            for _ in range(idle_cycles):
                await ctx.tick()

    simulate(dut, testbench, vcd=vcd)


def simulate(dut, testbench, *, vcd: str | os.PathLike | None = None) -> None:
    """Run the async ``testbench(ctx)`` on ``dut`` with a clock on its ``sync`` domain, to its end."""
    sim = Simulator(dut)
    sim.add_clock(CLOCK_PERIOD_S)
    sim.add_testbench(testbench)
    if vcd is None:
        sim.run()
    else:
        with sim.write_vcd(os.fspath(vcd)):
            sim.run()


def run_gemm(cfg: ArrayConfig, a: np.ndarray, b: np.ndarray, **kwargs) -> GemmHarness:
    """:func:`run_gemms` for a single GEMM."""
    return run_gemms(cfg, [(a, b)], **kwargs)[0]


def run_layers(
    cfg: ArrayConfig,
    operands: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    idle_cycles: int = 1,
    vcd: str | os.PathLike | None = None,
    convs: Sequence | None = None,
) -> list:
    """Run one layer per ``(a, b)`` pair on one simulated ``Accelerator(cfg)``, out of the DRAM model.

    ``convs``: per layer None or ``(ConvShape, ifmap)`` (the convolution A is the im2col matrix of; with
    ``conv_native`` DRAM holds the NHWC ifmap). Returns the finished
    :class:`~systolic.cosim.mem_harness.LayerHarness` of each layer.
    """
    from systolic.hdl.accel import Accelerator
    from systolic.model.cycles import GemmArrays
    from systolic.model.memory import memory_cycles

    from .mem_harness import LayerHarness

    dut = Accelerator(cfg)
    convs = convs or [None] * len(operands)
    harnesses = [LayerHarness(cfg, a, b, *(cv or ())) for (a, b), cv in zip(operands, convs, strict=True)]
    limits = [
        2 * int(memory_cycles(cfg, GemmArrays.of(h.m, h.n, h.k, conv=[h.conv])).cycles[0]) + 200
        for h in harnesses
    ]
    _run_harnesses(cfg, dut, LayerHarness, harnesses, limits, idle_cycles=idle_cycles, vcd=vcd)
    return harnesses


def run_chip(harness, limit: int, *, vcd: str | os.PathLike | None = None):
    """Run a :class:`~systolic.cosim.chip_harness.ChipHarness`'s case on a simulated
    :class:`~systolic.hdl.chip.Chip` to its ``done``; return the harness."""
    from systolic.hdl.chip import Chip

    dut = Chip(harness.chip, harness.pipe)
    ports = {name: getattr(dut, name) for name in (*harness.output_ports, *harness.input_ports)}

    async def testbench(ctx):
        for name, value in harness.idle_inputs().items():
            ctx.set(ports[name], value)
        await ctx.tick()
        values = harness.inputs_for_start()
        for _ in range(limit):
            for name, value in values.items():
                ctx.set(ports[name], value)
            await ctx.tick()
            values = harness.step({name: ctx.get(ports[name]) for name in harness.output_ports})
            if harness.done:
                return
        raise TimeoutError(f"chip {harness.chip.name}: no done after {limit} cycles")

    simulate(dut, testbench, vcd=vcd)
    return harness
