"""systolic/flow/sweep.py's Dask side (the spec, outputs and resume: tests/cli/test_sweep.py)."""

from __future__ import annotations

import os

from systolic.flow.sweep import _compute, _NoBar

TRIM = "MALLOC_TRIM_THRESHOLD_"


def test_local_workers_keep_glibcs_adaptive_malloc(monkeypatch):
    """Dask's default MALLOC_TRIM_THRESHOLD_ makes the model's evaluation 2.6x slower on a worker, and Dask
    writes it into the driver's environment too: neither happens."""
    monkeypatch.delenv(TRIM, raising=False)
    got = []
    # the task: os.getenv(payload, shared) on the worker, i.e. the worker's value of TRIM or ""
    _compute(os.getenv, [0], [TRIM], "", lambda b, res: got.append(res), _NoBar(), None, 1)
    assert got == [""] and TRIM not in os.environ
