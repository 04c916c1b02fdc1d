"""Time a 10,000-point design-space sweep of ResNet-50 (goal, issue #8: under 60 s on 2 cores).

Usage: python bench/sweep_speed.py [--spec bench/specs/resnet50_10k.toml] [--workers 2]

Runs ``systolic sweep`` end to end as a subprocess (Dask local cluster start-up, every point, Parquet and
CSV outputs, the Pareto front) into a fresh folder and prints the wall time, the points per second and the
ratio to the goal.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 60.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(ROOT / "bench" / "specs" / "resnet50_10k.toml"))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="sweep-bench-")) / "out"
    cmd = [sys.executable, "-m", "systolic.cli", "sweep", args.spec, "--out", str(out), "--quiet"]
    cmd += ["--workers", str(args.workers)]
    start = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if res.returncode:
        print(res.stderr, file=sys.stderr)
        return res.returncode
    print(res.stdout.strip())
    points = int(res.stdout.split(" points")[0].replace(",", ""))
    print(
        f"sweep wall time {wall:.1f} s for {points:,} points ({points / wall:,.0f} points/s); "
        f"goal {GOAL_S:.0f} s: {wall / GOAL_S:.2f}x of the goal ({'met' if wall < GOAL_S else 'NOT met'})"
    )
    shutil.rmtree(out.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
