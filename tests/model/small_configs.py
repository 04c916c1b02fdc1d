"""A small accelerator the power and DVFS tests share: several tiles per layer, a DRAM port that stalls."""

from __future__ import annotations

from systolic.config import ArrayConfig, Dataflow


def small_cfg(df: Dataflow = Dataflow.WS, **kw) -> ArrayConfig:
    base = dict(
        rows=8,
        cols=8,
        dataflow=df,
        ifmap_sram_bytes=1024,
        filter_sram_bytes=1024,
        ofmap_sram_bytes=4096,
        dram_bw_words_per_cycle=4,
        dram_latency_cycles=10,
        clock_hz=500e6,
    )
    return ArrayConfig(**{**base, **kw})
