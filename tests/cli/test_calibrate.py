"""``systolic calibrate``: everything that can be refused is, before the calibration set runs (issue 17)."""

from __future__ import annotations

import pytest

from .one_line import refused


@pytest.mark.parametrize(
    ("argv", "files", "message"),
    [
        (
            ["--show", "/dev/zero"],
            {},
            "/dev/zero: larger than 64 MiB, the most systolic reads from one input file",
        ),
        (["--show", "d"], {"d": None}, "d: is a directory, not a file"),
        (
            ["--show", "g.json"],
            {"g.json": "{not json"},
            "g.json: line 1: not valid JSON (Expecting property name",
        ),
        (["-o", "d"], {"d": None}, "-o: d: is a folder, not a file"),
        (["--build", "f"], {"f": "x"}, "--build: f: exists and is not a folder"),
        (["--seed=-1"], {}, "--seed: must be in 0..4294967295, not -1"),
        (["--jobs", "0"], {}, "--jobs: must be at least 1, not 0"),
    ],
)
def test_refused_before_the_simulations(tmp_path, capsys, argv, files, message):
    got = refused(tmp_path, capsys, ["calibrate", *argv], files)
    assert got.startswith(message), got
