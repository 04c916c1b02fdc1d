"""Verilator lint waivers for the generated Verilog, each with the reason it is safe.

``verilator --lint-only -Wall lint.vlt systolic_top.v`` is clean with this configuration for every
dataflow, array size (1x1 up) and operand format the tests cover. Every waived rule flags a habit of
Amaranth's netlist or of Yosys's Verilog writer, not a flaw of the design; the reasons are in the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from systolic.fileio import atomic_write_text

#: A Verilator configuration file (pass it before the Verilog on the command line).
VERILATOR_LINT_CONFIG = """\
`verilator_config
// Amaranth writes every module of the design into one file named after the top module, so the other
// modules' names cannot match the file name.
lint_off -rule DECLFILENAME
// Amaranth declares each register with its reset value (reg x = 0;) for simulators and FPGAs, and also
// assigns that value on rst in the clocked process; both say the same thing.
lint_off -rule PROCASSINIT
// Amaranth keeps every named signal (ports of submodules, mul_a, acc, ...) as a wire that aliases the net
// driving it, so waveforms and per-signal activity keep stable names; Verilator sees the alias as unused.
// Truncating assignments (a 17-bit difference into a row counter) also leave unused high bits.
lint_off -rule UNUSEDSIGNAL
// Yosys's Verilog writer leaves operand widths to Verilog's own extension rules (each operand already
// cast with $signed/$unsigned as Amaranth's semantics require), e.g. a 16-bit product added to a 32-bit
// partial sum.
lint_off -rule WIDTHEXPAND -file "*" -match "Operator *"
// Yosys writes a reduce-to-boolean test (x == 0) as !x on a vector, which is exact Verilog.
lint_off -rule WIDTHTRUNC -file "*" -match "Logical operator LOGNOT expects 1 bit*"
"""


def write_lint_config(path: str | os.PathLike) -> Path:
    """Write :data:`VERILATOR_LINT_CONFIG` to ``path`` (conventionally ``*.vlt``)."""
    return atomic_write_text(path, VERILATOR_LINT_CONFIG)
