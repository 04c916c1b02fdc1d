"""What a command may cost before it is refused: memory, time and output size, estimated from the inputs
before the expensive part runs (issue 17: refuse with the estimate instead of running for minutes into a
MemoryError or a full disk).

The estimates live next to what they estimate (``model/memory.py`` tiles, ``model/dvfs.py`` choices x steps,
``model/power.py`` intervals, ``model/thermal_size.py`` thermal models, ``formats/scalesim.py`` traces); the
RTL generator's cost is estimated here because ``hdl/`` imports nothing of the model or the flow. A command
checks each estimate with :func:`check`: over a budget it is refused in one line naming the estimate and
the limit; ``--force`` lifts the budgets, but never past the machine's physical memory.
"""

from __future__ import annotations

import os

from systolic.config import ArrayConfig
from systolic.errors import InputError

#: Memory one command may plan to use without --force.
MEMORY_BUDGET_BYTES = 4 << 30
#: Time one command may plan to take without --force.
TIME_BUDGET_S = 30 * 60.0
#: Output one command may plan to write without --force.
OUTPUT_BUDGET_BYTES = 10 << 30

#: RTL generation (Amaranth elaboration and Verilog export, the PE written once), measured with
#: ``systolic hdl`` on 8x8 (1.1 s of CPU, 146 MiB) and 128x128 (94 s, 1,805 MiB; bench/rtl_build.py):
#: about 6 ms and 0.11 MB per PE, plus a fixed 2 s and 150 MiB.
HDL_S_PER_PE = 0.006
HDL_BYTES_PER_PE = 110_000
HDL_FIXED_S = 2.0
HDL_FIXED_BYTES = 150 << 20


#: Simulated PE-cycles per second (README, "Speed": ``bench/sim_speed.py``, a 32x32 array, 2 cores).
SIM_PE_CYCLES_PER_S = {"icarus": 160_000.0, "verilator": 1_400_000.0}


def physical_memory_bytes() -> int:
    """This machine's physical memory (0 when it cannot be told)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (OSError, ValueError):
        return 0


def human_bytes(n: float) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("kiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} B"


def human_seconds(s: float) -> str:
    for unit, scale in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s:.3g} s"


def check(
    what: str,
    source: str,
    *,
    memory_bytes: float | None = None,
    seconds: float | None = None,
    output_bytes: float | None = None,
    force: bool = False,
) -> None:
    """Refuse ``what`` (e.g. ``"the grid model 5000x5000"``) when an estimate is over its budget.

    Raises
    ------
    InputError
        ``SOURCE: WHAT needs about X of memory (limit Y; --force to run anyway)``; with ``force`` only when
        the memory estimate is over the machine's physical memory.
    """
    ram = physical_memory_bytes()
    if memory_bytes is not None and ram and memory_bytes > ram:
        raise InputError(
            f"{what} needs about {human_bytes(memory_bytes)} of memory, more than this machine's "
            f"{human_bytes(ram)}",
            source,
        )
    if force:
        return
    over = []
    if memory_bytes is not None and memory_bytes > MEMORY_BUDGET_BYTES:
        over.append(f"about {human_bytes(memory_bytes)} of memory (limit {human_bytes(MEMORY_BUDGET_BYTES)})")
    if seconds is not None and seconds > TIME_BUDGET_S:
        over.append(f"about {human_seconds(seconds)} (limit {human_seconds(TIME_BUDGET_S)})")
    if output_bytes is not None and output_bytes > OUTPUT_BUDGET_BYTES:
        over.append(f"about {human_bytes(output_bytes)} of files (limit {human_bytes(OUTPUT_BUDGET_BYTES)})")
    if over:
        raise InputError(f"{what} needs {' and '.join(over)}; --force to run anyway", source)


def hdl_cost(cfg: ArrayConfig) -> tuple[float, float]:
    """(seconds, bytes) to generate the Verilog of ``cfg`` (see :data:`HDL_S_PER_PE`)."""
    pes = cfg.rows * cfg.cols
    return HDL_FIXED_S + HDL_S_PER_PE * pes, HDL_FIXED_BYTES + HDL_BYTES_PER_PE * pes


def check_hdl(cfg: ArrayConfig, force: bool, source: str = "--arch") -> None:
    """Refuse generating the RTL of an array too large to elaborate in the budgets."""
    seconds, memory = hdl_cost(cfg)
    check(
        f"the RTL of a {cfg.rows}x{cfg.cols} array ({cfg.rows * cfg.cols:,} PEs)",
        source,
        memory_bytes=memory,
        seconds=seconds,
        force=force,
    )


def check_intervals(cfg: ArrayConfig, end_s: float, interval: str | None, blocks: int, force: bool) -> None:
    """Refuse an interval longer than the whole window it cuts (``--interval 1e9s``: one interval, surely
    a slip), or so many intervals that power and temperature over them are over the budgets."""
    from systolic.model.power import interval_cost, interval_count

    step, n = interval_count(cfg, end_s, interval)
    if interval is not None and step > end_s * (1 + 1e-9):
        raise InputError(f"{step:g} s is longer than the whole run ({end_s:.6g} s)", "interval")
    seconds, memory = interval_cost(n, blocks)
    what = f"power and temperature over {n:,} intervals of {step:.4g} s and {blocks} blocks"
    check(what, "interval", memory_bytes=memory, seconds=seconds, force=force)


def cosim_seconds(cfg: ArrayConfig, cycles: int, sim: str) -> float:
    """Seconds to simulate ``cycles`` cycles of ``cfg``'s array under ``sim`` (the build not included)."""
    return float(cycles) * cfg.rows * cfg.cols / SIM_PE_CYCLES_PER_S[sim]
