"""The grid model's network: layers (a layer configuration file's or the default two), blocks mapped to
cells, per-cell materials, lateral and vertical conductances and capacitances."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from systolic.errors import InputError

from ..floorplan import Floorplan
from ..thermal_params import MAP_MODES, ThermalParams
from .block import _eq
from .common import (
    C_FACTOR,
    DELTA,
    LATERAL_MODES,
    N_EXTRA,
    SINK_C_E,
    SINK_C_N,
    SINK_C_S,
    SINK_C_W,
    SP_E,
    SP_N,
    SP_S,
    SP_W,
    _check_die_fits,
    _package_extras,
    getcap,
    getr,
    node_names,
    package_rc,
    scipy,
)

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
    layers, chip, width, height = _stack_layers(flp, p, layers)
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
    power_to_cells = _power_to_cells(layers, maps, nr * nc)  # [layer cell, power block]
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


def _stack_layers(
    flp: Floorplan | None, p: ThermalParams, layers: tuple[Layer, ...] | list[Layer] | None
) -> tuple[tuple[Layer, ...], list[Floorplan], float, float]:
    """The chip layers (a layer file's, checked, or the default two), their floorplans moved to the origin,
    and the die's width and height (every layer's must agree)."""
    if layers is not None:
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
    return tuple(layers), chip, width, height


def _power_to_cells(layers: tuple[Layer, ...], maps: list[CellMap], n_cells: int):
    """The sparse map of power inputs (the blocks of the power-dissipating layers, in order) to the cells of
    their layers: ``[layer cell, power block]``."""
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
    return power_to_cells


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


class _Links:
    """Conductances between node pairs, collected in the order they are added (the sums keep that order)."""

    def __init__(self) -> None:
        self.src: list[np.ndarray] = []
        self.dst: list[np.ndarray] = []
        self.g: list[np.ndarray] = []

    def add(self, a, b, gv) -> None:
        a, b = np.broadcast_arrays(np.asarray(a).ravel(), np.asarray(b).ravel())
        self.src.append(a)
        self.dst.append(b)
        self.g.append(np.broadcast_to(np.asarray(gv, dtype=np.float64).reshape(-1), a.shape))

    def matrix(self, g_amb: np.ndarray) -> scipy.sparse.csc_matrix:
        """The conductance matrix: -g off the diagonal, the sum of a node's links plus ``g_amb`` on it."""
        a, b, gv = np.concatenate(self.src), np.concatenate(self.dst), np.concatenate(self.g)
        keep = gv != 0
        a, b, gv = a[keep], b[keep], gv[keep]
        n_nodes = g_amb.size
        diag = np.bincount(a, gv, n_nodes) + np.bincount(b, gv, n_nodes) + g_amb
        return scipy.sparse.coo_matrix(
            (
                np.concatenate([-gv, -gv, diag]),
                (np.concatenate([a, b, np.arange(n_nodes)]), np.concatenate([b, a, np.arange(n_nodes)])),
            ),
            shape=(n_nodes, n_nodes),
        ).tocsc()


@dataclass(frozen=True)
class _LayerR:
    """Per-layer cell resistances and capacitance of a grid: ``[layer]`` each."""

    rx: np.ndarray
    ry: np.ndarray
    rz: np.ndarray
    c: np.ndarray


def _layer_r(p: ThermalParams, layers: tuple[Layer, ...], cw: float, ch: float) -> _LayerR:
    k = np.array([layer.k_w_mk for layer in layers])
    t = np.array([layer.thickness_m for layer in layers])
    sp = np.array([layer.p_j_m3k for layer in layers])
    rx = getr(k, cw, ch * t)  # [layer]
    ry = getr(k, ch, cw * t)
    rz = getr(k, t, cw * ch)
    rz[-1] += p.r_convec_k_w * p.s_sink_m**2 / (cw * ch)  # the sink's cells reach ambient through convection
    c_layer = getcap(sp, t, cw * ch)
    c_layer[-1] += C_FACTOR * p.c_convec_j_k * (cw * ch) / p.s_sink_m**2
    return _LayerR(rx, ry, rz, c_layer)


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
    n_cells, n_layers = nr * nc, len(layers)
    r = _layer_r(p, layers, cw, ch)
    c_cells = np.repeat(r.c[:, None], n_cells, axis=1)  # [layer, cell]
    links = _Links()
    if not detailed:
        _uniform_links(links, layers, r, nr, nc, lateral_mode)
    else:
        c_cells = _detailed_links(links, layers, maps, r, nr, nc, cw, ch, lateral_mode)
    pk = package_rc(p, width, height)
    _periphery_links(links, pk, r, nr, nc, n_layers)
    extra = n_layers * n_cells
    edges, g_amb_extra, c_extra = _package_extras(pk)
    links.add(extra + edges[:, 0].astype(int), extra + edges[:, 1].astype(int), edges[:, 2])
    g_amb = np.zeros(extra + N_EXTRA)
    g_amb[(n_layers - 1) * n_cells : n_layers * n_cells] = 1.0 / r.rz[-1]
    g_amb[extra:] = g_amb_extra
    c = np.concatenate([c_cells.reshape(-1), c_extra])
    return links.matrix(g_amb), g_amb, c


def _neighbours(nr: int, nc: int) -> tuple[np.ndarray, ...]:
    """Cell indices ``[row, col]`` and the west/east and north/south neighbour pairs."""
    cell = np.arange(nr * nc).reshape(nr, nc)
    return cell, cell[:, :-1].ravel(), cell[:, 1:].ravel(), cell[:-1, :].ravel(), cell[1:, :].ravel()


def _uniform_links(
    links: _Links, layers: tuple[Layer, ...], r: _LayerR, nr: int, nc: int, lateral_mode: str
) -> None:
    """Lateral links (two half-cell resistances in series) and vertical ones (the upper layer's rz, as
    ``find_res``); a layer without lateral flow has HotSpot's LARGENUM lateral resistances, i.e. none."""
    cell, west, east, north, south = _neighbours(nr, nc)
    n_cells = nr * nc
    layer_base = np.arange(len(layers))[:, None] * n_cells  # [layer, 1]
    lateral = np.array([layer.lateral for layer in layers])
    # HotSpot's find_res joins (i, j) and (i, j+1) by ry and (i, j) and (i+1, j) by rx: [layer] each
    r_ew, r_ns = (r.ry, r.rx) if lateral_mode == "hotspot" else (r.rx, r.ry)
    g_east = np.where(lateral, 1.0 / r_ew, 0.0)  # [layer]
    g_south = np.where(lateral, 1.0 / r_ns, 0.0)
    links.add(layer_base + west[None], layer_base + east[None], np.repeat(g_east, (nc - 1) * nr))
    links.add(layer_base + north[None], layer_base + south[None], np.repeat(g_south, (nr - 1) * nc))
    links.add(
        layer_base[:-1] + cell.ravel()[None],
        layer_base[1:] + cell.ravel()[None],
        np.repeat(1.0 / r.rz[:-1], n_cells),
    )


def _detailed_links(
    links: _Links,
    layers: tuple[Layer, ...],
    maps: list[CellMap],
    r: _LayerR,
    nr: int,
    nc: int,
    cw: float,
    ch: float,
    lateral_mode: str,
) -> np.ndarray:
    """HotSpot's detailed 3-D links: per-cell resistances of the chip layers from their blocks (spreader and
    sink keep the layer's; the sink's rz includes its share of the convection resistance, also between
    spreader and sink); returns the cells' capacitances ``[layer, cell]``."""
    cell, west, east, north, south = _neighbours(nr, nc)
    n_cells, n_layers = nr * nc, len(layers)
    layer_base = np.arange(n_layers)[:, None] * n_cells  # [layer, 1]
    t = np.array([layer.thickness_m for layer in layers])
    c_cells = np.repeat(r.c[:, None], n_cells, axis=1)  # [layer, cell]
    rxc = np.repeat(r.rx[:, None], n_cells, axis=1)  # [layer, cell]
    ryc, rzc = np.repeat(r.ry[:, None], n_cells, axis=1), np.repeat(r.rz[:, None], n_cells, axis=1)
    for i in range(n_layers - 2):
        k_cell, p_cell, locked = _cell_materials(layers[i], maps[i])
        with np.errstate(divide="ignore"):
            rxc[i], ryc[i], rzc[i] = (getr(k_cell, cw, ch * t[i]), getr(k_cell, ch, cw * t[i]),
                                      getr(k_cell, t[i], cw * ch))  # fmt: skip
        c_cells[i] = np.where(locked, getcap(p_cell, t[i], cw * ch), r.c[i])
    r_e, r_s = (ryc, rxc) if lateral_mode == "hotspot" else (rxc, ryc)  # [layer, cell]
    links.add(layer_base + west[None], layer_base + east[None], 1.0 / (r_e[:, west] / 2 + r_e[:, east] / 2))
    links.add(
        layer_base + north[None], layer_base + south[None], 1.0 / (r_s[:, north] / 2 + r_s[:, south] / 2)
    )
    r_vert = rzc[:-1] / 2 + rzc[1:] / 2  # [layer pair, cell]
    r_vert[0] = rzc[0] + rzc[1] / 2  # HotSpot counts the top layer's whole rz
    links.add(layer_base[:-1] + cell.ravel()[None], layer_base[1:] + cell.ravel()[None], 1.0 / r_vert)
    return c_cells


def _periphery_links(links: _Links, pk, r: _LayerR, nr: int, nc: int, n_layers: int) -> None:
    """Die edges of the spreader and sink layers to the peripheral nodes: half a cell plus the periphery's
    lateral resistance, times the number of cells sharing that edge."""
    cell = np.arange(nr * nc).reshape(nr, nc)
    n_cells, extra = nr * nc, n_layers * nr * nc
    for layer, r1x, r1y, (nn, ns, ne, nw) in (
        (n_layers - 2, pk.r_sp1_x, pk.r_sp1_y, (SP_N, SP_S, SP_E, SP_W)),
        (n_layers - 1, pk.r_hs1_x, pk.r_hs1_y, (SINK_C_N, SINK_C_S, SINK_C_E, SINK_C_W)),
    ):
        base = layer * n_cells
        g_ns = 1.0 / (r.ry[layer] / 2.0 + nc * r1y)
        g_ew = 1.0 / (r.rx[layer] / 2.0 + nr * r1x)
        links.add(base + cell[0, :], extra + nn, g_ns)
        links.add(base + cell[-1, :], extra + ns, g_ns)
        links.add(base + cell[:, -1], extra + ne, g_ew)
        links.add(base + cell[:, 0], extra + nw, g_ew)
