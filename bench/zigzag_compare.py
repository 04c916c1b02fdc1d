"""Run time, latency and energy: systolic beside PyPI ZigZag 3.9.1 on the same network and accelerator.

Usage:
    python bench/zigzag_compare.py [--topology resnet18] [--hardware tpu_like] [--opt latency]
                                   [--layers N] [--peer-python PY] [--reuse]

ZigZag runs in its own virtual environment (``--peer-python``, else ``build/peers-zigzag-venv``, created on
first use with ``zigzag-dse==3.9.1`` and ``six``). Both tools are timed in this one run, as subprocesses,
by wall clock: ZigZag's whole evaluation of the network through its API
(``api.get_hardware_performance_zigzag`` with its defaults: LOMA temporal-mapping search, ``lpf_limit`` 6)
and ``systolic run --arch <config> --topology <net>`` (median of ``--repeats`` runs; most of its wall time is
Python starting and importing). Also shown: the model time ``systolic run`` prints for everything it
computes, and the in-process time of ``systolic.model.network.network_run`` (cycles, memory, stalls).

Same network: the layers of systolic's zoo network, written as a ZigZag workload (one ``Conv`` entry per
layer with ZigZag's loop dimensions B, K, C, OY, OX, FY, FX; the fully connected layer as a 1x1 conv),
8-bit inputs and weights, 16-bit partial sums, as in ZigZag's own ResNet-18 YAML. The script checks that
ZigZag counts the same MACs per layer. ZigZag's bundled resnet18.onnx also has the max pool and the
residual adds; systolic's zoo has only the GEMMs, so both get the 21 conv and fc layers.

Same accelerator: ZigZag's own example ``inputs/hardware/tpu_like.yaml`` with its mapping
``inputs/mapping/tpu_like.yaml``, read from the installed package, and a systolic config derived from it
(written beside the results as TOML):
    array       32x32; ZigZag unrolls output channels K over D1 and input channels C over D2, weights held
                in each PE's register (``rf_128B``), partial sums in a 16-bit register: weight stationary,
                rows = C (systolic: the GEMM's K = C FY FX), cols = K (systolic: N)
    SRAM        ZigZag's one 2 MiB ``sram_2MB`` holds inputs and outputs: 1 MiB ifmap + 1 MiB ofmap.
                ZigZag has no weight SRAM: weights go from DRAM into the 1024 PEs' 128 B registers;
                systolic needs a filter buffer and gets their total, 128 KiB
    DRAM        64 bits per cycle = 8 one-byte words per cycle; latency 1 cycle
    operands    8-bit inputs and weights, 16-bit accumulators
Technology (45 nm, 0.9 V, 1 GHz) is systolic's default: ZigZag's example has no clock and gives energies
per access in pJ, with no node.

What each tool computes, and why the latencies differ:
* ZigZag searches. For each layer it takes the spatial mapping (here fixed by the mapping file, D1 = K,
  D2 = C) and enumerates temporal mappings (LOMA: loop orders over the layer's prime factors, ``lpf_limit``
  6), evaluates each with its analytical cost model (memory accesses per level, port bandwidths,
  stall/slack between levels, data on- and off-loading) and keeps the best by ``--opt``. That search is
  almost all of its run time. Its latency is ideal temporal cycles + stalls + on-load + off-load + the
  array's drain, counted once per layer.
* systolic evaluates one fixed dataflow: weight stationary with the im2col GEMM (M = OY OX, N = K,
  K = C FY FX), one tiling chosen by its memory model, cycle-exact to its RTL per fold (weight load, skew,
  stream, drain), plus the stalls its double-buffered SRAM/DRAM schedule predicts. Closed forms,
  vectorised over layers: no search.
* So the latencies differ, layer by layer, for known reasons (the per-layer table shows them):
  - conv1 has C = 3: ZigZag's C-unrolled array uses 3 of its 32 rows (9% spatial utilisation);
    systolic spreads C FY FX = 147 over the rows, so conv1 takes about 4x fewer cycles in systolic.
  - DRAM traffic: systolic fetches the ifmap as the im2col matrix A[M, K] (as SCALE-Sim does: each input
    pixel about FY FX / stride^2 times; conv1: 1.84 MB against a 0.15 MB image), so at 8 B/cycle its
    early conv layers stall on DRAM (systolic's "stall" column) and take about 2x ZigZag's cycles.
    ZigZag reads each input once into its 2 MiB SRAM and reuses it there.
  - late layers (M = OY OX = 49) and fc: ZigZag streams every weight from DRAM into the PE registers
    (2.4 MB per layer4 conv at 8 B/cycle: its "stall" column); systolic double-buffers the weights in its
    filter SRAM, hides most of that transfer and is bound instead by its per-fold cost, a weight load and
    the pipeline fill and drain (about rows + cols cycles) for only 49 streamed rows.
  - ZigZag counts the array's drain once per layer, systolic on every fold; ZigZag adds the layer's
    first on-load and last off-load ("ld/st"), systolic its own DRAM schedule's start and end.
  The totals land close (ZigZag / systolic about 0.95 on ResNet-18) from errors of both signs: read the
  per-layer table, not the total, to compare the models.
* Energy: ZigZag's is the example's per-access costs (``r_cost``/``w_cost`` per port access, 0.04 pJ per
  MAC) times its access counts; systolic's is its own model (Horowitz's 45 nm energies scaled by node and
  voltage, operand toggles from its calibration, plus leakage). Different cost tables: the totals are shown
  side by side, not as a like-for-like ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import peers
import yaml

from systolic.config import ArrayConfig, load_arch, to_toml
from systolic.fileio import atomic_write_json, atomic_write_text
from systolic.formats.network import load_workload
from systolic.model.network import network_run
from systolic.report.summary import run_summary
from systolic.workload import Workload, write_gemm_csv

ROOT = Path(__file__).resolve().parent.parent
ZIGZAG_PIN = ("zigzag-dse==3.9.1", "six")

#: Finds the installed ZigZag without importing it (its import alone takes seconds).
PEER_LOCATE = (
    "import importlib.metadata as md, importlib.util as u, json, pathlib\n"
    "spec = u.find_spec('zigzag')\n"
    "root = str(pathlib.Path(spec.origin).parent)\n"
    "print(json.dumps({'root': root, 'version': md.version('zigzag-dse')}))\n"
)

#: Runs ZigZag's whole evaluation through its API, as its own ``main.py`` does, and writes what it found
#: per layer as JSON. Logging at WARNING and no progress bar: the console is not what is being timed.
PEER_DRIVER = """\
import json, logging, sys, time
logging.basicConfig(level=logging.WARNING)
start = time.perf_counter()
from zigzag import api
workload, accelerator, mapping, opt, out = sys.argv[1:]
imported = time.perf_counter()
energy, latency, cmes = api.get_hardware_performance_zigzag(
    workload=workload, accelerator=accelerator, mapping=mapping, opt=opt,
    dump_folder=out + "/dump", loma_show_progress_bar=False,
)
done = time.perf_counter()
def num(x):
    return float(x) if x is not None else None
layers = []
for cme, _ in cmes[0][1]:
    layers.append({
        "name": cme.layer.name,
        "macs": int(cme.layer.total_mac_count),
        "latency_cycles": num(cme.latency_total2),
        "ideal_cycles": num(cme.ideal_cycle),
        "ideal_temporal_cycles": num(cme.ideal_temporal_cycle),
        "stall_slack_cycles": num(cme.stall_slack_comb),
        "onload_cycles": num(cme.data_onloading_cycle),
        "offload_cycles": num(cme.data_offloading_cycle),
        "drain_cycles": num(getattr(cme, "systolic_drain_cycle", 0.0)),
        "energy_pj": num(cme.energy_total),
        "mac_energy_pj": num(cme.mac_energy),
        "mem_energy_pj": num(cme.mem_energy),
        "spatial_mapping": str(cme.spatial_mapping),
        "temporal_mapping": str(cme.temporal_mapping),
    })
with open(out + "/zigzag_result.json", "w") as f:
    json.dump({"energy_pj": float(energy), "latency_cycles": float(latency), "layers": layers,
               "import_seconds": imported - start, "api_seconds": done - imported}, f, indent=1)
"""


def peer_python(explicit: str | None) -> str:
    """The Python of ZigZag's venv, created with ZigZag on first use (never the project's venv)."""
    return peers.peer_python("peers-zigzag-venv", ZIGZAG_PIN, explicit)


def locate_zigzag(py: str) -> tuple[Path, str]:
    """ZigZag's package folder (its example inputs live under ``inputs/``) and version."""
    out = subprocess.run([py, "-c", PEER_LOCATE], check=True, capture_output=True, text=True).stdout
    found = json.loads(out)
    return Path(found["root"]), found["version"]


# --------------------------------------------------------------------------- the network, for ZigZag

PRECISION = {"W": 8, "I": 8, "O": 16, "O_final": 8}  # ZigZag's own resnet18.yaml uses these


def zigzag_workload(workload: Workload) -> list[dict[str, Any]]:
    """One ZigZag layer per GEMM of ``workload`` (convolutions with their geometry, GEMMs as 1x1 convs).

    ZigZag derives each input extent from the dimension relation (``ix = s*ox + fx``), which spans the
    padded input, as its own resnet18.yaml does; no explicit padding is given.
    """
    layers = []
    for i, ly in enumerate(workload):
        if ly.repeat != 1:
            raise SystemExit(f"layer {ly.name}: repeated or grouped GEMMs are not written for ZigZag here")
        if ly.conv is not None:
            c = ly.conv
            oy = (c.ifmap_h + 2 * c.pad_h - c.filter_h) // c.stride_h + 1
            ox = (c.ifmap_w + 2 * c.pad_w - c.filter_w) // c.stride_w + 1
            sizes = [c.batch, c.filters, c.channels, oy, ox, c.filter_h, c.filter_w]
            strides = (c.stride_h, c.stride_w)
        else:
            sizes, strides = [ly.m, ly.n, ly.k, 1, 1, 1, 1], (1, 1)
        b, k, ch, oy, ox, fy, fx = sizes
        if b * oy * ox != ly.m or k != ly.n or ch * fy * fx != ly.k:
            raise SystemExit(f"layer {ly.name}: its conv shape does not give its GEMM {ly.m}x{ly.n}x{ly.k}")
        layers.append(
            {
                "id": i,
                "name": ly.name,
                "operator_type": "Conv",
                "equation": "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]",
                "dimension_relations": [f"ix={strides[1]}*ox+1*fx", f"iy={strides[0]}*oy+1*fy"],
                "loop_dims": ["B", "K", "C", "OY", "OX", "FY", "FX"],
                "loop_sizes": sizes,
                "operand_precision": dict(PRECISION),
                # a layer is its own source of W (a constant); I comes from the layer before
                "operand_source": {"I": max(i - 1, 0), "W": i},
            }
        )
    return layers


# --------------------------------------------------------------------------- the accelerator, for systolic


def _mem_instances(mem: dict[str, Any], array: dict[str, int]) -> int:
    """How many copies of a memory exist: one per PE along each array dimension it does not serve."""
    served = set(mem.get("served_dimensions") or [])
    return int(np.prod([n for d, n in array.items() if d not in served]))


def systolic_config(hardware: dict[str, Any], mapping: list[dict[str, Any]], name: str) -> ArrayConfig:
    """The systolic config closest to ZigZag's accelerator ``hardware`` under its default spatial mapping."""
    oa = hardware["operational_array"]
    array = dict(zip(oa["dimensions"], oa["sizes"], strict=True))
    default = next(m for m in mapping if m["name"] == "default")
    unrolled = {d: entries[0].split(",")[0].strip() for d, entries in default["spatial_mapping"].items()}
    by_loop = {loop: d for d, loop in unrolled.items()}
    if set(by_loop) != {"C", "K"}:
        raise SystemExit(f"only a C x K spatial unrolling maps to systolic's arrays, not {unrolled}")
    links = default["memory_operand_links"]  # layer operand -> memory operand
    w_op, i_op, o_op = links["W"], links["I"], links["O"]
    mems = hardware["memories"]
    dram_name = max(mems, key=lambda n: mems[n]["size"])
    dram = mems[dram_name]
    on_chip = {n: m for n, m in mems.items() if n != dram_name}

    def total_bytes(operand: str) -> int:
        return sum(
            m["size"] // 8 * _mem_instances(m, array) for m in on_chip.values() if operand in m["operands"]
        )

    # the largest shared on-chip buffer for inputs; outputs share it (split in half) when it holds them too
    ibuf = max((m for m in on_chip.values() if i_op in m["operands"]), key=lambda m: m["size"])
    ifmap_bytes = ibuf["size"] // 8
    ofmap_bytes = 0
    if o_op in ibuf["operands"]:
        ifmap_bytes = ofmap_bytes = ibuf["size"] // 16
    else:
        obuf = max((m for m in on_chip.values() if o_op in m["operands"]), key=lambda m: m["size"])
        ofmap_bytes = obuf["size"] // 8
    dram_bits = max(p["bandwidth_max"] for p in dram["ports"])
    return ArrayConfig(
        name=f"zigzag-{name}",
        rows=array[by_loop["C"]],
        cols=array[by_loop["K"]],
        dataflow="ws",
        input_bits=PRECISION["I"],
        weight_bits=PRECISION["W"],
        acc_bits=PRECISION["O"],
        ifmap_sram_bytes=ifmap_bytes,
        filter_sram_bytes=total_bytes(w_op),
        ofmap_sram_bytes=ofmap_bytes,
        word_bytes=1,
        dram_bw_words_per_cycle=dram_bits // PRECISION["I"],
        dram_latency_cycles=int(dram.get("latency", 1)),
    )


# --------------------------------------------------------------------------- running the tools


def _wait(proc: subprocess.Popen) -> tuple[int, float, int]:
    """Wait for ``proc``: its exit code, CPU seconds (user + system) and peak RSS in bytes."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024  # ru_maxrss: kB


def run_zigzag(py: str, outdir: Path, inputs: dict[str, str], opt: str, reuse: bool) -> dict[str, Any]:
    """ZigZag's evaluation of ``inputs`` (workload YAML text, hardware and mapping paths) in ``outdir``.

    With ``reuse``, the result of an earlier run with identical inputs is read instead (flagged
    ``reused``); a full run takes minutes.
    """
    hw, mp = Path(inputs["hardware"]), Path(inputs["mapping"])
    digest = hashlib.sha256(
        json.dumps(
            [inputs["workload"], hw.read_text(), mp.read_text(), opt, PEER_DRIVER, inputs["version"]],
            sort_keys=True,
        ).encode()
    ).hexdigest()
    stamp_path, result_path = outdir / "stamp.json", outdir / "zigzag_result.json"
    if reuse and stamp_path.exists() and result_path.exists():
        stamp = json.loads(stamp_path.read_text())
        if stamp["inputs_sha256"] == digest:
            return {**json.loads(result_path.read_text()), **stamp, "reused": True}
    outdir.mkdir(parents=True, exist_ok=True)
    stamp_path.unlink(missing_ok=True)
    result_path.unlink(missing_ok=True)
    if (outdir / "dump").exists():
        shutil.rmtree(outdir / "dump")
    workload_path = atomic_write_text(outdir / "workload.yaml", inputs["workload"])
    args = [str(workload_path), str(hw), str(mp), opt, str(outdir)]
    with (outdir / "zigzag.log").open("w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [py, "-c", PEER_DRIVER, *args], stdout=log, stderr=subprocess.STDOUT, cwd=outdir
        )
        code, cpu, rss = _wait(proc)
        seconds = time.perf_counter() - start
    if code != 0 or not result_path.exists():
        tail = (outdir / "zigzag.log").read_text(errors="replace")[-1500:]
        sys.exit(f"ZigZag failed (exit {code}), see {outdir / 'zigzag.log'}:\n{tail}")
    stamp = {"inputs_sha256": digest, "seconds": seconds, "cpu_seconds": cpu, "max_rss_bytes": rss}
    atomic_write_json(stamp_path, stamp)
    return {**json.loads(result_path.read_text()), **stamp, "reused": False}


def run_systolic_cli(arch: Path, topology: str, repeats: int) -> dict[str, Any]:
    """``systolic run --arch ARCH --topology NET`` as a subprocess, ``repeats`` times; median wall time."""
    cmd = [str(Path(sys.executable).parent / "systolic"), "run", "--arch", str(arch), "--topology", topology]
    walls, cpus, out = [], [], ""
    for _ in range(repeats):
        start = time.perf_counter()
        # its output is one line, far below a pipe's buffer: waiting before reading cannot block
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        code, cpu, _ = _wait(proc)
        walls.append(time.perf_counter() - start)
        cpus.append(cpu)
        out, err = proc.stdout.read().strip(), proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        if code != 0:
            sys.exit(f"{' '.join(cmd)} failed (exit {code}):\n{err[-1500:]}")
    return {
        "command": cmd,
        "seconds": float(np.median(walls)),
        "all_seconds": walls,
        "cpu_seconds": cpus,
        "stdout": out,
    }


_PJ_PER = {"pJ": 1.0, "nJ": 1e3, "uJ": 1e6, "µJ": 1e6, "mJ": 1e9, "J": 1e12}


def parse_cli(stdout: str) -> dict[str, Any]:
    """What ``systolic run`` printed: total cycles, energy (pJ) and its own model time (s), where present."""
    cycles = re.search(r"([\d,]+) cycles", stdout)
    energy = re.search(r"\benergy ([\d.]+(?:e[+-]?\d+)?) (pJ|nJ|uJ|µJ|mJ|J)\b", stdout)
    models = re.findall(r"\bmodel ([\d.]+) (ms|s)\b", stdout)
    return {
        "cycles": int(cycles.group(1).replace(",", "")) if cycles else None,
        "energy_pj": float(energy.group(1)) * _PJ_PER[energy.group(2)] if energy else None,
        "model_seconds": float(models[-1][0]) * (1e-3 if models[-1][1] == "ms" else 1.0) if models else None,
    }


def systolic_energy(
    cfg: ArrayConfig, res: dict[str, Any], summary: dict[str, Any], printed: dict[str, Any]
) -> dict[str, Any]:
    """systolic's total energy: as ``systolic run`` printed it, else its summary's, else the model's."""
    if printed["energy_pj"] is not None:
        return {"pj": printed["energy_pj"], "source": "the systolic run output"}
    scale = {"energy_pj": 1.0, "energy_nj": 1e3, "energy_uj": 1e6, "energy_mj": 1e9, "energy_j": 1e12}
    for key, factor in scale.items():
        value = summary["total"].get(key)
        if isinstance(value, (int, float)):
            return {"pj": float(value) * factor, "source": f"systolic run's summary, total.{key}"}
    try:
        from systolic.formats.calibration import load_calibration
        from systolic.model.energy import layer_energy

        calibration, _ = load_calibration()
        energy = layer_energy(cfg, res.gemm, res.memory, calibration=calibration)
        return {"pj": float(energy.total_pj.sum()), "source": "systolic.model.energy.layer_energy"}
    except Exception as err:  # the energy model is optional for this comparison: say why it is missing
        return {"pj": None, "source": f"not available ({type(err).__name__}: {err})"}


def model_seconds(cfg: ArrayConfig, wl: Workload, repeats: int) -> tuple[float, dict[str, Any]]:
    """Median in-process time of ``network_run`` (after one warm-up run) and its result."""
    res = network_run(cfg, wl)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        res = network_run(cfg, wl)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), res


# --------------------------------------------------------------------------- main


def _fmt_s(s: float) -> str:
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topology", default="resnet18", help="a systolic zoo network")
    ap.add_argument("--hardware", default="tpu_like", help="a ZigZag example accelerator (inputs/hardware)")
    ap.add_argument(
        "--opt", choices=["latency", "energy", "EDP"], default="latency", help="ZigZag's criterion"
    )
    ap.add_argument("--layers", type=int, default=None, help="only the first N layers (a quick check)")
    ap.add_argument("--repeats", type=int, default=3, help="systolic CLI runs to take the median of")
    ap.add_argument("--peer-python", default=None)
    ap.add_argument("--reuse", action="store_true", help="read ZigZag's result of an identical earlier run")
    args = ap.parse_args(argv)

    py = peer_python(args.peer_python)
    zz_root, zz_version = locate_zigzag(py)
    hw_path = zz_root / "inputs" / "hardware" / f"{args.hardware}.yaml"
    map_path = zz_root / "inputs" / "mapping" / f"{args.hardware}.yaml"
    for p in (hw_path, map_path):
        if not p.exists():
            sys.exit(f"ZigZag {zz_version} has no {p.relative_to(zz_root)}")
    hardware = yaml.safe_load(hw_path.read_text())
    mapping = yaml.safe_load(map_path.read_text())

    wl = load_workload(args.topology)
    if args.layers:
        wl = Workload(wl.name, wl.layers[: args.layers])
    tag = f"{args.hardware}-{wl.name}" + (f"-{args.layers}" if args.layers else "")
    workdir = ROOT / "build" / "bench" / f"zigzag-{tag}"
    cfg = systolic_config(hardware, mapping, args.hardware)
    arch_path = atomic_write_text(
        workdir / f"systolic-{args.hardware}.toml",
        f"# Written by bench/zigzag_compare.py from ZigZag {zz_version}'s "
        f"inputs/hardware/{args.hardware}.yaml\n" + to_toml(cfg),
    )
    if load_arch(arch_path) != cfg:
        sys.exit(f"{arch_path} does not read back as the config it was written from")
    topology = args.topology
    if args.layers:  # the CLI takes a zoo name or a file: the first N layers go as a GEMM topology
        topology = str(atomic_write_text(workdir / "topology.csv", write_gemm_csv(wl)))

    # ZigZag first: it takes minutes, and systolic's timings then see the same machine state after it
    zz = run_zigzag(
        py,
        workdir / "zigzag",
        {
            "workload": json.dumps(zigzag_workload(wl), indent=1),  # YAML is a superset of JSON
            "hardware": str(hw_path),
            "mapping": str(map_path),
            "version": zz_version,
        },
        args.opt,
        args.reuse,
    )
    cli = run_systolic_cli(arch_path, topology, args.repeats)
    model_s, res = model_seconds(cfg, wl, repeats=5)
    summary = run_summary(cfg, wl, res, model_s)
    printed = parse_cli(cli["stdout"])
    energy = systolic_energy(cfg, res, summary, printed)

    ours = np.asarray(res.memory.cycles, dtype=np.int64)  # [layer]
    macs = np.asarray(res.memory.macs, dtype=np.int64)  # [layer]
    zz_layers = {ly["name"]: ly for ly in zz["layers"]}
    missing = [ly.name for ly in wl if ly.name not in zz_layers]
    if missing:
        sys.exit(f"ZigZag reported no result for layers {missing}")
    theirs = [zz_layers[ly.name] for ly in wl]
    mac_mismatch = [ly.name for ly, z, m in zip(wl, theirs, macs, strict=True) if z["macs"] != m]
    if mac_mismatch:
        sys.exit(f"ZigZag counts other MACs than systolic on {mac_mismatch}: not the same network")

    if printed["cycles"] is not None and printed["cycles"] != int(ours.sum()):
        sys.exit(f"systolic run printed {printed['cycles']:,} cycles, the model in-process {ours.sum():,}")

    pes = cfg.rows * cfg.cols
    print(
        f"{wl.name}: {len(wl)} layers, {macs.sum() / 1e9:.3f} G MACs (same in both tools); "
        f"ZigZag {zz_version} "
        f"'{args.hardware}' ({hw_path.name} + mapping, opt={args.opt}) vs systolic {cfg.name} "
        f"({cfg.rows}x{cfg.cols} {cfg.dataflow.value.upper()}, SRAM {cfg.ifmap_sram_bytes // 1024}/"
        f"{cfg.filter_sram_bytes // 1024}/{cfg.ofmap_sram_bytes // 1024} KiB, "
        f"DRAM {cfg.dram_bw_words_per_cycle} B/cycle)"
    )
    print(
        f"\n{'layer':<22}{'MACs':>13}{'systolic':>11}{'stall':>9}{'ZigZag':>11}{'ideal':>11}"
        f"{'stall':>9}{'ld/st':>9}{'ZZ/sys':>8}  ZigZag spatial util"
    )
    for ly, z, c, m, st in zip(wl, theirs, ours, macs, res.memory.stall_cycles, strict=True):
        ldst = z["onload_cycles"] + z["offload_cycles"] + z["drain_cycles"]
        util = m / (z["ideal_temporal_cycles"] * pes)
        print(
            f"{ly.name[:21]:<22}{m:>13,}{c:>11,}{int(st):>9,}{z['latency_cycles']:>11,.0f}"
            f"{z['ideal_temporal_cycles']:>11,.0f}{z['stall_slack_cycles']:>9,.0f}{ldst:>9,.0f}"
            f"{z['latency_cycles'] / c:>8.2f}  {100 * util:.0f}%"
        )
    zz_cycles, our_cycles = float(zz["latency_cycles"]), int(ours.sum())
    zz_energy_uj = zz["energy_pj"] / 1e6
    our_energy = f"{energy['pj'] / 1e6:,.1f}" if energy["pj"] is not None else "n/a"
    rows = [
        (f"ZigZag {zz_version} (subprocess)", zz["seconds"], f"{zz_cycles:,.0f}", f"{zz_energy_uj:,.1f}"),
        ("systolic run (subprocess)", cli["seconds"], f"{our_cycles:,}", our_energy),
        ("systolic model (in-process)", model_s, f"{our_cycles:,}", our_energy),
    ]
    print(f"\n{'tool':<32}{'wall time':>12}{'latency (cycles)':>19}{'energy (uJ)':>14}")
    for tool, secs, lat, en in rows:
        print(f"{tool:<32}{_fmt_s(secs):>12}{lat:>19}{en:>14}")
    ratio_cli = zz["seconds"] / cli["seconds"]
    ratio_model = zz["seconds"] / model_s
    print(
        f"\nZigZag time / systolic time: {ratio_cli:,.0f}x (systolic run, subprocess), "
        f"{ratio_model:,.0f}x (model in-process)"
    )
    if printed["model_seconds"] is not None:
        print(
            f"systolic run reports {_fmt_s(printed['model_seconds'])} of model time for all it computes; the "
            "in-process row times network_run (cycles, memory, stalls) alone"
        )
    print(
        f"ZigZag: {zz['cpu_seconds']:.1f} s CPU, {zz['max_rss_bytes'] / 2**20:.0f} MB peak RSS, "
        f"{zz['api_seconds']:.1f} s in its API after {zz['import_seconds']:.1f} s of imports"
        + (" (REUSED from an identical earlier run, not measured now)" if zz["reused"] else "")
    )
    print(
        f"latency ZigZag / systolic: {zz_cycles / our_cycles:.3f}; energy: systolic's from {energy['source']}"
    )
    print(
        f"systolic config: {arch_path.relative_to(ROOT)}; "
        f"ZigZag outputs: {(workdir / 'zigzag').relative_to(ROOT)}"
    )

    result = {
        "network": wl.name,
        "layers": len(wl),
        "macs": int(macs.sum()),
        "machine": {"cpus": os.cpu_count(), "loadavg": os.getloadavg(), "python": platform.python_version()},
        "zigzag": {
            "version": zz_version,
            "hardware": str(hw_path.relative_to(zz_root)),
            "mapping": str(map_path.relative_to(zz_root)),
            "opt": args.opt,
            "wall_seconds": zz["seconds"],
            "cpu_seconds": zz["cpu_seconds"],
            "max_rss_bytes": zz["max_rss_bytes"],
            "api_seconds": zz["api_seconds"],
            "import_seconds": zz["import_seconds"],
            "reused": zz["reused"],
            "latency_cycles": zz_cycles,
            "energy_pj": zz["energy_pj"],
            "per_layer": theirs,
        },
        "systolic": {
            "config": cfg.to_dict(),
            "config_path": str(arch_path.relative_to(ROOT)),
            "command": " ".join(["systolic", *cli["command"][1:]]),
            "cli_wall_seconds": cli["seconds"],
            "cli_all_seconds": cli["all_seconds"],
            "cli_cpu_seconds": cli["cpu_seconds"],
            "cli_stdout": cli["stdout"],
            "cli_reported_model_seconds": printed["model_seconds"],
            "model_seconds": model_s,
            "latency_cycles": our_cycles,
            "energy_pj": energy["pj"],
            "energy_source": energy["source"],
            "per_layer_cycles": ours.tolist(),
            "per_layer_stall_cycles": np.asarray(res.memory.stall_cycles).astype(int).tolist(),
        },
        "ratio_zigzag_over_systolic_cli": ratio_cli,
        "ratio_zigzag_over_systolic_model": ratio_model,
        "latency_ratio_zigzag_over_systolic": zz_cycles / our_cycles,
    }
    name = "zigzag_compare.json" if not args.layers else f"zigzag_compare-{args.layers}.json"
    out = atomic_write_json(ROOT / "build" / "bench" / name, result)
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
