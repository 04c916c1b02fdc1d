"""model/dtm.py: the controller holds a temperature limit, costs time (never less than nominal) and is
idle when the limit is not threatened; operating points and power scaling as documented."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.errors import InputError
from systolic.model import dtm
from systolic.model import thermal as th
from systolic.model.floorplan import Floorplan

PARAMS = th.ThermalParams(ambient_k=300.0, init_temp_k=300.0)
POINTS = (
    dtm.OperatingPoint(1.0, 1.0e9),
    dtm.OperatingPoint(0.9, 0.8e9),
    dtm.OperatingPoint(0.8, 0.6e9),
    dtm.OperatingPoint(0.7, 0.4e9),
)


def floorplan() -> Floorplan:
    """pe_t0_0 and pe_t0_1 (the array) beside an SRAM, 6 x 4 mm."""
    return Floorplan(
        ("pe_t0_0", "pe_t0_1", "sram"), [2e-3, 2e-3, 2e-3], [4e-3, 4e-3, 4e-3], [0, 2e-3, 4e-3], [0, 0, 0]
    )


def bursts(n_rows: int = 300) -> np.ndarray:
    """[interval, block]: the array alternates 100 busy and 100 quiet intervals; the SRAM is steady."""
    busy = (np.arange(n_rows) // 100) % 2 == 0
    power = np.zeros((n_rows, 3))
    power[:, :2] = np.where(busy, 12.0, 2.0)[:, None]
    power[:, 2] = 1.0
    return power


def leak(t_k: np.ndarray) -> np.ndarray:
    return 0.2 * np.exp((np.asarray(t_k) - 300.0) / 25.0)


def run(limit_k: float, points=POINTS, region=("pe_t0_0", "pe_t0_1"), **kw) -> dtm.DtmResult:
    policy = dtm.DtmPolicy(limit_k, points, region=region)
    return dtm.run_dtm(floorplan(), bursts(), 2e-3, policy, PARAMS, leak, init="ambient", **kw)


@pytest.fixture(scope="module")
def unmanaged_peak_k() -> float:
    return run(1e4).unmanaged_peak_k


def test_holds_a_limit_below_the_unmanaged_peak(unmanaged_peak_k):
    limit = unmanaged_peak_k - 0.4 * (unmanaged_peak_k - 300.0)
    result = run(limit)
    assert result.held and result.peak_k <= limit + 1e-9
    assert result.unmanaged_peak_k == pytest.approx(unmanaged_peak_k)
    assert 0 < result.throttled_intervals < len(result.level)
    assert result.time_cost_s > 0
    # hysteresis: it steps back up once the array goes quiet
    assert result.level[-1] == 0 or result.level[150] < result.level.max()


def test_no_throttling_when_the_limit_is_above_the_unmanaged_peak(unmanaged_peak_k):
    result = run(unmanaged_peak_k + 0.5)
    assert result.throttled_intervals == 0 and not result.level.any()
    assert result.time_cost_s == 0.0 and result.energy_cost_j == 0.0
    assert result.peak_k == pytest.approx(unmanaged_peak_k)


@pytest.mark.parametrize("fraction", [1.0, 0.5, 0.0])
def test_costs_are_never_negative_in_time_and_not_in_energy_at_fixed_voltage(unmanaged_peak_k, fraction):
    limit = unmanaged_peak_k - 0.3 * (unmanaged_peak_k - 300.0)
    assert run(limit, compute_fraction=fraction).time_cost_s >= 0
    clock_only = tuple(dtm.OperatingPoint(1.0, p.freq_hz) for p in POINTS)  # throttling without DVFS
    result = run(limit, points=clock_only, compute_fraction=fraction)
    assert result.time_cost_s >= 0
    assert result.energy_cost_j >= -1e-12  # same switching energy, leaking for longer


def test_power_and_time_scaling_of_the_slowest_point():
    # a limit at ambient forces the slowest point everywhere: chip-wide, compute-bound, no leakage
    power = bursts(10)
    policy = dtm.DtmPolicy(300.0, POINTS)
    result = dtm.run_dtm(floorplan(), power, 2e-3, policy, PARAMS, init="ambient")
    assert not result.held and np.all(result.level == 3)
    v, f = 0.7, 0.4  # relative to nominal
    np.testing.assert_allclose(result.duration_s, 2e-3 / f)
    np.testing.assert_allclose(result.power_w, power * v**2 * f)  # alpha C V^2 f
    assert result.energy_j == pytest.approx(result.unmanaged_energy_j * v**2)
    # half memory-bound: the interval stretches by 0.5 / f + 0.5; energy still scales with V^2
    half = dtm.run_dtm(floorplan(), power, 2e-3, policy, PARAMS, init="ambient", compute_fraction=0.5)
    np.testing.assert_allclose(half.duration_s, 2e-3 * (0.5 / f + 0.5))
    assert half.energy_j == pytest.approx(half.unmanaged_energy_j * v**2)


def test_region_only_scales_its_blocks():
    power = bursts(10)
    policy = dtm.DtmPolicy(300.0, POINTS, region=("pe_t0_0",))
    result = dtm.run_dtm(floorplan(), power, 2e-3, policy, PARAMS, init="ambient")
    np.testing.assert_allclose(result.power_w[:, 0], power[:, 0] * 0.49 * 0.4)
    np.testing.assert_allclose(result.power_w[:, 1:], power[:, 1:] * 0.4)  # same energy, longer interval


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"points": ()}, "dtm: points: at least one operating point is needed"),
        (
            {"points": (dtm.OperatingPoint(0.8, 1e9), dtm.OperatingPoint(0.9, 0.5e9))},
            "dtm: points: operating points must go from fastest to slowest: frequency falling, voltage not rising",
        ),
        (
            {"points": (dtm.OperatingPoint(0.0, 1e9),)},
            "dtm: points: voltages and frequencies must be positive",
        ),
        ({"limit_k": float("nan")}, "dtm: limit_k: limit must be a positive temperature, not nan"),
        ({"hysteresis_k": -1.0}, "dtm: hysteresis_k: hysteresis must be non-negative, not -1"),
    ],
)
def test_policy_errors(kwargs, message):
    args = {"limit_k": 350.0, "points": POINTS, **kwargs}
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        dtm.DtmPolicy(**args)


def test_run_errors():
    with pytest.raises(InputError, match="dtm: region: region blocks not in the floorplan: alu"):
        dtm.run_dtm(floorplan(), bursts(5), 1e-3, dtm.DtmPolicy(350.0, POINTS, region=("alu",)), PARAMS)
    with pytest.raises(InputError, match="compute_fraction: compute fraction must be in 0..1"):
        dtm.run_dtm(floorplan(), bursts(5), 1e-3, dtm.DtmPolicy(350.0, POINTS), PARAMS, compute_fraction=2.0)


def test_steady_start_is_the_managed_runs_own_fixed_point():
    """init="steady": the unmanaged run starts from the steady state of its average power, the managed one
    from the policy's fixed point. A limit between the two starts holds (it could not while the managed
    run started from the hotter unmanaged steady state), and starting the managed run again from where
    it started reproduces it."""
    policy = lambda limit: dtm.DtmPolicy(limit, POINTS, region=("pe_t0_0", "pe_t0_1"))  # noqa: E731
    flp, power = floorplan(), bursts()
    free = dtm.run_dtm(flp, power, 2e-3, policy(1e4), PARAMS, leak)
    model = th.block_model(flp, PARAMS)
    unmanaged_start = th.steady_block(model, power.mean(axis=0), leak)[:3].max()
    limit = unmanaged_start - 0.5
    result = dtm.run_dtm(flp, power, 2e-3, policy(limit), PARAMS, leak)
    assert result.held and result.peak_k <= limit + 1e-9
    assert result.unmanaged_peak_k == pytest.approx(free.unmanaged_peak_k)
    assert result.throttled_intervals > 0
    # the managed run started from its own, cooler steady state; the unmanaged one from its average power's
    assert result.unmanaged_start_k.max() == pytest.approx(unmanaged_start)
    assert result.start_k.max() < limit
    # deterministic: the same inputs give the same start
    again = dtm.run_dtm(flp, power, 2e-3, policy(limit), PARAMS, leak, init="steady")
    np.testing.assert_array_equal(again.start_k, result.start_k)


def test_a_managed_start_that_flips_between_two_states_takes_the_hotter(monkeypatch):
    """The policy's levels are discrete: when the fixed-point map flips between two starts, the hotter
    one is taken (the conservative start), deterministically."""
    model = th.block_model(floorplan(), PARAMS)
    cold, hot = np.full(model.n_nodes, 310.0), np.full(model.n_nodes, 311.0)
    calls = iter([hot, cold, hot, cold, hot])
    monkeypatch.setattr(dtm.th, "steady_block", lambda *a, **k: next(calls))
    power = bursts()
    policy = dtm.DtmPolicy(305.0, POINTS)
    stepper = dtm._Stepper(
        model, power, np.full(len(power), 2e-3), np.ones(len(power)), np.ones(3, bool), policy, None
    )
    start = dtm._managed_steady(model, stepper, policy, cold, None)
    assert start.max() == 311.0
