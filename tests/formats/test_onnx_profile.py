"""formats/onnx_profile.py: a small ONNX network run with onnxruntime on a sample input; each layer's
statistics equal layer_stats of its operands lowered and quantized by hand; bad inputs are one line."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from systolic.config import ArrayConfig  # noqa: E402
from systolic.errors import InputError  # noqa: E402
from systolic.formats.onnx import load_onnx  # noqa: E402
from systolic.formats.onnx_profile import profile_operands, profile_stats, quantize  # noqa: E402
from systolic.model.energy import default_stats, layer_stats  # noqa: E402
from systolic.workload import Layer, Workload  # noqa: E402

RNG = np.random.default_rng(3)
W1 = RNG.normal(size=(4, 2, 3, 3)).astype(np.float32)  # Conv: [F, C, R, S]
W2 = RNG.normal(size=(5, 4 * 6 * 6)).astype(np.float32)  # Gemm with transB


def model(tmp_path):
    """conv 3x3 (2 -> 4, pad 1) -> ReLU -> flatten -> fc (transB) on a [1, 2, 6, 6] input."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w2"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
        [numpy_helper.from_array(W1, "w1"), numpy_helper.from_array(W2, "w2")],
    )
    path = tmp_path / "net.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_profile_lowers_each_node_as_the_workload_does(tmp_path):
    path = model(tmp_path)
    x = RNG.normal(size=(1, 2, 6, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    wl = load_onnx(path)
    (a1, b1), (a2, b2) = profile_operands(path, tmp_path / "x.npy", wl)
    assert a1.shape == (36, 18) and b1.shape == (18, 4) and a2.shape == (1, 144) and b2.shape == (144, 5)
    # by hand: im2col rows (oh, ow), columns (r, s, c); ReLU output flattened in NCHW order
    xp = np.pad(x[0].transpose(1, 2, 0), ((1, 1), (1, 1), (0, 0)))
    cols = np.stack([xp[i : i + 3, j : j + 3].reshape(-1) for i in range(6) for j in range(6)])
    np.testing.assert_allclose(a1, cols, rtol=1e-6)
    np.testing.assert_allclose(b1, W1.transpose(2, 3, 1, 0).reshape(18, 4))
    conv = (cols @ b1).reshape(6, 6, 4).transpose(2, 0, 1)
    np.testing.assert_allclose(a2[0], np.maximum(conv, 0).ravel(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b2, W2.T)
    cfg = ArrayConfig(rows=4, cols=4, input_signed=False)
    got = profile_stats(cfg, path, tmp_path / "x.npy", wl, np.array([18, 144]))
    want = layer_stats(cfg, quantize(a2, 8, False), quantize(b2, 8, True), tile_k=144)
    np.testing.assert_allclose(got[1], want)
    assert not np.allclose(got[1], default_stats(cfg, 144)[0])  # ReLU data is not uniform data


def test_a_depthwise_layer_in_blocks_profiles_its_first_block(tmp_path):
    """A depthwise conv of 5 channels in blocks of 3 (``group_blocks``: an entry of 3 groups and a
    ``.tail`` of 2): each entry's operands are the block-diagonal GEMM of the first groups' real operands,
    zeros off the diagonal blocks, which the statistics then see."""
    w = RNG.normal(size=(5, 1, 3, 3)).astype(np.float32)  # [F, C / groups, R, S]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="dw", pads=[1, 1, 1, 1], group=5)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5, 6, 6])],
        [numpy_helper.from_array(w, "w")],
    )
    path = tmp_path / "dw.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    x = RNG.normal(size=(1, 5, 6, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    (layer,) = load_onnx(path)
    wl = Workload("dw", Layer.conv_blocks(layer.name, layer.conv, 3))
    (a1, b1), (a2, b2) = profile_operands(path, tmp_path / "x.npy", wl)
    assert (a1.shape, b1.shape, a2.shape, b2.shape) == ((36, 27), (27, 3), (36, 18), (18, 2))
    xp = np.pad(x[0].transpose(1, 2, 0), ((1, 1), (1, 1), (0, 0)))  # [H, W, C] padded
    for g in range(3):  # group g: its channel's 3x3 windows and its filter, on the diagonal only
        cols = np.stack([xp[i : i + 3, j : j + 3, g].reshape(-1) for i in range(6) for j in range(6)])
        np.testing.assert_allclose(a1[:, g::3], cols, rtol=1e-6)  # K tap-major: (tap, group)
        np.testing.assert_allclose(b1[g::3, g], w[g, 0].reshape(-1))
        assert not np.delete(b1[g::3], g, axis=1).any()
    np.testing.assert_allclose(b2[::2, 0], w[0, 0].reshape(-1))  # the tail: the first 2 groups likewise
    cfg = ArrayConfig(rows=4, cols=4)
    got = profile_stats(cfg, path, tmp_path / "x.npy", wl, np.array([27, 18]))
    want = layer_stats(cfg, quantize(a1, 8, True), quantize(b1, 8, True), tile_k=27)
    np.testing.assert_allclose(got[0], want)


def test_quantize_is_symmetric_when_signed_and_min_max_when_unsigned():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 4.0])
    assert quantize(x, 4, True).tolist() == [-4, -2, 0, 2, 7]
    assert quantize(x, 4, False).tolist() == [0, 2, 5, 8, 15]


def test_bad_sample_inputs(tmp_path):
    path = model(tmp_path)
    wl = load_onnx(path)
    np.save(tmp_path / "wrong.npy", np.zeros((1, 3, 6, 6), np.float32))
    with pytest.raises(InputError, match=r"net.onnx: onnxruntime could not run the model on wrong.npy"):
        profile_operands(path, tmp_path / "wrong.npy", wl)
    with pytest.raises(InputError, match=r"missing.npy: no such file"):
        profile_operands(path, tmp_path / "missing.npy", wl)
    (tmp_path / "junk.npy").write_text("not numpy")
    with pytest.raises(InputError, match=r"junk.npy: not a NumPy .npy array"):
        profile_operands(path, tmp_path / "junk.npy", wl)


def test_a_conv_read_natively_profiles_the_schedule_it_runs(tmp_path):
    """A dense convolution's statistics come from the plan the config runs (its bands, their NHWC words on
    the DRAM read bus), as :func:`layer_stats` with the convolution gives them, not the im2col GEMM's."""
    path = model(tmp_path)
    x = RNG.normal(size=(1, 2, 6, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    wl = load_onnx(path)
    (a1, b1), _ = profile_operands(path, tmp_path / "x.npy", wl)
    cfg = ArrayConfig(rows=4, cols=4, input_signed=False, conv_native=True)
    got = profile_stats(cfg, path, tmp_path / "x.npy", wl, np.array([18, 144]))
    qa, qb = quantize(a1, 8, False), quantize(b1, 8, True)
    np.testing.assert_allclose(got[0], layer_stats(cfg, qa, qb, tile_k=18, conv=next(iter(wl)).conv))
    assert not np.allclose(got[0], layer_stats(cfg, qa, qb, tile_k=18))
