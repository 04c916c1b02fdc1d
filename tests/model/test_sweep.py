"""model/sweep.py: bulk evaluation equals the model run point by point; the Pareto front."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from systolic.config import ArrayConfig, Dataflow
from systolic.formats.calibration import load_calibration
from systolic.formats.network import load_workload
from systolic.model.cycles import GemmArrays
from systolic.model.energy import layer_energy
from systolic.model.grouped import lower_groups
from systolic.model.memory import memory_cycles
from systolic.model.network import network_run
from systolic.model.sweep import area_m2, evaluate, pareto_front, plan_key

CAL = load_calibration()[0]


@pytest.fixture(scope="module")
def workloads():
    return {n: load_workload(n) for n in ("alexnet", "mobilenetv2")}


@pytest.fixture(scope="module")
def nets(workloads):
    return {n: GemmArrays.from_workload(w) for n, w in workloads.items()}


def _points():
    base = ArrayConfig(
        rows=16, cols=8, ifmap_sram_bytes=32768, filter_sram_bytes=16384, ofmap_sram_bytes=65536
    )
    pts = []
    for df in Dataflow:
        # IS reads im2col matrices here, so its three DRAM points share one plan (WS and OS, whose
        # convolutions choose bands or im2col by timing them, plan each point on its own)
        native = {"conv_native": False} if df is Dataflow.IS else {}
        for bw, lat in ((1, 1), (4, 20), (32, 3)):
            pts.append(
                base.replace(dataflow=df, dram_bw_words_per_cycle=bw, dram_latency_cycles=lat, **native)
            )
    pts.append(base.replace(rows=4, cols=32, vdd_v=0.7, tech_node_nm=16))
    pts.append(base.replace(ofmap_sram_bytes=16))  # too small for one fold: infeasible
    return pts


@pytest.mark.parametrize("as_workloads", [False, True])
def test_bulk_equals_point_by_point(nets, workloads, as_workloads):
    """GEMMs run as given; workloads as ``systolic run`` runs them (grouped convolutions in blocks)."""
    pts = _points()
    res = evaluate(pts, workloads if as_workloads else nets, calibration=CAL)
    assert len({plan_key(c) for c in pts}) < len(pts)  # groups really share work
    for i, cfg in enumerate(pts[:-1]):
        assert res["error"][i] == ""
        total = 0
        for net, g in nets.items():
            if as_workloads:  # the network as network_run lowers it for this point
                g = network_run(cfg, lower_groups(cfg, workloads[net])).gemm
                assert net != "mobilenetv2" or g.blocks is not None  # its depthwise layers in blocks
            mem = memory_cycles(cfg, g)
            assert res[f"{net}.cycles"][i] == mem.total_cycles
            assert res[f"{net}.stall_cycles"][i] == mem.stall_cycles.sum()
            assert res[f"{net}.latency_s"][i] == pytest.approx(mem.total_cycles / cfg.clock_hz)
            words = sum(v.sum() for v in mem.dram_reads.values()) + sum(
                v.sum() for v in mem.dram_writes.values()
            )
            assert res[f"{net}.dram_words"][i] == words
            total += mem.total_cycles
            e = layer_energy(cfg, g, mem, calibration=CAL)
            assert res[f"{net}.energy_j"][i] == pytest.approx(e.energy_pj.sum() * 1e-12, rel=1e-12)
        assert res["cycles"][i] == total
        assert res["area_mm2"][i] == pytest.approx(area_m2(cfg) * 1e6)
        assert res["energy_j"][i] > 0
    assert "too small to hold one fold" in res["error"][-1]
    assert np.isnan(res["cycles"][-1]) and np.isnan(res["energy_j"][-1])


def test_energy_and_latency_move_the_right_way(nets):
    base = ArrayConfig(rows=16, cols=16)
    res = evaluate(
        [base, base.replace(vdd_v=0.7), base.replace(dram_bw_words_per_cycle=1)], nets, calibration=CAL
    )
    assert res["energy_j"][1] < res["energy_j"][0]  # lower supply, less energy per action
    assert res["latency_s"][2] > res["latency_s"][0]  # less bandwidth, more stalls


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(float, st.tuples(st.integers(1, 40), st.integers(1, 3)), elements=st.integers(0, 5).map(float))
)
def test_pareto_front_is_the_non_dominated_set(obj):
    front = pareto_front(obj)
    for i in range(obj.shape[0]):
        dominated = any(
            np.all(obj[j] <= obj[i]) and np.any(obj[j] < obj[i]) for j in range(obj.shape[0]) if j != i
        )
        assert front[i] == (not dominated)


def test_pareto_front_ignores_nan():
    obj = np.array([[1.0, 1.0], [np.nan, 0.0], [2.0, 0.5]])
    assert pareto_front(obj).tolist() == [True, False, True]


def test_points_planned_together_equal_each_point_alone(workloads):
    """Random DRAM bandwidths and latencies on WS and OS: the points of a plan group are planned and timed
    together (model/sweep.py: _group_runs), several plans per group, and every point's cycles, DRAM
    beats per step, DRAM words and compute cycles equal those of memory_cycles on the point alone."""
    from systolic.model.sweep import _group_runs

    rng = np.random.default_rng(8)
    base = ArrayConfig(
        rows=16, cols=8, ifmap_sram_bytes=32768, filter_sram_bytes=16384, ofmap_sram_bytes=65536
    )
    gemm = GemmArrays.from_workload(lower_groups(base, workloads["mobilenetv2"]))
    for df in (Dataflow.WS, Dataflow.OS):
        pts = [
            base.replace(dataflow=df, dram_bw_words_per_cycle=int(b), dram_latency_cycles=int(lat))
            for b, lat in zip(rng.integers(1, 65, 12), rng.integers(1, 60, 12), strict=True)
        ]
        runs = _group_runs(pts, gemm, [])
        assert len(runs) > 1  # WS and OS both choose bands or im2col per DRAM bandwidth and latency
        assert sorted(j for run in runs for j in run[0]) == list(range(len(pts)))
        for js, mem, per_gemm, (reads, writes) in runs:
            for r, j in enumerate(js):
                alone = memory_cycles(pts[j], gemm)
                assert np.array_equal(per_gemm[r], alone.cycles_per_gemm)
                assert np.array_equal(reads[r], alone.schedule.steps.read_beats)
                assert np.array_equal(writes[r], alone.schedule.steps.write_beats)
                assert np.array_equal(mem.compute_cycles, alone.compute_cycles)
                for kind in ("dram_reads", "dram_writes"):
                    for b, v in getattr(alone, kind).items():
                        assert np.array_equal(getattr(mem, kind)[b], v)
