"""Verilog of :class:`~systolic.hdl.top.SystolicTop` for one config: module ``systolic_top``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from systolic.config import ArrayConfig
from systolic.fileio import atomic_write_text

TOP_NAME = "systolic_top"


def verilog_text(cfg: ArrayConfig) -> str:
    """The synthesizable Verilog of ``cfg``'s GEMM engine.

    The top module is ``systolic_top`` with clock ``clk`` and synchronous active-high reset ``rst``,
    plus the ports of :class:`~systolic.hdl.top.SystolicTop`.
    """
    from amaranth.back import verilog

    from .top import SystolicTop

    sys.set_int_max_str_digits(0)  # wide buses of large arrays print as long integers
    return verilog.convert(SystolicTop(cfg), name=TOP_NAME, emit_src=False)


def write_verilog(cfg: ArrayConfig, path: str | os.PathLike) -> Path:
    """Write :func:`verilog_text` to ``path`` atomically (a temporary file, then ``os.replace``)."""
    return atomic_write_text(path, verilog_text(cfg))
