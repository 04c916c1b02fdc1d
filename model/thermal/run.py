"""The thermal part of a run: a per-interval power trace on a floorplan to the steady map, the transient
and the peak temperature with its block and time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.errors import InputError

from ..floorplan import Floorplan
from ..thermal_params import ThermalParams
from .block import (
    BlockModel,
    _check_power,
    _row_steps,
    block_modal,
    block_model,
    steady_block,
    transient_modal,
)
from .common import Leakage

# --------------------------------------------------------------------------- the thermal part of a run


@dataclass(frozen=True, eq=False)
class ThermalRun:
    """Temperatures of a run's power trace on its floorplan (block model).

    Attributes
    ----------
    floorplan : Floorplan
    steady_k : numpy.ndarray
        ``[block]`` steady temperatures under the trace's average power (with leakage when given).
    steady_nodes_k : numpy.ndarray
        ``[node]`` the whole steady state (``.steady`` order, :func:`node_names`).
    transient_k : numpy.ndarray
        ``[interval, block]`` temperatures at the end of every interval.
    times_s : numpy.ndarray
        ``[interval]`` end time of every interval.
    peak_k : float
        Highest block temperature of the transient.
    peak_block : str
    peak_time_s : float
        End of the interval where the peak occurs.
    steady_leakage_w : numpy.ndarray
        ``[block]`` leakage at the steady state (zeros without a leakage model).
    """

    floorplan: Floorplan
    steady_k: np.ndarray
    steady_nodes_k: np.ndarray
    transient_k: np.ndarray
    times_s: np.ndarray
    peak_k: float
    peak_block: str
    peak_time_s: float
    steady_leakage_w: np.ndarray

    @property
    def peak_row(self) -> int:
        return int(np.searchsorted(self.times_s, self.peak_time_s))


def reorder_columns(values: np.ndarray, names: tuple[str, ...] | list[str], flp: Floorplan) -> np.ndarray:
    """``[..., block]`` columns named ``names`` permuted into floorplan order (names must match)."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[-1] != len(names):
        raise InputError(f"{values.shape[-1]} power columns for {len(names)} block names", "power")
    wanted = {n.lower(): i for i, n in enumerate(flp.names)}
    extra = [n for n in names if n.lower() not in wanted]
    missing = sorted(set(flp.names) - {flp.names[wanted[n.lower()]] for n in names if n.lower() in wanted})
    if extra or missing or len(set(n.lower() for n in names)) != len(names):
        raise InputError(
            f"block names do not match the floorplan (not in it: {', '.join(extra) or 'none'}; "
            f"missing: {', '.join(missing) or 'none'})",
            "power",
        )
    out = np.empty_like(values)
    out[..., [wanted[n.lower()] for n in names]] = values
    return out


def run_inputs(
    flp: Floorplan, power_w: np.ndarray, interval_s: float | np.ndarray, params: ThermalParams | None
) -> tuple[ThermalParams, np.ndarray, np.ndarray]:
    """Checked inputs of a run: (params, default HotSpot's with ``init_temp`` = ambient; power
    ``[interval, block]``, finite and non-negative; interval lengths ``[interval]``)."""
    if params is None:
        base = ThermalParams()
        params = base.replace(init_temp_k=base.ambient_k)
    power = _check_power(np.atleast_2d(np.asarray(power_w, dtype=np.float64)), flp.n_blocks)
    if np.any(~np.isfinite(power)) or np.any(power < 0):
        raise InputError("power must be finite and non-negative", "power")
    return params, power, _row_steps(interval_s, params.sampling_intvl_s, power.shape[0])


def initial_temps_k(model: BlockModel, init: str | float, steady_k: np.ndarray) -> np.ndarray:
    """``[node]`` start of a run: ``"steady"`` (``steady_k``), ``"ambient"`` or one temperature."""
    if isinstance(init, str) and init in ("steady", "ambient"):
        return steady_k if init == "steady" else np.full(model.n_nodes, model.params.ambient_k)
    if isinstance(init, (int, float)) and not isinstance(init, bool):
        return np.full(model.n_nodes, float(init))
    raise InputError(f"init must be 'steady', 'ambient' or a temperature, not {init!r}", "init")


def thermal_run(
    flp: Floorplan,
    power_w: np.ndarray,
    interval_s: float | np.ndarray,
    names: tuple[str, ...] | list[str] | None = None,
    params: ThermalParams | None = None,
    leakage: Leakage | None = None,
    init: str | float = "steady",
) -> ThermalRun:
    """Steady state, transient and peak of a per-interval power trace on a floorplan (block model).

    Parameters
    ----------
    flp : Floorplan
    power_w : numpy.ndarray
        ``[interval, block]`` dynamic (or total) power per block.
    interval_s : float or numpy.ndarray
        Length of every interval (scalar or ``[interval]``).
    names : sequence of str, optional
        Block name of every column (default: floorplan order).
    params : ThermalParams, optional
        Package and ambient (default HotSpot's, with ``init_temp`` = ambient).
    leakage : callable, optional
        ``leakage(T_blocks_k) -> W`` added to ``power_w``: the steady state is the temperature-leakage
        fixed point, the transient re-evaluates it every interval.
    init : "steady", "ambient" or float
        Start of the transient: the steady state of the average power (the run repeated back to back,
        HotSpot's usual ``-init_file`` practice), ambient, or one temperature.
    """
    if names is not None:
        power_w = reorder_columns(np.atleast_2d(power_w), tuple(names), flp)
    params, power, dts = run_inputs(flp, power_w, interval_s, params)
    model = block_model(flp, params)
    steady = steady_block(model, (power * dts[:, None]).sum(axis=0) / dts.sum(), leakage)
    n = flp.n_blocks
    start = initial_temps_k(model, init, steady)
    temps, _ = transient_modal(block_modal(model), power, start, dts, leakage)
    times = np.cumsum(dts)
    row, block = np.unravel_index(int(np.argmax(temps)), temps.shape)
    leak_w = np.zeros(n) if leakage is None else np.asarray(leakage(steady[:n]), dtype=np.float64)
    return ThermalRun(
        model.floorplan,
        steady[:n],
        steady,
        temps,
        times,
        float(temps[row, block]),
        model.floorplan.names[block],
        float(times[row]),
        leak_w,
    )
