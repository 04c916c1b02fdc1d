"""Floorplans: named rectangles that tile a die, checked the way a thermal model needs them.

A :class:`Floorplan` holds HotSpot's five columns (name, width, height, left x, bottom y; metres) as NumPy
arrays. Constructing one checks that its blocks tile their bounding box: no two blocks overlap and no
area is left uncovered. HotSpot 6 itself does not reject such floorplans (its block model silently
ignores gaps and overlaps, its grid model only warns ``overlap of functional blocks?``), but a gap is
unpowered silicon that the block model cannot represent and an overlap double-counts area, so both are
errors here. Coordinates are compared with twice HotSpot's tolerance ``DELTA`` = 1e-6 (its ``eq()`` on
lengths in metres) or 1e-4 of the die side, whichever is larger: HotSpot's own example floorplans are
written with six decimals in metres and leave slivers of exactly 1 um between blocks. The tolerance
never exceeds a hundredth of the smallest block side.

:func:`floorplan_for` generates a floorplan from an :class:`~systolic.config.ArrayConfig`: the PE array
cut into tiles, the three SRAM buffers, control and the DRAM interface, with areas from the technology
node (see :data:`PE_AREA_28NM_M2` and :data:`SRAM_AREA_PER_KIB_28NM_M2` for the sources).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from systolic.errors import InputError

if TYPE_CHECKING:  # type hints only: reading a .flp does not need the config module
    from systolic.config import ArrayConfig

#: HotSpot's length tolerance (util.h ``DELTA``), in metres when applied to floorplan coordinates.
DELTA_M = 1.0e-6
#: Block sides and coordinates a floorplan may hold: 1 nm is below any block, and 1 m is far beyond any die
#: (HotSpot's default heat sink is 6 cm across); outside, the geometry is a typo or overflows (1e300 m).
MIN_SIDE_M = 1e-9
MAX_EXTENT_M = 1.0
#: Memory per block while a floorplan is built and checked (measured: 262,144 blocks, 177 MB).
FLOORPLAN_BYTES_PER_BLOCK = 600


@dataclass(frozen=True, eq=False)
class Floorplan:
    """Rectangular blocks on a die, all lengths in metres.

    Attributes
    ----------
    names : tuple of str
        Block names, unique ignoring case (HotSpot looks names up with ``strcasecmp``).
    width_m, height_m, left_m, bottom_m : numpy.ndarray
        ``[block]`` float64 arrays: size and lower-left corner of every block.

    Raises
    ------
    InputError
        When the arrays disagree in length, a size is not positive, a name repeats, or the blocks do
        not tile their bounding box (overlap or gap).
    """

    names: tuple[str, ...]
    width_m: np.ndarray
    height_m: np.ndarray
    left_m: np.ndarray
    bottom_m: np.ndarray

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        object.__setattr__(self, "names", names)
        n = len(names)
        if n == 0:
            raise InputError("a floorplan needs at least one block")
        for field in ("width_m", "height_m", "left_m", "bottom_m"):
            arr = np.array(getattr(self, field), dtype=np.float64).reshape(-1)
            if arr.shape != (n,):
                raise InputError(f"{field} has {arr.size} entries for {n} blocks")
            if not np.all(np.isfinite(arr)):
                bad = names[int(np.flatnonzero(~np.isfinite(arr))[0])]
                raise InputError(f"block '{bad}': {field} is not a finite number")
            arr.setflags(write=False)
            object.__setattr__(self, field, arr)
        for field in ("width_m", "height_m"):
            arr = getattr(self, field)
            if np.any(arr <= 0):
                bad = int(np.flatnonzero(arr <= 0)[0])
                raise InputError(f"block '{names[bad]}': {field[:-2]} must be positive, not {arr[bad]:g} m")
            out = (arr < MIN_SIDE_M) | (arr > MAX_EXTENT_M)
            if np.any(out):
                bad = int(np.flatnonzero(out)[0])
                raise InputError(
                    f"block '{names[bad]}': {field[:-2]} must be between {MIN_SIDE_M:g} and "
                    f"{MAX_EXTENT_M:g} m, not {arr[bad]:g} m"
                )
        for field in ("left_m", "bottom_m"):
            arr = getattr(self, field)
            if np.any(np.abs(arr) > MAX_EXTENT_M):
                bad = int(np.flatnonzero(np.abs(arr) > MAX_EXTENT_M)[0])
                raise InputError(
                    f"block '{names[bad]}': {field[:-2]} is {arr[bad]:g} m, "
                    f"more than {MAX_EXTENT_M:g} m from the origin"
                )
        seen: dict[str, str] = {}
        for name in names:
            if not name or any(c.isspace() for c in name):
                raise InputError(f"block name {name!r} must be one word")
            if name.lower() in seen:
                raise InputError(f"block name '{name}' appears twice (names are compared ignoring case)")
            seen[name.lower()] = name
        check_tiling(self)

    # ------------------------------------------------------------------ derived geometry

    @property
    def n_blocks(self) -> int:
        return len(self.names)

    @property
    def area_m2(self) -> np.ndarray:
        """``[block]`` block areas."""
        return self.width_m * self.height_m

    @property
    def right_m(self) -> np.ndarray:
        return self.left_m + self.width_m

    @property
    def top_m(self) -> np.ndarray:
        return self.bottom_m + self.height_m

    @property
    def chip_width_m(self) -> float:
        """Width of the bounding box (HotSpot's ``get_total_width``)."""
        return float(self.right_m.max() - self.left_m.min())

    @property
    def chip_height_m(self) -> float:
        return float(self.top_m.max() - self.bottom_m.min())

    def index(self, name: str) -> int:
        """Position of block ``name`` (case-insensitive, like HotSpot), or a KeyError."""
        lowered = [n.lower() for n in self.names]
        try:
            return lowered.index(name.lower())
        except ValueError:
            raise KeyError(name) from None

    def translated(self) -> Floorplan:
        """The same floorplan moved so that its lower-left corner is the origin (HotSpot's
        ``flp_translate(flp, 0, 0)``, applied to every floorplan it reads)."""
        return Floorplan(
            self.names,
            self.width_m,
            self.height_m,
            self.left_m - self.left_m.min(),
            self.bottom_m - self.bottom_m.min(),
        )


def _tolerance_m(flp: Floorplan) -> float:
    # 1 um slivers are rounding in files written with %.6f metres; but on micrometre-sized blocks an
    # absolute tolerance would merge real edges, hence the cap.
    die_m = max(flp.chip_width_m, flp.chip_height_m)
    smallest = float(min(flp.width_m.min(), flp.height_m.min()))
    return min(max(2 * DELTA_M, 1e-4 * die_m), 0.01 * smallest)


def _clusters(coords: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Sorted coordinates merged when closer than ``tol``: (representatives, index of each input)."""
    order = np.sort(coords)
    starts = np.concatenate(([True], np.diff(order) > tol))
    reps = order[starts]  # [cluster]
    # every input maps to the last cluster start at or below it (+tol for rounding)
    idx = np.searchsorted(reps, coords + tol, side="right") - 1
    return reps, idx


def check_tiling(flp: Floorplan) -> None:
    """Raise an :class:`InputError` if the blocks overlap or leave part of their bounding box uncovered.

    The block edges define a coarse grid of elementary rectangles (edges closer than the tolerance are
    merged); every rectangle must be covered by exactly one block. Coverage is counted with a 2-D
    difference array, so the check is linear in the number of blocks plus grid rectangles.
    """
    tol = _tolerance_m(flp)
    xs, ix = _clusters(np.concatenate([flp.left_m, flp.right_m]), tol)
    ys, iy = _clusters(np.concatenate([flp.bottom_m, flp.top_m]), tol)
    n = flp.n_blocks
    x0, x1 = ix[:n], ix[n:]
    y0, y1 = iy[:n], iy[n:]
    flat = x1 <= x0
    flat |= y1 <= y0
    if np.any(flat):
        bad = int(np.flatnonzero(flat)[0])
        raise InputError(f"block '{flp.names[bad]}' is thinner than the tolerance of {tol:g} m")
    diff = np.zeros((len(xs) + 1, len(ys) + 1), dtype=np.int64)  # [x edge, y edge]
    np.add.at(diff, (x0, y0), 1)
    np.add.at(diff, (x1, y0), -1)
    np.add.at(diff, (x0, y1), -1)
    np.add.at(diff, (x1, y1), 1)
    cover = diff.cumsum(axis=0).cumsum(axis=1)[:-2, :-2]  # [x cell, y cell] blocks covering each cell
    if np.any(cover >= 2):
        cx, cy = (int(v[0]) for v in np.nonzero(cover >= 2))
        hits = np.flatnonzero((x0 <= cx) & (cx < x1) & (y0 <= cy) & (cy < y1))
        a, b = flp.names[hits[0]], flp.names[hits[1]]
        raise InputError(
            f"blocks '{a}' and '{b}' overlap at x={xs[cx] * 1e3:.6g} mm, y={ys[cy] * 1e3:.6g} mm "
            f"(blocks must not overlap)"
        )
    if np.any(cover == 0):
        cx, cy = (int(v[0]) for v in np.nonzero(cover == 0))
        widths = np.diff(xs)[:, None] * np.diff(ys)[None, :]  # [x cell, y cell] areas
        uncovered = float(widths[cover == 0].sum())
        total = flp.chip_width_m * flp.chip_height_m
        raise InputError(
            f"gap: no block covers x={xs[cx] * 1e3:.6g}..{xs[cx + 1] * 1e3:.6g} mm, "
            f"y={ys[cy] * 1e3:.6g}..{ys[cy + 1] * 1e3:.6g} mm ({100 * uncovered / total:.3g}% of the "
            f"{flp.chip_width_m * 1e3:.6g} x {flp.chip_height_m * 1e3:.6g} mm die is unused; "
            f"fill it with a block)"
        )


# --------------------------------------------------------------------------- floorplans from a config

#: Area of one int8 PE (8x8-bit multiplier, 32-bit accumulator, operand and partial-sum registers and
#: their share of wiring) at 28 nm. Source: Jouppi et al., "In-Datacenter Performance Analysis of a Tensor
#: Processing Unit", ISCA 2017: the 256x256 Matrix Multiply Unit takes 24% of a die of under 331 mm^2 in
#: 28 nm, i.e. 0.24 * 331 mm^2 / 65536 = 1.21e3 um^2 per PE.
PE_AREA_28NM_M2 = 0.24 * 331e-6 / 65536

#: Share of the PE area that scales with the multiplier (input_bits x weight_bits); the rest scales with
#: acc_bits (adder, accumulator register). From Horowitz, "Computing's Energy Problem", ISSCC 2014, at
#: 45 nm: 8-bit multiply 282 um^2 vs 32-bit add 137 um^2, i.e. about two thirds multiplier.
PE_MULTIPLIER_SHARE = 282.0 / (282.0 + 137.0)

#: SRAM area per KiB at 28 nm, array plus periphery. Source: the same TPU paper: the 24 MiB Unified
#: Buffer takes 29% of the die, 0.29 * 331 mm^2 / 24576 KiB = 3.9e-3 mm^2 per KiB.
SRAM_AREA_PER_KIB_28NM_M2 = 0.29 * 331e-6 / 24576

#: Control logic as a share of the whole die (TPU v1: "control is just 2%", same paper).
CTRL_DIE_SHARE = 0.02

#: DRAM interface area per GB/s at 28 nm: TPU v1's two DDR3-2133 channels (34 GB/s) take about 3% of its
#: die (same paper's floorplan), 0.03 * 331 mm^2 / 34 GB/s. A PHY does not shrink like logic; scaling it
#: with the node like everything else is the first-order assumption made here.
DRAM_IF_AREA_PER_GBPS_28NM_M2 = 0.03 * 331e-6 / 34.0

#: The node the area constants above were published for.
REFERENCE_NODE_NM = 28.0


def node_area_scale(tech_node_nm: float) -> float:
    """Area factor from 28 nm to ``tech_node_nm``: (node / 28 nm)^2.

    Ideal (Dennard) scaling; real logic and SRAM shrink less below 28 nm (Stillmaker & Baas, "Scaling
    equations for the accurate prediction of CMOS device performance from 180 nm to 7 nm", Integration
    2017, give measured factors), so small nodes come out optimistic.
    """
    return (float(tech_node_nm) / REFERENCE_NODE_NM) ** 2


def pe_area_m2(cfg: ArrayConfig) -> float:
    """Area of one PE of ``cfg`` at its technology node (see :data:`PE_AREA_28NM_M2`)."""
    mult = PE_MULTIPLIER_SHARE * (cfg.input_bits * cfg.weight_bits) / 64.0
    acc = (1.0 - PE_MULTIPLIER_SHARE) * cfg.acc_bits / 32.0
    return PE_AREA_28NM_M2 * (mult + acc) * node_area_scale(cfg.tech_node_nm)


def sram_area_m2(nbytes: int, tech_node_nm: float) -> float:
    """Area of an SRAM buffer of ``nbytes`` (see :data:`SRAM_AREA_PER_KIB_28NM_M2`)."""
    return SRAM_AREA_PER_KIB_28NM_M2 * (nbytes / 1024.0) * node_area_scale(tech_node_nm)


def dram_if_area_m2(cfg: ArrayConfig) -> float:
    """Area of the DRAM interface for the config's bandwidth (see :data:`DRAM_IF_AREA_PER_GBPS_28NM_M2`)."""
    gbps = cfg.dram_bw_words_per_cycle * cfg.word_bytes * cfg.clock_hz / 1e9
    return DRAM_IF_AREA_PER_GBPS_28NM_M2 * gbps * node_area_scale(cfg.tech_node_nm)


def default_tile(cfg: ArrayConfig) -> tuple[int, int]:
    """PEs per tile (rows, cols): 4x4, grown so that the array is cut into at most 8 x 8 tiles."""
    return (min(cfg.rows, max(4, math.ceil(cfg.rows / 8))), min(cfg.cols, max(4, math.ceil(cfg.cols / 8))))


def floorplan_blocks(cfg: ArrayConfig, tile: tuple[int, int] | None = None) -> int:
    """How many blocks :func:`floorplan_for` makes (PE tiles and the five others), before it makes them."""
    tr, tc = default_tile(cfg) if tile is None else tile
    if min(tr, tc) < 1:
        return 5  # floorplan_for refuses the tile
    return math.ceil(cfg.rows / tr) * math.ceil(cfg.cols / tc) + 5


def floorplan_for(cfg: ArrayConfig, tile: tuple[int, int] | None = None) -> Floorplan:
    """A gap-free floorplan of the accelerator described by ``cfg``.

    Layout (north up), every block's area from the technology node::

        +--------------------------------------+
        |             filter_sram              |   weights enter the array from the north
        +-----------+--------------------------+
        |           | pe_t0_0  pe_t0_1  ...    |
        | ifmap_    | pe_t1_0  ...             |   PE array, square PEs, rows x cols
        | sram      |                          |
        +-----------+----------+------+--------+
        |      ofmap_sram      | ctrl | dram_if|   results leave to the south
        +----------------------+------+--------+

    Parameters
    ----------
    cfg : ArrayConfig
        The architecture; uses rows, cols, operand and accumulator widths, the three SRAM sizes, the DRAM
        bandwidth (words per cycle x word bytes x clock) and ``tech_node_nm``.
    tile : (int, int), optional
        PEs per tile block (rows, cols); default :func:`default_tile`. Tile ``pe_t{i}_{j}`` holds PE rows
        ``i*tr ..`` and columns ``j*tc ..``; tile row 0 is the northernmost. Edge tiles hold the remainder.

    Returns
    -------
    Floorplan
        Blocks ``pe_t{i}_{j}`` (row-major), ``ifmap_sram``, ``filter_sram``, ``ofmap_sram``, ``ctrl``,
        ``dram_if``; lower-left corner at the origin.
    """
    tr, tc = default_tile(cfg) if tile is None else tile
    for label, value, limit in (("tile rows", tr, cfg.rows), ("tile cols", tc, cfg.cols)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= limit:
            raise InputError(f"{label} must be an integer in 1..{limit}, not {value!r}", where="tile")
    pe_side_m = math.sqrt(pe_area_m2(cfg))
    array_w_m, array_h_m = cfg.cols * pe_side_m, cfg.rows * pe_side_m
    node = cfg.tech_node_nm
    ifmap_w_m = sram_area_m2(cfg.ifmap_sram_bytes, node) / array_h_m
    die_w_m = ifmap_w_m + array_w_m
    filter_h_m = sram_area_m2(cfg.filter_sram_bytes, node) / die_w_m
    ofmap_a = sram_area_m2(cfg.ofmap_sram_bytes, node)
    dram_a = dram_if_area_m2(cfg)
    core_a = ofmap_a + dram_a + die_w_m * (array_h_m + filter_h_m)
    ctrl_a = CTRL_DIE_SHARE / (1.0 - CTRL_DIE_SHARE) * core_a
    south_h_m = (ofmap_a + ctrl_a + dram_a) / die_w_m

    # PE tiles: edges at multiples of the tile size, the last tile takes the remainder
    row_edges = np.minimum(np.arange(0, cfg.rows + tr, tr), cfg.rows)  # [tile row + 1] in PEs
    col_edges = np.minimum(np.arange(0, cfg.cols + tc, tc), cfg.cols)
    row_edges, col_edges = np.unique(row_edges), np.unique(col_edges)
    n_tr, n_tc = len(row_edges) - 1, len(col_edges) - 1
    ti, tj = np.meshgrid(np.arange(n_tr), np.arange(n_tc), indexing="ij")  # [tile row, tile col]
    ti, tj = ti.ravel(), tj.ravel()
    top_of_array_m = south_h_m + array_h_m
    tile_w = (col_edges[tj + 1] - col_edges[tj]) * pe_side_m
    tile_h = (row_edges[ti + 1] - row_edges[ti]) * pe_side_m
    tile_left = ifmap_w_m + col_edges[tj] * pe_side_m
    tile_bottom = top_of_array_m - row_edges[ti + 1] * pe_side_m

    names = [f"pe_t{i}_{j}" for i, j in zip(ti.tolist(), tj.tolist(), strict=True)]
    names += ["ifmap_sram", "filter_sram", "ofmap_sram", "ctrl", "dram_if"]
    ofmap_w, ctrl_w = ofmap_a / south_h_m, ctrl_a / south_h_m
    widths = [*tile_w, ifmap_w_m, die_w_m, ofmap_w, ctrl_w, die_w_m - ofmap_w - ctrl_w]
    heights = [*tile_h, array_h_m, filter_h_m, south_h_m, south_h_m, south_h_m]
    lefts = [*tile_left, 0.0, 0.0, 0.0, ofmap_w, ofmap_w + ctrl_w]
    bottoms = [*tile_bottom, south_h_m, top_of_array_m, 0.0, 0.0, 0.0]
    return Floorplan(tuple(names), np.array(widths), np.array(heights), np.array(lefts), np.array(bottoms))
