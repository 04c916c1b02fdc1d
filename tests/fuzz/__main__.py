"""``python -m tests.fuzz [--fast] [--in-process] [--only PREFIX] [--keep DIR]``: run the corpus, print each
failure and the counts per category; exit 1 when any case breaks the contract."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from .corpus import corpus
from .runner import run_all


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    p.add_argument("--fast", action="store_true", help="only the fast tier's cases (those make test runs)")
    p.add_argument(
        "--in-process", action="store_true", help="run cases in this process (default: each a subprocess)"
    )
    p.add_argument("--only", default="", metavar="PREFIX", help="only cases whose name starts with PREFIX")
    p.add_argument("--generated", type=int, default=200, metavar="N", help="drawn cases (default 200)")
    p.add_argument("--keep", metavar="DIR", help="run in DIR and keep the case folders")
    p.add_argument("--verbose", "-v", action="store_true", help="print every case, not only failures")
    args = p.parse_args()
    cases = [c for c in corpus(args.generated) if c.name.startswith(args.only) and not (args.fast and c.deep)]
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="systolic-fuzz-"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    start = time.perf_counter()

    def echo(outcome) -> None:
        if args.verbose or outcome.category not in ("ok", "refused"):
            print(outcome.line(), flush=True)

    report = run_all(cases, root, isolate=None if args.in_process else True, echo=echo)
    print(report.table())
    print(f"{time.perf_counter() - start:.0f} s; case folders in {root}")
    return 1 if report.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
