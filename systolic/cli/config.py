"""``systolic config``: show, list and convert architecture configs."""

from __future__ import annotations

import argparse
from typing import Any

from systolic.config import builtin_arch_names, load_arch, parse_override, to_scalesim_cfg, to_toml

from .common import Parser, add_command


def add(sub: Any) -> None:
    """Register ``systolic config``."""
    p = add_command(
        sub,
        "config",
        "show, list or convert architecture configs",
        "Architectures: the shipped ones by name (configs/*.toml), systolic TOML files and SCALE-Sim 2/3 "
        ".cfg "
        "files, each with --set FIELD=VALUE overrides.",
        [
            "systolic config list",
            "systolic config show tpu-v1-128 --set rows=64",
            "systolic config show examples/my_scalesim.cfg --format toml",
        ],
    )
    csub = p.add_subparsers(dest="config_cmd", required=True, parser_class=Parser)
    show = csub.add_parser("show", help="print the resolved config")
    show.add_argument("arch", metavar="ARCH", help="shipped name, .toml or SCALE-Sim .cfg")
    show.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="overrides")
    show.add_argument("--format", choices=("table", "toml", "json", "scalesim"), default="table")
    show.set_defaults(func=_config_show)
    lst = csub.add_parser("list", help="list the shipped architectures")
    lst.set_defaults(func=_config_list)


def _config_show(args: argparse.Namespace) -> int:
    cfg = load_arch(args.arch, dict(parse_override(t) for t in args.overrides))
    if args.format == "toml":
        print(to_toml(cfg), end="")
    elif args.format == "json":
        import json

        print(json.dumps(cfg.to_dict(), indent=2))
    elif args.format == "scalesim":
        print(to_scalesim_cfg(cfg), end="")
    else:
        width = max(len(k) for k in cfg.to_dict())
        for key, value in cfg.to_dict().items():
            print(f"{key:<{width}}  {value}")
    return 0


def _config_list(args: argparse.Namespace) -> int:
    for name in builtin_arch_names():
        cfg = load_arch(name)
        print(
            f"{name:<14} {cfg.rows}x{cfg.cols} {cfg.dataflow.value.upper()}  "
            f"{cfg.input_bits}b x {cfg.weight_bits}b -> {cfg.acc_bits}b"
        )
    return 0
