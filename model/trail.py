"""The first-order recurrence behind ``tile_overlap``'s step timing, solved without a Python loop.

With ``tile_overlap`` a step ends when the array has taken its tile's last operands, and that tile's last
results reach the ofmap SRAM in the next step: the next step's barrier (and its drain of that tile) waits
for them. How long, ``t``, depends on how long the step before took, which depends on its own wait:

    t[s + 1] = clamp(b[s] - t[s], 0, max(a[s], 0)),    t[0] = 0

(:func:`systolic.model.memory.step_timing` says what ``a`` and ``b`` are). Every step's map
``t -> clamp(sigma * t + beta, lo, hi)`` (sigma in {-1, 0, 1}) belongs to a family closed under
composition, so the prefix compositions come out of a doubling scan over the steps (Hillis and Steele),
log2(steps) vectorised passes; a composition that collapses to a constant stops there.
"""

from __future__ import annotations

import numpy as np


def _compose(g: tuple, f: tuple) -> tuple:
    """``g after f`` for maps (sigma, beta, lo, hi): t -> clamp(sigma t + beta, lo, hi)."""
    sg, bg, lg, hg = g
    sf, bf, lf, hf = f
    shifted_lo = np.where(sg >= 0, sg * lf, sg * hf) + bg
    shifted_hi = np.where(sg >= 0, sg * hf, sg * lf) + bg
    lo = np.clip(shifted_lo, lg, hg)
    hi = np.clip(shifted_hi, lg, hg)
    sigma = np.where(lo < hi, sg * sf, 0)  # collapsed bounds: a constant
    return sigma, sg * bf + bg, lo, np.maximum(lo, hi)


def trail_scan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``t[..., s]`` of the recurrence in the module docstring for ``a``, ``b`` of shape ``[..., step]``
    (integers or floats; leading axes are independent rows)."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    hi = np.maximum(a, 0)
    zero = np.zeros_like(hi)
    maps = (np.where(hi > 0, -1, 0), np.where(hi > 0, b, 0), zero, hi)  # step s's map
    n = a.shape[-1]
    d = 1
    while d < n:
        open_ = maps[0][..., d:] != 0  # prefixes that still depend on earlier maps
        if not open_.any():
            break
        later = tuple(x[..., d:] for x in maps)
        earlier = tuple(x[..., :-d] for x in maps)
        composed = _compose(later, earlier)
        maps = tuple(
            np.concatenate([x[..., :d], np.where(open_, c, lt)], axis=-1)
            for x, c, lt in zip(maps, composed, later, strict=True)
        )
        d *= 2
    sigma, beta, lo, hi = maps
    after = np.clip(beta, lo, hi)  # the prefix ending at step s, applied to t[0] = 0
    return np.concatenate([np.zeros_like(after[..., :1]), after[..., :-1]], axis=-1)
