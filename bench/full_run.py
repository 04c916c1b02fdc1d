"""Time one whole ``systolic run`` of ResNet-50 on 128x128 (goal, issue #8: everything under 1 s on 2 cores).

Usage: python bench/full_run.py [--arch tpu-v1-128] [--topology resnet50] [--repeat 5] [-- EXTRA RUN ARGS]

Runs ``systolic run --arch ARCH --topology NET --out DIR`` as a fresh process ``--repeat`` times (Python
start-up, imports, every model stage, every file including report.html) and prints the median wall time
against the goal; then the model's stages timed in-process (median over the same number of runs).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_S = 1.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="tpu-v1-128")
    ap.add_argument("--topology", default="resnet50")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("extra", nargs="*", help="more `systolic run` arguments (after --)")
    args = ap.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="full-run-")) / "r"
    cmd = [sys.executable, "-m", "systolic.cli", "run", "--arch", args.arch, "--topology", args.topology]
    cmd += ["--out", str(out), *args.extra]
    walls = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        if res.returncode:
            print(res.stderr, file=sys.stderr)
            return res.returncode
    print(res.stdout.strip())
    wall = statistics.median(walls)
    print(
        f"\nsystolic run {args.arch} {args.topology} {' '.join(args.extra)}: median wall {wall:.3f} s over "
        f"{args.repeat} runs (min {min(walls):.3f}, max {max(walls):.3f}); goal {GOAL_S:g} s: "
        f"{'met' if wall < GOAL_S else 'NOT met'}"
    )
    from systolic.cli import build_parser
    from systolic.cli.run import run_options
    from systolic.config import load_arch
    from systolic.flow.run import full_run
    from systolic.formats.network import load_workload

    opts = run_options(
        build_parser().parse_args(["run", "--arch", args.arch, "--topology", args.topology, *args.extra])
    )
    cfg, wl = load_arch(args.arch), load_workload(args.topology)
    stages: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for name, sec in full_run(cfg, wl, opts).stage_s.items():
            stages.setdefault(name, []).append(sec)
    print(
        "in-process stages (median ms): "
        + ", ".join(f"{k} {statistics.median(v) * 1e3:.1f}" for k, v in stages.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
