"""The peer tools' own virtual environments (never the project's), created on first use."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def peer_python(venv_name: str, pins: Sequence[str], explicit: str | None = None) -> str:
    """The Python of ``build/<venv_name>`` with ``pins`` installed (made on first use), or ``explicit``."""
    if explicit:
        return explicit
    venv = ROOT / "build" / venv_name
    py = venv / "bin" / "python"
    if not py.exists():
        print(f"creating {venv} with {' '.join(pins)} (once)", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *pins], check=True)
    return str(py)
