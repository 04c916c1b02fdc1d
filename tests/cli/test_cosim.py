"""``systolic cosim``: options and outputs refused before any simulator starts (issue 17)."""

from __future__ import annotations

import pytest

from .one_line import refused


@pytest.mark.parametrize(
    ("argv", "files", "message"),
    [
        (
            ["--gemm", "-1,4,4"],
            {},
            "systolic cosim: argument --gemm: expected one argument (a value that starts with '-' is joined to "
            "its option with '=', e.g. --gemm=-1; or was the value left out?)",
        ),
        (["--gemm", "4,4,4", "--jobs", "0"], {}, "--jobs: must be in 1..64, not 0"),
        (["--gemm", "4,4,4", "--seed=-1"], {}, "--seed: must be in 0..4294967295, not -1"),
        (["--gemm", "4,4,4", "--build-dir", "f"], {"f": "x"}, "--build-dir: f: exists and is not a folder"),
        (["--gemm", "4,4,4", "--json", "d"], {"d": None}, "--json: d: is a folder, not a file"),
        (["--gemm", "٤,4,4"], {}, "--gemm: M, N and K must be integers, got '٤,4,4'"),
        (["--matrix", "default", "--jobs", "0"], {}, "--jobs: must be in 1..64, not 0"),
        (
            ["--gemm", "65535,65535,65535"],
            {},
            "systolic cosim: simulating 65535x65535x65535 on the 8x8 array (4,399,455,797,248 cycles) needs about",
        ),
    ],
)
def test_refused_before_the_simulator(tmp_path, capsys, argv, files, message):
    assert refused(tmp_path, capsys, ["cosim", "--arch", "small-8x8", *argv], files).startswith(message)
