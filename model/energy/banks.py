"""The banked stationary operand of WS/IS with ``fold_overlap``: what each PE's multiplier input shows as
the folds run (hdl/pe.py, hdl/fold_pipeline.py), emulated per PE in the RTL's fold order."""

from __future__ import annotations

import numpy as np

from systolic.config import ArrayConfig

from .folds import computed_tiles
from .switching import _patterns


def bank_flips(cfg: ArrayConfig, sched, st: np.ndarray, bits: int, steps_max: int) -> tuple[float, float]:
    """Flips per PE, swap and bit of a banked PE's multiplier input (the bank its tag selects), and per
    PE, fold and bit of its bank registers (``w0``, ``w1``: one write per fold, 2,288 flips on a 4x4 WS
    layer, the RTL's 2,288), over the first ``steps_max`` steps' tiles; ``st[k, col]`` is the stationary
    operand (WS: B; IS: A^T).

    A fold's weights are loaded into the bank the tag does not show while the fold before streams, and
    the tag turns to it when that fold starts; at a tile's end the tag turns once more, to the other
    bank (its weights two folds old), and the next tile's first fold is written into that bank. A load
    writes the rows the fold uses, zeros in the columns it leaves unused; the rows it leaves unused keep
    their weights. Swaps per PE: one per fold and one per tile, as the regressor counts them."""
    r_all, c_all = cfg.rows, cfg.cols
    banks = np.zeros((2, r_all, c_all), dtype=np.uint64)  # [bank, row, col]
    sel, flips, swaps, writes, folds = 0, 0, 0, 0, 0
    shown = banks[0].copy()
    for _, _, row0, col0, ru, cu in computed_tiles(cfg, sched, steps_max):
        for i, (rb, cb, r, c) in enumerate(zip(row0, col0, ru, cu, strict=True)):
            sel = sel if i == 0 else 1 - sel  # the first fold of a tile: the bank the tag turned to
            new = banks[sel].copy()
            new[:r] = 0
            new[:r, :c] = _patterns(st[rb : rb + r, cb : cb + c], bits)
            writes += int(np.bitwise_count(new ^ banks[sel]).sum())
            banks[sel] = new
            folds += 1
            flips += int(np.bitwise_count(banks[sel] ^ shown).sum())
            shown = banks[sel].copy()
            swaps += 1
        sel = 1 - sel  # the tile's end
        flips += int(np.bitwise_count(banks[sel] ^ shown).sum())
        shown = banks[sel].copy()
        swaps += 1
    if not swaps:
        return 0.0, 0.0
    return flips / (bits * swaps * r_all * c_all), writes / (bits * folds * r_all * c_all)
