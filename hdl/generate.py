"""Verilog for one config: the whole accelerator (module ``systolic_accel``) or the GEMM engine alone
(module ``systolic_top``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from systolic.config import ArrayConfig
from systolic.fileio import atomic_write_text

#: Module name of each top: ``accel`` (:class:`~systolic.hdl.accel.Accelerator`: array, SRAMs, controller,
#: DRAM port) and ``core`` (:class:`~systolic.hdl.engine.GemmEngine`: the array and its sequencer).
TOP_NAMES = {"accel": "systolic_accel", "core": "systolic_top"}
TOP_NAME = TOP_NAMES["core"]


def verilog_text(cfg: ArrayConfig, top: str = "core") -> str:
    """The synthesizable Verilog of ``cfg``'s accelerator (``top='accel'``) or GEMM engine (``'core'``).

    The top module has clock ``clk`` and synchronous active-high reset ``rst`` plus the component's ports.
    """
    from amaranth.back import verilog

    if top == "accel":
        from .accel import Accelerator as component
    elif top == "core":
        from .engine import GemmEngine as component
    else:
        raise ValueError(f"top must be one of {sorted(TOP_NAMES)}, not {top!r}")
    sys.set_int_max_str_digits(0)  # wide buses of large arrays print as long integers
    return verilog.convert(component(cfg), name=TOP_NAMES[top], emit_src=False)


def write_verilog(cfg: ArrayConfig, path: str | os.PathLike, top: str = "core") -> Path:
    """Write :func:`verilog_text` to ``path`` atomically (a temporary file, then ``os.replace``)."""
    return atomic_write_text(path, verilog_text(cfg, top))


#: Module name of a tiled chip (:class:`~systolic.hdl.chip.Chip`).
CHIP_TOP_NAME = "systolic_chip"


def chip_verilog_text(chip, pipe) -> str:
    """The Verilog of :class:`~systolic.hdl.chip.Chip` for ``chip`` (a ChipConfig) running ``pipe`` (a
    ChipPipeline), module ``systolic_chip`` with clock ``clk`` and reset ``rst``."""
    from amaranth.back import verilog

    from .chip import Chip

    sys.set_int_max_str_digits(0)
    return verilog.convert(Chip(chip, pipe), name=CHIP_TOP_NAME, emit_src=False)
