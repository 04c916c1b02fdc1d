"""SCALE-Sim-compatible reports and traces of one model run (the edge where model results become files).

``COMPUTE_REPORT.csv``, ``BANDWIDTH_REPORT.csv`` and ``DETAILED_ACCESS_REPORT.csv`` have SCALE-Sim 3's headers
and layout (``LayerID, value, ...,`` with a trailing comma); cycles in the detailed report are counted from
each layer's first cycle, as SCALE-Sim counts them. Traces go to ``layer<i>/<NAME>.csv``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from systolic.config import ArrayConfig
from systolic.model.network import NetworkRun
from systolic.workload import Workload

COMPUTE_HEADER = (
    "LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, "
    "Mapping Efficiency %, Compute Util %,"
)
BANDWIDTH_HEADER = (
    "LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, "
    "Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,"
)
DETAIL_HEADER = (
    "LayerID, SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, "
    "SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, "
    "SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
    "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, "
    "DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, "
    "DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,"
)


def _num(x: Any) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    return str(int(x))


def _csv(header: str, rows: list[list[Any]]) -> str:
    lines = [header]
    lines += [f"{i}, " + ", ".join(_num(v) for v in row) + "," for i, row in enumerate(rows)]
    return "\n".join(lines) + "\n"


def report_texts(cfg: ArrayConfig, workload: Workload, run: NetworkRun) -> dict[str, str]:
    """The three SCALE-Sim reports as CSV text, keyed by file name."""
    mem, comp, win = run.memory, run.compute, run.windows
    pes = cfg.rows * cfg.cols
    cycles = mem.cycles
    rep = run.gemm.repeat
    compute_rows, bw_rows, detail_rows = [], [], []
    for i in range(len(workload)):
        compute_rows.append(
            [
                cycles[i],
                cycles[i],
                mem.stall_cycles[i],
                100.0 * mem.macs[i] / (cycles[i] * pes),
                100.0 * comp.mapping_efficiency[i],
                100.0 * mem.macs[i] / (mem.compute_cycles[i] * pes),
            ]
        )

        def dram_bw(buf: str, words: int, i: int = i) -> float:
            start, stop = win[f"{buf}_dram"][i]
            return words / (rep[i] * (stop - start + 1)) if start >= 0 else 0.0  # per GEMM, as SCALE-Sim

        bw_rows.append(
            [
                mem.sram_reads["ifmap"][i] / cycles[i],
                mem.sram_reads["filter"][i] / cycles[i],
                mem.sram_writes["ofmap"][i] / cycles[i],
                dram_bw("ifmap", mem.dram_reads["ifmap"][i]),
                dram_bw("filter", mem.dram_reads["filter"][i]),
                dram_bw("ofmap", mem.dram_writes["ofmap"][i]),
            ]
        )
        detail = []
        for key, count in (
            ("ifmap_sram", mem.sram_reads["ifmap"][i]),
            ("filter_sram", mem.sram_reads["filter"][i]),
            ("ofmap_sram", mem.sram_writes["ofmap"][i]),
            ("ifmap_dram", mem.dram_reads["ifmap"][i]),
            ("filter_dram", mem.dram_reads["filter"][i]),
            ("ofmap_dram", mem.dram_writes["ofmap"][i]),
        ):
            detail += [*win[key][i], count]
        detail_rows.append(detail)
    return {
        "COMPUTE_REPORT.csv": _csv(COMPUTE_HEADER, compute_rows),
        "BANDWIDTH_REPORT.csv": _csv(BANDWIDTH_HEADER, bw_rows),
        "DETAILED_ACCESS_REPORT.csv": _csv(DETAIL_HEADER, detail_rows),
    }


class _BatchedCsv:
    """One trace file: integer rows appended in chunks, turned into text about a million values at a time."""

    def __init__(self, path: Path):
        self.file = open(path, "wb")  # noqa: SIM115 (closed by close())
        self.chunks: list[np.ndarray] = []
        self.values = 0

    def append(self, rows: np.ndarray) -> None:
        self.chunks.append(rows)
        self.values += rows.size
        if self.values >= TRACE_BATCH_VALUES:
            self.flush()

    def flush(self) -> None:
        from systolic.fileio import int_csv_bytes

        if self.chunks:
            self.file.write(int_csv_bytes(np.concatenate(self.chunks)))
            self.chunks, self.values = [], 0

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.file.close()


TRACE_BATCH_VALUES = 1 << 20
#: Bytes per value of a trace file: addresses of up to eight digits (the default offsets are 10 and 20
#: million) and separators, "-1" for idle lanes (measured on the shipped configs: 3.5 to 9, mostly 6 to 9).
TRACE_BYTES_PER_VALUE = 8


def trace_size(cfg: ArrayConfig, run: NetworkRun) -> tuple[int, float]:
    """(rows, bytes) that :func:`write_traces` will write, estimated from the schedule before writing.

    DRAM traces have a row per beat (exact). The three SRAM traces have, together, about a row per cycle
    of the array's compute (measured 0.4 to 1.3 of it: the ports stream during different parts of a
    fold), so the total is within a factor of about 3 of the real size (ResNet-18 on ws-32x32: 1.6 GB).
    """
    from systolic.model.traces import trace_widths

    tiles, steps = run.schedule.tiles, run.schedule.steps
    widths = trace_widths(cfg)
    sram_rows = int(tiles.compute_cycles.sum())
    dram_rows = int(steps.read_beats.sum()) + int(steps.write_beats.sum())
    sram_width = sum(widths[f"{b}_SRAM_TRACE"] for b in ("IFMAP", "FILTER", "OFMAP")) / 3
    values = sram_rows * (1 + sram_width) + dram_rows * (1 + cfg.dram_bw_words_per_cycle)
    return sram_rows + dram_rows, values * TRACE_BYTES_PER_VALUE


def write_traces(cfg: ArrayConfig, workload: Workload, run: NetworkRun, out: Path) -> int:
    """Write each layer's six traces (``layer<i>/<NAME>.csv``) chunk by chunk; return the rows written."""
    import sys

    from tqdm import tqdm

    from systolic.model.traces import TRACE_NAMES, layer_traces

    gemm, sched = run.gemm, run.schedule
    rows = 0
    bar = tqdm(range(len(workload)), desc="traces", unit="layer", file=sys.stderr, delay=1.0)
    for i in bar:
        folder = out / f"layer{i}"
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as stack:
            files = {}
            for name in TRACE_NAMES:
                files[name] = _BatchedCsv(folder / f"{name}.csv")
                stack.callback(files[name].close)
            for name, chunk in layer_traces(cfg, sched, i, int(gemm.m[i]), int(gemm.n[i]), int(gemm.k[i])):
                files[name].append(chunk)
                rows += chunk.shape[0]
    return rows
