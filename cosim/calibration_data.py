"""Operand data of the energy calibration set: synthetic distributions and real data (no downloads).

A source makes A[M, K] and B[K, N] in a configuration's operand formats (:func:`source_operands`).
Synthetic: uniform, Gaussian, ReLU-sparse (half the activations zero), non-negative, narrow (a quarter
of the precision) and ternary weights. Real, from what scikit-learn ships and this repository trained:

* ``digits``: scikit-learn's 8 x 8 digit images as a 3 x 3 convolution's im2col rows (contiguous
  pixels along M, taps and then further images as channels along K), with the trained weights of the
  digits CNN (``configs/digits-cnn.npz``, :mod:`systolic.model.qnet`) quantized to the weight format;
* ``digits-relu``: the ReLU outputs of that CNN's first convolution on the digits (re-quantized), as the
  im2col rows of its second convolution, with its trained weights;
* ``photo``, ``photo-relu``: the same on scikit-learn's two sample photographs (427 x 640 RGB), with
  Gaussian filters. The calibration fits none of these two: they are held-out data sources.

Every value is scaled to the non-negative (activations) or symmetric (weights) range of its format; with
ternary weights (``weight_format``) the weights are -1, 0, +1 (uniform over them, other distributions
clipped to them, trained and Gaussian filters quantized to them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError


def format_range(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _formats(cfg: ArrayConfig) -> tuple[tuple[int, bool], tuple[int, bool]]:
    return (cfg.input_bits, cfg.input_signed), (cfg.weight_bits, cfg.weight_signed)


# --------------------------------------------------------------------------- synthetic


def uniform(bits: int, signed: bool, shape, rng: np.random.Generator) -> np.ndarray:
    lo, hi = format_range(bits, signed)
    return rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)


def gaussian(bits: int, signed: bool, shape, rng: np.random.Generator) -> np.ndarray:
    """Rounded normal values with a standard deviation of 1/8 of the range (|x| when unsigned)."""
    lo, hi = format_range(bits, signed)
    x = np.rint(rng.normal(0.0, (hi - lo + 1) / 8, size=shape))
    return np.clip(np.abs(x) if not signed else x, lo, hi).astype(np.int64)


def relu(bits: int, signed: bool, shape, rng: np.random.Generator) -> np.ndarray:
    """ReLU of Gaussian values: half of them zero, the rest non-negative."""
    return np.maximum(gaussian(bits, signed, shape, rng), 0)


def nonneg(bits: int, signed: bool, shape, rng: np.random.Generator) -> np.ndarray:
    """|Gaussian|: non-negative, few zeros."""
    _, hi = format_range(bits, signed)
    return np.minimum(np.abs(gaussian(bits, signed, shape, rng)), hi)


def narrow(bits: int, signed: bool, shape, rng: np.random.Generator) -> np.ndarray:
    """Uniform over a quarter of the bits: values a low-precision quantiser gives."""
    return uniform(max(bits // 4, 1) + (1 if signed else 0), signed, shape, rng)


def ternary(bits: int, signed: bool, shape, rng: np.random.Generator) -> np.ndarray:
    """-1, 0, +1 with equal probability (0, 1 when unsigned)."""
    return rng.integers(-1 if signed else 0, 1, size=shape, endpoint=True, dtype=np.int64)


def _pair(gen_a: Callable, gen_b: Callable) -> Callable:
    def make(cfg: ArrayConfig, m: int, n: int, k: int, rng: np.random.Generator):
        (ba, sa), (bb, sb) = _formats(cfg)
        a = gen_a(ba, sa, (m, k), rng)
        if cfg.weight_format == "ternary":  # -1, 0, +1 only: uniform over them, the others clipped
            gen = ternary if gen_b is uniform else gen_b
            return a, np.clip(gen(bb, sb, (k, n), rng), -1, 1)
        return a, gen_b(bb, sb, (k, n), rng)

    return make


# --------------------------------------------------------------------------- real data


@functools.lru_cache(maxsize=1)
def _digits() -> np.ndarray:
    """The 1,797 digits as ``[image, 8, 8]`` floats in 0..1."""
    from sklearn.datasets import load_digits

    return load_digits().images.astype(float) / 16.0


@functools.lru_cache(maxsize=1)
def _photos() -> np.ndarray:
    """scikit-learn's two sample photographs (427 x 640 RGB) cut into 32 x 32 grey-level crops ``[crop,
    32, 32]`` in 0..1, row by row (520 crops)."""
    from sklearn.datasets import load_sample_images

    crops = []
    for img in load_sample_images().images:
        grey = img.astype(float).mean(axis=2) / 255.0
        h, w = (s // 32 * 32 for s in grey.shape)
        crops.append(grey[:h, :w].reshape(h // 32, 32, w // 32, 32).swapaxes(1, 2).reshape(-1, 32, 32))
    return np.concatenate(crops)


@functools.lru_cache(maxsize=1)
def _trained() -> tuple[np.ndarray, ...]:
    """The float weights of the shipped digits CNN (conv 3x3 1->16, conv 3x3 16->32, fc 512->10)."""
    from importlib import resources

    with resources.files("systolic.configs").joinpath("digits-cnn.npz").open("rb") as f:
        data = np.load(f)
        return tuple(np.asarray(data[f"float_w{i}"], dtype=float) for i in range(3))


def _im2col(maps: np.ndarray) -> np.ndarray:
    """3 x 3, padding 1, stride 1 patches of ``maps[image, h, w, channel]``: rows ``[image * h * w]``,
    columns (tap row, tap column, channel)."""
    b, h, w, c = maps.shape
    xp = np.pad(maps, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = np.stack([xp[:, r : r + h, s : s + w, :] for r in range(3) for s in range(3)], axis=3)
    return cols.reshape(b * h * w, 9 * c)


def _activations(images: np.ndarray, m: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``[m, k]`` im2col rows of ``images[image, h, w, channel]``: consecutive images become extra input
    channels until K is covered, and the rows are ``m`` contiguous output pixels from a random start."""
    per = 9 * images.shape[3]
    groups = -(-k // per)
    pixels = images.shape[1] * images.shape[2]
    count = -(-m // pixels) + 1
    first = int(rng.integers(0, images.shape[0] - groups * count))
    stack = images[first : first + groups * count]
    stack = stack.reshape(count, groups, *images.shape[1:3], images.shape[3])
    maps = np.moveaxis(stack, 1, 3).reshape(count, *images.shape[1:3], groups * images.shape[3])
    x = _im2col(maps)[:, :k]
    start = int(rng.integers(0, x.shape[0] - m + 1))
    return x[start : start + m]


def _codes(x: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Non-negative reals in 0..1 as the non-negative codes of a format."""
    _, hi = format_range(bits, signed)
    return np.clip(np.floor(x * hi + 0.5), 0, hi).astype(np.int64)


def _weight_codes(w: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Float weights quantized symmetrically to the format (the magnitudes of the largest 1% clip), or
    to 0..max of their magnitude when unsigned."""
    lo, hi = format_range(bits, signed)
    top = hi if signed else hi
    scale = float(np.quantile(np.abs(w), 0.99)) or 1.0
    q = np.floor(w / scale * top + 0.5) if signed else np.floor(np.abs(w) / scale * top + 0.5)
    return np.clip(q, max(lo, -top), top).astype(np.int64)


def _tiled(w: np.ndarray, k: int, n: int) -> np.ndarray:
    reps = (-(-k // w.shape[0]), -(-n // w.shape[1]))
    return np.tile(w, reps)[:k, :n]


def _relu_maps(images: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """ReLU outputs of the digits CNN's first convolution (16 channels, normalised to 0..1) on ``count``
    consecutive images from a random start."""
    first = int(rng.integers(0, images.shape[0] - count))
    x = images[first : first + count, :, :, None]
    h = np.maximum(_im2col(x) @ _trained()[0], 0.0)  # [pixels, 16]
    h = h / (float(np.quantile(h, 0.995)) or 1.0)
    return np.minimum(h, 1.0).reshape(count, *images.shape[1:3], -1)


def _image_source(which: str, after_relu: bool, trained_weights: bool) -> Callable:
    def make(cfg: ArrayConfig, m: int, n: int, k: int, rng: np.random.Generator):
        (ba, sa), (bb, sb) = _formats(cfg)
        images = _digits() if which == "digits" else _photos()
        if after_relu:
            pixels = images.shape[1] * images.shape[2]
            per = 9 * 16
            count = (-(-m // pixels) + 1) * -(-k // per) + 1
            maps = _relu_maps(images, min(count, images.shape[0] - 1), rng)
        else:
            maps = images[..., None]
        a = _codes(_activations(maps, m, k, rng), ba, sa)
        w = _trained()[1 if after_relu else 0] if trained_weights else rng.normal(0.0, 1.0, (k, n))
        return a, _weight_codes(_tiled(w, k, n), bb, sb)

    return make


#: Data sources: name -> (cfg, m, n, k, rng) -> (A, B). The calibration fits the first ones and never
#: the sources in :data:`HELD_OUT_SOURCES`.
SOURCES: dict[str, Callable] = {
    "uniform": _pair(uniform, uniform),
    "gaussian": _pair(gaussian, gaussian),
    "relu": _pair(relu, gaussian),
    "nonneg": _pair(nonneg, gaussian),
    "narrow": _pair(narrow, narrow),
    "ternary": _pair(gaussian, ternary),
    "digits": _image_source("digits", after_relu=False, trained_weights=True),
    "digits-relu": _image_source("digits", after_relu=True, trained_weights=True),
    "photo": _image_source("photo", after_relu=False, trained_weights=False),
    "photo-relu": _image_source("photo", after_relu=True, trained_weights=True),
}
HELD_OUT_SOURCES: tuple[str, ...] = ("photo", "photo-relu")


def source_operands(cfg: ArrayConfig, source: str, m: int, n: int, k: int, rng: np.random.Generator):
    """A[M, K] and B[K, N] of ``cfg``'s operand formats from data source ``source``."""
    if source not in SOURCES:
        raise InputError(f"unknown data source {source!r} (known: {', '.join(SOURCES)})")
    return SOURCES[source](cfg, m, n, k, rng)
