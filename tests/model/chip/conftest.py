"""Small chips and networks for the chip model's tests."""

from __future__ import annotations

import pytest

from systolic.chip_config import ChipConfig
from systolic.config import load_arch
from systolic.formats.calibration import load_calibration
from systolic.workload import Layer, Workload


def small_net() -> Workload:
    shapes = [(256, 16, 27), (256, 32, 144), (64, 32, 288), (64, 64, 288), (16, 10, 1024)]
    return Workload("tiny", tuple(Layer(f"l{i}", m, n, k) for i, (m, n, k) in enumerate(shapes)))


@pytest.fixture(scope="session")
def calibration():
    return load_calibration()[0]


@pytest.fixture(scope="session")
def tile():
    return load_arch("small-8x8")


@pytest.fixture(scope="session")
def chip2x2(tile):
    return ChipConfig("c2x2", 2, 2, tile, "small-8x8", dram_channels=2, dram_words_per_cycle=4)
