"""HotSpot 6 against systolic's thermal solver on HotSpot's ex2 grid transient (64x64 grid, 100 rows).

Builds HotSpot (uvahotspot/HotSpot, SuperLU build, as in the reference runs) into build/peers/hotspot
from a git snapshot, installing Debian's libsuperlu-dev and libblas-dev with apt when missing (as root),
then runs both on the inputs of shared/reference/hotspot/ex2_grid_transient (cmd.txt there) and prints
the wall times and their ratio. systolic is timed twice: the solver (read inputs, build the model,
steady state, 100 backward-Euler rows, write the outputs) in this process, and the whole ``systolic
thermal`` command including Python's start-up.

    python bench/hotspot_speed.py [--hotspot-src DIR] [--ref DIR] [--runs N]

``--hotspot-src`` is a checkout or a bare git directory of uvahotspot/HotSpot (default: the first of
$HOTSPOT_SRC and build/peers/hotspot-src).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PEERS = REPO / "build" / "peers"
DEFAULT_REF = Path(os.environ.get("SYSTOLIC_HOTSPOT_REF", REPO.parent / "shared" / "reference" / "hotspot"))
CASE = "ex2_grid_transient"
#: The reference run's command, without the program name (cmd.txt of the case).
ARGS = [
    "-c", "example.config", "-f", "ev6.flp", "-p", "gcc.ptrace", "-materials_file", "example.materials",
    "-model_type", "grid", "-steady_file", "gcc.steady", "-grid_steady_file", "gcc.grid.steady",
    "-o", "gcc.ttrace",
]  # fmt: skip
INPUTS = ("example.config", "ev6.flp", "gcc.ptrace", "example.materials")


def ensure_libs() -> None:
    """Install SuperLU and BLAS headers with apt when they are missing."""
    if Path("/usr/include/superlu/slu_ddefs.h").exists():
        return
    if os.geteuid() != 0:
        sys.exit("HotSpot's SuperLU build needs libsuperlu-dev and libblas-dev: apt-get install them as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "libsuperlu-dev", "libblas-dev", "make", "gcc"],
        check=True,
        env=env,
    )


def build_hotspot(src: Path) -> Path:
    """Build HotSpot with SuperLU in build/peers/hotspot; return the binary."""
    out = PEERS / "hotspot"
    binary = out / "hotspot"
    if binary.exists():
        return binary
    ensure_libs()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if (src / "HEAD").exists() and not (src / ".git").exists():  # a bare git directory
        archive = subprocess.run(
            ["git", f"--git-dir={src}", "archive", "HEAD"], check=True, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    else:
        shutil.copytree(src, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
    subprocess.run(["make", "-C", str(out), "SUPERLU=1", "hotspot"], check=True, capture_output=True)
    return binary


def find_src(arg: str | None) -> Path:
    candidates = [
        arg,
        os.environ.get("HOTSPOT_SRC"),
        PEERS / "hotspot-src",
        "/work/.mirror/uvahotspot+HotSpot/repo",
    ]
    for cand in candidates:
        if cand and Path(cand).exists():
            return Path(cand)
    sys.exit("no HotSpot source: pass --hotspot-src (a checkout of github.com/uvahotspot/HotSpot)")


def run_hotspot(binary: Path, ref: Path, work: Path) -> float:
    for name in INPUTS:
        shutil.copy(ref / name, work / name)
    start = time.perf_counter()
    subprocess.run([str(binary), *ARGS], cwd=work, check=True, capture_output=True)
    return time.perf_counter() - start


def run_systolic_inprocess(ref: Path, work: Path) -> float:
    """The solver as the command runs it, without interpreter start-up and imports."""
    from systolic.thermal_cli import add_thermal

    parser = argparse.ArgumentParser()
    add_thermal(parser.add_subparsers())
    args = parser.parse_args(["thermal", *ARGS])
    import numpy  # noqa: F401  (imported before the clock starts, as the command has it loaded)
    import scipy.sparse.linalg  # noqa: F401

    import systolic.hotspot_io  # noqa: F401
    import systolic.model.thermal  # noqa: F401

    cwd = Path.cwd()
    os.chdir(work)
    try:
        start = time.perf_counter()
        args.func(args)
        return time.perf_counter() - start
    finally:
        os.chdir(cwd)


def run_systolic_command(work: Path) -> float:
    code = (
        "import sys; from systolic import cli; from systolic.thermal_cli import add_thermal; "
        "cli.SUBCOMMANDS.append(add_thermal) if add_thermal not in cli.SUBCOMMANDS else None; "
        "sys.exit(cli.main(sys.argv[1:]))"
    )
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, "thermal", *ARGS], cwd=work, check=True, capture_output=True)
    return time.perf_counter() - start


def compare(ref_dir: Path, hs_dir: Path, sy_dir: Path) -> str:
    import numpy as np

    def load(path: Path) -> np.ndarray:
        return np.loadtxt(path, skiprows=1)

    d = np.abs(load(hs_dir / "gcc.ttrace") - load(sy_dir / "gcc.ttrace")).max()
    same = (hs_dir / "gcc.steady").read_text() == (sy_dir / "gcc.steady").read_text()
    return f"max |dT| HotSpot vs systolic over the .ttrace: {d:.3f} K; .steady identical: {same}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hotspot-src", help="HotSpot checkout or bare git directory")
    ap.add_argument("--ref", default=str(DEFAULT_REF), help="the HotSpot reference directory")
    ap.add_argument("--runs", type=int, default=3, help="systolic runs (the best is reported)")
    args = ap.parse_args()
    ref = Path(args.ref) / CASE
    if not ref.exists():
        sys.exit(f"no reference inputs at {ref} (set SYSTOLIC_HOTSPOT_REF or --ref)")
    binary = build_hotspot(find_src(args.hotspot_src))
    with tempfile.TemporaryDirectory() as tmp:
        hs_dir, sy_dir = Path(tmp, "hotspot"), Path(tmp, "systolic")
        hs_dir.mkdir()
        sy_dir.mkdir()
        for name in INPUTS:
            shutil.copy(ref / name, sy_dir / name)
        t_hs = run_hotspot(binary, ref, hs_dir)
        t_in = min(run_systolic_inprocess(ref, sy_dir) for _ in range(args.runs))
        t_cmd = min(run_systolic_command(sy_dir) for _ in range(args.runs))
        print(
            f"case: {CASE} (64x64 grid, 100 trace rows, SuperLU build of HotSpot), command: {' '.join(ARGS)}"
        )
        print(f"HotSpot 6 (SuperLU)                 {t_hs:8.2f} s")
        print(f"systolic thermal, solver in-process {t_in:8.3f} s   {t_hs / t_in:7.1f}x faster")
        print(f"systolic thermal, whole command     {t_cmd:8.3f} s   {t_hs / t_cmd:7.1f}x faster")
        print(compare(ref, hs_dir, sy_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
