"""``systolic workload``: networks and topology files as tables of GEMMs."""

from __future__ import annotations

import argparse
from typing import Any

from .common import Parser, add_command, add_net_params, load_workload_arg


def add(sub: Any) -> None:
    """Register ``systolic workload``."""
    p = add_command(
        sub,
        "workload",
        "inspect networks and topology files",
        "Networks as tables of GEMMs (C[M,N] = A[M,K] @ B[K,N]): the zoo by name, SCALE-Sim topology CSVs "
        "(conv or GEMM form), systolic GEMM CSVs and ONNX models.",
        [
            "systolic workload list",
            "systolic workload show resnet50",
            "systolic workload show gpt3-175b --phase decode --batch 8 --context 2048",
            "systolic workload show examples/tiny_cnn.onnx --format csv",
        ],
    )
    wsub = p.add_subparsers(dest="workload_cmd", required=True, parser_class=Parser)
    show = wsub.add_parser("show", help="table of a network's layers as GEMMs (M, N, K, MACs)")
    show.add_argument(
        "net",
        metavar="NET|FILE",
        help="a zoo network name, a SCALE-Sim topology CSV, a GEMM CSV or an ONNX model",
    )
    add_net_params(show)
    show.add_argument("--format", choices=("table", "csv", "scalesim-gemm"), default="table")
    show.set_defaults(func=_workload_show)
    lst = wsub.add_parser("list", help="list the networks in the zoo")
    lst.set_defaults(func=_workload_list)


def _workload_show(args: argparse.Namespace) -> int:
    from systolic.workload import write_gemm_csv

    wl = load_workload_arg(args)
    if args.format == "scalesim-gemm":
        print(write_gemm_csv(wl), end="")
        return 0
    if args.format == "csv":
        print("layer,kind,m,n,k,repeat,macs")
        for layer in wl:
            print(f"{layer.name},{layer.kind},{layer.m},{layer.n},{layer.k},{layer.repeat},{layer.macs}")
        return 0
    head = ("#", "layer", "kind", "M", "N", "K", "x", "MACs")
    rows = [
        (str(i), ly.name, ly.kind, *(f"{v:,}" for v in (ly.m, ly.n, ly.k, ly.repeat, ly.macs)))
        for i, ly in enumerate(wl)
    ]
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(head)]
    align = ["<", "<", "<", ">", ">", ">", ">", ">"]
    fmt = "  ".join(f"{{:{a}{w}}}" for a, w in zip(align, widths, strict=True))
    print(f"{wl.name}: {len(wl)} layers")
    print(fmt.format(*head))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt.format(*r))
    print(f"total: {len(wl)} layers, {wl.macs:,} MACs ({wl.macs / 1e9:.3f} G MACs)")
    return 0


def _workload_list(args: argparse.Namespace) -> int:
    from systolic.zoo import NETWORKS

    for name, entry in NETWORKS.items():
        print(f"{name:<16} {entry.description}")
    return 0
