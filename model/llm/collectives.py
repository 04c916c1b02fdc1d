"""Collectives on a two-level system by the alpha-beta model, vectorised over groups and message sizes.

A group of ``size`` devices whose ranks are ``stride`` apart (Megatron's rank order puts tensor-parallel
ranks next to each other, then data-parallel, then pipeline stages) holds ``per_node`` members in each
of ``nodes`` nodes (:func:`layout`). ``nbytes`` is the whole tensor: the all-reduced tensor, the output of
an all-gather, the input of a reduce-scatter. Per level, ``bw`` is the achievable bandwidth per device and
direction and ``alpha`` the start-up latency of one step.

Algorithms (Thakur, Rabenseifner and Gropp, "Optimization of collective communication operations in
MPICH", IJHPCA 19(1), 2005; NCCL's ring and double binary tree):

* ``ring``: g-1 steps each way; all-reduce = reduce-scatter + all-gather: 2 (g-1)/g B / bw + 2 (g-1) alpha.
  Across nodes the slowest level bounds every step (each device has its own inter-node port).
* ``tree`` (all-reduce only; pipelined double binary tree): the ring's bandwidth term, 2 log2(g) alpha.
  Only on switched levels: on a physical ring a tree's messages would take many hops.
* ``hierarchical``: reduce-scatter inside each node, the 1/per_node shard all-reduced across nodes (all
  per-node ports in parallel), all-gather inside each node.
* ``auto``: the fastest of them, as NCCL's tuner picks.
"""

from __future__ import annotations

import numpy as np

from systolic.errors import InputError

from .hardware import Hardware

OPS: tuple[str, ...] = ("all_reduce", "all_gather", "reduce_scatter")
ALGORITHMS: tuple[str, ...] = ("ring", "tree", "hierarchical", "auto")


def layout(size, stride, devices_per_node: int) -> tuple[np.ndarray, np.ndarray]:
    """``(per_node, nodes)`` of a group of ``size`` ranks ``stride`` apart."""
    size = np.asarray(size, dtype=np.int64)
    stride = np.asarray(stride, dtype=np.int64)
    per_node = np.clip(devices_per_node // np.maximum(stride, 1), 1, None)
    per_node = np.minimum(per_node, size)
    return per_node, -(-size // per_node)


def _ring(steps_frac, nbytes, g, bw, alpha):
    """One ring pass (reduce-scatter or all-gather): (g-1)/g B / bw + (g-1) alpha."""
    return steps_frac * nbytes / bw + (g - 1) * alpha


def collective_time(op: str, nbytes, size, stride, hw: Hardware, algorithm: str = "auto") -> np.ndarray:
    """Seconds of one collective ``op`` over groups of ``size`` ranks ``stride`` apart (arrays broadcast)."""
    if op not in OPS:
        raise InputError(f"collective must be one of {', '.join(OPS)}, not {op!r}")
    if algorithm not in ALGORITHMS:
        raise InputError(
            f"algorithm must be one of {', '.join(ALGORITHMS)}, not {algorithm!r}", where="algorithm"
        )
    nbytes = np.asarray(nbytes, dtype=float)
    g = np.asarray(size, dtype=float)
    per_node, nodes = layout(size, stride, hw.devices_per_node)
    g_in, g_out = per_node.astype(float), nodes.astype(float)
    a_in, a_out = hw.intra.latency_s, hw.inter.latency_s
    bw_in, bw_out = hw.intra.bw, hw.inter.bw
    cross = g_out > 1
    passes = 2.0 if op == "all_reduce" else 1.0
    frac = (g - 1) / np.maximum(g, 1)
    # flat ring: the inter-node links bound every step once the group leaves its node
    ring = passes * _ring(
        frac, nbytes, g, np.where(cross, min(bw_in, bw_out), bw_in), np.where(cross, a_out, a_in)
    )
    # hierarchical: inside the node on the whole tensor, across nodes on its 1/g_in shard
    f_in, f_out = (g_in - 1) / g_in, (g_out - 1) / g_out
    hier = passes * (
        _ring(f_in, nbytes, g_in, bw_in, a_in) + _ring(f_out, nbytes / g_in, g_out, bw_out, a_out)
    )
    out = {"ring": ring, "hierarchical": hier}
    if op == "all_reduce" and "ring" not in (hw.intra.topology, hw.inter.topology):
        hops = 2 * np.ceil(np.log2(np.maximum(g, 1)))
        bw = np.where(cross, min(bw_in, bw_out), bw_in)
        out["tree"] = 2 * frac * nbytes / bw + hops * np.where(cross, a_out, a_in)
    if algorithm == "auto":
        t = np.minimum.reduce(list(out.values()))
    elif algorithm in out:
        t = out[algorithm]
    else:
        raise InputError(
            f"the {algorithm} algorithm does not do {op} on this system (use ring or hierarchical)",
            where="algorithm",
        )
    return np.where(g > 1, t, 0.0)


def p2p_time(nbytes, same_node, hw: Hardware) -> np.ndarray:
    """Seconds to send ``nbytes`` to one peer, in the same node (``same_node``) or another one."""
    nbytes = np.asarray(nbytes, dtype=float)
    same = np.asarray(same_node, dtype=bool)
    return np.where(
        same, nbytes / hw.intra.bw + hw.intra.latency_s, nbytes / hw.inter.bw + hw.inter.latency_s
    )
