"""model/trail.py: the doubling scan against the recurrence evaluated step by step."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from systolic.model.trail import trail_scan


def _loop(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """t[s + 1] = clamp(b[s] - t[s], 0, max(a[s], 0)), t[0] = 0, one step at a time."""
    t = np.zeros(np.broadcast_shapes(a.shape, b.shape), dtype=np.result_type(a, b))
    for s in range(t.shape[-1] - 1):
        t[..., s + 1] = np.clip(b[..., s] - t[..., s], 0, np.maximum(a[..., s], 0))
    return t


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-30, 60), st.integers(-30, 120)), min_size=1, max_size=80))
def test_scan_equals_the_step_by_step_recurrence(pairs):
    a, b = (np.array(x, dtype=np.int64) for x in zip(*pairs, strict=True))
    np.testing.assert_array_equal(trail_scan(a, b), _loop(a, b))


def test_rows_are_independent_and_floats_work():
    rng = np.random.default_rng(2)
    a, b = rng.integers(-10, 40, (4, 257)), rng.integers(-10, 90, (4, 257))
    np.testing.assert_array_equal(trail_scan(a, b), _loop(a, b))
    af, bf = rng.random((3, 100)) * 20 - 3, rng.random((3, 100)) * 40 - 3
    np.testing.assert_allclose(trail_scan(af, bf), _loop(af, bf), rtol=0, atol=1e-12)


def test_a_step_without_results_to_wait_for_restarts_the_chain():
    # a <= 0: nothing trails after that step, whatever came before
    a = np.array([50, 50, -1, 50])
    b = np.array([30, 100, 100, 100])
    np.testing.assert_array_equal(trail_scan(a, b), [0, 30, 50, 0])
