"""The block model: one node per floorplan block in each of four layers plus the package; steady state,
exact transients and the modal form for runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from systolic.errors import InputError

from ..floorplan import Floorplan
from ..thermal_params import ThermalParams
from .common import (
    C_FACTOR,
    DELTA,
    LEAK_TOL_K,
    LEAKAGE_MAX_ITER,
    N_EXTRA,
    N_LAYERS,
    SINK_C_E,
    SINK_C_N,
    SINK_C_S,
    SINK_C_W,
    SP_E,
    SP_N,
    SP_S,
    SP_W,
    Leakage,
    _check_die_fits,
    _package_extras,
    getcap,
    getr,
    node_names,
    package_rc,
    scipy,
)

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


def _adjacency(flp: Floorplan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horizontally and vertically adjacent blocks and their shared edge lengths, ``[block i, block j]``,
    exactly as flp.c's ``is_horiz_adj``, ``is_vert_adj`` and ``get_shared_len``."""
    n = flp.n_blocks
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
    return horiz, vert, shared


def _connect_borders(g: np.ndarray, flp: Floorplan, gx: np.ndarray, gy: np.ndarray, pk) -> None:
    """Blocks on the die's borders connect to the peripheral spreader and sink nodes (in ``g``, in place)."""
    n = flp.n_blocks
    idx = np.arange(n)
    chip_w, chip_h = flp.chip_width_m, flp.chip_height_m
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

    horiz, vert, shared = _adjacency(flp)  # [block i, block j]
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

    hsink, extra = 3 * n + idx, N_LAYERS * n
    _connect_borders(g, flp, gx, gy, pk)  # blocks on the die's borders to the peripheral nodes
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
    from .. import energy

    ref = np.asarray(ref_w, dtype=np.float64).copy()
    t0 = energy.LEAK_T_REF_K if ref_k is None else float(ref_k)
    k = energy.LEAK_K_PER_K if per_k is None else float(per_k)

    def leakage(t_blocks_k: np.ndarray) -> np.ndarray:
        return ref * np.exp(k * (np.asarray(t_blocks_k) - t0))

    return leakage
