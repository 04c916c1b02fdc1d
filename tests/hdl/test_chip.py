# amaranth: UnusedElaboratable=no
# ^ error-path tests construct components whose __init__ raises; Amaranth would warn they went unused.
"""The tiled chip's RTL: its ports, what it refuses, and a 2-tile pipeline under amaranth.sim whose every
stage and link interval equals the model's tandem line and whose outputs equal the NumPy chain (the
cocotb cases of ``make cosim`` run the same harness on Icarus and Verilator)."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Fragment

from systolic.chip_config import ChipPipeline
from systolic.config import Dataflow
from systolic.cosim.amaranth_sim import run_chip
from systolic.cosim.chip_harness import ChipCase, ChipHarness, case_tensors, chip_setup, model_times
from systolic.hdl.chip import Chip, DramChannel, link_timing

TWO = ChipCase("two", 1, 2, ((8, 8, 8), (8, 6, 8)), (0, 1), (0, 1), batch=3)


def _chip(case: ChipCase) -> Chip:
    chip, pipe = chip_setup(case)
    dut = Chip(chip, pipe)
    Fragment.get(dut, None)
    return dut


def test_ports_per_used_tile_and_link():
    case = ChipCase("gap", 2, 2, ((8, 4, 8), (8, 8, 4), (8, 4, 8)), (0, 1, 2), (0, 3, 2), batch=2)
    dut = _chip(case)
    names = set(dut.signature.members.keys())
    for t in (0, 3, 2):
        assert {f"tile{t}_start", f"tile{t}_depart"} <= names
    assert "tile1_start" not in names  # an unused tile is not built
    for c in range(4):  # a channel per tile (the case's default), the unused tile's too
        assert {f"dram{c}_rd_valid", f"dram{c}_rd_data", f"dram{c}_wr_data"} <= names
    assert {"link0_state", "link1_deliver", "start", "batch", "busy", "done"} <= names
    assert "link2_state" not in names
    assert len(dut.tiles) == 3


def test_link_timing_is_hops_times_hop_cycles_plus_beats():
    case = ChipCase(
        "gap", 2, 2, ((8, 4, 8), (8, 8, 4), (8, 4, 8)), (0, 1, 2), (0, 3, 2), batch=2, hop_cycles=3
    )
    chip, pipe = chip_setup(case)
    assert link_timing(chip, pipe, 0) == (3 * 2, 8 * 4 // 4)  # tile 0 -> 3: two hops; 32 words over 4
    assert link_timing(chip, pipe, 1) == (3 * 1, 8 * 8 // 4)


@pytest.mark.parametrize(
    "tile, message",
    [
        ({"dataflow": Dataflow.OS}, "dataflow os: a layer's ofmap in DRAM layout is not the next layer's"),
        ({"conv_native": True}, "conv_native must be false"),
    ],
)
def test_refuses_what_it_cannot_build(tile, message):
    case = ChipCase("bad", 1, 2, TWO.layers, TWO.stage_of, TWO.order, 1, tile={**TWO.tile, **tile})
    with pytest.raises(ValueError, match=message):
        Chip(*chip_setup(case))


def test_refuses_a_tile_beyond_the_grid():
    chip, pipe = chip_setup(TWO)
    far = ChipPipeline(pipe.layers, pipe.tile_sizes, pipe.stage_of, (0, 5))
    with pytest.raises(ValueError, match="order names tile 5, but the chip has 2 tiles"):
        Chip(chip, far)


def test_two_tile_pipeline_equals_model_and_numpy():
    chip, pipe = chip_setup(TWO)
    inputs, weights = case_tensors(chip.tile, TWO)
    h = run_chip(ChipHarness(chip, pipe, TWO.batch, inputs, weights), 5000)
    assert h.problems == []
    assert h.mismatches() == 0
    assert all(c is not None and c.shape == (8, 6) for c in h.outputs)
    model = model_times(chip, pipe, TWO.batch)
    assert h.interval_differences(model) == {"start": 0, "finish": 0, "depart": 0}
    assert h.cycles == model["depart"][-1, -1]
    # the harness sees a drift: a model one cycle late anywhere is a difference
    late = {k: v + (k == "finish") for k, v in model.items()}
    assert h.interval_differences(late)["finish"] == 1
    np.testing.assert_array_equal(h.times["start"][0], [0, 146, 292])  # stage 0 never waits


def test_three_tiles_on_one_narrow_channel_equal_the_model_at_the_lane():
    """The shared-channel case of ``make cosim``: 3 tiles of a 4-word port on one channel of 4 words (a
    lane of 1 word each): every interval equals the model's (costed at the lane), the channel never
    carries more than 4 words a cycle, and several of its lanes are used at once."""
    from systolic.cosim.matrix import CHIP_CASES

    case = next(c for c in CHIP_CASES if c.dram_channels == 1)
    chip, pipe = chip_setup(case)
    assert chip.lane_words_per_cycle == 1 < chip.tile.dram_bw_words_per_cycle == 4
    inputs, weights = case_tensors(chip.lane_tile(), case)
    h = run_chip(ChipHarness(chip, pipe, case.batch, inputs, weights), 20000)
    assert h.problems == [] and h.mismatches() == 0
    model = model_times(chip, pipe, case.batch)
    assert h.interval_differences(model) == {"start": 0, "finish": 0, "depart": 0}
    assert h.peak_words["rd"] >= 2  # two lanes busy in one cycle: a shared channel, not one lane
    wide, _ = chip_setup(ChipCase(**{**case.to_dict(), "dram_channels": None, "dram_words_per_cycle": None}))
    assert model["depart"][-1, -1] > model_times(wide, pipe, case.batch)["depart"][-1, -1]


def test_dram_channel_refuses_lanes_wider_than_the_channel():
    chip, _ = chip_setup(TWO)
    with pytest.raises(ValueError, match="3 slots of 2 words do not fit a channel of 4 words per cycle"):
        DramChannel(chip.lane_tile(), 4, 3)
