"""Bit-true functional models of the two kinds of core: what numbers come out, not when or at what cost.

* :func:`digital_gemm`: the systolic array's integer arithmetic, ``A @ B`` with every sum wrapped to
  ``acc_bits`` (two's complement when an operand is signed). The RTL computes exactly this: the
  co-simulation checker (``cosim/harness.py: reference``) calls this function, so a divergence between
  model and RTL fails ``make cosim`` and the simulator tests.
* :func:`program_weights` and :func:`analog_gemm`: an analog crossbar core's noisy arithmetic. Weights
  are sliced into cells (and differential pairs for signed weights), programmed with a conductance error
  drawn once; inputs are applied ``dac_bits`` at a time; each read adds read noise, is attenuated by an
  optional IR drop, and is digitised by an ADC that quantizes and clips; shift-and-add and the
  accumulation across crossbars are exact integer arithmetic. With no noise, no IR drop and an ADC that
  counts every sum in unit steps (:attr:`AnalogConfig.adc_exact`) the result equals
  :func:`digital_gemm`'s bit for bit.

Every random draw comes from the ``numpy.random.Generator`` passed in: same seed, same bytes. Loops run
over crossbar row tiles and input slices (a handful), never over elements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from systolic.analog_config import AnalogConfig
from systolic.errors import InputError

# --------------------------------------------------------------------------- digital


def wrap(values: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """``values`` (int64) modulo ``2**bits``, as two's complement when ``signed``."""
    u = np.asarray(values, dtype=np.int64).astype(np.uint64)
    if bits < 64:
        u &= np.uint64((1 << bits) - 1)
    out = u.view(np.int64) if bits == 64 else u.astype(np.int64)
    if signed and bits < 64:
        out = np.where(out >= (1 << (bits - 1)), out - (1 << bits), out)
    return out


def digital_gemm(
    a: np.ndarray, b: np.ndarray, acc_bits: int, signed: bool, ternary: bool = False
) -> np.ndarray:
    """``A @ B`` (int64) wrapped to ``acc_bits``, two's complement when ``signed``: the systolic array's
    result for any dataflow (every partial sum wraps the same way, and wrapping commutes with addition).

    The int64 product wraps modulo 2**64, which is exact modulo 2**acc_bits for any acc_bits <= 64.
    ``ternary``: the array's PEs sign-select instead of multiplying (``weight_format = "ternary"``); for
    weights in {-1, 0, 1} selecting ``0``, ``x`` or ``-x`` is ``x * w``, so the result is the same
    ``A @ B``, and a weight outside -1..1 (which the PE would misread) is an :class:`InputError`.
    """
    if ternary and np.size(b) and (np.min(b) < -1 or np.max(b) > 1):
        raise InputError(f"ternary weights hold {int(np.min(b))}..{int(np.max(b))}, outside -1..1")
    with np.errstate(over="ignore"):
        full = np.asarray(a, dtype=np.int64) @ np.asarray(b, dtype=np.int64)
    return wrap(full, acc_bits, signed)


def block_operands(
    a_groups: np.ndarray, b_groups: np.ndarray, channels: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One GEMM for a block of independent GEMMs ``A_j @ B_j`` of one shape (the groups of a grouped
    convolution in blocks, ``group_blocks``): ``A`` ``[M, b K_g]`` and ``B`` block-diagonal
    (``[b K_g, b N_g]``, ``B_j`` on the diagonal, zero elsewhere), so that column block j of ``A @ B`` is
    ``A_j @ B_j``. A group's K_g = T x ``channels`` taps are in (t, c) order (a convolution's im2col: T
    filter taps of ``channels`` channels each); the block's K is in (t, j, c) order, tap-major with the
    block's channels innermost: the im2col order of the block's channel slice as one tensor
    (:meth:`~systolic.workload.ConvShape.block`). ``channels = K_g`` (the default, T = 1) puts the groups
    side by side, ``A = [A_0 | A_1 | ...]``.

    Parameters
    ----------
    a_groups : array ``[b, M, K_g]``
    b_groups : array ``[b, K_g, N_g]``
    channels : int, optional
        Channels per group (a divisor of K_g).
    """
    a_groups, b_groups = np.asarray(a_groups), np.asarray(b_groups)
    blocks, m, kg = a_groups.shape
    ng = b_groups.shape[2]
    cg = kg if channels is None else channels
    taps = kg // cg
    a = a_groups.reshape(blocks, m, taps, cg).transpose(1, 2, 0, 3).reshape(m, blocks * kg)  # [M, (t, j, c)]
    b = np.zeros((taps, blocks, cg, blocks, ng), dtype=b_groups.dtype)  # [tap, block, C_g, block, N_g]
    j = np.arange(blocks)
    b[:, j, :, j, :] = b_groups.reshape(blocks, taps, cg, ng)
    return a, b.reshape(blocks * kg, blocks * ng)


def operand_range(bits: int, signed: bool) -> tuple[int, int]:
    """Smallest and largest value of an operand (inclusive)."""
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def check_operand(values: np.ndarray, bits: int, signed: bool, what: str) -> np.ndarray:
    """``values`` as int64, or an InputError naming ``what`` if one is outside its format's range."""
    v = np.asarray(values)
    if not np.issubdtype(v.dtype, np.integer):
        raise InputError(f"{what} must be integers, not {v.dtype}")
    lo, hi = operand_range(bits, signed)
    if v.size and (v.min() < lo or v.max() > hi):
        fmt = f"{'signed' if signed else 'unsigned'} {bits}-bit"
        raise InputError(f"{what} hold {int(v.min())}..{int(v.max())}, outside the {fmt} range {lo}..{hi}")
    return v.astype(np.int64)


# --------------------------------------------------------------------------- analog


@dataclass(frozen=True)
class ProgrammedWeights:
    """Weights as programmed into crossbars.

    Attributes
    ----------
    g : np.ndarray, shape [K, N * slices * polarities]
        Effective conductance of each cell in units of one level (ideal values 0 .. 2**cell_bits - 1),
        with the programming error and the IR-drop attenuation applied; columns ordered (n, slice,
        polarity), which is also their order along the crossbars' bit lines.
    k, n : int
        The GEMM's K and N.
    """

    g: np.ndarray
    k: int
    n: int


def weight_cells(cfg: AnalogConfig, w: np.ndarray) -> np.ndarray:
    """Ideal cell levels of integer weights ``w[K, N]``: ``[K, N, slice, polarity]`` (int64).

    A signed weight is a differential pair (positive part, negative part) of ``weight_bits - 1`` bits
    each, so its range is symmetric (a signed 2-bit weight is ternary); each part's magnitude is cut into
    ``cell_bits`` digits, least significant slice first.
    """
    w = check_operand(w, cfg.weight_bits, cfg.weight_signed, "weights")
    if cfg.weight_signed and w.size and w.min() == -(1 << (cfg.weight_bits - 1)):
        top = (1 << (cfg.weight_bits - 1)) - 1
        raise InputError(
            f"weights hold {int(w.min())}, but a differential pair of {cfg.weight_bits - 1}-bit parts holds "
            f"the symmetric range -{top}..{top}"
        )
    parts = [np.maximum(w, 0), np.maximum(-w, 0)] if cfg.weight_signed else [w]
    mag = np.stack(parts, axis=-1)  # [K, N, polarity]
    shifts = cfg.cell_bits * np.arange(cfg.weight_slices)  # [slice]
    return (mag[:, :, None, :] >> shifts[None, None, :, None]) & ((1 << cfg.cell_bits) - 1)


def _ir_factor(cfg: AnalogConfig, k: int, cols: int) -> np.ndarray:
    """First-order IR-drop attenuation ``[K, cols]`` of each cell by its word line and bit line position."""
    i = np.arange(k) % cfg.rows  # [K] word line within its crossbar
    j = np.arange(cols) % cfg.cols  # [col] bit line within its crossbar
    return 1.0 - cfg.ir_drop * (i[:, None] / cfg.rows + j[None, :] / cfg.cols) / 2.0


def program_weights(cfg: AnalogConfig, w: np.ndarray, rng: np.random.Generator) -> ProgrammedWeights:
    """Program integer weights ``w[K, N]`` into crossbars, drawing each cell's programming error once.

    The error is normal with standard deviation ``program_sigma`` x the full conductance range; a
    conductance cannot leave the device's range, so the result is clipped to it.
    """
    cells = weight_cells(cfg, w)  # [K, N, slice, polarity]
    k, n = cells.shape[:2]
    g_max = float((1 << cfg.cell_bits) - 1)
    g = cells.reshape(k, -1).astype(np.float64)  # [K, N*slice*polarity]
    if cfg.program_sigma:
        g = np.clip(g + rng.normal(0.0, cfg.program_sigma * g_max, size=g.shape), 0.0, g_max)
    if cfg.ir_drop:
        g = g * _ir_factor(cfg, k, g.shape[1])
    return ProgrammedWeights(g=g, k=k, n=n)


def input_slices(cfg: AnalogConfig, x: np.ndarray) -> np.ndarray:
    """Integer inputs ``x[M, K]`` cut into ``dac_bits`` slices, ``[slice, M, K]``, least significant first.

    For signed inputs the slices are those of the two's-complement pattern, and the top slice is read as
    a signed number (its DAC drives a negative voltage), so ``x == sum(slice_s * 2**(s * dac_bits))``.
    """
    x = check_operand(x, cfg.input_bits, cfg.input_signed, "inputs")
    d, s_count = cfg.dac_bits, cfg.input_slices
    u = x & ((1 << cfg.input_bits) - 1)
    shifts = d * np.arange(s_count)
    sl = (u[None, :, :] >> shifts[:, None, None]) & ((1 << d) - 1)  # [slice, M, K]
    if cfg.input_signed:
        top_bits = cfg.input_bits - d * (s_count - 1)
        top = sl[-1] & ((1 << top_bits) - 1)
        sl[-1] = np.where(top >= (1 << (top_bits - 1)), top - (1 << top_bits), top)
    return sl


def adc_lsb(cfg: AnalogConfig) -> float:
    """The ADC's step in column-sum units: its range over its levels, never finer than one unit."""
    return max(1.0, cfg.adc_full_scale * cfg.max_column_sum / adc_levels(cfg))


def adc_levels(cfg: AnalogConfig) -> int:
    """Largest code magnitude: unipolar for unsigned inputs, bipolar (sign + magnitude) for signed."""
    return (1 << (cfg.adc_bits - 1)) - 1 if cfg.input_signed else (1 << cfg.adc_bits) - 1


def analog_gemm(
    cfg: AnalogConfig, x: np.ndarray, weights: ProgrammedWeights, rng: np.random.Generator
) -> np.ndarray:
    """``x[M, K] @ w[K, N]`` as the analog core computes it, in units of the integer product (float64).

    Per crossbar row tile and input slice: the bit-line sums of the programmed conductances, plus read
    noise (each cell's conductance drawn anew with standard deviation ``read_sigma`` x the full range,
    summed over the word lines as the column current does), digitised to integer ADC codes with
    rounding and clipping. The codes are shifted and added (input slice, weight slice, polarity) and
    accumulated across row tiles exactly, wrapped to ``acc_bits`` like the digital array's sums, and
    scaled by the ADC step.
    """
    if weights.k != np.shape(x)[1]:
        raise ValueError(f"x has K = {np.shape(x)[1]}, the programmed weights K = {weights.k}")
    xs = input_slices(cfg, x)  # [slice, M, K]
    m = xs.shape[1]
    n, slices, pol = weights.n, cfg.weight_slices, cfg.polarities
    lsb, levels = adc_lsb(cfg), adc_levels(cfg)
    lo = -levels if cfg.input_signed else 0
    g_max = float((1 << cfg.cell_bits) - 1)
    place = (1 << (cfg.cell_bits * np.arange(slices)))[:, None] * (np.array([1, -1])[:pol])[None, :]
    codes_total = np.zeros((m, n), dtype=np.int64)
    for r0 in range(0, weights.k, cfg.rows):
        g = weights.g[r0 : r0 + cfg.rows]  # [rows, N*slice*pol]
        for s in range(cfg.input_slices):
            xr = xs[s, :, r0 : r0 + cfg.rows].astype(np.float64)  # [M, rows]
            current = xr @ g  # [M, N*slice*pol]
            if cfg.read_sigma:
                spread = cfg.read_sigma * g_max * np.sqrt(np.square(xr).sum(axis=1))  # [M]
                current = current + rng.standard_normal(current.shape) * spread[:, None]
            codes = np.clip(np.floor(current / lsb + 0.5), lo, levels).astype(np.int64)
            codes = codes.reshape(m, n, slices, pol)
            with np.errstate(over="ignore"):
                codes_total += (codes * place[None, None]).sum(axis=(2, 3)) * (1 << (cfg.dac_bits * s))
    signed = cfg.input_signed or cfg.weight_signed
    return wrap(codes_total, cfg.acc_bits, signed).astype(np.float64) * lsb


def crossbars_for(cfg: AnalogConfig, k: int, n: int) -> int:
    """Crossbars one K x N weight matrix occupies: row tiles x column tiles of its cells."""
    return math.ceil(k / cfg.rows) * math.ceil(n * cfg.cols_per_weight / cfg.cols)
