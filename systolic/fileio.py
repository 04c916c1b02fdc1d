"""Writing outputs so that an interrupted run never leaves a half-written file in place of a good one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import InputError


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """A user's input file as text, or a one-line InputError naming it (missing, a folder, not text)."""
    path = Path(path)
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", path) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", path) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", path) from None


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    """Canonical, diff-friendly JSON (sorted keys), written atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
