# amaranth: UnusedElaboratable=no
# ^ error-path tests construct components whose __init__ raises; Amaranth would warn they went unused.
"""The fold sequencer alone: its walk over folds against the model's fold plan, and its cycle count."""

from __future__ import annotations

import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.amaranth_sim import simulate
from systolic.dataflow import PORT_MAP
from systolic.hdl.fold_pipeline import PipelinedSequencer
from systolic.hdl.sequencer import Sequencer, sequencer_ports
from systolic.model.cycles import GemmArrays, compute_cycles, fold_plan


def _run(cfg: ArrayConfig, m: int, n: int, k: int) -> dict[str, list]:
    """Start one GEMM and record, per cycle, requests (cycle, lanes, (row, col)) and outputs (cycle, lanes)."""
    dut = PipelinedSequencer(cfg) if cfg.fold_overlap else Sequencer(cfg)
    got = {"west": [], "north": [], "south": []}

    async def bench(ctx):
        ctx.set(dut.dim_m, m)
        ctx.set(dut.dim_n, n)
        ctx.set(dut.dim_k, k)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for cycle in range(10_000):  # cycle 0: the one after the edge that captured start
            for port in ("west", "north"):
                if ctx.get(getattr(dut, f"{port}_req")):
                    lanes, row, col = (ctx.get(getattr(dut, f"{port}_{f}")) for f in ("lanes", "row", "col"))
                    got[port].append((cycle, lanes, (row, col)))
            if ctx.get(dut.south_valid):
                got["south"].append((cycle, ctx.get(dut.south_lanes)))
            if ctx.get(dut.done):
                return
            await ctx.tick()
        raise AssertionError("no done")

    simulate(dut, bench)
    return got


@pytest.mark.parametrize("overlap", [False, True], ids=["serial", "overlap"])
@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
@pytest.mark.parametrize("shape", [(5, 7, 3), (2, 3, 8), (4, 6, 1)])
def test_the_fold_walk_is_the_models_fold_plan(dataflow, shape, overlap):
    cfg = ArrayConfig(rows=3, cols=2, dataflow=dataflow, fold_overlap=overlap)
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


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_the_pipelined_sequencer_has_the_overlapped_arrays_controls(dataflow):
    cfg = ArrayConfig(rows=3, cols=5, dataflow=dataflow, fold_overlap=True)
    members = PipelinedSequencer(cfg).signature.members
    assert set(sequencer_ports(cfg)) < set(members) and "west_tag" in members
    controls = {"shift", "ld", "ld_bank"} & set(members)
    assert controls == ({"shift"} if dataflow is Dataflow.OS else {"ld", "ld_bank"})
    assert not {"drain", "load"} & set(members)


@pytest.mark.parametrize("dataflow", [Dataflow.WS, Dataflow.IS], ids=str)
def test_the_pipelined_sequencer_loads_the_next_tile_while_the_current_one_streams(dataflow):
    """With two banks, fold f+1's tile rows are requested while fold f's west vectors are, first row
    first, one row per array row (``ld`` one-hot), into the other bank."""
    cfg = ArrayConfig(rows=3, cols=2, dataflow=dataflow, fold_overlap=True)
    dut = PipelinedSequencer(cfg)
    seen = []

    async def bench(ctx):
        ctx.set(dut.dim_m, 9)
        ctx.set(dut.dim_n, 9)
        ctx.set(dut.dim_k, 7)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(200):
            await ctx.tick()
            seen.append(tuple(ctx.get(s) for s in (dut.west_req, dut.north_req, dut.ld, dut.ld_bank)))
            if ctx.get(dut.done):
                return

    simulate(dut, bench)
    both = [i for i, (w, nr, *_) in enumerate(seen) if w and nr]
    assert both  # loads overlap streams
    loads = [(ld, bank) for *_, ld, bank in seen if ld]
    assert [ld for ld, _ in loads[:3]] == [1, 2, 4]  # rows 0, 1, 2 of the first tile
    banks = [bank for _, bank in loads]
    assert banks[:3] == [0, 0, 0] and banks[3] == 1  # the second tile goes to the other bank


def test_the_config_must_be_an_array_config():
    with pytest.raises(TypeError, match="cfg must be an ArrayConfig, not dict"):
        Sequencer({"rows": 2})
