"""formats/onnx_net.py: the shipped digits network written as ONNX and read back, onnxruntime's logits
against the NumPy float network, an NCHW flatten, the ops it refuses, and systolic accuracy on the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from systolic.cli import main
from systolic.errors import InputError
from systolic.flow import accuracy as acc
from systolic.formats import onnx_net
from systolic.model import qnet

SHIPPED = Path(__file__).resolve().parents[2] / "examples" / "digits-cnn.onnx"


@pytest.fixture(scope="module")
def weights():
    return acc.shipped_network("digits-cnn").float_weights


def test_shipped_file_is_the_script_output(weights):
    assert SHIPPED.read_bytes() == onnx_net.digits_model(weights).SerializeToString()


def test_read_back_gives_the_specs_and_weights(weights):
    specs, ws, hw = onnx_net.read_network(SHIPPED)
    assert hw == 8
    assert [(s.size, s.in_ch, s.out_ch, s.stride, s.pad) for s in specs] == [
        (s.size, s.in_ch, s.out_ch, s.stride, s.pad) for s in qnet.DIGITS_CNN
    ]
    for got, want in zip(ws, weights, strict=True):
        np.testing.assert_array_equal(got, want.astype(np.float32))


def test_onnxruntime_logits_are_the_numpy_float_networks(weights):
    _, _, x, _ = acc.digits_split()
    got = onnx_net.onnx_logits(SHIPPED, x[:40])
    np.testing.assert_allclose(got, qnet.float_forward(weights, x[:40]), rtol=1e-4, atol=1e-4)


def _edit(tmp_path, change) -> Path:
    model = onnx.load(str(SHIPPED))
    change(model)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    return path


def test_an_nchw_flatten_reorders_the_fc_rows(tmp_path, weights):
    """Without the Transpose to NHWC the flatten is (c, h, w): the file's fc rows in that order read back
    as qnet's (h, w, c) rows, the same network."""

    def nchw(model):
        nodes = [n for n in model.graph.node if n.op_type != "Transpose"]
        flat = next(n for n in nodes if n.op_type == "Flatten")
        flat.input[0] = "conv2_out"
        del model.graph.node[:]
        model.graph.node.extend(nodes)
        fc = next(t for t in model.graph.initializer if t.name == "fc_w")
        w = numpy_helper.to_array(fc).reshape(4, 4, 32, 10).transpose(2, 0, 1, 3).reshape(512, 10)
        fc.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(w), "fc_w"))

    path = _edit(tmp_path, nchw)
    _, ws, _ = onnx_net.read_network(path)
    np.testing.assert_array_equal(ws[2], weights[2].astype(np.float32))
    _, _, x, _ = acc.digits_split()
    np.testing.assert_allclose(
        onnx_net.onnx_logits(path, x[:10]), qnet.float_forward(weights, x[:10]), atol=1e-4
    )


def _with_bias(model):
    model.graph.initializer.append(numpy_helper.from_array(np.ones(16, dtype=np.float32), "b"))
    model.graph.node[0].input.append("b")


def _with_pool(model):
    model.graph.node.insert(
        1, helper.make_node("MaxPool", ["conv1_z"], ["p"], name="pool", kernel_shape=[2, 2])
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_with_bias, "node conv1: has a bias; the quantized network has none"),
        (_with_pool, "node pool: op MaxPool is not in a conv/fc chain"),
    ],
)
def test_refused_models_are_one_line(tmp_path, change, message):
    path = _edit(tmp_path, change)
    with pytest.raises(InputError) as err:
        onnx_net.read_network(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value), str(err.value)


def test_not_an_onnx_file(tmp_path):
    bad = tmp_path / "x.onnx"
    bad.write_text("junk")
    with pytest.raises(InputError, match=r"x\.onnx: not an ONNX model"):
        onnx_net.read_network(bad)


@pytest.mark.slow
def test_systolic_accuracy_on_the_onnx_network(capsys):
    args = ["accuracy", "--network", str(SHIPPED), "--arch", "analog-ternary", "--noise", "0",
            "--adc-bits", "7", "--seeds", "1"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "network digits-cnn: ternary weights" in out
    assert "float                     98.00" in out  # onnxruntime, the same as the NumPy float network
    assert "digital (bit-exact)       96.67" in out  # post-training quantization (QAT: 97.78)
