"""DVFS: operating points, per-domain timing, and the policies against brute force and the deadline."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from systolic.config import ArrayConfig, Dataflow, alpha_power_clock_hz, load_arch
from systolic.errors import InputError
from systolic.formats.network import load_workload
from systolic.model import dvfs, power
from systolic.model.cycles import GemmArrays
from systolic.model.memory import memory_cycles

from .small_configs import small_cfg

_cfg = small_cfg


def _costs(cfg: ArrayConfig, gemm: GemmArrays):
    sched = memory_cycles(cfg, gemm).schedule
    work = power.step_work(cfg, gemm, sched)
    return work, dvfs.costs(cfg, work)


def test_default_points_follow_the_alpha_power_law_through_nominal():
    cfg = ArrayConfig()
    ops = dvfs.operating_points(cfg)
    np.testing.assert_allclose(ops.vdd_v, cfg.vdd_v * np.array([0.7, 0.8, 0.9, 1.0, 1.1]))
    assert ops.clock_hz[3] == pytest.approx(cfg.clock_hz)
    g = (ops.vdd_v - cfg.vth_v) ** cfg.alpha_power / ops.vdd_v
    np.testing.assert_allclose(ops.clock_hz, cfg.clock_hz * g / g[3])
    assert np.all(np.diff(ops.clock_hz) > 0)


def test_explicit_points_are_used_as_given():
    cfg = _cfg(dvfs_vdd_v=(0.7, 0.9), dvfs_clock_hz=(300e6, 500e6))
    ops = dvfs.operating_points(cfg)
    assert ops.vdd_v.tolist() == [0.7, 0.9] and ops.clock_hz.tolist() == [300e6, 500e6]


def test_time_falls_and_dynamic_energy_rises_with_the_operating_point():
    cfg = _cfg(dvfs_domains=("array+sram+dram_if",))
    work, c = _costs(cfg, GemmArrays.of([40, 64], [20, 64], [30, 64]))
    assert c.choices == 5
    assert np.all(np.diff(c.time_s[: c.choices], axis=0) < 0)
    assert np.all(np.diff(c.energy_pj[: c.choices], axis=0) > 0)
    # nominal pseudo-choice: the memory model's cycles
    mem = memory_cycles(cfg, GemmArrays.of([40, 64], [20, 64], [30, 64]))
    np.testing.assert_allclose(c.time_s[c.nominal] * cfg.clock_hz, mem.cycles)


def test_slowing_the_array_costs_nothing_in_a_memory_bound_step():
    cfg = _cfg(dram_bw_words_per_cycle=1)  # DRAM-bound
    work, c = _costs(cfg, GemmArrays.of([64], [64], [64]))
    f = np.full((work.layer.size, 3), cfg.clock_hz)
    slow = f.copy()
    slow[:, 0] *= 0.7
    t_nom, t_slow = power.step_times_s(work, f), power.step_times_s(work, slow)
    load_bound = work.read_beats + cfg.dram_latency_cycles > work.compute_cycles + 10
    assert load_bound.sum() >= 2
    # only the barrier cycle of the step stretches
    np.testing.assert_allclose(
        (t_slow - t_nom)[load_bound & ~work.first], 1 / (0.7 * cfg.clock_hz) - 1 / cfg.clock_hz
    )


def test_leakage_and_dynamic_scaling():
    cfg = _cfg()
    work, _ = _costs(cfg, GemmArrays.of([8], [8], [8]))
    v = np.array([0.63, 0.9, 0.9])
    scale = power.column_voltage_scale(cfg, v)
    assert scale[power.COLUMNS.index("mult")] == pytest.approx(0.49)
    assert scale[power.COLUMNS.index("ifmap_sram")] == pytest.approx(1.0)
    assert scale[power.COLUMNS.index("dram")] == 1.0  # off chip
    leak = power.column_leakage_w(cfg, work, v)
    ratio = leak[power.COLUMNS.index("mult")] / work.leak_w[power.COLUMNS.index("mult")]
    assert ratio == pytest.approx(0.7 * np.exp(power.LEAK_DIBL_PER_V * (0.63 - 0.9)))


# --------------------------------------------------------------------------- deadline policy vs brute force


@st.composite
def small_cases(draw):
    layers = draw(st.integers(2, 4))
    dims = st.integers(1, 70)
    gemm = GemmArrays.of(
        [draw(dims) for _ in range(layers)],
        [draw(dims) for _ in range(layers)],
        [draw(dims) for _ in range(layers)],
    )
    domains = draw(st.sampled_from([("array", "sram"), ("array+sram", "dram_if"), ("array", "sram+dram_if")]))
    volts = draw(st.sampled_from([(0.6, 0.9), (0.6, 0.75, 0.9), (0.7, 0.8, 1.0)]))
    latency = draw(st.sampled_from([0.0, 100e-9, 2e-6, 20e-6]))
    energy = draw(st.sampled_from([0.0, 10e-9, 1e-6]))
    cfg = _cfg(
        dataflow=draw(st.sampled_from(list(Dataflow))),
        dram_bw_words_per_cycle=draw(st.sampled_from([1, 4, 16])),
        dvfs_vdd_v=volts,
        dvfs_domains=domains,
        dvfs_transition_latency_s=latency,
        dvfs_transition_energy_j=energy,
    )
    where = draw(st.floats(0.0, 1.2))
    return cfg, gemm, where


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases())
def test_deadline_plan_is_within_2_percent_of_exhaustive(case):
    cfg, gemm, where = case
    _, c = _costs(cfg, gemm)
    fastest = dvfs.fastest_time_s(c)
    slowest = float(c.time_s[c.slowest].sum())
    deadline = fastest + where * (slowest - fastest) + (c.layers - 1) * c.latency_s * where
    best = dvfs.exhaustive_plan(c, deadline)
    plan = dvfs.deadline_plan(c, deadline)
    assert plan.met and plan.time_s <= deadline
    assert best.energy_pj <= plan.energy_pj * (1 + 1e-9)
    assert plan.energy_pj <= best.energy_pj * 1.02


def test_exhaustive_plan_is_feasible_and_optimal_on_a_tiny_case():
    cfg = _cfg(dvfs_vdd_v=(0.6, 0.9), dvfs_domains=("array", "sram"), dvfs_transition_energy_j=1e-9)
    _, c = _costs(cfg, GemmArrays.of([30, 50], [20, 8], [10, 64]))
    deadline = 0.5 * (dvfs.fastest_time_s(c) + c.time_s[c.slowest].sum())
    best = dvfs.exhaustive_plan(c, deadline)
    seqs = [(a, b) for a in range(4) for b in range(4)]
    t, e = dvfs.evaluate(c, np.array(seqs), deadline)
    assert best.energy_pj == pytest.approx(e[t <= deadline].min())


@pytest.fixture(scope="module")
def resnet50():
    cfg = load_arch("tpu-v1-128")
    wl = load_workload("resnet50")
    gemm = GemmArrays.from_workload(wl)
    sched = memory_cycles(cfg, gemm).schedule
    work = power.step_work(cfg, gemm, sched)
    return cfg, work, dvfs.costs(cfg, work)


def test_deadline_policy_saves_energy_on_resnet50(resnet50):
    cfg, work, c = resnet50
    fastest, slowest = dvfs.fastest_time_s(c), float(c.time_s[c.slowest].sum())
    deadline = 0.5 * (fastest + slowest)
    plan = dvfs.plan_policy(c, "deadline", deadline)
    nominal = dvfs.plan_policy(c, "none", deadline)
    assert plan.met and nominal.met
    assert plan.energy_pj < 0.9 * nominal.energy_pj
    # the timeline agrees with the plan: it ends by the deadline and holds the same energy
    tl = dvfs.plan_timeline(cfg, work, c, plan)
    assert tl.busy_s <= deadline and tl.end_s == pytest.approx(deadline)
    assert tl.energy_pj.sum() == pytest.approx(plan.energy_pj, rel=1e-9)
    # a tighter deadline can only cost more
    tighter = dvfs.plan_policy(c, "deadline", 0.5 * (fastest + deadline))
    assert tighter.met and tighter.energy_pj > plan.energy_pj * (1 - 1e-3)


@pytest.mark.parametrize("where", [0.0, 0.1, 0.5, 1.0, 1.5])
def test_activity_policy_meets_the_deadline_on_resnet50(resnet50, where):
    _, _, c = resnet50
    fastest, slowest = dvfs.fastest_time_s(c), float(c.time_s[c.slowest].sum())
    deadline = fastest + where * (slowest - fastest)
    plan = dvfs.plan_policy(c, "activity", deadline)
    assert plan.met
    base = dvfs.plan_policy(c, "none", deadline)
    if base.met:
        assert plan.energy_pj <= base.energy_pj


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases())
def test_activity_policy_never_misses_the_deadline(case):
    cfg, gemm, where = case
    _, c = _costs(cfg, gemm)
    fastest = dvfs.fastest_time_s(c)
    deadline = fastest + where * (float(c.time_s[c.slowest].sum()) - fastest)
    for policy in ("activity", "deadline", "race"):
        assert dvfs.plan_policy(c, policy, deadline).met


def test_activity_slows_the_array_when_memory_bound_and_the_srams_when_compute_bound():
    # WS, K = N = 8: one fold per tile; M small against R + C leaves the SRAM ports idle most cycles
    mem_bound = _cfg(dram_bw_words_per_cycle=1)
    _, c = _costs(mem_bound, GemmArrays.of([256], [64], [64]))
    plan = dvfs.plan_policy(c, "activity", 10.0)
    array, sram = power.PARTS.index("array"), power.PARTS.index("sram")
    assert plan.f_part[0, array] < mem_bound.clock_hz
    assert plan.f_part[0, array] < plan.f_part[0, power.PARTS.index("dram_if")]
    # folds one after the other (fold_overlap off): the SRAM ports idle while each fold drains
    comp_bound = _cfg(
        dram_bw_words_per_cycle=64, ifmap_sram_bytes=65536, filter_sram_bytes=65536, fold_overlap=False
    )
    _, c = _costs(comp_bound, GemmArrays.of([4], [64], [512]))
    assert c.utilisation[0, array] > 0.5 > c.utilisation[0, sram]
    plan = dvfs.plan_policy(c, "activity", 10.0)
    assert plan.f_part[0, sram] < plan.f_part[0, array]


def test_race_runs_fastest_and_idles_low():
    cfg = _cfg()
    _, c = _costs(cfg, GemmArrays.of([40, 64], [20, 64], [30, 64]))
    plan = dvfs.plan_policy(c, "race", 1.0)
    assert plan.time_s == pytest.approx(dvfs.fastest_time_s(c)) and plan.idle_drop
    assert (plan.v_part == c.level_v[-1]).all()


def test_plans_are_deterministic(resnet50):
    _, _, c = resnet50
    deadline = 1.2 * dvfs.fastest_time_s(c)
    a, b = dvfs.plan_policy(c, "deadline", deadline), dvfs.plan_policy(c, "deadline", deadline)
    assert a.choice.tolist() == b.choice.tolist() and a.energy_pj == b.energy_pj


# --------------------------------------------------------------------------- errors


def test_unreachable_deadline_names_the_fastest_time():
    cfg = _cfg()
    _, c = _costs(cfg, GemmArrays.of([40], [20], [30]))
    fastest = dvfs.fastest_time_s(c)
    for policy in ("race", "deadline", "activity"):
        with pytest.raises(InputError) as info:
            dvfs.plan_policy(c, policy, fastest / 2)
        assert str(info.value) == (
            f"deadline: no operating point meets a deadline of {fastest / 2 * 1e3:.6g} ms: the fastest "
            f"achievable is {fastest * 1e3:.6g} ms (every domain at its fastest point)"
        )


def test_unknown_policy():
    cfg = _cfg()
    _, c = _costs(cfg, GemmArrays.of([4], [4], [4]))
    with pytest.raises(
        InputError, match="policy: policy must be one of none, race, deadline, activity, not 'slow'"
    ):
        dvfs.plan_policy(c, "slow", 1.0)


def test_law_limit_in_the_error_is_the_law():
    cfg = ArrayConfig()
    assert alpha_power_clock_hz(cfg, cfg.vdd_v) == pytest.approx(cfg.clock_hz)
    assert alpha_power_clock_hz(cfg, 0.6) < cfg.clock_hz


def test_run_dvfs_bundles_plan_nominal_and_timeline():
    cfg = _cfg()
    gemm = GemmArrays.of([40, 64], [20, 64], [30, 64])
    sched = memory_cycles(cfg, gemm).schedule
    _, c = _costs(cfg, gemm)
    deadline = 1.3 * dvfs.fastest_time_s(c)
    res = dvfs.run_dvfs(cfg, gemm, sched, "deadline", deadline)
    assert res.plan.met and res.nominal.policy == "none"
    assert res.saved_pj == pytest.approx(res.nominal.energy_pj - res.plan.energy_pj)
    assert res.timeline.energy_pj.sum() == pytest.approx(res.plan.energy_pj, rel=1e-9)
    assert res.timeline.end_s == pytest.approx(deadline)
