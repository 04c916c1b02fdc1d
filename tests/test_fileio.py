"""systolic.fileio: reading inputs with a size cap, output files and folders that lose nothing of the
user's (issue 17), and the vectorised integer CSV writer (np.savetxt's exact text)."""

import io
import json
import os
import stat

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from systolic.errors import InputError
from systolic.fileio import (
    MANIFEST,
    OutputDir,
    atomic_write_text,
    check_output,
    int_csv_bytes,
    read_bytes,
    read_manifest,
    read_text,
    read_toml,
    toml_tables,
)


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


# --------------------------------------------------------------------------- inputs: the size cap


def test_read_caps_size_and_refuses_devices_that_never_end():
    with pytest.raises(InputError, match=r"^/dev/zero: larger than 1 MiB, the most systolic reads"):
        read_bytes("/dev/zero", limit=1 << 20)
    assert read_text("/dev/null") == ""  # empty is fine to read; each format's reader refuses it


def test_read_text_refuses_nul_and_fifo_without_writer_does_not_hang(tmp_path):
    path = tmp_path / "z.toml"
    path.write_bytes(b"rows = 4\x00\n")
    with pytest.raises(InputError, match=r"z.toml: holds a NUL character \(at 8\): not a text file$"):
        read_text(path)
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    assert read_text(fifo) == ""  # no writer: end of file at once, not a hang


# --------------------------------------------------------------------------- single files


def test_atomic_write_follows_umask_keeps_mode_and_writes_through_symlinks(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640
    mine = tmp_path / "mine.txt"
    mine.write_text("old")
    mine.chmod(0o600)
    atomic_write_text(mine, "new")
    assert stat.S_IMODE(mine.stat().st_mode) == 0o600 and mine.read_text() == "new"
    link = tmp_path / "link.txt"
    link.symlink_to("mine.txt")
    atomic_write_text(link, "through")
    assert link.is_symlink() and mine.read_text() == "through"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "mine.txt", "new.txt"]


def test_atomic_write_failures_are_one_line(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match=r"d: is a folder, not a file$"):
        atomic_write_text(tmp_path / "d", "x")
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match=r"f/x: cannot write: "):
        atomic_write_text(tmp_path / "f" / "x", "x")


# --------------------------------------------------------------------------- checks before any work


@pytest.mark.parametrize(
    ("setup", "out", "folder", "message"),
    [
        ({"f": "x"}, "f", True, "--out: f: exists and is not a folder"),
        ({"f": "x"}, "f/o", True, "--out: f/o: 'f' is a file, not a folder"),
        ({"d/": None}, "d", False, "--out: d: is a folder, not a file"),
        ({}, "", True, "--out: an empty path"),
        ({}, "x" * 300, True, f"--out: {'x' * 300}: a name longer than 255 bytes"),
        ({"in.csv": "x"}, "in.csv", False, "--out: in.csv: is also an input (in.csv); give another output"),
        (
            {"d/in.csv": "x"},
            "d",
            True,
            "--out: d: holds the input d/in.csv; give an output folder that holds",
        ),
        ({"in.csv": "x"}, ".", True, "--out: .: holds the input in.csv"),
        ({"o/summary.json": "{}"}, "o", True, "--out: o: already holds summary.json, which systolic did not"),
        ({"o/" + MANIFEST: "junk"}, "o", True, f"o: holds a {MANIFEST} systolic did not write"),
    ],
)
def test_check_output_refuses_before_any_work(tmp_path, monkeypatch, setup, out, folder, message):
    monkeypatch.chdir(tmp_path)
    for rel, text in setup.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.mkdir(exist_ok=True)
        else:
            path.write_text(text)
    with pytest.raises(InputError) as info:
        check_output(out, ["in.csv", "d/in.csv"], folder=folder, names=("summary.json",))
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_check_output_symlinks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    assert check_output("link", folder=True) == tmp_path.joinpath("link").relative_to(tmp_path)
    (tmp_path / "gone").symlink_to("nowhere")
    with pytest.raises(InputError, match=r"^--out: gone: a symlink to 'nowhere', which does not exist$"):
        check_output("gone", folder=True)


def test_check_output_probes_the_folder_it_would_write_in():
    # /proc/self refuses new entries even to root (tests/fuzz checks read-only folders without root's rights)
    with pytest.raises(InputError, match=r"^--out: /proc/self/o: cannot write in '/proc/self': "):
        check_output("/proc/self/o", folder=True)


# --------------------------------------------------------------------------- output folders


def _files(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_output_dir_keeps_users_files_and_replaces_only_its_own(tmp_path):
    out = tmp_path / "o"
    (out / "sub").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    (out / "sub" / "data.bin").write_bytes(b"\x00")
    with OutputDir(out) as tmp:
        (tmp / "a.csv").write_text("1")
        (tmp / "layer0").mkdir()
        (tmp / "layer0" / "t.csv").write_text("2")
    assert read_manifest(out).keys() == {"a.csv", "layer0/t.csv"}
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~_umask()
    with OutputDir(out) as tmp:  # a second run without the layer: its stale file and folder go
        (tmp / "a.csv").write_text("3")
    assert _files(out) == {
        MANIFEST: (out / MANIFEST).read_bytes(),
        "a.csv": b"3",
        "notes.txt": b"mine",
        "sub/data.bin": b"\x00",
    }
    assert json.loads((out / MANIFEST).read_text())["files"]["a.csv"]["bytes"] == 1


def test_output_dir_leaves_a_changed_file_and_the_folder_on_failure(tmp_path):
    out = tmp_path / "o"
    with OutputDir(out) as tmp:
        (tmp / "a.csv").write_text("1")
        (tmp / "b.csv").write_text("2")
    (out / "b.csv").write_text("edited by the user")
    with OutputDir(out) as tmp:  # b.csv is stale but changed: it is the user's now, and stays
        (tmp / "a.csv").write_text("1")
    assert (out / "b.csv").read_text() == "edited by the user" and set(read_manifest(out)) == {"a.csv"}
    before = _files(out)
    with pytest.raises(RuntimeError), OutputDir(out) as tmp:
        (tmp / "a.csv").write_text("half")
        raise RuntimeError("the run failed")
    assert _files(out) == before and not list(out.glob(".systolic-staging-*"))
    new = tmp_path / "new" / "deeper"
    with pytest.raises(RuntimeError), OutputDir(new) as tmp:
        raise RuntimeError("the run failed")
    assert not (tmp_path / "new").exists()  # what it created, it removed


def test_output_dir_writes_through_a_symlinked_folder(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    with OutputDir(tmp_path / "link") as tmp:
        (tmp / "a.csv").write_text("1")
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "a.csv").read_text() == "1"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_folder_where_an_output_file_goes_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "o" / "summary.json").mkdir(parents=True)
    with pytest.raises(
        InputError, match=r"^--out: o: already holds a folder summary.json, where systolic writes"
    ):
        check_output("o", folder=True, names=("summary.json", "layer[0-9]*"))


TABLES = {"array": ("rows", "cols"), "memory": ("sram_kb",)}


def test_toml_tables_keeps_file_order_and_names_what_is_wrong(tmp_path):
    f = tmp_path / "a.toml"
    f.write_text('name = "x"\n[memory]\nsram_kb = 4\n[array]\ncols = 2\nrows = 3\n')
    head, entries = toml_tables(read_toml(f), TABLES, f, ("name",))
    assert head == {"name": "x"}
    assert entries == [("memory", "sram_kb", 4), ("array", "cols", 2), ("array", "rows", 3)]
    for text, message in (
        ("[array]\nrow = 3\n", "a.toml: [array]: unknown key 'row' (allowed: rows, cols)"),
        ("array = 3\n", "a.toml: array: [array] must be a table"),
        ("kind = 1\n", "a.toml: unknown key or section 'kind' (allowed: name, array, memory)"),
    ):
        f.write_text(text)
        with pytest.raises(InputError) as err:
            toml_tables(read_toml(f), TABLES, f, ("name",))
        assert str(err.value) == f"{tmp_path}/{message}"
    f.write_text("[array\n")
    with pytest.raises(InputError, match=r"a\.toml: malformed TOML: "):
        read_toml(f)
