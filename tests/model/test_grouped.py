"""model/grouped.py: grouped and depthwise convolutions in blocks of groups (``group_blocks``), pinned
against the closed forms so that a lowering that silently stops blocking fails."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.matrix import CONV_MEMORIES
from systolic.errors import InputError
from systolic.model.cycles import GemmArrays, workload_cycles
from systolic.model.grouped import group_block, lower_groups, lower_groups_origin
from systolic.model.memory import memory_cycles
from systolic.workload import ConvShape, Layer, Workload

#: 32 depthwise 3x3 channels, 14x14 output (M = 196, K = 9 and N = 1 per group).
DW = ConvShape(14, 14, 3, 3, 32, 32, pad_h=1, pad_w=1, groups=32)


def _ample(df: Dataflow, **changes) -> ArrayConfig:
    return ArrayConfig(
        rows=32,
        cols=32,
        dataflow=df,
        dram_bw_words_per_cycle=256,
        ifmap_sram_bytes=1 << 24,
        filter_sram_bytes=1 << 24,
        ofmap_sram_bytes=1 << 26,
        **changes,
    )


# Closed forms (model/cycles.py's docstring) on a 32x32 array, R = C = 32, all 32 groups in one GEMM
# (K = 288, N = 32): WS, rows = K: 9 row folds of T = M = 196 steps, 1 + 9 x 196 - 196 + 196 + R + C - 1
# = 1828; OS, rows = M: 7 folds of T = K = 288, 6 x 288 + 288 + 2R + C - 2 = 2110; IS, rows = K, cols = M:
# 9 x 7 folds of T = N = 32 (span max(T, C) = 32), 1 + 63 x 32 - 32 + 32 + R + C - 1 = 2080. One GEMM per
# group instead: WS 32 x (1 + 196 + R + C - 1) = 8320; OS 32 x (6 x max(9, R + C - 1) + 9 + 2R + C - 2)
# = 15392; IS 32 x (1 + 7 x 32 - 32 + 1 + R + C - 1) = 8224. SCALE-Sim's closed form for its 32 GEMMs:
# WS 32 x (196 + 2R + C - 2 - 1) = 9248; OS 32 x (7 (9 + R + C - 2) - 1) = 15872; IS 32 x (7 (1 + 2R + C -
# 2) - 1) = 21248.
PINNED = {
    Dataflow.WS: (1828, 8320, 9248),
    Dataflow.OS: (2110, 15392, 15872),
    Dataflow.IS: (2080, 8224, 21248),
}


@pytest.mark.parametrize("df", list(Dataflow))
def test_depthwise_blocks_pinned_against_the_closed_forms(df):
    blocked, per_group, scalesim = PINNED[df]
    cfg = _ample(df)
    wl = Workload("dw", (Layer.from_conv("dw", DW),))
    lowered = lower_groups(cfg, wl)
    assert [(ly.m, ly.n, ly.k, ly.repeat, ly.blocks) for ly in lowered] == [(196, 32, 288, 1, 32)]
    assert workload_cycles(cfg, lowered).total_cycles == blocked
    assert workload_cycles(cfg, lower_groups(cfg.replace(group_blocks=False), wl)).total_cycles == per_group
    assert blocked * 4 < scalesim  # the blocks beat SCALE-Sim's one GEMM per channel by over 4x
    assert workload_cycles(cfg, lowered).macs.sum() == 196 * 9 * 32  # useful MACs, not the zeros of B


def test_option_off_keeps_one_gemm_per_group_and_the_lowering_is_idempotent():
    cfg = _ample(Dataflow.WS)
    wl = Workload("dw", (Layer("fc", 4, 4, 4), Layer.from_conv("dw", DW)))
    assert lower_groups(cfg.replace(group_blocks=False), wl) is wl
    lowered, origin = lower_groups_origin(cfg, wl)
    assert lower_groups(cfg, lowered) == lowered
    assert origin.tolist() == [0, 1] and lowered.layers[0] == wl.layers[0]


@pytest.mark.parametrize("df", list(Dataflow))
@pytest.mark.parametrize(
    "shape",
    [
        ConvShape(7, 7, 3, 3, 24, 24, stride_h=2, stride_w=2, pad_h=1, pad_w=1, groups=24),
        ConvShape(6, 5, 3, 3, 12, 18, pad_h=1, pad_w=1, groups=3),
        ConvShape(4, 4, 5, 5, 40, 40, pad_h=2, pad_w=2, groups=40),
    ],
)
def test_blocks_never_take_more_cycles_than_one_gemm_per_group(df, shape):
    """b = 1 is always a candidate: on a tight memory system and an ample one, the chosen blocks take
    at most the cycles of one GEMM per group, and cover every group once."""
    for cfg in (
        ArrayConfig(rows=8, cols=8, dataflow=df, dram_bw_words_per_cycle=2, ifmap_sram_bytes=512),
        _ample(df).replace(rows=8, cols=8),
    ):
        b = group_block(cfg, shape)
        blocks = Layer.conv_blocks("x", shape, b)
        assert sum(ly.blocks * ly.repeat for ly in blocks) == shape.groups
        ours = memory_cycles(cfg, GemmArrays.from_workload(Workload("x", blocks))).cycles.sum()
        old = memory_cycles(cfg, GemmArrays.from_workload(Workload("x", (Layer.from_conv("x", shape),))))
        assert ours <= old.cycles.sum()


def test_gemm_arrays_carry_the_blocks():
    g = GemmArrays.from_workload(Workload("x", Layer.conv_blocks("dw", DW, 3)))
    assert g.block_counts.tolist() == [3, 2]
    assert g.macs.tolist() == [196 * 9 * 30, 196 * 9 * 2]
    assert np.array_equal(g.array_macs, g.macs * g.block_counts)
    assert GemmArrays.of(4, 4, 4).blocks is None


def test_buffers_too_small_for_any_fold_leave_the_layer_to_the_memory_model():
    """No block fits a filter SRAM too small for one fold's lines: one GEMM per group, and the memory
    model reports the layer (a sweep marks the point infeasible) rather than the lowering failing."""
    shape = ConvShape(14, 14, 3, 3, 64, 64, pad_h=1, pad_w=1, groups=64)
    cfg = ArrayConfig(rows=8, cols=8, filter_sram_bytes=64, ifmap_sram_bytes=256, ofmap_sram_bytes=4096)
    assert group_block(cfg, shape) == 1
    wl = lower_groups(cfg, Workload("x", (Layer.from_conv("x", shape),)))
    with pytest.raises(InputError, match="filter_sram_bytes: too small to hold one fold"):
        memory_cycles(cfg, GemmArrays.from_workload(wl))
    assert group_block(cfg.replace(filter_sram_bytes=128), shape) > 1


#: make cosim's ws-mem-conv-tight memory (4x4 WS): a depthwise layer is memory-bound there.
TIGHT = {**CONV_MEMORIES["mem-conv-tight"], "dataflow": Dataflow.WS}


def test_depthwise_blocks_read_their_channel_slices_natively():
    """``conv_native = "auto"`` (WS): the blocks of a depthwise layer are timed with their bands and read
    them, so a lowering that silently falls back to im2col fails. Closed form: blocks of 4 channels of a
    6x6 'same' 3x3 layer are 6x6x4 tensors (24 words a row); tiles of 3 output rows (the ofmap half holds
    32 lines) read bands of input rows 0..3 and 2..5, 8 rows a block, against 6 x 6 x 8 = 288 words of
    tensor; im2col reads 36 pixels x 36 taps a block."""
    shape = ConvShape(6, 6, 3, 3, 8, 8, pad_h=1, pad_w=1, groups=8)
    cfg = ArrayConfig(**TIGHT)
    lowered = lower_groups(cfg, Workload("dw", (Layer.from_conv("dw", shape),)))
    assert [(ly.blocks, ly.repeat) for ly in lowered] == [(4, 2)]
    res = memory_cycles(cfg, GemmArrays.from_workload(lowered))
    assert res.plan.native == (shape.block(4),)
    assert int(res.dram_reads["ifmap"][0]) == 2 * 8 * 24 == 288 + 96
    off = cfg.replace(conv_native=False)
    old = memory_cycles(
        off, GemmArrays.from_workload(lower_groups(off, Workload("dw", (Layer.from_conv("dw", shape),))))
    )
    assert old.plan.native == (None,)
    assert int(old.dram_reads["ifmap"][0]) == 2 * 36 * 36
    # make cosim's "depthwise 3x3 groups 0..3 of 8" on ws-mem-conv-tight: 500 cycles a block on Icarus
    # and Verilator (RTL == model); 838 a block from im2col (ws-mem-conv-tight-im2col)
    assert res.cycles_per_gemm.tolist() == [500] and old.cycles_per_gemm.tolist() == [838]


def test_mobilenet_v2_depthwise_blocks_on_tpu_v1_read_their_slices_natively():
    """MobileNet-V2's features.5 depthwise layer (28x28, 192 channels) on ``tpu-v1-128``: b = 28 (the im2col
    front: C' = 28 channels, K = 252 taps) reads its slices once in bands too (k-lines across filter
    rows: C' need not be a multiple of the 128 rows); with the band planner timing its k-tile sizes (k-tiles
    of 128 taps, not one of 252) it takes 24,776 cycles, and the band candidates b = 128 (a block of 128
    and one of 64) and b = 96 (two blocks, k-tiles of 128 taps) take 22,906 and 21,888: b = 96 is taken
    (before the timing: b = 28, 25,601 cycles, against 26,868 and 26,292)."""
    from systolic.config import load_arch

    cfg = load_arch("tpu-v1-128")
    shape = ConvShape(28, 28, 3, 3, 192, 192, pad_h=1, pad_w=1, groups=192)
    assert group_block(cfg, shape) == 96
    cycles = {}
    for b in (28, 96, 128):
        blocks = Layer.conv_blocks("dw", shape, b)
        res = memory_cycles(cfg, GemmArrays.from_workload(Workload("dw", tuple(blocks))))
        assert res.plan.native == tuple(shape.block(ly.blocks) for ly in blocks)
        assert int(res.dram_reads["ifmap"].sum()) == 28 * 28 * 192  # every slice, once
        cycles[b] = int(res.cycles.sum())
    assert cycles == {28: 24776, 96: 21888, 128: 22906}  # the model's (a 128x128 build is beyond make cosim)
