"""One entry point for workloads: a zoo network by name, or a topology CSV or ONNX file by path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from systolic.errors import InputError
from systolic.workload import Workload, read_topology
from systolic.zoo import NETWORKS, build


def load_workload(spec: str, **params: Any) -> Workload:
    """The workload ``spec`` names, with the network parameters applied.

    Parameters
    ----------
    spec : str
        A zoo network name (case-insensitive, e.g. ``resnet50``, ``gpt2``) or the path of a ``.csv``
        (SCALE-Sim conv or GEMM topology) or ``.onnx`` file.
    **params
        Keyword parameters of the zoo network (``batch``, ``seq_len``, ``phase``, ``context``, ``blocks``);
        ``None`` means "the default". Files take none.

    Raises
    ------
    InputError
        An unknown name that is not a file either, a parameter the network does not take or a bad value, a
        parameter given for a file, or any error reading the file.
    """
    given = {k: v for k, v in params.items() if v is not None}
    key = spec.strip().lower()
    if key in NETWORKS:
        try:
            return build(key, **given)
        except InputError as err:
            label = ", ".join([key, *(f"{k} {v}" for k, v in sorted(given.items()))])
            raise err.located(label) from None
    path = Path(spec)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".onnx"):
        if path.is_file():
            raise InputError(
                f"unknown file type '{path.suffix}': expected a .csv topology or an .onnx model", spec
            )
        raise InputError(f"no such network or file (zoo: {', '.join(NETWORKS)})", spec)
    if given:
        names = ", ".join(sorted(given))
        raise InputError(f"network parameters ({names}) apply to zoo networks, not to files", spec)
    if suffix == ".onnx":
        from systolic.formats.onnx import load_onnx

        return load_onnx(path)
    return read_topology(path)
