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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from systolic.errors import InputError

from .floorplan import Floorplan
from .thermal_params import HOTSPOT_KEYS, MAP_MODES, ThermalParams, _key  # noqa: F401  (HOTSPOT_KEYS, MAP_MODES re-exported)

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


# --------------------------------------------------------------------------- block model


@dataclass(frozen=True, eq=False)
class BlockModel:
    """HotSpot's block RC network of a floorplan.

    Attributes
    ----------
    floorplan : Floorplan
        The floorplan, moved to the origin.
    params : ThermalParams
    g_w_k : numpy.ndarray
        ``[node, node]`` conductance matrix (HotSpot's ``b``), ambient conductances on the diagonal.
    g_amb_w_k : numpy.ndarray
        ``[node]`` conductance of every node to ambient.
    c_j_k : numpy.ndarray
        ``[node]`` capacitance of every node to ground.
    names : tuple of str
        Node names, see :func:`node_names`.
    """

    floorplan: Floorplan
    params: ThermalParams
    g_w_k: np.ndarray
    g_amb_w_k: np.ndarray
    c_j_k: np.ndarray
    names: tuple[str, ...]

    @property
    def n_blocks(self) -> int:
        return self.floorplan.n_blocks

    @property
    def n_nodes(self) -> int:
        return len(self.c_j_k)

    def source_w(self, power_w: np.ndarray) -> np.ndarray:
        """``[..., node]`` right-hand side P + g_amb T_amb for ``[..., block]`` silicon powers."""
        power_w = np.asarray(power_w, dtype=np.float64)
        rhs = np.broadcast_to(
            self.g_amb_w_k * self.params.ambient_k, (*power_w.shape[:-1], self.n_nodes)
        ).copy()
        rhs[..., : self.n_blocks] += power_w
        return rhs


def _eq(a, b) -> np.ndarray:
    return np.abs(np.asarray(a) - np.asarray(b)) < DELTA


def block_model(flp: Floorplan, params: ThermalParams) -> BlockModel:
    """Build HotSpot's block model (``populate_R_model_block`` and ``populate_C_model_block``)."""
    params.check_supported()
    if params.detailed_3D_used:
        raise InputError("detailed 3-D modelling needs the grid model", "thermal config", "detailed_3D")
    flp = flp.translated()
    p = params
    n = flp.n_blocks
    w, h = flp.width_m, flp.height_m
    chip_w, chip_h = flp.chip_width_m, flp.chip_height_m
    _check_die_fits(p, chip_w, chip_h)
    pk = package_rc(p, chip_w, chip_h)
    area = w * h  # [block]

    # lateral conductances from a block's centre to its edges, per layer: [layer, block]
    k = np.array([p.k_chip_w_mk, p.k_interface_w_mk, p.k_spreader_w_mk, p.k_sink_w_mk])[:, None]
    t = np.array([p.t_chip_m, p.t_interface_m, p.t_spreader_m, p.t_sink_m])[:, None]
    gx = 1.0 / getr(k, w / 2.0, h * t)
    gy = 1.0 / getr(k, h / 2.0, w * t)
    if p.block_omit_lateral:
        gx[0] = gy[0] = 0.0

    # adjacency exactly as flp.c's is_horiz_adj / is_vert_adj / get_shared_len: [block i, block j]
    x1, x2 = flp.left_m[:, None], flp.right_m[:, None]
    x3, x4 = flp.left_m[None, :], flp.right_m[None, :]
    y1, y2 = flp.bottom_m[:, None], flp.top_m[:, None]
    y3, y4 = flp.bottom_m[None, :], flp.top_m[None, :]
    diagonal = (
        (_eq(x2, x3) & _eq(y2, y3))
        | (_eq(x1, x4) & _eq(y1, y4))
        | (_eq(x2, x3) & _eq(y1, y4))
        | (_eq(x1, x4) & _eq(y2, y3))
    )
    not_self = ~np.eye(n, dtype=bool)
    y_overlap = (
        ((y3 >= y1) & (y3 <= y2))
        | ((y4 >= y1) & (y4 <= y2))
        | ((y1 >= y3) & (y1 <= y4))
        | ((y2 >= y3) & (y2 <= y4))
    )
    x_overlap = (
        ((x3 >= x1) & (x3 <= x2))
        | ((x4 >= x1) & (x4 <= x2))
        | ((x1 >= x3) & (x1 <= x4))
        | ((x2 >= x3) & (x2 <= x4))
    )
    horiz = not_self & ~diagonal & (_eq(x1, x4) | _eq(x2, x3)) & y_overlap
    vert = not_self & ~diagonal & (_eq(y1, y4) | _eq(y2, y3)) & x_overlap
    shared = np.where(horiz, np.minimum(y2, y4) - np.maximum(y1, y3), 0.0)
    shared = np.where(vert, np.minimum(x2, x4) - np.maximum(x1, x3), shared)  # [block, block]
    # g[i][j]: from the centre of i towards j, per unit of shared length, times the shared length
    part = np.where(horiz[None], (gx / h)[:, :, None], np.where(vert[None], (gy / w)[:, :, None], 0.0))
    g_lat = part * shared[None]  # [layer, block i, block j]

    n_nodes = N_LAYERS * n + N_EXTRA
    g = np.zeros((n_nodes, n_nodes))  # HotSpot's directional g[i][j] (half-resistance conductances)
    for layer in range(N_LAYERS):  # four layers, not a loop over blocks
        sl = slice(layer * n, (layer + 1) * n)
        g[sl, sl] = g_lat[layer]
    idx = np.arange(n)
    k_v = np.array([p.k_chip_w_mk, p.k_interface_w_mk, p.k_spreader_w_mk])
    t_v = np.array([p.t_chip_m, p.t_interface_m, p.t_spreader_m])
    for layer in range(N_LAYERS - 1):
        gv = 2.0 / getr(k_v[layer], t_v[layer], area)
        g[layer * n + idx, (layer + 1) * n + idx] = gv
        g[(layer + 1) * n + idx, layer * n + idx] = gv

    # blocks on the die's borders connect to the peripheral spreader and sink nodes
    border_n = _eq(flp.top_m, chip_h)
    border_s = _eq(flp.bottom_m, 0.0)
    border_e = _eq(flp.right_m, chip_w)
    border_w = _eq(flp.left_m, 0.0)
    hsp, hsink, extra = 2 * n + idx, 3 * n + idx, N_LAYERS * n
    for layer, nodes, r1x, r1y, (nn, ns, ne, nw) in (
        (2, hsp, pk.r_sp1_x, pk.r_sp1_y, (SP_N, SP_S, SP_E, SP_W)),
        (3, hsink, pk.r_hs1_x, pk.r_hs1_y, (SINK_C_N, SINK_C_S, SINK_C_E, SINK_C_W)),
    ):
        gxl, gyl = gx[layer], gy[layer]
        for border, gdir, r1, node in (
            (border_n, gyl, r1y, nn),
            (border_s, gyl, r1y, ns),
            (border_e, gxl, r1x, ne),
            (border_w, gxl, r1x, nw),
        ):
            total = gdir[border].sum()  # the edge's blocks short their resistances to the edge
            gp = 2.0 * border / (1.0 / gdir + r1 * total / gdir)
            g[nodes, extra + node] = gp
            g[extra + node, nodes] = gp
    edges, g_amb_extra, c_extra = _package_extras(pk)
    a, b = extra + edges[:, 0].astype(int), extra + edges[:, 1].astype(int)
    g[a, b] = g[b, a] = 2.0 * edges[:, 2]

    # B: series combination of the two half conductances, Laplacian with ambient on the diagonal
    both = (g != 0) & (g.T != 0)
    series = np.where(both, g * g.T / np.where(both, g + g.T, 1.0), 0.0)
    g_amb = np.zeros(n_nodes)
    g_amb[hsink] = 1.0 / (getr(p.k_sink_w_mk, p.t_sink_m, area) + p.r_convec_k_w * p.s_sink_m**2 / area)
    g_amb[extra:] = g_amb_extra
    big_g = -series
    big_g[np.diag_indices(n_nodes)] = series.sum(axis=1) + g_amb

    c = np.concatenate(
        [
            getcap(p.p_chip_j_m3k, p.t_chip_m, area),
            getcap(p.p_interface_j_m3k, p.t_interface_m, area),
            getcap(p.p_spreader_j_m3k, p.t_spreader_m, area),
            getcap(p.p_sink_j_m3k, p.t_sink_m, area) + C_FACTOR * p.c_convec_j_k / p.s_sink_m**2 * area,
            c_extra,
        ]
    )
    for arr in (big_g, g_amb, c):
        arr.setflags(write=False)
    return BlockModel(flp, params, big_g, g_amb, c, node_names(flp))


#: Above this temperature the leakage loop stops as a runaway: silicon has long melted (1687 K).
RUNAWAY_K = 2000.0


def _fixed_point(
    solve: Callable[[np.ndarray], np.ndarray],
    blocks_of: Callable[[np.ndarray], np.ndarray],
    power_w: np.ndarray,
    leakage: Leakage,
    t_start: np.ndarray,
    names: tuple[str, ...],
    tol_k: float = LEAK_TOL_K,
    max_iter: int = LEAKAGE_MAX_ITER,
) -> np.ndarray:
    """The temperature-leakage fixed point: re-solve with power + leakage(T) until no block moves by
    more than ``tol_k`` (HotSpot's loop and tolerance; it starts from ambient, where HotSpot starts
    from 0 K: the fixed point is the same, and a leakage law fitted near room temperature is not asked
    about 0 K).

    Plain (Picard) iteration converges when leakage grows with temperature more slowly than the thermal
    conductance carries the extra heat away (for one block: dP_leak/dT x R_th < 1); otherwise the
    temperatures climb without bound -- thermal runaway -- and an InputError names the hottest block.
    """
    temps = t_start
    moved, iteration = np.inf, 0
    while iteration < max_iter:
        iteration += 1
        new = solve(power_w + leakage(blocks_of(temps)))
        blocks = blocks_of(new)
        finite = bool(np.all(np.isfinite(blocks)))
        moved = float(np.max(np.abs(blocks - blocks_of(temps)))) if finite else np.inf
        temps = new
        if not finite or float(np.max(blocks)) > RUNAWAY_K or float(np.min(blocks)) < 0:
            break
        if moved < tol_k:
            return temps
    blocks = blocks_of(temps)
    hot = int(np.argmax(np.where(np.isfinite(blocks), blocks, np.inf)))
    if float(np.nanmin(blocks)) < 0 and not float(np.nanmax(blocks)) > RUNAWAY_K:
        hot = int(np.nanargmin(blocks))
        state = "fell below 0 K"
    elif not np.isfinite(blocks[hot]) or blocks[hot] > RUNAWAY_K:
        state = f"passed {RUNAWAY_K:.0f} K"
    else:
        state = f"is at {blocks[hot]:.1f} K and still moving by {moved:.3g} K per iteration"
    raise InputError(
        f"thermal runaway: temperature and leakage power do not converge; block '{names[hot]}' {state} "
        f"after {iteration} iterations",
        "leakage",
    )


def _check_power(power_w: np.ndarray, n_blocks: int) -> np.ndarray:
    power_w = np.asarray(power_w, dtype=np.float64)
    if power_w.shape[-1:] != (n_blocks,):
        raise InputError(
            f"power has {power_w.shape[-1] if power_w.ndim else 0} columns for {n_blocks} blocks"
        )
    return power_w


def steady_block(model: BlockModel, power_w: np.ndarray, leakage: Leakage | None = None) -> np.ndarray:
    """Steady temperatures ``[node]`` (K) of the block model for silicon powers ``[block]`` (W).

    ``leakage(T_blocks_k) -> W`` adds temperature-dependent power; the fixed point is iterated as in
    HotSpot (until no block moves by 0.01 K; at most 100 iterations; from ambient), and an InputError
    reports a thermal runaway naming the hottest block.
    """
    power_w = _check_power(power_w, model.n_blocks)
    lu = scipy.linalg.lu_factor(model.g_w_k)

    def solve(pw: np.ndarray) -> np.ndarray:
        return scipy.linalg.lu_solve(lu, model.source_w(pw))

    if leakage is None:
        return solve(power_w)
    n = model.n_blocks
    return _fixed_point(
        solve,
        lambda t: t[:n],
        power_w,
        leakage,
        np.full(model.n_nodes, model.params.ambient_k),
        model.floorplan.names,
    )


def transient_block(
    model: BlockModel,
    power_w: np.ndarray,
    init_k: np.ndarray | float,
    dt_s: float | np.ndarray | None = None,
    leakage: Leakage | None = None,
) -> np.ndarray:
    """Temperatures ``[row, node]`` at the end of each trace row, exact for piecewise-constant power.

    Parameters
    ----------
    model : BlockModel
    power_w : numpy.ndarray
        ``[row, block]`` silicon power of each trace row (W), floorplan order.
    init_k : float or numpy.ndarray
        Temperature of every node at the start, ``[node]`` or one value for all.
    dt_s : float or numpy.ndarray, optional
        Length of each row (scalar or ``[row]``); default the sampling interval. One matrix exponential
        is computed per distinct length.
    leakage : callable, optional
        ``leakage(T_blocks_k) -> W`` evaluated at the start of every row and added to its power.
    """
    power_w = _check_power(np.atleast_2d(power_w), model.n_blocks)
    n_rows = power_w.shape[0]
    dts = _row_steps(dt_s, model.params.sampling_intvl_s, n_rows)
    temps = np.broadcast_to(np.asarray(init_k, dtype=np.float64), (model.n_nodes,)).copy()
    a = -model.g_w_k / model.c_j_k[:, None]  # [node, node] dT/dt = a T + C^-1 (P + g_amb T_amb)
    props = {h: scipy.linalg.expm(a * h) for h in np.unique(dts)}
    lu = scipy.linalg.lu_factor(model.g_w_k)
    n = model.n_blocks
    t_ss = (
        None if leakage is not None else scipy.linalg.lu_solve(lu, model.source_w(power_w).T).T
    )  # [row, node]
    out = np.empty((n_rows, model.n_nodes))
    for row in range(n_rows):
        if t_ss is None:
            ss = scipy.linalg.lu_solve(lu, model.source_w(power_w[row] + leakage(temps[:n])))
        else:
            ss = t_ss[row]
        temps = ss + props[dts[row]] @ (temps - ss)
        out[row] = temps
    return out


def _row_steps(dt_s, default_s: float, n_rows: int) -> np.ndarray:
    dts = np.broadcast_to(np.asarray(default_s if dt_s is None else dt_s, dtype=np.float64), (n_rows,))
    if np.any(~np.isfinite(dts)) or np.any(dts <= 0):
        raise InputError("time steps must be positive", "dt_s")
    return dts


# --------------------------------------------------------------------------- grid model


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer of a grid-model stack: a record of a HotSpot layer configuration file (``.lcf``).

    Attributes
    ----------
    floorplan : Floorplan
        The layer's blocks; every layer of a stack covers the same die.
    k_w_mk : float
        Thermal conductivity (the ``.lcf`` gives its inverse, the resistivity in m K / W).
    p_j_m3k : float
        Volumetric heat capacity.
    thickness_m : float
    lateral : bool
        Heat flows sideways in the layer (``.lcf`` ``Y``); without it only vertically.
    power : bool
        The layer dissipates power: its blocks are power-trace columns.
    block_k_w_mk, block_p_j_m3k : numpy.ndarray, optional
        ``[block]`` per-block conductivity and heat capacity from the floorplan's optional columns (NaN
        where a block has none). Only the detailed 3-D model (``-detailed_3D on``) uses them.
    """

    floorplan: Floorplan
    k_w_mk: float
    p_j_m3k: float
    thickness_m: float
    lateral: bool = True
    power: bool = False
    block_k_w_mk: np.ndarray | None = None
    block_p_j_m3k: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name, strict in (("k_w_mk", True), ("thickness_m", True), ("p_j_m3k", False)):
            value = float(getattr(self, name))
            if not np.isfinite(value) or value < 0 or (strict and value == 0):
                kind = "positive" if strict else "non-negative"
                raise InputError(f"must be {kind}, not {value:g}", "layer", name)
            object.__setattr__(self, name, value)
        for name in ("block_k_w_mk", "block_p_j_m3k"):
            arr = getattr(self, name)
            if arr is not None:
                arr = np.array(arr, dtype=np.float64).reshape(-1)
                if arr.shape != (self.floorplan.n_blocks,):
                    raise InputError(f"{arr.size} values for {self.floorplan.n_blocks} blocks", "layer", name)
                arr.setflags(write=False)
                object.__setattr__(self, name, arr)


def default_layers(flp: Floorplan, params: ThermalParams) -> tuple[Layer, Layer]:
    """HotSpot's chip layers without a layer file: power-dissipating silicon, then the interface material."""
    p = params
    return (
        Layer(flp, p.k_chip_w_mk, p.p_chip_j_m3k, p.t_chip_m, lateral=True, power=True),
        Layer(flp, p.k_interface_w_mk, p.p_interface_j_m3k, p.t_interface_m, lateral=True, power=False),
    )


@dataclass(frozen=True, eq=False)
class CellMap:
    """How one floorplan's blocks cover the grid cells (HotSpot's b2g and g2b maps of a layer).

    Attributes
    ----------
    floorplan : Floorplan
    occupancy : scipy.sparse.csr_matrix
        ``[cell, block]`` fraction of each cell covered by each block.
    power_map : scipy.sparse.csr_matrix
        ``[cell, block]`` watts into each cell per watt of each block (occupancy x cell / block area).
    block_cells, block_offsets : numpy.ndarray
        Cells under each block (concatenated, ``[offset[b]:offset[b+1]]``), HotSpot's g2b index ranges.
    to_blocks : scipy.sparse.csr_matrix
        ``[block, cell]`` weights for the linear map modes (``avg``, ``center``).
    """

    floorplan: Floorplan
    occupancy: scipy.sparse.csr_matrix
    power_map: scipy.sparse.csr_matrix
    block_cells: np.ndarray
    block_offsets: np.ndarray
    to_blocks: scipy.sparse.csr_matrix


@dataclass(frozen=True, eq=False)
class GridModel:
    """HotSpot's grid RC network: layers of ``rows x cols`` cells over the die plus 12 package nodes.

    The stack is the chip layers (silicon and interface by default, or the layers of a ``.lcf``) and then
    the spreader and the sink. Node ``l*rows*cols + i*cols + j`` is cell (i, j) of layer l (row 0 at the
    top of the die, column 0 at its left edge); the 12 package nodes follow.

    Power inputs (``[power block]`` vectors) are the blocks of the power-dissipating layers, layer after
    layer, each in its floorplan's order; without a layer file, the silicon floorplan's blocks.

    Attributes
    ----------
    floorplan : Floorplan
        The first power-dissipating layer's floorplan (the silicon one without a layer file).
    params : ThermalParams
    rows, cols : int
    map_mode : str
        How cell temperatures become block temperatures: ``avg``, ``min``, ``max`` or ``center``.
    g_w_k : scipy.sparse.csc_matrix
        ``[node, node]`` conductance matrix, ambient conductances on the diagonal.
    g_amb_w_k, c_j_k : numpy.ndarray
        ``[node]`` conductance to ambient and capacitance.
    layers : tuple of Layer
        Every layer, top to bottom, the spreader and sink included.
    maps : tuple of CellMap
        Per layer, its blocks' cells (layers with the same floorplan share one map).
    power_to_cells : scipy.sparse.csr_matrix
        ``[layer cell, power block]`` watts into each cell of every layer per watt of each power input.
    has_lcf : bool
        The chip layers came from a layer file (names ``layer_<n>_<block>`` in ``.steady`` files).
    lateral : str
        Lateral resistances between cells: ``hotspot`` or ``physical`` (see the module docstring).
    """

    floorplan: Floorplan
    params: ThermalParams
    rows: int
    cols: int
    map_mode: str
    g_w_k: scipy.sparse.csc_matrix
    g_amb_w_k: np.ndarray
    c_j_k: np.ndarray
    layers: tuple[Layer, ...]
    maps: tuple[CellMap, ...]
    power_to_cells: scipy.sparse.csr_matrix
    has_lcf: bool = False
    lateral: str = "hotspot"

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def n_blocks(self) -> int:
        """Number of power inputs (blocks of the power-dissipating layers)."""
        return self.power_to_cells.shape[1]

    @property
    def n_cells(self) -> int:
        return self.rows * self.cols

    @property
    def n_nodes(self) -> int:
        return self.n_layers * self.n_cells + N_EXTRA

    @property
    def n_block_nodes(self) -> int:
        """Length of a ``.steady`` vector: every layer's blocks and the package nodes."""
        return sum(layer.floorplan.n_blocks for layer in self.layers) + N_EXTRA

    @property
    def power_node_index(self) -> np.ndarray:
        """Positions of the power inputs' blocks in a ``.steady`` vector."""
        sizes = np.array([layer.floorplan.n_blocks for layer in self.layers])
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        return np.concatenate([starts[i] + np.arange(sizes[i]) for i in self.power_layers])

    @property
    def uniform(self) -> bool:
        """Every layer has the same floorplan (no layer file, or one that repeats a single floorplan)."""
        return all(m is self.maps[0] for m in self.maps)

    # the silicon layer's maps, under their historical names
    @property
    def occupancy(self) -> scipy.sparse.csr_matrix:
        return self.maps[0].occupancy

    @property
    def power_map(self) -> scipy.sparse.csr_matrix:
        return self.maps[0].power_map

    @property
    def to_blocks(self) -> scipy.sparse.csr_matrix:
        return self.maps[0].to_blocks

    @property
    def power_layers(self) -> tuple[int, ...]:
        return tuple(i for i, layer in enumerate(self.layers) if layer.power)

    @property
    def power_names(self) -> tuple[str, ...]:
        """Names of the power inputs, in order."""
        return tuple(n for i in self.power_layers for n in self.layers[i].floorplan.names)

    def source_w(self, power_w: np.ndarray) -> np.ndarray:
        """``[node]`` right-hand side P + g_amb T_amb for powers ``[power block]``."""
        rhs = self.g_amb_w_k * self.params.ambient_k
        rhs[: self.n_layers * self.n_cells] += self.power_to_cells @ np.asarray(power_w, dtype=np.float64)
        return rhs

    def layers_k(self, field_k: np.ndarray) -> np.ndarray:
        """``[layer, row, col]`` view of the cell part of a ``[node]`` temperature vector."""
        n = self.n_layers
        return np.asarray(field_k)[: n * self.n_cells].reshape(n, self.rows, self.cols)

    def layer_blocks_k(self, field_k: np.ndarray, layer: int) -> np.ndarray:
        """Block temperatures ``[..., block]`` of one layer from ``[..., node]`` fields
        (``xlate_temp_g2b``)."""
        field_k = np.asarray(field_k)
        cells = field_k[..., layer * self.n_cells : (layer + 1) * self.n_cells]
        cmap = self.maps[layer]
        if self.map_mode in ("avg", "center"):
            return (cmap.to_blocks @ cells.T).T
        reduce = np.minimum if self.map_mode == "min" else np.maximum
        return reduce.reduceat(cells[..., cmap.block_cells], cmap.block_offsets[:-1], axis=-1)

    def blocks_k(self, field_k: np.ndarray) -> np.ndarray:
        """Block temperatures ``[..., layer, block]`` from ``[..., node]`` fields, for a stack whose layers
        share one floorplan (see :meth:`block_node_temps_k` for any stack)."""
        if not self.uniform:
            raise ValueError("the layers have different floorplans: use block_node_temps_k")
        return np.stack([self.layer_blocks_k(field_k, i) for i in range(self.n_layers)], axis=-2)

    def power_blocks_k(self, field_k: np.ndarray) -> np.ndarray:
        """Temperatures ``[..., power block]`` of the power inputs' blocks (the ``.ttrace`` columns)."""
        return np.concatenate([self.layer_blocks_k(field_k, i) for i in self.power_layers], axis=-1)

    def block_node_temps_k(self, field_k: np.ndarray) -> np.ndarray:
        """The ``[..., block node]`` vector HotSpot prints in ``.steady`` files: every layer's blocks, then
        the 12 package nodes (names: :func:`grid_node_names`)."""
        field_k = np.asarray(field_k)
        parts = [self.layer_blocks_k(field_k, i) for i in range(self.n_layers)]
        return np.concatenate([*parts, field_k[..., -N_EXTRA:]], axis=-1)

    def field_from_block_nodes(self, temps_k: np.ndarray) -> np.ndarray:
        """Spread a block-node vector (an init file) onto the cells by occupancy (HotSpot
        ``xlate_vector_b2g``): a cell gets the occupancy-weighted sum of its blocks."""
        temps_k = np.asarray(temps_k, dtype=np.float64)
        out, pos = [], 0
        for cmap in self.maps:
            n = cmap.floorplan.n_blocks
            out.append(cmap.occupancy @ temps_k[pos : pos + n])
            pos += n
        return np.concatenate([*out, temps_k[pos:]])


def grid_node_names(model: GridModel) -> tuple[str, ...]:
    """Names of the block-level nodes of a grid model, in HotSpot's ``.steady`` order."""
    if not model.has_lcf:
        return node_names(model.floorplan)
    n = model.n_layers
    prefixes = [f"layer_{i}_" for i in range(n - 2)] + ["hsp_", "hsink_"]
    names = [
        f"{pre}{b}" for pre, layer in zip(prefixes, model.layers, strict=True) for b in layer.floorplan.names
    ]
    return tuple(names) + tuple(f"inode_{i}" for i in range(N_EXTRA))


def _tolerant_floor(v: np.ndarray) -> np.ndarray:
    nearest = np.floor(v + 0.5)
    return np.where(_eq(v, nearest), nearest, np.floor(v)).astype(np.int64)


def _tolerant_ceil(v: np.ndarray) -> np.ndarray:
    nearest = np.floor(v + 0.5)
    return np.where(_eq(v, nearest), nearest, np.ceil(v)).astype(np.int64)


def grid_model(
    flp: Floorplan | None,
    params: ThermalParams,
    rows: int | None = None,
    cols: int | None = None,
    map_mode: str | None = None,
    layers: tuple[Layer, ...] | list[Layer] | None = None,
    lateral: str = "hotspot",
) -> GridModel:
    """Build HotSpot's grid model (``set_bgmap``, ``populate_R/C_model_grid``, its SuperLU matrix).

    ``rows``, ``cols`` and ``map_mode`` default to the params' ``grid_rows``, ``grid_cols`` and
    ``grid_map_mode``. ``layers`` (from a layer configuration file, :func:`systolic.formats.hotspot.read_lcf`)
    replaces the default silicon and interface layers, and ``flp`` is then ignored, as in HotSpot; the
    spreader and sink follow the last layer. With ``params.detailed_3D_used`` (HotSpot's ``-detailed_3D
    on``, layer files only) the cells take their resistances and capacitances from the blocks covering
    them and vertical resistances are split between the two layers, as HotSpot's detailed 3-D model does.
    ``lateral`` picks HotSpot's lateral resistances between cells (``"hotspot"``) or the physical ones
    (``"physical"``); they differ for cells that are not square (see the module docstring).
    """
    params.check_supported()
    p = params
    nr = p.grid_rows if rows is None else int(rows)
    nc = p.grid_cols if cols is None else int(cols)
    mode = (p.grid_map_mode if map_mode is None else map_mode).lower()
    if nr <= 0 or nc <= 0:
        raise InputError("grid rows and columns should both be greater than zero", "thermal config")
    if lateral not in LATERAL_MODES:
        raise InputError(f"must be 'hotspot' or 'physical', not {lateral!r}", "grid model", "lateral")
    if mode not in MAP_MODES:
        raise InputError(
            f"invalid mapping mode '{mode}'. use 'avg', 'min', 'max' or 'center'", "thermal config"
        )
    has_lcf = layers is not None
    if has_lcf:
        layers = tuple(layers)
        if not layers:
            raise InputError("no layers in the layer configuration file", "grid_layer_file")
        if not any(layer.power for layer in layers):
            raise InputError("no layer dissipates power", "grid_layer_file")
    else:
        if p.detailed_3D_used:
            raise InputError(
                "detailed 3-D modelling can only be used in 3-D mode (give a layer file, -grid_layer_file)",
                "thermal config",
                "detailed_3D",
            )
        layers = default_layers(flp, p)
    chip = [layer.floorplan.translated() for layer in layers]
    width, height = chip[0].chip_width_m, chip[0].chip_height_m
    for i, f in enumerate(chip):
        if abs(f.chip_width_m - width) >= DELTA or abs(f.chip_height_m - height) >= DELTA:
            raise InputError(
                f"width and height differ across layers: layer {i} is {f.chip_width_m * 1e3:.6g} x "
                f"{f.chip_height_m * 1e3:.6g} mm, layer 0 {width * 1e3:.6g} x {height * 1e3:.6g} mm",
                "grid_layer_file",
            )
    _check_die_fits(p, width, height)
    by_flp: dict[int, CellMap] = {}
    maps = []
    for layer, f in zip(layers, chip, strict=True):
        key = id(layer.floorplan)
        if key not in by_flp:
            by_flp[key] = _cell_map(f, nr, nc, width, height, mode)
        maps.append(by_flp[key])
    package = (
        Layer(chip[-1], p.k_spreader_w_mk, p.p_spreader_j_m3k, p.t_spreader_m),
        Layer(chip[-1], p.k_sink_w_mk, p.p_sink_j_m3k, p.t_sink_m),
    )
    layers = tuple(dataclasses.replace(layer, floorplan=f) for layer, f in zip(layers, chip, strict=True))
    layers += package
    maps += [maps[-1], maps[-1]]
    n_cells = nr * nc
    # power inputs -> cells of their layers: [layer cell, power block]
    coo_r, coo_c, coo_v, col = [], [], [], 0
    for i, (layer, cmap) in enumerate(zip(layers, maps, strict=True)):
        if layer.power:
            pm = cmap.power_map.tocoo()
            coo_r.append(pm.row + i * n_cells)
            coo_c.append(pm.col + col)
            coo_v.append(pm.data)
            col += layer.floorplan.n_blocks
    power_to_cells = scipy.sparse.csr_matrix(
        (np.concatenate(coo_v), (np.concatenate(coo_r), np.concatenate(coo_c))),
        shape=(len(layers) * n_cells, col),
    )
    g, g_amb, c = _grid_network(p, width, height, nr, nc, layers, maps, p.detailed_3D_used, lateral)
    first_power = next(i for i, layer in enumerate(layers) if layer.power)
    return GridModel(
        layers[first_power].floorplan,
        params,
        nr,
        nc,
        mode,
        g,
        g_amb,
        c,
        layers,
        tuple(maps),
        power_to_cells,
        has_lcf,
        lateral,
    )


def _cell_map(flp: Floorplan, nr: int, nc: int, width: float, height: float, mode: str) -> CellMap:
    """Block <-> cell maps of one floorplan on the grid (HotSpot ``set_bgmap``)."""
    cw, ch = width / nc, height / nr
    n = flp.n_blocks
    n_cells = nr * nc
    # block -> cell ranges: rows counted from the top of the die
    lu, ru = flp.left_m, flp.right_m
    bu, tu = flp.bottom_m, flp.top_m
    i1 = nr - _tolerant_ceil(tu / ch)
    i2 = nr - _tolerant_floor(bu / ch)
    j1 = _tolerant_floor(lu / cw)
    j2 = _tolerant_ceil(ru / cw)
    if (
        np.any(i1 < 0)
        or np.any(j1 < 0)
        or np.any(i2 > nr)
        or np.any(j2 > nc)
        or np.any(i1 >= i2)
        or np.any(j1 >= j2)
    ):
        raise InputError(f"invalid floorplan spec or grid resolution ({nr} x {nc})", "grid model")
    # overlap of every block with every cell row / column, snapped like HotSpot: [block, row] and [block, col]
    ii, jj = np.arange(nr), np.arange(nc)
    tc, bc = height - ii * ch, height - (ii + 1) * ch
    lc, rc = jj * cw, (jj + 1) * cw
    oh = (np.minimum(tu[:, None], tc[None]) - np.maximum(bu[:, None], bc[None])) / ch
    ow = (np.minimum(ru[:, None], rc[None]) - np.maximum(lu[:, None], lc[None])) / cw
    oh = np.where(_eq(oh, 0.0), 0.0, np.where(_eq(oh, 1.0), 1.0, oh))
    ow = np.where(_eq(ow, 0.0), 0.0, np.where(_eq(ow, 1.0), 1.0, ow))
    in_rows = (ii[None] >= i1[:, None]) & (ii[None] < i2[:, None])  # [block, row]
    in_cols = (jj[None] >= j1[:, None]) & (jj[None] < j2[:, None])
    if np.any((oh < 0) & in_rows) or np.any((ow < 0) & in_cols):
        raise InputError("negative overlap of a block with a grid cell", "grid model")
    fy = np.where(in_rows, oh, 0.0)  # [block, row]
    fx = np.where(in_cols, ow, 0.0)  # [block, col]

    # the cells of each block (HotSpot's g2b index ranges), concatenated block after block
    counts = (i2 - i1) * (j2 - j1)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    owner = np.repeat(np.arange(n), counts)
    local = np.arange(offsets[-1]) - offsets[owner]
    span_c = (j2 - j1)[owner]
    cell_i = i1[owner] + local // span_c
    cell_j = j1[owner] + local % span_c
    cells = cell_i * nc + cell_j
    occ = fy[owner, cell_i] * fx[owner, cell_j]  # [block-cell pair]
    occupancy = scipy.sparse.csr_matrix((occ, (cells, owner)), shape=(n_cells, n))  # [cell, block]
    power_map = scipy.sparse.csr_matrix(
        (occ * (cw * ch) / flp.area_m2[owner], (cells, owner)), shape=(n_cells, n)
    )
    if mode == "center":
        ci1, cj1 = (i1 + i2) // 2, (j1 + j2) // 2
        ci2 = ci1 - ((i2 - i1) % 2 == 0)
        cj2 = cj1 - ((j2 - j1) % 2 == 0)
        ci = np.stack([ci1, ci2, ci1, ci2], axis=1)
        cj = np.stack([cj1, cj1, cj2, cj2], axis=1)
        to_blocks = scipy.sparse.csr_matrix(
            (np.full(4 * n, 0.25), (np.repeat(np.arange(n), 4), (ci * nc + cj).ravel())), shape=(n, n_cells)
        )
    else:
        to_blocks = scipy.sparse.csr_matrix((1.0 / counts[owner], (owner, cells)), shape=(n, n_cells))
    return CellMap(flp, occupancy, power_map, cells, offsets, to_blocks)


#: HotSpot's detailed 3-D model: a block covering at least this share of a cell gives the cell its
#: material (temperature_grid.h ``OCCUPANCY_THRESHOLD``); below it the blocks' conductances add up.
OCCUPANCY_THRESHOLD = 0.95


def _cell_materials(layer: Layer, cmap: CellMap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detailed 3-D: per-cell conductivity, heat capacity, and whether a block fills the cell
    (HotSpot ``new_blist``/``blist_append``: the first block in floorplan order covering at least
    OCCUPANCY_THRESHOLD of a cell sets it; otherwise conductances are summed weighted by occupancy)."""
    n = layer.floorplan.n_blocks
    k_b = np.full(n, layer.k_w_mk) if layer.block_k_w_mk is None else layer.block_k_w_mk
    k_b = np.where(np.isnan(k_b), layer.k_w_mk, k_b)
    p_b = np.full(n, layer.p_j_m3k) if layer.block_p_j_m3k is None else layer.block_p_j_m3k
    p_b = np.where(np.isnan(p_b), layer.p_j_m3k, p_b)
    occ = cmap.occupancy.tocoo()
    n_cells = occ.shape[0]
    covered = np.bincount(occ.row, minlength=n_cells) > 0
    if not np.all(covered):
        raise InputError("detailed 3-D model: a grid cell is covered by no block", "grid_layer_file")
    full = occ.data >= OCCUPANCY_THRESHOLD
    first = np.full(n_cells, n)  # the first filling block of every cell, n when none
    np.minimum.at(first, occ.row[full], occ.col[full])
    locked = first < n
    k_sum = np.bincount(occ.row, occ.data * k_b[occ.col], minlength=n_cells)
    k_cell = np.where(locked, k_b[np.minimum(first, n - 1)], k_sum)
    p_cell = np.where(locked, p_b[np.minimum(first, n - 1)], layer.p_j_m3k)
    return k_cell, p_cell, locked


def _grid_network(
    p: ThermalParams,
    width: float,
    height: float,
    nr: int,
    nc: int,
    layers: tuple[Layer, ...],
    maps: list[CellMap],
    detailed: bool,
    lateral_mode: str = "hotspot",
) -> tuple[scipy.sparse.csc_matrix, np.ndarray, np.ndarray]:
    cw, ch = width / nc, height / nr
    n_cells = nr * nc
    n_layers = len(layers)
    k = np.array([layer.k_w_mk for layer in layers])
    t = np.array([layer.thickness_m for layer in layers])
    sp = np.array([layer.p_j_m3k for layer in layers])
    lateral = np.array([layer.lateral for layer in layers])
    rx = getr(k, cw, ch * t)  # [layer]
    ry = getr(k, ch, cw * t)
    rz = getr(k, t, cw * ch)
    rz[-1] += p.r_convec_k_w * p.s_sink_m**2 / (cw * ch)  # the sink's cells reach ambient through convection
    c_layer = getcap(sp, t, cw * ch)
    c_layer[-1] += C_FACTOR * p.c_convec_j_k * (cw * ch) / p.s_sink_m**2
    c_cells = np.repeat(c_layer[:, None], n_cells, axis=1)  # [layer, cell]
    pk = package_rc(p, width, height)

    cell = np.arange(n_cells).reshape(nr, nc)
    layer_base = np.arange(n_layers)[:, None] * n_cells  # [layer, 1]
    extra = n_layers * n_cells
    src, dst, gval = [], [], []

    def add(a, b, gv) -> None:
        a, b = np.broadcast_arrays(np.asarray(a).ravel(), np.asarray(b).ravel())
        src.append(a)
        dst.append(b)
        gval.append(np.broadcast_to(np.asarray(gv, dtype=np.float64).reshape(-1), a.shape))

    west, east = cell[:, :-1].ravel(), cell[:, 1:].ravel()
    north, south = cell[:-1, :].ravel(), cell[1:, :].ravel()
    # HotSpot's find_res joins (i, j) and (i, j+1) by ry and (i, j) and (i+1, j) by rx: [layer] each
    r_ew, r_ns = (ry, rx) if lateral_mode == "hotspot" else (rx, ry)
    if not detailed:
        # lateral: two half-cell resistances in series; vertical: the upper layer's rz (find_res); a layer
        # without lateral flow has HotSpot's LARGENUM lateral resistances, i.e. none
        g_east = np.where(lateral, 1.0 / r_ew, 0.0)  # [layer]
        g_south = np.where(lateral, 1.0 / r_ns, 0.0)
        add(layer_base + west[None], layer_base + east[None], np.repeat(g_east, (nc - 1) * nr))
        add(layer_base + north[None], layer_base + south[None], np.repeat(g_south, (nr - 1) * nc))
        add(
            layer_base[:-1] + cell.ravel()[None],
            layer_base[1:] + cell.ravel()[None],
            np.repeat(1.0 / rz[:-1], n_cells),
        )
    else:
        # per-cell resistances of the chip layers from their blocks; spreader and sink keep the layer's
        # (the sink's rz includes its share of the convection resistance, also between spreader and sink)
        rxc = np.repeat(rx[:, None], n_cells, axis=1)  # [layer, cell]
        ryc, rzc = np.repeat(ry[:, None], n_cells, axis=1), np.repeat(rz[:, None], n_cells, axis=1)
        for i in range(n_layers - 2):
            k_cell, p_cell, locked = _cell_materials(layers[i], maps[i])
            with np.errstate(divide="ignore"):
                rxc[i], ryc[i], rzc[i] = (getr(k_cell, cw, ch * t[i]), getr(k_cell, ch, cw * t[i]),
                                          getr(k_cell, t[i], cw * ch))  # fmt: skip
            c_cells[i] = np.where(locked, getcap(p_cell, t[i], cw * ch), c_layer[i])
        r_e, r_s = (ryc, rxc) if lateral_mode == "hotspot" else (rxc, ryc)  # [layer, cell]
        add(layer_base + west[None], layer_base + east[None], 1.0 / (r_e[:, west] / 2 + r_e[:, east] / 2))
        add(layer_base + north[None], layer_base + south[None], 1.0 / (r_s[:, north] / 2 + r_s[:, south] / 2))
        r_vert = rzc[:-1] / 2 + rzc[1:] / 2  # [layer pair, cell]
        r_vert[0] = rzc[0] + rzc[1] / 2  # HotSpot counts the top layer's whole rz
        add(layer_base[:-1] + cell.ravel()[None], layer_base[1:] + cell.ravel()[None], 1.0 / r_vert)
    # die edges of the spreader and sink layers to the peripheral nodes: half a cell plus the
    # periphery's lateral resistance, times the number of cells sharing that edge
    for layer, r1x, r1y, (nn, ns, ne, nw) in (
        (n_layers - 2, pk.r_sp1_x, pk.r_sp1_y, (SP_N, SP_S, SP_E, SP_W)),
        (n_layers - 1, pk.r_hs1_x, pk.r_hs1_y, (SINK_C_N, SINK_C_S, SINK_C_E, SINK_C_W)),
    ):
        base = layer * n_cells
        g_ns = 1.0 / (ry[layer] / 2.0 + nc * r1y)
        g_ew = 1.0 / (rx[layer] / 2.0 + nr * r1x)
        add(base + cell[0, :], extra + nn, g_ns)
        add(base + cell[-1, :], extra + ns, g_ns)
        add(base + cell[:, -1], extra + ne, g_ew)
        add(base + cell[:, 0], extra + nw, g_ew)
    edges, g_amb_extra, c_extra = _package_extras(pk)
    add(extra + edges[:, 0].astype(int), extra + edges[:, 1].astype(int), edges[:, 2])

    a, b, gv = np.concatenate(src), np.concatenate(dst), np.concatenate(gval)
    keep = gv != 0
    a, b, gv = a[keep], b[keep], gv[keep]
    n_nodes = extra + N_EXTRA
    g_amb = np.zeros(n_nodes)
    g_amb[(n_layers - 1) * n_cells : n_layers * n_cells] = 1.0 / rz[-1]
    g_amb[extra:] = g_amb_extra
    diag = np.bincount(a, gv, n_nodes) + np.bincount(b, gv, n_nodes) + g_amb
    g = scipy.sparse.coo_matrix(
        (
            np.concatenate([-gv, -gv, diag]),
            (np.concatenate([a, b, np.arange(n_nodes)]), np.concatenate([b, a, np.arange(n_nodes)])),
        ),
        shape=(n_nodes, n_nodes),
    ).tocsc()
    c = np.concatenate([c_cells.reshape(-1), c_extra])
    return g, g_amb, c


@dataclass(frozen=True, eq=False)
class GridSteady:
    """Steady state of the grid model.

    Attributes
    ----------
    field_k : numpy.ndarray
        ``[node]`` temperature of every cell and package node.
    power_k : numpy.ndarray
        ``[power block]`` temperatures of the power inputs' blocks.
    nodes_k : numpy.ndarray
        ``[block node]`` every layer's block temperatures and the package nodes (``.steady`` order).
    blocks_k : numpy.ndarray or None
        ``[layer, block]`` block temperatures mapped from each layer, when the layers share a floorplan.
    """

    field_k: np.ndarray
    power_k: np.ndarray
    nodes_k: np.ndarray
    blocks_k: np.ndarray | None


def _grid_steady(model: GridModel, field: np.ndarray) -> GridSteady:
    blocks = model.blocks_k(field) if model.uniform else None
    return GridSteady(field, model.power_blocks_k(field), model.block_node_temps_k(field), blocks)


def _splu(matrix: scipy.sparse.spmatrix):
    # The matrices are symmetric positive definite: a symmetric ordering and no pivoting keep the
    # factors sparse and the factorisation fast.
    return scipy.sparse.linalg.splu(
        scipy.sparse.csc_matrix(matrix),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )


def _dissection_order(rows: int, cols: int, leaf: int = 36) -> np.ndarray:
    """Cells in nested-dissection order: halves first, the separating line of cells last, recursively."""
    out, stack = [], [(0, rows, 0, cols)]
    while stack:  # over sub-rectangles (about 2 * rows * cols / leaf of them), not cells
        r0, r1, c0, c1 = stack.pop()
        h, w = r1 - r0, c1 - c0
        if h * w <= leaf or h < 3 or w < 3:
            out.append((np.arange(r0, r1)[:, None] * cols + np.arange(c0, c1)[None]).ravel())
        elif h >= w:
            m = (r0 + r1) // 2
            out.append(m * cols + np.arange(c0, c1))
            stack += [(r0, m, c0, c1), (m + 1, r1, c0, c1)]
        else:
            m = (c0 + c1) // 2
            out.append(np.arange(r0, r1) * cols + m)
            stack += [(r0, r1, c0, m), (r0, r1, m + 1, c1)]
    return np.concatenate(out[::-1])  # separators after the parts they separate


#: Grids of at least this many cells per layer are solved spectrally (model/thermal_spectral.py) when
#: their layers are uniform; smaller ones are quicker with the sparse LU.
SPECTRAL_MIN_CELLS = 256


class _GridFactor:
    """Solves with a grid-model matrix: spectrally (cosine modes and a dense correction for the die
    edges, :mod:`.thermal_spectral`) when the layers are uniform and the grid is not small, else a
    sparse LU, factorised in nested-dissection order with the layers of a cell next to each other and
    the package nodes last; SuperLU's minimum-degree ordering refines it. That gives about 15% less
    fill, and faster solves, than minimum degree on the natural order."""

    def __init__(self, model: GridModel, matrix: scipy.sparse.spmatrix):
        self.spectral = None
        if model.n_cells >= SPECTRAL_MIN_CELLS and not model.params.detailed_3D_used:
            from .thermal_spectral import spectral_solver

            self.spectral = spectral_solver(matrix, model.rows, model.cols, model.n_layers, N_EXTRA)
            if self.spectral is not None:
                return
        cells = _dissection_order(model.rows, model.cols)
        layers = np.arange(model.n_layers)[None, :] * model.n_cells
        self.perm = np.concatenate(
            [(cells[:, None] + layers).ravel(), model.n_layers * model.n_cells + np.arange(N_EXTRA)]
        )
        csc = scipy.sparse.csc_matrix(matrix)
        self.lu = _splu(csc[self.perm][:, self.perm])

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        if self.spectral is not None:
            return self.spectral.solve(rhs)
        out = np.empty_like(rhs)
        out[self.perm] = self.lu.solve(rhs[self.perm])
        return out


def steady_grid(model: GridModel, power_w: np.ndarray, leakage: Leakage | None = None) -> GridSteady:
    """Steady state of the grid model for powers ``[power block]`` (W): one sparse solve (per leakage
    iteration, with the factorisation reused). ``leakage(T_power_blocks_k) -> W`` as in
    :func:`steady_block`."""
    power_w = _check_power(power_w, model.n_blocks)
    lu = _GridFactor(model, model.g_w_k)

    def solve(pw: np.ndarray) -> np.ndarray:
        return lu.solve(model.source_w(pw))

    if leakage is None:
        field = solve(power_w)
    else:
        field = _fixed_point(
            solve,
            model.power_blocks_k,
            power_w,
            leakage,
            np.full(model.n_nodes, model.params.ambient_k),
            model.power_names,
        )
    return _grid_steady(model, field)


@dataclass(frozen=True, eq=False)
class GridTransient:
    """A grid-model transient.

    Attributes
    ----------
    nodes_k : numpy.ndarray
        ``[row, block node]`` every layer's block temperatures and the package nodes (``.steady`` order)
        at the end of every trace row.
    power_k : numpy.ndarray
        ``[row, power block]`` temperatures of the power inputs' blocks (the ``.ttrace`` columns).
    blocks_k : numpy.ndarray or None
        ``[row, layer, block]`` block temperatures, when the layers share one floorplan.
    final_k : numpy.ndarray
        ``[node]`` field at the end of the last row.
    fields_k : numpy.ndarray or None
        ``[kept row, node]`` fields at the end of the rows asked for with ``keep``.
    kept_rows : numpy.ndarray
        Row indices of ``fields_k``.
    """

    nodes_k: np.ndarray
    power_k: np.ndarray
    blocks_k: np.ndarray | None
    final_k: np.ndarray
    fields_k: np.ndarray | None
    kept_rows: np.ndarray


#: Alexander's (1977) L-stable, stiffly accurate 3-stage SDIRK method of order 3: one diagonal coefficient,
#: so one factorisation of C + gamma h G serves every stage.
_SDIRK_GAMMA = 0.435866521508459
_SDIRK_A = np.array(
    [
        [_SDIRK_GAMMA, 0.0, 0.0],
        [(1 - _SDIRK_GAMMA) / 2, _SDIRK_GAMMA, 0.0],
        [
            -1.5 * _SDIRK_GAMMA**2 + 4 * _SDIRK_GAMMA - 0.25,
            1.5 * _SDIRK_GAMMA**2 - 5 * _SDIRK_GAMMA + 1.25,
            _SDIRK_GAMMA,
        ],
    ]
)


class _SubStepped:
    """x -> exp(-h C^-1 G) x, approximated by ``substeps`` steps of the SDIRK method above.

    Over one row the error is at most 1.3e-3, 1.9e-4, 2.6e-5 of |x| for 4, 8, 16 sub-steps, whatever the
    stiffness (the method is L-stable: the fast modes of the thin interface layer are damped, not
    amplified). SciPy's complex sparse LU is about 15 times slower than its real one, which rules out
    the complex-pole rational approximations of the exponential; ``expm_multiply`` needs on the order of
    ``||h C^-1 G||`` (about 1e6 here) products.
    """

    def __init__(self, model: GridModel, h_s: float, substeps: int):
        self.g = model.g_w_k
        self.h = h_s / substeps
        self.substeps = substeps
        self.lu = _GridFactor(model, scipy.sparse.diags(model.c_j_k) + (_SDIRK_GAMMA * self.h) * self.g)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        a, h, g, solve = _SDIRK_A, self.h, self.g, self.lu.solve
        for _ in range(self.substeps):
            k1 = solve(-(g @ x))
            k2 = solve(-(g @ (x + h * a[1, 0] * k1)))
            k3 = solve(-(g @ (x + h * (a[2, 0] * k1 + a[2, 1] * k2))))
            x = x + h * (a[2, 0] * k1 + a[2, 1] * k2 + a[2, 2] * k3)
        return x


def transient_grid(
    model: GridModel,
    power_w: np.ndarray,
    init_k: np.ndarray | float,
    dt_s: float | np.ndarray | None = None,
    integrator: str = "be",
    leakage: Leakage | None = None,
    keep: bool | str | np.ndarray = False,
    substeps: int = 8,
) -> GridTransient:
    """Grid-model temperatures at the end of every trace row.

    Parameters
    ----------
    model : GridModel
    power_w : numpy.ndarray
        ``[row, block]`` silicon power of each trace row (W).
    init_k : float or numpy.ndarray
        Start temperatures: one value, or a ``[node]`` field (use
        :meth:`GridModel.field_from_block_nodes` for a block-level init file, as HotSpot does).
    dt_s : float or numpy.ndarray, optional
        Length of each row (scalar or ``[row]``); default the sampling interval.
    integrator : {"be", "exact"}
        ``be``: one backward-Euler step per row (HotSpot's SuperLU build); ``exact``: each row's steady
        state plus the decay of the deviation from it, ``exp(-h C^-1 G)``, integrated with ``substeps``
        steps of an L-stable third-order method (near HotSpot's adaptive-RK4 build).
    leakage : callable, optional
        ``leakage(T_silicon_blocks_k) -> W`` evaluated at the start of every row.
    keep : bool, "peak" or array of int
        Keep the whole field at the end of all rows (True), of the listed rows, or of the row whose
        hottest power block is the hottest of the transient (``"peak"``, for a thermal map).
    substeps : int
        ``exact`` only: sub-steps per row; the relative error of the decay over a row is at most 1.9e-4
        with 8, 2.6e-5 with 16.
    """
    power_w = _check_power(np.atleast_2d(power_w), model.n_blocks)
    if integrator not in INTEGRATORS:
        raise InputError(f"integrator must be 'be' or 'exact', not {integrator!r}", "integrator")
    n_rows = power_w.shape[0]
    dts = _row_steps(dt_s, model.params.sampling_intvl_s, n_rows)
    peak_only = isinstance(keep, str) and keep == "peak"
    if isinstance(keep, str) and not peak_only:
        raise InputError(f"keep must be a bool, 'peak' or row numbers, not {keep!r}", "keep")
    if peak_only:
        kept = np.zeros(1, dtype=np.int64)
    elif isinstance(keep, (bool, np.bool_)):
        kept = np.arange(n_rows) if keep else np.zeros(0, dtype=np.int64)
    else:
        kept = np.asarray(keep, dtype=np.int64)
    keep_slot = {int(r): s for s, r in enumerate(kept)}
    field = np.broadcast_to(np.asarray(init_k, dtype=np.float64), (model.n_nodes,)).copy()
    g, c = model.g_w_k, model.c_j_k
    if integrator == "be":
        steps = {h: _GridFactor(model, g + scipy.sparse.diags(c / h)) for h in np.unique(dts)}
    else:
        if isinstance(substeps, bool) or not isinstance(substeps, (int, np.integer)) or substeps < 1:
            raise InputError(f"substeps must be a positive integer, not {substeps!r}", "substeps")
        steps = {h: _SubStepped(model, h, int(substeps)) for h in np.unique(dts)}
        g_lu = _GridFactor(model, g)
    nodes = np.empty((n_rows, model.n_block_nodes))
    peak_k = -np.inf
    fields = np.empty((len(kept), model.n_nodes)) if len(kept) else None
    for row in range(n_rows):
        pw = power_w[row]
        if leakage is not None:
            pw = pw + leakage(model.power_blocks_k(field))
        rhs = model.source_w(pw)
        h = dts[row]
        if integrator == "be":
            field = steps[h].solve(rhs + c / h * field)
        else:
            ss = g_lu.solve(rhs)
            field = ss + steps[h](field - ss)
        nodes[row] = model.block_node_temps_k(field)
        if peak_only:
            hottest = float(nodes[row, model.power_node_index].max())
            if hottest > peak_k:
                peak_k, kept[0], fields[0] = hottest, row, field
        elif row in keep_slot:
            fields[keep_slot[row]] = field
    power = nodes[:, model.power_node_index]
    blocks = None
    if model.uniform:
        blocks = nodes[:, :-N_EXTRA].reshape(n_rows, model.n_layers, model.floorplan.n_blocks)
    return GridTransient(nodes, power, blocks, field, fields, kept)


# --------------------------------------------------------------------------- modal block transients


@dataclass(frozen=True, eq=False)
class BlockModal:
    """The block model in modal form, for transients with many rows and any step lengths.

    ``G`` is symmetric and ``C`` diagonal, so ``C^-1/2 G C^-1/2 = V diag(lam) V^T`` with real ``lam > 0``.
    In modal coordinates ``z = V^T C^1/2 T`` every mode relaxes on its own:
    ``z(t + h) = z_ss + exp(-lam h) (z - z_ss)`` with ``z_ss = lam^-1 V^T C^-1/2 (P + g_amb T_amb)``,
    exact for piecewise-constant power like :func:`transient_block`, but a step of any length costs one
    ``exp`` of a vector instead of a matrix exponential.

    Attributes
    ----------
    model : BlockModel
    lam_per_s : numpy.ndarray
        ``[mode]`` decay rates.
    z_amb : numpy.ndarray
        ``[mode]`` steady modal state with no power (everything at ambient).
    z_per_w : numpy.ndarray
        ``[mode, block]`` steady modal state per watt of each block.
    to_nodes : numpy.ndarray
        ``[node, mode]`` ``C^-1/2 V``: temperatures from modal states.
    to_modes : numpy.ndarray
        ``[mode, node]`` ``V^T C^1/2``.
    """

    model: BlockModel
    lam_per_s: np.ndarray
    z_amb: np.ndarray
    z_per_w: np.ndarray
    to_nodes: np.ndarray
    to_modes: np.ndarray

    def steady_k(self, power_w: np.ndarray) -> np.ndarray:
        """``[..., node]`` steady temperatures for ``[..., block]`` powers."""
        return (self.z_amb + np.asarray(power_w) @ self.z_per_w.T) @ self.to_nodes.T


def block_modal(model: BlockModel) -> BlockModal:
    """Eigen-decompose a block model (one ``eigh`` of a ``[node, node]`` matrix)."""
    s = 1.0 / np.sqrt(model.c_j_k)  # [node] C^-1/2
    lam, v = scipy.linalg.eigh(s[:, None] * model.g_w_k * s[None, :])
    to_nodes = s[:, None] * v  # [node, mode]
    proj = v.T * s[None, :]  # [mode, node] V^T C^-1/2
    z_amb = proj @ (model.g_amb_w_k * model.params.ambient_k) / lam
    z_per_w = proj[:, : model.n_blocks] / lam[:, None]
    return BlockModal(model, lam, z_amb, z_per_w, to_nodes, v.T / s[None, :])


def transient_modal(
    modal: BlockModal,
    power_w: np.ndarray,
    init_k: np.ndarray | float,
    dt_s: float | np.ndarray,
    leakage: Leakage | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Block temperatures ``[row, block]`` at the end of each row and the final ``[node]`` temperatures.

    ``power_w`` is ``[row, block]``; ``dt_s`` a scalar or ``[row]`` (rows may differ in length);
    ``leakage(T_blocks_k) -> W`` is evaluated at the start of every row (coupled step by step).
    Without leakage the rows are solved in a few array operations per row on ``[mode]`` vectors.
    """
    model = modal.model
    power_w = _check_power(np.atleast_2d(power_w), model.n_blocks)
    n_rows, n = power_w.shape[0], model.n_blocks
    dts = _row_steps(dt_s, model.params.sampling_intvl_s, n_rows)
    temps0 = np.broadcast_to(np.asarray(init_k, dtype=np.float64), (model.n_nodes,))
    z = modal.to_modes @ temps0
    decay = np.exp(-np.outer(dts, modal.lam_per_s))  # [row, mode]
    out_z = np.empty((n_rows, len(z)))
    blocks_from_z = modal.to_nodes[:n]  # [block, mode]
    if leakage is None:
        z_ss = modal.z_amb + power_w @ modal.z_per_w.T  # [row, mode]
        for row in range(n_rows):
            z = z_ss[row] + decay[row] * (z - z_ss[row])
            out_z[row] = z
    else:
        for row in range(n_rows):
            pw = power_w[row] + leakage(blocks_from_z @ z)
            ss = modal.z_amb + modal.z_per_w @ pw
            z = ss + decay[row] * (z - ss)
            out_z[row] = z
    return out_z @ blocks_from_z.T, modal.to_nodes @ z


def exponential_leakage(ref_w: np.ndarray, ref_k: float | None = None, per_k: float | None = None) -> Leakage:
    """Leakage ``ref_w * exp(per_k (T - ref_k))`` per block: the temperature law of
    :func:`systolic.model.energy.leakage_temperature_factor` (doubling every 20 K) by default."""
    from . import energy

    ref = np.asarray(ref_w, dtype=np.float64).copy()
    t0 = energy.LEAK_T_REF_K if ref_k is None else float(ref_k)
    k = energy.LEAK_K_PER_K if per_k is None else float(per_k)

    def leakage(t_blocks_k: np.ndarray) -> np.ndarray:
        return ref * np.exp(k * (np.asarray(t_blocks_k) - t0))

    return leakage


# --------------------------------------------------------------------------- the thermal part of a run


@dataclass(frozen=True, eq=False)
class ThermalRun:
    """Temperatures of a run's power trace on its floorplan (block model).

    Attributes
    ----------
    floorplan : Floorplan
    steady_k : numpy.ndarray
        ``[block]`` steady temperatures under the trace's average power (with leakage when given).
    steady_nodes_k : numpy.ndarray
        ``[node]`` the whole steady state (``.steady`` order, :func:`node_names`).
    transient_k : numpy.ndarray
        ``[interval, block]`` temperatures at the end of every interval.
    times_s : numpy.ndarray
        ``[interval]`` end time of every interval.
    peak_k : float
        Highest block temperature of the transient.
    peak_block : str
    peak_time_s : float
        End of the interval where the peak occurs.
    steady_leakage_w : numpy.ndarray
        ``[block]`` leakage at the steady state (zeros without a leakage model).
    """

    floorplan: Floorplan
    steady_k: np.ndarray
    steady_nodes_k: np.ndarray
    transient_k: np.ndarray
    times_s: np.ndarray
    peak_k: float
    peak_block: str
    peak_time_s: float
    steady_leakage_w: np.ndarray

    @property
    def peak_row(self) -> int:
        return int(np.searchsorted(self.times_s, self.peak_time_s))


def reorder_columns(values: np.ndarray, names: tuple[str, ...] | list[str], flp: Floorplan) -> np.ndarray:
    """``[..., block]`` columns named ``names`` permuted into floorplan order (names must match)."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[-1] != len(names):
        raise InputError(f"{values.shape[-1]} power columns for {len(names)} block names", "power")
    wanted = {n.lower(): i for i, n in enumerate(flp.names)}
    extra = [n for n in names if n.lower() not in wanted]
    missing = sorted(set(flp.names) - {flp.names[wanted[n.lower()]] for n in names if n.lower() in wanted})
    if extra or missing or len(set(n.lower() for n in names)) != len(names):
        raise InputError(
            f"block names do not match the floorplan (not in it: {', '.join(extra) or 'none'}; "
            f"missing: {', '.join(missing) or 'none'})",
            "power",
        )
    out = np.empty_like(values)
    out[..., [wanted[n.lower()] for n in names]] = values
    return out


def run_inputs(
    flp: Floorplan, power_w: np.ndarray, interval_s: float | np.ndarray, params: ThermalParams | None
) -> tuple[ThermalParams, np.ndarray, np.ndarray]:
    """Checked inputs of a run: (params, default HotSpot's with ``init_temp`` = ambient; power
    ``[interval, block]``, finite and non-negative; interval lengths ``[interval]``)."""
    if params is None:
        base = ThermalParams()
        params = base.replace(init_temp_k=base.ambient_k)
    power = _check_power(np.atleast_2d(np.asarray(power_w, dtype=np.float64)), flp.n_blocks)
    if np.any(~np.isfinite(power)) or np.any(power < 0):
        raise InputError("power must be finite and non-negative", "power")
    return params, power, _row_steps(interval_s, params.sampling_intvl_s, power.shape[0])


def initial_temps_k(model: BlockModel, init: str | float, steady_k: np.ndarray) -> np.ndarray:
    """``[node]`` start of a run: ``"steady"`` (``steady_k``), ``"ambient"`` or one temperature."""
    if isinstance(init, str) and init in ("steady", "ambient"):
        return steady_k if init == "steady" else np.full(model.n_nodes, model.params.ambient_k)
    if isinstance(init, (int, float)) and not isinstance(init, bool):
        return np.full(model.n_nodes, float(init))
    raise InputError(f"init must be 'steady', 'ambient' or a temperature, not {init!r}", "init")


def thermal_run(
    flp: Floorplan,
    power_w: np.ndarray,
    interval_s: float | np.ndarray,
    names: tuple[str, ...] | list[str] | None = None,
    params: ThermalParams | None = None,
    leakage: Leakage | None = None,
    init: str | float = "steady",
) -> ThermalRun:
    """Steady state, transient and peak of a per-interval power trace on a floorplan (block model).

    Parameters
    ----------
    flp : Floorplan
    power_w : numpy.ndarray
        ``[interval, block]`` dynamic (or total) power per block.
    interval_s : float or numpy.ndarray
        Length of every interval (scalar or ``[interval]``).
    names : sequence of str, optional
        Block name of every column (default: floorplan order).
    params : ThermalParams, optional
        Package and ambient (default HotSpot's, with ``init_temp`` = ambient).
    leakage : callable, optional
        ``leakage(T_blocks_k) -> W`` added to ``power_w``: the steady state is the temperature-leakage
        fixed point, the transient re-evaluates it every interval.
    init : "steady", "ambient" or float
        Start of the transient: the steady state of the average power (the run repeated back to back,
        HotSpot's usual ``-init_file`` practice), ambient, or one temperature.
    """
    if names is not None:
        power_w = reorder_columns(np.atleast_2d(power_w), tuple(names), flp)
    params, power, dts = run_inputs(flp, power_w, interval_s, params)
    model = block_model(flp, params)
    steady = steady_block(model, (power * dts[:, None]).sum(axis=0) / dts.sum(), leakage)
    n = flp.n_blocks
    start = initial_temps_k(model, init, steady)
    temps, _ = transient_modal(block_modal(model), power, start, dts, leakage)
    times = np.cumsum(dts)
    row, block = np.unravel_index(int(np.argmax(temps)), temps.shape)
    leak_w = np.zeros(n) if leakage is None else np.asarray(leakage(steady[:n]), dtype=np.float64)
    return ThermalRun(
        model.floorplan,
        steady[:n],
        steady,
        temps,
        times,
        float(temps[row, block]),
        model.floorplan.names[block],
        float(times[row]),
        leak_w,
    )
