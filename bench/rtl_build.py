"""RTL generation and Verilator build cost: `systolic hdl` on a 128x128 array and a fresh Verilator build of
a 32x32 accelerator (issue 15's goals: the build under ~2 min; the 128x128 generation measured).

Usage:
    taskset -c 1 python bench/rtl_build.py [--hdl-arch tpu-v1-128] [--build-size 32] [--only hdl accel build]

Each measurement runs as a child process; wall time, CPU time (user + system of the child and everything
it waited for: Yosys, Verilator, the C++ compiler) and peak resident memory come from ``wait4``. cocotb's
runner runs ``make -j2`` on this 2-core machine; under ``taskset -c 1`` both jobs share one core, so the
wall time is a one-core figure (on a loaded machine, a share of one): the CPU time is the figure to compare.

1. ``systolic hdl --arch A -o FILE.v``: the GEMM engine (``systolic_top``) as the user makes it, plus the
   whole accelerator (``systolic_accel``) through :func:`systolic.hdl.generate.verilog_text`; size and
   line count of each file.
2. A 32x32 WS accelerator (``top='accel'``, what ``make cosim``'s layer cases build) from an empty build
   directory with :func:`systolic.cosim.runner.build` (the generator's time printed apart from
   Verilator's and the compiler's).

Results go to ``bench/results/rtl_build.json`` (committed; the README quotes them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from systolic.fileio import atomic_write_json

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "bench" / "rtl"
STEPS = ("hdl", "accel", "build")

#: Generates the accelerator's Verilog and builds it under Verilator, printing the phases' seconds.
BUILD_CHILD = """
import json, sys, time
from pathlib import Path
from systolic.config import ArrayConfig
from systolic.cosim import runner
from systolic.hdl.generate import verilog_text
size, root = int(sys.argv[1]), Path(sys.argv[2])
cfg = ArrayConfig(name=f"rtlbench{size}", rows=size, cols=size, dataflow="ws")
start = time.perf_counter()
text = verilog_text(cfg, "accel")
gen = time.perf_counter() - start
start = time.perf_counter()
runner.build(cfg, "verilator", root=root, top="accel")
total = time.perf_counter() - start
print(json.dumps({"generate_s": gen, "build_with_generation_s": total, "verilog_bytes": len(text)}))
"""

ACCEL_CHILD = """
import sys
from systolic.config import load_arch
from systolic.hdl.generate import write_verilog
write_verilog(load_arch(sys.argv[1]), sys.argv[2], "accel")
"""


def measured(cmd: list[str]) -> dict:
    """Run ``cmd``; wall and CPU seconds, peak RSS and its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "max_rss_mib": round(usage.ru_maxrss / 1024, 1),  # kB on Linux
        "stdout": out.decode(),
    }


def _file(path: Path) -> dict:
    text = path.read_text()
    return {"verilog_bytes": len(text), "verilog_lines": text.count("\n")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hdl-arch", default="tpu-v1-128")
    ap.add_argument("--build-size", type=int, default=32)
    ap.add_argument(
        "--only",
        nargs="+",
        choices=STEPS,
        default=list(STEPS),
        help="run these measurements only (the others' earlier results stay in the JSON)",
    )
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    py, exe = sys.executable, str(Path(sys.executable).parent / "systolic")
    json_path = ROOT / "bench" / "results" / "rtl_build.json"
    results: dict = json.loads(json_path.read_text()) if json_path.exists() else {}
    results["cpus"] = len(os.sched_getaffinity(0))

    if "hdl" in args.only:
        core = OUT / f"{args.hdl_arch}-core.v"
        r = measured([exe, "hdl", "--arch", args.hdl_arch, "-o", str(core), "--force"])
        results["hdl_core"] = {k: v for k, v in r.items() if k != "stdout"} | _file(core)
        print(f"systolic hdl --arch {args.hdl_arch} (systolic_top): {results['hdl_core']}")
        atomic_write_json(json_path, results)
    if "accel" in args.only:
        accel = OUT / f"{args.hdl_arch}-accel.v"
        r = measured([py, "-c", ACCEL_CHILD, args.hdl_arch, str(accel)])
        results["hdl_accel"] = {k: v for k, v in r.items() if k != "stdout"} | _file(accel)
        print(f"verilog_text({args.hdl_arch}, 'accel') (systolic_accel): {results['hdl_accel']}")
        atomic_write_json(json_path, results)
    if "build" in args.only:
        root = OUT / "fresh"
        shutil.rmtree(root, ignore_errors=True)
        r = measured([py, "-c", BUILD_CHILD, str(args.build_size), str(root)])
        phases = json.loads(r.pop("stdout").strip().splitlines()[-1])
        phases["verilator_and_cxx_s"] = round(phases["build_with_generation_s"] - phases["generate_s"], 2)
        results["verilator_accel"] = r | phases
        print(
            f"Verilator build, {args.build_size}x{args.build_size} accelerator, from scratch: "
            f"{results['verilator_accel']}"
        )
    atomic_write_json(json_path, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
