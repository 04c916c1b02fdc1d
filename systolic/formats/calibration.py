"""The calibration file that ``systolic run`` reads (``systolic calibrate`` writes it).

The calibration file holds the energy model's toggle coefficients (:class:`systolic.model.energy.Calibration`)
as JSON with sorted keys and rounded numbers, so regenerating it from the same calibration set gives the
same bytes. :func:`load_calibration` finds it: an explicit path, else ``$SYSTOLIC_CALIBRATION``, else the
packaged default ``systolic/configs/calibration.json`` (``configs/calibration.json`` in the repository,
which ``make calibrate`` regenerates).
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import resources
from pathlib import Path

from systolic.errors import InputError
from systolic.fileio import atomic_write_text, read_text

ENV_VAR = "SYSTOLIC_CALIBRATION"
DEFAULT_NAME = "calibration.json"


def default_calibration_path() -> Path:
    """The packaged calibration file (``configs/calibration.json`` in the repository)."""
    return Path(str(resources.files("systolic.configs") / DEFAULT_NAME))


def calibration_path(path: str | os.PathLike | None = None) -> Path:
    """The calibration file a run reads: ``path``, else ``$SYSTOLIC_CALIBRATION``, else the packaged one."""
    return Path(path if path is not None else os.environ.get(ENV_VAR) or default_calibration_path())


def load_calibration(path: str | os.PathLike | None = None):
    """The calibration at ``path`` (else ``$SYSTOLIC_CALIBRATION``, else the packaged default) and the path
    used: ``(Calibration, Path)``. A missing or malformed file is a one-line :class:`InputError`."""
    from systolic.model.energy import Calibration

    path = calibration_path(path)
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON ({err.msg})", path, f"line {err.lineno}") from None
    return Calibration.from_dict(data, str(path)), path


def calibration_label(path: str | os.PathLike) -> str:
    """How outputs name a calibration file, the same on every machine: the packaged default by its place in
    the repository, any other file by its name and the first 12 hex digits of its content's SHA-256."""
    path = Path(path)
    if path.resolve() == default_calibration_path().resolve():
        return "configs/calibration.json"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{path.name} (sha256 {digest})"


def calibration_text(calibration) -> str:
    """The file's bytes: canonical JSON (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(calibration.to_dict(), indent=2, sort_keys=True) + "\n"


def write_calibration(calibration, path: str | os.PathLike) -> Path:
    """Write ``calibration`` atomically (temporary file, then rename)."""
    return atomic_write_text(path, calibration_text(calibration))
