"""The thermal section of ``systolic run``: the floorplan of a config, the block model's steady state and
transient for a per-interval power trace, the peak, optionally DTM (``model/dtm.py``) and a PNG heatmap."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from systolic.errors import InputError


@dataclass(frozen=True, eq=False)
class RunThermal:
    """What ``systolic run`` reports about temperature (see :func:`run_thermal`).

    Attributes
    ----------
    run : systolic.model.thermal.ThermalRun
        Steady map, transient, peak temperature, its block and time.
    dtm : systolic.model.dtm.DtmResult or None
        The managed run, when a limit was given.
    png : pathlib.Path or None
        The heatmap written.
    seconds : float
        Wall time of the thermal part (model, DTM; not the PNG).
    """

    run: Any
    dtm: Any
    png: Any
    seconds: float

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers for a report."""
        import numpy as np

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
        import numpy as np

        r = self.run
        out = [
            f"thermal: peak {r.peak_k:.2f} K in {r.peak_block} at t = {r.peak_time_s * 1e3:.4g} ms; steady "
            f"{float(r.steady_k.max()):.2f} K in {r.floorplan.names[int(np.argmax(r.steady_k))]}"
        ]
        if self.dtm is not None:
            d = self.dtm
            out.append(
                f"dtm: peak {d.peak_k:.2f} K ({'held' if d.held else 'NOT held'}; unmanaged "
                f"{d.unmanaged_peak_k:.2f} K), {d.throttled_intervals} of {len(d.level)} intervals "
                f"throttled, "
                f"+{d.time_cost_s * 1e3:.4g} ms, {d.energy_cost_j * 1e3:+.4g} mJ"
            )
        if self.png is not None:
            out.append(f"thermal map: {self.png}")
        return out


def run_thermal(
    cfg: Any,
    power_w: Any,
    interval_s: Any,
    names: Any,
    png: Any = None,
    leakage: Any = None,
    limit_k: float | None = None,
    points: Any = None,
    region: Any = "array",
    hysteresis_k: float = 0.2,
    compute_fraction: Any = 1.0,
    params: Any = None,
    tile: tuple[int, int] | None = None,
) -> RunThermal:
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
        DTM operating points, fastest first; default the config's DVFS points, else an alpha-power ladder.
    region : "array", "chip", "auto" or sequence of block names
        What DTM slows down; "auto": the PE array if the unmanaged hot spot is a PE tile, else the chip.
    hysteresis_k : float
        DTM steps back up only after an interval ending this far below the limit.
    compute_fraction : float or numpy.ndarray
        ``[interval]`` share of each interval paced by the throttled clock (see ``model/dtm.py``).
    """
    import numpy as np

    from systolic.model import dtm as dtm_model
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
        if points is None:
            points = _config_points(cfg, dtm_model)
        if isinstance(region, str):
            if region not in ("array", "chip", "auto"):
                raise InputError(
                    f"region must be 'array', 'chip', 'auto' or block names, not {region!r}", "dtm"
                )
            if region == "auto":  # the PE array when it holds the unmanaged hot spot, else the chip
                region = "array" if result.peak_block.startswith("pe_t") else "chip"
            region = dtm_model.pe_region(flp) if region == "array" else None
        policy = dtm_model.DtmPolicy(limit_k, tuple(points), hysteresis_k, region=region)
        power = th.reorder_columns(power_w, tuple(names), flp)
        managed = dtm_model.run_dtm(flp, power, interval_s, policy, params, leakage, compute_fraction)
    seconds = time.perf_counter() - started
    path = None
    if png is not None:
        from systolic.report.heatmap import Panel, write_heatmap

        row = result.peak_row
        panels = [
            Panel("steady state (average power)", flp, result.steady_k),
            Panel(
                f"peak {result.peak_k:.2f} K ({result.peak_block}) at t = {result.peak_time_s * 1e3:.4g} ms",
                flp,
                result.transient_k[row],
            ),
        ]
        path = write_heatmap(png, panels, suptitle=f"{cfg.name}: block temperatures (K)")
    return RunThermal(result, managed, path, seconds)


def _config_points(cfg: Any, dtm_model: Any) -> tuple:
    """The config's DVFS operating points (fastest first), or an alpha-power ladder from its supply."""
    if cfg.dvfs_vdd_v and cfg.dvfs_clock_hz:
        pairs = sorted(zip(cfg.dvfs_vdd_v, cfg.dvfs_clock_hz, strict=True), key=lambda p: -p[1])
        return tuple(dtm_model.OperatingPoint(float(v), float(f)) for v, f in pairs)
    return dtm_model.alpha_power_points(cfg.vdd_v, cfg.clock_hz, cfg.vth_v, cfg.alpha_power)
