"""The README's tour runs as written: every command of its ``sh`` block, from a copy of the repository's
example files, exits 0. Lines whose comment says *long* run only in ``make test-full``."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def tour_lines() -> list[str]:
    """The commands of the README's tour, in order (without the activation line)."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## A tour") :]
    block = section[section.index("```sh\n") + 6 : section.index("```\n", section.index("```sh\n") + 6)]
    return [line for line in block.splitlines() if line.startswith("systolic ")]


def is_long(line: str) -> bool:
    return bool(re.search(r"#.*\blong\b", line))


def test_the_tour_uses_only_shipped_files():
    """Every file a tour line reads is in the repository (outputs go to runs/)."""
    missing = []
    for line in tour_lines():
        words = shlex.split(line.split("#", 1)[0])
        for word in (part for w in words for part in w.split(",")):  # A.npy,B.npy names two files
            if (
                "/" in word or word.endswith((".csv", ".cfg", ".onnx", ".toml", ".flp"))
            ) and not word.startswith("runs/"):
                if not (ROOT / word).exists():
                    missing.append(f"{word} ({line})")
    assert not missing, "tour lines read files the repository does not ship:\n" + "\n".join(missing)


@pytest.fixture
def workdir(tmp_path):
    for folder in ("examples", "bench"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def _run(line: str, cwd: Path) -> None:
    argv = shlex.split(line.split("#", 1)[0])
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "systolic.cli", *argv[1:]], cwd=cwd, capture_output=True, text=True, env=env,
        timeout=1800,
    )  # fmt: skip
    assert proc.returncode == 0, f"{line}\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}"


@pytest.mark.parametrize("line", [ln for ln in tour_lines() if not is_long(ln)])
def test_tour_line(line, workdir):
    _run(line, workdir)


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("line", [ln for ln in tour_lines() if is_long(ln)])
def test_long_tour_line(line, workdir):
    _run(line, workdir)
