"""ONNX networks with weights for ``systolic accuracy``: a chain of convolutions and fully-connected layers
read as the layer specs and float weights of :mod:`systolic.model.qnet`, and the shipped digits network
written as such an ONNX model.

What is read: one image input ``[B, C, H, W]`` (float), then in graph order ``Conv`` (square kernel, equal
strides and pads on every side, one group, no bias or a zero bias), ``Relu`` after every layer but the last,
``Transpose``/``Flatten``/``Reshape`` between the convolutions and the first fully-connected layer, and
``MatMul`` or ``Gemm`` (no bias or a zero bias, ``alpha = beta = 1``) for the fully-connected layers; the
last layer's output is the logits. The weights come back as ``[K, N]`` in qnet's im2col order (taps by row,
column, channel): ONNX's ``[F, C, R, S]`` convolution weights are transposed, and a fully-connected layer
after a flatten of NCHW data (no ``Transpose(0, 2, 3, 1)`` before it) has its rows reordered from (channel,
row, column) to (row, column, channel). Anything else is a one-line error naming the node.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from systolic.errors import InputError
from systolic.model import qnet

_PASS = {"Transpose", "Flatten", "Reshape", "Identity"}


def read_network(path: str | os.PathLike) -> tuple[tuple[qnet.LayerSpec, ...], tuple[np.ndarray, ...], int]:
    """``(specs, float weights [K, N] per layer, input H = W)`` of the ONNX chain in ``path``."""
    import onnx
    from onnx import numpy_helper

    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as err:  # onnx raises several types for a bad file
        raise InputError(
            f"not an ONNX model ({str(err).splitlines()[0] if str(err) else type(err).__name__})", path
        ) from None
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    if len(inputs) != 1:
        raise InputError(f"needs one image input, has {len(inputs)}", path)
    dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or dims[2] != dims[3] or dims[2] < 1:
        raise InputError(f"the input must be [batch, channels, H, W] with H = W, not {dims}", path)
    channels, hw = dims[1], dims[2]
    specs: list[qnet.LayerSpec] = []
    weights: list[np.ndarray] = []
    nhwc = False  # whether the data were transposed to NHWC before the flatten
    relu_after = []
    for node in g.node:
        where = f"node {node.name or node.op_type}"
        if node.op_type == "Conv":
            spec, w = _conv(node, inits, channels, path, where)
            specs.append(spec)
            weights.append(w)
            channels, hw = spec.out_ch, qnet.out_hw(spec, hw)
            relu_after.append(False)
        elif node.op_type in ("MatMul", "Gemm"):
            w = _dense(node, inits, path, where)
            k = channels * hw * hw if not specs or specs[-1].size else channels
            if w.shape[0] != k:
                raise InputError(f"takes {w.shape[0]} inputs where the data have {k}", path, where)
            if (
                specs and specs[-1].size and not nhwc
            ):  # rows of a flattened NCHW tensor: (c, h, w) -> (h, w, c)
                w = w.reshape(channels, hw, hw, -1).transpose(1, 2, 0, 3).reshape(k, -1)
            specs.append(qnet.LayerSpec(node.name or f"fc{len(specs)}", 0, k, w.shape[1]))
            weights.append(w)
            channels, hw = w.shape[1], 1
            relu_after.append(False)
        elif node.op_type == "Relu":
            if not relu_after or relu_after[-1]:
                raise InputError("a Relu must follow a Conv, MatMul or Gemm", path, where)
            relu_after[-1] = True
        elif node.op_type in _PASS:
            if node.op_type == "Transpose" and list(_attrs(node).get("perm", [])) == [0, 2, 3, 1]:
                nhwc = True
        else:
            raise InputError(f"op {node.op_type} is not in a conv/fc chain (README, 'Analog')", path, where)
    if not specs:
        raise InputError("has no Conv, MatMul or Gemm", path)
    if specs[-1].size or any(not r for r in relu_after[:-1]) or relu_after[-1]:
        raise InputError("must be layers with a Relu between them, ending in a fully-connected layer", path)
    return tuple(specs), tuple(weights), dims[2]


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _conv(node: Any, inits: dict, channels: int, path: Path, where: str) -> tuple[qnet.LayerSpec, np.ndarray]:
    if node.input[1] not in inits:
        raise InputError("the weights must be an initializer", path, where)
    w = np.asarray(inits[node.input[1]], dtype=np.float64)  # [F, C, R, S]
    a = _attrs(node)
    f, c, r, s = w.shape
    strides = list(a.get("strides", [1, 1]))
    pads = list(a.get("pads", [0, 0, 0, 0]))
    if r != s or c != channels or a.get("group", 1) != 1 or len(set(strides)) != 1 or len(set(pads)) != 1:
        raise InputError(
            f"needs a square kernel over all {channels} channels, one group, equal strides and pads "
            f"(weights {list(w.shape)}, strides {strides}, pads {pads})",
            path,
            where,
        )
    _no_bias(node, inits, 2, path, where)
    spec = qnet.LayerSpec(node.name or f"conv{node.output[0]}", r, c, f, stride=strides[0], pad=pads[0])
    return spec, w.transpose(2, 3, 1, 0).reshape(r * s * c, f)


def _dense(node: Any, inits: dict, path: Path, where: str) -> np.ndarray:
    if node.input[1] not in inits:
        raise InputError("the weights must be an initializer", path, where)
    w = np.asarray(inits[node.input[1]], dtype=np.float64)
    if node.op_type == "Gemm":
        a = _attrs(node)
        if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise InputError("needs transA = 0 and alpha = beta = 1", path, where)
        w = w.T if a.get("transB", 0) else w
        _no_bias(node, inits, 2, path, where)
    if w.ndim != 2:
        raise InputError(f"weights must be a matrix, not shape {list(w.shape)}", path, where)
    return w


def _no_bias(node: Any, inits: dict, index: int, path: Path, where: str) -> None:
    if len(node.input) > index and node.input[index]:
        bias = inits.get(node.input[index])
        if bias is None or np.any(bias != 0):
            raise InputError("has a bias; the quantized network has none (FQ-Conv: no bias)", path, where)


def digits_model(float_weights: tuple[np.ndarray, ...], specs: tuple[qnet.LayerSpec, ...] = qnet.DIGITS_CNN):
    """The float network as an ONNX ``ModelProto``: input ``pixels / 16`` as ``[B, 1, 8, 8]``, Conv + Relu
    layers, a transpose to NHWC and a flatten, and MatMul for the fully-connected layer (qnet's order)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    x = "image"
    for i, (w, spec) in enumerate(zip(float_weights, specs, strict=True)):
        last = i == len(specs) - 1
        y = "logits" if last else f"{spec.name}_out"
        if spec.size:
            onnx_w = np.asarray(w, dtype=np.float32).reshape(spec.size, spec.size, spec.in_ch, spec.out_ch)
            inits.append(numpy_helper.from_array(onnx_w.transpose(3, 2, 0, 1).copy(), f"{spec.name}_w"))
            nodes.append(
                helper.make_node(
                    "Conv", [x, f"{spec.name}_w"], [f"{spec.name}_z"], name=spec.name,
                    kernel_shape=[spec.size] * 2, strides=[spec.stride] * 2, pads=[spec.pad] * 4,
                )
            )  # fmt: skip
        else:
            if i and specs[i - 1].size:
                nodes.append(helper.make_node("Transpose", [x], ["nhwc"], name="to_nhwc", perm=[0, 2, 3, 1]))
                nodes.append(helper.make_node("Flatten", ["nhwc"], ["flat"], name="flatten", axis=1))
                x = "flat"
            inits.append(numpy_helper.from_array(np.asarray(w, dtype=np.float32), f"{spec.name}_w"))
            nodes.append(
                helper.make_node("MatMul", [x, f"{spec.name}_w"], [f"{spec.name}_z"], name=spec.name)
            )
        if last:
            nodes[-1].output[0] = y
        else:
            nodes.append(helper.make_node("Relu", [f"{spec.name}_z"], [y], name=f"{spec.name}_relu"))
        x = y
    hw = qnet.IMAGE_HW
    graph = helper.make_graph(
        nodes,
        "digits-cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, specs[0].in_ch, hw, hw])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, specs[-1].out_ch])],
        inits,
    )
    model = helper.make_model(graph, producer_name="systolic", opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def onnx_logits(path: str | os.PathLike, pixels: np.ndarray) -> np.ndarray:
    """Logits of the ONNX model in ``path`` from onnxruntime on digits pixels ``[B, 8, 8, C]`` (0..16),
    fed as ``pixels / 16`` in NCHW, one image at a time (the model's batch is fixed)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    x = (np.asarray(pixels, dtype=np.float32) / qnet.PIXEL_MAX).transpose(0, 3, 1, 2)
    return np.concatenate([sess.run(None, {name: x[i : i + 1]})[0] for i in range(len(x))])
