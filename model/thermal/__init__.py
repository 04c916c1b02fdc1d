"""A HotSpot-equivalent compact thermal model: block and grid RC networks, steady state and transients.

The RC networks are HotSpot 6's (uvahotspot/HotSpot, ``temperature_block.c``, ``temperature_grid.c``,
``temperature.c``), rebuilt with NumPy/SciPy so that the numbers match HotSpot's to its print precision:

* **Block model**: one node per floorplan block in each of four layers (silicon, thermal interface,
  spreader, sink) plus 12 package nodes (spreader periphery W, E, N, S; sink under the spreader W, E,
  N, S; outer sink W, E, N, S), in that order. Lateral conductances between adjacent blocks, vertical
  ones between layers, sink nodes and the sink periphery to ambient.
* **Grid model**: ``rows x cols`` cells over the die in each layer (row 0 at the top of the die), the
  same 12 package nodes, blocks mapped to cells by their area of overlap. The chip layers are silicon and
  interface by default, or the :class:`Layer` records of a HotSpot layer configuration file (3-D stacks:
  several power-dissipating dies, each layer with its own floorplan, conductivity, heat capacity and
  thickness, with or without lateral flow), followed by the spreader and the sink. HotSpot's detailed
  3-D mode (``-detailed_3D on``) is reproduced too: per-cell materials from the blocks covering a cell
  and vertical resistances split between the two layers they join.

Every thermal capacitance carries HotSpot's fitting factor ``C_FACTOR = 0.333``. The network is
``C dT/dt = P + g_amb * T_amb - G T``.

Solvers (pure functions, no I/O):

* steady state: one direct solve (dense LU for the block model; for the grid model a sparse LU, or, when
  every layer is laterally uniform, cosine modes with a dense correction for the die edges,
  ``model/thermal_spectral.py``, the same numbers several times faster);
  with a temperature-dependent ``leakage(T_blocks) -> W`` hook, the fixed point of power and temperature
  is iterated like HotSpot does (until no block moves by 0.01 K), and a thermal runaway (no fixed point)
  is an InputError naming the block;
* block transient: exact for piecewise-constant power, ``T(t+h) = T_ss + expm(-h C^-1 G) (T - T_ss)``,
  one ``scipy.linalg.expm`` per distinct step length (HotSpot's adaptive RK4 lands on the same numbers);
  or in modal form (:func:`block_modal`, :func:`transient_modal`: one eigendecomposition, then any
  number of rows of any lengths, leakage re-evaluated every row);
* grid transient, ``integrator="be"``: one backward-Euler step per trace row with the step equal to the
  sampling interval and the matrix ``C/h + G`` factorised once. This is what HotSpot built with SuperLU
  does, and it reproduces that build's ``.ttrace``;
* grid transient, ``integrator="exact"``: each row's steady state (one solve with the factorised G)
  plus the decay of the deviation from it, ``exp(-h C^-1 G) x``, integrated with a few sub-steps of an
  L-stable third-order SDIRK method that needs one real factorisation (relative error of the decay at
  most 1.9e-4 per row with the default 8 sub-steps, whatever the stiffness). It lands near HotSpot's
  non-SuperLU (adaptive RK4) build.

:func:`thermal_run` is the thermal part of a run: a per-interval power trace on a floorplan to the steady
map, the transient, and the peak temperature with its block and time.

Lateral resistances between grid cells are HotSpot's by default (``lateral="hotspot"``): its ``find_res``
(temperature_grid.c, used by both its SuperLU and its default build) joins east-west neighbours by
``ry = ch / (k cw t)`` and north-south neighbours by ``rx = cw / (k ch t)``, the transpose of the
physical ``cw / (k ch t)`` east-west and ``ch / (k cw t)`` north-south (``lateral="physical"``). The two
differ only for cells that are not square (``width / cols != height / rows``); HotSpot's examples have
square cells. The cells on the die edges reach the package's peripheral nodes through the physical half
cell (``ry / 2`` north and south, ``rx / 2`` east and west) in both.

Python loops run over trace rows (and leakage iterations) only, never over cells or blocks.

The package's modules: ``common`` (constants, package RC, node names, HotSpot's leakage), ``block`` (block
model, transients, modal form), ``grid`` (the grid network), ``grid_solve`` (its solvers) and ``run`` (the
thermal part of a run); their public names, and those of ``model/thermal_params.py``, are this package's API.
"""

from __future__ import annotations

from ..thermal_params import HOTSPOT_KEYS, MAP_MODES, ThermalParams
from .block import (
    RUNAWAY_K,
    BlockModal,
    BlockModel,
    block_modal,
    block_model,
    exponential_leakage,
    steady_block,
    transient_block,
    transient_modal,
)
from .common import (
    C_FACTOR,
    DELTA,
    INTEGRATORS,
    LATERAL_MODES,
    LAYER_PREFIXES,
    LEAK_TOL_K,
    LEAKAGE_MAX_ITER,
    N_EXTRA,
    N_LAYERS,
    SINK_C_E,
    SINK_C_N,
    SINK_C_S,
    SINK_C_W,
    SINK_E,
    SINK_N,
    SINK_S,
    SINK_W,
    SP_E,
    SP_N,
    SP_S,
    SP_W,
    Leakage,
    PackageRC,
    getcap,
    getr,
    hotspot_leakage,
    node_names,
    package_rc,
)
from .grid import (
    OCCUPANCY_THRESHOLD,
    CellMap,
    GridModel,
    Layer,
    default_layers,
    grid_model,
    grid_node_names,
)
from .grid_solve import (
    SPECTRAL_MIN_CELLS,
    GridSteady,
    GridTransient,
    steady_grid,
    transient_grid,
)
from .run import (
    ThermalRun,
    initial_temps_k,
    reorder_columns,
    run_inputs,
    thermal_run,
)

__all__ = [
    "BlockModal",
    "BlockModel",
    "C_FACTOR",
    "CellMap",
    "DELTA",
    "GridModel",
    "GridSteady",
    "GridTransient",
    "HOTSPOT_KEYS",
    "INTEGRATORS",
    "LATERAL_MODES",
    "LAYER_PREFIXES",
    "LEAKAGE_MAX_ITER",
    "LEAK_TOL_K",
    "Layer",
    "Leakage",
    "MAP_MODES",
    "N_EXTRA",
    "N_LAYERS",
    "OCCUPANCY_THRESHOLD",
    "PackageRC",
    "RUNAWAY_K",
    "SINK_C_E",
    "SINK_C_N",
    "SINK_C_S",
    "SINK_C_W",
    "SINK_E",
    "SINK_N",
    "SINK_S",
    "SINK_W",
    "SPECTRAL_MIN_CELLS",
    "SP_E",
    "SP_N",
    "SP_S",
    "SP_W",
    "ThermalParams",
    "ThermalRun",
    "block_modal",
    "block_model",
    "default_layers",
    "exponential_leakage",
    "getcap",
    "getr",
    "grid_model",
    "grid_node_names",
    "hotspot_leakage",
    "initial_temps_k",
    "node_names",
    "package_rc",
    "reorder_columns",
    "run_inputs",
    "steady_block",
    "steady_grid",
    "thermal_run",
    "transient_block",
    "transient_grid",
    "transient_modal",
]
