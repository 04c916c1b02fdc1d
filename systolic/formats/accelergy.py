"""Energy reference tables as Accelergy-style ERT YAML.

The layout is Accelergy's ``ERT.yaml`` (version 0.3)::

    ERT:
      version: 0.3
      tables:
      - name: systolic.mult            # <design>.<component class>
        actions:
        - name: multiply
          arguments: null
          energy: 0.4                  # pJ per action
      - ...

Reading also accepts Accelergy's ``ERT_summary.yaml`` (``ERT_summary: table_summary: [...]``, with
``energy`` or ``average_energy`` per action). A component's class is the last dotted part of its name with
any ``[0..n]`` index range removed, so ``system.PE[0..63].mult`` is class ``mult``. Accelergy's ``idle``
action (energy 0 by convention) is accepted and skipped; every other action must be one of systolic's
(:data:`systolic.model.energy.ACTIONS`), and every one of those must be present.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from systolic.errors import InputError
from systolic.fileio import atomic_write_text, read_text
from systolic.model.energy import ACTIONS, COMPONENT_CLASSES, EnergyTable

ERT_VERSION = 0.3
_INDEX_RANGE = re.compile(r"\[[^\]]*\]")


def ert_dict(table: EnergyTable, design: str = "systolic") -> dict[str, Any]:
    """The table as Accelergy's ERT structure, one component per class, actions in table order."""
    tables: list[dict[str, Any]] = []
    for cls in COMPONENT_CLASSES:
        rows = [i for i, c in enumerate(table.classes.tolist()) if c == cls]
        if not rows:
            continue
        actions = [
            {"name": str(table.actions[i]), "arguments": None, "energy": float(table.energy_pj[i])}
            for i in rows
        ]
        tables.append({"name": f"{design}.{cls}", "actions": actions})
    return {"ERT": {"version": ERT_VERSION, "tables": tables}}


def write_ert(path: str | os.PathLike, table: EnergyTable, design: str = "systolic") -> Path:
    """Write ``table`` as ERT YAML to ``path`` (atomically). Energies keep full float precision."""
    text = yaml.safe_dump(ert_dict(table, design), sort_keys=False, default_flow_style=False)
    return atomic_write_text(path, text)


def read_ert(path: str | os.PathLike) -> EnergyTable:
    """Read an ERT (or ERT summary) YAML file into an :class:`EnergyTable` in systolic's action order.

    Raises
    ------
    InputError
        One line naming the file, the field (``ERT.tables[2].actions[0].energy``) and what is wrong:
        malformed YAML, missing keys, unknown component classes or actions, duplicates, missing actions,
        energies that are not non-negative finite numbers, actions with arguments.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(read_text(path))
    except yaml.YAMLError as err:
        line = getattr(getattr(err, "problem_mark", None), "line", None)
        where = f"line {line + 1}" if line is not None else None
        raise InputError(f"malformed YAML: {getattr(err, 'problem', None) or err}", path, where) from None
    return _parse(data, path)


def _parse(data: Any, path: Path) -> EnergyTable:
    if not isinstance(data, dict) or not ({"ERT", "ERT_summary"} & set(data)):
        raise InputError("missing key 'ERT' (or 'ERT_summary') at the top level", path)
    top = "ERT" if "ERT" in data else "ERT_summary"
    body = data[top]
    list_key = "tables" if top == "ERT" else "table_summary"
    if not isinstance(body, dict) or list_key not in body:
        raise InputError(f"missing key '{list_key}'", path, top)
    tables = body[list_key]
    if not isinstance(tables, list):
        raise InputError(f"must be a list of components, not {_kind(tables)}", path, f"{top}.{list_key}")
    energies: dict[tuple[str, str], float] = {}
    known_actions = {cls: [a for c, a in ACTIONS if c == cls] for cls in COMPONENT_CLASSES}
    for i, comp in enumerate(tables):
        where = f"{top}.{list_key}[{i}]"
        if not isinstance(comp, dict):
            raise InputError(f"must be a mapping with 'name' and 'actions', not {_kind(comp)}", path, where)
        for key in ("name", "actions"):
            if key not in comp:
                raise InputError(f"missing key '{key}'", path, where)
        name = comp["name"]
        if not isinstance(name, str):
            raise InputError(f"must be a string, not {_kind(name)}", path, f"{where}.name")
        cls = _INDEX_RANGE.sub("", name).rsplit(".", 1)[-1]
        if cls not in COMPONENT_CLASSES:
            raise InputError(
                f"unknown component '{name}' (class '{cls}' is not one of {', '.join(COMPONENT_CLASSES)})",
                path,
                f"{where}.name",
            )
        actions = comp["actions"]
        if not isinstance(actions, list):
            raise InputError(f"must be a list of actions, not {_kind(actions)}", path, f"{where}.actions")
        for j, act in enumerate(actions):
            awhere = f"{where}.actions[{j}]"
            if not isinstance(act, dict):
                raise InputError(
                    f"must be a mapping with 'name' and 'energy', not {_kind(act)}", path, awhere
                )
            if "name" not in act:
                raise InputError("missing key 'name'", path, awhere)
            aname = act["name"]
            if aname == "idle":
                continue
            if aname not in known_actions[cls]:
                raise InputError(
                    f"unknown action '{aname}' of {cls} (known: {', '.join(known_actions[cls])})",
                    path,
                    f"{awhere}.name",
                )
            if act.get("arguments") not in (None, {}):
                raise InputError(
                    "actions with arguments are not supported (one energy per action)",
                    path,
                    f"{awhere}.arguments",
                )
            ekey = "energy" if "energy" in act or top == "ERT" else "average_energy"
            if ekey not in act:
                raise InputError(f"missing key '{ekey}'", path, awhere)
            energy = act[ekey]
            if isinstance(energy, bool) or not isinstance(energy, (int, float)) or not math.isfinite(energy):
                raise InputError(f"energy must be a number of pJ, not {energy!r}", path, f"{awhere}.{ekey}")
            if energy < 0:
                raise InputError(f"energy must not be negative, not {energy!r}", path, f"{awhere}.{ekey}")
            if (cls, aname) in energies:
                raise InputError(f"duplicate action '{aname}' of {cls}", path, f"{awhere}.name")
            energies[(cls, aname)] = float(energy)
    missing = [f"{c}.{a}" for c, a in ACTIONS if (c, a) not in energies]
    if missing:
        raise InputError(f"missing action(s) {', '.join(missing)}", path, f"{top}.{list_key}")
    return EnergyTable(
        classes=np.array([c for c, _ in ACTIONS]),
        actions=np.array([a for _, a in ACTIONS]),
        energy_pj=np.array([energies[key] for key in ACTIONS]),
    )


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
