"""RTL simulation speed: build time and run speed (PE-cycles per second) under Icarus and Verilator.

Usage: python bench/sim_speed.py [--size 32] [--gemm 256,256,256] [--sim icarus verilator] [--fresh]

Default: a 32x32 array of each dataflow running 256x256x256. ``--fresh`` discards cached builds so the
build time is measured from scratch (otherwise a cached build shows as ~0 s). PE-cycles per second =
rows x cols x simulated cycles / wall time of the simulation (testbench included).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.runner import GemmCase, build, run_cases

ROOT = Path(__file__).resolve().parent.parent / "build" / "bench-sim"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--gemm", default="256,256,256")
    ap.add_argument("--sim", nargs="+", default=["icarus", "verilator"])
    ap.add_argument("--dataflow", nargs="+", default=[d.value for d in Dataflow])
    ap.add_argument("--fresh", action="store_true")
    args = ap.parse_args(argv)
    m, n, k = (int(x) for x in args.gemm.split(","))
    if args.fresh and ROOT.exists():
        shutil.rmtree(ROOT)
    print(f"{'sim':<10}{'config':<16}{'build s':>9}{'run s':>8}{'cycles':>10}{'PE-cycles/s':>14}  ok")
    for sim in args.sim:
        for df in args.dataflow:
            cfg = ArrayConfig(name=f"bench{args.size}", rows=args.size, cols=args.size, dataflow=Dataflow(df))
            start = time.perf_counter()
            build(cfg, sim, root=ROOT)
            build_s = time.perf_counter() - start
            start = time.perf_counter()
            (row,) = run_cases(cfg, sim, [GemmCase(m, n, k, seed=1)], root=ROOT, run_name="speed")
            run_s = time.perf_counter() - start
            rate = cfg.rows * cfg.cols * row.rtl_cycles / run_s
            print(
                f"{sim:<10}{cfg.name + '-' + df:<16}{build_s:>9.1f}{run_s:>8.1f}{row.rtl_cycles:>10}"
                f"{rate:>14,.0f}  {'yes' if row.ok else 'NO'}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
