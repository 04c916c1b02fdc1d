"""systolic.fileio: the vectorised integer CSV writer gives np.savetxt's exact text."""

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from systolic.fileio import int_csv_bytes


def savetxt_bytes(a: np.ndarray) -> bytes:
    f = io.StringIO()
    np.savetxt(f, a, fmt="%d", delimiter=",")
    return f.getvalue().encode()


@given(
    hnp.arrays(
        np.int64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
        elements=st.one_of(st.integers(-1, 12), st.integers(-(2**62), 2**62)),
    )
)
def test_same_text_as_savetxt(a):
    assert int_csv_bytes(a) == savetxt_bytes(a)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint16, np.int64])
def test_dtypes_and_edges(dtype):
    a = (
        np.array([[0, 1, 9, 10], [99, 100, -1, 7]]).astype(dtype)
        if dtype != np.uint16
        else np.arange(8, dtype=dtype).reshape(2, 4)
    )
    assert int_csv_bytes(a) == savetxt_bytes(a)
    assert int_csv_bytes(np.zeros((0, 3), dtype=np.int64)) == b""


def test_rejects_non_integer():
    with pytest.raises(ValueError):
        int_csv_bytes(np.zeros((2, 2)))
    with pytest.raises(ValueError):
        int_csv_bytes(np.zeros(3, dtype=np.int64))
