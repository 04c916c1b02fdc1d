"""Train the shipped digits network and write it: ``python -m systolic.flow.train_digits [OUT.npz]``.

Deterministic on one machine: the same seed and package versions give the same integer weights (BLAS is
held to one thread, so sums are added in one order). Not byte for byte across machines: BLAS picks its
kernels per CPU, they add in different orders, and training amplifies the rounding differences (~6% of the
ternary weights differ, the accuracies are equal), so the shipped ``configs/digits-cnn.npz`` is data, as
pretrained weights are; ``tests/model/test_qnet.py`` retrains and checks determinism and the shipped
network's accuracy. About 7 s on one core.
"""

from __future__ import annotations

import sys
from pathlib import Path

from threadpoolctl import threadpool_limits

from systolic.model import qnet

from .accuracy import digits_split, save_trained

#: The shipped network: ternary weights, 4-bit activations (FQ-Conv's ternary setting), seed 0.
SHIPPED = {"act_bits": 4, "weight_bits": 2, "seed": 0}


def train_shipped() -> qnet.Trained:
    """The shipped network, trained from scratch on the training split."""
    x_train, y_train, _, _ = digits_split()
    with threadpool_limits(1):
        return qnet.train(x_train, y_train, **SHIPPED)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "configs" / "digits-cnn.npz"
    save_trained(out, train_shipped())
    print(f"wrote {out.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
