"""systolic: one architecture description for systolic-array ML accelerators.

The vocabulary (``ArrayConfig``, ``Layer``, ``Workload``) lives here; the RTL generator is
``systolic.hdl``, the co-simulation ``systolic.cosim`` and the fast model ``systolic.model``.
"""

from .errors import InputError

__version__ = "0.1.0"

__all__ = ["ArrayConfig", "ConvShape", "Dataflow", "InputError", "Layer", "Workload", "load_arch"]

#: The vocabulary's names and their modules, imported on first use (PEP 562): commands that never read
#: an architecture (``systolic thermal -f ...``) start without the config module and its TOML and JSON.
_LAZY = {
    "ArrayConfig": "config",
    "Dataflow": "config",
    "load_arch": "config",
    "ConvShape": "workload",
    "Layer": "workload",
    "Workload": "workload",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'systolic' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
