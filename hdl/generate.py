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
#: Module name of a tiled chip (:class:`~systolic.hdl.chip.Chip`).
CHIP_TOP_NAME = "systolic_chip"


def pe_module_name(top: str = "core") -> str:
    """Name of the one PE module the Verilog of ``top`` (``core``, ``accel`` or ``chip``) instantiates
    ``rows x cols`` times (per tile)."""
    return f"{CHIP_TOP_NAME if top == 'chip' else TOP_NAMES[top]}_pe"


def verilog_text(cfg: ArrayConfig, top: str = "core", *, shared_pe: bool = True) -> str:
    """The synthesizable Verilog of ``cfg``'s accelerator (``top='accel'``) or GEMM engine (``'core'``).

    The top module has clock ``clk`` and synchronous active-high reset ``rst`` plus the component's ports.
    With ``shared_pe`` (the default) the PE is written once, as module :func:`pe_module_name`, and the
    array instantiates it ``rows x cols`` times (:class:`~systolic.hdl.pe.SharedPE`); without it Amaranth
    writes a module per PE (the cost grows with the PE count; kept to measure the difference).
    """
    from amaranth.back import verilog

    if top == "accel":
        from .accel import Accelerator as component
    elif top == "core":
        from .engine import GemmEngine as component
    else:
        raise ValueError(f"top must be one of {sorted(TOP_NAMES)}, not {top!r}")
    sys.set_int_max_str_digits(0)  # wide buses of large arrays print as long integers
    if not shared_pe:
        return verilog.convert(component(cfg), name=TOP_NAMES[top], emit_src=False)
    return _with_shared_pe(component(cfg), TOP_NAMES[top], cfg)


def _with_shared_pe(component, name: str, cfg: ArrayConfig) -> str:
    """The Verilog of ``component`` (module ``name``) whose arrays instantiate ``cfg``'s PE, written once
    after it as module ``<name>_pe`` (:class:`~systolic.hdl.pe.SharedPE`)."""
    from amaranth.back import verilog

    from .pe import SharedPE, make_pe

    pe = make_pe(cfg)
    shared = SharedPE(f"{name}_pe", pe.signature)
    text = verilog.convert(component, name=name, platform=shared, emit_src=False)
    return text + verilog.convert(pe, name=shared.module, emit_src=False)


def write_verilog(cfg: ArrayConfig, path: str | os.PathLike, top: str = "core") -> Path:
    """Write :func:`verilog_text` to ``path`` atomically (a temporary file, then ``os.replace``)."""
    return atomic_write_text(path, verilog_text(cfg, top))


def chip_verilog_text(chip, pipe) -> str:
    """The Verilog of :class:`~systolic.hdl.chip.Chip` for ``chip`` (a ChipConfig) running ``pipe`` (a
    ChipPipeline), module ``systolic_chip`` with clock ``clk`` and reset ``rst``; every tile's array
    instantiates the one PE module ``systolic_chip_pe`` (the tiles share one config)."""
    from .chip import Chip

    sys.set_int_max_str_digits(0)
    return _with_shared_pe(Chip(chip, pipe), CHIP_TOP_NAME, chip.lane_tile())
