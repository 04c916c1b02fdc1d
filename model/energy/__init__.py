"""Energy per action, its scaling with width, capacity, technology and voltage, leakage, and data activity.

Everything here is a pure function of an :class:`~systolic.config.ArrayConfig` and NumPy arrays. Energy is
Accelergy's product: ``energy_pj = counts @ table.energy_pj`` with ``counts[layer, action]``.

Conventions
-----------
* **Full swing.** A table built by :func:`build_table` holds the energy of an action when *every* bit of
  the component toggles. The energy actually spent is ``activity x full-swing energy``
  (:func:`scale_activity`), with the activity the fraction of bits that toggle. Horowitz's numbers were
  measured on random operands, where half the bits toggle, so ``full swing = Horowitz / 0.5``
  (:data:`REFERENCE_ACTIVITY`) and an activity of 0.5 gives back his numbers exactly.
* **Reference point.** Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014:
  45 nm, 0.9 V. Other nodes scale with Stillmaker & Baas (2017) at each node's nominal voltage, then as
  ``(V / V_nominal)**2`` for the configured supply (:func:`energy_scale`).
* **Component classes** are :data:`COMPONENT_CLASSES`, in that order everywhere (tables, leakage arrays,
  activity vectors, toggle counts from ``cosim.toggles``).
* **Data.** The toggles of each class in a layer are predicted from the layer's action counts and its
  operands' statistics with coefficients fitted to the RTL's own toggles (:class:`Calibration`, written
  by ``systolic calibrate``); :func:`layer_energy` turns them into energy per layer and class,
  vectorised over layers, with leakage from the cycle count at ``cfg.clock_hz``.

The package's modules, in the order of the model: ``tables`` (energy per action), ``leakage``, ``streams``
(statistics of each stream in the order its component sees it), ``activity`` (toggle features, the
calibration), ``layer`` (energy per layer) and ``tiles`` (statistics per tile, for placing a layer's
energy in time); their public names
are this package's API.
"""

from __future__ import annotations

from .activity import (
    ACTIVITIES,
    DATAFLOWS,
    FEATURE_ACTIVITY,
    N_TOGGLE_FEATURES,
    TOGGLE_FEATURES,
    Calibration,
    LayerActivityCounts,
    action_counts,
    activity_counts,
    feature_activity_matrix,
    fit_toggles,
    predict_toggles,
    predict_toggles_by_activity,
    toggle_features,
)
from .defaults import default_stats
from .layer import (
    LayerEnergy,
    energy_per_toggle_pj,
    layer_energy,
    pj_per_mac,
    tops_per_w,
)
from .leakage import (
    GATES_PER_ADDER_BIT,
    GATES_PER_FLOP_BIT,
    GATES_PER_PRODUCT_BIT,
    LEAK_K_PER_K,
    LEAK_T_REF_K,
    LEAK_W_PER_GATE,
    LEAK_W_PER_SRAM_BIT,
    leakage_scale,
    leakage_temperature_factor,
    leakage_w,
    pe_gates,
)
from .streams import STAT_COLUMNS, check_operand, layer_stats
from .tables import (
    ACTIONS,
    COMPONENT_CLASSES,
    CTRL_ADDERS_16B,
    CTRL_REGISTER_BITS,
    DRAM_PJ_PER_64B,
    DRAM_PJ_PER_64B_RANGE,
    HOROWITZ_45NM_PJ,
    HOROWITZ_NODE_NM,
    HOROWITZ_VDD_V,
    REFERENCE_ACTIVITY,
    REGISTER_PJ_PER_BIT,
    SRAM_POINTS_BYTES,
    SRAM_POINTS_PJ_PER_64B,
    SRAM_WRITE_OVER_READ,
    STILLMAKER_DELAY,
    STILLMAKER_ENERGY,
    STILLMAKER_NODES_NM,
    STILLMAKER_VDD_V,
    EnergyTable,
    activity_vector,
    add_energy_pj,
    build_table,
    class_matrix,
    delay_scale,
    dram_access_pj,
    dynamic_energy_pj,
    energy_scale,
    mult_energy_pj,
    nominal_vdd_v,
    scale_activity,
    sram_read_pj,
)
from .tiles import (
    TileEnergy,
    geometry_tile_energy,
    tile_activity_counts,
    tile_energy,
    tile_energy_by_activity,
    tile_stats,
)

__all__ = [
    "ACTIONS",
    "ACTIVITIES",
    "FEATURE_ACTIVITY",
    "COMPONENT_CLASSES",
    "CTRL_ADDERS_16B",
    "CTRL_REGISTER_BITS",
    "Calibration",
    "DATAFLOWS",
    "DRAM_PJ_PER_64B",
    "DRAM_PJ_PER_64B_RANGE",
    "EnergyTable",
    "GATES_PER_ADDER_BIT",
    "GATES_PER_FLOP_BIT",
    "GATES_PER_PRODUCT_BIT",
    "HOROWITZ_45NM_PJ",
    "HOROWITZ_NODE_NM",
    "HOROWITZ_VDD_V",
    "LEAK_K_PER_K",
    "LEAK_T_REF_K",
    "LEAK_W_PER_GATE",
    "LEAK_W_PER_SRAM_BIT",
    "LayerActivityCounts",
    "LayerEnergy",
    "N_TOGGLE_FEATURES",
    "REFERENCE_ACTIVITY",
    "REGISTER_PJ_PER_BIT",
    "SRAM_POINTS_BYTES",
    "SRAM_POINTS_PJ_PER_64B",
    "SRAM_WRITE_OVER_READ",
    "STAT_COLUMNS",
    "STILLMAKER_DELAY",
    "STILLMAKER_ENERGY",
    "STILLMAKER_NODES_NM",
    "STILLMAKER_VDD_V",
    "TOGGLE_FEATURES",
    "TileEnergy",
    "action_counts",
    "activity_counts",
    "activity_vector",
    "add_energy_pj",
    "build_table",
    "check_operand",
    "class_matrix",
    "default_stats",
    "delay_scale",
    "dram_access_pj",
    "dynamic_energy_pj",
    "energy_per_toggle_pj",
    "energy_scale",
    "feature_activity_matrix",
    "fit_toggles",
    "layer_energy",
    "layer_stats",
    "leakage_scale",
    "leakage_temperature_factor",
    "leakage_w",
    "mult_energy_pj",
    "nominal_vdd_v",
    "pe_gates",
    "pj_per_mac",
    "predict_toggles",
    "predict_toggles_by_activity",
    "scale_activity",
    "sram_read_pj",
    "tile_activity_counts",
    "geometry_tile_energy",
    "tile_energy",
    "tile_energy_by_activity",
    "tile_stats",
    "toggle_features",
    "tops_per_w",
]
