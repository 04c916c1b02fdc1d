"""``systolic config``: files and overrides that are not architectures are refused in one line (issue 17)."""

from __future__ import annotations

import pytest

from .one_line import refused

CFG = "[general]\nrun_name = x\n[architecture_presets]\nArrayHeight: 4\nArrayWidth: 4\n"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "a.toml",
            "",
            "a.toml: sets no architecture field: an architecture file needs at least [array] rows",
        ),
        ("a.toml", "# only a comment\n", "a.toml: sets no architecture field"),
        ("a.toml", 'name = "x"\n', "a.toml: sets no architecture field"),
        (
            "a.toml",
            'name = "two\\nlines"\n[array]\nrows = 4\n',
            "a.toml: name: name must be printable and",
        ),
        ("a.toml", 'name = "../x"\n[array]\nrows = 4\n', "a.toml: name: name must be printable and"),
        ("a.cfg", "", "a.cfg: [architecture_presets] must give ArrayHeight and ArrayWidth"),
        ("a.cfg", "[general]\nrun_name = x\n", "a.cfg: [architecture_presets] must give ArrayHeight and"),
        (
            "a.cfg",
            CFG.replace("Height: 4", "Height: ९"),
            "a.cfg: [architecture_presets] arrayheight: expected an",
        ),
        (
            "a.cfg",
            CFG.replace("Height: 4", "Height: １２"),
            "a.cfg: [architecture_presets] arrayheight: expected",
        ),
        (
            "a.cfg",
            CFG.replace("run_name = x", "run_name = a\n  b"),
            "a.cfg: [general] run_name: name must be",
        ),
        ("a.toml", "[array]\nrows = 4\x00\n", "a.toml: holds a NUL character (at 16): not a text file"),
    ],
)
def test_not_an_architecture(tmp_path, capsys, name, content, message):
    assert refused(tmp_path, capsys, ["config", "show", name], {name: content}).startswith(message)


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        (
            "/dev/null",
            "/dev/null: sets no architecture field: an architecture file needs at least [array] rows and cols",
        ),
        ("/dev/zero", "/dev/zero: larger than 64 MiB, the most systolic reads from one input file"),
    ],
)
def test_devices(tmp_path, capsys, arch, message):
    assert refused(tmp_path, capsys, ["config", "show", arch]) == message


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("rows=९", "--set: rows must be an integer, not '९'"),
        ("rows=１２", "--set: rows must be an integer, not '１２'"),
        ("clock_hz=１e9", "--set: clock_hz must be a number, not '１e9'"),
        ("name=a\nb", "--set: name: name must be printable and hold no '/' or '\\', not 'a\\nb'"),
    ],
)
def test_overrides(tmp_path, capsys, override, message):
    assert refused(tmp_path, capsys, ["config", "show", "small-8x8", "--set", override]) == message
