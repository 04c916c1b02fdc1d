"""Data activity: operand statistics, the toggle features of whole layers, and the calibrated coefficients
that turn them into toggles per component class (:class:`Calibration`, fitted by ``systolic calibrate``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.geometry import BUFFER, geometry

from .tables import ACTIONS, COMPONENT_CLASSES, _frozen

# --------------------------------------------------------------------------- activity from operand data


@dataclass(frozen=True)
class OperandStats:
    """Statistics of an operand stream that drive its switching activity.

    Attributes
    ----------
    bit_switch_prob : float
        Fraction of the ``bits`` lane bits that differ between consecutive values of the stream (the
        Hamming distance of neighbours over ``bits``), averaged over all lanes and steps.
    zero_frac : float
        Fraction of values that are exactly zero.
    effective_bits : float
        Mean width needed to hold a non-zero value (two's complement with sign bit when signed);
        ``bits`` for full-range data, less for narrow values, 0 when every value is zero.
    bits : int
        The lane width the statistics were taken at.
    transitions : int
        How many consecutive pairs ``bit_switch_prob`` averages over.
    nonzero_switch_prob : float
        As ``bit_switch_prob`` between consecutive *non-zero* values of each lane (zeros skipped): how
        a zero-gated input, which holds its last non-zero value, switches. 0 with fewer than two.
    """

    bit_switch_prob: float
    zero_frac: float
    effective_bits: float
    bits: int
    transitions: int
    nonzero_switch_prob: float = 0.0

    @property
    def effective_frac(self) -> float:
        """``effective_bits / bits``: how much of the lane the data uses."""
        return self.effective_bits / self.bits


def _bit_patterns(values: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Values as unsigned ``bits``-wide lane patterns (two's complement when signed)."""
    v = np.asarray(values)
    if not np.issubdtype(v.dtype, np.integer):
        raise InputError(f"operand values must be integers, not {v.dtype}")
    if not 1 <= bits <= 63:
        raise InputError(f"bits must be in 1..63, not {bits}")
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if v.size and (v.min() < lo or v.max() > hi):
        kind = "signed" if signed else "unsigned"
        raise InputError(f"operand values must fit {bits}-bit {kind} ({lo}..{hi}), got {v.min()}..{v.max()}")
    return v.astype(np.int64).astype(np.uint64) & np.uint64((1 << bits) - 1)


def operand_stats(values: np.ndarray, bits: int, signed: bool, axis: int = 0) -> OperandStats:
    """Switching statistics of an operand tensor streamed along ``axis``.

    Parameters
    ----------
    values : np.ndarray of int
        The operands; ``axis`` is time (consecutive values through one multiplier input or register),
        every other axis an independent lane.
    bits : int
        Lane width; values must fit it (two's complement when ``signed``).
    signed : bool
        Whether lanes hold two's-complement values.
    axis : int
        The streaming axis.

    Returns
    -------
    OperandStats
        Consecutive values are XORed along ``axis`` and the differing bits counted with
        ``np.bitwise_count`` (vectorised popcount).
    """
    v = np.atleast_1d(np.asarray(values))
    u = np.moveaxis(_bit_patterns(v, bits, signed), axis, 0)  # [time, lanes...]
    transitions = (u.shape[0] - 1) * (u.size // max(u.shape[0], 1))
    if transitions:
        flips = int(np.bitwise_count(u[1:] ^ u[:-1]).sum(dtype=np.int64))
        switch = flips / (bits * transitions)
    else:
        switch = 0.0
    zero_frac = float(np.mean(v == 0)) if v.size else 0.0
    lanes = u.reshape(u.shape[0], -1).T  # [lane, time]
    nz = lanes[lanes != 0]  # row-major: each lane's non-zero values in time order
    lane_of = np.nonzero(lanes != 0)[0]
    same = lane_of[1:] == lane_of[:-1]  # consecutive non-zero values of one lane
    nz_pairs = int(np.count_nonzero(same))
    nz_switch = (
        int(np.bitwise_count(nz[1:][same] ^ nz[:-1][same]).sum(dtype=np.int64)) / (bits * nz_pairs)
        if nz_pairs
        else 0.0
    )
    nonzero = v[v != 0].astype(np.int64)
    if nonzero.size:
        magnitude = np.where(nonzero < 0, -nonzero - 1, nonzero) if signed else nonzero
        # frexp's exponent of a positive integer is its bit length (exact below 2**53); 0 has length 0
        length = np.frexp(magnitude.astype(float))[1]
        effective = float(np.mean(length + (1 if signed else 0)))
    else:
        effective = 0.0
    return OperandStats(switch, zero_frac, effective, bits, transitions, nz_switch)


# --------------------------------------------------------------------------- toggles of whole layers
#
# The calibrated model: the bit toggles of each component class in a layer are a non-negative
# combination of a few physically motivated regressors (:data:`TOGGLE_FEATURES`), each an action count of
# the RTL (operand hops through the PE registers, MACs, SRAM and DRAM words, cycles) times the bits that
# action can switch times a switching statistic of the data. The coefficients are fitted per dataflow
# (the three PE arrays move data differently) against the toggles of the RTL's own VCDs
# (``systolic calibrate``) and stored in a calibration file (:func:`load_calibration`).

#: Statistics of an operand stream as columns of a ``[..., stat]`` array (see :class:`OperandStats`).
STAT_COLUMNS: tuple[str, ...] = ("switch", "zero_frac", "effective_frac", "nonzero_switch")

#: Regressor names per class, in column order of :attr:`ToggleCoeffs.coeffs` (missing columns are 0).
#: W is the operand streamed from the west (A, or B in IS), N the other one (streamed from the north in
#: OS, held in the PEs in WS and IS); s its switching probability, s' that between its consecutive
#: non-zero values, b its bits, p the chance that a MAC has two non-zero operands, g zero gating (0/1),
#: bP = e_W b_W + e_N b_N the effective bits of a product.
TOGGLE_FEATURES: dict[str, tuple[str, ...]] = {
    "mult": (
        "(1-g) west_hops b_W s_W",  # the multiplier's west operand, ungated
        "(1-g) north_hops b_N s_N",  # its other operand (OS: streamed; WS/IS: the held weight)
        "g macs p b_W s'_W",  # gated: operands and hold registers change on non-zero pairs only
        "g north_hops b_N s'_N (1-z_N)",
        "g macs p (1-p)",  # the one-bit non-zero flag
    ),
    "acc": (
        "macs bP s_W",  # the product
        "macs bP s_N [OS]",
        "macs acc_bits p",  # the accumulator's upper bits (sign changes of partial sums)
        "macs bP p",  # its lower bits
        "drain acc_bits [OS]",  # OS: accumulators shifted out after each fold
    ),
    "fwd": (
        "west_hops b_W s_W",  # a_out registers
        "north_hops b_N s_N",  # b_out (OS) or weight registers (WS/IS)
        "west_skew b_W s_W",  # skew lane registers of the west operand
        "south_or_north_skew",  # OS: north skew (b_N s_N); WS/IS: output de-skew (acc_bits p)
        "cycles",
    ),
    **{
        f"{buf}_sram": (
            "read_slots b s",  # data read, stale lanes included (ofmap: partial sums, acc_bits p)
            "write_slots b s",
            "read_slots",  # addresses and enables
            "write_slots",
            "cycles",
        )
        for buf in ("ifmap", "filter", "ofmap")
    },
    "ctrl": ("cycles", "compute_cycles", "folds", "tiles", "dram_reads", "dram_writes", "sram_slots"),
    "dram": (
        "reads_A b_A s_A",
        "reads_B b_B s_B",
        "writes acc_bits p",
        "reads",  # request addresses and lengths
        "writes",
    ),
}
N_TOGGLE_FEATURES = max(len(v) for v in TOGGLE_FEATURES.values())
DATAFLOWS: tuple[str, ...] = ("os", "ws", "is")


def default_stats(bits: int, signed: bool, zero_frac: float | np.ndarray = 0.0) -> np.ndarray:
    """Statistics ``[..., stat]`` of independent operands drawn uniformly from the non-zero values of a
    format, a share ``zero_frac`` of them then set to zero: the assumption for a network without data.

    Exact for that distribution: with q_i the share of non-zero values with bit i set, two non-zero
    neighbours differ in bit i with probability 2 q_i (1 - q_i), a non-zero value and a zero with
    probability q_i, two zeros never; the effective width is the mean bit length of the non-zero values
    (plus a sign bit when signed).
    """
    z = np.asarray(zero_frac, dtype=float)
    if np.any((z < 0) | (z > 1)):
        raise InputError(f"zero fraction must be in 0..1, not {z.tolist()}")
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    v = np.arange(lo, hi + 1, dtype=np.int64)
    v = v[v != 0]
    q = ((v[:, None] >> np.arange(bits)) & 1).mean(axis=0)  # [bit] share of values with the bit set
    nonzero_switch = float(np.sum(2 * q * (1 - q))) / bits
    one_zero = float(np.sum(q)) / bits
    magnitude = np.where(v < 0, -v - 1, v) if signed else v
    length = np.frexp(magnitude.astype(float))[1] + (1 if signed else 0)
    eff = float(np.mean(length)) / bits
    switch = (1 - z) ** 2 * nonzero_switch + 2 * z * (1 - z) * one_zero
    ones = np.ones_like(z)
    return np.stack([switch, z, eff * ones, nonzero_switch * ones], axis=-1)


def stats_array(stats: OperandStats) -> np.ndarray:
    """One :class:`OperandStats` as a ``[stat]`` row (:data:`STAT_COLUMNS`)."""
    return np.array([stats.bit_switch_prob, stats.zero_frac, stats.effective_frac, stats.nonzero_switch_prob])


def stream_axes(dataflow: str) -> tuple[int, int]:
    """The axis of A[M,K] and of B[K,N] along which each streams through the PEs in ``dataflow``.

    OS streams both along K; WS streams A along M and shifts B's columns in along K; IS streams B along N
    and shifts A's rows in along K.
    """
    return {"os": (1, 0), "ws": (0, 0), "is": (1, 1)}[str(dataflow)]


def layer_stats(cfg: ArrayConfig, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Statistics ``[stat]`` of a layer's A and B, each along the axis it streams in ``cfg``'s dataflow."""
    ax_a, ax_b = stream_axes(cfg.dataflow.value)
    return (
        stats_array(operand_stats(a, cfg.input_bits, cfg.input_signed, axis=ax_a)),
        stats_array(operand_stats(b, cfg.weight_bits, cfg.weight_signed, axis=ax_b)),
    )


@dataclass(frozen=True)
class LayerActivityCounts:
    """What the RTL does in each layer, as counts the toggle regressors multiply (all ``[layer]``).

    Attributes
    ----------
    macs : multiply-accumulates
    west_hops : PE-cycles in which the west operand moves one PE (every column of a fold's rows)
    north_hops : OS: PE-cycles in which the north operand moves one PE; WS/IS: weight-register writes
    west_skew, other_skew : lane-register writes of the west skew and of the north skew (OS) or the
        output de-skew (WS/IS)
    drain : OS: accumulator shifts draining the folds (0 for WS/IS)
    cycles, compute_cycles, tiles, folds : layer cycles with stalls, the array's cycles, tiles, folds
    sram_reads, sram_writes : ``[buffer, layer]`` words, buffers ifmap, filter, ofmap
    sram_read_slots, sram_write_slots : ``[buffer, layer]`` lane slots of the SRAM lines those words are
        read from or written to (a line holds one array-port vector; a tile whose lane extent is not a
        multiple of the lanes leaves the rest of its last line stale, and the stale lanes ride along on
        the SRAM's data ports)
    dram_reads : ``[tensor, layer]`` words of A and B; dram_writes: ``[layer]`` words of C
    """

    macs: np.ndarray
    west_hops: np.ndarray
    north_hops: np.ndarray
    west_skew: np.ndarray
    other_skew: np.ndarray
    drain: np.ndarray
    cycles: np.ndarray
    compute_cycles: np.ndarray
    tiles: np.ndarray
    folds: np.ndarray
    sram_reads: np.ndarray
    sram_writes: np.ndarray
    sram_read_slots: np.ndarray
    sram_write_slots: np.ndarray
    dram_reads: np.ndarray
    dram_writes: np.ndarray


def _rows(per_buffer: Mapping[str, np.ndarray], keys: tuple[str, ...]) -> np.ndarray:
    return np.stack([np.asarray(per_buffer[k], dtype=float) for k in keys])  # [buffer, layer]


def activity_counts(cfg: ArrayConfig, gemm, memory=None) -> LayerActivityCounts:
    """Per-layer counts of ``gemm`` (a :class:`~systolic.model.cycles.GemmArrays`) on ``cfg``'s accelerator.

    Folds are those of each tile the memory system runs (``memory``, a
    :class:`~systolic.model.memory.MemoryResult`; computed when not given), summed per layer and
    multiplied by the layer's ``repeat``; SRAM, DRAM and cycle counts are the memory model's.
    """
    from ..cycles import GemmArrays, compute_cycles
    from ..memory import access_counts, memory_cycles

    if memory is None:
        memory = memory_cycles(cfg, gemm)
    tiles = memory.schedule.tiles
    per_tile = compute_cycles(cfg, GemmArrays.of(tiles.mt, tiles.nt, tiles.kt))
    plan = per_tile.plan  # [tile]
    r, c = cfg.rows, cfg.cols
    output_stationary = cfg.dataflow.value == "os"
    folds = plan.folds
    west = plan.col_folds * plan.spatial_rows * plan.temporal * c
    if output_stationary:
        north = plan.row_folds * plan.spatial_cols * plan.temporal * r
    else:
        north = plan.spatial_rows * plan.spatial_cols * r
    per_tile_counts = np.stack(
        [
            tiles.mt * tiles.nt * tiles.kt,
            west,
            north,
            folds * plan.temporal * (r * (r - 1) // 2),
            folds * plan.temporal * (c * (c - 1) // 2),
            folds * (r * r * c) * output_stationary,
            np.ones_like(folds),
            folds,
        ]
    ).astype(float)  # [count, tile]
    layers = gemm.m.size
    summed = (
        np.stack([np.bincount(tiles.layer, weights=row, minlength=layers) for row in per_tile_counts])
        * gemm.repeat
    )  # [count, layer]
    buffers = ("ifmap", "filter", "ofmap")
    per_tile_words = access_counts(cfg, tiles)
    slots = {"sram_reads": [], "sram_writes": []}
    for x, g in geometry(cfg).items():
        lane_ext = tiles.ext(g.lane_dim)
        fill = -(-lane_ext // g.lanes) * g.lanes / lane_ext  # [tile] lane slots per word
        for kind, rows in slots.items():
            words = per_tile_words[kind][BUFFER[x]] * fill
            rows.append(np.bincount(tiles.layer, weights=words, minlength=layers) * gemm.repeat)
    return LayerActivityCounts(
        macs=summed[0],
        west_hops=summed[1],
        north_hops=summed[2],
        west_skew=summed[3],
        other_skew=summed[4],
        drain=summed[5],
        cycles=np.asarray(memory.cycles, dtype=float),
        compute_cycles=np.asarray(memory.compute_cycles, dtype=float),
        tiles=summed[6],
        folds=summed[7],
        sram_reads=_rows(memory.sram_reads, buffers),
        sram_writes=_rows(memory.sram_writes, buffers),
        sram_read_slots=np.stack(slots["sram_reads"]),
        sram_write_slots=np.stack(slots["sram_writes"]),
        dram_reads=_rows(memory.dram_reads, ("ifmap", "filter")),
        dram_writes=np.asarray(memory.dram_writes["ofmap"], dtype=float),
    )


def toggle_features(
    cfg: ArrayConfig, counts: LayerActivityCounts, stats_a: np.ndarray, stats_b: np.ndarray
) -> np.ndarray:
    """The regressors of :data:`TOGGLE_FEATURES`, ``[layer, class, feature]`` (bit toggles per coefficient).

    ``stats_a``, ``stats_b``: ``[layer, stat]`` or ``[stat]`` (:data:`STAT_COLUMNS`) of A and B, taken
    along the axis each streams (:func:`layer_stats`), or :func:`default_stats` without data.
    """
    sa = np.broadcast_to(np.asarray(stats_a, dtype=float), (counts.macs.size, len(STAT_COLUMNS)))
    sb = np.broadcast_to(np.asarray(stats_b, dtype=float), (counts.macs.size, len(STAT_COLUMNS)))
    df = cfg.dataflow.value
    os_ = 1.0 if df == "os" else 0.0
    g = 1.0 if cfg.zero_gating else 0.0
    bits_a, bits_b = float(cfg.input_bits), float(cfg.weight_bits)
    # west and the other operand: IS streams B from the west and holds A
    (w, bw), (n, bn) = ((sb, bits_b), (sa, bits_a)) if df == "is" else ((sa, bits_a), (sb, bits_b))
    s_w, z_w, e_w, nz_w = w.T
    s_n, z_n, e_n, nz_n = n.T
    p = (1 - z_w) * (1 - z_n)
    bp = e_w * bw + e_n * bn
    acc = float(cfg.acc_bits)
    k = counts
    other_skew = np.where(os_, k.other_skew * bn * s_n, k.other_skew * acc * p)
    data_bits = {"A": (bits_a, sa[:, 0]), "B": (bits_b, sb[:, 0])}
    per_class: dict[str, list[np.ndarray]] = {
        "mult": [
            (1 - g) * k.west_hops * bw * s_w,
            (1 - g) * k.north_hops * bn * s_n,
            g * k.macs * p * bw * nz_w,
            g * k.north_hops * bn * nz_n * (1 - z_n),
            g * k.macs * p * (1 - p),
        ],
        "acc": [k.macs * bp * s_w, os_ * k.macs * bp * s_n, k.macs * acc * p, k.macs * bp * p, k.drain * acc],
        "fwd": [
            k.west_hops * bw * s_w,
            k.north_hops * bn * s_n,
            k.west_skew * bw * s_w,
            other_skew,
            k.cycles,
        ],
        "ctrl": [
            k.cycles,
            k.compute_cycles,
            k.folds,
            k.tiles,
            k.dram_reads.sum(axis=0),
            k.dram_writes,
            k.sram_read_slots.sum(axis=0) + k.sram_write_slots.sum(axis=0),
        ],
        "dram": [
            k.dram_reads[0] * bits_a * sa[:, 0],
            k.dram_reads[1] * bits_b * sb[:, 0],
            k.dram_writes * acc * p,
            k.dram_reads.sum(axis=0),
            k.dram_writes,
        ],
    }
    for i, (buf, x) in enumerate((("ifmap", "A"), ("filter", "B"))):
        bits, s = data_bits[x]
        per_class[f"{buf}_sram"] = [
            k.sram_read_slots[i] * bits * s,
            k.sram_write_slots[i] * bits * s,
            k.sram_read_slots[i],
            k.sram_write_slots[i],
            k.cycles,
        ]
    per_class["ofmap_sram"] = [
        k.sram_read_slots[2] * acc * p,
        k.sram_write_slots[2] * acc * p,
        k.sram_read_slots[2],
        k.sram_write_slots[2],
        k.cycles,
    ]
    out = np.zeros((k.macs.size, len(COMPONENT_CLASSES), N_TOGGLE_FEATURES))  # [layer, class, feature]
    for ci, name in enumerate(COMPONENT_CLASSES):
        cols = per_class[name]
        out[:, ci, : len(cols)] = np.stack([np.broadcast_to(c, k.macs.shape) for c in cols], axis=-1)
    return out


@dataclass(frozen=True)
class Calibration:
    """Fitted toggle coefficients, ``coeffs[dataflow, class, feature]`` (:data:`DATAFLOWS`,
    :data:`COMPONENT_CLASSES`, :data:`TOGGLE_FEATURES`), non-negative. ``info`` says where they came from
    (calibration set, held-out errors); it does not enter any computation."""

    coeffs: np.ndarray
    info: Mapping = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = _frozen(np.asarray(self.coeffs, dtype=float))
        shape = (len(DATAFLOWS), len(COMPONENT_CLASSES), N_TOGGLE_FEATURES)
        if c.shape != shape:
            raise InputError(f"toggle coefficients must have shape {shape}, not {c.shape}")
        if not np.all(np.isfinite(c)) or np.any(c < 0):
            raise InputError("toggle coefficients must be finite and non-negative")
        object.__setattr__(self, "coeffs", c)

    def to_dict(self) -> dict:
        """Plain JSON-able form (coefficients rounded to 6 significant digits, so the bytes are stable)."""
        return {
            "format": "systolic-calibration",
            "version": 1,
            "features": {cls: list(TOGGLE_FEATURES[cls]) for cls in COMPONENT_CLASSES},
            "coefficients": {
                df: {
                    cls: [float(f"{v:.6g}") for v in self.coeffs[i, j, : len(TOGGLE_FEATURES[cls])]]
                    for j, cls in enumerate(COMPONENT_CLASSES)
                }
                for i, df in enumerate(DATAFLOWS)
            },
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: object, source: str | None = None) -> Calibration:
        """Read :meth:`to_dict`'s form; a wrong field is an :class:`InputError` naming it."""
        if not isinstance(data, dict) or data.get("format") != "systolic-calibration":
            raise InputError("not a systolic calibration file (no 'format': 'systolic-calibration')", source)
        if data.get("version") != 1:
            raise InputError(f"unsupported version {data.get('version')!r} (known: 1)", source, "version")
        expected = {cls: list(TOGGLE_FEATURES[cls]) for cls in COMPONENT_CLASSES}
        if data.get("features") != expected:
            raise InputError(
                "fitted with other toggle features than this version of systolic has; regenerate it with "
                "'make calibrate'",
                source,
                "features",
            )
        coeffs = np.zeros((len(DATAFLOWS), len(COMPONENT_CLASSES), N_TOGGLE_FEATURES))
        table = data.get("coefficients")
        if not isinstance(table, dict):
            raise InputError("missing or malformed", source, "coefficients")
        for i, df in enumerate(DATAFLOWS):
            row = table.get(df)
            if not isinstance(row, dict):
                raise InputError("missing", source, f"coefficients.{df}")
            for j, name in enumerate(COMPONENT_CLASSES):
                values = row.get(name)
                where = f"coefficients.{df}.{name}"
                n = len(TOGGLE_FEATURES[name])
                if not isinstance(values, list) or len(values) != n:
                    raise InputError(f"must be a list of {n} numbers", source, where)
                for v in values:
                    number = isinstance(v, (int, float)) and not isinstance(v, bool)
                    if not number or not math.isfinite(v) or v < 0:
                        raise InputError(f"must be non-negative numbers, not {v!r}", source, where)
                coeffs[i, j, :n] = values
        info = data.get("info", {})
        return cls(coeffs, info if isinstance(info, dict) else {})


def predict_toggles(
    cfg: ArrayConfig,
    counts: LayerActivityCounts,
    stats_a: np.ndarray,
    stats_b: np.ndarray,
    calibration: Calibration,
) -> np.ndarray:
    """Bit toggles ``[layer, class]``: the regressors times the coefficients of the dataflow."""
    x = toggle_features(cfg, counts, stats_a, stats_b)  # [layer, class, feature]
    beta = calibration.coeffs[DATAFLOWS.index(cfg.dataflow.value)]  # [class, feature]
    return np.einsum("lcf,cf->lc", x, beta)


def fit_toggles(features: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Non-negative coefficients ``[class, feature]`` from ``features[sample, class, feature]`` and measured
    toggles ``[sample, class]`` by weighted least squares with Poisson weights (each sample's residual
    divided by the square root of its count: a count's noise grows as its square root, so long layers
    count more than short ones, but not in proportion to their size). Measured on the calibration set:
    relative weights (every layer alike) bias the summed held-out toggles of the SRAM classes by -16 to
    -19%, unweighted least squares lets the largest layers decide (DRAM +6%); Poisson weights keep every
    class within 10%. Non-negative: every regressor is a physical source of toggles, and a negative
    coefficient fitted to noise would extrapolate badly to large layers."""
    from scipy.optimize import nnls

    x = np.asarray(features, dtype=float)
    y = np.asarray(measured, dtype=float)
    out = np.zeros(x.shape[1:])
    for c in range(x.shape[1]):
        w = 1.0 / np.sqrt(np.maximum(y[:, c], 1.0))
        a = x[:, c, :] * w[:, None]
        scale = np.maximum(np.abs(a).max(axis=0), 1e-300)  # column scaling for a well-conditioned solve
        beta, _ = nnls(a / scale, y[:, c] * w)
        out[c] = beta / scale
    return out


def action_counts(cfg: ArrayConfig, counts: LayerActivityCounts) -> np.ndarray:
    """Counts ``[layer, action]`` of :data:`ACTIONS` for ``counts @ table`` (one energy table row each).

    ``multiply``, ``accumulate``: MACs; ``input_hop``: west-operand hops; ``weight_hop``: north hops (OS)
    or weight-register writes (WS, IS); ``psum_hop``: accumulator shifts of the OS drain or psum writes
    in the WS/IS output de-skew (in WS and IS the PE's psum register is the accumulator and is charged
    once, to ``accumulate``); SRAM: words; ``ctrl.cycle``: cycles; DRAM: words of ``word_bytes`` (a
    partial sum written back is ``ceil(acc_bits / 8) / word_bytes`` of them).
    """
    k = counts
    psum = k.drain if cfg.dataflow.value == "os" else k.other_skew
    c_words = math.ceil(cfg.acc_bits / 8) / cfg.word_bytes
    cols = {
        ("mult", "multiply"): k.macs,
        ("acc", "accumulate"): k.macs,
        ("fwd", "input_hop"): k.west_hops,
        ("fwd", "weight_hop"): k.north_hops,
        ("fwd", "psum_hop"): psum,
        ("ifmap_sram", "read"): k.sram_reads[0],
        ("ifmap_sram", "write"): k.sram_writes[0],
        ("filter_sram", "read"): k.sram_reads[1],
        ("filter_sram", "write"): k.sram_writes[1],
        ("ofmap_sram", "read"): k.sram_reads[2],
        ("ofmap_sram", "write"): k.sram_writes[2],
        ("ctrl", "cycle"): k.cycles,
        ("dram", "read"): k.dram_reads.sum(axis=0),
        ("dram", "write"): k.dram_writes * c_words,
    }
    return np.stack([np.asarray(cols[a], dtype=float) for a in ACTIONS], axis=-1)
