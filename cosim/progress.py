"""How long a co-simulation will take, and how far it has got while it runs.

The testbench steps every clock cycle in Python (cocotb), so a simulation's speed is set by the cycles it runs
and by the lanes the harness drives and samples each cycle (rows + cols of the array), far more than by the
simulator's own speed. :data:`LANE_CYCLES_PER_S` is that rate, measured on this project's machines (2 cores,
shared): ``systolic cosim --arch small-8x8 --gemm 64,64,256`` (the whole accelerator, 25,753 cycles, 16
lanes) took 24.8 s of wall time under Icarus and 9.6 s under Verilator, with both cores busy.

The testbench writes the cycles it has simulated to a small JSON file every :data:`EVERY_CYCLES` cycles
(:func:`write`); :class:`Monitor` reads it from a thread of the runner's process and prints the cycles
done, the rate and the time left.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from systolic.config import ArrayConfig

#: Lane-cycles per second the testbench reaches (see the module docstring).
LANE_CYCLES_PER_S = {"icarus": 16 * 25_753 / 24.8, "verilator": 16 * 25_753 / 9.6}
#: Simulations estimated longer than this get progress lines; on Icarus, the advice to use Verilator.
LONG_S = 60.0
#: How often the testbench writes its progress (cycles).
EVERY_CYCLES = 4096


def estimate_s(cfg: ArrayConfig, sim: str, cycles: int) -> float:
    """Seconds the testbench needs for ``cycles`` clock cycles of ``cfg`` under ``sim`` (an estimate)."""
    return cycles * (cfg.rows + cfg.cols) / LANE_CYCLES_PER_S[sim]


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def announce(cfg: ArrayConfig, sim: str, cycles: int) -> str:
    """The line printed before a simulation: the model's cycle count, the estimate and, for a long Icarus
    run, how much faster Verilator would be."""
    est = estimate_s(cfg, sim, cycles)
    line = f"cosim: the model says {cycles:,} cycles; about {duration(est)} under {sim} on this machine"
    if sim == "icarus" and est > LONG_S:
        line += f" (--sim verilator: about {duration(estimate_s(cfg, 'verilator', cycles))} plus its build)"
    return line


def write(path: str | None, cycles: int) -> None:
    """Record ``cycles`` simulated so far (called by the testbench; atomic, so a reader never sees half)."""
    if not path:
        return
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump({"cycles": cycles, "time": time.time()}, f)
    os.replace(tmp, path)


class Monitor:
    """Prints ``cycles done of total, rate, time left`` from the testbench's progress file every
    ``period_s`` seconds while a simulation runs (``with Monitor(path, total): ...``)."""

    def __init__(self, path: Path, total: int, period_s: float = 10.0, out=sys.stderr):
        self.path, self.total, self.period_s, self.out = Path(path), max(1, total), period_s, out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.lines: list[str] = []

    def __enter__(self) -> Monitor:
        self.path.unlink(missing_ok=True)
        self._start = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def line(self, cycles: int, elapsed_s: float) -> str:
        rate = cycles / elapsed_s if elapsed_s > 0 else 0.0
        left = (self.total - cycles) / rate if rate > 0 else float("inf")
        eta = duration(left) if left != float("inf") else "unknown"
        share = 100 * min(cycles, self.total) / self.total
        return (
            f"cosim: {cycles:,} of {self.total:,} cycles ({share:.0f}%), {rate:,.0f} cycles/s, "
            f"{duration(elapsed_s)} so far, about {eta} left"
        )

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                cycles = int(json.loads(self.path.read_text())["cycles"])
            except (OSError, ValueError, KeyError):
                continue  # not started yet (building, loading) or between two writes
            text = self.line(cycles, time.perf_counter() - self._start)
            self.lines.append(text)
            print(text, file=self.out, flush=True)
