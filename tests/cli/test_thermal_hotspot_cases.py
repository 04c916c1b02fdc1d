"""``systolic thermal`` against HotSpot 6 on dies and grids nobody tuned for (issue 18).

Each case folder of tests/data/hotspot with a ``# builds:`` line in its cmd.txt holds inputs, HotSpot's
command lines and the files HotSpot wrote, per build (bench/hotspot_refs.py regenerates them): non-square
grids both ways round (40x24, 32x16, 16x32, 24x40), a 12 mm x 6 mm die, block edges that cut cells, all
four grid-to-block map modes, two-die stacks (layer files, one with HotSpot's detailed 3-D model), and
the block model. systolic runs the same command lines: with ``--integrator be`` against the SuperLU build
(one backward-Euler step per trace row) and ``--integrator exact`` against the default build (adaptive
RK4). The builds' transients differ from each other by up to 1.3 K on these cases; their steady files
agree to 0.01 K.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from systolic.cli import main

REF = Path(__file__).resolve().parents[1] / "data" / "hotspot"
#: Largest difference allowed, K: block temperatures (.steady, .ttrace) and grid cells (.grid.*) (issue 18).
#: Measured: 0.00 against the SuperLU build, 0.01 (the print precision) against the default build.
TOL_BLOCK_K, TOL_GRID_K = 0.05, 0.1
#: Against the SuperLU build the backward-Euler steps are the same arithmetic: one unit of %.2f at most.
TOL_SUPERLU_K = 0.0100001


def copy_inputs(case: Path, dest: Path) -> None:
    for path in case.iterdir():
        if path.is_file():
            shutil.copy(path, dest / path.name)


def cases() -> list[tuple[str, str]]:
    out = []
    for cmd in sorted(REF.glob("*/cmd.txt")):
        first = cmd.read_text().splitlines()[0]
        if first.startswith("# builds:"):
            out += [(cmd.parent.name, build) for build in first.split(":", 1)[1].split()]
    return out


def values(path: Path) -> np.ndarray:
    """The temperatures of a HotSpot output file, in file order."""
    rows = [line.split() for line in path.read_text().splitlines()]
    if path.name.endswith(".ttrace") and not path.name.endswith(".grid.ttrace"):
        return np.array(rows[1:], dtype=float)
    return np.array([float(r[1]) for r in rows if len(r) == 2 and r[0] != "Layer"])


def first_and_last_steps(text: str) -> str:
    """A grid transient file cut as bench/hotspot_refs.py cuts HotSpot's."""
    steps = ["t = " + part for part in text.split("t = ")[1:]]
    return steps[0] + steps[-1]


def test_cases_cover_the_issue():
    found = cases()
    assert len(found) == 14
    assert {b for _, b in found} == {"superlu", "default"}


@pytest.mark.parametrize(("name", "build"), cases())
def test_same_files_as_hotspot(name, build, tmp_path, monkeypatch):
    case = REF / name
    copy_inputs(case, tmp_path)
    monkeypatch.chdir(tmp_path)
    integrator = "be" if build == "superlu" else "exact"
    lines = (case / "cmd.txt").read_text().splitlines()
    for line in lines:
        if line.startswith("hotspot "):
            assert main(["thermal", *shlex.split(line)[1:], "--integrator", integrator]) == 0, line
    refs = sorted((case / build).iterdir())
    assert refs
    for ref in refs:
        ours = tmp_path / ref.name
        if ref.name.endswith(".grid.ttrace"):
            ours.write_text(first_and_last_steps(ours.read_text()))
            assert ours.read_text().count("t = ") == ref.read_text().count("t = ") == 2
        if ref.name.endswith(".steady") and not ref.name.endswith(".grid.steady"):
            assert [r.split()[0] for r in ours.read_text().splitlines()] == [
                r.split()[0] for r in ref.read_text().splitlines()
            ], "node names"
        if ref.name.endswith(".ttrace") and not ref.name.endswith(".grid.ttrace"):
            assert ours.read_text().splitlines()[0] == ref.read_text().splitlines()[0], "header"
        a, b = values(ours), values(ref)
        assert a.shape == b.shape, ref.name
        tol = TOL_GRID_K if ".grid." in ref.name else TOL_BLOCK_K
        if build == "superlu":
            tol = TOL_SUPERLU_K
        assert np.abs(a - b).max() <= tol, f"{ref.name}: {np.abs(a - b).max():.3f} K"


def test_physical_lateral_resistances_differ_from_hotspots_on_non_square_cells(tmp_path, monkeypatch, capsys):
    copy_inputs(REF / "accel8_grid_32x16", tmp_path)
    monkeypatch.chdir(tmp_path)
    argv = ["thermal", "-c", "case.config", "-f", "accel8.flp", "-p", "accel8.ptrace", "-model_type", "grid",
            "-grid_rows", "32", "-grid_cols", "16"]  # fmt: skip
    assert main([*argv, "-steady_file", "hotspot.steady"]) == 0
    assert main([*argv, "-steady_file", "physical.steady", "--lateral", "physical"]) == 0
    diff = np.abs(values(Path("hotspot.steady")) - values(Path("physical.steady")))
    assert diff.max() > 0.3  # cells twice as wide as tall: HotSpot's lateral resistances move blocks ~0.6 K
    capsys.readouterr()
    assert main([*argv, "--lateral", "diagonal"]) == 2
    assert capsys.readouterr().err == (
        "systolic: error: systolic thermal: argument --lateral: invalid choice: 'diagonal' "
        "(choose from 'hotspot', 'physical')\n"
    )
