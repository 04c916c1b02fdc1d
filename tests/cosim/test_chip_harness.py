"""The chip harness's pure-Python parts (cosim/chip_harness.py): cases, the NumPy chain, the model's
times, and the checks that make a wrong RTL fail."""

from __future__ import annotations

import numpy as np

from systolic.cosim.chip_harness import (
    ChipCase,
    ChipHarness,
    case_tensors,
    chip_setup,
    model_times,
    reference_chain,
)
from systolic.cosim.harness import reference
from systolic.cosim.matrix import CHIP_CASES
from systolic.model.cycles import GemmArrays
from systolic.model.functional import wrap
from systolic.model.memory import memory_cycles


def test_case_round_trips_through_json_dict():
    for case in CHIP_CASES:
        assert ChipCase.from_dict(case.to_dict()) == case


def test_chip_has_a_dram_channel_per_tile_unless_the_case_shares_one():
    chip, pipe = chip_setup(CHIP_CASES[1])
    assert pipe.stages == 3 and chip.tiles == 4 and chip.dram_channels == 4
    assert chip.lane_tile() == chip.tile
    shared = [c for c in CHIP_CASES if c.dram_channels is not None]
    assert shared
    chip, _ = chip_setup(shared[0])
    assert chip.lane_words_per_cycle < chip.tile.dram_bw_words_per_cycle


def test_reference_chain_cuts_to_input_bits_between_layers():
    chip, _ = chip_setup(CHIP_CASES[0])
    cfg = chip.tile
    inputs, weights = case_tensors(cfg, CHIP_CASES[0])
    c0 = reference(cfg, inputs[0], weights[0])
    want = reference(cfg, wrap(c0, cfg.input_bits, cfg.input_signed), weights[1])
    np.testing.assert_array_equal(reference_chain(cfg, inputs[0], weights), want)
    assert np.abs(c0).max() >= 1 << (cfg.input_bits - 1)  # the cut matters for these operands


def test_model_times_are_share_cycles_plus_a_start_cycle_per_layer():
    case = CHIP_CASES[1]
    chip, pipe = chip_setup(case)
    t = model_times(chip, pipe, case.batch)
    lay = np.array(case.layers)
    share = memory_cycles(chip.tile, GemmArrays.of(lay[:, 0], lay[:, 1], lay[:, 2])).cycles
    service = t["finish"] - t["start"]  # [server, item]
    for s in range(pipe.stages):
        np.testing.assert_array_equal(service[2 * s], sum(share[x] + 1 for x in pipe.stage_layers(s)))
    # links: hops x 2 cycles (tile 0 -> 1: one hop, 1 -> 2: two) + 32 words / 2 per beat, 64 / 2
    np.testing.assert_array_equal(service[1], 2 * 1 + 16)
    np.testing.assert_array_equal(service[3], 2 * 2 + 32)


def test_harness_reports_reads_outside_the_tensors_and_missing_outputs():
    case = CHIP_CASES[0]
    chip, pipe = chip_setup(case)
    inputs, weights = case_tensors(chip.tile, case)
    h = ChipHarness(chip, pipe, case.batch, inputs, weights)
    idle = dict.fromkeys(h.output_ports, 0)
    assert h.step(idle)["start"] == 1  # keeps asking for a start until busy
    busy = {**idle, "busy": 1, "tile0_start": 1, "tile0_layer": 0, "tile0_item": 0}
    h.step(busy)
    h.step({**idle, "busy": 1, "dram0_rd_valid": 1, "dram0_rd_addr": 5_000_000, "dram0_rd_len": 1})
    h.step({**idle, "busy": 1, "done": 1})
    assert h.done and h.times["start"][0, 0] == 0
    assert any("outside A and B" in p for p in h.problems)
    assert any("no output for items" in p for p in h.problems)
    assert h.mismatches() == sum(c.size for c in h.expected())


def test_harness_reports_a_channel_carrying_more_than_its_width():
    case = next(c for c in CHIP_CASES if c.dram_channels == 1)  # 3 slots of 1 word on 4 words
    chip, pipe = chip_setup(case)
    inputs, weights = case_tensors(chip.lane_tile(), case)
    h = ChipHarness(chip, pipe, case.batch, inputs, weights)
    idle = dict.fromkeys(h.output_ports, 0)
    h.step(idle)
    lens = 1 | 1 << 1 | 1 << 2  # one word in each of the 3 slots' length fields (1 bit each): fits
    h.step({**idle, "busy": 1, "dram0_wr_valid": 0b111, "dram0_wr_len": lens})
    assert not any("channel 0 carried" in p for p in h.problems) and h.peak_words["wr"] == 3
    two, pipe2 = chip_setup(CHIP_CASES[0])
    shared = two.replace(dram_channels=1, dram_words_per_cycle=4)  # 2 slots of 2 words (2-bit lengths)
    bad = ChipHarness(shared, pipe2, 1, *case_tensors(shared.lane_tile(), CHIP_CASES[0]))
    bad.step(dict.fromkeys(bad.output_ports, 0))
    over = 3 | 3 << 2  # a wrong RTL: 3 words in each 2-word slot
    bad.step({**dict.fromkeys(bad.output_ports, 0), "busy": 1, "dram0_rd_valid": 0b11, "dram0_rd_len": over})
    assert any("channel 0 carried 6 rd words, more than its 4" in p for p in bad.problems)
