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


class _Stop(Exception):
    pass


@pytest.mark.parametrize(("flag", "wide"), [([], 0), (["--wide"], 4)])
def test_wide_adds_the_32x32_configurations_and_only_with_the_flag(tmp_path, monkeypatch, flag, wide):
    from systolic.cli import main
    from systolic.cosim import calibrate as cal

    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        raise _Stop

    monkeypatch.setattr(cal, "calibrate", fake)
    with pytest.raises(_Stop):
        main(["calibrate", "-o", str(tmp_path / "c.json"), "--build", str(tmp_path / "b"), "--force", *flag])
    assert tuple(seen["wide"]) == cal.WIDE_ARRAYS[:wide] and len(cal.WIDE_ARRAYS) == 4
    assert (
        "fitted" not in seen and "held_arrays" not in seen
    )  # the calibration set itself is make calibrate's
