"""The workload vocabulary: a layer is a GEMM C[M,N] = A[M,K] @ B[K,N] that remembers where it came from.

A convolution becomes its im2col GEMM: M = output pixels (x batch), K = filter_h * filter_w * channels per
group, N = filters per group; a grouped or depthwise convolution is ``groups`` independent GEMMs
(``repeat``). Attention's per-head products are batched GEMMs the same way. A grouped convolution may
instead be lowered in blocks of b groups (:meth:`Layer.conv_blocks`, chosen per array by
:mod:`systolic.model.grouped`): one GEMM per block, K = b x taps per group, N = b x filters per group, B
block-diagonal (zeros off the diagonal blocks), A the im2col matrix of the block's channel slice as a
tensor of its own (:meth:`ConvShape.block`): taps in the usual (r, s, c) order with c the slice's channel,
so that a block is a dense convolution of that slice (and reads it natively, ``conv_native``).

Readers here: SCALE-Sim topology CSVs (conv form, with one ``Strides`` column or separate stride height
and width; GEMM form ``Layer,M,N,K``; trailing commas and CRLF line ends) and systolic's GEMM CSV. Names
of layers in SCALE-Sim files that contain ``DP`` are depthwise, as in SCALE-Sim.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError
from .fileio import read_text
from .numbers import parse_int

_MAX_DIM = 1 << 40


@dataclass(frozen=True)
class ConvShape:
    """The convolution a GEMM layer came from (SCALE-Sim's fields plus padding, groups and batch).

    ``pad_h`` and ``pad_w`` pad both sides (PyTorch's arithmetic: ``(H + 2 pad - R) // stride + 1`` output
    rows); ``extra_h`` and ``extra_w`` add zero rows and columns past the bottom and right edges only,
    which SCALE-Sim's arithmetic implies (``ceil((H - R + stride) / stride)`` output rows: the last
    windows may hang over the edge, :func:`scalesim_extra`).
    """

    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    filters: int
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    groups: int = 1
    batch: int = 1
    extra_h: int = 0
    extra_w: int = 0

    def __post_init__(self) -> None:
        for name in (
            "ifmap_h",
            "ifmap_w",
            "filter_h",
            "filter_w",
            "channels",
            "filters",
            "stride_h",
            "stride_w",
            "groups",
            "batch",
        ):
            _check_dim(name, getattr(self, name))
        for name in ("pad_h", "pad_w", "extra_h", "extra_w"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(f"{name} must be a non-negative integer, not {value!r}", where=name)
        if self.channels % self.groups or self.filters % self.groups:
            raise InputError(
                f"groups ({self.groups}) must divide channels ({self.channels}) and filters ({self.filters})",
                where="groups",
            )
        if self.filter_h > self.padded_h:
            raise InputError(
                f"filter_h ({self.filter_h}) is larger than the padded ifmap height ({self.padded_h})",
                where="filter_h",
            )
        if self.filter_w > self.padded_w:
            raise InputError(
                f"filter_w ({self.filter_w}) is larger than the padded ifmap width ({self.padded_w})",
                where="filter_w",
            )

    def block(self, blocks: int) -> ConvShape:
        """The dense convolution a block of ``blocks`` groups is (:meth:`Layer.conv_blocks`): the block's
        channel slice (``blocks`` x channels per group) as a tensor of its own, its ``blocks`` x filters per
        group filters seeing every channel of the slice (the other groups' taps weighted by zeros)."""
        if not isinstance(blocks, int) or not 1 <= blocks <= self.groups:
            raise InputError(
                f"blocks must be an integer in 1..groups ({self.groups}), not {blocks!r}", where="blocks"
            )
        fields = {**self.__dict__, "channels": self.channels // self.groups * blocks}
        return ConvShape(**{**fields, "filters": self.filters // self.groups * blocks, "groups": 1})

    @property
    def padded_h(self) -> int:
        """Rows of the ifmap with its padding (both sides, and the extra rows at the bottom)."""
        return self.ifmap_h + 2 * self.pad_h + self.extra_h

    @property
    def padded_w(self) -> int:
        return self.ifmap_w + 2 * self.pad_w + self.extra_w

    @property
    def ofmap_h(self) -> int:
        return (self.padded_h - self.filter_h) // self.stride_h + 1

    @property
    def ofmap_w(self) -> int:
        return (self.padded_w - self.filter_w) // self.stride_w + 1


def scalesim_extra(size: int, filt: int, stride: int) -> int:
    """Zero rows (or columns) past the edge that give SCALE-Sim's output size ``ceil((size - filt +
    stride) / stride)`` (its ``topology_utils.py``) with the floor arithmetic of :class:`ConvShape`:
    ``(out - 1) * stride + filt - size``, less than ``stride`` (0 for a filter larger than ``size``,
    which :class:`ConvShape` refuses, as it refuses a stride below 1)."""
    if filt > size or stride < 1:
        return 0
    out = -(-(size - filt + stride) // stride)
    return (out - 1) * stride + filt - size


@dataclass(frozen=True)
class Layer:
    """One GEMM (or ``repeat`` identical independent GEMMs) of a network.

    Attributes
    ----------
    name : str
        Layer name as the source spelled it.
    m, n, k : int
        C[M,N] = A[M,K] @ B[K,N]. A is the ifmap (im2col rows), B the filter, C the ofmap.
    repeat : int
        Number of independent GEMMs of this shape (groups of a grouped conv, heads x batch of attention).
    kind : str
        ``gemm``, ``conv``, ``depthwise`` or ``attention``.
    conv : ConvShape or None
        The convolution this GEMM was lowered from, if any.
    blocks : int
        Groups of a grouped convolution in each GEMM (block-diagonal B of ``blocks`` diagonal blocks,
        :meth:`conv_blocks`); 1 for every other layer. Only a share ``1 / blocks`` of the MACs the array
        performs are useful (:attr:`macs`); the others multiply the zeros of B.
    """

    name: str
    m: int
    n: int
    k: int
    repeat: int = 1
    kind: str = "gemm"
    conv: ConvShape | None = field(default=None, compare=True)
    blocks: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError(f"layer name must be a non-empty string, not {self.name!r}", where="name")
        for name in ("m", "n", "k", "repeat", "blocks"):
            _check_dim(name, getattr(self, name))
        if self.k % self.blocks or self.n % self.blocks:
            raise InputError(
                f"blocks ({self.blocks}) must divide k ({self.k}) and n ({self.n})", where="blocks"
            )
        if self.kind not in ("gemm", "conv", "depthwise", "attention"):
            raise InputError(f"kind must be gemm, conv, depthwise or attention, not {self.kind!r}")

    @classmethod
    def from_conv(cls, name: str, shape: ConvShape) -> Layer:
        """The im2col GEMM of a convolution (one GEMM per group)."""
        m = shape.ofmap_h * shape.ofmap_w * shape.batch
        k = shape.filter_h * shape.filter_w * (shape.channels // shape.groups)
        n = shape.filters // shape.groups
        depthwise = shape.groups > 1 and shape.groups == shape.channels
        return cls(name, m, n, k, repeat=shape.groups, kind="depthwise" if depthwise else "conv", conv=shape)

    @classmethod
    def conv_blocks(cls, name: str, shape: ConvShape, blocks: int) -> tuple[Layer, ...]:
        """A grouped convolution in blocks of ``blocks`` groups, one block-diagonal GEMM per block:
        ``groups // blocks`` GEMMs of ``blocks`` groups, then, when ``blocks`` does not divide
        ``groups``, one GEMM of the remaining groups, a second entry named ``<name>.tail``. ``blocks = 1``
        is :meth:`from_conv`'s lowering."""
        one = cls.from_conv(name, shape)
        if not isinstance(blocks, int) or not 1 <= blocks <= shape.groups:
            raise InputError(
                f"blocks must be an integer in 1..groups ({shape.groups}), not {blocks!r}", where="blocks"
            )
        whole, rest = divmod(shape.groups, blocks)

        def entry(label: str, b: int, repeat: int) -> Layer:
            return cls(label, one.m, b * one.n, b * one.k, repeat=repeat, kind=one.kind, conv=shape, blocks=b)

        head = entry(name, blocks, whole)
        return (head, entry(f"{name}.tail", rest, 1)) if rest else (head,)

    @property
    def macs(self) -> int:
        """Useful MACs: those of the convolution or GEMM (a block-diagonal GEMM's zero blocks left out)."""
        return self.m * self.n * self.k * self.repeat // self.blocks

    @property
    def array_macs(self) -> int:
        """MACs the array performs, the zero blocks of a block-diagonal B included."""
        return self.m * self.n * self.k * self.repeat

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Workload:
    """A named, ordered list of layers."""

    name: str
    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        if not self.layers:
            raise InputError("a workload needs at least one layer", self.name)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)


def _check_dim(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be a positive integer, not {value!r}", where=name)
    if value < 1:
        raise InputError(f"{name} must be a positive integer, not {value}", where=name)
    if value > _MAX_DIM:
        raise InputError(f"{name} must be at most 2^40 ({_MAX_DIM:,}), not {value:,}", where=name)


# --------------------------------------------------------------------------- CSV readers

_CONV_COLUMNS = ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "filters")


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """Non-empty CSV rows with their 1-based line numbers; trailing empty cells dropped."""
    text = read_text(path, encoding="utf-8-sig")
    out = []
    reader = csv.reader(io.StringIO(text))
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            while cells and cells[-1] == "":
                cells.pop()
            if cells and not cells[0].startswith("#"):
                out.append((reader.line_num, cells))
    except csv.Error as err:
        raise InputError(f"malformed CSV: {err}", path, f"line {reader.line_num}") from None
    if not out:
        raise InputError("empty topology: no header and no layers", path)
    return out


def _ints(cells: list[str], path: Path, line: int, header: list[str]) -> list[int]:
    values = []
    for i, cell in enumerate(cells):
        try:
            values.append(parse_int(cell))
        except ValueError:
            col = header[i] if i < len(header) else f"column {i + 1}"
            raise InputError(f"{col} must be an integer, got '{cell}'", path, f"line {line}") from None
    return values


def _normalise(header_cell: str) -> str:
    return "".join(ch for ch in header_cell.lower() if ch.isalnum())


def read_topology(path: str | Path, name: str | None = None) -> Workload:
    """Read a SCALE-Sim topology CSV (conv or GEMM form, detected from the header) or a systolic GEMM CSV."""
    path = Path(path)
    rows = _rows(path)
    (_, header), body = rows[0], rows[1:]
    keys = [_normalise(h) for h in header]
    if len(keys) >= 4 and keys[1:4] == ["m", "n", "k"]:
        return _read_gemm(path, header, body, name)
    if len(keys) >= 8 and ("strides" in keys[7] or "stride" in keys[7]):
        return _read_conv(path, header, body, name)
    raise InputError(
        "unrecognised header: expected SCALE-Sim conv columns (Layer name, IFMAP Height, IFMAP Width, "
        "Filter Height, Filter Width, Channels, Num Filter, Strides[, Stride width]) or GEMM columns "
        f"(Layer, M, N, K), got '{','.join(header)}'",
        path,
        f"line {rows[0][0]}",
    )


Rows = list[tuple[int, list[str]]]


def _read_conv(path: Path, header: list[str], body: Rows, name: str | None) -> Workload:
    keys = [_normalise(h) for h in header]
    two_strides = len(keys) >= 9 and "stride" in keys[8]
    width = 9 if two_strides else 8
    extra = {_normalise(h): i for i, h in enumerate(header)}
    layers = []
    for line, cells in body:
        if len(cells) < width:
            raise InputError(f"expected {width} columns, got {len(cells)}", path, f"line {line}")
        _no_extra(cells, len(header), path, line)
        values = _ints(cells[1:width], path, line, header[1:width])
        fields_ = dict(zip(_CONV_COLUMNS, values[:6], strict=True))
        stride_h = values[6]
        stride_w = values[7] if two_strides else stride_h
        layer_name = cells[0]
        groups = 1
        opt = {}
        for key, field_name in (
            ("padheight", "pad_h"),
            ("padwidth", "pad_w"),
            ("groups", "groups"),
            ("batch", "batch"),
        ):
            if key in extra and extra[key] < len(cells):
                opt[field_name] = _ints([cells[extra[key]]], path, line, [header[extra[key]]])[0]
        if "DP" in layer_name:
            # SCALE-Sim's depthwise convention: one layer per input channel, each with 1 channel and the
            # given number of filters.
            groups = fields_["channels"]
            fields_["filters"] *= groups
        opt.setdefault("groups", groups)
        # SCALE-Sim's output size: windows may hang over the bottom and right edges (zeros there)
        padded_h = fields_["ifmap_h"] + 2 * opt.get("pad_h", 0)
        padded_w = fields_["ifmap_w"] + 2 * opt.get("pad_w", 0)
        opt["extra_h"] = scalesim_extra(padded_h, fields_["filter_h"], stride_h)
        opt["extra_w"] = scalesim_extra(padded_w, fields_["filter_w"], stride_w)
        try:
            shape = ConvShape(**fields_, stride_h=stride_h, stride_w=stride_w, **opt)
            layers.append(Layer.from_conv(layer_name, shape))
        except InputError as err:
            raise InputError(err.what, path, f"line {line}") from None
    return Workload(name or path.stem, tuple(layers)) if layers else _empty(path)


def _read_gemm(path: Path, header: list[str], body: Rows, name: str | None) -> Workload:
    layers = []
    has_repeat = len(header) >= 5 and _normalise(header[4]) in ("repeat", "batch", "count")
    for line, cells in body:
        if len(cells) < 4:
            raise InputError(f"expected 4 columns (Layer, M, N, K), got {len(cells)}", path, f"line {line}")
        _no_extra(cells, 5 if has_repeat else 4, path, line)
        m, n, k = _ints(cells[1:4], path, line, header[1:4])
        repeat = 1
        if len(cells) >= 5:
            repeat = _ints(cells[4:5], path, line, header[4:5])[0]
        try:
            layers.append(Layer(cells[0], m, n, k, repeat=repeat))
        except InputError as err:
            raise InputError(err.what, path, f"line {line}") from None
    return Workload(name or path.stem, tuple(layers)) if layers else _empty(path)


def _no_extra(cells: list[str], columns: int, path: Path, line: int) -> None:
    """Refuse values beyond the columns the header names (they would be dropped without a word)."""
    if len(cells) > columns:
        extra = ",".join(cells[columns:])
        raise InputError(
            f"{len(cells)} values for {columns} columns: '{extra}' is extra", path, f"line {line}"
        )


def _empty(path: Path) -> Workload:
    raise InputError("topology has a header but no layers", path)


def write_gemm_csv(workload: Workload) -> str:
    """A SCALE-Sim GEMM topology (``Layer,M,N,K,``) of the workload; repeated GEMMs are written out."""
    lines = ["Layer,M,N,K,"]
    for layer in workload:
        # SCALE-Sim splits rows on every comma and does not read quotes: keep names comma-free
        name = layer.name.replace(",", ";")
        for r in range(layer.repeat):
            suffix = f"_{r}" if layer.repeat > 1 else ""
            lines.append(f"{name}{suffix},{layer.m},{layer.n},{layer.k},")
    return "\n".join(lines) + "\n"
