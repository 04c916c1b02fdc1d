"""The closed-form cycle model against an event-by-event walk of the RTL's fold schedule."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from systolic.config import ArrayConfig, Dataflow
from systolic.model.cycles import GemmArrays, compute_cycles, fold_plan, workload_cycles
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


def _cfg(rows, cols, dataflow):
    return ArrayConfig(rows=rows, cols=cols, dataflow=dataflow)


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
