"""Regenerate HotSpot's reference outputs for the test cases in tests/data/hotspot/.

Each case folder holds its inputs and ``cmd.txt``: a ``# builds: superlu default`` line naming the HotSpot
builds to run (``default``: HotSpot's build without SuperLU, which needs power-of-two grids) and the HotSpot
command lines, run in that order in a copy of the folder. The files each build writes go to
``<case>/<build>/``, grid transient files (``*.grid.ttrace``) cut to their first and last time steps to
keep the data small. Both builds are compiled from the HotSpot source (uvahotspot/HotSpot) into
build/peers/hotspot and build/peers/hotspot-default by bench/hotspot_speed.py's builder.

    python bench/hotspot_refs.py [--hotspot-src DIR] [CASE ...]

Without case names every case folder whose cmd.txt names its builds is regenerated. Prints each build's
wall time and the largest difference between the two builds per output file (their steady states agree;
their transients differ: one backward-Euler step per row against adaptive RK4).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hotspot_speed import REPO, build_hotspot, find_src

DATA = REPO / "tests" / "data" / "hotspot"
BUILDS = ("superlu", "default")


def read_cmd(case: Path) -> tuple[list[str], list[list[str]]]:
    """(builds, HotSpot argument lists) of a case's cmd.txt."""
    builds, runs = [], []
    for line in (case / "cmd.txt").read_text().splitlines():
        if line.startswith("# builds:"):
            builds = line.split(":", 1)[1].split()
        elif line.startswith("hotspot "):
            runs.append(shlex.split(line)[1:])
    unknown = set(builds) - set(BUILDS)
    if not builds or not runs or unknown:
        sys.exit(f"{case / 'cmd.txt'}: needs a '# builds:' line ({', '.join(BUILDS)}) and hotspot lines")
    return builds, runs


def run_case(case: Path, binaries: dict[str, Path]) -> None:
    builds, runs = read_cmd(case)
    inputs = sorted(p for p in case.iterdir() if p.is_file())
    for build in builds:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for path in inputs:
                shutil.copy(path, work / path.name)
            start = time.perf_counter()
            for argv in runs:
                subprocess.run([str(binaries[build]), *argv], cwd=work, check=True, capture_output=True)
            seconds = time.perf_counter() - start
            out = case / build
            if out.exists():
                shutil.rmtree(out)
            out.mkdir()
            written = sorted(p.name for p in work.iterdir() if not (case / p.name).exists())
            for name in written:
                text = (work / name).read_text()
                if name.endswith(".grid.ttrace"):
                    text = first_and_last_steps(text)
                (out / name).write_text(text)
        print(f"{case.name:28s} {build:8s} {seconds:7.2f} s  {' '.join(written)}")
    if len(builds) == 2:
        compare_builds(case)


def first_and_last_steps(text: str) -> str:
    """A grid transient file cut to its first and last time steps (``t = ...`` blocks), to keep the
    test data small."""
    steps = ["t = " + part for part in text.split("t = ")[1:]]
    return steps[0] + steps[-1] if len(steps) > 1 else text


def compare_builds(case: Path) -> None:
    import numpy as np

    def values(path: Path) -> np.ndarray:
        rows = [line.split() for line in path.read_text().splitlines()]
        if path.name.endswith(".ttrace") and not path.name.endswith(".grid.ttrace"):
            return np.array(rows[1:], dtype=float)  # a header, then one row per trace row
        # name<TAB>T (.steady) or cell<TAB>T (grid files, between 'Layer n:' and 't = s' lines)
        return np.array([float(r[1]) for r in rows if len(r) == 2 and r[0] != "Layer"])

    for path in sorted((case / BUILDS[0]).iterdir()):
        a, b = values(path), values(case / BUILDS[1] / path.name)
        print(f"{'':28s} {path.name}: builds differ by up to {np.abs(a - b).max():.2f} K")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hotspot-src", help="HotSpot checkout or bare git directory")
    ap.add_argument("cases", nargs="*", help="case folders under tests/data/hotspot (default: all)")
    args = ap.parse_args()
    src = find_src(args.hotspot_src)
    binaries = {"superlu": build_hotspot(src, superlu=True), "default": build_hotspot(src, superlu=False)}
    # the copies of HotSpot's own examples have a cmd.txt without a builds line: they are not rerun
    ours = sorted(p.parent.name for p in DATA.glob("*/cmd.txt") if "# builds:" in p.read_text())
    for name in args.cases or ours:
        if name not in ours:
            sys.exit(f"no case {DATA / name} (a folder with a cmd.txt naming its builds)")
        run_case(DATA / name, binaries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
