"""Golden outputs: a fixed set of commands whose every output file must stay byte for byte the same.

They pin behaviour while code moves (issue 14's restructuring, and any refactor after it): ``systolic run``
on ResNet-50 with every file (nominal, and with a DVFS policy and DTM), ``systolic dvfs``, ``systolic
thermal`` on HotSpot's ex2 grid transient, a small ``systolic sweep`` and the Verilog of both tops.

A change that is *meant* to change outputs regenerates them, in its own commit, with::

    SYSTOLIC_REGEN_GOLDEN=1 .venv/bin/pytest tests/test_golden.py

and says in that commit why the outputs changed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from systolic.cli import main
from systolic.config import load_arch

GOLDEN = Path(__file__).parent / "data" / "golden"
EX2 = Path(__file__).parent / "data" / "hotspot" / "ex2_grid_transient"
REGEN = os.environ.get("SYSTOLIC_REGEN_GOLDEN") == "1"

SWEEP_SPEC = """\
base = "small-8x8"
networks = ["alexnet"]
mode = "grid"
[space]
rows = [4, 8]
dataflow = ["os", "ws"]
"""


def _run(argv: list[str], cwd: Path) -> None:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        assert main(argv) == 0, argv
    finally:
        os.chdir(old)


def _case_run(out: Path) -> None:
    _run(["run", "--arch", "tpu-v1-128", "--topology", "resnet50", "--out", "o"], out.parent)


def _case_run_managed(out: Path) -> None:
    argv = ["run", "--arch", "tpu-v1-128", "--topology", "resnet50", "--policy", "deadline"]
    _run([*argv, "--deadline-ms", "4.5", "--temp-limit-c", "47", "--out", "o"], out.parent)


def _case_dvfs(out: Path) -> None:
    argv = ["dvfs", "--arch", "tpu-v1-128", "--topology", "resnet50", "--deadline-ms", "4.53"]
    _run([*argv, "--policy", "deadline", "--out", "o"], out.parent)


def _case_thermal(out: Path) -> None:
    out.mkdir()
    for name in ("ev6.flp", "example.config", "example.materials", "gcc.ptrace"):
        shutil.copy(EX2 / name, out / name)
    argv = ["thermal", "-c", "example.config", "-f", "ev6.flp", "-p", "gcc.ptrace"]
    argv += ["-materials_file", "example.materials", "-model_type", "grid", "-steady_file", "gcc.steady"]
    _run([*argv, "-grid_steady_file", "gcc.grid.steady", "-o", "gcc.ttrace"], out)
    for name in ("ev6.flp", "example.config", "example.materials", "gcc.ptrace"):
        (out / name).unlink()


def _case_sweep(out: Path) -> None:
    spec = out.parent / "spec.toml"
    spec.write_text(SWEEP_SPEC)
    _run(["sweep", "spec.toml", "--out", "o", "--workers", "1", "--quiet"], out.parent)


def _case_hdl(out: Path) -> None:
    from systolic.hdl.generate import verilog_text

    out.mkdir()
    _run(["hdl", "--arch", "small-8x8", "--set", "dataflow=ws", "-o", "core_ws.v"], out)
    (out / "accel_os.v").write_text(verilog_text(load_arch("small-8x8", {"rows": 4, "cols": 4}), "accel"))


CASES = {
    "run": _case_run,
    "run_managed": _case_run_managed,
    "dvfs": _case_dvfs,
    "thermal_ex2": _case_thermal,
    "sweep": _case_sweep,
    "hdl": _case_hdl,
}


def _content(path: Path) -> object:
    """What must not change in a file: its bytes; a Parquet file's table (pyarrow writes its own version into
    the bytes, and it is pinned per Python version); a PNG's presence only (matplotlib too); the manifest of an
    output folder with those two kinds' signatures left out, for the same reason."""
    if path.name == ".systolic-manifest.json":
        import json

        data = json.loads(path.read_text())
        files = data["files"]
        data["files"] = {k: v if Path(k).suffix not in (".png", ".parquet") else {} for k, v in files.items()}
        return data
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pydict()
    if path.suffix == ".png":
        return "a PNG"
    return path.read_bytes()


def _files(root: Path) -> dict[str, object]:
    return {str(p.relative_to(root)): _content(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_unchanged(case, tmp_path):
    out = tmp_path / "o"
    CASES[case](out)
    got = _files(out)
    want_dir = GOLDEN / case
    if REGEN:
        shutil.rmtree(want_dir, ignore_errors=True)
        for name in got:
            (want_dir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(out / name, want_dir / name)
    want = _files(want_dir)
    assert sorted(got) == sorted(want), f"{case}: other files than the golden ones"
    changed = [name for name in want if got[name] != want[name]]
    assert not changed, f"{case}: {', '.join(changed)} differ from tests/data/golden/{case}"
