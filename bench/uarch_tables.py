"""Issue 15's benchmark tables: ResNet-50 and MobileNet-V2 on TPU-v1-like arrays, before and after the
micro-architecture options, beside SCALE-Sim 3 (CALC and USER bandwidth).

Usage (one command redoes every table; SCALE-Sim's runs are cached, see below):
    taskset -c 1 .venv/bin/python bench/uarch_tables.py [--arch A ...] [--topology N ...] [--md FILE]

For each config and network, per layer: MACs, utilisation (MACs / (cycles x rows x cols)) before (every
micro-architecture option off: ``fold_overlap = false``, ``tile_overlap = false``, ``conv_native = false``,
``group_blocks = false``)
and after (the config's defaults), the cycles and stalls, and the DRAM words per tensor (ifmap reads, filter
reads, ofmap writes) beside the tensor sizes and beside SCALE-Sim's DRAM counts in CALC mode (its DRAM
bandwidth computed so nothing stalls) and USER mode (our DRAM bandwidth; see bench/scalesim_memory.py for
how the .cfg carries it and why SCALE-Sim's counts differ from ours). Our numbers come from the model
in-process (:func:`systolic.model.network.network_run`), which ``make cosim`` holds equal to the RTL.

Tensor sizes: ifmap = batch x channels x H x W of the unpadded input, filter = R x S x channels/groups x
filters, ofmap = batch x filters x out_h x out_w; a fully connected layer's ifmap is M x K, its filter K x N.

SCALE-Sim sees each layer as a conv topology row (bench/scalesim_memory.py's form: the ifmap it is given is
the padded input cut to the rows and columns the windows touch, so both tools have the same M, N, K). A
depthwise layer goes to SCALE-Sim as a ``DP`` row (its own depthwise form: one single-channel,
single-filter layer per channel, the same C GEMMs our model runs) and its rows are summed back into the
layer. One SCALE-Sim process per layer (one process for a whole ResNet-50 needed 7 GB); each run is cached
under ``build/bench/scalesim-cache/<sha256 of its inputs>/`` and read back when the inputs are
byte-identical, so after a change to systolic only our side is recomputed. CALC's counts do not depend on
the bandwidth (SCALE-Sim reads ``Bandwidth`` only in USER mode), so its .cfg is written with a fixed
bandwidth and one CALC run serves both configs.

The tables are printed and written as markdown (``--md``, default bench/results/uarch_tables.md, which the
README quotes); the per-layer numbers also go to ``build/bench/uarch-tables.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scalesim_compare import PEER_DRIVER, ROOT, layout_csv, peer_python, run_scalesim
from scalesim_memory import scalesim_user_cfg

from systolic.config import SERIAL_OPTIONS, ArrayConfig, load_arch, to_scalesim_cfg
from systolic.fileio import atomic_write_json, atomic_write_text
from systolic.formats.network import load_workload
from systolic.model.bounds import layer_bounds
from systolic.model.grouped import lower_groups_origin
from systolic.model.network import network_run
from systolic.workload import Layer, Workload

ARCHS = ("tpu-v1-128", "tpu-v1-34gbs")
NETS = ("resnet50", "mobilenetv2")
CACHE = ROOT / "build" / "bench" / "scalesim-cache"
#: SCALE-Sim's DRAM columns and ours, per tensor
TENSORS = (
    ("ifmap", "DRAM IFMAP Reads", "dram_reads"),
    ("filter", "DRAM Filter Reads", "dram_reads"),
    ("ofmap", "DRAM OFMAP Writes", "dram_writes"),
)


def before(cfg: ArrayConfig) -> ArrayConfig:
    """The config with every micro-architecture option of issue 15 off (the serial machine)."""
    return cfg.replace(**SERIAL_OPTIONS)


def tensor_words(ly: Layer) -> dict[str, int]:
    """Sizes of the layer's ifmap, filter and ofmap tensors in words (see the module docstring)."""
    c = ly.conv
    if c is None:
        return {"ifmap": ly.m * ly.k * ly.repeat, "filter": ly.k * ly.n * ly.repeat, "ofmap": ly.m * ly.n}
    return {
        "ifmap": c.batch * c.channels * c.ifmap_h * c.ifmap_w,
        "filter": c.filter_h * c.filter_w * (c.channels // c.groups) * c.filters,
        "ofmap": c.batch * c.filters * c.ofmap_h * c.ofmap_w,
    }


def _name(ly: Layer) -> str:
    # SCALE-Sim splits on every comma and reads 'DP' in a name as depthwise
    return ly.name.replace(",", ";").replace("DP", "dp")


def scalesim_row(ly: Layer) -> tuple[str, int]:
    """The layer as one SCALE-Sim conv topology row, and how many SCALE-Sim layers it becomes."""
    c = ly.conv
    if c is None:
        if ly.repeat != 1:
            raise SystemExit(f"{ly.name}: repeated GEMMs have no SCALE-Sim conv form")
        return f"{_name(ly)},1,{ly.m},1,1,{ly.k},{ly.n},1,", 1
    if c.batch != 1 or c.stride_h != c.stride_w:
        raise SystemExit(f"{ly.name}: SCALE-Sim's conv form has no batch or unequal strides")
    h = (c.ofmap_h - 1) * c.stride_h + c.filter_h
    w = (c.ofmap_w - 1) * c.stride_w + c.filter_w
    if c.groups == 1:
        return f"{_name(ly)},{h},{w},{c.filter_h},{c.filter_w},{c.channels},{c.filters},{c.stride_h},", 1
    if c.groups == c.channels == c.filters:
        return f"{_name(ly)}_DP,{h},{w},{c.filter_h},{c.filter_w},{c.channels},1,{c.stride_h},", c.groups
    raise SystemExit(f"{ly.name}: SCALE-Sim has no grouped (non-depthwise) convolution")


@dataclass(frozen=True)
class PeerLayer:
    cycles: int  # Total Cycles (incl. prefetch)
    compute_cycles: int  # Total Cycles - Stall Cycles
    stall_cycles: int
    dram: dict[str, int]  # tensor -> words


def scalesim_layer(py: str, cfg_text: str, ly: Layer, cached_only: bool = False) -> PeerLayer | None:
    """SCALE-Sim on one layer (cached by the digest of its inputs), its sub-layers summed; None when
    ``cached_only`` and it has not run yet."""
    row, parts = scalesim_row(ly)
    topo = (
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    )
    topo += row + "\n"
    layout = layout_csv([row.split(",")[0]])
    digest = hashlib.sha256(json.dumps([cfg_text, topo, layout, PEER_DRIVER]).encode()).hexdigest()
    if cached_only and not (CACHE / digest[:24] / "stamp.json").exists():
        return None
    run = run_scalesim(py, CACHE / digest[:24], cfg_text, topo, layout, "conv", reuse=True)
    if not run.reused:
        print(f"  SCALE-Sim {ly.name}: {run.seconds:.1f} s", file=sys.stderr, flush=True)

    def col(report: str, header: str) -> int:
        values = run.column(report, header)
        if values.size != parts:
            raise SystemExit(f"SCALE-Sim made {values.size} layers of {ly.name}, expected {parts}")
        return int(values.sum())

    total = col("COMPUTE_REPORT.csv", "Total Cycles (incl. prefetch)")
    stalls = col("COMPUTE_REPORT.csv", "Stall Cycles")
    return PeerLayer(
        total,
        col("COMPUTE_REPORT.csv", "Total Cycles") - stalls,
        stalls,
        {t: col("DETAILED_ACCESS_REPORT.csv", hdr) for t, hdr, _ in TENSORS},
    )


def calc_cfg(cfg: ArrayConfig) -> str:
    """SCALE-Sim's CALC-mode .cfg, the same for configs that differ only in DRAM bandwidth."""
    return to_scalesim_cfg(cfg.replace(name="bench", interface_bandwidth="calc", dram_bw_words_per_cycle=1))


def ours(cfg: ArrayConfig, wl: Workload) -> dict[str, np.ndarray]:
    """Our numbers per layer of ``wl``: a grouped convolution in blocks (``group_blocks``) may run as two
    entries (``.tail``), summed back into its layer (memory-bound when either is)."""
    lowered, origin = lower_groups_origin(cfg, wl)
    net = network_run(cfg, lowered)
    mem, pes = net.memory, cfg.rows * cfg.cols
    bounds = layer_bounds(cfg, net.gemm, mem)

    def per_layer(x: np.ndarray) -> np.ndarray:
        return np.bincount(origin, weights=x, minlength=len(wl)).astype(np.asarray(x).dtype)

    cycles = per_layer(mem.cycles)
    out = {
        "cycles": cycles,
        "compute_cycles": per_layer(mem.compute_cycles),
        "stall_cycles": per_layer(mem.stall_cycles),
        "util": per_layer(mem.macs) / (cycles * pes),
        "memory_bound": per_layer(bounds.memory_bound.astype(np.int64)) > 0,
        "dram_limited": per_layer(bounds.dram_limited.astype(np.int64)) > 0,
    }
    for t, _, field in TENSORS:
        out[f"dram_{t}"] = per_layer(getattr(mem, field)[t])
    return out


def _peer_column(runs: list[PeerLayer | None], get) -> np.ndarray:
    """[layer] one SCALE-Sim number per layer, NaN where it has not run (``--cached-only``)."""
    return np.array([np.nan if p is None else get(p) for p in runs], dtype=float)


def measure(arch: str, net: str, py: str, cached_only: bool = False) -> dict:
    cfg, wl = load_arch(arch), load_workload(net)
    user, calc = scalesim_user_cfg(cfg), calc_cfg(cfg)
    peer = {
        "calc": [scalesim_layer(py, calc, ly, cached_only) for ly in wl],
        "user": [scalesim_layer(py, user, ly, cached_only) for ly in wl],
    }
    return {
        "cfg": cfg,
        "layers": [ly.name for ly in wl],
        "macs": np.array([ly.macs for ly in wl]),
        "tensor": {t: np.array([tensor_words(ly)[t] for ly in wl]) for t, *_ in TENSORS},
        "before": ours(before(cfg), wl),
        "after": ours(cfg, wl),
        "peer": {
            mode: {
                "cycles": _peer_column(runs, lambda p: p.cycles),
                "compute_cycles": _peer_column(runs, lambda p: p.compute_cycles),
                "stall_cycles": _peer_column(runs, lambda p: p.stall_cycles),
                **{f"dram_{t}": _peer_column(runs, lambda p, t=t: p.dram[t]) for t, *_ in TENSORS},
            }
            for mode, runs in peer.items()
        },
    }


def _n(x) -> str:
    """A count; a SCALE-Sim number not run yet (NaN, or a sum with one) is a dash."""
    return "—" if np.isnan(x) else f"{int(x):,}"


def summary_table(results: dict) -> list[str]:
    """One row per (config, network): totals."""
    out = [
        "| config | network | cycles before | cycles after | SCALE-Sim USER cycles "
        "| SCALE-Sim compute cycles | utilisation before / after | stalls before / after "
        "| memory-bound layers before / after |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for (arch, net), r in results.items():
        b, a, u = r["before"], r["after"], r["peer"]["user"]
        pes = r["cfg"].rows * r["cfg"].cols
        util = [r["macs"].sum() / (x["cycles"].sum() * pes) for x in (b, a)]
        n = len(r["layers"])
        out.append(
            f"| {arch} | {net} | {_n(b['cycles'].sum())} | {_n(a['cycles'].sum())} | {_n(u['cycles'].sum())} "
            f"| {_n(r['peer']['calc']['compute_cycles'].sum())} | {util[0]:.2%} / {util[1]:.2%} "
            f"| {_n(b['stall_cycles'].sum())} / {_n(a['stall_cycles'].sum())} "
            f"| {int(b['memory_bound'].sum())} / {int(a['memory_bound'].sum())} of {n} |"
        )
    out += [
        "",
        "DRAM words per tensor, whole network (ratio to the tensor sizes' sum in brackets):",
        "",
        "| config | network | tensor | sizes | systolic before | systolic after | SCALE-Sim CALC "
        "| SCALE-Sim USER |",
        "|---|---|---|--:|--:|--:|--:|--:|",
    ]
    for (arch, net), r in results.items():
        for t, *_ in TENSORS:
            size = r["tensor"][t].sum()
            cells = [r[k][f"dram_{t}"].sum() for k in ("before", "after")] + [
                r["peer"][m][f"dram_{t}"].sum() for m in ("calc", "user")
            ]
            out.append(
                f"| {arch} | {net} | {t} | {_n(size)} | "
                + " | ".join(_n(c) if np.isnan(c) else f"{_n(c)} ({c / size:.2f}x)" for c in cells)
                + " |"
            )
    return out


def layer_table(r: dict) -> list[str]:
    b, a, calc, user = r["before"], r["after"], r["peer"]["calc"], r["peer"]["user"]
    out = [
        "| layer | MACs | util before | util after | cycles before | cycles after | SCALE-Sim USER "
        "| ifmap | DRAM ifmap before / after | SS CALC / USER | filter | DRAM filter before / after "
        "| SS CALC / USER | ofmap | DRAM ofmap W | SS CALC / USER |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for i, name in enumerate(r["layers"]):
        cells = [name, _n(r["macs"][i]), f"{b['util'][i]:.2%}", f"{a['util'][i]:.2%}"]
        cells += [_n(b["cycles"][i]), _n(a["cycles"][i]), _n(user["cycles"][i])]
        for t, *_ in TENSORS:
            key = f"dram_{t}"
            cells.append(_n(r["tensor"][t][i]))
            if t != "ofmap":
                cells.append(f"{_n(b[key][i])} / {_n(a[key][i])}")
            else:
                cells.append(
                    _n(a[key][i]) if a[key][i] == b[key][i] else f"{_n(b[key][i])} / {_n(a[key][i])}"
                )
            cells.append(f"{_n(calc[key][i])} / {_n(user[key][i])}")
        out.append("| " + " | ".join(cells) + " |")
    return out


def markdown(results: dict, command: str, cached_only: bool) -> str:
    lines = [
        "<!-- written by bench/uarch_tables.py: do not edit, rerun it -->",
        "# ResNet-50 and MobileNet-V2 on TPU-v1-like arrays: before and after issue 15, beside SCALE-Sim 3",
        "",
        f'Made by `{command}`. "Before" is every micro-architecture option off '
        "(`fold_overlap = false`, `tile_overlap = false`, `conv_native = false`: im2col matrices in DRAM, "
        "`group_blocks = false`: one GEMM per group), "
        '"after" the configs\' defaults. SCALE-Sim 3.0.0: '
        'USER mode at the config\'s DRAM bandwidth, CALC mode (bandwidth computed, no stalls); its "cycles" '
        'are "Total Cycles (incl. prefetch)", its compute cycles "Total Cycles" less "Stall Cycles". '
        "Utilisation = MACs / (cycles x rows x cols). Memory-bound: the roofline's verdict "
        "(model/bounds.py), as `systolic run` prints it.",
        "",
        *(["SCALE-Sim's layers not run yet show as a dash (`--cached-only`)."] if cached_only else []),
        "",
        "## Totals",
        "",
        *summary_table(results),
    ]
    for (arch, net), r in results.items():
        cfg = r["cfg"]
        lines += [
            "",
            f"## {net} on {arch} ({cfg.rows}x{cfg.cols} {cfg.dataflow.value.upper()}, DRAM "
            f"{cfg.dram_bw_words_per_cycle} words/cycle)",
            "",
            *layer_table(r),
        ]
    return "\n".join(lines) + "\n"


def to_json(results: dict) -> dict:
    def conv(x):
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, np.ndarray):
            return [None if v != v else v for v in x.tolist()]  # NaN: SCALE-Sim not run
        if isinstance(x, ArrayConfig):
            return x.to_dict()
        return x

    return {f"{arch}/{net}": conv(r) for (arch, net), r in results.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", nargs="+", default=list(ARCHS))
    ap.add_argument("--topology", nargs="+", default=list(NETS))
    ap.add_argument("--md", default=str(Path("bench") / "results" / "uarch_tables.md"))
    ap.add_argument("--peer-python", default=None)
    ap.add_argument(
        "--cached-only",
        action="store_true",
        help="do not run SCALE-Sim: its cached layers only, a dash for the others",
    )
    args = ap.parse_args(argv)
    py = peer_python(args.peer_python)
    results = {}
    for net in args.topology:
        for arch in args.arch:
            print(f"{net} on {arch}", file=sys.stderr, flush=True)
            results[(arch, net)] = measure(arch, net, py, args.cached_only)
    command = (
        "python bench/uarch_tables.py"
        + "".join(
            f" {k} {' '.join(v)}"
            for k, v, d in (("--arch", args.arch, ARCHS), ("--topology", args.topology, NETS))
            if tuple(v) != d
        )
        + (" --cached-only" if args.cached_only else "")
    )
    print("\n".join(summary_table(results)))
    md = ROOT / args.md
    md.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(md, markdown(results, command, args.cached_only))
    atomic_write_json(ROOT / "build" / "bench" / "uarch-tables.json", to_json(results))
    print(f"wrote {md.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
