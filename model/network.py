"""A whole network through the memory model: what ``systolic run``'s reports, bounds and later stages start
from (the layers as GEMMs, the memory model's cycles and accesses, the array-only cycles and SCALE-Sim's
access windows)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.config import ArrayConfig
from systolic.workload import Workload

from .cycles import ComputeResult, GemmArrays, compute_cycles
from .grouped import lower_groups
from .memory import MemoryResult, Schedule, access_windows, memory_cycles


@dataclass(frozen=True, eq=False)
class NetworkRun:
    """The memory stage of a run.

    Attributes
    ----------
    gemm : GemmArrays
        The layers as GEMMs.
    memory : MemoryResult
        Cycles with stalls, SRAM and DRAM accesses, the tile plan and the timed steps.
    compute : ComputeResult
        The array alone (operands always ready).
    windows : dict of str to numpy.ndarray
        ``'<buffer>_sram'``/``'<buffer>_dram'`` -> ``[layer, 2]`` first and last cycle of those accesses.
    """

    gemm: GemmArrays
    memory: MemoryResult
    compute: ComputeResult
    windows: dict[str, np.ndarray]

    @property
    def schedule(self) -> Schedule:
        return self.memory.schedule


def network_run(cfg: ArrayConfig, workload: Workload) -> NetworkRun:
    """Every layer of ``workload`` through the memory model of ``cfg``, grouped convolutions in blocks
    (:func:`~.grouped.lower_groups`: pass a workload already lowered to have the entries match its
    layers one to one)."""
    workload = lower_groups(cfg, workload)
    gemm = GemmArrays.from_workload(workload)
    mem = memory_cycles(cfg, gemm, [layer.name for layer in workload])
    return NetworkRun(gemm, mem, compute_cycles(cfg, gemm), access_windows(cfg, gemm, mem.schedule))
