"""The closed-form cycle model against an event-by-event walk of the RTL's fold schedule."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systolic.config import ArrayConfig, Dataflow
from systolic.model.cycles import (
    GemmArrays,
    compute_cycles,
    fold_plan,
    fold_rows,
    fold_starts,
    workload_cycles,
)
from systolic.workload import Layer, Workload


def brute_force_cycles(cfg: ArrayConfig, m: int, n: int, k: int) -> int:
    """Walk the folds one by one, stamping the cycle of every operand entry and every result exit.

    Written from the RTL's timing contract (hdl/ docstrings, README), independently of the closed form:
    OS folds stream K steps then drain R rows of accumulators bottom-first; WS/IS folds load ru rows of
    the stationary tile, stream T steps, and each result leaves R + C - 1 cycles after its operands enter.
    """
    r_, c_ = cfg.rows, cfg.cols
    dims = {"m": m, "n": n, "k": k}
    if cfg.dataflow is Dataflow.OS:
        sr, sc, t = dims["m"], dims["n"], dims["k"]
    elif cfg.dataflow is Dataflow.WS:
        sr, sc, t = dims["k"], dims["n"], dims["m"]
    else:
        sr, sc, t = dims["k"], dims["m"], dims["n"]
    first_in, last_out = None, None
    cycle = 0
    for _col0 in range(0, sc, c_):
        for row0 in range(0, sr, r_):
            ru = min(r_, sr - row0)
            if cfg.dataflow is Dataflow.OS:
                entries = [cycle + step for step in range(t)]
                drain0 = cycle + t + r_ + c_ - 2
                exits = [drain0 + j for j in range(r_) if (r_ - 1 - j) < ru]
                nxt = drain0 + r_
            else:
                entries = [cycle + i for i in range(ru)]  # stationary tile
                s = cycle + ru
                entries += [s + step for step in range(t)]
                exits = [s + step + r_ + c_ - 1 for step in range(t)]
                nxt = max(exits) + 1
            first_in = entries[0] if first_in is None else first_in
            last_out = max(exits)
            cycle = nxt
    return last_out - first_in + 1


def overlapped_walk_cycles(cfg: ArrayConfig, m: int, n: int, k: int) -> int:
    """The ``fold_overlap`` schedule walked fold by fold from its rules (hdl/fold_pipeline.py), checking
    on the way that it never breaks the hardware's constraints, written per PE and port:

    * WS/IS: rows of a tile arrive one per cycle on the north port and row j latches at l + j; a bank is
      rewritten only after the fold two back read it for the last time at PE(r, C-1); a PE reads its
      bank only after the latch; ports carry one vector per cycle; results leave R + C - 1 cycles after
      their operand.
    * OS: PE(r, c) captures its fold's sum at x + T - 1 + r + c; drains present row R-1-j at d + j and
      row r shifts only while j < r, so a capture into row r before the drain of the previous fold has
      moved row r on (d + r) would lose a result.
    """
    r_, c_ = cfg.rows, cfg.cols
    dims = {"m": m, "n": n, "k": k}
    mp = {Dataflow.OS: "mnk", Dataflow.WS: "knm", Dataflow.IS: "kmn"}[cfg.dataflow]
    sr, sc, t = (dims[d] for d in mp)
    rus = [min(r_, sr - row0) for _ in range(0, sc, c_) for row0 in range(0, sr, r_)]
    outs = []
    if cfg.dataflow is Dataflow.OS:
        period = max(t, r_ + c_ - 1)
        drains = []
        for f, ru in enumerate(rus):
            x = f * period
            d = x + t + r_ + c_ - 2
            assert d > x + t - 1 + (r_ - 1) + (c_ - 1)  # every capture of the fold before its drain
            if drains:
                d_prev = drains[-1]
                for row in range(r_):
                    assert x + t - 1 + row >= d_prev + row  # row free again (column 0 captures first)
                assert d >= d_prev + r_  # one output vector per cycle
            drains.append(d)
            outs += [d + j for j in range(r_) if r_ - 1 - j < ru]
        return max(outs) + 1
    loads, streams = [0], [max(1, rus[0] - c_ + 1)]
    for f in range(1, len(rus)):
        loads.append(streams[f - 1] + c_ - 1)
        streams.append(streams[f - 1] + max(t, c_, rus[f]))
    for f, (ld, x) in enumerate(zip(loads, streams, strict=True)):
        assert x >= ld + 1  # row j latches at ld + j, read by the fold from x + j on
        if f:
            assert ld >= loads[f - 1] + rus[f - 1]  # north port: one row per cycle
            assert x >= streams[f - 1] + t  # west port: one vector per cycle
        if f >= 2:
            assert ld > streams[f - 2] + t - 1 + (c_ - 1)  # the bank's last reader has left column C-1
        outs += [x + step + r_ + c_ - 1 for step in range(t)]
    assert len(set(outs)) == len(outs)  # south port: one vector per cycle
    return max(outs) + 1


def _cfg(rows, cols, dataflow, fold_overlap=False):
    return ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, fold_overlap=fold_overlap)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.integers(1, 20),
    cols=st.integers(1, 20),
    dataflow=st.sampled_from(list(Dataflow)),
    m=st.integers(1, 70),
    n=st.integers(1, 70),
    k=st.integers(1, 70),
)
def test_closed_form_equals_event_walk(rows, cols, dataflow, m, n, k):
    cfg = _cfg(rows, cols, dataflow)
    result = compute_cycles(cfg, GemmArrays.of(m, n, k))
    assert int(result.cycles[0]) == brute_force_cycles(cfg, m, n, k)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.integers(1, 20),
    cols=st.integers(1, 20),
    dataflow=st.sampled_from(list(Dataflow)),
    m=st.integers(1, 70),
    n=st.integers(1, 70),
    k=st.integers(1, 70),
)
def test_overlapped_closed_form_equals_the_checked_walk(rows, cols, dataflow, m, n, k):
    cfg = _cfg(rows, cols, dataflow, fold_overlap=True)
    result = compute_cycles(cfg, GemmArrays.of(m, n, k))
    assert int(result.cycles[0]) == overlapped_walk_cycles(cfg, m, n, k)


@pytest.mark.parametrize("fold_overlap", [False, True])
@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_fold_starts_end_where_the_closed_form_ends(dataflow, fold_overlap):
    rng = np.random.default_rng(3)
    for rows, cols, m, n, k in rng.integers(1, 40, size=(60, 5)):
        cfg = _cfg(int(rows), int(cols), dataflow, fold_overlap)
        plan = fold_plan(cfg, GemmArrays.of(m, n, k))
        sr, sc, t = (int(x[0]) for x in (plan.spatial_rows, plan.spatial_cols, plan.temporal))
        ru = fold_rows(cfg, sr, sc)
        load, stream = fold_starts(cfg, ru, t)
        assert ru.size == plan.folds[0] and load[0] == 0 and np.all(np.diff(stream) > 0)
        if dataflow is Dataflow.OS:
            last = stream[-1] + t + 2 * rows + cols - 3
        else:
            last = stream[-1] + t + rows + cols - 2
        assert last + 1 == compute_cycles(cfg, GemmArrays.of(m, n, k)).cycles[0]


def test_overlap_pins_scalesim_closed_form():
    """A known case against SCALE-Sim's closed forms (OS: F(T+R+C-2)-1, WS/IS: F(T+2R+C-2)-1, F folds):
    without overlap systolic is at or above them; with it, below by the overlapped part. If a fold
    stops overlapping these numbers move."""
    r, c = 32, 32
    for df, shape in (
        (Dataflow.WS, (3136, 64, 576)),
        (Dataflow.IS, (64, 3136, 576)),
        (Dataflow.OS, (3136, 64, 576)),
    ):
        gemm = GemmArrays.of(*shape)
        plan = fold_plan(_cfg(r, c, df), gemm)
        f, t = int(plan.folds[0]), int(plan.temporal[0])
        scalesim = f * (t + r + c - 2) - 1 if df is Dataflow.OS else f * (t + 2 * r + c - 2) - 1
        serial = int(compute_cycles(_cfg(r, c, df), gemm).cycles[0])
        overlapped = int(compute_cycles(_cfg(r, c, df, True), gemm).cycles[0])
        assert serial >= scalesim
        if df is Dataflow.OS:  # K = 576 streams per fold; the next fold starts when it ends
            assert overlapped == f * t + 2 * r + c - 2 == 112_990
        else:  # M (WS) or N (IS) = 3136 per fold, tiles of 32 rows load while the previous fold streams
            assert overlapped == 1 + f * t + r + c - 1 == 112_960
        assert overlapped < scalesim


def test_known_values():
    # 4x4 WS, 8x8x8: 2x2 folds of (4 load + 8 stream + 4 + 4 - 1) = 4 x 19 = 76
    assert compute_cycles(_cfg(4, 4, Dataflow.WS), GemmArrays.of(8, 8, 8)).total_cycles == 76
    # 4x4 OS, 8x8x8: 4 folds of (8 + 8 + 4 - 2) = 72
    assert compute_cycles(_cfg(4, 4, Dataflow.OS), GemmArrays.of(8, 8, 8)).total_cycles == 72
    # IS is WS on the transposed problem
    ws = compute_cycles(_cfg(4, 3, Dataflow.WS), GemmArrays.of(5, 7, 9)).total_cycles
    is_ = compute_cycles(_cfg(4, 3, Dataflow.IS), GemmArrays.of(7, 5, 9)).total_cycles
    assert ws == is_


def test_vectorised_over_layers_matches_one_by_one():
    rng = np.random.default_rng(7)
    shapes = rng.integers(1, 300, size=(50, 3))
    for df in Dataflow:
        cfg = _cfg(16, 12, df)
        together = compute_cycles(cfg, GemmArrays.of(*shapes.T)).cycles
        alone = [compute_cycles(cfg, GemmArrays.of(*s)).cycles[0] for s in shapes]
        assert together.tolist() == alone


def test_repeat_multiplies_and_utilisation_bounds():
    cfg = _cfg(8, 8, Dataflow.WS)
    wl = Workload("w", (Layer("a", 64, 64, 64, repeat=3), Layer("b", 1, 1, 1)))
    res = workload_cycles(cfg, wl)
    assert res.cycles[0] == 3 * res.cycles_per_gemm[0]
    assert np.all((res.utilisation > 0) & (res.utilisation <= 1))
    assert res.mapping_efficiency[0] == 1.0
    assert res.mapping_efficiency[1] == 1 / 64


def test_fold_plan_counts():
    plan = fold_plan(_cfg(16, 12, Dataflow.IS), GemmArrays.of(25, 7, 33))
    # IS: rows = K (33 -> 3 folds of 16), cols = M (25 -> 3 folds of 12), time = N
    assert (plan.row_folds[0], plan.col_folds[0], plan.temporal[0]) == (3, 3, 7)


def test_model_imports_no_hdl_or_simulator():
    code = "import sys, systolic.model.cycles; assert 'amaranth' not in sys.modules and 'cocotb' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
