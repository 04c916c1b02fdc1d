"""RTL generation and Verilator build cost, before and after the shared PE module: `systolic hdl` on a
128x128 array and a fresh Verilator build of a 32x32 accelerator (issue 15's goals: the build under ~2 min;
the 128x128 generation measured).

Usage:
    python bench/rtl_build.py [--hdl-arch tpu-v1-128] [--build-size 32] [--dataflow ws os is]
                              [--only hdl hdl_per_pe accel build build_per_pe]

Each measurement runs as a child process; wall time, CPU time (user + system of the child and everything
it waited for: Yosys, Verilator, the C++ compiler) and peak resident memory come from ``wait4``. cocotb's
runner runs ``make -j2`` on this 2-core machine; on a machine other jobs share, the wall time depends on
the load: the CPU time is the figure to compare.

1. ``systolic hdl --arch A -o FILE.v`` (``hdl``): the GEMM engine (``systolic_top``) as the user makes it,
   the PE written once and instantiated ``rows x cols`` times; ``hdl_per_pe``: the same with
   ``shared_pe=False``, Amaranth writing a module per PE (the generator before the shared PE). ``accel``:
   the whole accelerator (``systolic_accel``) through :func:`systolic.hdl.generate.verilog_text`.
2. ``build``: a 32x32 accelerator per ``--dataflow`` (WS by default; ``top='accel'``, what ``make
   cosim``'s layer cases build) from an empty build directory with :func:`systolic.cosim.runner.build`,
   its phases timed apart: generating the Verilog, verilating, compiling the C++ (``make``).
   ``build_per_pe``: the same as before the change (a module per PE, Verilator free to inline it,
   ``--output-split-cfuncs 200``).

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
STEPS = ("hdl", "hdl_per_pe", "accel", "build", "build_per_pe")

#: Builds the accelerator under Verilator from scratch, printing each phase's wall and CPU seconds;
#: argv: size, build root, "shared" or "per_pe", dataflow.
BUILD_CHILD = """
import json, resource, subprocess, sys, time
from pathlib import Path
import cocotb_tools.runner
from systolic.config import ArrayConfig
from systolic.cosim import runner
import systolic.hdl.generate as generate
size, root, variant, dataflow = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
phases = {}
verilog_text = generate.verilog_text
if variant == "per_pe":  # the build before the shared PE module
    runner.VERILATOR_ARGS = ("-Wno-fatal", "--output-split", "20000", "--output-split-cfuncs", "200", "-O1")
    runner.VERILATOR_CONTROL = "`verilator_config\\n"

def timed_text(cfg, top="core", **_):
    start, cpu = time.perf_counter(), time.process_time()
    text = verilog_text(cfg, top, shared_pe=variant == "shared")
    phases["generate"] = {"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}
    phases["verilog_bytes"] = len(text)
    return text

def timed_run(cmd, *args, **kwargs):
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    out = run(cmd, *args, **kwargs)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    phases["verilate" if "verilator" in Path(cmd[0]).name else "cxx"] = {
        "wall_s": time.perf_counter() - start, "cpu_s": cpu
    }
    return out

generate.verilog_text = timed_text
run = subprocess.run
cocotb_tools.runner.subprocess.run = timed_run
cfg = ArrayConfig(name=f"rtlbench{size}", rows=size, cols=size, dataflow=dataflow)
runner.build(cfg, "verilator", root=root, top="accel")
bdir = next((root / "sim" / "verilator").iterdir())
phases["cxx_files"] = len(list(bdir.glob("*.cpp")))
phases["cxx_bytes"] = sum(p.stat().st_size for p in bdir.glob("*.cpp"))
print(json.dumps(phases))
"""

#: Writes a top's Verilog; argv: arch, path, top, "shared" or "per_pe".
HDL_CHILD = """
import sys
from systolic.config import load_arch
from systolic.fileio import atomic_write_text
from systolic.hdl.generate import verilog_text
arch, path, top, variant = sys.argv[1:]
atomic_write_text(path, verilog_text(load_arch(arch), top, shared_pe=variant == "shared"))
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
    return {
        "verilog_bytes": len(text),
        "verilog_lines": text.count("\n"),
        "modules": sum(line.startswith("module ") for line in text.splitlines()),
    }


def _rounded(phases: dict) -> dict:
    return {
        k: {n: round(x, 2) for n, x in v.items()} if isinstance(v, dict) else v for k, v in phases.items()
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hdl-arch", default="tpu-v1-128")
    ap.add_argument("--build-size", type=int, default=32)
    ap.add_argument(
        "--dataflow",
        nargs="+",
        choices=("ws", "os", "is"),
        default=["ws"],
        help="build the accelerator of each of these dataflows (JSON keys verilator_accel[_os|_is])",
    )
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
    results["load_average_at_start"] = round(os.getloadavg()[0], 2)

    def save(key: str, value: dict, what: str) -> None:
        results[key] = value
        print(f"{what}: {value}", flush=True)
        atomic_write_json(json_path, results)

    arch = args.hdl_arch
    generations = {  # step: (JSON key, Verilog file, command, what)
        "hdl": ("hdl_core", "core", [exe, "hdl", "--arch", arch, "-o"], f"systolic hdl --arch {arch}"),
        "hdl_per_pe": (
            "hdl_core_per_pe",
            "core-per-pe",
            [py, "-c", HDL_CHILD, arch],
            "a module per PE (before)",
        ),
        "accel": ("hdl_accel", "accel", [py, "-c", HDL_CHILD, arch], f"systolic_accel of {arch}"),
    }
    extra = {"hdl": ["--force"], "hdl_per_pe": ["core", "per_pe"], "accel": ["accel", "shared"]}
    for step, (key, name, cmd, what) in generations.items():
        if step in args.only:
            path = OUT / f"{arch}-{name}.v"
            r = measured([*cmd, str(path), *extra[step]])
            save(key, {k: v for k, v in r.items() if k != "stdout"} | _file(path), what)
    builds = (("build", "shared", "verilator_accel"), ("build_per_pe", "per_pe", "verilator_accel_per_pe"))
    for (step, variant, key), dataflow in ((b, d) for b in builds for d in args.dataflow):
        if step not in args.only:
            continue
        key += "" if dataflow == "ws" else f"_{dataflow}"
        root = OUT / f"fresh-{variant}-{dataflow}"
        shutil.rmtree(root, ignore_errors=True)
        r = measured([py, "-c", BUILD_CHILD, str(args.build_size), str(root), variant, dataflow])
        phases = json.loads(r.pop("stdout").strip().splitlines()[-1])
        size = args.build_size
        what = f"Verilator build, {size}x{size} {dataflow.upper()} accelerator, from scratch ({variant})"
        save(key, r | _rounded(phases), what)
    return 0


if __name__ == "__main__":
    sys.exit(main())
