"""The tiled-chip vocabulary: one frozen, validated ``ChipConfig`` and its TOML reader.

A chip is a grid of tiles joined by a network on chip (NoC) and sharing DRAM channels. Every tile is one
accelerator (:class:`systolic.config.ArrayConfig`: array, its SRAMs, controller); the chip's TOML names it
by a shipped architecture name or a ``.toml`` path relative to the chip file::

    name = "chip-4x4"
    [chip]
    rows = 4                    # tile grid, north to south
    cols = 4                    # west to east
    tile = "ws-32x32"           # every tile's accelerator
    [noc]
    topology = "mesh"           # mesh | ring (the ring visits the tiles row by row, boustrophedon)
    routing = "xy"              # dimension order: along the row first, then the column
    link_words_per_cycle = 8    # words a link carries per cycle
    hop_cycles = 2              # router + link latency per hop
    fifo_depth = 2              # activation buffers (whole inputs of the next stage) at a tile's input
    [dram]
    channels = 2                # shared DRAM channels
    words_per_cycle = 16        # per channel

The DRAM channels are shared by a **static bandwidth partition** (a fixed-slot arbiter): tile ``t`` is on
channel ``t mod channels`` and owns a fixed lane of :attr:`ChipConfig.lane_words_per_cycle` words of it,
every cycle, used or not. No two tiles ever contend (no arbitration at run time), and a lane left idle is
not lent to a busy neighbour (not work-conserving). Every tile gets the same lane, set by the fullest
channel: ``min(the tile's own dram_bw_words_per_cycle, floor(words_per_cycle / ceil(tiles / channels)))``
(on a channel with fewer tiles the rest of its width stays unused); a lane below one word is refused. So a
tile runs as its accelerator with a DRAM port of the lane's width (:meth:`ChipConfig.lane_tile`): the
RTL (:mod:`systolic.hdl.chip`) builds it so and the model (``model/chip``) costs it so.

The schedule (``model/chip``) needs only a tile kind's per-layer cycles, energy and DRAM words, so an
analog in-memory core (:mod:`systolic.analog_config`) can become a tile kind there; the reader refuses one
until then. Like :mod:`systolic.config`, this module imports nothing heavy.

Sources
-------
* **Keckler**: S. W. Keckler, W. J. Dally, B. Khailany, M. Garland, D. Glasco, "GPUs and the future of
  parallel computing", IEEE Micro 31(5), 2011, Table 1: moving 256 bits 10 mm over an on-chip wire costs
  310 pJ at 40 nm, 0.121 pJ per bit and mm (the NoC's default wire energy below; routers not counted).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .config import ArrayConfig, builtin_arch_names, load_arch
from .errors import InputError
from .fileio import read_text, read_toml, toml_tables

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: Keckler et al. 2011, Table 1: 310 pJ for 256 bits over 10 mm of on-chip wire (40 nm).
WIRE_PJ_PER_BIT_MM = 310.0 / 256 / 10
TOPOLOGIES = ("mesh", "ring")
ROUTINGS = ("xy",)

#: section -> key -> (ChipConfig field, kind, lower bound, upper bound)
_SECTIONS: dict[str, dict[str, tuple[str, str, float, float]]] = {
    "chip": {
        "rows": ("rows", "int", 1, 64),
        "cols": ("cols", "int", 1, 64),
        "tile": ("tile_ref", "str", 0, 0),
    },
    "noc": {
        "topology": ("topology", "str", 0, 0),
        "routing": ("routing", "str", 0, 0),
        "link_words_per_cycle": ("link_words_per_cycle", "int", 1, 4096),
        "hop_cycles": ("hop_cycles", "int", 0, 10_000),
        "fifo_depth": ("fifo_depth", "int", 1, 1024),
        "wire_pj_per_bit_mm": ("wire_pj_per_bit_mm", "float", 0.0, 100.0),
    },
    "dram": {
        "channels": ("dram_channels", "int", 1, 1024),
        "words_per_cycle": ("dram_words_per_cycle", "int", 1, 1_000_000),
    },
}


@dataclass(frozen=True)
class ChipConfig:
    """A grid of identical tiles, a NoC and shared DRAM channels (see the module docstring).

    Attributes
    ----------
    name : str
    rows, cols : int
        The tile grid; tile ``t`` sits at row ``t // cols`` (0: north), column ``t % cols`` (0: west).
    tile : ArrayConfig
        Every tile's accelerator.
    tile_ref : str
        How the file named it (a shipped name or a path as written).
    topology, routing : str
        ``mesh`` or ``ring``; ``xy`` (dimension order).
    link_words_per_cycle, hop_cycles, fifo_depth : int
        NoC link width, latency per hop, and activation buffers (whole stage inputs) at a tile's input.
    wire_pj_per_bit_mm : float
        Wire energy (default :data:`WIRE_PJ_PER_BIT_MM`, Keckler et al. 2011).
    dram_channels, dram_words_per_cycle : int
        Shared DRAM: channels and words per cycle each.
    """

    name: str
    rows: int
    cols: int
    tile: ArrayConfig
    tile_ref: str
    topology: str = "mesh"
    routing: str = "xy"
    link_words_per_cycle: int = 8
    hop_cycles: int = 2
    fifo_depth: int = 2
    wire_pj_per_bit_mm: float = WIRE_PJ_PER_BIT_MM
    dram_channels: int = 2
    dram_words_per_cycle: int = 16

    @property
    def tiles(self) -> int:
        return self.rows * self.cols

    @property
    def dram_bw_words_per_cycle(self) -> int:
        return self.dram_channels * self.dram_words_per_cycle

    @property
    def clock_hz(self) -> float:
        return self.tile.clock_hz

    @property
    def tiles_per_channel(self) -> int:
        """Tiles on the fullest DRAM channel (tile ``t`` is on channel ``t mod dram_channels``)."""
        return -(-self.tiles // self.dram_channels)

    @property
    def lane_words_per_cycle(self) -> int:
        """Every tile's fixed DRAM lane (module docstring): at most its own bandwidth, at most an equal
        slot of the fullest channel. Raises ``ValueError`` when that is below one word."""
        lane = min(self.tile.dram_bw_words_per_cycle, self.dram_words_per_cycle // self.tiles_per_channel)
        if lane < 1:
            raise ValueError(
                f"{self.dram_words_per_cycle} words per cycle cannot give each of the "
                f"{self.tiles_per_channel} tiles on a channel a lane of at least one word"
            )
        return lane

    def lane_tile(self) -> ArrayConfig:
        """The tile's accelerator with its DRAM port cut to its lane: what every tile runs as."""
        lane = self.lane_words_per_cycle
        if lane == self.tile.dram_bw_words_per_cycle:
            return self.tile
        return self.tile.replace(dram_bw_words_per_cycle=lane)

    def channel_slot(self, t: int) -> tuple[int, int]:
        """Tile ``t``'s DRAM channel and its slot on it (lane ``slot`` of the channel's words)."""
        return t % self.dram_channels, t // self.dram_channels

    def replace(self, **changes: Any) -> ChipConfig:
        return replace(self, **changes)

    def hops(self, a, b):
        """NoC hops from tile ``a`` to tile ``b`` (ints or integer arrays): XY routing on the mesh is the
        Manhattan distance; on the ring (boustrophedon order: row 0 west to east, row 1 back) the shorter
        way round."""
        import numpy as np

        a, b = np.asarray(a), np.asarray(b)
        if self.topology == "mesh":
            return np.abs(a // self.cols - b // self.cols) + np.abs(a % self.cols - b % self.cols)
        d = np.abs(self.ring_position(a) - self.ring_position(b))
        return np.minimum(d, self.tiles - d)

    def ring_position(self, t):
        """Place of tile ``t`` along the ring."""
        import numpy as np

        r, c = np.asarray(t) // self.cols, np.asarray(t) % self.cols
        return r * self.cols + np.where(r % 2 == 0, c, self.cols - 1 - c)


def is_chip_toml(path: str | Path) -> bool:
    """Whether ``path`` is a TOML file with a ``[chip]`` section (a chip, not one accelerator)."""
    p = Path(path)
    if p.suffix.lower() != ".toml" or not p.is_file():
        return False
    try:
        return "chip" in tomllib.loads(read_text(p))
    except tomllib.TOMLDecodeError:
        return False  # the accelerator reader reports the malformed file


def load_chip(path: str | Path) -> ChipConfig:
    """Read a chip TOML (see the module docstring); errors name the file and the field."""
    path = Path(path)
    data = read_toml(path)
    values: dict[str, Any] = {"name": data.get("name", path.stem)}
    if not isinstance(values["name"], str) or not values["name"]:
        raise InputError("must be a non-empty string", path, "name")
    for key, sub, raw in toml_tables(data, _SECTIONS, path, ("name",))[1]:
        name, kind, lo, hi = _SECTIONS[key][sub]
        values[name] = _value(raw, kind, lo, hi, path, f"[{key}] {sub}")
    for key in ("rows", "cols", "tile_ref"):
        if key not in values:
            field = "tile" if key == "tile_ref" else key
            raise InputError("missing (a chip needs [chip] rows, cols and tile)", path, f"[chip] {field}")
    for field, allowed in (("topology", TOPOLOGIES), ("routing", ROUTINGS)):
        if field in values and values[field] not in allowed:
            raise InputError(
                f"must be one of {', '.join(allowed)}, not '{values[field]}'", path, f"[noc] {field}"
            )
    values["tile"] = _tile(values["tile_ref"], path)
    chip = ChipConfig(**values)
    try:
        chip.lane_tile()
    except ValueError as err:
        raise InputError(str(err), path, "[dram] words_per_cycle") from None
    return chip


def _value(raw: Any, kind: str, lo: float, hi: float, path: Path, where: str) -> Any:
    if kind == "str":
        if not isinstance(raw, str) or not raw:
            raise InputError(f"must be a non-empty string, not {raw!r}", path, where)
        return raw
    if kind == "int" and (isinstance(raw, bool) or not isinstance(raw, int)):
        raise InputError(f"must be an integer, not {raw!r}", path, where)
    if kind == "float" and (
        isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw)
    ):
        raise InputError(f"must be a number, not {raw!r}", path, where)
    if not lo <= raw <= hi:
        raise InputError(f"must be in {lo:g}..{hi:g}, not {raw!r}", path, where)
    return float(raw) if kind == "float" else raw


def _tile(ref: str, chip_path: Path) -> ArrayConfig:
    """The tile's accelerator: a shipped name, or a path relative to the chip file."""
    where = "[chip] tile"
    target = chip_path.parent / ref
    if ref.startswith("analog-") or (target.is_file() and _toml_kind(target) == "analog"):
        raise InputError(
            f"'{ref}' is an analog core: chips of analog tiles are not modelled yet (model/chip needs a "
            "tile kind's per-layer cycles and energy)",
            chip_path,
            where,
        )
    if ref in builtin_arch_names():
        return load_arch(ref)
    if target.suffix.lower() != ".toml" or not target.is_file():
        shipped = ", ".join(builtin_arch_names())
        raise InputError(
            f"no such accelerator file or shipped name '{ref}' (shipped: {shipped})", chip_path, where
        )
    if is_chip_toml(target):
        raise InputError(f"'{ref}' is a chip itself: a tile must be one accelerator", chip_path, where)
    try:
        return load_arch(target)
    except InputError as err:
        raise InputError(f"{ref}: {err.what}", chip_path, where) from None


def _toml_kind(path: Path) -> str | None:
    try:
        kind = tomllib.loads(read_text(path)).get("kind")
    except (tomllib.TOMLDecodeError, InputError):
        return None  # the accelerator reader reports it
    return kind if isinstance(kind, str) else None


def single_tile_chip(tile: ArrayConfig, **noc: Any) -> ChipConfig:
    """A 1x1 chip of ``tile`` whose DRAM gives the tile at least its own bandwidth (today's machine)."""
    base = {"dram_channels": 1, "dram_words_per_cycle": tile.dram_bw_words_per_cycle}
    return ChipConfig(
        name=f"{tile.name}-chip", rows=1, cols=1, tile=tile, tile_ref=tile.name, **{**base, **noc}
    )


#: Encodings of the chip RTL's tile and link sequencer states (``hdl/chip.py``), which the cosim harness
#: reads from the simulation (it imports no amaranth).
TILE_IDLE, TILE_RUN, TILE_BLOCKED = 0, 1, 2
LINK_IDLE, LINK_SERVE, LINK_HOLD = 0, 1, 2


@dataclass(frozen=True)
class ChipPipeline:
    """What a chip's RTL (:mod:`systolic.hdl.chip`) runs: a chain of GEMM layers cut into stages of one
    tile each, placed on the grid.

    Layer ``l`` is C[M,N] = A[M,K] @ B[K,N] with ``layers[l] = (M, N, K)``; the next layer's A is this
    layer's C (same M, its K = this N), cut to ``input_bits`` on the way (the low bits: a requantisation
    by a shift of 0). ``tile_sizes[l]`` are the memory planner's tile sizes of the layer on one tile
    (:func:`systolic.model.memory.plan_conv_layer`; the caller computes them, the RTL only stores them).
    ``stage_of[l]`` starts at 0 and steps by 0 or 1; stage ``s`` runs on tile ``order[s]``.
    """

    layers: tuple[tuple[int, int, int], ...]
    tile_sizes: tuple[tuple[int, int, int], ...]
    stage_of: tuple[int, ...]
    order: tuple[int, ...]

    def __post_init__(self) -> None:
        n = len(self.layers)
        if n == 0:
            raise ValueError("a pipeline needs at least one layer, not 0")
        if len(self.tile_sizes) != n or len(self.stage_of) != n:
            raise ValueError(
                f"tile_sizes and stage_of need one entry per layer ({n}), not "
                f"{len(self.tile_sizes)} and {len(self.stage_of)}"
            )
        for dims in (*self.layers, *self.tile_sizes):
            if len(dims) != 3 or any(not isinstance(x, int) or x < 1 for x in dims):
                raise ValueError(f"layer dimensions and tile sizes must be 3 positive integers, not {dims}")
        for i in range(1, n):
            (m0, n0, _), (m1, _, k1) = self.layers[i - 1], self.layers[i]
            if (m1, k1) != (m0, n0):
                raise ValueError(
                    f"layer {i} must take layer {i - 1}'s output: M = {m0} and K = {n0}, not {m1} and {k1}"
                )
        steps = [b - a for a, b in zip(self.stage_of, self.stage_of[1:], strict=False)]
        if self.stage_of[0] != 0 or any(s not in (0, 1) for s in steps):
            raise ValueError(f"stage_of must start at 0 and step by 0 or 1, not {list(self.stage_of)}")
        if len(self.order) != self.stages or len(set(self.order)) != len(self.order):
            raise ValueError(f"order must name {self.stages} distinct tiles, not {list(self.order)}")

    @property
    def stages(self) -> int:
        return self.stage_of[-1] + 1

    def stage_layers(self, s: int) -> list[int]:
        """The layers of stage ``s``, in order."""
        return [i for i, t in enumerate(self.stage_of) if t == s]

    def in_words(self, s: int) -> int:
        """Words of one item's input to stage ``s`` (its first layer's A)."""
        m, _, k = self.layers[self.stage_layers(s)[0]]
        return m * k

    def out_words(self, s: int) -> int:
        """Words of one item's output of stage ``s`` (its last layer's C)."""
        m, n, _ = self.layers[self.stage_layers(s)[-1]]
        return m * n
