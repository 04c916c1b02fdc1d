"""The generated Verilog passes ``verilator --lint-only -Wall`` with only the explained waivers of hdl/lint.py."""

from __future__ import annotations

import subprocess

import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.cosim.tools import tool_env
from systolic.hdl.generate import write_verilog
from systolic.hdl.lint import write_lint_config

CONFIGS = [
    {"rows": 2, "cols": 2},
    {"rows": 1, "cols": 3},
    {"rows": 3, "cols": 1, "input_bits": 2, "weight_bits": 2, "acc_bits": 4},
    {"rows": 3, "cols": 2, "input_signed": False, "weight_bits": 3, "acc_bits": 11, "zero_gating": True},
    {
        "rows": 2,
        "cols": 3,
        "input_signed": False,
        "weight_signed": False,
        "input_bits": 16,
        "weight_bits": 16,
        "acc_bits": 64,
        "word_bytes": 2,
    },
]


def _lint(tmp_path, cfg: ArrayConfig) -> subprocess.CompletedProcess:
    src = write_verilog(cfg, tmp_path / "systolic_top.v")
    vlt = write_lint_config(tmp_path / "lint.vlt")
    return subprocess.run(
        ["verilator", "--lint-only", "-Wall", str(vlt), str(src)],
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("changes", CONFIGS, ids=lambda c: "-".join(f"{k}{v}" for k, v in c.items()))
@pytest.mark.parametrize("dataflow", list(Dataflow), ids=str)
def test_verilator_lint_wall_is_clean(tmp_path, dataflow, changes):
    result = _lint(tmp_path, ArrayConfig(dataflow=dataflow, **changes))
    assert result.returncode == 0, result.stderr
    assert "%Warning" not in result.stderr and "%Error" not in result.stderr


def test_lint_catches_warnings_without_the_waivers(tmp_path):
    """The waivers are needed (so they are not stale) and the lint run really checks the file."""
    src = write_verilog(ArrayConfig(rows=2, cols=2), tmp_path / "systolic_top.v")
    result = subprocess.run(
        ["verilator", "--lint-only", "-Wall", str(src)],
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    for rule in ("DECLFILENAME", "PROCASSINIT", "UNUSEDSIGNAL", "WIDTHEXPAND", "WIDTHTRUNC"):
        assert f"%Warning-{rule}" in result.stderr
