"""HotSpot's thermal-model configuration keys and their defaults (:class:`ThermalParams`).

Kept apart from the solver (``model/thermal.py``, which needs SciPy) so that reading the key names, as the
CLI does when it builds its parser, costs no more than NumPy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields

import numpy as np

from systolic.errors import InputError

#: The hottest temperature a setting may name: above it no chip exists (silicon melts at 1687 K).
MAX_TEMPERATURE_K = 2000.0
#: Physical ranges of the settings, by unit (field-name suffix): far wider than any package, narrow enough
#: that the model's conductances and capacitances stay finite (``-t_chip 1e-300`` would overflow them).
#: Lengths from 1 nm to 10 m; conductivities from still air's 0.026 down and diamond's 2,200 up by a decade
#: or more; volumetric heat capacities up to 1e9 (water: 4.2e6); resistances and capacitances of the
#: convection path, the sampling interval and the clock within wide decades.
PLAUSIBLE: dict[str, tuple[float, float, str]] = {
    "_w_mk": (1e-4, 1e5, "W/(m K)"),
    "_j_m3k": (0.0, 1e9, "J/(m^3 K)"),
    "_k_w": (1e-6, 1e6, "K/W"),
    "_j_k": (0.0, 1e9, "J/K"),
    "_hz": (1.0, 1e12, "Hz"),
    "_s": (1e-12, 1e6, "s"),
    "_m": (1e-9, 10.0, "m"),
}
#: Grid models' block-to-cell mapping modes (HotSpot's ``grid_map_mode``).
MAP_MODES = ("avg", "min", "max", "center")


@dataclass(frozen=True)
class ThermalParams:
    """Every HotSpot thermal-model configuration key, with HotSpot 6's built-in defaults.

    Field names are HotSpot's keys with their units appended (``t_chip`` -> ``t_chip_m``);
    :data:`HOTSPOT_KEYS` maps one to the other. Conductivities k in W/(m K), volumetric heat capacities
    p in J/(m^3 K), resistances in K/W, capacitances in J/K, lengths in m, temperatures in K.
    Keys naming files (``init_file``, ``steady_file`` ...) belong to the command, not to the model.
    The secondary heat path, the detailed package model and microfluidic cooling are kept for
    completeness of config files; enabling them is rejected by :meth:`check_supported`.
    """

    # chip
    t_chip_m: float = 0.15e-3
    k_chip_w_mk: float = 100.0
    p_chip_j_m3k: float = 1.75e6
    thermal_threshold_k: float = 81.8 + 273.15
    # heat sink
    c_convec_j_k: float = 140.4
    r_convec_k_w: float = 0.1
    s_sink_m: float = 60e-3
    t_sink_m: float = 6.9e-3
    k_sink_w_mk: float = 400.0
    p_sink_j_m3k: float = 3.55e6
    # heat spreader
    s_spreader_m: float = 30e-3
    t_spreader_m: float = 1e-3
    k_spreader_w_mk: float = 400.0
    p_spreader_j_m3k: float = 3.55e6
    # thermal interface material
    t_interface_m: float = 20e-6
    k_interface_w_mk: float = 4.0
    p_interface_j_m3k: float = 4.0e6
    # secondary heat path (grid model only in HotSpot; not modelled here)
    model_secondary: bool = False
    r_convec_sec_k_w: float = 1.0
    c_convec_sec_j_k: float = 140.4
    n_metal: int = 8
    t_metal_m: float = 10.0e-6
    t_c4_m: float = 0.0001
    s_c4_m: float = 20.0e-6
    n_c4: int = 400
    s_sub_m: float = 0.021
    t_sub_m: float = 0.001
    s_solder_m: float = 0.021
    t_solder_m: float = 0.00094
    s_pcb_m: float = 0.1
    t_pcb_m: float = 0.002
    # others
    ambient_k: float = 45 + 273.15
    init_temp_k: float = 60 + 273.15
    sampling_intvl_s: float = 3.333e-6
    base_proc_freq_hz: float = 3e9
    dtm_used: bool = False
    model_type: str = "block"
    leakage_used: bool = False
    leakage_mode: int = 0
    package_model_used: bool = False
    block_omit_lateral: bool = False
    grid_rows: int = 64
    grid_cols: int = 64
    grid_map_mode: str = "center"
    detailed_3D_used: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "bool":
                if not isinstance(value, (bool, np.bool_, int)) or value not in (0, 1):
                    raise InputError(f"must be 0 or 1, not {value!r}", "thermal config", _key(f.name))
                object.__setattr__(self, f.name, bool(value))
            elif f.type == "int":
                if isinstance(value, bool) or not float(value).is_integer():
                    raise InputError(f"must be an integer, not {value!r}", "thermal config", _key(f.name))
                object.__setattr__(self, f.name, int(value))
            elif f.type == "float":
                value = float(value)
                if not np.isfinite(value):
                    raise InputError(
                        f"must be a finite number, not {value!r}", "thermal config", _key(f.name)
                    )
                object.__setattr__(self, f.name, value)
        # HotSpot's own sanity checks (thermal_config_add_from_strs), same wording
        for name in ("t_chip_m", "s_sink_m", "t_sink_m", "s_spreader_m", "t_spreader_m", "t_interface_m"):
            if getattr(self, name) <= 0:
                raise InputError(
                    f"chip and package dimensions should be greater than zero, not {getattr(self, name):g}",
                    "thermal config",
                    _key(name),
                )
        for name in ("k_chip_w_mk", "k_sink_w_mk", "k_spreader_w_mk", "k_interface_w_mk"):
            if getattr(self, name) <= 0:
                raise InputError(
                    f"thermal conductivity must be positive, not {getattr(self, name):g}",
                    "thermal config",
                    _key(name),
                )
        positive = ("base_proc_freq_hz", "sampling_intvl_s", "r_convec_k_w")
        non_negative = ("thermal_threshold_k", "c_convec_j_k", "ambient_k")
        for name in positive + non_negative:
            value = getattr(self, name)
            if value < 0 or (name in positive and value == 0):
                kind = "positive" if name in positive else "non-negative"
                raise InputError(f"must be {kind}, not {value:g}", "thermal config", _key(name))
        for name in ("p_chip_j_m3k", "p_sink_j_m3k", "p_spreader_j_m3k", "p_interface_j_m3k"):
            if getattr(self, name) < 0:
                raise InputError(
                    f"must be non-negative, not {getattr(self, name):g}", "thermal config", _key(name)
                )
        for f in fields(self):
            bounds = next((b for suffix, b in PLAUSIBLE.items() if f.name.endswith(suffix)), None)
            value = getattr(self, f.name)
            if f.type == "float" and bounds is not None and not bounds[0] <= value <= bounds[1]:
                raise InputError(
                    f"must be in {bounds[0]:g}..{bounds[1]:g} {bounds[2]}, not {value:g}",
                    "thermal config",
                    _key(f.name),
                )
        for name in ("ambient_k", "init_temp_k", "thermal_threshold_k"):
            value = getattr(self, name)
            if not 0 < value <= MAX_TEMPERATURE_K:
                raise InputError(
                    f"must be a temperature above 0 K and at most {MAX_TEMPERATURE_K:g} K, not {value:g}",
                    "thermal config",
                    _key(name),
                )
        mode = self.model_type.lower()
        if mode not in ("block", "grid"):
            raise InputError(
                f"invalid model type '{self.model_type}'. use 'block' or 'grid'", "thermal config"
            )
        object.__setattr__(self, "model_type", mode)
        map_mode = self.grid_map_mode.lower()
        if map_mode not in MAP_MODES:
            raise InputError(
                f"invalid mapping mode '{self.grid_map_mode}'. use 'avg', 'min', 'max' or 'center'",
                "thermal config",
            )
        object.__setattr__(self, "grid_map_mode", map_mode)
        if self.grid_rows <= 0 or self.grid_cols <= 0:
            raise InputError("grid rows and columns should both be greater than zero", "thermal config")

    def replace(self, **changes: object) -> ThermalParams:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def check_supported(self) -> None:
        """Raise an InputError for HotSpot features this model does not implement."""
        unsupported = {
            "model_secondary": "the secondary heat path",
            "package_model_used": "the detailed package (fan and fin) model",
        }
        for name, what in unsupported.items():
            if getattr(self, name):
                raise InputError(f"{what} is not supported; set it to 0", "thermal config", _key(name))
        if self.leakage_used and self.leakage_mode != 0:
            raise InputError(
                "HotLeakage (leakage_mode 1) is not implemented, in HotSpot either",
                "thermal config",
                "leakage_mode",
            )


#: HotSpot config key -> :class:`ThermalParams` field.
HOTSPOT_KEYS: dict[str, str] = {}
for _f in fields(ThermalParams):
    _base = _f.name
    for _suffix in ("_w_mk", "_j_m3k", "_k_w", "_j_k", "_hz", "_m", "_k", "_s"):
        if _base.endswith(_suffix) and _base != "model_type":
            _base = _base[: -len(_suffix)]
            break
    HOTSPOT_KEYS[_base] = _f.name
del _f, _base, _suffix


def _key(field_name: str) -> str:
    return next((k for k, v in HOTSPOT_KEYS.items() if v == field_name), field_name)
