"""The thermal section of ``systolic run``: the floorplan of a config, the block model's steady state and
transient for a per-interval power trace, the peak, optionally DTM (``model/dtm.py``) and a PNG heatmap."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from systolic.config import ArrayConfig, dvfs_levels
from systolic.errors import InputError
from systolic.model.dtm import DtmPolicy, DtmResult, Leakage, OperatingPoint, pe_region, run_dtm
from systolic.model.floorplan import Floorplan
from systolic.model.thermal import ThermalRun
from systolic.model.thermal_params import ThermalParams


@dataclass(frozen=True, eq=False)
class ThermalSection:
    """What ``systolic run`` reports about temperature (see :func:`thermal_section`).

    Attributes
    ----------
    run : ThermalRun
        Steady map, transient, peak temperature, its block and time.
    dtm : systolic.model.dtm.DtmResult or None
        The managed run, when a limit was given.
    png : pathlib.Path or None
        The heatmap written.
    seconds : float
        Wall time of the thermal part (model, DTM; not the PNG).
    """

    run: ThermalRun
    dtm: DtmResult | None
    png: Path | None
    seconds: float

    def summary(self) -> dict[str, object]:
        """JSON-ready numbers for a report."""
        r = self.run
        out = {
            "model": "block",
            "peak_k": round(r.peak_k, 3),
            "peak_block": r.peak_block,
            "peak_time_s": r.peak_time_s,
            "steady_max_k": round(float(r.steady_k.max()), 3),
            "steady_hottest_block": r.floorplan.names[int(np.argmax(r.steady_k))],
            "steady_leakage_w": round(float(r.steady_leakage_w.sum()), 6),
        }
        if self.dtm is not None:
            d = self.dtm
            out["dtm"] = {
                "peak_k": round(d.peak_k, 3),
                "held": d.held,
                "unmanaged_peak_k": round(d.unmanaged_peak_k, 3),
                "throttled_intervals": d.throttled_intervals,
                "time_cost_s": d.time_cost_s,
                "energy_cost_j": d.energy_cost_j,
            }
        return out

    def lines(self) -> list[str]:
        """Human-readable lines for a report."""
        r = self.run
        out = [
            f"thermal: peak {_c(r.peak_k)} in {r.peak_block} at t = {r.peak_time_s * 1e3:.4g} ms; steady "
            f"{_c(float(r.steady_k.max()))} in {r.floorplan.names[int(np.argmax(r.steady_k))]}"
        ]
        if self.dtm is not None:
            d = self.dtm
            out.append(
                f"dtm: peak {_c(d.peak_k)} ({'held' if d.held else 'NOT held'}; unmanaged "
                f"{_c(d.unmanaged_peak_k)}), {d.throttled_intervals} of {len(d.level)} intervals "
                f"throttled, "
                f"+{d.time_cost_s * 1e3:.4g} ms, {d.energy_cost_j * 1e3:+.4g} mJ"
            )
        if self.png is not None:
            out.append(f"thermal map: {self.png}")
        return out


def thermal_section(
    cfg: ArrayConfig,
    power_w: np.ndarray,
    interval_s: float | np.ndarray,
    names: Sequence[str],
    png: str | os.PathLike | None = None,
    leakage: Leakage | np.ndarray | None = None,
    limit_k: float | None = None,
    points: Sequence[OperatingPoint] | None = None,
    region: str | Sequence[str] = "array",
    hysteresis_k: float = 0.2,
    compute_fraction: float | np.ndarray = 1.0,
    params: ThermalParams | None = None,
    tile: tuple[int, int] | None = None,
) -> ThermalSection:
    """The thermal part of ``systolic run``: the floorplan of ``cfg``, the block model's steady state and
    transient for a per-interval power trace, its peak, optionally DTM and a PNG heatmap.

    Parameters
    ----------
    cfg : ArrayConfig
    power_w : numpy.ndarray
        ``[interval, block]`` power per floorplan block (``model.power.block_power_w``).
    interval_s : float or numpy.ndarray
        Interval length(s).
    names : sequence of str
        Block name of every column (must be the blocks of ``floorplan_for(cfg, tile)``).
    png : path, optional
        Write the heatmap (steady state, and the moment of peak temperature).
    leakage : callable or numpy.ndarray, optional
        ``leakage(T_blocks_k) -> W``, or ``[block]`` leakage at ``energy.LEAK_T_REF_K`` scaled with
        temperature by ``energy.leakage_temperature_factor``'s law; then ``power_w`` should be dynamic
        only. Coupled: fixed point in steady state, re-evaluated every interval in the transient.
    limit_k : float, optional
        Run DTM holding this peak temperature.
    points : sequence of OperatingPoint, optional
        DTM operating points, fastest first; default the config's DVFS ladder (:func:`operating_points`).
    region : "array", "chip", "auto" or sequence of block names
        What DTM slows down; "auto": the PE array if the unmanaged hot spot is a PE tile, else the chip.
    hysteresis_k : float
        DTM steps back up only after an interval ending this far below the limit.
    compute_fraction : float or numpy.ndarray
        ``[interval]`` share of each interval paced by the throttled clock (see ``model/dtm.py``).
    """
    from systolic.model import thermal as th
    from systolic.model.floorplan import floorplan_for

    started = time.perf_counter()
    flp = floorplan_for(cfg, tile)
    if leakage is not None and not callable(leakage):
        leakage = th.exponential_leakage(
            th.reorder_columns(np.asarray(leakage, dtype=float), tuple(names), flp)
        )
    result = th.thermal_run(flp, power_w, interval_s, tuple(names), params, leakage)
    managed = None
    if limit_k is not None:
        policy = _policy(cfg, flp, result, limit_k, points, region, hysteresis_k)
        power = th.reorder_columns(power_w, tuple(names), flp)
        managed = run_dtm(flp, power, interval_s, policy, params, leakage, compute_fraction)
    seconds = time.perf_counter() - started
    path = None if png is None else _png(png, cfg, flp, result)
    return ThermalSection(result, managed, path, seconds)


def operating_points(cfg: ArrayConfig) -> tuple[OperatingPoint, ...]:
    """DTM's operating points, fastest first: the nominal point, then the config's DVFS ladder below it
    (``systolic.config.dvfs_levels``: ``dvfs_vdd_v``/``dvfs_clock_hz``, or the default voltages with
    alpha-power-law clocks). DTM only slows down, so ladder points above the nominal clock are left out."""
    volts, clocks = dvfs_levels(cfg)
    below = [(v, f) for v, f in zip(volts, clocks, strict=True) if f < cfg.clock_hz * (1 - 1e-9)]
    pairs = [(cfg.vdd_v, cfg.clock_hz), *sorted(below, key=lambda p: -p[1])]
    return tuple(OperatingPoint(float(v), float(f)) for v, f in pairs)


def _policy(
    cfg: ArrayConfig,
    flp: Floorplan,
    result: ThermalRun,
    limit_k: float,
    points: Sequence[OperatingPoint] | None,
    region: str | Sequence[str],
    hysteresis_k: float,
) -> DtmPolicy:
    if isinstance(region, str):
        if region not in ("array", "chip", "auto"):
            raise InputError(f"region must be 'array', 'chip', 'auto' or block names, not {region!r}", "dtm")
        if region == "auto":  # the PE array when it holds the unmanaged hot spot, else the chip
            region = "array" if result.peak_block.startswith("pe_t") else "chip"
        region = pe_region(flp) if region == "array" else None
    points = operating_points(cfg) if points is None else tuple(points)
    return DtmPolicy(limit_k, points, hysteresis_k, region=region)


def _png(png: str | os.PathLike, cfg: ArrayConfig, flp: Floorplan, result: ThermalRun) -> Path:
    from systolic.report.heatmap import Panel, write_heatmap

    peak = f"peak {_c(result.peak_k)} ({result.peak_block}) at t = {result.peak_time_s * 1e3:.4g} ms"
    panels = [
        Panel("steady state (average power)", flp, result.steady_k),
        Panel(peak, flp, result.transient_k[result.peak_row]),
    ]
    return write_heatmap(png, panels, suptitle=f"{cfg.name}: block temperatures (K)")


def _c(kelvin: float) -> str:
    """A temperature for people: degrees Celsius (files for HotSpot keep kelvin)."""
    return f"{kelvin - 273.15:.2f} °C"
