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
        os.chmod(tmp, 0o644)  # mkstemp makes it private; outputs are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    """Canonical, diff-friendly JSON (sorted keys), written atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


class AtomicDir:
    """Build a directory of outputs beside ``path`` and swap it in whole when the block succeeds.

    ``with AtomicDir(out) as tmp: ...`` writes into ``tmp``; on success ``tmp`` replaces ``out`` (the
    previous ``out``, if any, is removed only after the new one is in place); on failure ``tmp`` is
    removed and ``out`` is untouched.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and not self.path.is_dir():
            raise InputError("exists and is not a directory", self.path)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent))
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        import shutil

        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        old = None
        if self.path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".old", dir=self.path.parent))
            os.replace(self.path, old / "previous")
        os.replace(self.tmp, self.path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def int_csv_bytes(rows: Any) -> bytes:
    """``rows`` (a 2-D integer array) as CSV bytes, the same text as ``np.savetxt(f, rows, fmt="%d",
    delimiter=",")`` but built with array operations (a loop over digit positions, not over values).

    Each value takes its digits, a ``-`` if negative and a separator (``,``, or ``\n`` ending a row);
    byte offsets come from a cumulative sum. Digit ``d`` of every value is written at ``d`` bytes left of
    its separator, for all values at once and from the most significant position down: where a value has
    fewer digits, that write lands in an earlier value's bytes, which that value's own lower digits
    (written later) and the separators and signs (written last) then overwrite.
    """
    import numpy as np  # light modules (formats/network.py) import fileio: keep NumPy out

    a = np.asarray(rows)
    if a.ndim != 2 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError("int_csv_bytes needs a 2-D integer array")
    if a.size == 0:
        return b""
    v = a.astype(np.int64).ravel()
    neg = v < 0
    mag = np.abs(v)  # int64's minimum cannot occur: trace values are cycles, addresses and -1
    ndig = np.searchsorted(10 ** np.arange(19, dtype=np.int64), mag, side="right").clip(
        min=1
    )  # digits of each value
    size = ndig + neg + 1
    pad = int(ndig.max())  # room for the first value's stray high-digit writes
    sep = pad + np.cumsum(size) - 1  # each value's separator
    digits = np.empty((pad, v.size), dtype=np.uint8)
    q = mag.astype(np.uint32) if mag.max() < 2**32 else mag.astype(np.uint64)
    for d in range(pad):
        q, r = np.divmod(q, q.dtype.type(10))
        digits[d] = r
    digits += ord("0")
    out = np.empty(int(sep[-1]) + 1, dtype=np.uint8)
    for d in range(pad - 1, -1, -1):
        out[sep - 1 - d] = digits[d]
    out[sep] = ord(",")
    out[sep[a.shape[1] - 1 :: a.shape[1]]] = ord("\n")
    out[(sep - size + 1)[neg]] = ord("-")
    return out[pad:].tobytes()
