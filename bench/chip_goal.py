"""Time issue 19's goal: ResNet-18 on a 4x4-tile chip, pipelined over a batch, a mapping search over
>= 1,000 mappings plus the power and grid thermal transient of the best, under 10 s on 2 cores (SAfEPaTh,
arXiv 2407.17623, reports ~500 s for one mapping's estimate). Then per-tile DTM against the unmanaged run.

Usage: python bench/chip_goal.py [--chip configs/chip-4x4.toml] [--mappings 1000] [--items 8]
       [--limit-c 46.4] [--repeat 3]

Times the whole command as a fresh process (``systolic run --arch CHIP --topology resnet18 --mapping
search``: Python start-up, imports, every stage), then ``systolic.flow.chip.chip_run`` in-process (share
costs, search, power, grid transient; every run and their median), prints the best mapping, then one run
with the DTM limit and each policy's peak and cost.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 10.0
ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chip", default=str(ROOT / "configs" / "chip-4x4.toml"))
    ap.add_argument("--mappings", type=int, default=1000)
    ap.add_argument("--items", type=int, default=8)
    ap.add_argument("--limit-c", type=float, default=46.4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    from systolic.chip_config import load_chip
    from systolic.flow.chip import ChipOptions, chip_run, report_lines
    from systolic.formats.calibration import load_calibration
    from systolic.zoo import resnet18

    cmd = [sys.executable, "-m", "systolic.cli", "run", "--arch", args.chip, "--topology", "resnet18"]
    cmd += ["--mapping", "search", "--mappings", str(args.mappings), "--items", str(args.items)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    cold = time.perf_counter() - start
    print(f"systolic run ... --mapping search as a fresh process: {cold:.2f} s (goal < {GOAL_S:g} s)")
    chip, wl = load_chip(args.chip), resnet18()
    calibration, _ = load_calibration()
    opts = ChipOptions(mapping="search", items=args.items, count=args.mappings)
    times, r = [], None
    for _ in range(args.repeat):
        start = time.perf_counter()
        r = chip_run(chip, wl, opts, calibration)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    for line in report_lines(r):
        print(line)
    verdict = "met" if median < GOAL_S else "NOT met"
    print(
        f"search over {r.candidates.maps.count:,} mappings + power + grid transient ({r.power_w.shape[0]} "
        f"intervals) in-process: {', '.join(f'{t:.2f}' for t in times)} s, median {median:.2f} s "
        f"(goal < {GOAL_S:g} s: {verdict})"
    )
    managed = ChipOptions(
        mapping="search", items=args.items, count=args.mappings, temp_limit_k=args.limit_c + 273.15
    )
    start = time.perf_counter()
    r = chip_run(chip, wl, managed, calibration)
    seconds = time.perf_counter() - start
    for line in report_lines(r)[-4:-1]:
        print(line)
    print(f"with DTM (unmanaged, per-tile DVFS, migration): {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
