"""model/llm/collectives.py: the alpha-beta costs by hand, group layouts, algorithm choice, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from systolic.errors import InputError
from systolic.model.llm.collectives import collective_time, layout, p2p_time

from .llm_toy import toy_hw


def test_layout_packs_consecutive_ranks_into_nodes():
    per_node, nodes = layout([8, 8, 64, 4, 16], [1, 8, 1, 2, 4], 8)
    assert per_node.tolist() == [8, 1, 8, 4, 2]
    assert nodes.tolist() == [1, 8, 8, 1, 8]


def test_ring_all_reduce_inside_a_node():
    hw = toy_hw()
    t = collective_time("all_reduce", 1e9, 8, 1, hw, "ring")
    assert t == pytest.approx(2 * 7 / 8 * 1e9 / 100e9)
    ag = collective_time("all_gather", 1e9, 8, 1, hw, "ring")
    rs = collective_time("reduce_scatter", 1e9, 8, 1, hw, "ring")
    assert ag == pytest.approx(t / 2) and rs == pytest.approx(t / 2)


def test_hierarchical_all_reduce_across_nodes():
    hw = toy_hw(8, 4)
    t = collective_time("all_reduce", 8e9, 32, 1, hw, "hierarchical")
    inside = 2 * 7 / 8 * 8e9 / 100e9
    across = 2 * 3 / 4 * (8e9 / 8) / 10e9
    assert t == pytest.approx(inside + across)
    # a flat ring is bound by the network on every step: slower
    assert collective_time("all_reduce", 8e9, 32, 1, hw, "ring") == pytest.approx(2 * 31 / 32 * 8e9 / 10e9)
    assert collective_time("all_reduce", 8e9, 32, 1, hw, "auto") == pytest.approx(t)


def test_latency_terms():
    hw = dataclasses.replace(toy_hw(8, 4), intra=dataclasses.replace(toy_hw().intra, latency_s=1e-6))
    hw = dataclasses.replace(hw, inter=dataclasses.replace(hw.inter, latency_s=5e-6))
    assert collective_time("all_reduce", 0.0, 8, 1, hw, "ring") == pytest.approx(2 * 7 * 1e-6)
    assert collective_time("all_reduce", 0.0, 32, 1, hw, "tree") == pytest.approx(2 * 5 * 5e-6)
    assert collective_time("all_reduce", 0.0, 32, 1, hw, "hierarchical") == pytest.approx(
        2 * (7e-6 + 3 * 5e-6)
    )


def test_one_device_costs_nothing_and_arrays_broadcast():
    t = collective_time("all_reduce", np.array([1e9, 2e9]), np.array([1, 8]), 1, toy_hw())
    assert t[0] == 0 and t[1] == pytest.approx(2 * 7 / 8 * 2e9 / 100e9)


def test_tree_needs_switched_levels():
    ring = dataclasses.replace(toy_hw(), intra=dataclasses.replace(toy_hw().intra, topology="ring"))
    with pytest.raises(InputError, match="the tree algorithm does not do all_reduce on this system"):
        collective_time("all_reduce", 1e6, 8, 1, ring, "tree")
    with pytest.raises(InputError, match="the tree algorithm does not do all_gather"):
        collective_time("all_gather", 1e6, 8, 1, toy_hw(), "tree")


def test_bad_names():
    with pytest.raises(
        InputError, match="collective must be one of all_reduce, all_gather, reduce_scatter, not 'bcast'"
    ):
        collective_time("bcast", 1, 2, 1, toy_hw())
    with pytest.raises(
        InputError, match="algorithm must be one of ring, tree, hierarchical, auto, not 'fast'"
    ):
        collective_time("all_reduce", 1, 2, 1, toy_hw(), "fast")


def test_p2p_inside_and_across_nodes():
    t = p2p_time(1e9, [True, False], toy_hw(8, 2))
    assert t.tolist() == pytest.approx([1e9 / 100e9, 1e9 / 10e9])
