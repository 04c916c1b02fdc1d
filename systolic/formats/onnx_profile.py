"""A data profile of an ONNX network: the operands of every MAC-bearing node on a sample input, captured with
onnxruntime and turned into the energy model's per-layer statistics (``systolic run --topology net.onnx
--sample-input x.npy``).

Every input of a Conv, Gemm or MatMul node that the graph computes (activations, and weights that are
not initializers) becomes an extra graph output, the model runs once on the sample, and each node's
operands are lowered as :mod:`systolic.formats.onnx` lowers its shape: a convolution to its im2col GEMM
(the first group of a grouped one; for a grouped convolution in blocks of b groups, ``group_blocks``, the
block-diagonal GEMM of its first b groups, zeros included, under the layer's name and its ``.tail``
entry's), Gemm with its transposes, MatMul over its last two axes (the first
batch element of a batched one). Real-valued tensors are quantized per tensor to the configured formats,
as a post-training quantizer without calibration data would: symmetric by the largest magnitude for a
signed format, and from the minimum to the maximum (a zero point) for an unsigned one; integer tensors
(ConvInteger, MatMulInteger) must fit the formats as they are.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from systolic.config import ArrayConfig
from systolic.errors import InputError
from systolic.workload import Workload

from .onnx import _CONV_OPS, _DEFAULT_DOMAINS, _MATMUL_OPS, _attributes, _first_line
from .operands import load_npy


def quantize(x: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """A real tensor as integer codes of a ``bits``-wide format (see the module docstring)."""
    x = np.asarray(x, dtype=np.float64)
    if np.issubdtype(np.asarray(x).dtype, np.integer):
        return x.astype(np.int64)
    if signed:
        top = (1 << (bits - 1)) - 1
        scale = float(np.abs(x).max()) or 1.0
        return np.clip(np.rint(x / scale * top), -top, top).astype(np.int64)
    top = (1 << bits) - 1
    lo, hi = float(x.min()), float(x.max())
    return np.clip(np.rint((x - lo) / ((hi - lo) or 1.0) * top), 0, top).astype(np.int64)


def _codes(x: np.ndarray, bits: int, signed: bool, what: str) -> np.ndarray:
    if np.issubdtype(x.dtype, np.integer):
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if x.size and (x.min() < lo or x.max() > hi):
            raise InputError(f"{what}: integer values {x.min()}..{x.max()} do not fit the {bits}-bit format")
        return x.astype(np.int64)
    return quantize(x, bits, signed)


def _lower(node: Any, get, layer) -> tuple[np.ndarray, np.ndarray]:
    """Real-valued A[M, K] and B[K, N] of one node (``get(name)`` gives a tensor's value)."""
    attrs = _attributes(node)
    if node.op_type in _CONV_OPS:
        xi, wi = _CONV_OPS[node.op_type]
        x, w = get(node.input[xi]), get(node.input[wi])
        shape = layer.conv
        if shape is None or x.ndim != 4:
            raise InputError("only 2-D convolutions without dilation are profiled")
        per, fpg = shape.channels // shape.groups, shape.filters // shape.groups
        from systolic.model.functional import block_operands
        from systolic.workload import ConvShape

        one = ConvShape(
            shape.ifmap_h, shape.ifmap_w, shape.filter_h, shape.filter_w, per, fpg,
            shape.stride_h, shape.stride_w, shape.pad_h, shape.pad_w, 1, shape.batch,
        )  # fmt: skip
        groups = range(layer.blocks)  # the first group, or the first block of groups
        a = [_im2col(np.transpose(x[:, g * per : (g + 1) * per], (0, 2, 3, 1)), one) for g in groups]  # NHWC
        b = [np.transpose(w[g * fpg : (g + 1) * fpg], (2, 3, 1, 0)).reshape(-1, fpg) for g in groups]
        return block_operands(np.stack(a), np.stack(b), per) if layer.blocks > 1 else (a[0], b[0])
    if node.op_type == "Gemm":
        a, b = get(node.input[0]), get(node.input[1])
        a = a.T if attrs.get("transA", 0) else a
        b = b.T if attrs.get("transB", 0) else b
        return a, b
    ai, bi = _MATMUL_OPS[node.op_type]
    a, b = get(node.input[ai]), get(node.input[bi])
    a = a[None] if a.ndim == 1 else a
    b = b[:, None] if b.ndim == 1 else b
    if b.ndim == 2:
        return a.reshape(-1, a.shape[-1]), b
    while a.ndim > 2:
        a = a[0]
    while b.ndim > 2:
        b = b[0]
    return a, b


def _im2col(x: np.ndarray, shape) -> np.ndarray:
    """im2col rows (b, oh, ow) and columns (r, s, c) of ``x[b, H, W, C]``, as the RTL's convolutions."""
    xp = np.pad(x, ((0, 0), (shape.pad_h, shape.pad_h), (shape.pad_w, shape.pad_w), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (shape.filter_h, shape.filter_w), axis=(1, 2))
    win = win[:, :: shape.stride_h, :: shape.stride_w][:, : shape.ofmap_h, : shape.ofmap_w]
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(shape.batch * shape.ofmap_h * shape.ofmap_w, -1)


def profile_operands(
    path: str | os.PathLike, sample: str | os.PathLike, workload: Workload
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Real-valued (A, B) of every layer of ``workload`` (``load_onnx(path)``) on the sample input."""
    import onnx
    import onnxruntime
    from onnx import numpy_helper

    path, sample = Path(path), Path(sample)
    x = load_npy(sample)
    model = onnx.load(str(path))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise InputError(f"a sample input needs a model with one input, not {len(inputs)}", path)
    nodes = []
    for index, node in enumerate(graph.node):
        if node.domain in _DEFAULT_DOMAINS and (
            node.op_type in _CONV_OPS or node.op_type in _MATMUL_OPS or node.op_type == "Gemm"
        ):
            nodes.append((node.name or f"{node.op_type}_{index}", node))
    wanted = {n for _, node in nodes for n in node.input if n and n not in inits}
    present = {o.name for o in graph.output}
    for name in sorted(wanted - present):
        graph.output.append(onnx.ValueInfoProto(name=name))
    try:
        session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        feed_type = session.get_inputs()[0].type
        dtype = np.float32 if "float" in feed_type and "16" not in feed_type else None
        feed = x.astype(dtype) if dtype is not None else x
        names = [o.name for o in session.get_outputs()]
        values = dict(zip(names, session.run(names, {inputs[0].name: feed}), strict=True))
    except Exception as err:  # onnxruntime's own exception types
        raise InputError(
            f"onnxruntime could not run the model on {sample.name}: {_first_line(err)}", path
        ) from None

    def get(name: str) -> np.ndarray:
        if name in inits:
            return numpy_helper.to_array(inits[name])
        return np.asarray(values[name])

    by_name = dict(nodes)
    out = []
    for layer in workload:
        node = by_name.get(layer.name)
        if node is None and layer.blocks > 1 and layer.name.endswith(".tail"):  # Layer.conv_blocks' tail
            node = by_name.get(layer.name.removesuffix(".tail"))
        if node is None:
            raise InputError(f"no node named '{layer.name}' in the model", path)
        try:
            out.append(_lower(node, get, layer))
        except InputError as err:
            raise InputError(err.what, path, f"node '{layer.name}'") from None
    return out


def profile_stats(
    cfg: ArrayConfig,
    path: str | os.PathLike,
    sample: str | os.PathLike,
    workload: Workload,
    tile_k: np.ndarray,
) -> np.ndarray:
    """Per-layer statistics ``[layer, stat]`` of ``workload`` on the sample input (quantized to ``cfg``'s
    formats; ``tile_k`` ``[layer]`` the memory plan's K-tiles)."""
    from systolic.model.energy import layer_stats

    rows = []
    for i, (layer, (a, b)) in enumerate(zip(workload, profile_operands(path, sample, workload), strict=True)):
        where = f"node '{layer.name}'"
        qa = _codes(np.asarray(a), cfg.input_bits, cfg.input_signed, f"{where} input")
        qb = _codes(np.asarray(b), cfg.weight_bits, cfg.weight_signed, f"{where} weight")
        # A dense convolution's statistics follow the schedule cfg plans for it (its bands when read
        # natively); a grouped layer's block GEMMs keep the GEMM's (their A is not the block's im2col order).
        conv = layer.conv if layer.conv is not None and layer.conv.groups == 1 else None
        rows.append(layer_stats(cfg, qa, qb, tile_k=int(tile_k[i]), where=f"{path}: {where}", conv=conv))
    return np.stack(rows)
