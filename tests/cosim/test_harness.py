"""The bus-functional model shared by all simulators: closed forms, wrapping, operand ranges, checks."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.harness import (
    GemmHarness,
    expected_cycles,
    pack,
    random_operands,
    reference,
    unpack,
    wrap,
)


def _fold_sum(cfg: ArrayConfig, m: int, n: int, k: int) -> int:
    """Sum of fold periods, fold by fold, as the contract states them."""
    r, c = cfg.rows, cfg.cols
    total = 0
    if cfg.dataflow is Dataflow.OS:
        for _ in range(0, n, c):
            for _ in range(0, m, r):
                total += k + 2 * r + c - 2
        return total
    sc, t = (m, n) if cfg.dataflow is Dataflow.IS else (n, m)
    for _ in range(0, sc, c):
        for k0 in range(0, k, r):
            total += min(r, k - k0) + t + r + c - 1
    return total


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_expected_cycles_is_the_sum_of_fold_periods(dataflow):
    rng = np.random.default_rng(0)
    for _ in range(200):
        r, c = (int(x) for x in rng.integers(1, 9, size=2))
        m, n, k = (int(x) for x in rng.integers(1, 40, size=3))
        cfg = ArrayConfig(rows=r, cols=c, dataflow=dataflow, fold_overlap=False)
        assert expected_cycles(cfg, m, n, k) == _fold_sum(cfg, m, n, k)


def test_expected_cycles_closed_forms():
    cfg = ArrayConfig(rows=4, cols=3, dataflow="ws", fold_overlap=False)
    fk, fn = math.ceil(10 / 4), math.ceil(7 / 3)
    assert expected_cycles(cfg, 5, 7, 10) == fn * 10 + fk * fn * (5 + 4 + 3 - 1)
    fm = math.ceil(5 / 3)
    assert expected_cycles(cfg.replace(dataflow="is"), 5, 7, 10) == fm * 10 + fk * fm * (7 + 4 + 3 - 1)
    assert expected_cycles(cfg.replace(dataflow="os"), 5, 7, 10) == 2 * 3 * (10 + 8 + 3 - 2)


def test_expected_cycles_agree_with_the_model():
    from systolic.model.cycles import GemmArrays, compute_cycles

    rng = np.random.default_rng(1)
    shapes = rng.integers(1, 300, size=(50, 3))
    for df in Dataflow:
        for r, c in ((1, 1), (4, 4), (8, 3), (32, 32)):
            cfg = ArrayConfig(rows=r, cols=c, dataflow=df)
            model = compute_cycles(cfg, GemmArrays.of(*shapes.T)).cycles_per_gemm
            assert model.tolist() == [expected_cycles(cfg, *map(int, s)) for s in shapes]


def test_wrap_and_reference():
    assert wrap(np.array([7, 8, 15, 16, -1]), 4, True).tolist() == [7, -8, -1, 0, -1]
    assert wrap(np.array([7, 8, 15, 16, -1]), 4, False).tolist() == [7, 8, 15, 0, 15]
    big = np.array([2**62, -(2**62)], dtype=np.int64)
    assert wrap(big * 2, 64, True).tolist() == [-(2**63), -(2**63)]
    cfg = ArrayConfig(rows=2, cols=2, input_bits=16, weight_bits=16, acc_bits=33, word_bytes=2)
    a = np.full((1, 3), -32768, dtype=np.int64)
    b = np.full((3, 1), -32768, dtype=np.int64)
    assert reference(cfg, a, b).tolist() == [[3 * 2**30]]  # fits 33 bits signed
    cfg4 = ArrayConfig(rows=2, cols=2, input_bits=2, weight_bits=2, acc_bits=4)
    assert reference(cfg4, np.array([[-2, -2, -2]]), np.array([[-2], [-2], [-2]])).tolist() == [
        [-4]
    ]  # 12 wraps


def test_random_operands_cover_their_ranges():
    rng = np.random.default_rng(2)
    cfg = ArrayConfig(rows=2, cols=2, input_bits=2, weight_bits=3, weight_signed=False, acc_bits=8)
    a, b = random_operands(cfg, 40, 40, 40, rng)
    assert sorted(set(a.ravel().tolist())) == [-2, -1, 0, 1]
    assert sorted(set(b.ravel().tolist())) == list(range(8))
    a, _ = random_operands(cfg, 50, 1, 50, rng, zero_fraction=0.9)
    assert (a == 0).mean() > 0.85


def test_pack_unpack_round_trip():
    sys.set_int_max_str_digits(0)
    values = [-3, 5, 0, -8, 7]
    word = pack(values, 4)
    assert unpack(word, 4, 5, True) == values
    assert unpack(word, 4, 2, False) == [13, 5]


def test_harness_rejects_bad_shapes():
    cfg = ArrayConfig(rows=2, cols=2)
    with pytest.raises(
        ValueError, match=r"A and B must be M x K and K x N matrices, not \(2, 3\) and \(2, 2\)"
    ):
        GemmHarness(cfg, np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="k must be in 1..65535, not 0"):
        GemmHarness(cfg, np.zeros((2, 0)), np.zeros((0, 2)))


def _idle(h: GemmHarness) -> dict[str, int]:
    return dict.fromkeys(h.output_ports, 0)


def test_harness_answers_one_cycle_later_and_counts_cycles():
    cfg = ArrayConfig(rows=2, cols=2, dataflow="ws")
    a = np.arange(6).reshape(3, 2)
    b = np.arange(4).reshape(2, 2)
    h = GemmHarness(cfg, a, b)
    assert h.inputs_for_start() == {
        "start": 1,
        "dim_m": 3,
        "dim_n": 2,
        "dim_k": 2,
        "west_data": 0,
        "north_data": 0,
    }
    out = h.step({**_idle(h), "busy": 1, "west_req": 1, "west_row": 2, "west_col": 0, "west_lanes": 2})
    assert out["west_data"] == 0 and out["start"] == 0  # data comes next cycle
    out = h.step(_idle(h))
    assert out["west_data"] == pack([4, 5], 8) and h.first_data_cycle == 1
    c_row = [7, 9]
    h.step(
        {
            **_idle(h),
            "south_valid": 1,
            "south_row": 1,
            "south_col": 0,
            "south_lanes": 2,
            "south_first": 1,
            "south_data": pack(c_row, 32),
        }
    )
    h.step({**_idle(h), "done": 1})
    assert h.done and h.cycles == 2 and h.result[1].tolist() == c_row
    assert any("not written exactly 1 time" in p for p in h.problems)  # only one row was written


def test_harness_reports_protocol_problems():
    cfg = ArrayConfig(rows=2, cols=2, dataflow="os")
    h = GemmHarness(cfg, np.ones((2, 2)), np.ones((2, 2)))
    h.step({**_idle(h), "west_req": 1, "west_row": 1, "west_col": 0, "west_lanes": 2})
    h.step({**_idle(h), "south_valid": 1, "south_row": 0, "south_col": 0, "south_lanes": 2, "south_first": 0})
    assert h.problems == [
        "cycle 0: west request A[1:3, 0:1] outside (2, 2)",
        "cycle 1: add to C[0:1, 0:2] before its first write",
    ]


def test_start_stays_high_until_the_dut_is_busy():
    """Whatever phase the adapter first drives start in, a rising edge sees it."""
    cfg = ArrayConfig(rows=2, cols=2)
    h = GemmHarness(cfg, np.ones((2, 2)), np.ones((2, 2)))
    assert h.inputs_for_start()["start"] == 1
    assert h.step(_idle(h))["start"] == 1
    assert h.step({**_idle(h), "busy": 1})["start"] == 0
    assert h.step(_idle(h))["start"] == 0
