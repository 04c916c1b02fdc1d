"""Writes ``examples/digits-cnn.onnx``: the shipped digits network's float weights
(``configs/digits-cnn.npz``, trained by ``python -m systolic.flow.train_digits``) as an ONNX model, for
``systolic accuracy --network examples/digits-cnn.onnx`` (float accuracy from onnxruntime, the integer
network by post-training quantization). The bytes depend only on the weights.

    python examples/make_digits_onnx.py      (from the repository; the file is committed)
"""

from __future__ import annotations

from pathlib import Path

from systolic.flow.accuracy import shipped_network
from systolic.formats.onnx_net import digits_model

OUT = Path(__file__).resolve().parent / "digits-cnn.onnx"


def main() -> None:
    OUT.write_bytes(digits_model(shipped_network("digits-cnn").float_weights).SerializeToString())
    print(f"wrote {OUT.name}")


if __name__ == "__main__":
    main()
