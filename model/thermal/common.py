"""What both thermal models share: HotSpot's constants, the package's RC values and the names HotSpot
prints for nodes, and HotSpot's own leakage model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from systolic.errors import InputError

from ..floorplan import Floorplan
from ..thermal_params import ThermalParams

#: HotSpot's lumped-vs-distributed fitting factor, applied to every thermal capacitance.
C_FACTOR = 0.333
#: HotSpot's tolerance for comparing lengths (util.h ``DELTA``).
DELTA = 1.0e-6
#: Number of package nodes after the layer nodes.
N_EXTRA = 12
SP_W, SP_E, SP_N, SP_S, SINK_C_W, SINK_C_E, SINK_C_N, SINK_C_S, SINK_W, SINK_E, SINK_N, SINK_S = range(12)
#: Layers of both models, top (silicon) to bottom (sink), and the name prefixes HotSpot prints for them.
N_LAYERS = 4
LAYER_PREFIXES = ("", "iface_", "hsp_", "hsink_")
#: Leakage loop limits (temperature.h ``LEAKAGE_MAX_ITER``, ``LEAK_TOL``).
LEAKAGE_MAX_ITER = 100
LEAK_TOL_K = 0.01
INTEGRATORS = ("be", "exact")
#: Lateral resistances between grid cells: HotSpot's (east-west and north-south swapped) or physical ones.
LATERAL_MODES = ("hotspot", "physical")

Leakage = Callable[[np.ndarray], np.ndarray]


class _LazySciPy:
    """``scipy.linalg`` and ``scipy.sparse`` imported on first use: the CLI builds its parser (and most
    commands run) without paying SciPy's import time; the solvers load it when they first need it."""

    def __getattr__(self, name: str):
        import importlib

        module = importlib.import_module(f"scipy.{name}")
        if name == "sparse":
            importlib.import_module("scipy.sparse.linalg")
        setattr(self, name, module)
        return module


scipy = _LazySciPy()


# --------------------------------------------------------------------------- package RC


def getr(k_w_mk: float | np.ndarray, thickness_m, area_m2) -> np.ndarray:
    """Thermal resistance of a slab (HotSpot ``getr``): thickness / (k * area)."""
    return np.asarray(thickness_m) / (np.asarray(k_w_mk) * np.asarray(area_m2))


def getcap(p_j_m3k: float | np.ndarray, thickness_m, area_m2) -> np.ndarray:
    """Thermal capacitance of a slab with HotSpot's fitting factor (``getcap``)."""
    return C_FACTOR * np.asarray(p_j_m3k) * np.asarray(thickness_m) * np.asarray(area_m2)


@dataclass(frozen=True)
class PackageRC:
    """The package resistances (K/W) and capacitances (J/K) around a die of the given size
    (HotSpot ``populate_package_R`` / ``populate_package_C``; secondary path omitted)."""

    r_sp1_x: float
    r_sp1_y: float
    r_hs1_x: float
    r_hs1_y: float
    r_hs2_x: float
    r_hs2_y: float
    r_hs: float
    r_sp_per_x: float
    r_sp_per_y: float
    r_hs_c_per_x: float
    r_hs_c_per_y: float
    r_hs_per: float
    r_amb_c_per_x: float
    r_amb_c_per_y: float
    r_amb_per: float
    c_sp_per_x: float
    c_sp_per_y: float
    c_hs_c_per_x: float
    c_hs_c_per_y: float
    c_hs_per: float
    c_amb_c_per_x: float
    c_amb_c_per_y: float
    c_amb_per: float


def package_rc(p: ThermalParams, width_m: float, height_m: float) -> PackageRC:
    """Package R's and C's for a die ``width_m`` x ``height_m`` (see :class:`PackageRC`)."""
    s_sp, t_sp, s_hs, t_hs = p.s_spreader_m, p.t_spreader_m, p.s_sink_m, p.t_sink_m
    k_sp, k_hs = p.k_spreader_w_mk, p.k_sink_w_mk
    w, h = width_m, height_m
    a_sp_x = (s_sp + h) * (s_sp - w) / 4.0  # spreader periphery beside the die, east/west
    a_sp_y = (s_sp + w) * (s_sp - h) / 4.0
    a_hs = (s_hs * s_hs - s_sp * s_sp) / 4.0  # sink periphery beyond the spreader, per side
    r_amb = p.r_convec_k_w * s_hs * s_hs
    c_amb = C_FACTOR * p.c_convec_j_k / (s_hs * s_hs)
    return PackageRC(
        r_sp1_x=float(getr(k_sp, (s_sp - w) / 4.0, (s_sp + 3 * h) / 4.0 * t_sp)),
        r_sp1_y=float(getr(k_sp, (s_sp - h) / 4.0, (s_sp + 3 * w) / 4.0 * t_sp)),
        r_hs1_x=float(getr(k_hs, (s_sp - w) / 4.0, (s_sp + 3 * h) / 4.0 * t_hs)),
        r_hs1_y=float(getr(k_hs, (s_sp - h) / 4.0, (s_sp + 3 * w) / 4.0 * t_hs)),
        r_hs2_x=float(getr(k_hs, (s_sp - w) / 4.0, (3 * s_sp + h) / 4.0 * t_hs)),
        r_hs2_y=float(getr(k_hs, (s_sp - h) / 4.0, (3 * s_sp + w) / 4.0 * t_hs)),
        r_hs=float(getr(k_hs, (s_hs - s_sp) / 4.0, (s_hs + 3 * s_sp) / 4.0 * t_hs)),
        r_sp_per_x=float(getr(k_sp, t_sp, a_sp_x)),
        r_sp_per_y=float(getr(k_sp, t_sp, a_sp_y)),
        r_hs_c_per_x=float(getr(k_hs, t_hs, a_sp_x)),
        r_hs_c_per_y=float(getr(k_hs, t_hs, a_sp_y)),
        r_hs_per=float(getr(k_hs, t_hs, a_hs)),
        r_amb_c_per_x=r_amb / a_sp_x,
        r_amb_c_per_y=r_amb / a_sp_y,
        r_amb_per=r_amb / a_hs,
        c_sp_per_x=float(getcap(p.p_spreader_j_m3k, t_sp, a_sp_x)),
        c_sp_per_y=float(getcap(p.p_spreader_j_m3k, t_sp, a_sp_y)),
        c_hs_c_per_x=float(getcap(p.p_sink_j_m3k, t_hs, a_sp_x)),
        c_hs_c_per_y=float(getcap(p.p_sink_j_m3k, t_hs, a_sp_y)),
        c_hs_per=float(getcap(p.p_sink_j_m3k, t_hs, a_hs)),
        c_amb_c_per_x=c_amb * a_sp_x,
        c_amb_c_per_y=c_amb * a_sp_y,
        c_amb_per=c_amb * a_hs,
    )


def _check_die_fits(p: ThermalParams, width_m: float, height_m: float) -> None:
    if max(width_m, height_m) > min(p.s_sink_m, p.s_spreader_m):
        raise InputError(
            f"inordinate floorplan size: the {width_m * 1e3:.4g} x {height_m * 1e3:.4g} mm die does not fit "
            f"the {p.s_spreader_m * 1e3:.4g} mm spreader and {p.s_sink_m * 1e3:.4g} mm sink "
            f"(raise s_spreader and s_sink)",
            "thermal config",
        )


def _package_extras(pk: PackageRC) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges among the 12 package nodes, their conductances to ambient and their capacitances.

    Returns (edges [edge, 3] as (node, node, W/K) with node indices 0..11, g_amb [12], c [12]).
    """
    sp_y, sp_x = 1.0 / pk.r_sp_per_y, 1.0 / pk.r_sp_per_x
    hs_y, hs_x = 1.0 / (pk.r_hs2_y + pk.r_hs), 1.0 / (pk.r_hs2_x + pk.r_hs)
    edges = np.array(
        [
            (SP_N, SINK_C_N, sp_y),
            (SP_S, SINK_C_S, sp_y),
            (SP_E, SINK_C_E, sp_x),
            (SP_W, SINK_C_W, sp_x),
            (SINK_C_N, SINK_N, hs_y),
            (SINK_C_S, SINK_S, hs_y),
            (SINK_C_E, SINK_E, hs_x),
            (SINK_C_W, SINK_W, hs_x),
        ]
    )
    g_amb = np.zeros(N_EXTRA)
    g_amb[[SINK_C_N, SINK_C_S]] = 1.0 / (pk.r_hs_c_per_y + pk.r_amb_c_per_y)
    g_amb[[SINK_C_E, SINK_C_W]] = 1.0 / (pk.r_hs_c_per_x + pk.r_amb_c_per_x)
    g_amb[[SINK_N, SINK_S, SINK_E, SINK_W]] = 1.0 / (pk.r_hs_per + pk.r_amb_per)
    c = np.zeros(N_EXTRA)
    c[[SP_N, SP_S]] = pk.c_sp_per_y
    c[[SP_E, SP_W]] = pk.c_sp_per_x
    c[[SINK_C_N, SINK_C_S]] = pk.c_hs_c_per_y + pk.c_amb_c_per_y
    c[[SINK_C_E, SINK_C_W]] = pk.c_hs_c_per_x + pk.c_amb_c_per_x
    c[[SINK_N, SINK_S, SINK_E, SINK_W]] = pk.c_hs_per + pk.c_amb_per
    return edges, g_amb, c


def node_names(flp: Floorplan) -> tuple[str, ...]:
    """Names of the block-level nodes in HotSpot's ``.steady`` order: blocks, ``iface_*``, ``hsp_*``,
    ``hsink_*``, ``inode_0`` .. ``inode_11``."""
    return tuple(f"{pre}{n}" for pre in LAYER_PREFIXES for n in flp.names) + tuple(
        f"inode_{i}" for i in range(N_EXTRA)
    )


def hotspot_leakage(flp: Floorplan) -> Leakage:
    """HotSpot's built-in leakage model (``calc_leakage``, mode 0):
    ``1.5e4 * w * h * exp(0.036 * (T - 383.15 K))`` watts per block."""
    area_m2 = flp.area_m2.copy()

    def leakage(t_blocks_k: np.ndarray) -> np.ndarray:
        return 1.5e4 * area_m2 * np.exp(0.036 * (np.asarray(t_blocks_k) - 383.15))

    return leakage
