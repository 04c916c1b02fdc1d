"""The house rules that the code's own imports and sizes must keep (README, "Layout").

Packages and the direction of their imports (an arrow ``a -> b`` means a module of ``a`` imports ``b``)::

    vocabulary (systolic/*.py) <- hdl, model <- formats <- report <- cosim <- flow <- cli

A package may import its own modules and those of the packages left of it, with two exceptions: hdl and
model never import each other (hdl depends on the vocabulary only, so a model edit never changes the
Verilog), and nothing outside cli imports it (the entry point ``systolic.cli:main`` is cli's own). Every import counts, also those inside functions and under
``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Package -> its folder in the repository (the import root ``systolic`` maps the top-level folders).
FOLDERS = {
    "hdl": ROOT / "hdl",
    "model": ROOT / "model",
    "cosim": ROOT / "cosim",
    "formats": ROOT / "systolic" / "formats",
    "report": ROOT / "systolic" / "report",
    "flow": ROOT / "systolic" / "flow",
    "cli": ROOT / "systolic" / "cli",
}
#: The order of the layers: a package may import packages of a lower rank (and itself).
RANK = {"vocabulary": 0, "hdl": 1, "model": 1, "formats": 2, "report": 3, "cosim": 4, "flow": 5, "cli": 6}
#: Same-rank packages that must not import each other.
APART = {("hdl", "model"), ("model", "hdl")}


def package_of(module: str) -> str | None:
    """``systolic.model.energy`` -> ``model``; ``systolic.config`` -> ``vocabulary``; others None."""
    parts = module.split(".")
    if parts[0] != "systolic":
        return None
    if len(parts) == 1:
        return "vocabulary"
    return parts[1] if parts[1] in FOLDERS else "vocabulary"


def module_name(path: Path) -> str:
    """The dotted name of a source file under the ``systolic`` import root."""
    for pkg, folder in FOLDERS.items():
        if folder in path.parents:
            rest = path.relative_to(folder).with_suffix("").parts
            return ".".join(["systolic", pkg] + [p for p in rest if p != "__init__"])
    rest = path.relative_to(ROOT / "systolic").with_suffix("").parts
    return ".".join(["systolic"] + [p for p in rest if p != "__init__"])


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (relative imports resolved), at any depth of its code."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            out.update(f"{target}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return out


def wrong_arrows(edges: dict[str, set[str]]) -> list[str]:
    """The imports that break the rules, as ``'module -> imported'`` lines (``edges``: module -> imports)."""
    bad = []
    for src, targets in sorted(edges.items()):
        a = package_of(src)
        for dst in sorted(targets):
            b = package_of(dst)
            if a is None or b is None or a == b:
                continue
            if b == "cli":
                bad.append(f"{src} -> {dst} (only the entry point, systolic.cli:main, is the CLI's)")
            elif (a, b) in APART or RANK[b] > RANK[a] or (RANK[b] == RANK[a] and a != b):
                bad.append(f"{src} -> {dst} ({a} must not import {b})")
    return bad


def package_cycles(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Pairs of packages that import each other."""
    pairs = {
        (package_of(s), package_of(d))
        for s, ds in edges.items()
        for d in ds
        if package_of(s) and package_of(d) and package_of(s) != package_of(d)
    }
    return sorted((a, b) for a, b in pairs if (b, a) in pairs and a < b)


def source_files() -> list[Path]:
    files = list((ROOT / "systolic").rglob("*.py"))
    for pkg in ("hdl", "model", "cosim"):
        files += list(FOLDERS[pkg].rglob("*.py"))
    return sorted(files)


def all_edges() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in source_files()}


def test_every_arrow_points_one_way():
    bad = wrong_arrows(all_edges())
    assert not bad, "imports against the layering:\n" + "\n".join(bad)


def test_no_cycle_between_packages():
    assert package_cycles(all_edges()) == []


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("systolic.hdl.controller", "systolic.model.memory"),  # hdl -> model
        ("systolic.hdl.accel", "systolic.flow.run"),  # hdl -> flow
        ("systolic.hdl.engine", "systolic.cli"),  # hdl -> cli
        ("systolic.model.sweep", "systolic.cli.calibrate"),  # model -> cli
        ("systolic.model.sweep", "systolic.flow.sweep"),  # model -> flow
        ("systolic.model.power", "systolic.report.summary"),  # model -> report
        ("systolic.model.thermal", "systolic.formats.hotspot"),  # model -> formats
        ("systolic.model.memory", "systolic.hdl.dataflow"),  # model -> hdl
        ("systolic.flow.run", "systolic.cli.common"),  # anything but the entry point -> cli
        ("systolic.formats.scalesim", "systolic.flow.run"),  # formats -> flow
        ("systolic.config", "systolic.model.energy"),  # vocabulary -> model
        ("systolic.report.html", "systolic.cosim.runner"),  # report -> cosim
    ],
)
def test_a_wrong_arrow_is_caught(src, dst):
    assert wrong_arrows({src: {dst}}) != []


def test_allowed_arrows_pass():
    ok = {
        "systolic.cli.run": {"systolic.flow.run", "systolic.config"},
        "systolic.flow.run": {"systolic.model.power", "systolic.report.summary", "systolic.formats.hotspot"},
        "systolic.cosim.runner": {"systolic.hdl.generate", "systolic.model.memory"},
        "systolic.hdl.pe": {"systolic.config", "systolic.dataflow"},
        "systolic.model.energy": {"systolic.config", "numpy"},
        "systolic.cli.__main__": {"systolic.cli"},
    }
    assert wrong_arrows(ok) == []


def test_a_cycle_is_caught():
    edges = {
        "systolic.flow.run": {"systolic.report.summary"},
        "systolic.report.summary": {"systolic.flow.run"},
    }
    assert package_cycles(edges) == [("flow", "report")]


def test_relative_imports_are_resolved():
    assert "systolic.model.memory" in imports_of(ROOT / "model" / "network.py")
    assert "systolic.cli.common" in imports_of(ROOT / "systolic" / "cli" / "run.py")


# --------------------------------------------------------------------------- sizes

#: Modules and functions may be longer than these only with a reason on the line of their ``def`` (or the
#: module's first line): a comment ``# long: <why>``.
MAX_MODULE_LINES = 900
MAX_FUNCTION_LINES = 80


def _sized_files() -> list[Path]:
    return [p for p in source_files() if "cosim" not in p.parts]


def test_no_module_too_long():
    long = []
    for path in _sized_files():
        lines = path.read_text().splitlines()
        if len(lines) > MAX_MODULE_LINES and "# long:" not in lines[0]:
            long.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
    assert not long, f"modules over {MAX_MODULE_LINES} lines without a reason:\n" + "\n".join(long)


def test_no_function_too_long():
    long = []
    for path in _sized_files():
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                head = lines[node.lineno - 1 : (node.body[0].lineno if node.body else node.lineno)]
                if size > MAX_FUNCTION_LINES and not any("# long:" in h for h in head):
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {size} lines")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines without a reason:\n" + "\n".join(long)


def test_every_package_is_installed():
    """A wheel (not only an editable install) holds every subpackage: pyproject lists them all."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"systolic.configs"}
    found |= {module_name(p) for p in source_files() if p.name == "__init__.py"}
    found |= {f"systolic.{pkg}" for pkg in ("hdl", "model", "cosim")}
    assert found <= listed, f"not in pyproject's packages: {sorted(found - listed)}"
