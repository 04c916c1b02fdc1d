"""The generated RTL under cocotb on Icarus Verilog and Verilator: outputs == A @ B bit for bit and
RTL cycles == model cycles exactly. Builds are cached per config under build/test-sim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from systolic.cli import main
from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.runner import GemmCase, run_cases
from systolic.cosim.tools import check_simulator
from systolic.errors import InputError

BUILD = Path(__file__).resolve().parents[2] / "build" / "test-sim"
SIMS = ("icarus", "verilator")

EDGE_CASES = [
    GemmCase(1, 1, 1, seed=1),
    GemmCase(7, 5, 3, seed=2),  # primes, partial folds everywhere
    GemmCase(2, 4, 1, seed=3),  # K = 1, M < rows
    GemmCase(6, 4, 6, seed=4),  # exact multiples of 3x2
]


def _check(rows):
    for r in rows:
        assert r.outputs_match, f"{r.simulator} {r.workload}: {r.mismatches} wrong outputs"
        assert r.rtl_cycles == r.model_cycles, (
            f"{r.simulator} {r.workload}: RTL {r.rtl_cycles} vs model {r.model_cycles}"
        )


@pytest.mark.sim
@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_dataflows_on_a_non_square_array(sim, dataflow):
    cfg = ArrayConfig(name=f"t3x2-{dataflow.value}", rows=3, cols=2, dataflow=dataflow)
    _check(run_cases(cfg, sim, EDGE_CASES, root=BUILD, run_name="edge"))


@pytest.mark.sim
@pytest.mark.parametrize(
    "changes",
    [
        {"input_bits": 2, "weight_bits": 2, "acc_bits": 4},  # ternary-capable operands, accumulator wraps
        {
            "input_signed": False,
            "weight_signed": False,
            "input_bits": 16,
            "weight_bits": 16,
            "acc_bits": 33,
            "word_bytes": 2,
        },
        {"input_signed": False, "weight_bits": 3, "acc_bits": 11, "zero_gating": True},
    ],
    ids=["2bit-wrap", "u16", "mixed-sign-gated"],
)
def test_widths_and_signedness_on_icarus(changes):
    cfg = ArrayConfig(name="t2x3", rows=2, cols=3, dataflow=Dataflow.WS).replace(**changes)
    _check(
        run_cases(
            cfg,
            "icarus",
            [GemmCase(5, 7, 9, seed=5), GemmCase(3, 2, 4, seed=6)],
            root=BUILD,
            run_name="widths",
        )
    )


@pytest.mark.sim
def test_cosim_command_writes_json(tmp_path):
    out = tmp_path / "case.json"
    code = main(
        [
            "cosim",
            "--arch",
            "small-8x8",
            "--set",
            "rows=4",
            "--set",
            "cols=3",
            "--gemm",
            "9,5,4",
            "--seed",
            "11",
            "--json",
            str(out),
            "--build-dir",
            str(BUILD),
        ]
    )
    assert code == 0
    data = json.loads(out.read_text())
    assert data["simulator"] == "icarus" and data["shape"] == {"m": 9, "n": 5, "k": 4}
    assert data["outputs_match"] is True and data["rtl_cycles"] == data["model_cycles"]
    assert data["config"]["rows"] == 4


def test_missing_simulator_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(InputError, match=r"^icarus: iverilog not found: Icarus Verilog is missing"):
        check_simulator("icarus")
