"""The generated RTL under cocotb on Icarus Verilog and Verilator: outputs == A @ B bit for bit and
RTL cycles == model cycles exactly. Builds are cached per config under build/test-sim."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from systolic.cli import main
from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.runner import GemmCase, run_cases
from systolic.cosim.tools import check_simulator
from systolic.errors import InputError
from systolic.workload import ConvShape

BUILD = Path(__file__).resolve().parents[2] / "build" / "test-sim"
SIMS = ("icarus", "verilator")

CONV = ConvShape(5, 4, 3, 2, 2, 3, stride_h=2, stride_w=1, pad_h=1, pad_w=0)  # as im2col, checked directly
EDGE_CASES = [
    GemmCase.from_conv(CONV, seed=9),
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
def test_verilator_keeps_the_pe_one_cxx_class():
    """Verilator inlines small modules; the build's control file keeps the PE a module, so its code is one
    C++ class for all rows x cols instances (a 32x32 accelerator built in 125 s of CPU instead of 182)."""
    from systolic.cosim.runner import build

    cfg = ArrayConfig(name="t3x2-ws", rows=3, cols=2, dataflow=Dataflow.WS)  # the build of the test above
    bdir = build(cfg, "verilator", root=BUILD)
    assert (bdir / "systolic.vlt").read_text().splitlines()[1] == 'no_inline -module "systolic_top_pe"'
    members = re.findall(
        r"^\s+Vtop_systolic_top_pe\s+TOP__systolic_top__DOT__array__DOT__(pe_\d+_\d+);",
        (bdir / "Vtop__Syms.h").read_text(),
        re.M,
    )
    assert sorted(members) == [f"pe_{r}_{c}" for r in range(3) for c in range(2)]


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


@pytest.mark.sim
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.integers(1, 6),
    cols=st.integers(1, 6),
    dataflow=st.sampled_from(list(Dataflow)),
    signed=st.booleans(),
    bits=st.integers(2, 9),
    m=st.integers(1, 20),
    n=st.integers(1, 20),
    k=st.integers(1, 20),
    seed=st.integers(0, 2**16),
)
def test_configs_and_shapes_nobody_chose(rows, cols, dataflow, signed, bits, m, n, k, seed):
    """Hypothesis picks the array, the dataflow, the formats and the GEMM; Icarus runs it."""
    cfg = ArrayConfig(
        name="rand",
        rows=rows,
        cols=cols,
        dataflow=dataflow,
        input_bits=bits,
        weight_bits=bits,
        input_signed=signed,
        weight_signed=signed,
        acc_bits=2 * bits + 2,
        word_bytes=(bits + 7) // 8,
    )
    _check(run_cases(cfg, "icarus", [GemmCase(m, n, k, seed=seed)], root=BUILD, run_name="random"))


@pytest.mark.sim
@pytest.mark.parametrize("sim", SIMS)
def test_waves_give_a_vcd_with_per_pe_signals(sim):
    from vcdvcd import VCDVCD

    cfg = ArrayConfig(name="t2x2", rows=2, cols=2, dataflow=Dataflow.WS)
    (row,) = run_cases(cfg, sim, [GemmCase(3, 2, 4, seed=7)], waves=True, root=BUILD, run_name="waves")
    assert row.ok and row.waves and Path(row.waves).exists()
    names = VCDVCD(row.waves, only_sigs=True).signals
    for r in range(2):
        for c in range(2):
            assert any(name.split("[")[0].endswith(f".pe_{r}_{c}.mul_a") for name in names), (r, c)


@pytest.mark.sim
def test_builds_are_cached_per_config(tmp_path):
    from systolic.cosim.runner import build

    cfg = ArrayConfig(name="cache", rows=2, cols=2, dataflow=Dataflow.OS)
    first = build(cfg, "icarus", root=tmp_path)
    stamp = (first / "build.stamp").stat().st_mtime_ns
    assert build(cfg, "icarus", root=tmp_path) == first
    assert (first / "build.stamp").stat().st_mtime_ns == stamp  # reused, not rebuilt
    other = build(cfg.replace(acc_bits=24), "icarus", root=tmp_path)
    assert other != first and (other / "systolic_top.v").exists()


def test_generator_sources_are_hdl_and_the_vocabulary_it_imports():
    from systolic.cosim.runner import generator_sources

    names = set(generator_sources())
    hdl = Path(__file__).resolve().parents[2] / "hdl"
    assert {f"systolic.hdl.{p.stem}" for p in hdl.glob("*.py") if p.stem != "__init__"} < names
    assert {"systolic.config", "systolic.dataflow", "systolic.geometry", "systolic.errors"} < names
    assert not [n for n in names if n.split(".")[1] in ("model", "cosim", "cli", "flow", "report", "formats")]


def _tree_copy(tmp_path: Path) -> dict[str, Path]:
    """A copy of the package folders the cache key reads, with their roots."""
    import shutil

    from systolic.cosim.runner import _package_roots

    roots = {}
    for package, folder in _package_roots().items():
        roots[package] = tmp_path / package
        shutil.copytree(folder, roots[package], ignore=shutil.ignore_patterns("__pycache__"))
    return roots


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_a_model_edit_keeps_the_build_cache_key_and_an_hdl_edit_changes_it(tmp_path):
    from systolic.cosim.runner import generator_digest, generator_sources

    roots = _tree_copy(tmp_path)
    key = generator_digest(roots)
    assert key == generator_digest()  # the same sources elsewhere: the same key
    _append(roots["systolic.model"] / "memory.py", "\nGEOMETRY_EDIT = 1\n")
    _append(roots["systolic.model"] / "cycles.py", "\nCYCLES_EDIT = 1\n")
    assert generator_digest(roots) == key
    _append(roots["systolic"] / "geometry.py", "\nSTORAGE_EDIT = 1\n")
    assert generator_digest(roots) != key
    key = generator_digest(roots)
    _append(roots["systolic.hdl"] / "pe.py", "\nPE_EDIT = 1\n")
    assert generator_digest(roots) != key
    # Were hdl to import the model, the model would be in the key: the first check above would fail.
    _append(roots["systolic.hdl"] / "accel.py", "\nfrom systolic.model.memory import plan_layer\n")
    assert "systolic.model.memory" in generator_sources(roots)
    key = generator_digest(roots)
    _append(roots["systolic.model"] / "memory.py", "\nANOTHER_EDIT = 1\n")
    assert generator_digest(roots) != key
