"""Regenerates the example files that systolic writes itself (the README's tour uses them):

- ``tiny_cnn.onnx``: a three-layer CNN (two convolutions with ReLU, a fully connected layer) with seeded
  weights, built with onnx's helper API, and ``tiny_cnn_input.npy``, a seeded sample input for it;
- ``operands/a.npy``, ``operands/b.npy``: a GEMM of int8 operands (the digits as 3 x 3 im2col rows and
  Gaussian weights) and ``operands/ifmap.npy``, ``operands/filters.npy``: a convolution's, for the
  ``--operands`` and ``--conv-operands`` energy checks;
- ``my_scalesim.cfg``: ``tpu-v1-128`` at 64x64 in SCALE-Sim's .cfg format (``systolic config show tpu-v1-128
  --set rows=64 --set cols=64 --format scalesim > examples/my_scalesim.cfg``; not remade by this script);
- ``hotspot/accel.flp`` and ``hotspot/accel.ptrace``: the floorplan and power trace of ``systolic run --arch
  small-8x8 --topology alexnet`` (2 ms intervals), and ``hotspot/hotspot.config``: the thermal
  configuration systolic resolves from HotSpot's defaults with the trace's 2 ms sampling interval
  (``systolic thermal -d``).

    python examples/make_examples.py      (from the repository; the files are committed)
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from systolic.cli import main

HERE = Path(__file__).resolve().parent


def tiny_cnn() -> onnx.ModelProto:
    rng = np.random.default_rng(0)

    def weight(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.normal(0, 0.1, shape).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Flatten", ["r2"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w3"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [weight("w1", (8, 1, 3, 3)), weight("w2", (16, 8, 3, 3)), weight("w3", (10, 16 * 8 * 8))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="systolic")
    onnx.checker.check_model(model)
    return model


def operand_examples() -> None:
    """Small int8 operand files for the ``--operands`` and ``--conv-operands`` energy checks (seeded): the
    digits as a convolution's ifmap and 3 x 3 im2col rows, and Gaussian weights."""
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(0)
    digits = load_digits().images  # [1797, 8, 8] in 0..16
    (HERE / "operands").mkdir(exist_ok=True)
    maps = np.stack([np.kron(d, np.ones((2, 2))) for d in digits[:3]], axis=-1)  # [16, 16, 3]
    ifmap = np.minimum(maps * 8, 127).astype(np.int64)
    np.save(HERE / "operands" / "ifmap.npy", ifmap)
    filters = np.clip(np.rint(rng.normal(0, 40, (3, 3, 3, 12))), -127, 127).astype(np.int64)
    np.save(HERE / "operands" / "filters.npy", filters)
    padded = np.pad(ifmap[:8, :8, 0], 1)
    a = np.stack([padded[i : i + 3, j : j + 3].ravel() for i in range(8) for j in range(8)])  # [64, 9]
    np.save(HERE / "operands" / "a.npy", a.astype(np.int64))
    np.save(
        HERE / "operands" / "b.npy", np.clip(np.rint(rng.normal(0, 40, (9, 16))), -127, 127).astype(np.int64)
    )


def main_() -> None:
    onnx.save(tiny_cnn(), HERE / "tiny_cnn.onnx")
    sample = np.random.default_rng(0).normal(0, 1, (1, 1, 16, 16)).astype(np.float32)
    np.save(HERE / "tiny_cnn_input.npy", sample)  # a sample input for run --sample-input
    operand_examples()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        argv = ["run", "--arch", "small-8x8", "--topology", "alexnet", "--interval", "2ms", "--out", str(out)]
        assert main(argv) == 0
        shutil.copy(out / "floorplan.flp", HERE / "hotspot" / "accel.flp")
        shutil.copy(out / "power.ptrace", HERE / "hotspot" / "accel.ptrace")
        flp = str(HERE / "hotspot" / "accel.flp")
        config = str(HERE / "hotspot" / "hotspot.config")
        assert main(["thermal", "-f", flp, "-sampling_intvl", "0.002", "-d", config]) == 0


if __name__ == "__main__":
    main_()
