"""Numbers as users write them: ASCII digits only.

Python's ``int()`` and ``float()`` read any Unicode digit (``int("٤") == 4``, ``float("１２") == 12.0``) and
underscores (``int("1_6") == 16``); a config, topology or command line with such text is far more likely a
paste accident than a number, and no peer tool (SCALE-Sim's C-like parsers, HotSpot's ``strtod``) reads them.
These parsers take what ``strtol``/``strtod`` take, and raise ``ValueError`` otherwise.
"""

from __future__ import annotations

import re

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:inf|infinity|nan)", re.I)


def parse_int(text: str) -> int:
    """An integer in ASCII digits with an optional sign (surrounding whitespace allowed)."""
    s = text.strip()
    if not _INT.fullmatch(s):
        raise ValueError(f"not an integer: {text!r}")
    return int(s)


def parse_float(text: str) -> float:
    """A decimal number in ASCII (``1``, ``-2.5``, ``3e-6``, ``inf``, ``nan``; whitespace allowed).
    Callers that need a finite number check it."""
    s = text.strip()
    if not _FLOAT.fullmatch(s):
        raise ValueError(f"not a number: {text!r}")
    return float(s)
