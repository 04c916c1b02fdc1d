"""HotSpot 6 against systolic's thermal solver on HotSpot's ex2 grid transient (64x64 grid, 100 rows),
on its ex3 3-D stack (layer file, detailed 3-D), and the thermal part of ``systolic run`` on ResNet-50.

Builds HotSpot (uvahotspot/HotSpot, SuperLU build, as in the reference runs) into build/peers/hotspot
from a git snapshot, installing Debian's libsuperlu-dev and libblas-dev with apt when missing (as root),
then runs both on the inputs of tests/data/hotspot/ex2_grid_transient (cmd.txt there) and prints
the wall times and their ratio. systolic is timed twice: the solver (read inputs, build the model,
steady state, 100 backward-Euler rows, write the outputs) in this process, and the whole ``systolic
thermal`` command including Python's start-up.

    python bench/hotspot_speed.py [--hotspot-src DIR] [--ref DIR] [--runs N] [--only ex2|ex3|resnet50]

ex3: HotSpot's own command (cmd.txt of ex3_3d_inputs, both lines) against ``systolic thermal`` with the
same arguments, outputs compared byte for byte. resnet50: ResNet-50 on tpu-v1-128 through the power model
(model/power.py, 10 us intervals) into ``systolic.flow.thermal.thermal_section``: steady state, transient and
peak, then the same with DTM holding a limit halfway between the steady and the transient peak; the PNG
is timed separately. Small dense linear algebra suffers from multi-threaded BLAS on a busy machine: run
with OPENBLAS_NUM_THREADS=1 to see the single-thread times.

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
DEFAULT_REF = Path(os.environ.get("SYSTOLIC_HOTSPOT_REF", REPO / "tests" / "data" / "hotspot"))
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


def build_hotspot(src: Path, superlu: bool = True) -> Path:
    """Build HotSpot with SuperLU in build/peers/hotspot (or without it, HotSpot's default build with its
    multigrid steady solver and adaptive RK4 transients, in build/peers/hotspot-default); return the
    binary."""
    out = PEERS / ("hotspot" if superlu else "hotspot-default")
    binary = out / "hotspot"
    if binary.exists():
        return binary
    if superlu:
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
    subprocess.run(
        ["make", "-j1", "-C", str(out), f"SUPERLU={int(superlu)}", "hotspot"], check=True, capture_output=True
    )
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
    from systolic.cli.thermal import add as add_thermal

    parser = argparse.ArgumentParser()
    add_thermal(parser.add_subparsers())
    args = parser.parse_args(["thermal", *ARGS])
    import numpy  # noqa: F401  (imported before the clock starts, as the command has it loaded)
    import scipy.sparse.linalg  # noqa: F401

    import systolic.formats.hotspot  # noqa: F401
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
    code = "import sys; from systolic import cli; sys.exit(cli.main(sys.argv[1:]))"
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


#: ex3's cmd.txt: steady state with grid steady file, then the transient (HotSpot needs two runs).
EX3_RUNS = (
    ["-c", "example.config", "-p", "example.ptrace", "-grid_layer_file", "example.lcf", "-materials_file",
     "example.materials", "-model_type", "grid", "-detailed_3D", "on", "-steady_file", "example.steady",
     "-grid_steady_file", "example.grid.steady"],
    ["-c", "example.config", "-p", "example.ptrace", "-grid_layer_file", "example.lcf", "-materials_file",
     "example.materials", "-model_type", "grid", "-detailed_3D", "on", "-o", "example.ttrace"],
)  # fmt: skip


def bench_ex3(binary: Path, ref_root: Path, runs: int) -> None:
    from systolic.cli.thermal import add as add_thermal

    ref = ref_root / "ex3_3d_inputs"
    with tempfile.TemporaryDirectory() as tmp:
        hs_dir, sy_dir = Path(tmp, "hotspot"), Path(tmp, "systolic")
        shutil.copytree(ref, hs_dir)
        shutil.copytree(ref, sy_dir)
        start = time.perf_counter()
        for argv in EX3_RUNS:
            subprocess.run([str(binary), *argv], cwd=hs_dir, check=True, capture_output=True)
        t_hs = time.perf_counter() - start
        best = float("inf")
        cwd = Path.cwd()
        os.chdir(sy_dir)
        try:
            for _ in range(runs):
                start = time.perf_counter()
                for argv in EX3_RUNS:
                    parser = argparse.ArgumentParser()
                    add_thermal(parser.add_subparsers())
                    args = parser.parse_args(["thermal", *argv])
                    args.func(args)
                best = min(best, time.perf_counter() - start)
        finally:
            os.chdir(cwd)
        same = {
            name: (hs_dir / name).read_text() == (sy_dir / name).read_text()
            for name in ("example.steady", "example.grid.steady", "example.ttrace")
        }
        print(
            "case: ex3_3d_inputs (4-layer stack, 64x64 grid, -detailed_3D on), both command lines of cmd.txt"
        )
        print(f"HotSpot 6 (SuperLU)                 {t_hs:8.2f} s")
        print(f"systolic thermal, in-process        {best:8.3f} s   {t_hs / best:7.1f}x faster")
        print("byte-identical to HotSpot: " + ", ".join(f"{k} {v}" for k, v in same.items()))


def bench_resnet50(runs: int) -> None:
    import numpy as np

    from systolic.config import load_arch
    from systolic.flow.thermal import thermal_section
    from systolic.formats.network import load_workload
    from systolic.model import dvfs, power
    from systolic.model.cycles import GemmArrays
    from systolic.model.energy import LEAK_T_REF_K
    from systolic.model.floorplan import floorplan_for
    from systolic.model.memory import schedule

    cfg = load_arch("tpu-v1-128", {})
    wl = load_workload("resnet50")
    gemm = GemmArrays.from_workload(wl)
    work = power.step_work(cfg, gemm, schedule(cfg, gemm, [layer.name for layer in wl]), LEAK_T_REF_K)
    costs = dvfs.costs(cfg, work)
    tl = dvfs.plan_timeline(cfg, work, costs, dvfs.plan_policy(costs, "none", dvfs.fastest_time_s(costs)))
    edges = power.interval_edges_s(cfg, tl.end_s, 10e-6)
    flp = floorplan_for(cfg)
    blocks = power.block_power_w(tl, edges, flp)  # [interval, block]
    dts = np.diff(edges)
    thermal_section(cfg, blocks[:2], dts[:2], flp.names)  # imports and first-call costs out of the clock
    plain = min((thermal_section(cfg, blocks, dts, flp.names) for _ in range(runs)), key=lambda r: r.seconds)
    limit = (plain.run.peak_k + float(plain.run.steady_k.max())) / 2
    managed = min(
        (thermal_section(cfg, blocks, dts, flp.names, limit_k=limit) for _ in range(runs)),
        key=lambda r: r.seconds,
    )
    with tempfile.TemporaryDirectory() as tmp:
        thermal_section(cfg, blocks[:2], dts[:2], flp.names, png=Path(tmp, "warm.png"))  # matplotlib import
        t_png = float("inf")
        for _ in range(runs):
            start = time.perf_counter()
            r = thermal_section(cfg, blocks, dts, flp.names, png=Path(tmp, "t.png"))
            t_png = min(t_png, time.perf_counter() - start - r.seconds)
    print(
        f"case: ResNet-50 on tpu-v1-128, {len(dts)} intervals of 10 us ({tl.end_s * 1e3:.3f} ms), "
        f"{flp.n_blocks} blocks, block model"
    )
    print(f"thermal part (floorplan, model, steady, transient, peak) {plain.seconds * 1e3:8.1f} ms")
    print(f"  ... with DTM at {limit:.2f} K                         {managed.seconds * 1e3:8.1f} ms")
    print(f"PNG heatmap (extra)                                      {t_png * 1e3:8.1f} ms")
    for line in managed.lines():
        print("  " + line)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hotspot-src", help="HotSpot checkout or bare git directory")
    ap.add_argument("--ref", default=str(DEFAULT_REF), help="the HotSpot reference directory")
    ap.add_argument("--runs", type=int, default=3, help="systolic runs (the best is reported)")
    ap.add_argument("--only", choices=("ex2", "ex3", "resnet50"), help="one case instead of all")
    args = ap.parse_args()
    if args.only == "resnet50":
        bench_resnet50(args.runs)
        return 0
    ref = Path(args.ref) / CASE
    if not ref.exists():
        sys.exit(f"no reference inputs at {ref} (set SYSTOLIC_HOTSPOT_REF or --ref)")
    binary = build_hotspot(find_src(args.hotspot_src))
    if args.only == "ex3":
        bench_ex3(binary, Path(args.ref), args.runs)
        return 0
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
    if args.only is None:
        bench_ex3(binary, Path(args.ref), args.runs)
        bench_resnet50(args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
