"""The tiled chip under cocotb (cosim/chip_cosim.py, cosim/tb_chip.py): every stage's and link's start,
finish and departure of every item equal the model's tandem line, outputs equal the NumPy chain. The
``make cosim`` matrix runs the same cases (cosim/matrix.py's CHIP_CASES) on both simulators."""

from __future__ import annotations

from pathlib import Path

import pytest

from systolic.cosim.chip_cosim import run_chip_case
from systolic.cosim.matrix import CHIP_CASES

BUILD = Path(__file__).resolve().parents[2] / "build" / "test"


@pytest.mark.sim
@pytest.mark.parametrize(
    "sim", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)]
)  # Verilator's build of two tiles: minutes
def test_two_tiles_agree_with_model(sim):
    r = run_chip_case(CHIP_CASES[0], sim, root=BUILD)
    assert r.outputs_match and r.mismatches == 0
    assert r.extra["interval_differences"] == {"start": 0, "finish": 0, "depart": 0}
    assert r.rtl_cycles == r.model_cycles == 585
    assert r.ok


@pytest.mark.sim
def test_three_stages_with_a_full_fifo_agree_with_model():
    r = run_chip_case(CHIP_CASES[1], "icarus", root=BUILD)
    assert r.ok, r.extra["interval_differences"]
    model = r.extra["model_times"]
    # the case makes every kind of wait: stage 0 blocked, link 0 holding, stage 2 starved
    assert any(d > f for d, f in zip(model["depart"][0], model["finish"][0], strict=True))
    assert any(d > f for d, f in zip(model["depart"][1], model["finish"][1], strict=True))
    assert model["start"][4][1] > model["depart"][4][0]


@pytest.mark.sim
def test_three_tiles_sharing_one_narrow_channel_agree_with_model():
    case = next(c for c in CHIP_CASES if c.dram_channels == 1)
    r = run_chip_case(case, "icarus", root=BUILD)
    assert r.ok, r.extra["interval_differences"]
    assert r.extra["interval_differences"] == {"start": 0, "finish": 0, "depart": 0}
    assert r.rtl_cycles == r.model_cycles
