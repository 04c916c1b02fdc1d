"""The chip vocabulary (systolic/chip_config.py): the shipped chip, NoC distances, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.chip_config import ChipConfig, is_chip_toml, load_chip, single_tile_chip
from systolic.config import load_arch
from systolic.errors import InputError

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
GOOD = """name = "c"
[chip]
rows = 2
cols = 3
tile = "small-8x8"
[noc]
topology = "ring"
link_words_per_cycle = 4
[dram]
channels = 1
"""


def test_shipped_chip():
    chip = load_chip(ROOT / "configs" / "chip-4x4.toml")
    assert (chip.rows, chip.cols, chip.tiles) == (4, 4, 16)
    assert chip.tile == load_arch("ws-32x32")
    assert chip.dram_bw_words_per_cycle == 128 and chip.topology == "mesh"
    assert is_chip_toml(ROOT / "configs" / "chip-4x4.toml")
    assert not is_chip_toml(ROOT / "configs" / "ws-32x32.toml")


def test_reads_fields_and_defaults(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(GOOD)
    chip = load_chip(p)
    assert chip.topology == "ring" and chip.link_words_per_cycle == 4 and chip.dram_channels == 1
    assert chip.hop_cycles == 2 and chip.fifo_depth == 2  # defaults


def test_a_tile_file_next_to_the_chip(tmp_path):
    (tmp_path / "t.toml").write_text((ROOT / "configs" / "small-8x8.toml").read_text())
    p = tmp_path / "c.toml"
    p.write_text(GOOD.replace('"small-8x8"', '"t.toml"'))
    assert load_chip(p).tile == load_arch("small-8x8").replace(name="small-8x8")


def test_hops_mesh_and_ring():
    tile = load_arch("small-8x8")
    mesh = ChipConfig("m", 3, 4, tile, "small-8x8")
    assert mesh.hops(0, 11) == 5 and mesh.hops(5, 6) == 1
    ring = mesh.replace(topology="ring")
    # boustrophedon: 0 1 2 3 / 7 6 5 4 / 8 9 10 11: tile 4 sits after 3, tile 8 closes to 0 the short way
    assert ring.hops(3, 7) == 1 and ring.hops(0, 11) == 1 and ring.hops(0, 6) == 5
    a, b = np.meshgrid(np.arange(12), np.arange(12))
    assert np.array_equal(ring.hops(a, b), ring.hops(b, a))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("rows = 2", "rows = 0"), "[chip] rows: must be in 1..64, not 0"),
        (GOOD.replace("rows = 2", 'rows = "2"'), "[chip] rows: must be an integer, not '2'"),
        (
            GOOD.replace('topology = "ring"', 'topology = "torus"'),
            "[noc] topology: must be one of mesh, ring",
        ),
        (GOOD.replace("[dram]", "[dram]\nspeed = 3"), "[dram]: unknown key 'speed'"),
        (GOOD.replace('tile = "small-8x8"\n', ""), "[chip] tile: missing"),
        (
            GOOD.replace('"small-8x8"', '"nope"'),
            "[chip] tile: no such accelerator file or shipped name 'nope'",
        ),
        (GOOD.replace('"small-8x8"', '"analog-isaac"'), "[chip] tile: 'analog-isaac' is an analog core"),
        (GOOD + "[extra]\n", "unknown key or section 'extra'"),
        ("[chip\n", "malformed TOML"),
        (
            GOOD.replace("channels = 1", "channels = 1\nwords_per_cycle = 5"),
            "[dram] words_per_cycle: 5 words per cycle cannot give each of the 6 tiles on a channel a lane "
            "of at least one word",
        ),
    ],
)
def test_errors_name_file_and_field(tmp_path, text, message):
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(InputError) as err:
        load_chip(p)
    assert str(err.value).startswith(f"{p}: ") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_single_tile_chip_gives_the_tile_its_bandwidth():
    tile = load_arch("ws-32x32")
    chip = single_tile_chip(tile)
    assert chip.tiles == 1 and chip.dram_bw_words_per_cycle == tile.dram_bw_words_per_cycle
    assert chip.lane_words_per_cycle == 10 and chip.lane_tile() == tile


@pytest.mark.parametrize(
    ("rows", "cols", "channels", "words", "lane"),
    [
        (4, 4, 4, 32, 8),  # chip-4x4: 4 tiles per channel, 32 // 4 = 8 < the tile's 10
        (4, 4, 4, 64, 10),  # a wide channel: the tile's own bandwidth
        (1, 3, 2, 9, 4),  # 3 tiles on 2 channels: the fullest has 2, 9 // 2 = 4
        (1, 2, 1, 4, 2),
        (2, 2, 8, 1, 1),  # more channels than tiles: one tile each
    ],
)
def test_lane_is_the_fullest_channels_equal_slot_at_most_the_tiles_own(rows, cols, channels, words, lane):
    tile = load_arch("ws-32x32")
    chip = ChipConfig("c", rows, cols, tile, "ws-32x32", dram_channels=channels, dram_words_per_cycle=words)
    assert chip.lane_words_per_cycle == lane
    assert chip.lane_tile() == tile.replace(dram_bw_words_per_cycle=lane)
    slots = [chip.channel_slot(t) for t in range(chip.tiles)]
    assert slots[-1] == ((chip.tiles - 1) % channels, (chip.tiles - 1) // channels)
    for c in range(channels):  # the lanes of a channel fit in its words
        assert sum(1 for ch, _ in slots if ch == c) * lane <= words


def test_a_lane_below_one_word_is_refused():
    chip = ChipConfig("c", 2, 2, load_arch("small-8x8"), "small-8x8", dram_channels=1, dram_words_per_cycle=3)
    with pytest.raises(ValueError, match="3 words per cycle cannot give each of the 4 tiles on a channel"):
        chip.lane_tile()


def test_an_analog_core_file_is_refused(tmp_path):
    (tmp_path / "core.toml").write_text((ROOT / "configs" / "analog-isaac.toml").read_text())
    p = tmp_path / "c.toml"
    p.write_text(GOOD.replace('"small-8x8"', '"core.toml"'))
    with pytest.raises(InputError, match=r"\[chip\] tile: 'core.toml' is an analog core"):
        load_chip(p)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(layers=()), "at least one layer"),
        (dict(stage_of=(0,)), "one entry per layer"),
        (
            dict(layers=((4, 4, 4), (4, 4, 5))),
            "layer 1 must take layer 0's output: M = 4 and K = 4, not 4 and 5",
        ),
        (dict(tile_sizes=((4, 4, 0), (4, 4, 4))), "3 positive integers"),
        (dict(stage_of=(0, 2)), "start at 0 and step by 0 or 1"),
        (dict(order=(1, 1)), "order must name 2 distinct tiles"),
    ],
)
def test_pipeline_errors_name_the_value(kwargs, message):
    from systolic.chip_config import ChipPipeline

    base = dict(layers=((4, 4, 4), (4, 4, 4)), tile_sizes=((4, 4, 4),) * 2, stage_of=(0, 1), order=(0, 1))
    with pytest.raises(ValueError, match=message):
        ChipPipeline(**{**base, **kwargs})


def test_pipeline_stages_and_words():
    from systolic.chip_config import ChipPipeline

    p = ChipPipeline(((8, 4, 2), (8, 6, 4), (8, 3, 6)), ((8, 4, 2),) * 3, (0, 0, 1), (2, 0))
    assert p.stages == 2 and p.stage_layers(0) == [0, 1] and p.stage_layers(1) == [2]
    assert (p.in_words(0), p.out_words(0), p.in_words(1), p.out_words(1)) == (16, 48, 48, 24)
