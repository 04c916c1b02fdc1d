"""Reading users' files and writing outputs so that nothing of the user's is ever lost.

Inputs are read with a size cap (:data:`MAX_INPUT_BYTES`), so that ``/dev/zero`` or a mistaken multi-gigabyte
file is one line, not a hang. Outputs follow one rule: systolic replaces only what it wrote itself.

* A single output file (``-o FILE``) is written to a temporary file beside it and renamed over it, so an
  interrupted run never leaves half a file; a symlink is written through (its target is replaced, the link
  stays); an existing file keeps its permission bits, a new one gets the umask's.
* An output folder (``--out DIR``) gets a manifest, :data:`MANIFEST`, listing every file systolic wrote
  into it with its size and SHA-256. A run builds its files in a staging folder inside ``DIR``, then moves
  each into place (one rename per file), removes the files of the previous manifest that it did not write
  again, and updates the manifest. A file the manifest does not list, or that changed since systolic
  wrote it, is never replaced or removed: a name that would collide with one is refused before any work
  (:func:`check_output`). A symlinked ``DIR`` is written through.
* An output that is also an input, or a folder that holds an input, is refused before any work.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import InputError

#: The largest input file systolic reads (configs, topologies, traces, specs are kilobytes to megabytes).
MAX_INPUT_BYTES = 64 << 20
#: The file in every output folder that lists what systolic wrote there (and so may replace).
MANIFEST = ".systolic-manifest.json"


# --------------------------------------------------------------------------- inputs


def read_bytes(path: str | os.PathLike, limit: int = MAX_INPUT_BYTES) -> bytes:
    """A user's input file, at most ``limit`` bytes, or a one-line InputError naming it (missing, a folder,
    unreadable, too large). FIFOs and devices are read like files, up to the limit."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO without a writer must not block the open
    except FileNotFoundError:
        raise InputError("no such file", path) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a file", path) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", path) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError("is a directory, not a file", path)
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", path) from None
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(f"larger than {_size(limit)}, the most systolic reads from one input file", path)
    return b"".join(chunks)


def read_text(path: str | os.PathLike, encoding: str = "utf-8", limit: int = MAX_INPUT_BYTES) -> str:
    """A user's input file as text, or a one-line InputError naming it (see :func:`read_bytes`; also: not
    UTF-8, or holding NUL bytes, which no text format has)."""
    data = read_bytes(path, limit)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", path) from None
    nul = text.find("\0")
    if nul >= 0:
        raise InputError(f"holds a NUL character (at {nul}): not a text file", path)
    return text


def read_toml(path: str | os.PathLike) -> dict[str, Any]:
    """A user's TOML file as a dict, or a one-line InputError naming it (see :func:`read_text`)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"malformed TOML: {err}", path) from None


def toml_tables(
    data: dict[str, Any], tables: Mapping[str, Iterable[str]], path: str | os.PathLike, top: tuple[str, ...]
) -> tuple[dict[str, Any], list[tuple[str, str, Any]]]:
    """A configuration file's keys, checked: the top-level keys named in ``top`` and every
    ``(table, key, value)`` of the ``tables`` (each with the keys it may hold), in file order. Anything else,
    or a table that is not one, is a one-line InputError naming the file and the key."""
    head: dict[str, Any] = {}
    entries: list[tuple[str, str, Any]] = []
    for key, value in data.items():
        if key in top:
            head[key] = value
        elif key in tables:
            if not isinstance(value, dict):
                raise InputError(f"[{key}] must be a table", path, key)
            for sub, subval in value.items():
                if sub not in tables[key]:
                    allowed = ", ".join(tables[key])
                    raise InputError(f"unknown key '{sub}' (allowed: {allowed})", path, f"[{key}]")
                entries.append((key, sub, subval))
        else:
            allowed = ", ".join([*top, *tables])
            raise InputError(f"unknown key or section '{key}' (allowed: {allowed})", path)
    return head, entries


def _size(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):g} MiB"


# --------------------------------------------------------------------------- single output files


def _target(path: Path) -> Path:
    """Where writing ``path`` lands: through a symlink (the link stays), else ``path``."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``.

    A symlink is written through; an existing file keeps its permission bits, a new one gets the umask's.
    Any failure is a one-line InputError naming the file; ``path`` is then untouched.
    """
    path = Path(path)
    target = _target(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        keep = target.stat().st_mode & 0o7777 if target.is_file() else None
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            if keep is not None:
                os.chmod(tmp, keep)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except IsADirectoryError:
        raise InputError("is a folder, not a file", path) from None
    except OSError as err:
        raise InputError(f"cannot write: {err.strerror or err}", path) from None
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically: see :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    """Canonical, diff-friendly JSON (sorted keys), written atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- checks before any work


def check_output(
    path: str | os.PathLike,
    inputs: Iterable[str | os.PathLike | None] = (),
    *,
    folder: bool = False,
    names: Iterable[str] = (),
    flag: str = "--out",
) -> Path:
    """Refuse an output that cannot be written, or whose writing would lose something, before any work.

    Parameters
    ----------
    path : str or os.PathLike
        The output file, or with ``folder`` the output folder.
    inputs : iterable of paths
        The command's input files (None and names that are not files are skipped): the output may not be
        one of them, and an output folder may not hold one.
    folder : bool
        ``path`` is a folder of outputs (:class:`OutputDir`).
    names : iterable of str
        Glob patterns, relative to the folder, of the files the command will write: an existing file that
        matches one and is not in the folder's manifest is refused (systolic did not write it).
    flag : str
        The option that named ``path``, for the message.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        One line naming the option, the path and what is wrong.
    """
    text = os.fspath(path)

    def refuse(what: str) -> InputError:
        return InputError(what, flag, text)

    if not text.strip():
        raise InputError("an empty path", flag)
    try:
        return _check_output(Path(text), inputs, folder, names, refuse)
    except OSError as err:
        raise refuse(f"cannot be used: {err.strerror or err}") from None


def _check_output(p: Path, inputs: Iterable, folder: bool, names: Iterable[str], refuse) -> Path:
    _check_name_lengths(p, refuse)
    if p.is_symlink() and not p.exists():
        raise refuse(f"a symlink to '{os.readlink(p)}', which does not exist")
    if p.exists():
        if folder and not p.is_dir():
            raise refuse("exists and is not a folder")
        if not folder and p.is_dir():
            raise refuse("is a folder, not a file")
    _check_inputs(p, inputs, folder, refuse)
    anchor = p if folder and p.is_dir() else _existing_ancestor(p if folder else p.parent)
    if not anchor.is_dir():
        raise refuse(f"'{anchor}' is a file, not a folder")
    _probe(anchor, refuse)
    if folder and p.is_dir():
        _check_collisions(p, names, refuse)
    return p


def _existing_ancestor(p: Path) -> Path:
    for parent in [p, *p.parents]:
        if os.path.lexists(parent):
            return parent
    return Path(".")


def _check_inputs(p: Path, inputs: Iterable, folder: bool, refuse) -> None:
    out = os.path.realpath(p)
    for given in inputs:
        if given is None or not os.path.isfile(given):
            continue
        real = os.path.realpath(given)
        if real == out:
            raise refuse(f"is also an input ({given}); give another output")
        if folder and real.startswith(out.rstrip(os.sep) + os.sep):
            raise refuse(f"holds the input {given}; give an output folder that holds none of the inputs")


def _check_name_lengths(p: Path, refuse) -> None:
    name_max = 255  # NAME_MAX of Linux's file systems (ext4, xfs, btrfs, tmpfs)
    for part in p.parts:
        if len(os.fsencode(part)) > name_max:
            raise refuse(f"a name longer than {name_max} bytes")


def _probe(anchor: Path, refuse) -> None:
    """Create and remove an entry in ``anchor``: the one test of writability that holds for root, read-only
    file systems and /proc alike."""
    probe = anchor / f".systolic-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as err:
        raise refuse(f"cannot write in '{anchor}': {err.strerror or err}") from None


def _check_collisions(folder: Path, names: Iterable[str], refuse) -> None:
    ours = read_manifest(folder)
    for pattern in names:
        for found in sorted(folder.glob(pattern)):
            rel = found.relative_to(folder).as_posix()
            if found.is_dir() and not found.is_symlink():
                if not any(c in pattern for c in "*?["):  # a folder where a file of that name goes
                    raise refuse(f"already holds a folder {rel}, where systolic writes a file")
                continue
            if rel not in ours:
                raise refuse(
                    f"already holds {rel}, which systolic did not write (its {MANIFEST} does not list it); "
                    "move it or give another folder"
                )
            if not unchanged(folder, rel, ours[rel]):
                raise refuse(f"{rel} was changed since systolic wrote it; move it or give another folder")


# --------------------------------------------------------------------------- output folders

#: Files up to this size are recorded in the manifest with their SHA-256; larger ones (traces) by size only.
MANIFEST_HASH_LIMIT = 16 << 20


def signature(path: Path) -> dict[str, Any]:
    """How the manifest recognises a file systolic wrote: its size and, up to :data:`MANIFEST_HASH_LIMIT`,
    its SHA-256 (deterministic: the same outputs give the same manifest)."""
    import hashlib

    size = path.stat().st_size
    sig: dict[str, Any] = {"bytes": size}
    if size <= MANIFEST_HASH_LIMIT:
        sig["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return sig


def unchanged(folder: Path, rel: str, sig: dict[str, Any]) -> bool:
    """``folder/rel`` is still the file systolic wrote (a regular file of the recorded size and hash)."""
    path = folder / rel
    try:
        st = path.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_size != sig.get("bytes"):
        return False
    return "sha256" not in sig or signature(path).get("sha256") == sig["sha256"]


def read_manifest(folder: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The files systolic wrote into ``folder``, with their signatures ({} when it has no manifest).

    Raises
    ------
    InputError
        The folder holds a file by the manifest's name that is not a manifest systolic wrote (not JSON,
        another layout, or a path outside the folder): it is not systolic's to replace.
    """
    path = Path(folder) / MANIFEST
    if not os.path.lexists(path):
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        ok = data.get("written_by") == "systolic" and isinstance(files, dict)
        ok = ok and all(
            _safe_relative(rel) and isinstance(sig, dict) and isinstance(sig.get("bytes"), int)
            for rel, sig in files.items()
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok or path.is_symlink():
        raise InputError(f"holds a {MANIFEST} systolic did not write; move it or give another folder", folder)
    return files


def _safe_relative(rel: Any) -> bool:
    if not isinstance(rel, str) or not rel:
        return False
    return not Path(rel).is_absolute() and ".." not in Path(rel).parts and rel != MANIFEST


def write_manifest(folder: str | os.PathLike, files: Iterable[str] | dict[str, dict[str, Any]]) -> None:
    """List ``files`` (relative to ``folder``; a dict gives their signatures, else they are read) as the
    files systolic wrote there."""
    folder = Path(folder)
    sigs = files if isinstance(files, dict) else {rel: signature(folder / rel) for rel in files}
    data = {"files": dict(sorted(sigs.items())), "written_by": "systolic"}
    atomic_write_text(folder / MANIFEST, json.dumps(data, indent=2, sort_keys=True) + "\n")


class OutputDir:
    """A folder of outputs: ``with OutputDir(out) as tmp: ...`` writes into ``tmp`` (a staging folder inside
    ``out``); when the block succeeds each file is moved into ``out``, the files of the previous manifest
    that were not written again are removed, and the manifest is updated. Nothing the manifest does not
    list, or that changed since systolic wrote it, is removed or replaced. When the block fails ``out`` is
    untouched (and removed again if this created it and it is empty).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __enter__(self) -> Path:
        self.created = _make_dirs(self.path)
        try:
            self.tmp = Path(tempfile.mkdtemp(prefix=".systolic-staging-", dir=self.path))
        except OSError as err:
            self._undo()
            raise InputError(f"cannot write: {err.strerror or err}", self.path) from None
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        import shutil

        try:
            if exc_type is None:
                self._commit()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if exc_type is not None:
                self._undo()

    def _undo(self) -> None:
        for d in reversed(self.created):
            try:
                d.rmdir()
            except OSError:
                break

    def _commit(self) -> None:
        staged = sorted(
            p.relative_to(self.tmp).as_posix() for p in self.tmp.rglob("*") if p.is_file() or p.is_symlink()
        )
        old = read_manifest(self.path)
        for rel in staged:
            if os.path.lexists(self.path / rel) and not (rel in old and unchanged(self.path, rel, old[rel])):
                raise InputError(
                    f"already holds {rel}, which systolic did not write or which was changed since; move it "
                    "or give another folder",
                    self.path,
                )
        new = {rel: signature(self.tmp / rel) for rel in staged}
        try:
            write_manifest(self.path, {**old, **new})  # claim the new names before they appear
            for rel in staged:
                _make_dirs((self.path / rel).parent)
                os.replace(self.tmp / rel, self.path / rel)
            _remove_stale(self.path, {rel: sig for rel, sig in old.items() if rel not in new})
            write_manifest(self.path, new)
        except OSError as err:
            raise InputError(f"cannot write: {err.strerror or err}", self.path) from None


#: The name this class had when it swapped whole folders (kept for code written against it).
AtomicDir = OutputDir


def _make_dirs(path: Path) -> list[Path]:
    """``mkdir -p path`` with the umask's permissions; the folders it created, outermost first."""
    missing = []
    for p in [path, *path.parents]:
        if p.is_dir():
            break
        if os.path.lexists(p) and not p.is_dir():
            raise InputError("exists and is not a folder", p)
        missing.append(p)
    created = []
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            continue
        except OSError as err:
            raise InputError(f"cannot create the folder: {err.strerror or err}", p) from None
        created.append(p)
    return created


def _remove_stale(folder: Path, stale: dict[str, dict[str, Any]]) -> None:
    """Remove files systolic wrote before and not this time, if still as it wrote them (a changed one is
    the user's now, and stays), and the folders that leaves empty."""
    parents = set()
    for rel, sig in sorted(stale.items()):
        if unchanged(folder, rel, sig):
            (folder / rel).unlink()
            parents.update(p for p in Path(rel).parents if p != Path("."))
    for rel_dir in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        try:
            (folder / rel_dir).rmdir()
        except OSError as err:
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT, errno.ENOTDIR):
                raise


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
