"""bench/: every name a benchmark imports from systolic exists (benchmarks are not run by `make test`, and
their imports inside functions are resolved only when they run: bench/full_run.py once imported a function
from the package that had moved to a submodule)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every ``from systolic... import name`` in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "systolic"
        for alias in node.names
    ]


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_bench_imports_resolve(path):
    missing = []
    for module, name in _imports(path):
        mod = importlib.import_module(module)
        if not hasattr(mod, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ModuleNotFoundError:
                missing.append(f"{module}.{name}")
    assert not missing, f"{path.name} imports names that do not exist: {', '.join(missing)}"
