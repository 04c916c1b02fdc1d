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


def pe_module_name(top: str = "core") -> str:
    """Name of the one PE module the Verilog of ``top`` instantiates ``rows x cols`` times."""
    return f"{TOP_NAMES[top]}_pe"


def verilog_text(cfg: ArrayConfig, top: str = "core", *, shared_pe: bool = True) -> str:
    """The synthesizable Verilog of ``cfg``'s accelerator (``top='accel'``) or GEMM engine (``'core'``).

    The top module has clock ``clk`` and synchronous active-high reset ``rst`` plus the component's ports.
    With ``shared_pe`` (the default) the PE is written once, as module :func:`pe_module_name`, and the
    array instantiates it ``rows x cols`` times (:class:`~systolic.hdl.pe.SharedPE`); without it Amaranth
    writes a module per PE (the cost grows with the PE count; kept to measure the difference).
    """
    from amaranth.back import verilog

    from .pe import SharedPE, make_pe

    if top == "accel":
        from .accel import Accelerator as component
    elif top == "core":
        from .engine import GemmEngine as component
    else:
        raise ValueError(f"top must be one of {sorted(TOP_NAMES)}, not {top!r}")
    sys.set_int_max_str_digits(0)  # wide buses of large arrays print as long integers
    if not shared_pe:
        return verilog.convert(component(cfg), name=TOP_NAMES[top], emit_src=False)
    pe = make_pe(cfg)
    shared = SharedPE(pe_module_name(top), pe.signature)
    text = verilog.convert(component(cfg), name=TOP_NAMES[top], platform=shared, emit_src=False)
    return text + verilog.convert(pe, name=shared.module, emit_src=False)


def write_verilog(cfg: ArrayConfig, path: str | os.PathLike, top: str = "core") -> Path:
    """Write :func:`verilog_text` to ``path`` atomically (a temporary file, then ``os.replace``)."""
    return atomic_write_text(path, verilog_text(cfg, top))
