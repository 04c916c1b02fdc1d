"""A small CNN for 8 x 8 digit images, trained in NumPy, and its fully quantized integer form.

Quantization follows FQ-Conv (B.-E. Verhoef et al., "FQ-Conv: Fully Quantized Convolution for Efficient
and Accurate Inference", arXiv:1912.09356, 2019): ternary weights (or symmetric ``weight_bits``
integers), unsigned ``act_bits`` activations, and nothing of higher precision between layers: no batch
norm, no float non-linearity. Each layer is an integer GEMM ``acc = A_int @ W_int`` (what the systolic
array or the analog core computes) followed by one requantization,
``clip(floor(acc x mult / 2**shift + 1/2), 0, 2**act_bits - 1)``, which folds the input step, the weight
scale and the output clip level into one integer multiplier and shift. The last
layer's accumulators are the logits.

Training (:func:`train`) is deterministic for a given seed: a float network first (ReLU, Adam), then
quantization-aware fine-tuning with straight-through gradients (ternary weights after Li & Liu,
"Ternary weight networks", 2016: threshold 0.7 x mean |w|, scale the mean of the kept magnitudes;
activation clip levels from the 99.5th percentile of each layer's pre-activations). Pure NumPy: loops
over epochs, batches and the 3 x 3 filter taps, never over elements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from systolic.workload import ConvShape, Layer, Workload


@dataclass(frozen=True)
class LayerSpec:
    """One layer: a ``size x size`` convolution (``size = 0``: fully connected over the whole input)."""

    name: str
    size: int
    in_ch: int
    out_ch: int
    stride: int = 1
    pad: int = 0


#: The digits network: 8x8x1 -> conv 3x3/1 -> 8x8x16 -> conv 3x3/2 -> 4x4x32 -> fc -> 10 classes.
DIGITS_CNN: tuple[LayerSpec, ...] = (
    LayerSpec("conv1", 3, 1, 16, stride=1, pad=1),
    LayerSpec("conv2", 3, 16, 32, stride=2, pad=1),
    LayerSpec("fc", 0, 512, 10),
)
IMAGE_HW = 8
#: Digits pixels are 0..16; the float network sees pixel / 16.
PIXEL_MAX = 16


def out_hw(spec: LayerSpec, hw: int) -> int:
    return (hw + 2 * spec.pad - spec.size) // spec.stride + 1 if spec.size else 1


def workload(specs: tuple[LayerSpec, ...] = DIGITS_CNN, name: str = "digits-cnn") -> Workload:
    """The network's layers as GEMMs for one image (convolutions by im2col)."""
    layers, hw = [], IMAGE_HW
    for spec in specs:
        if spec.size:
            shape = ConvShape(hw, hw, spec.size, spec.size, spec.in_ch, spec.out_ch, spec.stride, spec.stride,
                              spec.pad, spec.pad)  # fmt: skip
            layers.append(Layer.from_conv(spec.name, shape))
        else:
            layers.append(Layer(spec.name, 1, spec.out_ch, spec.in_ch))
        hw = out_hw(spec, hw)
    return Workload(name, tuple(layers))


# --------------------------------------------------------------------------- im2col


def im2col(x: np.ndarray, spec: LayerSpec) -> np.ndarray:
    """Patches ``[B * Ho * Wo, size * size * C]`` of ``x[B, H, W, C]``, taps ordered (row, col, channel)."""
    b, h, _, c = x.shape
    ho, st, f = out_hw(spec, h), spec.stride, spec.size
    xp = np.pad(x, ((0, 0), (spec.pad, spec.pad), (spec.pad, spec.pad), (0, 0)))
    cols = np.empty((b, ho, ho, f, f, c), dtype=x.dtype)
    for r in range(f):
        for s in range(f):
            cols[:, :, :, r, s, :] = xp[:, r : r + st * ho : st, s : s + st * ho : st, :]
    return cols.reshape(b * ho * ho, f * f * c)


def col2im(d: np.ndarray, spec: LayerSpec, shape: tuple[int, int, int, int]) -> np.ndarray:
    """The adjoint of :func:`im2col`: patch gradients summed back onto ``shape``."""
    b, h, _, c = shape
    ho, st, f, p = out_hw(spec, h), spec.stride, spec.size, spec.pad
    d = d.reshape(b, ho, ho, f, f, c)
    dxp = np.zeros((b, h + 2 * p, h + 2 * p, c), dtype=d.dtype)
    for r in range(f):
        for s in range(f):
            dxp[:, r : r + st * ho : st, s : s + st * ho : st, :] += d[:, :, :, r, s, :]
    return dxp[:, p : p + h, p : p + h, :]


def _gemm_input(h: np.ndarray, spec: LayerSpec) -> np.ndarray:
    return im2col(h, spec) if spec.size else h.reshape(h.shape[0], -1)


# --------------------------------------------------------------------------- quantizers


def quantize_weights(w: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    """Integer weights and their scale: ternary (TWN) for 2 bits, symmetric uniform above."""
    if bits == 2:
        delta = 0.7 * float(np.mean(np.abs(w)))
        keep = np.abs(w) > delta
        scale = float(np.abs(w)[keep].mean()) if keep.any() else 1.0
        return (np.sign(w) * keep).astype(np.int64), scale
    top = (1 << (bits - 1)) - 1
    scale = float(np.abs(w).max()) / top or 1.0
    return np.clip(np.floor(w / scale + 0.5), -top, top).astype(np.int64), scale


def quantize_act(a: np.ndarray, alpha: float, bits: int) -> np.ndarray:
    """Integer activation codes ``0 .. 2**bits - 1`` of real values clipped to ``[0, alpha]``."""
    levels = (1 << bits) - 1
    return np.clip(np.floor(a * (levels / alpha) + 0.5), 0, levels)


def input_codes(pixels: np.ndarray, bits: int) -> np.ndarray:
    """Digits pixels (0..16) as ``bits``-bit unsigned codes (int64)."""
    return quantize_act(np.asarray(pixels, dtype=np.float64) / PIXEL_MAX, 1.0, bits).astype(np.int64)


def fixed_point(m: float, mult_bits: int = 15) -> tuple[int, int]:
    """``(mult, shift)`` with ``mult / 2**shift`` closest to ``m > 0`` and ``mult`` of ``mult_bits`` bits."""
    shift = mult_bits - 1 - int(np.floor(np.log2(m)))
    return int(np.floor(m * 2.0**shift + 0.5)), shift


# --------------------------------------------------------------------------- the quantized network


@dataclass(frozen=True)
class QuantLayer:
    """One layer of the integer network: ``W_int[K, N]`` and the requantization of its accumulators."""

    spec: LayerSpec
    weights: np.ndarray
    mult: int
    shift: int


@dataclass(frozen=True)
class QuantNet:
    """The integer network (activation and weight widths, layers); the last layer outputs logits."""

    act_bits: int
    weight_bits: int
    layers: tuple[QuantLayer, ...]


def requantize(acc: np.ndarray, layer: QuantLayer, act_bits: int) -> np.ndarray:
    """Next layer's codes from accumulators (integers, or the analog core's real-valued estimates).

    Float64 arithmetic is exact here for integer accumulators below 2**37, far above any this network
    produces, so digital and ideal analog accumulators give identical codes.
    """
    levels = (1 << act_bits) - 1
    return np.clip(np.floor(acc * (layer.mult / 2.0**layer.shift) + 0.5), 0, levels).astype(np.int64)


#: A GEMM backend: ``(layer index, A_int[M, K], W_int[K, N]) -> accumulators[M, N]``.
Gemm = Callable[[int, np.ndarray, np.ndarray], np.ndarray]


def int_forward(net: QuantNet, codes: np.ndarray, gemm: Gemm) -> np.ndarray:
    """Logits ``[B, classes]`` of the integer network on input codes ``[B, 8, 8, 1]``, every GEMM done by
    ``gemm`` (the digital array's :func:`~systolic.model.functional.digital_gemm` or the analog core)."""
    h = codes
    for i, layer in enumerate(net.layers):
        b = h.shape[0]
        acc = gemm(i, _gemm_input(h, layer.spec), layer.weights)
        if i == len(net.layers) - 1:
            return acc.reshape(b, -1)
        hw = out_hw(layer.spec, h.shape[1])
        h = requantize(acc, layer, net.act_bits).reshape(b, hw, hw, layer.spec.out_ch)
    raise ValueError("a network needs at least one layer")


def float_forward(weights: tuple[np.ndarray, ...], pixels: np.ndarray, specs=DIGITS_CNN) -> np.ndarray:
    """Logits of the float network (ReLU between layers) on digits pixels ``[B, 8, 8, 1]``."""
    h = np.asarray(pixels, dtype=np.float64) / PIXEL_MAX
    for i, (w, spec) in enumerate(zip(weights, specs, strict=True)):
        b = h.shape[0]
        z = _gemm_input(h, spec) @ w
        if i == len(specs) - 1:
            return z.reshape(b, -1)
        hw = out_hw(spec, h.shape[1])
        h = np.maximum(z, 0).reshape(b, hw, hw, spec.out_ch)
    raise ValueError("a network needs at least one layer")


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class Trained:
    """The float weights (``[K, N]`` per layer) and the quantized network made from them."""

    float_weights: tuple[np.ndarray, ...]
    net: QuantNet


def _forward_train(ws, h, specs, quant):
    """Forward pass keeping what the backward pass needs. ``quant``: (alphas, act_bits, w_scales) or None."""
    tape = []
    for i, (w, spec) in enumerate(zip(ws, specs, strict=True)):
        b = h.shape[0]
        a = _gemm_input(h, spec)
        z = a @ w
        tape.append((h.shape, a, z))
        if i == len(specs) - 1:
            return z.reshape(b, -1), tape
        hw = out_hw(spec, h.shape[1])
        if quant is None:
            out = np.maximum(z, 0)
        else:
            alphas, bits, _ = quant
            out = quantize_act(z, alphas[i], bits) * (alphas[i] / ((1 << bits) - 1))
        h = out.reshape(b, hw, hw, spec.out_ch)
    raise ValueError("a network needs at least one layer")


def _backward(ws, tape, dlogits, specs, quant):
    grads = [None] * len(ws)
    d = dlogits
    for i in range(len(ws) - 1, -1, -1):
        shape, a, z = tape[i]
        if i < len(ws) - 1:
            d = d.reshape(z.shape)
            pass_mask = (z > 0) if quant is None else (z > 0) & (z < quant[0][i])
            d = d * pass_mask
        grads[i] = a.T @ d
        if i:
            da = d @ ws[i].T
            d = col2im(da, specs[i], shape) if specs[i].size else da.reshape(shape)
    return grads


def _adam(params, grads, state, lr, t, b1=0.9, b2=0.999, eps=1e-8):
    m, v = state
    for j, g in enumerate(grads):
        m[j] = b1 * m[j] + (1 - b1) * g
        v[j] = b2 * v[j] + (1 - b2) * g * g
        mh, vh = m[j] / (1 - b1**t), v[j] / (1 - b2**t)
        params[j] = params[j] - lr * mh / (np.sqrt(vh) + eps)


def _xent_grad(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0
    return p / len(y)


def _calibrate_alphas(ws_q, h, specs, act_bits, percentile):
    """Clip levels layer by layer on the quantized network's own pre-activations."""
    alphas = []
    for i, (w, spec) in enumerate(zip(ws_q[:-1], specs[:-1], strict=True)):
        b = h.shape[0]
        z = _gemm_input(h, spec) @ w
        alpha = float(np.percentile(z[z > 0], percentile)) if (z > 0).any() else 1.0
        alphas.append(alpha)
        hw = out_hw(spec, h.shape[1])
        h = (quantize_act(z, alpha, act_bits) * (alpha / ((1 << act_bits) - 1))).reshape(b, hw, hw, -1)
        del i
    return alphas


def train(
    pixels: np.ndarray,
    labels: np.ndarray,
    *,
    act_bits: int = 4,
    weight_bits: int = 2,
    seed: int = 0,
    float_epochs: int = 30,
    qat_epochs: int = 30,
    batch: int = 64,
    specs: tuple[LayerSpec, ...] = DIGITS_CNN,
    percentile: float = 99.5,
) -> Trained:
    """Train the float network, then fine-tune it quantized; deterministic for a given ``seed``.

    Parameters
    ----------
    pixels : array [B, 8, 8, 1]
        Digits images, pixel values 0..16.
    labels : array [B]
        Classes 0..9.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(pixels, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    ws = [rng.normal(0.0, np.sqrt(2.0 / k), size=(k, n)) for k, n in (gemm_shape(s) for s in specs)]

    def epochs(count, lr0, quant):
        state = ([np.zeros_like(w) for w in ws], [np.zeros_like(w) for w in ws])
        t = 0
        for e in range(count):
            lr = lr0 * 0.5 * (1 + np.cos(np.pi * e / count))
            order = rng.permutation(len(y))
            for start in range(0, len(y), batch):
                idx = order[start : start + batch]
                if quant is None:
                    inputs, used = x[idx] / PIXEL_MAX, ws
                else:
                    q = [quantize_weights(w, weight_bits) for w in ws]
                    used = [wi * s for wi, s in q]
                    inputs = input_codes(x[idx], act_bits) / ((1 << act_bits) - 1)
                logits, tape = _forward_train(used, inputs, specs, quant)
                grads = _backward(used, tape, _xent_grad(logits, y[idx]), specs, quant)
                t += 1
                _adam(ws, grads, state, lr, t)

    epochs(float_epochs, 1e-2, None)
    float_weights = tuple(w.copy() for w in ws)
    q = [quantize_weights(w, weight_bits) for w in ws]
    x_in = input_codes(x, act_bits) / ((1 << act_bits) - 1)
    alphas = _calibrate_alphas([wi * s for wi, s in q], x_in, specs, act_bits, percentile)
    epochs(qat_epochs, 2e-3, (alphas, act_bits, None))
    return Trained(float_weights, _integer_net(ws, alphas, act_bits, weight_bits, specs))


def post_training(
    float_weights: tuple[np.ndarray, ...],
    pixels: np.ndarray,
    *,
    act_bits: int = 4,
    weight_bits: int = 2,
    specs: tuple[LayerSpec, ...] = DIGITS_CNN,
    percentile: float = 99.5,
) -> QuantNet:
    """The integer network of float weights without fine-tuning (post-training quantization): the same
    weight quantizer and clip levels (calibrated on ``pixels``) as :func:`train`'s, but no
    quantization-aware epochs, so it loses what those would win back."""
    q = [quantize_weights(np.asarray(w, dtype=np.float64), weight_bits) for w in float_weights]
    x_in = input_codes(np.asarray(pixels, dtype=np.float64), act_bits) / ((1 << act_bits) - 1)
    alphas = _calibrate_alphas([wi * s for wi, s in q], x_in, specs, act_bits, percentile)
    return _integer_net(list(float_weights), alphas, act_bits, weight_bits, specs)


def gemm_shape(spec: LayerSpec) -> tuple[int, int]:
    return (spec.size * spec.size * spec.in_ch if spec.size else spec.in_ch), spec.out_ch


def _integer_net(ws, alphas, act_bits, weight_bits, specs) -> QuantNet:
    levels = (1 << act_bits) - 1
    step_in = 1.0 / levels  # the input codes' step (pixels / 16 clipped to [0, 1])
    layers = []
    for i, (w, spec) in enumerate(zip(ws, specs, strict=True)):
        w_int, scale = quantize_weights(w, weight_bits)
        if i < len(specs) - 1:
            mult, shift = fixed_point(step_in * scale * levels / alphas[i])
            step_in = alphas[i] / levels
        else:
            mult, shift = 1, 0  # logits: the accumulators themselves (argmax does not need the scale)
        layers.append(QuantLayer(spec, w_int, mult, shift))
    return QuantNet(act_bits, weight_bits, tuple(layers))
