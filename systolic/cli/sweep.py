"""``systolic sweep SPEC.toml``: many design points on Dask (``systolic.flow.sweep``), Pareto front."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from systolic.errors import InputError
from systolic.flow.sweep import load_spec, run_sweep

from .common import add_force, existing_files


def add(sub: Any) -> None:
    """Register ``systolic sweep``."""
    p = sub.add_parser(
        "sweep",
        help="design points (grid or random) on Dask: accelerator configs over networks (the Pareto front "
        "of latency, energy and area), kind = 'llm', an LLM's best parallel plan over systems and "
        "technology (time, memory, energy), or kind = 'analog', an analog core's fields (accuracy, energy, "
        "latency)",
    )
    p.add_argument("spec", metavar="SPEC.toml", help="the sweep spec (format: README, 'Sweeps')")
    p.add_argument(
        "--out", metavar="DIR", help="results folder (default: SPEC's name + '.sweep' here); resumes"
    )
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="an existing Dask scheduler (default: a local cluster)"
    )
    p.add_argument("--workers", type=int, default=2, help="local cluster workers (default 2)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_force(p)
    p.set_defaults(func=_sweep)


#: Dask's address protocols (``distributed.comm``).
SCHEDULER_PROTOCOLS = ("tcp", "tls", "inproc", "ucx", "ws", "wss")


def max_workers() -> int:
    """Local workers allowed: twice the cores (the points are CPU-bound; each worker is a process)."""
    return 2 * (os.cpu_count() or 1)


def check_scheduler(address: str) -> None:
    """A Dask scheduler address: PROTOCOL://HOST[:PORT]."""
    from urllib.parse import urlsplit

    text = address.strip()
    parts = urlsplit(text)
    if parts.scheme not in SCHEDULER_PROTOCOLS or not parts.netloc or any(c.isspace() for c in text):
        raise InputError(
            f"expected PROTOCOL://HOST:PORT with PROTOCOL one of {', '.join(SCHEDULER_PROTOCOLS)}, e.g. "
            f"tcp://10.0.0.5:8786, not '{address}'",
            "--scheduler",
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise InputError(f"the port must be in 1..65535, in '{address}'", "--scheduler")


def _sweep(args: Any) -> int:
    from systolic.fileio import check_output

    if not 1 <= args.workers <= max_workers():
        raise InputError(f"must be in 1..{max_workers()}, not {args.workers}", "--workers")
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
    out = Path(args.out) if args.out is not None else Path(Path(args.spec).stem + ".sweep")
    check_output(out, existing_files(args.spec), folder=True)
    spec = load_spec(args.spec)
    inputs = [spec.path, *getattr(spec, "networks", ()), getattr(spec, "calibration", None)]
    check_output(out, existing_files(*(None if p is None else str(p) for p in inputs)), folder=True)
    s = run_sweep(
        spec, out, args.scheduler, args.workers, progress=not args.quiet, force=args.force, warn=_warn
    )
    resumed = f", {s['resumed_batches']} of {s['batches']} batches resumed" if s["resumed_batches"] else ""
    if s.get("kind") == "llm":
        what = f"{s['points']:,} points ({s['model']} {s['task']}, best plan each, on {s['system']})"
    elif s.get("kind") == "analog":
        what = f"{s['points']:,} points of {s['base']} ({s['network']}, {s['seeds']} noise seed(s) each)"
    else:
        what = f"{s['points']:,} points x {len(s['networks'])} network(s) ({', '.join(s['networks'])})"
    print(
        f"{what}: {s['feasible']:,} feasible, {s['pareto']} on the Pareto front of "
        f"{', '.join(s['objectives'])}; {s['seconds']:.1f} s{resumed}; "
        f"wrote {out}/points.parquet, points.csv, pareto.csv, summary.json"
    )
    return 0


def _warn(text: str) -> None:
    print(f"systolic sweep: warning: {text}", file=sys.stderr)
