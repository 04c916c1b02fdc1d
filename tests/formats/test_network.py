"""load_workload: zoo names, topology CSVs and ONNX files behind one call, and its errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from systolic.errors import InputError
from systolic.formats.network import load_workload
from systolic.zoo import build


def test_zoo_names_are_case_insensitive_and_take_parameters():
    wl = load_workload("GPT2", phase="decode", batch=4)
    assert wl == build("gpt2", phase="decode", batch=4)
    assert load_workload(" ResNet50 ").macs == build("resnet50").macs


def test_none_parameters_mean_the_default():
    assert load_workload("bert-base", seq_len=None, batch=None, context=None, phase=None) == build(
        "bert-base"
    )


def test_zoo_parameter_errors_come_through():
    with pytest.raises(InputError, match=r"^gpt2: seq_len: seq_len must be a positive integer, not 0$"):
        load_workload("gpt2", seq_len=0)


def test_csv_file(tmp_path):
    path = tmp_path / "mlp.csv"
    path.write_text("Layer,M,N,K,\nfc1,8,16,32,\n")
    wl = load_workload(str(path))
    assert wl.name == "mlp" and [(ly.m, ly.n, ly.k) for ly in wl] == [(8, 16, 32)]
    assert load_workload(str(path), batch=None) == wl


def test_onnx_file(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")],
        "g",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [4, 5]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [5, 6]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    path = tmp_path / "tiny.ONNX"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    wl = load_workload(str(path))
    assert wl.name == "tiny" and [(ly.name, ly.m, ly.n, ly.k) for ly in wl] == [("mm", 4, 6, 5)]


def test_parameters_for_files_are_errors(tmp_path):
    path = tmp_path / "mlp.csv"
    path.write_text("Layer,M,N,K,\nfc1,8,16,32,\n")
    with pytest.raises(InputError) as info:
        load_workload(str(path), batch=2, seq_len=8)
    assert (
        str(info.value) == f"{path}: network parameters (batch, seq_len) apply to zoo networks, not to files"
    )


def test_unknown_name():
    with pytest.raises(InputError) as info:
        load_workload("resnet51")
    assert str(info.value) == (
        "resnet51: no such network or file (zoo: alexnet, vgg16, resnet18, resnet50, mobilenetv2, googlenet, "
        "dlrm, bert-base, gpt2, gpt3-175b, llama2-7b, llama2-70b)"
    )


def test_missing_files_and_unknown_file_types(tmp_path):
    with pytest.raises(InputError, match=r"missing.csv: no such file$"):
        load_workload(str(tmp_path / "missing.csv"))
    with pytest.raises(InputError, match=r"missing.onnx: no such file$"):
        load_workload(str(tmp_path / "missing.onnx"))
    other = tmp_path / "net.txt"
    other.write_text("Layer,M,N,K,\n")
    with pytest.raises(InputError) as info:
        load_workload(str(other))
    assert str(info.value) == f"{other}: unknown file type '.txt': expected a .csv topology or an .onnx model"


def test_network_imports_stay_light():
    code = "import sys, systolic.formats.network; assert not {'onnx', 'numpy'} & set(sys.modules), sys.modules.keys()"
    subprocess.run([sys.executable, "-c", code], check=True)
