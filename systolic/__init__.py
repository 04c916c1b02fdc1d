"""systolic: one architecture description for systolic-array ML accelerators.

The vocabulary (``ArrayConfig``, ``Layer``, ``Workload``) lives here; the RTL generator is
``systolic.hdl``, the co-simulation ``systolic.cosim`` and the fast model ``systolic.model``.
"""

from .config import ArrayConfig, Dataflow, load_arch
from .errors import InputError
from .workload import ConvShape, Layer, Workload

__version__ = "0.1.0"

__all__ = ["ArrayConfig", "ConvShape", "Dataflow", "InputError", "Layer", "Workload", "load_arch"]
