"""``systolic workload``: topologies with nonsense in them are refused in one line (issue 17)."""

from __future__ import annotations

import pytest

from .one_line import refused


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Layer,M,N,K\nl1,16,16,16,99\n", "t.csv: line 2: 5 values for 4 columns: '99' is extra"),
        ("Layer,M,N,K,Repeat\nl1,16,16,16,2,7\n", "t.csv: line 2: 6 values for 5 columns: '7' is extra"),
        ("Layer,M,N,K\nl1,٤,16,16\n", "t.csv: line 2: M must be an integer, got '٤'"),
        ("Layer,M,N,K\nl1,16,１２,16\n", "t.csv: line 2: N must be an integer, got '１２'"),
    ],
)
def test_topology(tmp_path, capsys, text, message):
    assert refused(tmp_path, capsys, ["workload", "show", "t.csv"], {"t.csv": text}) == message


def test_network_parameter_digits(tmp_path, capsys):
    message = refused(tmp_path, capsys, ["workload", "show", "gpt2", "--batch", "٤"])
    assert message == "systolic workload show: argument --batch: invalid int value: '٤'"
