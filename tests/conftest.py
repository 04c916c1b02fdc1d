"""Test-wide settings: under CI (CI=true) hypothesis draws the same examples every run, so a red CI run
is reproducible; on a developer's machine it explores new ones each time."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
