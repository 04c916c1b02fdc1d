"""``systolic sweep SPEC.toml``: many design points on Dask (``systolic.flow.sweep``), Pareto front."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from systolic.errors import InputError
from systolic.flow.sweep import load_spec, run_sweep


def add(sub: Any) -> None:
    """Register ``systolic sweep``."""
    p = sub.add_parser(
        "sweep",
        help="design points (grid or random) on Dask: accelerator configs over networks (the Pareto front "
        "of latency, energy and area) or, kind = 'llm', an LLM's best parallel plan over systems and "
        "technology (time, memory, energy)",
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
    p.set_defaults(func=_sweep)


def _sweep(args: Any) -> int:
    spec = load_spec(args.spec)
    if args.workers < 1:
        raise InputError(f"must be at least 1, not {args.workers}", "--workers")
    out = Path(args.out) if args.out else Path(Path(args.spec).stem + ".sweep")
    s = run_sweep(spec, out, args.scheduler, args.workers, progress=not args.quiet)
    resumed = f", {s['resumed_batches']} of {s['batches']} batches resumed" if s["resumed_batches"] else ""
    if s.get("kind") == "llm":
        what = f"{s['points']:,} points ({s['model']} {s['task']}, best plan each, on {s['system']})"
    else:
        what = f"{s['points']:,} points x {len(s['networks'])} network(s) ({', '.join(s['networks'])})"
    print(
        f"{what}: {s['feasible']:,} feasible, {s['pareto']} on the Pareto front of "
        f"{', '.join(s['objectives'])}; {s['seconds']:.1f} s{resumed}; "
        f"wrote {out}/points.parquet, points.csv, pareto.csv, summary.json"
    )
    return 0
