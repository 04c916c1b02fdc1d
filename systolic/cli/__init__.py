"""The ``systolic`` command: the entry point and one module per subcommand.

Each subcommand module parses its arguments, calls the flow (``systolic.flow``), the model or cosim, and
prints; it holds no model logic. A command line names one subcommand and only that module is imported, so
``systolic --help`` and the model-only commands start fast. Bad input raises
:class:`~systolic.errors.InputError`, which :func:`main` prints as one line and turns into exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from systolic import __version__
from systolic.errors import InputError

from .common import EXIT_BAD_INPUT, Parser, with_flags

#: Every subcommand, in the order ``--help`` lists them: its name and the ``module:function`` that registers
#: it. A command line names one, and only that module is imported (the others would only slow the start).
SUBCOMMANDS: dict[str, str] = {
    "config": "systolic.cli.config:add",
    "workload": "systolic.cli.workload:add",
    "hdl": "systolic.cli.hdl:add",
    "cosim": "systolic.cli.cosim:add",
    "run": "systolic.cli.run:add",
    "thermal": "systolic.cli.thermal:add",
    "dvfs": "systolic.cli.dvfs:add",
    "sweep": "systolic.cli.sweep:add",
    "calibrate": "systolic.cli.calibrate:add",
    "accuracy": "systolic.cli.accuracy:add",
    "llm": "systolic.cli.llm:add",
}


def _adder(target: str) -> Callable[[Any], None]:
    import importlib

    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand, or with ``only`` that one (when a command line names it)."""
    parser = Parser(
        prog="systolic",
        description="One architecture description for systolic-array accelerators: RTL, co-simulation "
        "and a fast model of cycles, memory, energy, power and temperature.",
    )
    parser.add_argument("--version", action="version", version=f"systolic {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser, metavar="COMMAND")
    for name, target in SUBCOMMANDS.items():
        if only is None or name == only:
            _adder(target)(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(first if first in SUBCOMMANDS else None)
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except InputError as err:
        print(f"systolic: error: {with_flags(err)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:  # a file the checks did not foresee (a name too long, a vanished folder): one line
        where = f"{err.filename}: " if err.filename else ""
        print(f"systolic: error: {' '.join(f'{where}{err.strerror or err}'.split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("systolic: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
