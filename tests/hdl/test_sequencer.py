# amaranth: UnusedElaboratable=no
# ^ error-path tests construct components whose __init__ raises; Amaranth would warn they went unused.
"""The fold sequencer alone: its walk over folds against the model's fold plan, and its cycle count."""

from __future__ import annotations

import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.amaranth_sim import simulate
from systolic.dataflow import PORT_MAP
from systolic.hdl.sequencer import Sequencer, sequencer_ports
from systolic.model.cycles import GemmArrays, compute_cycles, fold_plan


def _run(cfg: ArrayConfig, m: int, n: int, k: int) -> dict[str, list]:
    """Start one GEMM and record, per cycle, requests (cycle, lanes, (row, col)) and outputs (cycle, lanes)."""
    dut = Sequencer(cfg)
    got = {"west": [], "north": [], "south": []}

    async def bench(ctx):
        ctx.set(dut.dim_m, m)
        ctx.set(dut.dim_n, n)
        ctx.set(dut.dim_k, k)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for cycle in range(10_000):
            await ctx.tick()
            for port in ("west", "north"):
                if ctx.get(getattr(dut, f"{port}_req")):
                    lanes, row, col = (ctx.get(getattr(dut, f"{port}_{f}")) for f in ("lanes", "row", "col"))
                    got[port].append((cycle, lanes, (row, col)))
            if ctx.get(dut.south_valid):
                got["south"].append((cycle, ctx.get(dut.south_lanes)))
            if ctx.get(dut.done):
                return
        raise AssertionError("no done")

    simulate(dut, bench)
    return got


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
@pytest.mark.parametrize("shape", [(5, 7, 3), (2, 3, 8), (4, 6, 1)])
def test_the_fold_walk_is_the_models_fold_plan(dataflow, shape):
    cfg = ArrayConfig(rows=3, cols=2, dataflow=dataflow)
    got = _run(cfg, *shape)
    plan = fold_plan(cfg, GemmArrays.of(*shape))
    sr, sc, t = (int(x[0]) for x in (plan.spatial_rows, plan.spatial_cols, plan.temporal))
    # Spatial rows innermost, spatial columns outermost; each fold uses ru rows and cu columns.
    folds = [
        (r * cfg.rows, c * cfg.cols, min(cfg.rows, sr - r * cfg.rows), min(cfg.cols, sc - c * cfg.cols))
        for c in range(int(plan.col_folds[0]))
        for r in range(int(plan.row_folds[0]))
    ]
    # West requests: t per fold, over the fold's ru rows, lane 0 at the fold's row base.
    west, lane_axis = got["west"], PORT_MAP[dataflow]["west"].lane_axis
    assert len(west) == t * len(folds)
    walked = []
    for i in range(len(folds)):
        chunk = west[i * t : (i + 1) * t]
        walked.append(({lanes for _, lanes, _ in chunk}, {rc[lane_axis] for *_, rc in chunk}))
    assert walked == [({ru}, {r0}) for r0, _, ru, _ in folds]
    # North and south lanes span the fold's cu columns, lane 0 at its column base.
    north_axis = PORT_MAP[dataflow]["north"].lane_axis
    north, start = got["north"], 0
    for _, c0, ru, cu in folds:
        count = t if dataflow is Dataflow.OS else ru  # OS: one per time step; WS, IS: the tile's ru rows
        chunk = north[start : start + count]
        start += count
        assert {lanes for _, lanes, _ in chunk} == {cu}
        assert {rc[north_axis] for *_, rc in chunk} == {c0}
    assert start == len(north)
    assert [lanes for _, lanes in got["south"]] == [
        cu for *_, ru, cu in folds for _ in range(_outputs(cfg, t, ru))
    ]
    # The engine's cycle count: from the first operand data (the cycle after the first request) to the
    # last output, both included.
    first_data = min(west[0][0], north[0][0]) + 1
    assert (
        got["south"][-1][0] - first_data + 1 == compute_cycles(cfg, GemmArrays.of(*shape)).cycles_per_gemm[0]
    )


def _outputs(cfg: ArrayConfig, t: int, ru: int) -> int:
    """Output vectors per fold: one per time step (WS, IS) or one per used row (OS)."""
    return ru if cfg.dataflow is Dataflow.OS else t


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_ports_follow_the_array_and_the_dataflow(dataflow):
    cfg = ArrayConfig(rows=3, cols=5, dataflow=dataflow)
    dut = Sequencer(cfg)
    members = dut.signature.members
    assert set(sequencer_ports(cfg)) < set(members)
    assert (len(dut.west_lanes), len(dut.north_lanes), len(dut.south_lanes)) == (2, 3, 3)  # 0..3, 0..5, 0..5
    assert (len(dut.west_mask), len(dut.north_mask)) == (3, 5)
    assert ("drain" in members, "load" in members) == (
        (True, False) if dataflow is Dataflow.OS else (False, True)
    )


def test_the_config_must_be_an_array_config():
    with pytest.raises(TypeError, match="cfg must be an ArrayConfig, not dict"):
        Sequencer({"rows": 2})
