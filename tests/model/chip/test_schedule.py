"""The tandem line (model/chip/schedule.py) against a plain item-by-item reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from systolic.model.chip.schedule import UNBOUNDED, tandem, tandem_reference


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 3)), min_size=1, max_size=7),
    st.integers(1, 9),
)
def test_tandem_matches_reference(servers, items):
    c = np.array([s[0] for s in servers], dtype=float)
    cap = np.array([s[1] for s in servers])
    line = tandem(c[None], cap[None], items)
    start, depart = tandem_reference(c, cap, items)
    np.testing.assert_array_equal(line.start[0], start)
    np.testing.assert_array_equal(line.depart[0], depart)


def test_many_mappings_at_once_are_independent():
    rng = np.random.default_rng(3)
    c = rng.integers(0, 50, size=(6, 5)).astype(float)
    cap = rng.integers(0, 3, size=(6, 5))
    both = tandem(c, cap, 4)
    for i in range(6):
        one = tandem(c[i : i + 1], cap[i : i + 1], 4)
        np.testing.assert_array_equal(both.depart[i], one.depart[0])


def test_unbounded_buffers_give_the_closed_form():
    # with room everywhere, item b leaves server j at sum(c[:j+1]) + b * max(c[:j+1])
    c = np.array([5.0, 9.0, 2.0, 7.0])
    line = tandem(c[None], np.full((1, 4), UNBOUNDED), 6)
    b = np.arange(6)
    expect = np.cumsum(c)[:, None] + b[None, :] * np.maximum.accumulate(c)[:, None]
    np.testing.assert_array_equal(line.depart[0], expect)
    assert line.makespan[0] == expect[-1, -1] and line.latency[0] == c.sum()


def test_a_full_buffer_blocks_the_stage_before():
    # a fast stage before a slow one with no buffer waits with its finished item
    line = tandem(np.array([[1.0, 10.0]]), np.array([[0, 0]]), 3)
    assert line.depart[0, 0].tolist() == [1.0, 11.0, 21.0]
    assert (line.depart[0, 0] - line.finish[0, 0]).tolist() == [0.0, 9.0, 9.0]
