"""Read an ONNX model's MAC-bearing nodes as a ``Workload``.

Conv (and its quantised forms ConvInteger, QLinearConv) becomes its im2col GEMM, Gemm and MatMul (and
MatMulInteger, QLinearMatMul) their GEMMs; other ops do no multiply-accumulates on the array and are left
out. Shapes come from onnx's shape inference, so every dimension must be fixed: export with a fixed batch
size and sequence length. onnx is imported on first use only, so ``import systolic`` stays light.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from systolic.errors import InputError
from systolic.workload import ConvShape, Layer, Workload

# op type -> (index of the data input A / X, index of the weight input B / W)
_CONV_OPS = {"Conv": (0, 1), "ConvInteger": (0, 1), "QLinearConv": (0, 3)}
_MATMUL_OPS = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3)}
# MAC-bearing ops this importer does not lower: an error, since leaving them out would undercount silently
_NOT_LOWERED = {"ConvTranspose", "DeformConv", "Einsum", "Attention", "RNN", "GRU", "LSTM"}
_DEFAULT_DOMAINS = ("", "ai.onnx")

Dims = tuple[int, ...]


def load_onnx(path: str | os.PathLike) -> Workload:
    """The Conv, Gemm and MatMul nodes of an ONNX model, in graph order, as GEMM layers.

    Parameters
    ----------
    path : str or os.PathLike
        An ONNX model file with fixed input shapes.

    Returns
    -------
    Workload
        Named after the file's stem; one layer per MAC-bearing node, named after the node.

    Raises
    ------
    InputError
        The file is missing or not an ONNX model, a shape is unknown or dynamic, a node is malformed or not
        supported, or the model has no Conv, Gemm or MatMul node. The message names the file and the node.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    if path.is_dir():
        raise InputError("is a directory, not a file", path)
    try:
        import onnx
        from onnx import shape_inference
    except ImportError:  # pragma: no cover - onnx is a dependency
        raise InputError("reading ONNX needs the onnx package (pip install onnx)", path) from None

    try:
        # Weights are not needed, only their dims, which the protobuf keeps even for external data.
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # protobuf's DecodeError and friends
        raise InputError(f"not an ONNX model: {_first_line(err)}", path) from None
    if not model.HasField("graph") or not model.graph.node:
        raise InputError("not an ONNX model: no graph nodes", path)

    inference_note = ""
    try:
        model = shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except Exception as strict_err:  # e.g. an op from a custom domain: fall back to best effort
        inference_note = f" (shape inference: {_first_line(strict_err)})"
        try:
            model = shape_inference.infer_shapes(model, data_prop=True)
        except Exception as err:
            raise InputError(f"shape inference failed: {_first_line(err)}", path) from None
    return _Importer(path, model.graph, inference_note).workload()


class _Importer:
    def __init__(self, path: Path, graph: Any, inference_note: str):
        self.path = path
        self.graph = graph
        self.note = inference_note
        self.shapes: dict[str, tuple[int | str | None, ...]] = {}
        for info in (*graph.input, *graph.value_info, *graph.output):
            tensor = info.type.tensor_type if info.type.HasField("tensor_type") else None
            if tensor is not None and tensor.HasField("shape"):
                self.shapes[info.name] = tuple(
                    d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                    for d in tensor.shape.dim
                )
        self.constants = {init.name for init in graph.initializer}
        for init in graph.initializer:
            self.shapes[init.name] = tuple(init.dims)
        for node in graph.node:
            if node.op_type == "Constant":
                self.constants.update(node.output)

    def workload(self) -> Workload:
        layers = []
        for index, node in enumerate(self.graph.node):
            name = node.name or f"{node.op_type}_{index}"
            where = f"node '{name}' ({node.op_type})"
            if node.domain not in _DEFAULT_DOMAINS:
                continue
            if node.op_type in _NOT_LOWERED:
                raise InputError(
                    f"{node.op_type} does multiply-accumulates but systolic's ONNX import does not lower it "
                    "to GEMMs (only Conv, Gemm and MatMul); its MACs would be missing",
                    self.path,
                    where,
                )
            if _has_mac_subgraph(node):
                raise InputError(
                    "Conv, Gemm or MatMul inside control flow (If, Loop, Scan) is not supported",
                    self.path,
                    where,
                )
            try:
                if node.op_type in _CONV_OPS:
                    layers.append(self._conv(name, node))
                elif node.op_type == "Gemm":
                    layers.append(self._gemm(name, node))
                elif node.op_type in _MATMUL_OPS:
                    layers.append(self._matmul(name, node))
            except InputError as err:
                raise InputError(err.what, self.path, where) from None
        if not layers:
            raise InputError("no Conv, Gemm or MatMul nodes: nothing to map onto the array", self.path)
        return Workload(self.path.stem, tuple(layers))

    # ----------------------------------------------------------------------- shapes

    def _dims(self, node: Any, index: int, role: str, output: bool = False) -> Dims:
        names = node.output if output else node.input
        if index >= len(names) or not names[index]:
            raise InputError(f"missing {role}")
        tensor = names[index]
        shape = self.shapes.get(tensor)
        if shape is None:
            raise InputError(
                f"the shape of {role} '{tensor}' is unknown and shape inference could not find it{self.note}"
            )
        if not all(isinstance(d, int) and d > 0 for d in shape):
            shown = ", ".join("?" if d is None else str(d) for d in shape)
            if any(d == 0 for d in shape):
                raise InputError(f"{role} '{tensor}' is empty: shape [{shown}]")
            raise InputError(
                f"{role} '{tensor}' has a dynamic shape [{shown}]: systolic needs fixed sizes "
                "(export the model with a fixed batch size and sequence length)"
            )
        return shape  # type: ignore[return-value]

    # ----------------------------------------------------------------------- ops

    def _conv(self, name: str, node: Any) -> Layer:
        xi, wi = _CONV_OPS[node.op_type]
        x = self._dims(node, xi, "input")
        w = self._dims(node, wi, "weight")
        y = self._dims(node, 0, "output", output=True)
        attrs = _attributes(node)
        spatial = len(x) - 2
        if spatial not in (1, 2) or len(w) != len(x) or len(y) != len(x):
            raise InputError(
                f"only 1-D and 2-D convolutions are supported, not input shape {list(x)} "
                f"with weight shape {list(w)}"
            )
        if "kernel_shape" in attrs and list(attrs["kernel_shape"]) != list(w[2:]):
            raise InputError(
                f"kernel_shape {list(attrs['kernel_shape'])} does not match the weight shape {list(w)}"
            )
        strides = list(attrs.get("strides", [1] * spatial))
        dilations = list(attrs.get("dilations", [1] * spatial))
        pads = list(attrs.get("pads", [0] * (2 * spatial)))
        if spatial == 1:  # a 1-D convolution is a 2-D one of height 1
            x, w, y = (*x[:2], 1, x[2]), (*w[:2], 1, w[2]), (*y[:2], 1, y[2])
            strides, dilations, pads = [1, *strides], [1, *dilations], [0, pads[0], 0, pads[1]]
        batch, channels, in_h, in_w = x
        filters, per_group, k_h, k_w = w
        _, out_c, out_h, out_w = y
        group = attrs.get("group", 1)
        if channels != per_group * group or filters % group or out_c != filters:
            raise InputError(
                f"input channels ({channels}), weight shape {list(w)}, group ({group}) and "
                f"output channels ({out_c}) do not agree"
            )
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
        sizes, kernels = (in_h, in_w), (k_h, k_w)
        effective = [d * (k - 1) + 1 for d, k in zip(dilations, kernels, strict=True)]
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            pads = [0] * 4
            for axis in range(2):
                total = max(
                    (-(-sizes[axis] // strides[axis]) - 1) * strides[axis] + effective[axis] - sizes[axis], 0
                )
                small, large = total // 2, total - total // 2
                pads[axis], pads[axis + 2] = (small, large) if auto_pad == "SAME_UPPER" else (large, small)
        elif auto_pad == "VALID":
            pads = [0] * 4
        # The GEMM comes from the inferred output, which is right for any padding and dilation; the
        # ConvShape that records the convolution has one padding per axis and no dilation.
        m, k, n = batch * out_h * out_w, k_h * k_w * per_group, filters // group
        kind = "depthwise" if group > 1 and group == channels else "conv"
        sym = [
            _symmetric_pad(sizes[a], effective[a], strides[a], pads[a], pads[a + 2], (out_h, out_w)[a])
            for a in range(2)
        ]
        if dilations == [1, 1] and None not in sym:
            shape = ConvShape(
                in_h, in_w, k_h, k_w, channels, filters, strides[0], strides[1], sym[0], sym[1], group, batch
            )
            layer = Layer.from_conv(name, shape)
            if (layer.m, layer.n, layer.k, layer.repeat) == (m, n, k, group):
                return layer
        return Layer(name, m, n, k, repeat=group, kind=kind)

    def _gemm(self, name: str, node: Any) -> Layer:
        a = self._dims(node, 0, "input A")
        b = self._dims(node, 1, "input B")
        if len(a) != 2 or len(b) != 2:
            raise InputError(f"Gemm needs 2-D inputs, got A {list(a)} and B {list(b)}")
        attrs = _attributes(node)
        m, k = (a[1], a[0]) if attrs.get("transA", 0) else a
        k_b, n = (b[1], b[0]) if attrs.get("transB", 0) else b
        if k != k_b:
            raise InputError(
                f"inner dimensions differ: A {list(a)} and B {list(b)} "
                f"(transA={attrs.get('transA', 0)}, transB={attrs.get('transB', 0)})"
            )
        return Layer(name, m, n, k)

    def _matmul(self, name: str, node: Any) -> Layer:
        ai, bi = _MATMUL_OPS[node.op_type]
        a = self._dims(node, ai, "input A")
        b = self._dims(node, bi, "input B")
        a2 = (1, *a) if len(a) == 1 else a  # numpy's rules for 1-D operands
        b2 = (*b, 1) if len(b) == 1 else b
        (m, k), (k_b, n) = a2[-2:], b2[-2:]
        if k != k_b:
            raise InputError(f"inner dimensions differ: A {list(a)} and B {list(b)}")
        if len(b2) == 2:
            # One weight (or 2-D operand) shared by every leading index of A: one taller GEMM.
            return Layer(name, math.prod(a2[:-1]), n, k)
        batch = _broadcast(a2[:-2], b2[:-2])
        if batch is None:
            raise InputError(f"batch dimensions of A {list(a)} and B {list(b)} do not broadcast")
        both_computed = not {node.input[ai], node.input[bi]} & self.constants
        return Layer(name, m, n, k, repeat=math.prod(batch), kind="attention" if both_computed else "gemm")


def _attributes(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {attr.name: helper.get_attribute_value(attr) for attr in node.attribute}


def _symmetric_pad(size: int, kernel: int, stride: int, begin: int, end: int, out: int) -> int | None:
    """One padding for both sides that gives the same output size (``begin`` preferred), if there is one."""
    for pad in (begin, end):
        if size + 2 * pad >= kernel and (size + 2 * pad - kernel) // stride + 1 == out:
            return pad
    return None


def _broadcast(a: Sequence[int], b: Sequence[int]) -> Dims | None:
    width = max(len(a), len(b))
    a = (1,) * (width - len(a)) + tuple(a)
    b = (1,) * (width - len(b)) + tuple(b)
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b, strict=True)):
        return None
    return tuple(max(x, y) for x, y in zip(a, b, strict=True))


def _has_mac_subgraph(node: Any) -> bool:
    for attr in node.attribute:
        for graph in (*([attr.g] if attr.HasField("g") else []), *attr.graphs):
            for inner in graph.node:
                if inner.op_type in _CONV_OPS or inner.op_type in _MATMUL_OPS or inner.op_type == "Gemm":
                    return True
                if _has_mac_subgraph(inner):
                    return True
    return False


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
