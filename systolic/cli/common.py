"""What every subcommand shares: the parser class whose usage errors are one line, the ``--arch``/``--set``
arguments and the network arguments, and resolving them."""

from __future__ import annotations

import argparse
import textwrap
from typing import TYPE_CHECKING, Any

from systolic.errors import InputError

if TYPE_CHECKING:
    from systolic.config import ArrayConfig

#: Exit status of bad input (one line on standard error, no traceback).
EXIT_BAD_INPUT = 2

#: The command-line flag of each parameter that the model and the flow name in their errors (they never name
#: a flag themselves: the CLI adds it when it reports the error).
FLAGS = {
    "deadline": "--deadline-ms",
    "policy": "--policy",
    "interval": "--interval",
    "integrator": "--integrator",
    "temperature": "--temperature-k",
    "zero fraction": "--zero-frac",
    "temperature limit": "--temp-limit-c",
    "calibration": "--calibration",
    "scheduler": "--scheduler",
    "network": "--network",
    "noise kind": "--noise-kind",
    "seeds": "--seeds",
    "devices": "--devices",
    "vpp": "--vpp",
    "mb": "--mb",
    "memory_stacks": "--memory-stacks",
}


def with_flags(err: InputError) -> InputError:
    """``err`` with a parameter name it gives as its source or place replaced by its command-line flag."""
    source, where = FLAGS.get(err.source or "", err.source), FLAGS.get(err.where or "", err.where)
    if (source, where) == (err.source, err.where):
        return err
    return InputError(err.what, source, where)


class Parser(argparse.ArgumentParser):
    """argparse with usage errors in the same one-line form as every other bad input, and numbers read as
    ``systolic.numbers`` reads them (ASCII digits only: ``int("٤")`` is 4 in Python, not here)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from systolic.numbers import parse_float, parse_int

        self.register("type", int, parse_int)
        self.register("type", float, parse_float)

    def error(self, message: str) -> None:  # type: ignore[override]
        if message.endswith("expected one argument"):
            flag = message.removeprefix("argument ").split(":")[0].split("/")[-1]
            message += (
                f" (a value that starts with '-' is joined to its option with '=', e.g. {flag}=-1; "
                "or was the value left out?)"
            )
        raise InputError(message, self.prog)


def add_command(
    sub: Any, name: str, summary: str, description: str, examples: list[str]
) -> argparse.ArgumentParser:
    """A subcommand's parser: ``summary`` in the list of commands, ``description`` and ``examples`` in its
    own help."""
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    return sub.add_parser(
        name,
        help=summary,
        description=textwrap.fill(description, 100),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_arch_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument(
        "--arch",
        required=required,
        metavar="ARCH",
        help="a shipped architecture name, a systolic .toml or a SCALE-Sim .cfg file",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        dest="overrides",
        help="override one config field (repeatable), e.g. --set rows=16 --set dataflow=os",
    )


def resolve_arch(args: argparse.Namespace) -> ArrayConfig:
    """The config named by ``--arch`` with ``--set`` overrides applied."""
    from systolic.config import load_arch, parse_override  # here: commands without --arch start faster

    overrides = dict(parse_override(text) for text in args.overrides)
    return load_arch(args.arch, overrides)


def add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--force",
        action="store_true",
        help="run even when the estimated memory, time or output size is over its limit (README, 'Bad "
        "input'); never past this machine's memory",
    )


def existing_files(*paths: str | None) -> list[str]:
    """Those of ``paths`` that name files (the inputs an output must not overwrite or hold)."""
    import os

    return [p for p in paths if p and os.path.isfile(p)]


def add_net_params(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seq-len", type=int, default=None, help="transformer prefill: sequence length")
    p.add_argument("--batch", type=int, default=None, help="batch size (CNNs, MLPs, transformer decode)")
    p.add_argument("--context", type=int, default=None, help="transformer decode: context length")
    p.add_argument("--phase", choices=("prefill", "decode"), default=None, help="transformer phase")


def load_workload_arg(args: argparse.Namespace):
    """The workload named on the command line (zoo name or file), with network parameters applied."""
    from systolic.formats.network import load_workload

    params = {
        k: getattr(args, k)
        for k in ("seq_len", "batch", "context", "phase")
        if getattr(args, k, None) is not None
    }
    return load_workload(args.net, **params)
