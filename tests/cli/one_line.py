"""Running a command line in a folder of files and asserting the bad-input contract: exit status 2, one line
on standard error, nothing on standard output, and every file in the folder as it was."""

from __future__ import annotations

import os
from pathlib import Path

from systolic.cli import main


def files_of(root: Path) -> dict[str, bytes | str]:
    """Every file's bytes (a symlink's target) under ``root``."""
    out: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = f"-> {os.readlink(path)}"
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


def make(root: Path, files: dict[str, bytes | str | None]) -> None:
    """Create ``files`` under ``root``: bytes or text, None for a folder."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir(exist_ok=True)
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())


def refused(root: Path, capsys, argv: list[str], files: dict | None = None) -> str:
    """Run ``systolic ARGV`` in ``root`` holding ``files``; assert the contract; return the message after
    ``systolic: error: ``."""
    make(root, files or {})
    before = files_of(root)
    capsys.readouterr()
    old = Path.cwd()
    os.chdir(root)
    try:
        status = main(argv)
    finally:
        os.chdir(old)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert status == 2, err
    assert len(lines) == 1 and lines[0].startswith("systolic: error: "), err
    assert out == "", out
    assert files_of(root) == before
    return lines[0].removeprefix("systolic: error: ")
