"""model/floorplan.py: tiling checks (overlap, gap) and floorplans generated from architecture configs."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.config import ArrayConfig, builtin_arch_names, load_arch
from systolic.errors import InputError
from systolic.model.floorplan import (
    Floorplan,
    default_tile,
    floorplan_for,
    node_area_scale,
    pe_area_m2,
    sram_area_m2,
)

MM = 1e-3


def flp(*blocks: tuple[str, float, float, float, float]) -> Floorplan:
    """Blocks as (name, width, height, left, bottom) in mm."""
    names = tuple(b[0] for b in blocks)
    cols = np.array([b[1:] for b in blocks]) * MM
    return Floorplan(names, cols[:, 0], cols[:, 1], cols[:, 2], cols[:, 3])


def test_two_halves_tile():
    f = flp(("a", 1, 2, 0, 0), ("b", 1, 2, 1, 0))
    assert f.n_blocks == 2
    assert f.chip_width_m == pytest.approx(2 * MM) and f.chip_height_m == pytest.approx(2 * MM)
    assert f.index("B") == 1  # names are compared ignoring case, like HotSpot


def test_overlap_is_an_error():
    with pytest.raises(
        InputError, match=r"blocks 'a' and 'b' overlap at x=0.5 mm, y=0 mm \(blocks must not overlap\)"
    ):
        flp(("a", 1, 1, 0, 0), ("b", 1, 1, 0.5, 0))


def test_gap_is_an_error():
    with pytest.raises(
        InputError,
        match=r"gap: no block covers x=0..1 mm, y=1..2 mm \(25% of the 2 x 2 mm die is unused; fill it with a block\)",
    ):
        flp(("a", 1, 1, 0, 0), ("b", 1, 2, 1, 0))


def test_rounding_slivers_of_one_micrometre_are_tolerated():
    # HotSpot's ev6.flp is written with six decimals in metres: neighbours can be 1 um apart
    f = flp(("a", 1.033, 1, 0, 0), ("b", 0.966, 1, 1.034, 0))
    assert f.n_blocks == 2


def test_bad_blocks():
    with pytest.raises(InputError, match="block 'a': width must be positive, not 0 m"):
        flp(("a", 0, 1, 0, 0))
    with pytest.raises(
        InputError, match=r"block name 'A' appears twice \(names are compared ignoring case\)"
    ):
        flp(("a", 1, 1, 0, 0), ("A", 1, 1, 1, 0))
    with pytest.raises(InputError, match="a floorplan needs at least one block"):
        Floorplan((), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))


def test_translated_moves_to_origin():
    f = flp(("a", 1, 1, 3, 4)).translated()
    assert f.left_m[0] == 0 and f.bottom_m[0] == 0


@pytest.mark.parametrize("arch", builtin_arch_names())
def test_floorplan_for_shipped_configs(arch):
    cfg = load_arch(arch)
    f = floorplan_for(cfg)  # constructing it checks the tiling
    tr, tc = default_tile(cfg)
    n_tiles = -(-cfg.rows // tr) * -(-cfg.cols // tc)
    assert f.n_blocks == n_tiles + 5
    assert f.names[-5:] == ("ifmap_sram", "filter_sram", "ofmap_sram", "ctrl", "dram_if")
    assert f.names[0] == "pe_t0_0"
    pe_area = f.area_m2[:n_tiles].sum()
    assert pe_area == pytest.approx(cfg.rows * cfg.cols * pe_area_m2(cfg))
    assert f.area_m2[n_tiles] == pytest.approx(sram_area_m2(cfg.ifmap_sram_bytes, cfg.tech_node_nm))
    assert f.area_m2.sum() == pytest.approx(f.chip_width_m * f.chip_height_m)
    assert f.area_m2[-2] == pytest.approx(0.02 * f.area_m2.sum())  # control is 2% of the die


def test_tiles_hold_their_pes():
    cfg = ArrayConfig(rows=10, cols=6)
    f = floorplan_for(cfg, tile=(4, 4))
    tiles = [n for n in f.names if n.startswith("pe_t")]
    assert tiles == ["pe_t0_0", "pe_t0_1", "pe_t1_0", "pe_t1_1", "pe_t2_0", "pe_t2_1"]
    side = np.sqrt(pe_area_m2(cfg))
    heights = f.height_m[: len(tiles)] / side
    widths = f.width_m[: len(tiles)] / side
    np.testing.assert_allclose(heights, [4, 4, 4, 4, 2, 2])
    np.testing.assert_allclose(widths, [4, 2, 4, 2, 4, 2])
    # tile row 0 is the northernmost
    assert f.bottom_m[0] > f.bottom_m[2] > f.bottom_m[4]


def test_area_scales_with_node_squared():
    cfg = ArrayConfig(tech_node_nm=28)
    assert pe_area_m2(cfg.replace(tech_node_nm=56)) == pytest.approx(4 * pe_area_m2(cfg))
    assert node_area_scale(28) == 1.0
    # TPU v1 anchor: 24% of 331 mm^2 over 65536 int8 PEs at 28 nm
    assert pe_area_m2(ArrayConfig(tech_node_nm=28)) == pytest.approx(0.24 * 331e-6 / 65536)


def test_bad_tile():
    with pytest.raises(InputError, match=r"tile: tile rows must be an integer in 1..8, not 0"):
        floorplan_for(ArrayConfig(rows=8, cols=8), tile=(0, 4))
