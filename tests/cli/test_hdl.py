"""``systolic hdl``: outputs and sizes refused before the generator runs (issue 17)."""

from __future__ import annotations

import pytest

from .one_line import refused

TOML = "[array]\nrows = 2\ncols = 2\n"


@pytest.mark.parametrize(
    ("argv", "files", "message"),
    [
        (["-o", "d"], {"d": None}, "-o: d: is a folder, not a file"),
        (["-o", "f/x.v"], {"f": "x"}, "-o: f/x.v: 'f' is a file, not a folder"),
        (["-o", "/proc/self/x.v"], {}, "-o: /proc/self/x.v: cannot write in '/proc/self': "),
        (["-o", ""], {}, "-o: an empty path"),
        (
            ["--set", "rows=4096", "--set", "cols=4096", "-o", "x.v"],
            {},
            "--arch: the RTL of a 4096x4096 array (16,777,216 PEs) needs about 1.68 TiB of memory, more than",
        ),
    ],
)
def test_refused_before_the_generator(tmp_path, capsys, argv, files, message):
    assert refused(tmp_path, capsys, ["hdl", "--arch", "small-8x8", *argv], files).startswith(message)


def test_outputs_over_the_arch_file(tmp_path, capsys):
    message = refused(tmp_path, capsys, ["hdl", "--arch", "a.toml", "-o", "a.toml"], {"a.toml": TOML})
    assert message == "-o: a.toml: is also an input (a.toml); give another output"
    message = refused(tmp_path, capsys, ["hdl", "--arch", "a.vlt", "-o", "a.v"], {"a.vlt": TOML})
    assert message == "-o (its Verilator waivers): a.vlt: is also an input (a.vlt); give another output"


def test_big_arrays_need_force(tmp_path, capsys):
    argv = ["hdl", "--arch", "small-8x8", "--set", "rows=256", "--set", "cols=256", "-o", "x.v"]
    message = refused(tmp_path, capsys, argv)
    assert message.startswith(
        "--arch: the RTL of a 256x256 array (65,536 PEs) needs about 6.86 GiB of memory"
    )
