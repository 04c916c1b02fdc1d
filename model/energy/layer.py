"""Energy per layer and component class: predicted toggles times the energy per toggle, plus leakage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.config import ArrayConfig

from .activity import (
    Calibration,
    LayerActivityCounts,
    action_counts,
    activity_counts,
    predict_toggles,
    predict_toggles_by_activity,
    toggle_features,
)
from .defaults import default_stats
from .leakage import LEAK_T_REF_K, leakage_w
from .tables import EnergyTable, build_table, scale_activity


def energy_per_toggle_pj(
    cfg: ArrayConfig,
    counts: LayerActivityCounts,
    calibration: Calibration,
    table: EnergyTable | None = None,
    reference_stats: np.ndarray | None = None,
    reference_features: np.ndarray | None = None,
) -> np.ndarray:
    """Energy per predicted bit toggle of each class in each layer ``[layer, class]`` (pJ).

    The anchor: Horowitz's energies (the table at :data:`REFERENCE_ACTIVITY`) are those of random
    operands, so a layer's actions on independent uniform operands without zero gating cost exactly
    ``counts @ table`` at that activity, and each toggle the model predicts for them costs that energy
    over that many toggles. Other data, zero gating and stale lanes then cost what their toggles do. The
    RTL's nets give the data dependence; the table gives the energy scale and its growth with width
    (a multiplier's internal switching grows as a*b, which the VCD's operand nets do not show).
    ``reference_stats`` ``[layer, stat]``: :func:`~.defaults.default_stats` of the layers (computed from
    ``counts`` when not given, with K = MACs / (M N) unknown, so pass them); ``reference_features``:
    their :func:`~.activity.toggle_features` without zero gating, if at hand.
    """
    table = table or build_table(cfg)
    e_ref = scale_activity(table).energy_by_class(action_counts(cfg, counts))  # [layer, class]
    if reference_stats is None:
        reference_stats = default_stats(cfg, np.full(counts.macs.size, cfg.rows))
    ungated = cfg.replace(zero_gating=False) if cfg.zero_gating else cfg  # replace validates: skip it
    ref = predict_toggles(ungated, counts, reference_stats, calibration, reference_features)  # [layer, class]
    return np.divide(e_ref, ref, out=np.zeros_like(e_ref), where=ref > 0)


@dataclass(frozen=True)
class LayerEnergy:
    """Energy of each layer per component class (all pJ, ``[layer, class]`` in :data:`COMPONENT_CLASSES`
    order, or ``[layer]``).

    Attributes
    ----------
    dynamic_pj : predicted toggles x energy per toggle (:func:`energy_per_toggle_pj`)
    leakage_pj : leakage power x the layer's cycles / clock
    toggles : predicted bit toggles (what the calibration fits against the RTL)
    activity : the activity factor this energy corresponds to in the table's convention
        (``dynamic_pj = counts @ full-swing table x activity``; 0.5 for random operands without gating)
    macs, cycles : ``[layer]``
    clock_hz : the clock the leakage and the power figures assume
    by_activity_pj : ``[layer, activity, class]``, the dynamic energy by when in a step it is spent
        (:data:`~.activity.ACTIVITIES`; the power model places each activity's energy in its window)
    """

    dynamic_pj: np.ndarray
    leakage_pj: np.ndarray
    toggles: np.ndarray
    activity: np.ndarray
    macs: np.ndarray
    cycles: np.ndarray
    clock_hz: float
    by_activity_pj: np.ndarray | None = None

    @property
    def energy_pj(self) -> np.ndarray:
        """Dynamic plus leakage, ``[layer, class]``."""
        return self.dynamic_pj + self.leakage_pj

    @property
    def total_pj(self) -> np.ndarray:
        """``[layer]``."""
        return self.energy_pj.sum(axis=-1)

    def pj_per_mac(self) -> np.ndarray:
        """Energy per MAC of each layer ``[layer]`` (:func:`pj_per_mac` for the whole workload)."""
        return pj_per_mac(self.total_pj, self.macs)

    def tops_per_w(self) -> float:
        """Whole workload: 2 ops per MAC over all energy (:func:`tops_per_w`)."""
        return tops_per_w(self.total_pj.sum(), self.macs.sum())


def pj_per_mac(energy_pj: float | np.ndarray, macs: float | np.ndarray) -> np.ndarray:
    """Energy per multiply-accumulate (pJ)."""
    return np.asarray(energy_pj, dtype=float) / np.asarray(macs, dtype=float)


def tops_per_w(energy_pj: float | np.ndarray, macs: float | np.ndarray) -> np.ndarray:
    """Tera-operations per second per watt (= ops per pJ), counting a MAC as 2 operations; independent of
    the clock, which scales operations per second and power alike."""
    return 2.0 * np.asarray(macs, dtype=float) / np.asarray(energy_pj, dtype=float)


def layer_energy(
    cfg: ArrayConfig,
    gemm,
    memory=None,
    *,
    calibration: Calibration,
    stats: np.ndarray | None = None,
    zero_frac: float | np.ndarray = 0.0,
    temperature_k: float = LEAK_T_REF_K,
    table: EnergyTable | None = None,
) -> LayerEnergy:
    """Energy of every layer per component class, vectorised over layers.

    Parameters
    ----------
    cfg : ArrayConfig
        Architecture, widths, zero gating, node, supply and clock.
    gemm : GemmArrays
        The layers (``GemmArrays.from_workload(workload)``).
    memory : MemoryResult, optional
        ``memory_cycles(cfg, gemm)`` if already computed (its tiles, accesses and cycles are used).
    calibration : Calibration
        Toggle coefficients (``systolic.formats.calibration.load_calibration()``).
    stats : array ``[stat]`` or ``[layer, stat]``, optional
        Statistics of the layers' streams (:func:`~.streams.layer_stats` from real tensors, or a data
        profile). Without them: independent uniform operands at the configured widths with a share
        ``zero_frac`` of zeros in both A and B (:func:`~.defaults.default_stats`; B also zero off the
        diagonal blocks of a grouped convolution in blocks), the statistics-free default for a network
        without data.
    zero_frac : float or array ``[layer]``
        Zero fraction of the default statistics (ignored when ``stats`` are given).
    temperature_k : float
        Temperature for leakage.
    table : EnergyTable, optional
        Full-swing energy table; default :func:`build_table(cfg) <build_table>`.
    """
    from ..memory import memory_cycles

    if memory is None:
        memory = memory_cycles(cfg, gemm)
    counts = activity_counts(cfg, gemm, memory)
    tile_k = memory.schedule.plan.tk
    reference = default_stats(cfg, gemm.k, 0.0, tile_k)
    blocks = gemm.block_counts  # block-diagonal B (group_blocks): its zeros
    if stats is None:
        dense = np.all(np.asarray(zero_frac) == 0) and np.all(np.asarray(blocks) == 1)
        channels = [1 if c is None else c.channels // c.groups for c in (gemm.conv or [None] * gemm.m.size)]
        stats = reference if dense else default_stats(cfg, gemm.k, zero_frac, tile_k, blocks, channels)
    features = toggle_features(cfg, counts, stats)  # [layer, class, feature]
    by_activity = predict_toggles_by_activity(cfg, counts, stats, calibration, features)
    toggles = by_activity.sum(axis=1)  # [layer, class]
    table = table or build_table(cfg)
    same = stats is reference and not cfg.zero_gating  # the reference's features are these
    per_toggle = energy_per_toggle_pj(
        cfg, counts, calibration, table, reference, features if same else None
    )  # [layer, class]
    dynamic = toggles * per_toggle
    full = table.energy_by_class(action_counts(cfg, counts))  # [layer, class] at full swing
    activity = np.divide(dynamic, full, out=np.zeros_like(dynamic), where=full > 0)
    seconds = counts.cycles / cfg.clock_hz  # [layer]
    leak = seconds[:, None] * leakage_w(cfg, temperature_k)[None, :] * 1e12  # [layer, class]
    return LayerEnergy(
        dynamic_pj=dynamic,
        leakage_pj=leak,
        toggles=toggles,
        activity=activity,
        macs=gemm.macs,  # useful MACs (a block-diagonal B's zero blocks left out)
        cycles=counts.cycles,
        clock_hz=cfg.clock_hz,
        by_activity_pj=by_activity * per_toggle[:, None, :],
    )
