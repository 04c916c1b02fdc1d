# amaranth: UnusedElaboratable=no
# ^ error-path tests construct components whose __init__ raises; Amaranth would warn they went unused.
"""The whole accelerator: its external ports, its submodules and buffers, and one small layer out of DRAM
under amaranth.sim (the model-versus-RTL matrix is tests/model/test_memory.py and tests/cosim)."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Fragment
from amaranth.lib import wiring
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.amaranth_sim import run_layers
from systolic.cosim.harness import random_operands
from systolic.geometry import geometry, operand_format
from systolic.hdl.accel import BUFFER_NAMES, Accelerator
from systolic.hdl.controller import controller_ports
from systolic.model.cycles import GemmArrays
from systolic.model.memory import load_wait, memory_cycles, schedule

SMALL = dict(
    rows=2,
    cols=3,
    dram_bw_words_per_cycle=3,
    dram_latency_cycles=2,
    ifmap_sram_bytes=64,
    filter_sram_bytes=64,
    ofmap_sram_bytes=96,
)


def _accelerator(cfg: ArrayConfig) -> Accelerator:
    """An elaborated accelerator (its buffers, controller and engine are made in ``__init__``; elaborating
    marks them used, so Amaranth does not warn about them)."""
    dut = Accelerator(cfg)
    Fragment.get(dut, None)
    return dut


def test_external_ports_are_command_and_dram_only():
    cfg = ArrayConfig(input_bits=4, weight_bits=6, acc_bits=20, conv_native=False, **SMALL)
    dut = _accelerator(cfg)
    members = dut.signature.members
    assert list(members) == list(controller_ports(cfg))
    flows = {name: member.flow for name, member in members.items()}
    assert [n for n, f in flows.items() if f == wiring.In] == [
        "start",
        "dim_m",
        "dim_n",
        "dim_k",
        "tile_m",
        "tile_n",
        "tile_k",
        "dram_rd_req_ready",
        "dram_rd_data_valid",
        "dram_rd_data",
        "dram_wr_ready",
    ]
    assert len(dut.dram_rd_data) == 3 * 6  # bw words of the wider operand
    assert len(dut.dram_wr_data) == 3 * 20  # bw accumulator words
    assert len(dut.dram_rd_req_len) == len(dut.dram_wr_len) == 2  # 0..bw


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_buffers_follow_the_storage_geometry(dataflow):
    cfg = ArrayConfig(dataflow=dataflow, input_bits=4, weight_bits=6, acc_bits=20, **SMALL)
    dut = _accelerator(cfg)
    for x, g in geometry(cfg).items():
        buf = dut.buffers[x]
        bits = operand_format(cfg, x)[0]
        assert (len(buf.a_wr_en), len(buf.a_rd_data), 2 ** len(buf.a_rd_addr) >= g.half_lines) == (
            g.lanes,
            g.lanes * bits,
            True,
        ), x


def test_submodules_keep_their_names():
    """The names the VCD, the toggle classes (cosim/toggles.py) and the testbench's monitors rely on."""
    top = Fragment.get(Accelerator(ArrayConfig(rows=2, cols=2, dataflow=Dataflow.WS)), None)
    names = [name for _, name, _ in top.subfragments]
    assert names == ["core", "ctrl", "ifmap_sram", "filter_sram", "ofmap_sram"]
    assert [name for _, name, _ in top.subfragments[0][0].subfragments] == [
        "sequencer",
        "array",
        "skew_west",
        "skew_west_tag",
        "deskew_south",
    ]
    assert BUFFER_NAMES == {"A": "ifmap_sram", "B": "filter_sram", "C": "ofmap_sram"}


@pytest.mark.parametrize(
    "overlap", [(False, False), (True, False), (True, True)], ids=["serial", "folds", "tiles"]
)
def test_a_tiled_layer_out_of_dram_is_a_at_b_in_the_models_cycles(overlap):
    cfg = ArrayConfig(dataflow=Dataflow.IS, fold_overlap=overlap[0], tile_overlap=overlap[1], **SMALL)
    shape = (5, 4, 9)
    a, b = random_operands(cfg, *shape, np.random.default_rng(3))
    (h,) = run_layers(cfg, [(a, b)])
    model = memory_cycles(cfg, GemmArrays.of(*shape))
    assert model.plan.tiles[0] > 1
    assert h.problems == []
    np.testing.assert_array_equal(h.result, h.expected())
    assert h.cycles == model.cycles_per_gemm[0]


@pytest.mark.parametrize("dataflow", [Dataflow.WS, Dataflow.IS], ids=str)
def test_folds_accumulating_into_a_line_back_to_back(dataflow):
    """One column, one row, one time step per fold: with fold_overlap consecutive K-folds write the
    same ofmap line in consecutive cycles (the read-modify-write must see the write before it)."""
    cfg = ArrayConfig(
        rows=1,
        cols=1,
        dataflow=dataflow,
        fold_overlap=True,
        dram_bw_words_per_cycle=1,
        dram_latency_cycles=2,
        ifmap_sram_bytes=64,
        filter_sram_bytes=64,
        ofmap_sram_bytes=64,
    )
    shape = (1, 1, 6)
    a, b = random_operands(cfg, *shape, np.random.default_rng(4))
    (h,) = run_layers(cfg, [(a, b)])
    assert h.problems == []
    np.testing.assert_array_equal(h.result, h.expected())
    assert h.cycles == memory_cycles(cfg, GemmArrays.of(*shape)).cycles_per_gemm[0]


def test_the_config_must_be_an_array_config():
    with pytest.raises(TypeError, match="cfg must be an ArrayConfig, not dict"):
        Accelerator({"rows": 2})


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_a_ternary_layer_is_a_at_b_in_the_models_cycles(dataflow):
    """weight_format = "ternary": the sign-select PEs give A @ B bit for bit, in the integer array's cycles
    (the model's cycles do not depend on the weight format)."""
    cfg = ArrayConfig(dataflow=dataflow, weight_bits=2, weight_format="ternary", input_bits=6, **SMALL)
    shape = (5, 4, 9)
    a, b = random_operands(cfg, *shape, np.random.default_rng(5))
    assert set(np.unique(b)) == {-1, 0, 1}
    (h,) = run_layers(cfg, [(a, b)])
    model = memory_cycles(cfg, GemmArrays.of(*shape))
    assert (
        model.cycles_per_gemm[0]
        == memory_cycles(cfg.replace(weight_format="int"), GemmArrays.of(*shape)).cycles_per_gemm[0]
    )
    assert h.problems == []
    np.testing.assert_array_equal(h.result, a @ b)
    assert h.cycles == model.cycles_per_gemm[0]


def test_conv_native_adds_the_convolution_to_the_command():
    """conv_native ("auto" on WS): the layer's convolution comes with the command, after the tile sizes."""
    cfg = ArrayConfig(**SMALL)
    names = list(_accelerator(cfg).signature.members)
    assert names[names.index("tile_k") + 1 : names.index("busy")] == [
        "conv_en",
        "conv_h",
        "conv_w",
        "conv_c",
        "conv_r",
        "conv_s",
        "conv_stride_h",
        "conv_stride_w",
        "conv_pad_h",
        "conv_pad_w",
        "conv_oh",
        "conv_ow",
    ]
    assert "conv_en" not in _accelerator(cfg.replace(conv_native=False)).signature.members


#: Small operand buffers and a 4-word DRAM bus on a 4x4 array: layers of several tiles that are often
#: compute-bound, with short folds (T < C) whose tile's last stationary rows are still loading when its
#: last operands are in (:func:`~systolic.model.memory.load_wait`).
SHORT = dict(
    rows=4,
    cols=4,
    dram_bw_words_per_cycle=4,
    dram_latency_cycles=2,
    ifmap_sram_bytes=64,
    filter_sram_bytes=64,
    ofmap_sram_bytes=128,
)


def _rtl_and_model_cycles(cfg: ArrayConfig, shapes, seed: int) -> tuple[list[int], list[int]]:
    """Run ``shapes`` (M, N, K) on one simulated accelerator; the RTL's and the model's cycles of each
    (results checked)."""
    rng = np.random.default_rng(seed)
    harnesses = run_layers(cfg, [random_operands(cfg, *shape, rng) for shape in shapes])
    for h in harnesses:
        assert h.problems == []
        np.testing.assert_array_equal(h.result, h.expected())
    model = memory_cycles(cfg, GemmArrays.of(*np.array(shapes).T)).cycles_per_gemm
    return [h.cycles for h in harnesses], model.tolist()


@pytest.mark.parametrize(
    "dataflow, shape",
    [
        (Dataflow.WS, (1, 1, 9)),
        (Dataflow.WS, (2, 5, 13)),
        (Dataflow.IS, (1, 1, 9)),
        (Dataflow.IS, (5, 2, 13)),
    ],
    ids=str,
)
def test_a_tile_starts_after_its_predecessors_last_fold_is_loaded(dataflow, shape):
    """tile_overlap, WS and IS: a tile whose last fold streams fewer time steps than it has stationary
    rows to load (up to C) is taken over by the next only when that load is done (the calibration found
    layers where the RTL took 1-3 cycles more than the model)."""
    cfg = ArrayConfig(dataflow=dataflow, **SHORT)
    tiles = schedule(cfg, GemmArrays.of(*shape)).tiles
    assert tiles.layer.size > 1 and load_wait(cfg, tiles)[:-1].any()
    rtl, model = _rtl_and_model_cycles(cfg, [shape], seed=6)
    assert rtl == model


def test_the_calibration_layer_that_found_the_load_wait():
    """cal-ws4x4-int8's 14x5x13 (cosim/calibrate.py's make_config(4, 4, "ws", 8, False)): 263 cycles
    (270 before the engine took its tiles in the barrier cycle)."""
    cfg = ArrayConfig(
        rows=4,
        cols=4,
        dataflow=Dataflow.WS,
        input_bits=8,
        weight_bits=8,
        acc_bits=32,
        dram_bw_words_per_cycle=4,
        ifmap_sram_bytes=96,
        filter_sram_bytes=96,
        ofmap_sram_bytes=256,
        dram_latency_cycles=4,
    )
    assert _rtl_and_model_cycles(cfg, [(14, 5, 13)], seed=7) == ([263], [263])


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dataflow=st.sampled_from(list(Dataflow)),
    shapes=st.lists(st.tuples(*[st.integers(1, 14)] * 3), min_size=1, max_size=3),
    bw=st.sampled_from([2, 4, 8]),
)
def test_small_layers_take_the_models_cycles(dataflow, shapes, bw):
    """Layers of 1-14 in every dimension on the small 4x4 accelerator, back to back, take the model's
    cycles exactly."""
    cfg = ArrayConfig(dataflow=dataflow, **(SHORT | {"dram_bw_words_per_cycle": bw}))
    rtl, model = _rtl_and_model_cycles(cfg, shapes, seed=8)
    assert rtl == model


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_a_depthwise_block_reads_its_channel_slice_natively(dataflow):
    """A block of 2 depthwise channels (conv_native) is the dense convolution of its channel slice:
    DRAM holds the 5x5x2 slice (WS: NHWC; OS and IS: its 2 NCHW planes), the RTL reads it in bands (the
    slice plus halo rows, never the im2col matrix), its output is the block's channels of the grouped
    convolution computed directly, and its cycles are the model's."""
    from systolic.cosim.conv import block_tensors, conv_tensors, direct_conv, im2col
    from systolic.workload import ConvShape

    fields = {**SMALL, "rows": 4, "cols": 4, "ifmap_sram_bytes": 128, "ofmap_sram_bytes": 256}
    cfg = ArrayConfig(dataflow=dataflow, conv_native=True, **fields)
    shape = ConvShape(5, 5, 3, 3, 4, 4, pad_h=1, pad_w=1, groups=4)
    ifmap, filters = conv_tensors(cfg, shape, np.random.default_rng(5))
    block = shape.block(2)
    tensors = block_tensors(ifmap, filters, shape, 2, 2)
    (h,) = run_layers(cfg, [im2col(*tensors, block)], convs=[(block, tensors[0])])
    assert h.problems == [] and h.native == block
    np.testing.assert_array_equal(
        h.result.reshape(1, 5, 5, 2), direct_conv(cfg, ifmap, filters, shape)[..., 2:]
    )
    model = memory_cycles(cfg, GemmArrays.of(h.m, h.n, h.k, conv=[block]))
    assert h.cycles == int(model.cycles[0])
    assert h.counts["dram_reads"]["ifmap"] == int(model.dram_reads["ifmap"][0]) < 25 * 18


@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_compute_bound_tiles_stall_only_for_the_first_fill_and_the_last_drain(dataflow):
    """Issue 15: 4 tiles of a 32x8x16 layer on a 4x4 array with a 16-word DRAM port, every step
    compute-bound: the RTL's cycles are pinned (OS 354, WS and IS 355), and every stall cycle is the
    prologue, the first (load-only) step or the last step's drain: no fixed cycles per step or tile (the
    barrier starts the next tile in the cycle the engine is ready; its first request goes out then)."""
    cfg = ArrayConfig(
        rows=4,
        cols=4,
        dataflow=dataflow,
        dram_bw_words_per_cycle=16,
        dram_latency_cycles=2,
        ifmap_sram_bytes=256,
        filter_sram_bytes=256,
        ofmap_sram_bytes=1024,
    )
    want = 354 if dataflow is Dataflow.OS else 355
    assert _rtl_and_model_cycles(cfg, [(32, 8, 16)], seed=3) == ([want], [want])
    mem = memory_cycles(cfg, GemmArrays.of(32, 8, 16))
    steps = mem.schedule.steps
    assert mem.plan.tiles[0] == 4
    assert mem.stall_cycles[0] == 1 + steps.cycles[0] + steps.cycles[-1] - steps.trail[-1]
