"""systolic/flow/thermal.py: the thermal section of a run; DTM takes the config's one DVFS ladder."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.config import ArrayConfig, alpha_power_clock_hz, dvfs_levels
from systolic.flow.thermal import operating_points, thermal_section
from systolic.model.floorplan import floorplan_for


def test_dtm_points_are_the_dvfs_ladder_from_nominal_down():
    cfg = ArrayConfig(rows=8, cols=8)
    points = operating_points(cfg)
    volts, clocks = dvfs_levels(cfg)
    ladder = sorted(((v, f) for v, f in zip(volts, clocks, strict=True) if f <= cfg.clock_hz), reverse=True)
    assert [(p.vdd_v, p.freq_hz) for p in points] == pytest.approx(ladder)
    assert (points[0].vdd_v, points[0].freq_hz) == (cfg.vdd_v, cfg.clock_hz)
    assert max(clocks) > cfg.clock_hz  # the DVFS ladder boosts; DTM never does


def test_dtm_points_follow_dvfs_voltages_without_clocks():
    """Voltages alone: clocks from the alpha-power law (once DTM ignored voltages given without clocks)."""
    cfg = ArrayConfig(rows=8, cols=8, dvfs_vdd_v=(0.6, 0.75, 0.9))
    points = operating_points(cfg)
    assert [p.vdd_v for p in points] == [cfg.vdd_v, 0.75, 0.6]  # nominal first (0.9 V by default)
    assert [p.freq_hz for p in points] == pytest.approx(
        [alpha_power_clock_hz(cfg, v) for v in (0.9, 0.75, 0.6)]
    )


def test_dtm_holds_a_limit_the_unmanaged_run_exceeds():
    cfg = ArrayConfig(rows=8, cols=8)
    flp = floorplan_for(cfg)
    power = np.zeros((40, flp.n_blocks))
    power[:, flp.index(flp.names[0])] = 40.0  # one hot block
    free = thermal_section(cfg, power, 1e-3, flp.names)
    limit = (free.run.peak_k + free.run.steady_k.min()) / 2
    held = thermal_section(cfg, power, 1e-3, flp.names, limit_k=limit, region="chip")
    assert held.dtm is not None and held.dtm.peak_k < free.run.peak_k
    assert held.dtm.time_cost_s > 0
