"""A chip's tiles over time: the Gantt intervals of one mapping (busy, blocked, starved), per-tile power
per interval (``model/power.py``'s idea: every item's energy spread over its busy interval and summed per
interval), the floorplan generated from the tile grid, and its temperatures (HotSpot's block model for
the search's steady estimate, the grid model for the transient)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from systolic.chip_config import ChipConfig

from ..floorplan import Floorplan, floorplan_for
from ..power import integrate
from ..thermal import block_model, grid_model, steady_block, steady_grid, transient_grid
from ..thermal_params import ThermalParams
from .mapping import Evaluation


def tile_name(chip: ChipConfig, t: int) -> str:
    return f"tile_{t // chip.cols}_{t % chip.cols}"


def chip_floorplan(chip: ChipConfig) -> Floorplan:
    """One block per tile, ``tile_<row>_<col>``, each the size of the tile's own floorplan
    (:func:`systolic.model.floorplan.floorplan_for`); row 0 is the northernmost."""
    flp = floorplan_for(chip.tile)
    w, h = flp.chip_width_m, flp.chip_height_m
    t = np.arange(chip.tiles)
    r, c = t // chip.cols, t % chip.cols
    return Floorplan(
        tuple(tile_name(chip, int(i)) for i in t),
        np.full(chip.tiles, w),
        np.full(chip.tiles, h),
        c * w,
        (chip.rows - 1 - r) * h,
    )


def default_params() -> ThermalParams:
    """HotSpot's package with the run starting at ambient."""
    base = ThermalParams()
    return base.replace(init_temp_k=base.ambient_k)


def influence_k_per_w(chip: ChipConfig, params: ThermalParams | None = None) -> np.ndarray:
    """``[tile, tile]`` steady temperature rise of every tile per watt in every tile (block model):
    ``T = ambient + R @ P``, linear without leakage feedback."""
    params = params or default_params()
    model = block_model(chip_floorplan(chip), params)
    n = chip.tiles
    base = steady_block(model, np.zeros(n))[:n]
    return np.stack([steady_block(model, e)[:n] - base for e in np.eye(n)], axis=1)


def steady_peak_k(ev: Evaluation, influence: np.ndarray, ambient_k: float) -> np.ndarray:
    """``[mapping]`` hottest tile at every mapping's average power (the search's temperature objective)."""
    return ambient_k + (ev.tile_power_w @ influence.T).max(axis=1)


@dataclass(frozen=True, eq=False)
class Gantt:
    """One mapping's stages over time (seconds), ``[stage, item]`` each.

    Busy ``[start, finish]``: computing for ``compute_s``, then stalled on DRAM for the rest (the stage's
    shares' memory stall cycles at the tiles' DRAM lane; the model counts them per item and draws them
    after the computing part, not where in the service they fall), blocked (waiting for output space)
    ``[finish, depart]``, starved (a bubble: waiting for input) ``[free, start]`` with ``free`` the
    previous item's departure (0 first).
    """

    start_s: np.ndarray
    finish_s: np.ndarray
    depart_s: np.ndarray
    free_s: np.ndarray
    makespan_s: float
    stage_pj: np.ndarray  # [stage] dynamic energy on the die per item of all the stage's tiles
    tiles: np.ndarray  # [stage]
    tile_stage: np.ndarray  # [tile] stage on every tile (-1: unused)
    leak_w: np.ndarray  # [tile]
    compute_s: np.ndarray  # [stage] per item: the service less its DRAM stall cycles

    @property
    def stages(self) -> int:
        return int(self.start_s.shape[0])

    def computed_s(self) -> np.ndarray:
        """``[stage, item]`` end of the computing part of each service (its finish when no DRAM stall)."""
        service = self.finish_s - self.start_s
        stalled = self.compute_s[:, None] < service * (1 - 1e-12)
        return np.where(stalled, self.start_s + self.compute_s[:, None], self.finish_s)

    def totals_s(self) -> dict[str, np.ndarray]:
        """``[stage]`` time computing, stalled on DRAM, blocked and starved (the tail after the last item
        counts as starved)."""
        service = (self.finish_s - self.start_s).sum(axis=1)
        busy = (self.computed_s() - self.start_s).sum(axis=1)
        blocked = (self.depart_s - self.finish_s).sum(axis=1)
        return {
            "busy": busy,
            "dram": service - busy,
            "blocked": blocked,
            "starved": self.makespan_s - service - blocked,
        }


def gantt(ev: Evaluation, index: int = 0) -> Gantt:
    """The intervals of mapping ``index`` of ``ev``."""
    m = ev.maps.take(index)
    stages = int(m.stages[0])
    line, hz = ev.line, ev.clock_hz
    start = line.start[index, 0 : 2 * stages : 2] / hz
    finish = line.finish[index, 0 : 2 * stages : 2] / hz
    depart = line.depart[index, 0 : 2 * stages : 2] / hz
    free = np.concatenate([np.zeros((stages, 1)), depart[:, :-1]], axis=1)
    seconds = float(ev.makespan_cycles[index]) / hz
    tile_stage = m.tile_stage()[0]
    tile_w = ev.tile_power_w[index]
    dyn_w = np.zeros_like(tile_w)
    live = tile_stage >= 0
    per_tile = ev.stage_die_pj[index] / np.maximum(ev.maps.tiles[index], 1)
    dyn_w[live] = per_tile[tile_stage[live]] * ev.batch * 1e-12 / seconds
    return Gantt(
        start,
        finish,
        depart,
        free,
        seconds,
        ev.stage_die_pj[index, :stages],
        ev.maps.tiles[index, :stages],
        tile_stage,
        tile_w - dyn_w,
        (ev.stage_cycles[index, :stages] - ev.stall_cycles[index, :stages]) / hz,
    )


def tile_power_w(g: Gantt, edges_s: np.ndarray) -> np.ndarray:
    """``[interval, tile]`` mean power: each item's energy spread over its busy interval on the stage's
    tiles, plus every tile's leakage (a Python loop over stages, NumPy over items and intervals)."""
    width = np.diff(edges_s)
    out = np.tile(g.leak_w, (width.size, 1))
    for s in range(g.stages):
        per_tile_j = np.full((g.start_s.shape[1], 1), g.stage_pj[s] / g.tiles[s] * 1e-12)
        joules = integrate(g.start_s[s], g.finish_s[s] - g.start_s[s], per_tile_j, edges_s)[:, 0]
        out[:, g.tile_stage == s] += (joules / width)[:, None]
    return out


@dataclass(frozen=True, eq=False)
class ChipThermal:
    """The grid model's transient of a tile power trace.

    Attributes
    ----------
    tiles_k : numpy.ndarray
        ``[interval, tile]`` temperature at the end of every interval.
    peak_map_k : numpy.ndarray
        ``[grid row, grid col]`` silicon cells at the interval of the peak.
    steady_k : numpy.ndarray
        ``[tile]`` steady state of the average power (the transient's start: the batch run back to back).
    """

    tiles_k: np.ndarray
    peak_map_k: np.ndarray
    steady_k: np.ndarray

    @property
    def peak_k(self) -> float:
        return float(self.tiles_k.max())

    @property
    def peak_tile(self) -> int:
        return int(np.unravel_index(int(np.argmax(self.tiles_k)), self.tiles_k.shape)[1])

    @property
    def peak_row(self) -> int:
        return int(np.unravel_index(int(np.argmax(self.tiles_k)), self.tiles_k.shape)[0])


def grid_transient(
    chip: ChipConfig, power_w: np.ndarray, dt_s: float, params: ThermalParams | None = None, cells: int = 32
) -> ChipThermal:
    """Grid-model transient (``cells`` x ``cells`` grid, backward Euler) of ``power_w[interval, tile]``
    from the steady state of its average."""
    params = params or default_params()
    model = grid_model(chip_floorplan(chip), params, rows=cells, cols=cells, map_mode="avg")
    steady = steady_grid(model, power_w.mean(axis=0))
    run = transient_grid(model, power_w, steady.field_k, dt_s, keep="peak")
    field = model.layers_k(run.fields_k[0])[0]  # the silicon layer
    return ChipThermal(run.power_k, field, steady.power_k)
