"""Toggle-extraction speed: MB of VCD per second for each reader of ``cosim/toggles.py``.

Usage: python bench/vcd_speed.py [--size 16] [--gemm 64,64,64] [--dataflow ws] [--sim icarus]
                                 [--reader fast vcdvcd] [--repeat 3] [--vcd FILE]

Generates a VCD by running one GEMM on a ``size`` x ``size`` array with waves on (cached under
``build/bench-vcd``; delete it to regenerate), or takes ``--vcd``. Each reader runs ``--repeat`` times and
the best wall time and the best CPU time are reported (the file is in the page cache after the first run;
CPU time is the fairer number on a shared machine), with a check that every reader gives the same
per-signal counts.
"""

from __future__ import annotations

import argparse
import math
import resource
import time
from pathlib import Path

import numpy as np

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.runner import GemmCase, run_cases
from systolic.cosim.toggles import count_toggles

ROOT = Path(__file__).resolve().parent.parent / "build" / "bench-vcd"


def make_vcd(size: int, gemm: str, dataflow: str, sim: str) -> Path:
    """A cached VCD of one GEMM on a ``size`` x ``size`` array."""
    m, n, k = (int(x) for x in gemm.split(","))
    cfg = ArrayConfig(name=f"vcd{size}", rows=size, cols=size, dataflow=Dataflow(dataflow))
    name = f"{dataflow}-{m}x{n}x{k}"
    cached = next((ROOT / "sim" / sim).glob(f"{cfg.slug}-waves/runs/{name}/*.vcd"), None)
    if cached is not None:
        return cached
    start = time.perf_counter()
    (row,) = run_cases(cfg, sim, [GemmCase(m, n, k, seed=1)], waves=True, root=ROOT, run_name=name)
    print(f"generated {row.waves} in {time.perf_counter() - start:.1f} s (outputs ok: {row.ok})")
    return Path(row.waves)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--gemm", default="64,64,64")
    ap.add_argument("--dataflow", default="ws")
    ap.add_argument("--sim", default="icarus")
    ap.add_argument("--reader", nargs="+", default=["fast", "vcdvcd"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--vcd", type=Path)
    args = ap.parse_args(argv)
    vcd = args.vcd or make_vcd(args.size, args.gemm, args.dataflow, args.sim)
    size_mb = vcd.stat().st_size / 1e6
    print(f"{vcd}: {size_mb:.1f} MB")
    print(f"{'reader':<8}{'wall s':>8}{'MB/s':>8}{'CPU s':>8}{'MB/s CPU':>10}{'toggles':>14}  same as first")
    first = None
    for reader in args.reader:
        best_cpu, best = math.inf, None
        for _ in range(args.repeat):
            cpu = time.process_time()
            run = count_toggles(vcd, reader=reader)
            best_cpu = min(best_cpu, time.process_time() - cpu)
            best = run if best is None or run.seconds < best.seconds else best
        first = first or best
        same = np.array_equal(best.per_signal, first.per_signal)
        print(
            f"{reader:<8}{best.seconds:>8.2f}{best.mb_per_s:>8.1f}{best_cpu:>8.2f}{size_mb / best_cpu:>10.1f}"
            f"{int(best.per_class.sum()):>14,}  {same}"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
