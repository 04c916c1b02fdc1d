"""ONNX import: small models built with onnx.helper, a whole ResNet-18 against the zoo, and bad inputs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from systolic.errors import InputError  # noqa: E402
from systolic.formats.onnx import load_onnx  # noqa: E402
from systolic.workload import ConvShape  # noqa: E402
from systolic.zoo import build  # noqa: E402


def save(tmp_path, nodes, inputs, outputs=("y",), weights=(), name="model.onnx", opsets=(("", 17),)):
    """A model with float inputs ``[(name, shape)]`` and zero-filled initializers ``[(name, shape)]``."""
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        [numpy_helper.from_array(np.zeros(s, np.float32), n) for n, s in weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def conv_model(tmp_path, x, w, **attrs):
    return save(
        tmp_path,
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv3", **attrs)],
        [("x", x)],
        weights=[("w", w)],
    )


def gemm(layer):
    return (layer.m, layer.n, layer.k, layer.repeat, layer.kind)


# --------------------------------------------------------------------------- Conv


def test_conv_with_pads_stride_and_batch(tmp_path):
    wl = load_onnx(conv_model(tmp_path, [2, 3, 32, 32], [8, 3, 3, 3], pads=[1, 1, 1, 1], strides=[2, 2]))
    assert wl.name == "model"
    (layer,) = wl
    assert layer.name == "conv3"
    assert gemm(layer) == (2 * 16 * 16, 8, 27, 1, "conv")
    assert layer.conv == ConvShape(32, 32, 3, 3, 3, 8, 2, 2, 1, 1, groups=1, batch=2)
    assert layer.macs == 2 * 16 * 16 * 8 * 27


def test_grouped_and_depthwise_conv(tmp_path):
    (grouped,) = load_onnx(conv_model(tmp_path, [1, 8, 10, 10], [16, 2, 3, 3], pads=[1, 1, 1, 1], group=4))
    assert gemm(grouped) == (100, 4, 18, 4, "conv")
    (dw,) = load_onnx(conv_model(tmp_path, [1, 8, 10, 10], [8, 1, 3, 3], pads=[1, 1, 1, 1], group=8))
    assert gemm(dw) == (100, 1, 9, 8, "depthwise")
    assert dw.conv.groups == 8


def test_asymmetric_pads_take_the_output_size_from_inference(tmp_path):
    # TF-style SAME padding, one extra row and column at the end: 224 -> 112
    (layer,) = load_onnx(
        conv_model(tmp_path, [1, 3, 224, 224], [8, 3, 3, 3], pads=[0, 0, 1, 1], strides=[2, 2])
    )
    assert gemm(layer) == (112 * 112, 8, 27, 1, "conv")
    assert (layer.conv.ofmap_h, layer.conv.ofmap_w) == (112, 112)  # recorded with a padding that agrees
    # stride 1 and odd total padding: no symmetric padding gives 5 outputs, so no ConvShape is recorded
    (odd,) = load_onnx(conv_model(tmp_path, [1, 3, 5, 5], [8, 3, 2, 2], pads=[0, 0, 1, 1]))
    assert gemm(odd) == (25, 8, 12, 1, "conv") and odd.conv is None


def test_auto_pad_same(tmp_path):
    (layer,) = load_onnx(
        conv_model(tmp_path, [1, 4, 7, 7], [8, 4, 3, 3], auto_pad="SAME_UPPER", strides=[2, 2])
    )
    assert gemm(layer) == (16, 8, 36, 1, "conv")
    assert (layer.conv.pad_h, layer.conv.ofmap_h) == (1, 4)


def test_dilated_conv_counts_real_taps(tmp_path):
    # a 3x3 kernel with dilation 2 spans 5x5 but does 9 MACs per output per channel
    (layer,) = load_onnx(
        conv_model(tmp_path, [1, 4, 16, 16], [8, 4, 3, 3], pads=[2, 2, 2, 2], dilations=[2, 2])
    )
    assert gemm(layer) == (256, 8, 36, 1, "conv")
    assert layer.conv is None  # ConvShape has no dilation


def test_1d_conv_is_a_2d_conv_of_height_1(tmp_path):
    (layer,) = load_onnx(conv_model(tmp_path, [1, 4, 20], [6, 4, 5]))
    assert gemm(layer) == (16, 6, 20, 1, "conv")
    assert (layer.conv.ifmap_h, layer.conv.filter_h) == (1, 1)


# --------------------------------------------------------------------------- Gemm and MatMul


def test_gemm_trans_b(tmp_path):
    path = save(
        tmp_path,
        [helper.make_node("Gemm", ["a", "w", "c"], ["y"], name="fc", transB=1)],
        [("a", [4, 10])],
        weights=[("w", [6, 10]), ("c", [6])],
    )
    assert [gemm(ly) for ly in load_onnx(path)] == [(4, 6, 10, 1, "gemm")]


def test_gemm_trans_a(tmp_path):
    path = save(
        tmp_path,
        [helper.make_node("Gemm", ["a", "w"], ["y"], transA=1)],
        [("a", [10, 4])],
        weights=[("w", [10, 6])],
    )
    (layer,) = load_onnx(path)
    assert gemm(layer) == (4, 6, 10, 1, "gemm")
    assert layer.name == "Gemm_0"  # unnamed nodes are named by op and position


def test_matmul_2d(tmp_path):
    path = save(
        tmp_path,
        [helper.make_node("MatMul", ["a", "w"], ["y"], name="mm")],
        [("a", [5, 7])],
        weights=[("w", [7, 3])],
    )
    assert [gemm(ly) for ly in load_onnx(path)] == [(5, 3, 7, 1, "gemm")]


def test_matmul_nd_by_a_weight_folds_leading_dims_into_m(tmp_path):
    path = save(
        tmp_path,
        [helper.make_node("MatMul", ["a", "w"], ["y"], name="proj")],
        [("a", [2, 16, 64])],
        weights=[("w", [64, 32])],
    )
    assert [gemm(ly) for ly in load_onnx(path)] == [(2 * 16, 32, 64, 1, "gemm")]


def test_batched_matmul_repeats_over_leading_dims(tmp_path):
    # attention scores: [batch, heads, seq, d_head] @ [batch, heads, d_head, seq]
    path = save(
        tmp_path,
        [helper.make_node("MatMul", ["q", "k"], ["y"], name="scores")],
        [("q", [2, 12, 128, 64]), ("k", [2, 12, 64, 128])],
    )
    (layer,) = load_onnx(path)
    assert gemm(layer) == (128, 128, 64, 24, "attention")
    assert layer.macs == 2 * 12 * 128 * 128 * 64


def test_batched_matmul_broadcasts(tmp_path):
    path = save(
        tmp_path,
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        [("a", [12, 128, 64])],
        weights=[("b", [1, 64, 32])],
    )
    assert [gemm(ly) for ly in load_onnx(path)] == [(128, 32, 64, 12, "gemm")]


def test_other_ops_are_skipped(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["a", "w1"], ["h"], name="fc1"),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("MatMul", ["r", "w2"], ["y"], name="fc2"),
    ]
    path = save(tmp_path, nodes, [("a", [8, 16])], weights=[("w1", [16, 32]), ("w2", [32, 4])])
    wl = load_onnx(path)
    assert [(ly.name, *gemm(ly)) for ly in wl] == [
        ("fc1", 8, 32, 16, 1, "gemm"),
        ("fc2", 8, 4, 32, 1, "gemm"),
    ]


def test_quantised_conv_and_matmul(tmp_path):
    def u8(name, shape):
        return numpy_helper.from_array(np.zeros(shape, np.uint8), name)

    def f32(name):
        return numpy_helper.from_array(np.ones((), np.float32), name)

    nodes = [
        helper.make_node(
            "QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["c"], name="qconv", pads=[1] * 4
        ),
        helper.make_node("MatMulInteger", ["a", "b"], ["y"], name="qmm"),
    ]
    inits = [
        f32("xs"),
        u8("xz", []),
        u8("w", [8, 4, 3, 3]),
        f32("ws"),
        u8("wz", []),
        f32("ys"),
        u8("yz", []),
        u8("b", [16, 5]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 4, 6, 6]),
            helper.make_tensor_value_info("a", TensorProto.UINT8, [3, 16]),
        ],
        [
            helper.make_tensor_value_info("c", TensorProto.UINT8, None),
            helper.make_tensor_value_info("y", TensorProto.INT32, None),
        ],
        inits,
    )
    path = tmp_path / "q.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    assert [(ly.name, *gemm(ly)) for ly in load_onnx(path)] == [
        ("qconv", 36, 8, 36, 1, "conv"),
        ("qmm", 3, 5, 16, 1, "gemm"),
    ]


# --------------------------------------------------------------------------- a whole network


class _Net:
    """A CNN as an ONNX graph; weights are shaped graph inputs, so no weight data is written."""

    def __init__(self, batch, channels, size):
        self.nodes, self.inputs, self.n = [], [("x", [batch, channels, size, size])], 0

    def _out(self):
        self.n += 1
        return f"t{self.n}"

    def conv(self, name, x, c_in, c_out, k, s=1, p=0):
        self.inputs.append((name + ".w", [c_out, c_in, k, k]))
        y = self._out()
        self.nodes.append(
            helper.make_node(
                "Conv", [x, name + ".w"], [y], name=name, strides=[s, s], pads=[p] * 4, kernel_shape=[k, k]
            )
        )
        return y

    def op(self, op_type, inputs, **attrs):
        y = self._out()
        self.nodes.append(helper.make_node(op_type, inputs, [y], **attrs))
        return y


def test_resnet18_from_onnx_matches_the_zoo(tmp_path):
    net = _Net(1, 3, 224)
    x = net.op("Relu", [net.conv("conv1", "x", 3, 64, 7, 2, 3)])
    x = net.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c_in = 64
    for stage, planes in enumerate((64, 128, 256, 512), start=1):
        for blk in range(2):
            s = 2 if stage > 1 and blk == 0 else 1
            p = f"layer{stage}.{blk}."
            h = net.op("Relu", [net.conv(p + "conv1", x, c_in, planes, 3, s, 1)])
            h = net.conv(p + "conv2", h, planes, planes, 3, 1, 1)
            short = net.conv(p + "downsample", x, c_in, planes, 1, s) if s != 1 or c_in != planes else x
            x, c_in = net.op("Relu", [net.op("Add", [h, short])]), planes
    x = net.op("Flatten", [net.op("GlobalAveragePool", [x])])
    net.inputs.append(("fc.w", [1000, 512]))
    net.nodes.append(helper.make_node("Gemm", [x, "fc.w"], ["y"], name="fc", transB=1))
    wl = load_onnx(save(tmp_path, net.nodes, net.inputs, name="resnet18.onnx"))
    zoo = build("resnet18")
    assert [(ly.name, *gemm(ly)) for ly in wl] == [(ly.name, *gemm(ly)) for ly in zoo]
    assert [ly.conv for ly in wl] == [ly.conv for ly in zoo]
    assert wl.macs == zoo.macs


# --------------------------------------------------------------------------- bad input


def expect_error(path, message):
    with pytest.raises(InputError) as info:
        load_onnx(path)
    assert str(info.value) == message.format(path=path)


def test_garbage_bytes_are_not_a_model(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"this is not a protobuf\x00\xff\x12garbage")
    with pytest.raises(InputError, match=r"model.onnx: not an ONNX model: Error parsing message"):
        load_onnx(path)


def test_empty_file_and_missing_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"")
    expect_error(path, "{path}: not an ONNX model: no graph nodes")
    expect_error(tmp_path / "missing.onnx", "{path}: no such file")


def test_model_without_mac_ops(tmp_path):
    path = save(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], [("x", [4, 10])])
    expect_error(path, "{path}: no Conv, Gemm or MatMul nodes: nothing to map onto the array")


def test_dynamic_dims_are_errors_naming_the_node(tmp_path):
    path = conv_model(tmp_path, ["N", 4, 20, 20], [6, 4, 5, 5])
    expect_error(
        path,
        "{path}: node 'conv3' (Conv): input 'x' has a dynamic shape [N, 4, 20, 20]: systolic needs "
        "fixed sizes (export the model with a fixed batch size and sequence length)",
    )


def test_inconsistent_conv(tmp_path):
    path = conv_model(tmp_path, [1, 5, 20, 20], [6, 4, 5, 5])
    expect_error(
        path,
        "{path}: node 'conv3' (Conv): input channels (5), weight shape [6, 4, 5, 5], group (1) and "
        "output channels (6) do not agree",
    )


def test_matmul_inner_dims_differ(tmp_path):
    path = save(
        tmp_path, [helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")], [("a", [3, 5]), ("b", [6, 4])]
    )
    expect_error(path, "{path}: node 'mm' (MatMul): inner dimensions differ: A [3, 5] and B [6, 4]")


def test_mac_ops_that_are_not_lowered_are_errors(tmp_path):
    path = save(
        tmp_path,
        [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up")],
        [("x", [1, 4, 8, 8])],
        weights=[("w", [4, 2, 2, 2])],
    )
    expect_error(
        path,
        "{path}: node 'up' (ConvTranspose): ConvTranspose does multiply-accumulates but systolic's "
        "ONNX import does not lower it to GEMMs (only Conv, Gemm and MatMul); its MACs would be missing",
    )


def test_unknown_shape_after_a_custom_op(tmp_path):
    nodes = [
        helper.make_node("MyOp", ["a"], ["b"], domain="example"),
        helper.make_node("MatMul", ["b", "w"], ["y"], name="after"),
    ]
    path = save(
        tmp_path, nodes, [("a", [2, 10])], weights=[("w", [10, 3])], opsets=(("", 17), ("example", 1))
    )
    expect_error(
        path,
        "{path}: node 'after' (MatMul): the shape of input A 'b' is unknown and shape inference "
        "could not find it",
    )


def test_importing_systolic_does_not_import_onnx():
    code = "import sys, systolic, systolic.formats.onnx, systolic.formats.network; assert 'onnx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
