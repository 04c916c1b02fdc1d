"""Memory numbers and run time: systolic's model (= its RTL) beside SCALE-Sim 3 with a bandwidth-limited DRAM.

Usage:
    python bench/scalesim_memory.py --arch tpu-v1-128 --topology resnet18 [--layers N] [--reuse]
    python bench/scalesim_memory.py --arch tpu-v1-128 --topology resnet50 --time

SCALE-Sim 3 runs with ``InterfaceBandwidth: USER`` on the same array, dataflow and SRAM sizes, its DRAM
bandwidth set to our ``dram_bw_words_per_cycle`` (SCALE-Sim 3 takes the ifmap and filter DRAM bandwidth
from ``[layout] IfmapSRAMBankBandwidth`` / ``FilterSRAMBankBandwidth`` in USER mode, and only the ofmap's
from ``Bandwidth``, so all three are set). The network goes to SCALE-Sim as a conv topology, so it sees
the convolution and addresses the ifmap tensor: padding is folded into the ifmap size SCALE-Sim is given
(exactly the rows and columns the windows touch, ``(out - 1) * stride + filter``, so both tools have the
same M, N, K), a fully connected layer is a 1 x M ifmap with a 1 x 1 filter. SCALE-Sim's numbers are read
from its COMPUTE, BANDWIDTH and DETAILED_ACCESS reports; ours come from the model in-process
(:func:`systolic.model.network.network_run`).
With ``--time`` the script also times ``systolic run`` end to end
as a subprocess and prints SCALE-Sim's wall time over ours. Results go to
``build/bench/scalesim-memory-<arch>-<net>.json``; SCALE-Sim's inputs, log and reports stay in
``build/bench/scalesim-mem-<arch>-<net>/``. SCALE-Sim 3's USER mode slows down sharply when an operand is
many times its buffer (ResNet-18's layer4.0.conv2 on ws-32x32's 64 KiB buffers ran at 14 demand rows per
second: about 6 hours for that layer), so whole networks are compared on the 6 MiB buffers of tpu-v1-128.

What each tool counts, and why the numbers differ (WS: rows = K, cols = N, time = M; folds F_k = ceil(K/R),
F_n = ceil(N/C); [check] marks a rule this script tests on every layer and reports as ok/FAIL):

The memory systems. SCALE-Sim gives the ifmap, filter and ofmap buffers a DRAM interface each, every one at
the bandwidth (so ifmap and filter share twice our read bandwidth), answering after 1 cycle (its read port
without Ramulator); its buffers count one byte a word, the ofmap's partial sums included, and hold any
words. Ours: one read port shared by ifmap and filter (a request per cycle, data L = dram_latency_cycles
later) and one write port, a beat carrying at most bw words and never crossing an SRAM line; SRAMs are
lines of P lanes (a partial line wastes the rest), the ofmap holds bytes / ceil(acc_bits / 8) partial
sums. So a layer SCALE-Sim holds whole may need tiles with us (each operand tile fits half its buffer).

SRAM reads and writes (the array's side). Both count one word per operand the array consumes and per result
it writes. SCALE-Sim holds the whole layer's operand matrices: the ifmap is read once per column fold
(|A| F_n), the filter once (|B|), the ofmap written once per row fold (|C| F_k) [check, exact]. Our
tile edges fall on fold edges, so ifmap reads and ofmap writes are the same [check, equal], but the filter
is read again for every m-tile: |B| x m-tiles [check, exact]. We also count the ofmap's read-modify-write
and drain reads, which SCALE-Sim has no column for (JSON only).

DRAM writes (ofmap). SCALE-Sim's ofmap buffer drains every partial sum the array writes, |C| F_k words,
plus the -1 padding of the partial line each drain starts with [check]. Our ofmap SRAM accumulates over K
(read-modify-write) and drains each output tile once, after its last k-tile: |C| [check, exact].

DRAM reads (ifmap, filter). SCALE-Sim prefetches its operand matrices in the order the array demands them,
the ifmap's being the im2col matrix (ifmap-tensor addresses, but a pixel appears once per window covering
it and every appearance is fetched: no k x k saving), cut into folds and padded with -1 to whole folds (R
rows of K, C columns of N), the padding fetched and counted too. It counts requests, not data: the first
fill is the active half rounded up to bandwidth lines (or the whole padded matrix if smaller), every later
request the other half rounded up to lines, past the operand's end too; a request is made whenever the
array misses in the active half, whose window walks around the operand matrix as a ring, so an operand
larger than the buffer is streamed again on each pass (F_n passes over the ifmap) [check: reads = first
fill + a whole number of chunks]. We move each operand tile when it changes in the n, m, k walk (the
ifmap tile once per n-tile, the filter tile once per m-tile when K is cut), im2col words exactly. So ours
is below SCALE-Sim's where it pads (K < R: 2x on a 64-channel 1x1 conv on 128 rows), where it rounds a
small operand up to a half buffer, and where it re-streams a large ifmap F_n times; ours is above it for a
filter our line-organised SRAM makes us reload per m-tile.

Cycles and stalls. SCALE-Sim's "Total Cycles" is its compute timeline (F (T + 2R + C - 2) - 1 in WS, see
bench/scalesim_compare.py) plus its "Stall Cycles" [check, exact]; "incl. prefetch" adds the first fill
(before cycle 0) and the last drain, and is what we compare our cycles with. Its requests stream back to
back, each timed from the previous one's arrival, and a row of demands stalls until its words are in (its
read buffer adds a positive wait to the row's offset twice: `offset += potential_stall_cycles`, then again
under `if potential_stall_cycles > 0`; the next chunk's wait absorbs part of it). Our controller runs steps
separated by a barrier, each 1 + max(compute, read_beats + L, t + write_beats + 1) (model/memory.py): the
next tile loads while the current one computes, a step waits for the slower of the two, the first fill and
last drain are exposed. "stalls w/o fill+drain" leaves our first (load-only) and last (drain-only) steps
out, like SCALE-Sim's "Stall Cycles": on a compute-bound layer ours are 0 (a step whose buffers are ready
costs no cycle of its own); SCALE-Sim's are 0 unless its half-buffer stream falls behind the array.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scalesim_compare import ROOT, PeerRun, layout_csv, peer_python, run_scalesim, scalesim_formula

from systolic.config import ArrayConfig, load_arch, to_scalesim_cfg
from systolic.dataflow import MAPPINGS, TENSOR_DIMS
from systolic.errors import InputError
from systolic.fileio import atomic_write_json
from systolic.formats.network import load_workload
from systolic.model.cycles import GemmArrays
from systolic.model.memory import PROLOGUE_CYCLES
from systolic.model.network import network_run
from systolic.workload import Workload

#: What the tables compare: (key in our per-layer dict, label, SCALE-Sim's report, its column)
QUANTITIES = (
    ("cycles", "cycles", "COMPUTE_REPORT.csv", "Total Cycles (incl. prefetch)"),
    ("stall_cycles", "stalls", "COMPUTE_REPORT.csv", "Stall Cycles"),
    ("inner_stall_cycles", "stalls w/o fill+drain", "COMPUTE_REPORT.csv", "Stall Cycles"),
    ("sram_ifmap_reads", "SRAM ifmap R", "DETAILED_ACCESS_REPORT.csv", "SRAM IFMAP Reads"),
    ("sram_filter_reads", "SRAM filter R", "DETAILED_ACCESS_REPORT.csv", "SRAM Filter Reads"),
    ("sram_ofmap_writes", "SRAM ofmap W", "DETAILED_ACCESS_REPORT.csv", "SRAM OFMAP Writes"),
    ("dram_ifmap_reads", "DRAM ifmap R", "DETAILED_ACCESS_REPORT.csv", "DRAM IFMAP Reads"),
    ("dram_filter_reads", "DRAM filter R", "DETAILED_ACCESS_REPORT.csv", "DRAM Filter Reads"),
    ("dram_ofmap_writes", "DRAM ofmap W", "DETAILED_ACCESS_REPORT.csv", "DRAM OFMAP Writes"),
)


def scalesim_user_cfg(cfg: ArrayConfig) -> str:
    """The config as a SCALE-Sim .cfg in USER bandwidth mode at our DRAM bandwidth for all three operands.

    SCALE-Sim 3 takes the ifmap and filter DRAM bandwidth from the ``[layout]`` bank bandwidth (and asserts
    that the bank count divides it); banks only matter with custom layouts, which stay off.
    """
    bw = cfg.dram_bw_words_per_cycle
    text = to_scalesim_cfg(cfg.replace(name="bench", interface_bandwidth="user"))
    for op in ("Ifmap", "Filter"):
        for key, value in ((f"{op}SRAMBankBandwidth", bw), (f"{op}SRAMBankNum", 1)):
            lines = [ln for ln in text.splitlines() if ln.startswith(f"{key}:")]
            if len(lines) != 1:
                raise RuntimeError(f"to_scalesim_cfg no longer writes one '{key}:' line")
            text = text.replace(lines[0], f"{key}: {value}")
    return text


def conv_topology_csv(workload: Workload) -> str:
    """A SCALE-Sim conv topology with the same M, N, K per layer (see the module docstring)."""
    lines = [
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
    ]
    for ly in workload:
        name = _names(Workload(workload.name, (ly,)))[0]
        if ly.conv is None:
            if ly.repeat != 1:
                raise InputError(f"{ly.name}: repeated GEMMs have no SCALE-Sim conv form")
            lines.append(f"{name},1,{ly.m},1,1,{ly.k},{ly.n},1,")
            continue
        c = ly.conv
        if c.groups != 1 or c.batch != 1 or c.stride_h != c.stride_w:
            raise InputError(f"{ly.name}: SCALE-Sim's conv form has no groups, batch or unequal strides")
        h = (c.ofmap_h - 1) * c.stride_h + c.filter_h
        w = (c.ofmap_w - 1) * c.stride_w + c.filter_w
        lines.append(f"{name},{h},{w},{c.filter_h},{c.filter_w},{c.channels},{c.filters},{c.stride_h},")
    return "\n".join(lines) + "\n"


def ours_per_layer(res: dict) -> dict[str, np.ndarray]:
    mem, steps = res.memory, res.schedule.steps
    layers = mem.cycles.size
    last = np.r_[steps.layer[1:] != steps.layer[:-1], True]  # [step] the layer's drain-only step
    exposed = np.bincount(
        steps.layer, weights=np.where((steps.index == 0) | last, steps.cycles, 0), minlength=layers
    )
    return {
        "cycles": mem.cycles,
        "stall_cycles": mem.stall_cycles,
        # SCALE-Sim's "Stall Cycles" leave out its first fill and last drain: so does this column
        "inner_stall_cycles": mem.stall_cycles
        - (exposed.astype(np.int64) + PROLOGUE_CYCLES) * res.gemm.repeat,
        "sram_ifmap_reads": mem.sram_reads["ifmap"],
        "sram_filter_reads": mem.sram_reads["filter"],
        "sram_ofmap_writes": mem.sram_writes["ofmap"],
        "dram_ifmap_reads": mem.dram_reads["ifmap"],
        "dram_filter_reads": mem.dram_reads["filter"],
        "dram_ofmap_writes": mem.dram_writes["ofmap"],
    }


def untiled_passes(cfg: ArrayConfig, gemm: GemmArrays) -> dict[str, np.ndarray]:
    """How often the array touches each element of A, B, C when a layer is not tiled (SCALE-Sim's case):
    once per fold of each spatial dimension the tensor does not have."""
    mp = MAPPINGS[cfg.dataflow]
    dims = {"m": gemm.m, "n": gemm.n, "k": gemm.k}
    folds = {mp.spatial_rows: -(-dims[mp.spatial_rows] // cfg.rows)}
    folds[mp.spatial_cols] = -(-dims[mp.spatial_cols] // cfg.cols)
    out = {}
    for x, tdims in TENSOR_DIMS.items():
        p = np.ones_like(gemm.m)
        for d, f in folds.items():
            if d not in tdims:
                p = p * f
        out[x] = p
    return out


def scalesim_read_chunks(cfg: ArrayConfig, gemm: GemmArrays, theirs: dict) -> dict[str, np.ndarray]:
    """SCALE-Sim's DRAM reads of ifmap and filter as (first fill) + n x (half-buffer chunk): n per layer.

    Its read buffer counts whole requests: the first fill is the active half (``ceil(0.5 x bytes)``
    words, one byte a word) rounded up to bandwidth lines, or the whole prefetch matrix if smaller; every
    later request is the other half rounded up to lines. The prefetch matrix (WS) is the operand matrix
    cut into folds and padded to whole folds: M x R F_k entries for the ifmap, K x C F_n for the filter.
    Returns n as floats, so a non-integer n shows a layer that does not follow this rule.
    """
    if cfg.dataflow.value != "ws":
        return {}
    bw = cfg.dram_bw_words_per_cycle
    f_k, f_n = -(-gemm.k // cfg.rows), -(-gemm.n // cfg.cols)
    entries = {"ifmap": gemm.m * cfg.rows * f_k, "filter": gemm.k * cfg.cols * f_n}
    out = {}
    for buf, field in (("ifmap", "ifmap_sram_bytes"), ("filter", "filter_sram_bytes")):
        total = getattr(cfg, field)
        active = -(-total // 2)
        first = np.minimum(-(-active // bw), -(-entries[buf] // bw)) * bw
        chunk = -(-(total - active) // bw) * bw
        out[buf] = (theirs[f"dram_{buf}_reads"] - first) / chunk
    return out


def checks(
    cfg: ArrayConfig, gemm: GemmArrays, res: dict, ours: dict, theirs: dict
) -> list[tuple[str, np.ndarray]]:
    """Each documented difference as a per-layer boolean (True = the layer behaves as explained)."""
    size = {"A": gemm.m * gemm.k, "B": gemm.k * gemm.n, "C": gemm.m * gemm.n}
    passes = untiled_passes(cfg, gemm)
    plan = res.memory.plan
    bw = cfg.dram_bw_words_per_cycle
    # SCALE-Sim's ofmap drains count the padding of the partial line each drain starts with
    drain_words = cfg.ofmap_sram_bytes - -(-cfg.ofmap_sram_bytes // 2)
    pad = theirs["dram_ofmap_writes"] - theirs["sram_ofmap_writes"]
    out = [
        ("SCALE-Sim SRAM ifmap reads = |A| x passes", theirs["sram_ifmap_reads"] == size["A"] * passes["A"]),
        (
            "SCALE-Sim SRAM filter reads = |B| x passes",
            theirs["sram_filter_reads"] == size["B"] * passes["B"],
        ),
        (
            "SCALE-Sim SRAM ofmap writes = |C| x passes",
            theirs["sram_ofmap_writes"] == size["C"] * passes["C"],
        ),
        (
            "SCALE-Sim DRAM ofmap writes = its SRAM ofmap writes + line padding",
            (pad >= 0) & (pad < bw * (theirs["sram_ofmap_writes"] // drain_words + 2)),
        ),
        (
            "SCALE-Sim Total Cycles = compute formula + stalls",
            theirs["total_cycles"] == scalesim_formula(cfg, gemm) + theirs["stall_cycles"],
        ),
    ]
    for buf, n in scalesim_read_chunks(cfg, gemm, theirs).items():
        out.append(
            (
                f"SCALE-Sim DRAM {buf} reads = first fill + whole half-buffer chunks",
                (n >= 0) & (n == n.round()),
            )
        )
    return out + [
        ("ours SRAM ifmap reads = SCALE-Sim's", ours["sram_ifmap_reads"] == theirs["sram_ifmap_reads"]),
        ("ours SRAM ofmap writes = SCALE-Sim's", ours["sram_ofmap_writes"] == theirs["sram_ofmap_writes"]),
        (
            "ours SRAM filter reads = SCALE-Sim's x m-tiles",
            ours["sram_filter_reads"] == theirs["sram_filter_reads"] * plan.count_m,
        ),
        ("ours DRAM ofmap writes = |C|", ours["dram_ofmap_writes"] == size["C"]),
    ]


def _ratio(a, b) -> str:
    return f"{a / b:.3f}" if b else ("=" if a == b else "inf")


def print_tables(names: list[str], ours: dict, theirs: dict) -> None:
    for group in (QUANTITIES[:3], QUANTITIES[3:6], QUANTITIES[6:]):
        head = f"{'layer':<22}" + "".join(f"{label:>30}" for _, label, _, _ in group)
        sub = f"{'':<22}" + "".join(f"{'systolic':>12}{'SCALE-Sim':>12}{'ratio':>6}" for _ in group)
        print(head)
        print(sub)
        for i, name in enumerate([*names, "total"]):
            cells = []
            for key, *_ in group:
                a = ours[key].sum() if name == "total" else ours[key][i]
                b = theirs[key].sum() if name == "total" else theirs[key][i]
                cells.append(f"{int(a):>12,}{int(b):>12,}{_ratio(a, b):>6}")
            print(f"{name[:21]:<22}" + "".join(cells))
        print()


def run_peer(py: str, outdir: Path, cfg: ArrayConfig, wl: Workload, per_layer: bool, reuse: bool) -> PeerRun:
    """SCALE-Sim on the whole network, or one process per layer (its layers are independent simulations,
    but one process keeps every finished layer's matrices: AlexNet on tpu-v1-128 outgrew 20 GiB)."""
    cfg_text = scalesim_user_cfg(cfg)
    if not per_layer:
        return run_scalesim(
            py, outdir, cfg_text, conv_topology_csv(wl), layout_csv(_names(wl)), "conv", reuse
        )
    runs = [
        run_scalesim(
            py, outdir / f"layer{i}", cfg_text, conv_topology_csv(one), layout_csv(_names(one)), "conv", reuse
        )
        for i, one in enumerate(Workload(wl.name, (ly,)) for ly in wl)
    ]
    reports = {name: [row for run in runs for row in run.reports[name]] for name in runs[0].reports}
    return PeerRun(
        reports,
        sum(r.seconds for r in runs),
        sum(r.cpu_seconds for r in runs),
        max(r.max_rss_bytes for r in runs),
        any(r.reused for r in runs),
    )


def _names(wl: Workload) -> list[str]:
    """Layer names as SCALE-Sim may see them: it splits on every comma and reads 'DP' as depthwise."""
    return [ly.name.replace(",", ";").replace("DP", "dp") for ly in wl]


def time_systolic_run(arch: str, net: str, out: Path, repeat: int, *extra: str) -> tuple[float, float]:
    """Median wall and CPU seconds of ``systolic run --arch A --topology N --out DIR [extra]`` as a
    subprocess."""
    cmd = [
        str(Path(sys.executable).parent / "systolic"),
        "run",
        "--arch",
        arch,
        "--topology",
        net,
        "--out",
        str(out),
        *extra,
    ]
    walls, cpus = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - start)
        cpus.append(usage.ru_utime + usage.ru_stime)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(cmd)} failed")
    return statistics.median(walls), statistics.median(cpus)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="tpu-v1-128")
    ap.add_argument("--topology", default="resnet18")
    ap.add_argument("--layers", type=int, default=None, help="only the first N layers")
    ap.add_argument("--time", action="store_true", help="also time `systolic run` end to end")
    ap.add_argument("--repeat", type=int, default=20, help="model timing: median of this many runs")
    ap.add_argument(
        "--per-layer", action="store_true", help="one SCALE-Sim process per layer (bounds memory)"
    )
    ap.add_argument("--peer-python", default=None)
    ap.add_argument(
        "--reuse", action="store_true", help="read SCALE-Sim's reports of an identical earlier run"
    )
    args = ap.parse_args(argv)
    cfg = load_arch(args.arch)
    wl = load_workload(args.topology)
    if args.layers:
        wl = Workload(wl.name, wl.layers[: args.layers])
    tag = f"{cfg.slug}-{wl.name}"
    bench = ROOT / "build" / "bench"

    # SCALE-Sim first: it takes minutes; our timings are then taken on a machine that is not busy with it.
    peer = run_peer(
        peer_python(args.peer_python), bench / f"scalesim-mem-{tag}", cfg, wl, args.per_layer, args.reuse
    )

    model_times, model_cpu = [], []
    for _ in range(max(1, args.repeat)):
        start, cpu = time.perf_counter(), time.process_time()
        res = network_run(cfg, wl)
        model_times.append(time.perf_counter() - start)
        model_cpu.append(time.process_time() - cpu)
    gemm: GemmArrays = res.gemm
    ours = ours_per_layer(res)

    def col(report: str, header: str) -> np.ndarray:
        return peer.column(report, header).astype(np.int64)

    theirs = {key: col(rep, hdr) for key, _, rep, hdr in QUANTITIES}
    theirs["total_cycles"] = col("COMPUTE_REPORT.csv", "Total Cycles")
    if theirs["cycles"].size != len(wl):
        sys.exit(f"SCALE-Sim reported {theirs['cycles'].size} layers, the workload has {len(wl)}")

    names = [ly.name for ly in wl]
    print(
        f"{cfg.name} ({cfg.rows}x{cfg.cols} {cfg.dataflow.value.upper()}, DRAM {cfg.dram_bw_words_per_cycle} "
        f"words/cycle, latency {cfg.dram_latency_cycles}) on {wl.name}: systolic model vs SCALE-Sim 3 "
        "(USER bandwidth); ratio = systolic / SCALE-Sim"
    )
    print()
    print_tables(names, ours, theirs)

    im2col, filt = (gemm.m * gemm.k).sum(), (gemm.k * gemm.n).sum()
    over = {
        key: (ours[key].sum() / n, theirs[key].sum() / n)
        for key, n in (("dram_ifmap_reads", im2col), ("dram_filter_reads", filt))
    }
    print(
        f"DRAM reads over the operand's size: ifmap (im2col |A| = {int(im2col):,}) systolic "
        f"{over['dram_ifmap_reads'][0]:.3f}, SCALE-Sim {over['dram_ifmap_reads'][1]:.3f}; "
        f"filter (|B| = {int(filt):,}) systolic {over['dram_filter_reads'][0]:.3f}, "
        f"SCALE-Sim {over['dram_filter_reads'][1]:.3f}"
    )
    results = checks(cfg, gemm, res, ours, theirs)
    explained = True
    for label, ok in results:
        bad = [names[i] for i in np.flatnonzero(~ok)]
        explained &= not bad
        print(
            f"  [{'ok' if not bad else 'FAIL'}] {label}: {int(ok.sum())}/{len(wl)} layers"
            + (f" (not: {', '.join(bad[:6])})" if bad else "")
        )

    model_s, model_cpu_s = statistics.median(model_times), statistics.median(model_cpu)
    timing = {
        "scalesim_s": peer.seconds,
        "scalesim_cpu_s": peer.cpu_seconds,
        "scalesim_max_rss_bytes": peer.max_rss_bytes,
        "scalesim_reused": peer.reused,
        "model_median_s": model_s,
        "model_median_cpu_s": model_cpu_s,
        "model_first_s": model_times[0],
    }
    reused = " (read, at least in part, from earlier runs with identical inputs)" if peer.reused else ""
    print(
        f"time: SCALE-Sim {peer.seconds:,.1f} s wall, {peer.cpu_seconds:,.1f} s CPU, peak "
        f"{peer.max_rss_bytes / 2**30:.1f} GiB{reused}\n"
        f"      systolic model in-process {model_s * 1e3:.1f} ms wall, {model_cpu_s * 1e3:.1f} ms CPU "
        f"(median of {len(model_times)}; first {model_times[0] * 1e3:.1f} ms): SCALE-Sim / model "
        f"{peer.seconds / model_s:,.0f}x wall, {peer.cpu_seconds / model_cpu_s:,.0f}x CPU"
    )
    if args.time:
        # --memory-only is SCALE-Sim's scope (cycles, stalls, accesses, its three reports); the full run
        # adds energy, power over time, temperature and the HTML report
        for label, extra in (("memory_only", ("--memory-only",)), ("full", ())):
            run_s, run_cpu_s = time_systolic_run(
                args.arch, args.topology, bench / f"systolic-run-{tag}-{label}", 5, *extra
            )
            timing |= {f"systolic_run_{label}_s": run_s, f"systolic_run_{label}_cpu_s": run_cpu_s}
            flags = "".join(f" {x}" for x in extra)
            print(
                f"      `systolic run --arch {args.arch} --topology {args.topology} --out DIR{flags}` end to "
                f"end {run_s:.3f} s wall, {run_cpu_s:.3f} s CPU (median of 5): SCALE-Sim / systolic run "
                f"{peer.seconds / run_s:,.0f}x wall, {peer.cpu_seconds / run_cpu_s:,.0f}x CPU"
            )

    def per_layer(d: dict) -> dict:
        return {k: [int(x) for x in v] for k, v in d.items()}

    out = bench / f"scalesim-memory-{tag}.json"
    atomic_write_json(
        out,
        {
            "command": " ".join(
                ["python bench/scalesim_memory.py", *(sys.argv[1:] if argv is None else argv)]
            ),
            "config": cfg.to_dict(),
            "workload": wl.name,
            "layers": names,
            "systolic": per_layer(ours)
            | {
                "sram_ofmap_reads": [int(x) for x in res.memory.sram_reads["ofmap"]],
                "m_tiles": [int(x) for x in res.memory.plan.count_m],
            },
            "scalesim": per_layer(theirs),
            "totals": {
                key: {"systolic": int(ours[key].sum()), "scalesim": int(theirs[key].sum())}
                for key, *_ in QUANTITIES
            },
            "checks": {label: bool(ok.all()) for label, ok in results},
            "timing": timing,
        },
    )
    print(f"wrote {out.relative_to(ROOT)}")
    return 0 if explained else 1


if __name__ == "__main__":
    sys.exit(main())
