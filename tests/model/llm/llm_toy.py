"""A system with round numbers, for tests that check the model's formulas by hand."""

from __future__ import annotations

from systolic.model.llm.hardware import Hardware, Link


def toy_hw(devices_per_node: int = 8, nodes: int = 1, **changes) -> Hardware:
    """100 TFLOP/s GEMMs, 1 TB/s memory, 100 GB/s inside a node and 10 GB/s between nodes, no latency."""
    base = dict(
        kind="gpu",
        name="toy",
        precision="bf16",
        element_bytes=2,
        peak_flops=100e12,
        gemm_flops=100e12,
        attention_flops=50e12,
        memory_bw_peak=1e12,
        memory_efficiency=1.0,
        memory_bytes=80e9,
        idle_w=0.0,
        pj_per_flop=1.0,
        pj_per_byte=10.0,
        devices_per_node=devices_per_node,
        nodes=nodes,
        intra=Link(100e9, 1.0, 0.0, "switch", 8.0),
        inter=Link(10e9, 1.0, 0.0, "switch", 80.0),
        logic_node_nm=7.0,
    )
    base.update(changes)
    return Hardware(**base)
