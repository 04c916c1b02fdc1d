"""Statistics of every stream in the order the component that carries it sees it.

A component's bit toggles are the Hamming distances between consecutive values on its nets, so what the
energy model needs of the data is not one switching rate per tensor but one per stream, taken along the
order that stream passes the component:

* the array's operand registers see each operand along its stream axis (OS: A and B along K; WS: A along
  M; IS: B along N), framed by zeros between folds (the array's ports mask idle lanes to zero);
* the stationary operand (WS: B, IS: A) shifts down the columns along K while a fold's tile is loaded;
* the multiplier's product, a PE's partial-sum register (WS/IS: the sum over the first rows of a fold;
  OS: the accumulator along K), the array's outputs (a fold's partial sums, or OS's drained
  accumulators) and the ofmap SRAM's lines (partial sums accumulated over the K-folds) along the stream;
* the DRAM read bus sees A and B in DRAM order, bus lane i of consecutive beats holding words
  ``dram_bw_words_per_cycle`` apart; the write bus sees C the same way.

:func:`layer_stats` takes these from a layer's operands: operand statistics exactly from the tensors, the
output-side ones from a cheap NumPy sample of the products (a few contiguous blocks of the stream times a
few array columns, at most :data:`SAMPLE_ELEMENTS` products) and a few rows of C. Without data,
:func:`default_stats` gives those of independent operands drawn uniformly from the non-zero values of the
configured formats with a share of zeros, the statistics-free default, by running :func:`layer_stats` on
such operands (a fixed seed, so the same bytes every time). All rates are fractions of the stream's bits:
``*_s`` the mean Hamming distance of consecutive values, ``*_o`` the mean number of ones, ``*_z`` the zero
fraction, ``*_e`` the mean bit length of non-zero values; columns are :data:`STAT_COLUMNS`.
"""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.geometry import geometry

from .edges import EDGE_COLUMNS, edge_ones
from .switching import _across, _along, _flag_flips, _held_flips, _nonzero_switch, _ones, _patterns, _rate

#: The statistics of a layer, in column order of every ``[..., stat]`` array.
#: w_/n_: the west operand (A; B in IS) and the other one (B; A in IS): s along its stream (for the
#: stationary operand of WS/IS: along K, the order the load shifts it), nz the same between consecutive
#: non-zero values of a lane (what a zero-gated input holds on to), z zeros, e effective width, o ones,
#: x switching between two non-zero values drawn at random (a gated input's jump to another lane's data),
#: r between two values drawn at random, zeros included (n_r: a banked PE's weight against the other bank's);
#: gw_s, gn_s: per MAC, switching of the west and (OS) north multiplier inputs under zero gating, which
#: hold the last pair of non-zero operands; g_flag: toggles of the non-zero flag per MAC;
#: p_nz: share of MACs with two non-zero operands; prod, psum, out, csram: the product, the PE
#: partial-sum register, the array's outputs, the ofmap SRAM's partial sums (s, o per bit); c_o: ones
#: of the final outputs; dram_c: C's lag-bus-width switching in DRAM order; dram_rd, dram_wr: the DRAM
#: read and write data buses beat after beat, in the controller's order (idle read cycles are zero), per
#: word and bit moved; addr_rd, addr_wr: bits the read request and write address buses flip per beat;
#: drain_s: flips of the ofmap SRAM's drain read port (whole lines, the write bus's source) per word
#: written and bit; a_o, b_o: ones of A and B; ab_o: A's ones at B's width (A truncated when B is
#: narrower, sign-extended when wider, as the read bus's two's-complement words carry it), ba_o: B's at
#: A's width;
#: array_s: flips of the ofmap SRAM's array-side data nets (both halves' read and write ports,
#: ``a_rd_data``, ``a_wr_data``) per lane slot written and bit, from an emulation of the reads and writes
#: of whole lines in time order (:meth:`_WriteBus.array_side_flips`); gjump_w, gjump_n (zero gating): flips
#: per PE stream (PE and fold) and bit of a zero-gated PE's held west operand and weight when a fold's
#: first non-zero pair replaces the last one the PE held, in the RTL's fold order (:func:`_gated_jumps`);
#: w_j, n_j (OS), prod_j, psum_j, out_j (WS/IS: consecutive folds' outputs): switching per bit where a
#: lane or PE runs from one fold straight into the next, between its values in consecutive folds (the
#: same time step and position a fold apart: rows of the array's R apart along the fold's axis; OS's
#: north lanes: a K-run's last value and its first);
#: bank_s (WS/IS with fold_overlap): flips per PE, bank swap and bit
#: of a banked PE's multiplier input, emulated in the RTL's fold order, bankw_s the same per PE, fold and
#: bit of its bank registers (:func:`.banks.bank_flips`); fill_a, fill_b: the ifmap and filter SRAMs'
#: fill data ports' flips emulated beat by beat (:func:`.fill_ports.port_flips`) over what the counts'
#: form charges the same beats (:func:`.fill_ports.form_flips`); from a walk of the folds in the RTL's
#: order (:func:`.edges.edge_ones`): prod_edge, psum_edge, out_edge, pass_edge: ones per bit of the values at
#: the zero edges of each fold's product, partial-sum (OS: accumulator), output de-skew (WS/IS, weighted
#: by its registers per column) and passing-row register streams; prod_f, psum_f, pass_f, deskew_s
#: (WS/IS): their switching within each fold; res_s: flips per OS result register, fold and bit.
STAT_COLUMNS: tuple[str, ...] = (
    "w_s",
    "w_nz",
    "w_z",
    "w_e",
    "w_o",
    "w_x",
    "gw_s",
    "gn_s",
    "g_flag",
    "n_s",
    "n_nz",
    "n_z",
    "n_e",
    "n_o",
    "n_x",
    "n_r",
    "p_nz",
    "prod_s",
    "prod_o",
    "psum_s",
    "psum_o",
    "out_s",
    "out_o",
    "csram_s",
    "c_o",
    "dram_a",
    "dram_b",
    "dram_c",
    "dram_rd",
    "dram_wr",
    "addr_rd",
    "addr_wr",
    "a_o",
    "b_o",
    "drain_s",
    "dram_ab",
    "dram_ba",
    "ab_o",
    "ba_o",
    "array_s",
    "gjump_w",
    "gjump_n",
    "w_j",
    "n_j",
    "prod_j",
    "psum_j",
    "out_j",
    "bank_s",
    "bankw_s",
    "fill_a",
    "fill_b",
    *EDGE_COLUMNS,
)
COLUMN = {name: i for i, name in enumerate(STAT_COLUMNS)}
#: Most products the output-side sample computes per layer (8 MB of int64).
SAMPLE_ELEMENTS = 1 << 20
#: Contiguous blocks of the stream the sample takes, and the longest block.
SAMPLE_BLOCKS, BLOCK_LENGTH = 4, 64
#: Array columns (WS/IS) or (row, column) output positions per side (OS) the sample follows.
SAMPLE_COLUMNS = 16
#: Rows of C computed for the DRAM write statistics.
SAMPLE_C_ROWS = 16
#: Steps whose DRAM beats the bus statistics follow at most (the first ones).
BUS_STEPS = 64
#: Operand elements above which the operand statistics use a contiguous share of the lanes.
OPERAND_ELEMENTS = 1 << 20


def check_operand(values: np.ndarray, bits: int, signed: bool, what: str = "operand") -> np.ndarray:
    """``values`` as int64 if they are integers that fit the format, else a one-line :class:`InputError`."""
    v = np.asarray(values)
    if not (np.issubdtype(v.dtype, np.integer) or v.dtype == bool):
        raise InputError(f"{what} values must be integers, not {v.dtype}")
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if v.size and (v.min() < lo or v.max() > hi):
        kind = "signed" if signed else "unsigned"
        raise InputError(f"{what} values must fit {bits}-bit {kind} ({lo}..{hi}), got {v.min()}..{v.max()}")
    return v.astype(np.int64)


def _effective(x: np.ndarray, bits: int, signed: bool) -> float:
    nonzero = x[x != 0]
    if not nonzero.size:
        return 0.0
    magnitude = np.where(nonzero < 0, -nonzero - 1, nonzero) if signed else nonzero
    return float(np.mean(np.frexp(magnitude.astype(float))[1] + (1 if signed else 0))) / bits


def _operand(x: np.ndarray, bits: int, signed: bool) -> dict[str, float]:
    """Statistics of one operand ``x[time, lane]`` streamed along axis 0."""
    if x.size > OPERAND_ELEMENTS:
        x = x[:, : max(1, OPERAND_ELEMENTS // x.shape[0])]
    nonzero = _patterns(x[x != 0], bits)
    q = (
        ((nonzero[:, None] >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)).mean(axis=0)
        if nonzero.size
        else 0
    )
    z = float(np.mean(x == 0)) if x.size else 0.0
    return {
        "s": _along(x, bits),
        "nz": _nonzero_switch(x, bits),
        "z": z,
        "e": _effective(x, bits, signed),
        "o": _ones(x, bits),
        "x": float(np.sum(2 * q * (1 - q))) / bits,
        "r": float(np.sum(2 * q * (1 - z) * (1 - q * (1 - z)))) / bits,
    }


def _blocks(length: int, blocks: int = SAMPLE_BLOCKS, block: int = BLOCK_LENGTH) -> list[np.ndarray]:
    """Up to ``blocks`` contiguous index runs of at most ``block``, spread evenly over ``range(length)``."""
    if length <= blocks * block:
        return [np.arange(length)]
    starts = np.linspace(0, length - block, blocks).round().astype(int)
    return [np.arange(s, s + block) for s in starts.tolist()]


def _spread(length: int, count: int) -> np.ndarray:
    return np.unique(np.linspace(0, length - 1, min(count, length)).round().astype(int))


def _dram_switch(x: np.ndarray, lane_axis: int, bits: int, bw: int) -> float:
    """Bus-lane switching of ``x`` in DRAM order (contiguous along ``lane_axis``): words ``bw`` apart."""
    flat = np.ascontiguousarray(x if lane_axis == 1 else x.T).ravel()
    if flat.size > OPERAND_ELEMENTS:
        flat = flat[:OPERAND_ELEMENTS]
    return _rate(flat[bw:], flat[:-bw], bits) if flat.size > bw else 0.0


def _stationary_stats(
    cfg: ArrayConfig, xw: np.ndarray, st: np.ndarray, acc: int, bp: int, bits_w: int, tk: int
) -> dict[str, float]:
    """Output-side statistics of WS (and IS as WS on the transpose): ``xw[time, k]`` streams from the
    west, ``st[k, col]`` is held; rows of the array run over each K-tile of ``tk`` in folds of
    ``cfg.rows`` (a K-tile's last fold may use fewer rows: the rows it leaves unused pass its outputs)."""
    t_len, k_len = xw.shape
    cols = _spread(st.shape[1], SAMPLE_COLUMNS)
    per_block = max(2, SAMPLE_ELEMENTS // max(k_len * len(cols), 1))
    k_idx = np.arange(k_len)
    tk = max(int(tk), 1)
    fold = (k_idx // tk) * (tk // cfg.rows + 1) + (k_idx % tk) // cfg.rows  # [k]
    first = np.r_[True, fold[1:] != fold[:-1]]
    last = np.r_[fold[1:] != fold[:-1], True]
    base = np.maximum.accumulate(np.where(first, np.arange(k_len), 0))  # [k] first k of its fold
    acc_s = {name: [] for name in ("prod", "psum", "out", "csram")}
    joined = {"prod_j": [], "psum_j": [], "out_j": []}
    acc_o = {name: [] for name in ("prod", "psum", "out")}
    gated = {"gw_s": [], "g_flag": []}
    held = (st[:, cols] != 0).mean(axis=1)  # [k] share of the sampled columns whose weight is non-zero
    for run in _blocks(t_len, block=min(BLOCK_LENGTH, per_block)):
        x = xw[run]  # [time, k]
        steps = x.shape[0] * k_len
        # a PE with a zero weight never multiplies: its inputs hold; else they follow the non-zero x
        flips = _held_flips(x, bits_w)  # [k]
        gated["gw_s"].append((float((held * flips).sum()) / (bits_w * steps), steps))
        changes = (x[1:] != 0) != (x[:-1] != 0)  # [time - 1, k]
        gated["g_flag"].append((float((held * changes.sum(axis=0)).sum()) / steps, steps))
        prod = x[:, :, None] * st[:, cols][None, :, :]  # [time, k, col]
        total = np.cumsum(prod, axis=1)
        psum = _within(total, base)  # [time, k, col] partial sum within the fold
        outs = psum[:, last, :]  # [time, fold, col] what leaves the array
        csram = total[:, last, :]  # accumulated over the K-folds in the ofmap SRAM
        for name, v, bits in (
            ("prod", prod, bp),
            ("psum", psum, acc),
            ("out", outs, acc),
        ):
            acc_s[name].append((_along(v, bits), v.shape[0] - 1))
            acc_o[name].append((_ones(v, bits), v.shape[0]))
        for key, v, bits in (("prod_j", prod, bp), ("psum_j", psum, acc)):
            joined[key].append((_across(v, cfg.rows, 1, bits), v.shape[0]))
        joined["out_j"].append((_across(outs, 1, 1, acc), outs.shape[0]))
        acc_s["csram"].append((_along(csram, acc), csram.shape[0] - 1))
    out = {f"{k}_s": _weighted(v) for k, v in acc_s.items()}
    out |= {k: _weighted(v) for k, v in joined.items()}
    out |= {f"{k}_o": _weighted(v) for k, v in acc_o.items()}
    out |= {k: _weighted(v) for k, v in gated.items()}
    out["gn_s"] = 0.0  # the held weight changes with the loads only (a count of its own)
    return out


def _output_stationary_stats(cfg: ArrayConfig, a: np.ndarray, b: np.ndarray, acc: int, bp: int, tk: int):
    """Output-side statistics of OS: PE (m, n) accumulates A[m, k] B[k, n] along K (restarting every
    K-tile of ``tk``); a fold's accumulators drain down the columns (consecutive rows of C)."""
    m_len, k_len = a.shape
    cols = _spread(b.shape[1], SAMPLE_COLUMNS)
    per_block = max(2, SAMPLE_ELEMENTS // max(k_len * len(cols), 1))
    tile = np.arange(k_len) // max(tk, 1)
    first = np.r_[True, tile[1:] != tile[:-1]]
    base = np.maximum.accumulate(np.where(first, np.arange(k_len), 0))
    names = ("prod_s", "prod_o", "psum_s", "psum_o", "out_s", "out_o", "csram_s", "gw_s", "gn_s", "g_flag")
    names += ("prod_j", "psum_j")
    stats = {name: [] for name in names}
    bits_a, bits_b = cfg.input_bits, cfg.weight_bits
    for run in _blocks(m_len, block=min(BLOCK_LENGTH, per_block)):
        pair = (a[run][:, :, None] != 0) & (b[:, cols][None, :, :] != 0)  # [m, k, col] both non-zero
        along = np.moveaxis(pair, 1, 0)  # [k, m, col]: PE (m, col) steps along k
        steps = along.size
        held_a = np.where(along, np.moveaxis(a[run], 1, 0)[:, :, None], 0)
        held_b = np.where(along, b[:, cols][:, None, :], 0)
        stats["gw_s"].append((_held_flips(held_a, bits_a).sum() / (bits_a * steps), steps))
        stats["gn_s"].append((_held_flips(held_b, bits_b).sum() / (bits_b * steps), steps))
        stats["g_flag"].append((_flag_flips(along) / steps, steps))
        prod = a[run][:, :, None] * b[:, cols][None, :, :]  # [m, k, col]
        total = np.cumsum(prod, axis=1)
        psum = _within(total, base)  # the accumulator along k within its K-tile
        along_k = np.moveaxis(prod, 1, 0)  # [k, m, col]
        stats["prod_s"].append((_along(along_k, bp), k_len - 1))
        stats["prod_o"].append((_ones(prod, bp), k_len))
        stats["psum_s"].append((_along(np.moveaxis(psum, 1, 0), acc), k_len - 1))
        stats["psum_o"].append((_ones(psum, acc), k_len))
        stats["prod_j"].append((_across(prod, cfg.rows, 0, bp), len(run)))  # [m, k, col]: rows of C R apart
        stats["psum_j"].append((_across(psum, cfg.rows, 0, acc), len(run)))
        last_tile = psum[:, -1, :]  # [m, col] a K-tile's result, drained row after row
        stats["out_s"].append((_along(last_tile, acc), len(run) - 1))
        stats["out_o"].append((_ones(last_tile, acc), len(run)))
        stats["csram_s"].append((_along(total[:, -1, :], acc), len(run) - 1))
    return {k: _weighted(v) for k, v in stats.items()} | {"out_j": 0.0}


def _within(total: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Running sums ``total[..., k, ...]`` (axis 1) restarted at the indices ``base[k]`` (a run's first k)."""
    before = np.take(total, np.maximum(base - 1, 0), axis=1)
    return total - np.where((base == 0)[None, :, None], 0, before)


def _weighted(parts: list[tuple[float, int]]) -> float:
    w = sum(n for _, n in parts)
    return sum(v * n for v, n in parts) / w if w else 0.0


def layer_stats(
    cfg: ArrayConfig,
    a: np.ndarray,
    b: np.ndarray,
    tile_k: int | None = None,
    where: str = "",
    conv=None,
    ifmap: np.ndarray | None = None,
) -> np.ndarray:
    """Statistics ``[stat]`` (:data:`STAT_COLUMNS`) of one layer C = A @ B on ``cfg``'s accelerator.

    Parameters
    ----------
    a, b : np.ndarray of int
        A[M, K] and B[K, N] within the configured widths (two's complement when signed).
    tile_k : int, optional
        K extent of the memory system's tiles (OS accumulators restart every K-tile); default K.
    where : str
        Prefix of error messages (the file the operands came from).
    conv, ifmap : ConvShape and np.ndarray [batch, H, W, C], optional
        The convolution A is the im2col matrix of, scheduled as ``cfg`` plans it (its bands: the DRAM
        buses carry their ifmap rows and its tiles' drains, as the RTL's do), and its ifmap (else the
        words A holds; the others, fetched but read by no window, zero). Default: a GEMM.
    """
    pre = f"{where}: " if where else ""
    a = check_operand(a, cfg.input_bits, cfg.input_signed, f"{pre}A")
    b = check_operand(b, cfg.weight_bits, cfg.weight_signed, f"{pre}B")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0] or 0 in a.shape + b.shape:
        raise InputError(f"{pre}A must be M x K and B K x N with K equal, not {a.shape} and {b.shape}")
    acc = cfg.acc_bits
    df = cfg.dataflow.value
    bits_a, bits_b = cfg.input_bits, cfg.weight_bits
    bp = min(bits_a + bits_b, 63)
    out: dict[str, float] = {}
    if df == "os":
        w = _operand(a.T, bits_a, cfg.input_signed)  # A's rows stream along K
        n = _operand(b, bits_b, cfg.weight_signed)
        out |= _output_stationary_stats(cfg, a, b, acc, bp, tile_k or a.shape[1])
        joint = (a[:, :, None] != 0) & (b[None, :, _spread(b.shape[1], SAMPLE_COLUMNS)] != 0)
    else:
        xw, st = (a, b) if df == "ws" else (b.T, a.T)
        wb, ws_, nb, ns = (
            (bits_a, cfg.input_signed, bits_b, cfg.weight_signed)
            if df == "ws"
            else (bits_b, cfg.weight_signed, bits_a, cfg.input_signed)
        )
        w = _operand(xw, wb, ws_)  # streams along time
        n = _operand(st, nb, ns)  # shifted in along K
        out |= _stationary_stats(cfg, xw, st, acc, min(wb + nb, 63), wb, tile_k or a.shape[1])
        rows = xw[np.concatenate(_blocks(xw.shape[0]))]
        joint = (rows[:, :, None] != 0) & (st[None, :, _spread(st.shape[1], SAMPLE_COLUMNS)] != 0)
    out |= {f"w_{k}": v for k, v in w.items()} | {f"n_{k}": v for k, v in n.items()}
    # OS: A's rows R apart at the same k; B's columns from a K-run's last k to its first (and the few k
    # around them: one row alone is too small a sample)
    wrap = max(1, min(cfg.rows, b.shape[0] // 2))
    if df == "os":
        out["w_j"], out["n_j"] = _across(a, cfg.rows, 0, bits_a), _rate(b[::-1][:wrap], b[:wrap], bits_b)
    else:  # the streamed operand's lanes R apart along K, at the same time step
        out["w_j"], out["n_j"] = _across(xw, cfg.rows, 1, wb), 0.0
    out["p_nz"] = float(joint.mean())
    bw = cfg.dram_bw_words_per_cycle
    lane_axis = {"os": (0, 1, 1), "ws": (1, 1, 1), "is": (0, 0, 0)}[df]  # A, B, C (systolic.dataflow)
    out |= _dram_words(a, b, lane_axis, bits_a, bits_b, bw)
    from ..cycles import GemmArrays
    from ..memory import memory_cycles

    gemm = GemmArrays.of(a.shape[0], b.shape[1], a.shape[1], conv=None if conv is None else [conv])
    sched = memory_cycles(cfg, gemm).schedule
    out |= edge_ones(cfg, sched, a, b, BUS_STEPS) | _held_jumps(cfg, sched, a, b)
    bus = _dram_bus(cfg, a, b, acc, sched, _fill_rates(out), ifmap)
    out["dram_rd"], out["dram_wr"], out["addr_rd"], out["addr_wr"], out["drain_s"], out["array_s"] = bus[:6]
    out["fill_a"], out["fill_b"] = bus[6:]
    c = _c_sample(a, b, lane_axis[2])
    out["dram_c"] = _rate(c[:, bw:], c[:, :-bw], acc) if c.shape[1] > bw else 0.0
    out["c_o"] = _ones(c, acc)
    return np.array([out[name] for name in STAT_COLUMNS])


def _dram_words(a: np.ndarray, b: np.ndarray, lane_axis: tuple, bits_a: int, bits_b: int, bw: int) -> dict:
    """A's and B's switching along DRAM and ones, each at its own width and at the other's."""
    return {
        "dram_a": _dram_switch(a, lane_axis[0], bits_a, bw),
        "dram_b": _dram_switch(b, lane_axis[1], bits_b, bw),
        "a_o": _ones(a, bits_a),
        "b_o": _ones(b, bits_b),
        "dram_ab": _dram_switch(a, lane_axis[0], bits_b, bw),
        "dram_ba": _dram_switch(b, lane_axis[1], bits_a, bw),
        "ab_o": _ones(a, bits_b),
        "ba_o": _ones(b, bits_a),
    }


def _held_jumps(cfg: ArrayConfig, sched, a: np.ndarray, b: np.ndarray) -> dict:
    """The gated operands' fold jumps (zero gating) and the WS/IS weight banks' flips (fold_overlap)."""
    df = cfg.dataflow.value
    out = {"gjump_w": 0.0, "gjump_n": 0.0, "bank_s": 0.0, "bankw_s": 0.0}
    if cfg.zero_gating:
        out["gjump_w"], out["gjump_n"] = _gated_jumps(cfg, sched, a, b)
    if df != "os" and cfg.fold_overlap:
        from .banks import bank_flips

        st, bits = (b, cfg.weight_bits) if df == "ws" else (a.T, cfg.input_bits)
        out["bank_s"], out["bankw_s"] = bank_flips(cfg, sched, st, bits, BUS_STEPS)
    return out


def _fill_rates(out: dict) -> tuple:
    """The fill ports' switching and ones per word, ``[port][tensor]`` (port 0 the ifmap SRAM's, tensor 0
    A), from the DRAM statistics of :func:`layer_stats`."""
    switch = ((out["dram_a"], out["dram_ba"]), (out["dram_ab"], out["dram_b"]))
    ones = ((out["a_o"], out["ba_o"]), (out["ab_o"], out["b_o"]))
    return switch, ones


def _dram_image(cfg: ArrayConfig, x: np.ndarray, tensor: str, native=None, ifmap=None) -> np.ndarray:
    """``x`` flattened as it lies in DRAM: contiguous along the lane axis of the port that carries it;
    A of a layer read natively (``native``: its ConvShape): the ifmap it is the im2col matrix of."""
    from systolic.dataflow import TENSOR_DIMS
    from systolic.geometry import geometry

    if native is not None:
        from ..band import native_dram_image

        return native_dram_image(native, cfg.dataflow.value == "ws", x, ifmap)
    g = geometry(cfg)[tensor]
    return np.ascontiguousarray(x if TENSOR_DIMS[tensor].index(g.lane_dim) == 1 else x.T).ravel()


def _bus_flips(cycle: np.ndarray, words: np.ndarray, idle_zero: bool) -> int:
    """Bit flips on a bus carrying ``words[beat, lane]`` (patterns) in cycles ``cycle[beat]``: neighbours in
    consecutive cycles differ by their XOR; across a gap the bus is zero (``idle_zero``, every value
    appears from and falls back to zero) or holds its last beat."""
    if not cycle.size:
        return 0
    order = np.argsort(cycle, kind="stable")
    cycle, words = cycle[order], words[order]
    ones = np.bitwise_count(words).sum(axis=1)  # [beat]
    xor = np.bitwise_count(words[1:] ^ words[:-1]).sum(axis=1)  # [beat - 1]
    if not idle_zero:
        return int(xor.sum())
    next_to = np.diff(cycle) == 1
    return int(xor[next_to].sum() + ones[1:][~next_to].sum() + ones[:-1][~next_to].sum() + ones[0] + ones[-1])


def _partial_sums(a: np.ndarray, b: np.ndarray, m_idx, n_idx, k_end: np.ndarray, k_start=None) -> np.ndarray:
    """``sum(a[m, k] b[k, n] for k_start <= k < k_end)`` for index arrays ``m_idx``, ``n_idx`` ``[row,
    lane]`` and ``k_start`` (default 0), ``k_end`` ``[row]`` (grouped by them: a few distinct values per
    tile). Each group is one product over the span of rows and columns it names (within one tile, so no
    larger than the tile's outputs), gathered at its (m, n) pairs, where gathering
    ``a[m, k]`` per lane would hold K values per output."""
    m_idx, n_idx = np.minimum(m_idx, a.shape[0] - 1), np.minimum(n_idx, b.shape[1] - 1)
    out = np.zeros(np.shape(m_idx), dtype=np.int64)
    k_start = np.zeros_like(k_end) if k_start is None else np.broadcast_to(k_start, np.shape(k_end))
    for ks, ke in np.unique(np.stack([k_start, k_end], axis=1), axis=0).tolist():
        e = (k_start == ks) & (k_end == ke)
        mm, nn = m_idx[e], n_idx[e]
        m0, n0 = int(mm.min()), int(nn.min())
        # int64 einsum: exact, and no BLAS threads (which spin on a busy machine)
        prod = np.einsum("mk,kn->mn", a[m0 : int(mm.max()) + 1, ks:ke], b[ks:ke, n0 : int(nn.max()) + 1])
        out[e] = prod[mm - m0, nn - n0]
    return out


def _tile_outputs(cfg: ArrayConfig, sched, s: int):
    """The array's output lines of the tile computed in step ``s``, in the order they reach the ofmap
    SRAM: ``(cycle, other, fold, k_end, k_new)`` per output line (``other``: its index along the line's
    other dimension within the tile; ``k_end``: the K already accumulated in the SRAM, which a
    read-modify-write reads, 0 for the first pass; ``k_new``: the K accumulated after it), and the tile
    with its folds' ``sc_base``, ``cu``."""
    from systolic.dataflow import MAPPINGS

    from ..memory import array_start_cycles, tile_record
    from ..traces import _tile_folds

    steps, r, c = sched.steps, cfg.rows, cfg.cols
    tile = tile_record(sched.tiles, int(steps.compute_tile[s]))
    t_len, sr_base, sc_base, ru, cu, _, stream = _tile_folds(cfg, tile)
    x0 = int(steps.start[s]) + array_start_cycles(cfg) + stream  # [fold] first stream data cycle
    if MAPPINGS[cfg.dataflow].stationary == "operand":  # a fold's outputs leave along the stream
        fold, other = np.repeat(np.arange(ru.size), t_len), np.tile(np.arange(t_len), ru.size)
        cycle = x0[fold] + other + r + c
        k_end = tile["k0"] + sr_base[fold]  # the K-folds before this one are in the SRAM
        k_new = k_end + ru[fold]
    else:  # OS: a fold's accumulators drain row after row
        fold = np.repeat(np.arange(ru.size), ru)
        row = np.arange(fold.size) - np.repeat(np.cumsum(ru) - ru, ru)
        cycle = x0[fold] + t_len + r + c - 2 + (r - 1 - row) + 1
        other = sr_base[fold] + row
        k_end = np.full(fold.size, tile["k0"])  # earlier K-tiles
        k_new = k_end + tile["kt"]
    return cycle, other, fold, k_end, k_new, tile, sc_base, cu


def _output_lines(cfg: ArrayConfig, a, b, tile: dict, sc_base, cu, other, fold, k_end, k_start=None):
    """Partial sums through ``k_end`` (from ``k_start``, default 0) of output lines (their used lanes),
    and line numbers: ``(line [out], value [out, lane], used [out, lane])``."""
    g = geometry(cfg)["C"]
    lane = np.arange(g.lanes)
    lane_c = tile[f"{g.lane_dim}0"] + sc_base[fold][:, None] + lane[None, :]  # [out, lane]
    other_c = np.broadcast_to((tile[f"{g.other_dim}0"] + other)[:, None], lane_c.shape)
    m_idx, n_idx = (other_c, lane_c) if g.lane_dim == "n" else (lane_c, other_c)
    value = _partial_sums(a, b, m_idx, n_idx, k_end, k_start)
    used = lane[None, :] < cu[fold][:, None]
    line = sc_base[fold] // g.lanes * tile[f"{g.other_dim}t"] + other
    return line, value, used


def _tile_reads(cfg: ArrayConfig, sched, s: int, a: np.ndarray, b: np.ndarray):
    """The read-modify-write reads of the ofmap SRAM for the tile computed in step ``s``: the last one
    before the step ends and those after it (the trail), as ``(before, cycles [read], lines [read],
    values [read, lane], used [read, lane])``: ``before`` is 1 when the first read is the last one before
    the step's end, a line's values the partial sums of the K before the read in its used lanes."""
    cycle, other, fold, k_end, _, tile, sc_base, cu = _tile_outputs(cfg, sched, s)
    t_next = int(sched.steps.start[s] + sched.steps.cycles[s])
    rmw = k_end > 0  # the first pass over an output writes without reading
    before = np.flatnonzero(rmw & (cycle <= t_next))
    last_before = before[np.argsort(cycle[before], kind="stable")][-1:]
    pick = np.r_[last_before, np.flatnonzero(rmw & (cycle > t_next))].astype(int)
    line, value, used = _output_lines(cfg, a, b, tile, sc_base, cu, other[pick], fold[pick], k_end[pick])
    return int(last_before.size), cycle[pick], line, value, used


def _gated_jumps(cfg: ArrayConfig, sched, a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Zero gating: a PE's multiplier inputs hold the last pair of non-zero operands, so when a fold
    starts they jump from what the PE held at its last active fold to the fold's first non-zero pair.
    Flips of both jumps (the west operand, the other one) per PE stream (one per used PE and fold) and
    bit, over the first :data:`BUS_STEPS` steps' tiles in the order they run; a fold is a stage: the loop
    runs over folds, the PEs of a fold are arrays ``[time, row, col]``."""
    from .folds import computed_tiles

    df = cfg.dataflow.value
    xw, st = (b.T, a.T) if df == "is" else (a, b)  # IS is WS on the transpose
    bits_w, bits_n = (cfg.weight_bits, cfg.input_bits) if df == "is" else (cfg.input_bits, cfg.weight_bits)
    held_w = np.zeros((cfg.rows, cfg.cols), dtype=np.uint64)  # [row, col] what each PE holds
    held_n = np.zeros((cfg.rows, cfg.cols), dtype=np.uint64)
    flips_w = flips_n = frames = 0
    for t0, t_len, row0, col0, ru, cu in computed_tiles(cfg, sched, BUS_STEPS):
        for rb, cb, r, c in zip(row0, col0, ru, cu, strict=True):
            if df == "os":  # PE (m, n) takes A[m, k] and B[k, n] along k
                west = np.broadcast_to(a[rb : rb + r, t0 : t0 + t_len].T[:, :, None], (t_len, r, c))
                north = np.broadcast_to(b[t0 : t0 + t_len, cb : cb + c][:, None, :], (t_len, r, c))
                w_first, n_first, w_last, n_last, active = _first_last(west, north)
            else:  # PE (k, col) takes xw[t, k] along t and holds st[k, col]: its pairs' times are the row's
                w_first, _, w_last, _, active = _first_last(
                    xw[t0 : t0 + t_len, rb : rb + r, None], np.ones((1, r, 1))
                )
                n_first = n_last = st[rb : rb + r, cb : cb + c]  # [row, col]
                active = active & (n_first != 0)
            hw, hn = held_w[:r, :c], held_n[:r, :c]
            flips_w += int(np.bitwise_count(np.where(active, hw ^ _patterns(w_first, bits_w), 0)).sum())
            flips_n += int(np.bitwise_count(np.where(active, hn ^ _patterns(n_first, bits_n), 0)).sum())
            held_w[:r, :c] = np.where(active, _patterns(w_last, bits_w), hw)
            held_n[:r, :c] = np.where(active, _patterns(n_last, bits_n), hn)
            frames += int(r) * int(c)
    if not frames:
        return 0.0, 0.0
    return flips_w / (bits_w * frames), flips_n / (bits_n * frames)


def _first_last(west: np.ndarray, north: np.ndarray):
    """Of operands ``[time, row, col]`` (broadcastable): both operands at each PE's first and last pair of
    non-zero values, and whether it has one: ``(west first, north first, west last, north last, active)``,
    ``[row, col]`` each."""
    shape = np.broadcast_shapes(west.shape, north.shape)
    nz = (west != 0) & (north != 0)  # [time, row, col]
    first = np.argmax(nz, axis=0)[None]
    last = (nz.shape[0] - 1 - np.argmax(nz[::-1], axis=0))[None]
    west, north = np.broadcast_to(west, shape), np.broadcast_to(north, shape)
    pick = [
        np.take_along_axis(x, np.broadcast_to(i, (1, *shape[1:])), 0)[0]
        for i in (first, last)
        for x in (west, north)
    ]
    return pick[0], pick[1], pick[2], pick[3], np.broadcast_to(nz.any(axis=0), shape[1:])


class _WriteBus:
    """The DRAM write data bus, beat by beat and between beats. It is the ofmap SRAM's shadow half's read
    port shifted to the last drain beat's lane offset, so it shows the drain's lines (whole lines: lanes
    a tile does not fill keep what an earlier tile left there) and, with ``tile_overlap``, that half's
    read-modify-write reads of the trail (the results of the tile just computed that arrive after its
    step) and, when the halves swap, the last line read from the half that becomes the shadow one
    (:func:`_tile_reads`). The halves swap when a C tile is done (its last K-tile computed); a half's
    port holds the last line it read, and the SRAM's lines start at zero."""

    def __init__(self, cfg: ArrayConfig, dims, sched, a: np.ndarray, b: np.ndarray):
        self.cfg, self.dims, self.sched, self.a, self.b = cfg, dims, sched, a, b
        self.geo = geometry(cfg)["C"]
        self.bw, self.lanes = cfg.dram_bw_words_per_cycle, self.geo.lanes
        k0 = sched.tiles.origin("k")
        self.half = (np.cumsum(k0 == 0) - 1) % 2  # [tile] the ofmap half a tile accumulates in
        self.done = k0 + sched.tiles.ext("k") >= dims.full["k"]  # [tile] its C tile's last K-tile
        self.content = np.zeros(
            (2, max(self.geo.half_lines, 1), self.lanes), dtype=np.int64
        )  # [half, line, lane]
        self.last: list[np.ndarray | None] = [None, None]  # [half] the port's last line
        self.trail = (np.zeros(0), np.zeros((0, self.lanes), dtype=np.int64), 0)
        self.lane0 = 0  # the last drain beat's offset in its line, which the bus keeps
        self.cycles: list[np.ndarray] = []
        self.words: list[np.ndarray] = []
        self.lines: list[np.ndarray] = []  # the port's whole lines, unshifted
        # the ofmap SRAM's read-modify-write reads, drain reads and array-side writes, whole lines:
        # ``(cycles, lines, half)`` each
        self.rmw, self.drains, self.writes = (
            ([np.zeros(0)], [np.zeros((0, self.lanes), dtype=np.uint64)], [np.zeros(0, dtype=int)])
            for _ in range(3)
        )
        # the cycles the south port's tile changes, and its half: ``a_rd_data`` shows that half's read
        # port from then on (``a_rd_half``, hdl/accel.py)
        self.switches: tuple[list, list] = ([np.zeros(0)], [np.zeros(0, dtype=int)])

    def _show(self, cycles: np.ndarray, lines: np.ndarray, lane0: np.ndarray | int) -> None:
        """Lines ``[row, lane]`` on the bus in ``cycles``, each from its lane offset ``lane0``."""
        first = np.broadcast_to(np.asarray(lane0).reshape(-1), (lines.shape[0],))
        lane = first[:, None] + np.arange(self.bw)  # [row, bus lane]
        shown = np.take_along_axis(lines, np.minimum(lane, self.lanes - 1), axis=1)
        self.cycles.append(np.asarray(cycles, dtype=float))
        self.words.append(_patterns(np.where(lane < self.lanes, shown, 0), self.cfg.acc_bits))
        self.lines.append(_patterns(lines, self.cfg.acc_bits))

    def step(self, s: int, start: np.ndarray | None) -> None:
        """Step ``s``: the trail of the tile computed in step s - 1, its drain (beats at DRAM addresses
        ``start``, or None), then the tile computed in step ``s`` and the swap at the step's end."""
        from ..memory import tile_record

        steps, g = self.sched.steps, self.geo
        when, lines, half = self.trail
        if when.size:
            self._show(when, lines, self.lane0)
            self.last[half] = lines[-1]
        if start is not None:
            half = int(self.half[int(steps.drain_tile[s])])
            tile = tile_record(self.sched.tiles, int(steps.drain_tile[s]))
            full = self.dims.full[g.lane_dim]
            word = start - g.offset  # [beat] DRAM index of the beat's first word
            lane_pos = word % full - tile[f"{g.lane_dim}0"]
            line = lane_pos // self.lanes * tile[f"{g.other_dim}t"] + word // full - tile[f"{g.other_dim}0"]
            lane0 = lane_pos % self.lanes
            rows = self.content[half][np.minimum(line, self.content.shape[1] - 1)]
            when = steps.start[s] + 1 + steps.trail[s] + np.arange(start.size)
            self._show(when, rows, lane0)
            self._record(self.drains, when, rows, half)
            self.lane0, self.last[half] = int(lane0[-1]), rows[-1]
        self.trail = (np.zeros(0), np.zeros((0, self.lanes), dtype=np.int64), 0)
        if steps.compute_tile[s] >= 0:
            self._compute(s)

    def _compute(self, s: int) -> None:
        """The tile computed in step ``s``: its reads, its results into its half, and, if it finishes its
        C tile, the swap at the step's end (its trail reads then come from the shadow half)."""
        from ..memory import tile_record

        steps, t = self.sched.steps, int(self.sched.steps.compute_tile[s])
        half, done = int(self.half[t]), bool(self.done[t])
        self._array_side(s, half)
        if self.cfg.tiles_overlap:
            before, when, line, value, used = _tile_reads(self.cfg, self.sched, s, self.a, self.b)
            stale = self.content[half][np.minimum(line, self.content.shape[1] - 1)]
            lines = np.where(used, value, stale)  # [read, lane]
            if before or (lines.shape[0] and not done):  # the port's last line before the swap
                self.last[half] = lines[0 if done else -1]
            if done:
                self.trail = (when[before:], lines[before:], half)
        self._write_tile(half, tile_record(self.sched.tiles, t))
        if self.cfg.tiles_overlap and done and self.last[half] is not None:  # the swap shows its last line
            t_next = float(steps.start[s] + steps.cycles[s])
            self._show(np.array([t_next - 0.5]), self.last[half][None, :], self.lane0)

    def _array_side(self, s: int, half: int) -> None:
        """The array-side ports of the tile computed in step ``s``: a read-modify-write reads the line's
        partial sums (lanes the tile does not use show what the line holds), and the write data is the
        array's output plus what was read (``Mux(first, w_data, a_rd_data + w_data)``, hdl/accel.py), the
        first pass writing the output alone, zero in unused lanes."""
        cycle, other, fold, k_end, k_new, tile, sc_base, cu = _tile_outputs(self.cfg, self.sched, s)
        line, old, used = _output_lines(self.cfg, self.a, self.b, tile, sc_base, cu, other, fold, k_end)
        new = old + _output_lines(self.cfg, self.a, self.b, tile, sc_base, cu, other, fold, k_new, k_end)[1]
        stale = self.content[half][np.minimum(line, self.content.shape[1] - 1)]
        rmw = k_end > 0
        # the south port names the tile (``south_id``, registered every cycle) one cycle before its first
        # output (a_rd_half_q in the VCD of a WS 8x8 layer: every switch one cycle before its tile's first
        # output's read data)
        first = cycle[:1] if cycle.size == 0 else np.array([float(np.min(cycle)) - 1])  # one per tile or none
        self.switches[0].append(first.astype(float))
        self.switches[1].append(np.full(first.size, half))
        self._record(self.rmw, cycle[rmw], np.where(used, old, stale)[rmw], half)
        self._record(self.writes, cycle, np.where(used, new, np.where(rmw[:, None], stale, 0)), half)

    def _record(self, to: tuple[list, list, list], cycles, lines: np.ndarray, half: int) -> None:
        to[0].append(np.asarray(cycles, dtype=float))
        to[1].append(_patterns(lines, self.cfg.acc_bits))
        to[2].append(np.full(lines.shape[0], half))

    def array_side_flips(self) -> tuple[int, int]:
        """Bit flips of the ofmap SRAM's array-side read and write data nets (hdl/buffer.py, hdl/accel.py).

        Read: each half's read port holds the last line it read (read-modify-write and drain reads);
        ``a_rd_data`` shows the half of the output on the south port, which stays the finished tile's
        while it drains, so it carries both kinds of reads in time order. Write: each half's write port
        carries the lines written into it and zero between bursts; ``a_wr_data``
        (``Mux(first, w_data, a_rd_data + w_data)``) is the written line when an output arrives, and
        between outputs (``w_data`` zero, ``first`` low) what ``a_rd_data`` shows, the drain's lines too."""
        rc, rl, rh = (np.concatenate(x + y) for x, y in zip(self.rmw, self.drains, strict=True))
        wc, wl, wh = (np.concatenate(x) for x in self.writes)
        read = self._a_rd_flips(rc, rl, rh) + sum(
            _bus_flips(rc[rh == h], rl[rh == h], idle_zero=False) for h in (0, 1)
        )
        write = sum(_bus_flips(wc[wh == h], wl[wh == h], idle_zero=True) for h in (0, 1))
        return read, write + self._a_wr_flips(rc, rl, wc, wl)

    def a_rd_flips(self) -> int:
        """Bit flips of ``a_rd_data`` alone (:meth:`array_side_flips` counts them with the reads)."""
        rc, rl, rh = (np.concatenate(x + y) for x, y in zip(self.rmw, self.drains, strict=True))
        return self._a_rd_flips(rc, rl, rh)

    def _a_rd_flips(self, rc, rl, rh) -> int:
        """Flips of ``a_rd_data``: with ``tile_overlap`` the read port of the half of the tile whose
        outputs the south port shows last (:func:`a_rd_events`), else every read in time order."""
        if not self.cfg.tiles_overlap:
            return _bus_flips(rc, rl, idle_zero=False)
        sc, sh = (np.concatenate(x) for x in self.switches)
        return int(a_rd_events(rc, rl, rh, sc, sh)[0].sum())

    @staticmethod
    def _a_wr_flips(rc, rl, wc, wl) -> int:
        """Flips of ``a_wr_data``: outputs ``wl`` in cycles ``wc``, and between outputs (``w_data`` zero,
        ``first`` low) the read data ``rl`` (cycles ``rc``) as ``a_rd_data`` holds it."""
        return int(a_wr_events(rc, rl, wc, wl)[0].sum())

    def _write_tile(self, half: int, tile: dict) -> None:
        """The tile's results into its half: line ``lb * Eo + o`` holds lanes ``lb * P ..`` of row o."""
        g = self.geo
        el, eo = tile[f"{g.lane_dim}t"], tile[f"{g.other_dim}t"]
        lb = -(-el // self.lanes)
        o, blk = np.divmod(np.arange(eo * lb), lb)  # [line]
        lane = blk[:, None] * self.lanes + np.arange(self.lanes)  # [line, lane] within the tile
        lane_c = tile[f"{g.lane_dim}0"] + lane
        other_c = np.broadcast_to((tile[f"{g.other_dim}0"] + o)[:, None], lane.shape)
        m_idx, n_idx = (other_c, lane_c) if g.lane_dim == "n" else (lane_c, other_c)
        value = _partial_sums(self.a, self.b, m_idx, n_idx, np.full(o.size, tile["k0"] + tile["kt"]))
        line = np.minimum(blk * eo + o, self.content.shape[1] - 1)
        self.content[half][line] = np.where(lane < el, value, self.content[half][line])


def a_rd_events(rc, rl, rh, sc, sh, r_tag=None, s_tag=None) -> tuple[np.ndarray, np.ndarray]:
    """``a_rd_data`` with ``tile_overlap`` (``Mux(a_rd_half_q, data[1], data[0])``, hdl/buffer.py): it shows
    the read port of the half of the tile whose outputs last reached the south port (``out_c_half``), so
    the shadow half's drain reads show on it only until the next tile's first output, and from then on
    it holds that tile's half's last read. Reads ``rl[read, lane]`` of half ``rh`` in cycles ``rc``; the
    south port turns to half ``sh`` in cycles ``sc``. Returns the flips ``[value]`` of the value it holds
    at the end of each cycle with a read or a switch against the one before, and the tag ``[value, j]``
    of the read or switch that made it (``r_tag[read, j]``, ``s_tag[switch, j]``; default: none). The
    first value counts from zero, as the halves' ports (:func:`_bus_flips` without ``idle_zero``) do not."""
    r_tag = np.zeros((rc.size, 0), dtype=np.int64) if r_tag is None else r_tag
    s_tag = np.zeros((sc.size, 0), dtype=np.int64) if s_tag is None else s_tag
    if not rc.size:
        return np.zeros(0, dtype=np.int64), r_tag[:0]
    cyc = np.concatenate([sc, rc])
    is_read = np.r_[np.zeros(sc.size, bool), np.ones(rc.size, bool)]
    ev = np.lexsort((is_read, cyc))  # [event] by cycle, a switch before the reads of its cycle
    cyc, is_read = cyc[ev], is_read[ev]
    src = np.where(is_read, ev - sc.size, ev)  # [event] index into the reads or the switches
    pos = np.arange(ev.size)
    last_switch = np.maximum.accumulate(np.where(is_read, -1, pos))  # [event]
    sel = np.where(last_switch >= 0, sh[src[np.maximum(last_switch, 0)]], 0)  # [event] the half shown
    held = np.full(ev.size, -1)
    for h in (0, 1):  # each half's port: its last read so far
        mine = np.maximum.accumulate(np.where(is_read & (rh[np.where(is_read, src, 0)] == h), pos, -1))
        held = np.where(sel == h, mine, held)
    end = np.r_[cyc[1:] != cyc[:-1], True]  # [event] the last event of its cycle
    held, src, is_read = held[end], src[end], is_read[end]
    zero = np.zeros((1, rl.shape[1]), dtype=rl.dtype)
    read = ev[np.maximum(held, 0)] - sc.size  # [value] the read it shows
    val = np.where((held >= 0)[:, None], rl[np.maximum(read, 0)], zero)  # [value, lane]
    flips = np.bitwise_count(val ^ np.concatenate([zero, val[:-1]])).sum(axis=1).astype(np.int64)
    s_tag = s_tag if s_tag.shape[0] else np.zeros((1, r_tag.shape[1]), dtype=r_tag.dtype)
    tag = np.where(is_read[:, None], r_tag[np.where(is_read, src, 0)], s_tag[np.where(is_read, 0, src)])
    return flips, tag


def a_wr_events(rc, rl, wc, wl, r_tag=None, w_tag=None) -> tuple[np.ndarray, np.ndarray]:
    """``a_wr_data`` value by value (see :meth:`_WriteBus._a_wr_flips`): the flips ``[value]`` each value
    it shows makes against the one before, and its tag ``[value, j]``: an output's and the fall back to
    the read data after a burst of outputs the write's ``w_tag[write, j]``, a read shown between outputs
    the read's ``r_tag[read, j]`` (default: no tags)."""
    r_tag = np.zeros((rc.size, 0), dtype=np.int64) if r_tag is None else r_tag
    w_tag = np.zeros((wc.size, 0), dtype=np.int64) if w_tag is None else w_tag
    if not wc.size:
        return np.zeros(0, dtype=np.int64), w_tag
    order = np.argsort(wc, kind="stable")
    wc, wl, w_tag = wc[order], wl[order], w_tag[order]
    r_order = np.argsort(rc, kind="stable")
    rc, rl, r_tag = rc[r_order], rl[r_order], r_tag[r_order]
    gap = np.r_[np.diff(wc) > 1, True]  # [write] no output in the next cycle
    after = wc[gap] + 1  # the cycles a_wr_data falls back to the read data
    between = ~np.isin(rc, wc)  # reads outside output cycles (an output's own read is in its line)
    cyc = np.concatenate([wc, after, rc[between]])
    held = np.searchsorted(rc, after, side="right") - 1
    zero = np.zeros((1, wl.shape[1]), dtype=wl.dtype)
    val = np.concatenate([wl, np.where((held >= 0)[:, None], rl[np.maximum(held, 0)], zero), rl[between]])
    tag = np.concatenate([w_tag, w_tag[gap], r_tag[between]])
    is_out = np.r_[np.ones(wc.size, bool), np.zeros(after.size + int(between.sum()), bool)]
    ev = np.lexsort((~is_out, cyc))  # by cycle, an output before the fall-back and the reads of its cycle
    val = val[ev]
    flips = np.zeros(ev.size, dtype=np.int64)
    flips[1:] = np.bitwise_count(val[1:] ^ val[:-1]).sum(axis=1)
    return flips, tag[ev]


def _dram_bus(
    cfg: ArrayConfig, a: np.ndarray, b: np.ndarray, acc: int, sched, fill_rates: tuple, ifmap=None
) -> tuple:
    """Flips per word and bit of the DRAM read and write data buses, and per beat of their address buses,
    over the layer's first :data:`BUS_STEPS` steps, beat by beat as the controller moves the tiles
    (model/traces.py, ``sched``: the layer's memory schedule); the write data bus as :class:`_WriteBus`
    says, counted per word written; the fill ports' data over their counts' form with ``fill_rates``
    (:func:`.fill_ports.port_flips`). A layer read natively fetches its bands' rows of the ifmap
    (:func:`~systolic.model.band.native_dram_image`; ``ifmap``: its values, else those A holds)."""
    from ..memory import tile_record
    from ..traces import Dims, beat_walk, dram_beats
    from .fill_ports import form_flips, port_flips

    m, k = a.shape
    n = b.shape[1]
    tiles, steps = sched.tiles, sched.steps
    native = sched.plan.native[0] if sched.plan.native else None
    dims = Dims(cfg, m, n, k, native)
    bw = cfg.dram_bw_words_per_cycle
    rd_bits = max(cfg.input_bits, cfg.weight_bits)
    images = {"A": _dram_image(cfg, a, "A", native, ifmap), "B": _dram_image(cfg, b, "B")}
    lane = np.arange(bw)
    # cycles, words on the bus, words, addresses, first lanes in the SRAM line, words per beat, tensor
    # (0: A, 1: B) per beat
    reads: tuple[list, ...] = ([], [], [], [], [], [], [])
    writes: tuple[list, list] = ([], [])  # words, addresses
    bus = _WriteBus(cfg, dims, sched, a, b)
    for s in range(min(steps.layer.size, BUS_STEPS)):
        t0, j, drained = int(steps.start[s]), int(steps.load_tile[s]), None
        if j >= 0:
            offset = 0
            for x, load in (("A", tiles.load_a[j]), ("B", tiles.load_b[j])):
                if not load:
                    continue
                start, count, lane0 = beat_walk(cfg, dims, x, tile_record(tiles, j))
                idx = np.minimum(start[:, None] - dims.geo[x].offset + lane, images[x].size - 1)
                valid = lane < count[:, None]  # [beat, lane]
                reads[0].append(t0 + offset + np.arange(start.size))
                reads[1].append(_patterns(np.where(valid, images[x][np.where(valid, idx, 0)], 0), rd_bits))
                reads[2].append(int(count.sum()))
                reads[3].append(start)
                reads[4].append(lane0)
                reads[5].append(count)
                reads[6].append(np.full(count.size, "AB".index(x)))
                offset += start.size
        if steps.drain_tile[s] >= 0:
            drained, count = dram_beats(cfg, dims, "C", tile_record(tiles, int(steps.drain_tile[s])))
            writes[0].append(int(count.sum()))
            writes[1].append(drained)
        bus.step(s, drained)
    rates, per_beat = [], []
    for cyc, val, words, addr, bits, idle_zero in (
        (reads[0], reads[1], reads[2], reads[3], rd_bits, True),
        (bus.cycles, bus.words, writes[0], writes[1], acc, False),
    ):
        if not words:
            rates.append(0.0)
            per_beat.append(0.0)
            continue
        flips = _bus_flips(np.concatenate(cyc), np.concatenate(val), idle_zero)
        rates.append(flips / (bits * max(sum(words), 1)))
        # an address bus holds its last address between beats (each bus's beats are in time order)
        start = np.concatenate(addr).astype(np.uint64)
        per_beat.append(float(np.bitwise_count(start[1:] ^ start[:-1]).sum()) / start.size)
    # the drain's read port itself: whole lines, held between reads (per word written and bit, as the bus)
    port = 0.0
    if writes[0]:
        flips = _bus_flips(np.concatenate(bus.cycles), np.concatenate(bus.lines), idle_zero=False)
        port = flips / (acc * max(sum(writes[0]), 1))
    # the ofmap SRAM's array-side read and write data, per lane slot written and bit
    slots = sum(x.size for x in bus.writes[1])  # lane slots
    array_side = sum(bus.array_side_flips()) / (acc * max(slots, 1))
    fill = (1.0, 1.0)
    if reads[2]:
        beats = tuple(np.concatenate(reads[i]) for i in (0, 1, 5, 4, 6))
        fill = tuple(
            f / c if c > 0 else 1.0
            for f, c in zip(port_flips(cfg, beats), form_flips(cfg, beats, fill_rates), strict=True)
        )
    return rates[0], rates[1], per_beat[0], per_beat[1], port, array_side, *fill


def _c_sample(a: np.ndarray, b: np.ndarray, lane_axis: int) -> np.ndarray:
    """A few whole lines of C in DRAM order (lines along its lane axis)."""
    if lane_axis == 1:
        return a[_spread(a.shape[0], SAMPLE_C_ROWS)] @ b  # [row, n]
    return (a @ b[:, _spread(b.shape[1], SAMPLE_C_ROWS)]).T  # [col, m]
