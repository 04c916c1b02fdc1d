"""Storage geometry: how A, B and C are laid out in DRAM and the on-chip buffers, and their element formats.

Vocabulary shared by the RTL generator (``hdl/controller.py``, ``hdl/accel.py``), its testbenches
(``cosim/``) and the model of the memory system (:mod:`systolic.model.memory`, which defines the timing).
Pure: imports only the config and the dataflow table.

Buffers: ifmap holds A, filter holds B, ofmap holds C (SCALE-Sim's names). Every tensor is stored in DRAM
contiguous along the axis its lanes run on at the array port that carries it (:data:`PORT_MAP`): element
(i_other, i_lane) of X is at word ``offset_X + i_other * D_lane + i_lane``, a word address of
:data:`ADDR_BITS` bits. An SRAM holds ``bytes // word_bytes`` elements (the ofmap:
``bytes // ceil(acc_bits / 8)`` partial sums), half of them per half of the double buffer, as lines of P
elements (P = lanes of the port): a tile with extents (El along the lanes, Eo along the other axis) takes
``ceil(El / P) * Eo`` lines.

Convolution-native input (``conv_native``, :func:`native_conv`): A of a convolution is not its im2col
matrix but the ifmap tensor itself, NHWC: element (b, h, w, c) at word
``offset_A + ((b * H + h) * W + w) * C + c`` (the region rounded up to whole lines of P words). Its SRAM
half holds a *band*: the input rows ``lo .. lo + rows - 1`` of one image that a tile's output rows need
(their halo included, rows outside the tensor left out: padding is made on chip), each row the W * C
words from ``((b * H + h) * W) * C`` fetched as a run of its own and written from SRAM word ``(h - lo) *
L`` of the half (:func:`band_row_pitch`: L = W * C when C is a multiple of P, else a little more, the gap
words never written or read), so that a k-line's P taps fall on P distinct lanes across filter rows. An
im2col row m = (b, oh, ow) and tap k = (r, s, c) read the pixel
(oh * stride_h - pad_h + r, ow * stride_w - pad_w + s), or zero outside the tensor; the taps s * C + c of
one filter row r are the consecutive words from ``((b * H + h) * W + ow * stride_w - pad_w) * C``.

On OS and IS (A's lanes along M, the output pixels) the ifmap is NCHW instead, each channel plane split
into the stride's sh * sw *phase planes* (space-to-depth; :func:`phase_layout`): phase (py, px) of channel c
holds the pixels (y' sh + py, x' sw + px) as a plane of H' x W' words (H' = ceil(H / sh), W' = ceil(W /
sw); the words past the tensor in a smaller phase are stored, never read as data), element (b, h, w, c) at
word ``offset_A + (((b * C + c) * sh + h % sh) * sw + w % sw) * H' W' + (h // sh) * W' + w // sw``
(:func:`pixel_address`; at stride 1 the NCHW tensor itself). A band (plane rows ``lo .. lo + rows - 1`` of
image b) is ``runs`` runs of ``rows * W'`` words, one per channel and phase some tap reads (every phase,
or the one phase of a 1x1-like filter), run i from word ``word0 + i * pitch``; in the SRAM half plane row
y of a run is at the run's words ``y * L ..`` (:func:`pixel_row_pitch`: L = W' when OW = W', else a pitch
that puts P consecutive output pixels on P distinct lanes), run word w of run i in line ``(w // P) * runs
+ i``, lane ``w % P`` (when L = W' the fill walk of an im2col tile of ``rows * W'`` x runs words with a
DRAM pitch of ``pitch``; else each plane row a DRAM run of W' words of its own). Only convolutions for
which :func:`pixel_runs` holds read so.

A grouped or depthwise convolution in blocks of b groups of Cg channels (``group_blocks``) is stored
channel-blocked, as oneDNN's blocked layouts (``nChw16c``) are: block i's channel slice
``[i * b * Cg, (i + 1) * b * Cg)`` is an NHWC tensor of its own of C' = b * Cg channels (the blocks one
after another, each from a whole line), so a block is a dense convolution of C' channels read as above
(its B block-diagonal in the same (r, s, c') order, :meth:`~systolic.workload.ConvShape.block`); the
tensor each GEMM of the layer sees starts at ``offset_A``. The layer that produced the tensor is assumed
to write it in that layout (each layer's tensors are laid out for its own ports: systolic does not model
the producer's side). On OS and IS (NCHW) no other layout is needed for one image: a block's channel
slice is C' consecutive planes of the tensor, an NCHW tensor of C' channels from word ``i * C' * H * W``
(block i), read as above from the GEMM's A base (the model and the cosim harness put each GEMM's tensor
at ``offset_A``, as on WS; the RTL's tensor bases are generation constants: a per-GEMM base is not
built). With a batch of several images a slice is not contiguous: the blocks are then stored one after
another, each an NCHW tensor of its own (images outermost within the block), as on WS.

Elements: A has the input format, B the weight format, C (partial sums, accumulators) ``acc_bits``, two's
complement when either operand is signed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .config import ArrayConfig, Dataflow
from .dataflow import PORT_MAP, port_lanes, tensor_port

TENSORS: tuple[str, ...] = ("A", "B", "C")
#: The config field that sizes each tensor's buffer, and SCALE-Sim's name for the buffer.
SRAM_FIELD = {"A": "ifmap_sram_bytes", "B": "filter_sram_bytes", "C": "ofmap_sram_bytes"}
BUFFER = {"A": "ifmap", "B": "filter", "C": "ofmap"}
#: The config field that holds each tensor's base word address in DRAM.
OFFSET_FIELD = {"A": "ifmap_offset", "B": "filter_offset", "C": "ofmap_offset"}
#: DRAM word addresses are this wide in the RTL.
ADDR_BITS = 48


@dataclass(frozen=True)
class Geometry:
    """How one tensor is stored: its port, lanes per SRAM line, axes, and buffer size."""

    tensor: str
    port: str
    lanes: int  # P: elements per SRAM line
    lane_dim: str  # GEMM dimension along the lanes (contiguous in DRAM)
    other_dim: str
    offset: int  # base word address in DRAM
    element_bytes: int
    capacity: int  # elements in the whole buffer (both halves)
    half_lines: int  # lines per half


def geometry(cfg: ArrayConfig) -> dict[str, Geometry]:
    """Storage geometry of A, B and C for ``cfg``."""
    out = {}
    for x in TENSORS:
        port = tensor_port(cfg.dataflow, x)
        pm = PORT_MAP[cfg.dataflow][port]
        lanes = port_lanes(cfg.rows, cfg.cols, port)
        elem = math.ceil(cfg.acc_bits / 8) if x == "C" else cfg.word_bytes
        cap = getattr(cfg, SRAM_FIELD[x]) // elem
        out[x] = Geometry(
            tensor=x,
            port=port,
            lanes=lanes,
            lane_dim=pm.lane_dim,
            other_dim=pm.dims[1 - pm.lane_axis],
            offset=getattr(cfg, OFFSET_FIELD[x]),
            element_bytes=elem,
            capacity=cap,
            half_lines=(cap // 2) // lanes,
        )
    return out


#: conv_native's convolution registers, given to the accelerator with ``start`` like the tile sizes
#: (``conv_c``: channels C); ``hdl/window.py`` makes them ports, the cosim harness drives them.
CONV_PORTS: tuple[str, ...] = (
    "conv_h",
    "conv_w",
    "conv_c",
    "conv_r",
    "conv_s",
    "conv_stride_h",
    "conv_stride_w",
    "conv_pad_h",
    "conv_pad_w",
    "conv_oh",
    "conv_ow",
)


def native_conv(cfg: ArrayConfig, conv, blocks: int = 1):
    """The convolution a layer lowered from ``conv`` (a :class:`~systolic.workload.ConvShape` or None) in
    blocks of ``blocks`` groups may read natively on ``cfg`` (``cfg.convs_native``), or None (the layer
    reads its im2col matrix): ``conv`` itself for one group, else the dense convolution of one block's
    channel slice (:meth:`~systolic.workload.ConvShape.block`; one group per GEMM: ``blocks = 1``). OS and
    IS: only when :func:`pixel_runs` holds (for the block too: it has the layer's strides and filter)."""
    if not cfg.convs_native or conv is None:
        return None
    if cfg.dataflow != Dataflow.WS and not pixel_runs(conv):  # OS, IS: A's lanes along the output pixels
        return None
    return conv if conv.groups == 1 else conv.block(int(blocks))


def band_row_pitch(ifmap_w: int, channels: int, filter_w: int, lanes: int) -> int:
    """WS bands (k-lines across filter rows): the ifmap SRAM's row pitch L in words, input row y of a band at
    SRAM words ``y * L .. y * L + W * C - 1`` (the gap words never written or read).

    The taps k = (r S + s) C + c of one output pixel are at SRAM word ``base + k + r * (L - S * C)``; with
    ``L - S * C`` a multiple of P = ``lanes`` a k-line's P consecutive taps fall on P distinct lanes (lane
    ``(base + k) mod P``) however many filter rows it spans, each lane's line ``(base + k) // P`` plus
    ``(L - S * C) / P`` per filter row past the vector's first. L is the smallest such pitch of at least
    W * C words: W * C itself when C (or (W - S) * C) is a multiple of P, so those bands do not move."""
    row = ifmap_w * channels
    return row + (filter_w * channels - row) % lanes


def pixel_runs(conv) -> bool:
    """OS and IS read a convolution natively when its band reads either every phase of a channel (R >= sh and
    S >= sw) or one (a filter of one row where sh > 1, one column where sw > 1), so that its runs are evenly
    spaced in DRAM; other phase subsets (1x3 at stride 2) would make runs with two pitches and keep their
    im2col matrix. Any output width: the band's plane rows sit at the row pitch :func:`pixel_row_pitch` in
    the ifmap SRAM."""
    lay = phase_layout(conv)
    every = conv.filter_h >= conv.stride_h and conv.filter_w >= conv.stride_w
    return every or lay.read == 1


def pixel_row_pitch(conv, lanes: int) -> int:
    """OS and IS bands: the ifmap SRAM's row pitch L in words of a run (plane row y of a band at words ``y *
    L .. y * L + W' - 1`` of its run, the gap words never written, read only by masked lanes).

    Output pixel p = oh OW + ow at a tap of plane offset (dy, dx) is at run word ``(oh - oh0 + dy - lo) L + ow
    + dx = p + const + (oh - oh0) (L - OW)``; with ``L - OW`` a multiple of P = ``lanes`` a vector's P
    consecutive pixels fall on P distinct lanes (lane ``(word0 + i) mod P``) however many output rows it
    spans, lane i's line the first word's line (or the next) plus ``k_i (L - OW) / P``, k_i the output rows
    past the vector's first. L is the smallest such pitch of at least W' words: ``W' + ((OW - W') mod P)``,
    W' itself when OW = W' ('same' widths, whose bands do not move)."""
    plane_w = -(-conv.ifmap_w // conv.stride_w)
    return plane_w + (conv.ofmap_w - plane_w) % lanes


@dataclass(frozen=True)
class PhaseLayout:
    """How an OS or IS native layer's ifmap is split into phase planes (:func:`phase_layout`)."""

    plane_h: int  # H' = ceil(H / sh): rows of a phase plane
    plane_w: int  # W' = ceil(W / sw): words of a plane row
    phases: int  # sh * sw: phase planes per channel in DRAM
    read: int  # phase planes per channel a band reads: ``phases``, or 1
    first: int  # the phase plane a one-phase band reads (py sw + px), else 0
    pitch: int  # words between a band's consecutive runs in DRAM
    row_lo: int  # dy of the first filter row (floor(-pad_h / sh)): plane rows from output row oh + row_lo
    row_hi: int  # dy of the last filter row (floor((R - 1 - pad_h) / sh))

    @property
    def plane_words(self) -> int:
        return self.plane_h * self.plane_w


def phase_layout(conv) -> PhaseLayout:
    """The phase planes of ``conv``'s ifmap on OS and IS (:func:`pixel_runs`; stride 1: one plane, the NCHW
    channel plane). Tap (r, s) reads phase (py, px) = ((r - pad_h) mod sh, (s - pad_w) mod sw) at plane
    offset (dy, dx) = (floor((r - pad_h) / sh), floor((s - pad_w) / sw)): output pixel (oh, ow) reads plane
    word (oh + dy) W' + ow + dx."""
    sh, sw = conv.stride_h, conv.stride_w
    plane_h, plane_w = -(-conv.ifmap_h // sh), -(-conv.ifmap_w // sw)
    one = min(conv.filter_h, sh) == 1 and min(conv.filter_w, sw) == 1
    first = (-conv.pad_h % sh) * sw + (-conv.pad_w % sw) if one else 0
    words = plane_h * plane_w
    return PhaseLayout(
        plane_h=plane_h,
        plane_w=plane_w,
        phases=sh * sw,
        read=1 if one else sh * sw,
        first=first,
        pitch=words * (sh * sw if one else 1),
        row_lo=-conv.pad_h // sh,
        row_hi=(conv.filter_h - 1 - conv.pad_h) // sh,
    )


def pixel_address(conv, b, c, h, w):
    """Word of element (b, h, w, c) of an OS or IS native layer's ifmap from A's offset (vectorised; any
    (h, w) inside the tensor)."""
    sh, sw = conv.stride_h, conv.stride_w
    lay = phase_layout(conv)
    phase = ((b * conv.channels + c) * sh + h % sh) * sw + w % sw
    return phase * lay.plane_words + (h // sh) * lay.plane_w + w // sw


def pixel_words(conv) -> int:
    """Words of an OS or IS native layer's ifmap in DRAM: the phase planes, padding words included."""
    lay = phase_layout(conv)
    return conv.batch * conv.channels * lay.phases * lay.plane_words


def acc_signed(cfg: ArrayConfig) -> bool:
    """Accumulators and partial sums are two's complement when either operand is signed."""
    return cfg.input_signed or cfg.weight_signed


def operand_format(cfg: ArrayConfig, tensor: str) -> tuple[int, bool]:
    """(bits, signed) of one element of ``tensor``: A is the input, B the weight, C the accumulator."""
    if tensor == "A":
        return cfg.input_bits, cfg.input_signed
    if tensor == "B":
        return cfg.weight_bits, cfg.weight_signed
    if tensor == "C":
        return cfg.acc_bits, acc_signed(cfg)
    raise ValueError(f"tensor must be A, B or C, not {tensor!r}")


def operand_bounds(cfg: ArrayConfig, tensor: str) -> tuple[int, int]:
    """Smallest and largest value (inclusive) of one element of ``tensor``: its format's range, except
    ternary weights (``weight_format = "ternary"``), which hold -1..1 of their signed 2-bit format (the
    code 10, -2, is not a ternary weight: the PE would take it for -1)."""
    if tensor == "B" and cfg.weight_format == "ternary":
        return -1, 1
    bits, signed = operand_format(cfg, tensor)
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def port_format(cfg: ArrayConfig, port: str) -> tuple[int, bool]:
    """(bits, signed) of one lane of ``port`` for ``cfg``'s dataflow."""
    return operand_format(cfg, PORT_MAP[cfg.dataflow][port].tensor)
