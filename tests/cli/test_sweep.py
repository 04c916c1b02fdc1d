"""``systolic sweep``: spec errors, outputs, determinism, an existing scheduler, and resume after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from systolic.cli import main
from systolic.cli.sweep import max_workers
from systolic.flow.sweep import design_points, load_spec, run_sweep

from .one_line import refused

GRID = """
base = "small-8x8"
networks = ["alexnet"]
mode = "grid"
batch = {batch}
[space]
rows = [4, 8]
cols = [4]
dataflow = ["os", "ws", "is"]
dram_bw_words_per_cycle = [1, 4]
ofmap_sram_bytes = [16, 65536]
"""
#: A two-layer network for the tests that run sweeps: what they check (outputs, determinism, resume, the
#: spec stamp) does not depend on the network, and AlexNet's eight layers cost each Dask worker about 7 s
#: of the statistics-free default's synthetic layers (``model/energy/defaults.py``, memoised per process).
#: ``tests/test_golden.py`` sweeps AlexNet by its zoo name.
NET = "Layer,M,N,K,\nfc1,40,20,30,\nfc2,7,5,9,\n"


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def small(tmp_path: Path, batch: int, name: str = "s.toml", bandwidths: str = "1, 4") -> Path:
    """GRID over :data:`NET` (written beside the spec as net.csv), DRAM bandwidths ``bandwidths``."""
    (tmp_path / "net.csv").write_text(NET)
    text = GRID.format(batch=batch).replace('"alexnet"', '"net.csv"')
    return write(tmp_path, text.replace("[1, 4]", f"[{bandwidths}]"), name)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'base = "small-8x8"\nnetworks = ["alexnet"]\nbogus = 1\n[space]\nrows = [4]\n',
            "unknown key(s) ['bogus']",
        ),
        ('base = "small-8x8"\nnetworks = ["alexnet"]\n[space]\nrows = [4, 0]\n', "space.rows: value 0:"),
        (
            'base = "small-8x8"\nnetworks = ["alexnet"]\n[space]\nrowz = [4]\n',
            "space.rowz: not a config field",
        ),
        (
            'base = "small-8x8"\nnetworks = ["alexnet"]\n[space]\nrows = {min = 4, max = 8}\n',
            "needs mode = 'random'",
        ),
        ('base = "small-8x8"\nnetworks = []\n[space]\nrows = [4]\n', "networks: must be a non-empty list"),
        ('base = "small-8x8"\nnetworks = ["alexnet"]\n', "space: missing or empty"),
        ('base = "nope"\nnetworks = ["alexnet"]\n[space]\nrows = [4]\n', "base: nope: no such architecture"),
        (
            'base = "small-8x8"\nnetworks = ["alexnet"]\nmode = "random"\n[space]\nrows = [4]\n',
            "samples: missing",
        ),
        (
            'base = "small-8x8"\nnetworks = ["alexnet"]\nmode = "random"\nsamples = 3\n[space]\n'
            "vdd_v = {min = 0.5, max = 9.0}\n",
            "space.vdd_v: bound 9.0:",
        ),
        ("base = [", "not valid TOML"),
        (
            'base = "small-8x8"\nnetworks = ["alexnet"]\ncalibration = "nope.json"\n[space]\nrows = [4]\n',
            "calibration: ",
        ),
    ],
)
def test_spec_errors_are_one_line(tmp_path, capsys, text, message):
    spec = write(tmp_path, text)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(spec) in err and message in err, err


def test_random_points_are_seeded_and_in_range(tmp_path):
    text = (
        'base = "small-8x8"\nnetworks = ["alexnet"]\nmode = "random"\nsamples = 200\nseed = 3\n[space]\n'
        "rows = [4, 8]\ndram_bw_words_per_cycle = {min = 2, max = 64, log = true}\nvdd_v = {min = 0.6, max = 1.0}\n"
    )
    spec = load_spec(write(tmp_path, text))
    a, b = design_points(spec), design_points(spec)
    assert a == b and len(a) == 200
    assert {p["rows"] for p in a} == {4, 8}
    bw = [p["dram_bw_words_per_cycle"] for p in a]
    assert all(isinstance(v, int) and 2 <= v <= 64 for v in bw) and len(set(bw)) > 10
    assert all(0.6 <= p["vdd_v"] <= 1.0 for p in a)


def test_sweep_writes_points_front_and_is_deterministic(tmp_path, capsys):
    spec = small(tmp_path, 5)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "a"), "--quiet", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "24 points x 1 network(s) (net)" in out
    import pyarrow.parquet as pq

    t = pq.read_table(tmp_path / "a" / "points.parquet")
    assert t.num_rows == 24 and t["point"].to_pylist() == list(range(24))
    err = t["error"].to_pylist()
    assert sum(e != "" for e in err) == 12 and all("ofmap_sram_bytes" in e for e in err if e)  # 16-byte ofmap
    front = t["pareto"].to_pylist()
    assert any(front) and not any(f and e for f, e in zip(front, err, strict=True))
    assert (tmp_path / "a" / "pareto.csv").read_text().count("\n") == sum(front) + 1
    assert main(["sweep", str(spec), "--out", str(tmp_path / "b"), "--quiet", "--workers", "2"]) == 0
    for name in ("points.parquet", "points.csv", "pareto.csv", "summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_existing_scheduler(tmp_path):
    from dask.distributed import LocalCluster

    spec = load_spec(small(tmp_path, 12))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        s = run_sweep(spec, tmp_path / "c", scheduler=cluster.scheduler_address, progress=False)
    assert s["points"] == 24 and s["batches"] == 2


def test_other_spec_into_same_folder_is_refused(tmp_path, capsys):
    spec = small(tmp_path, 12)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "d"), "--quiet", "--workers", "1"]) == 0
    other = small(tmp_path, 6, "t.toml")
    assert main(["sweep", str(other), "--out", str(tmp_path / "d"), "--quiet"]) == 2
    assert "holds a sweep of a different spec" in capsys.readouterr().err


def test_killed_sweep_resumes_to_the_same_result(tmp_path):
    # 72 one-point batches of about 30 ms each: after the 10th part the driver has 2 s of work left, ample
    # time for the kill below (polled every 50 ms) to land mid-sweep
    spec = small(tmp_path, 1, bandwidths="1, 2, 3, 4, 6, 8")
    cmd = [sys.executable, "-m", "systolic.cli", "sweep", str(spec), "--quiet", "--workers", "1"]
    subprocess.run([*cmd, "--out", str(tmp_path / "whole")], check=True, capture_output=True)
    parts = tmp_path / "cut" / "parts"
    proc = subprocess.Popen([*cmd, "--out", str(tmp_path / "cut")], start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(parts.glob("part-*.parquet"))) < 10:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Dask workers, mid-sweep
    proc.wait()
    done = len(list(parts.glob("part-*.parquet")))
    assert 10 <= done < 72 and not (tmp_path / "cut" / "points.parquet").exists()
    res = subprocess.run([*cmd, "--out", str(tmp_path / "cut")], check=True, capture_output=True, text=True)
    assert f"{done} of 72 batches resumed" in res.stdout
    for name in ("points.parquet", "points.csv", "pareto.csv", "summary.json"):
        assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


# --------------------------------------------------------------------------- issue 17: refused in one line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--scheduler", "not a url"],
            "--scheduler: expected PROTOCOL://HOST:PORT with PROTOCOL one of tcp, tls,",
        ),
        (["--scheduler", "foo://bar:1"], "--scheduler: expected PROTOCOL://HOST:PORT with PROTOCOL one of"),
        (["--scheduler", "tcp://h:99999"], "--scheduler: the port must be in 1..65535, in 'tcp://h:99999'"),
        (["--workers", "0"], "--workers: must be in 1..{max}, not 0"),
        (["--workers", "100000"], "--workers: must be in 1..{max}, not 100000"),
        (["--out", "f"], "--out: f: exists and is not a folder"),
        (
            ["--out", "."],
            "--out: .: holds the input s.toml; give an output folder that holds none of the inputs",
        ),
    ],
)
def test_options_refused_before_dask(tmp_path, capsys, argv, message):
    got = refused(
        tmp_path, capsys, ["sweep", "s.toml", "--quiet", *argv], {"s.toml": GRID.format(batch=9), "f": "x"}
    )
    assert got.startswith(message.format(max=max_workers())), got


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("seed = -1\n", "s.toml: seed: must be a non-negative integer, not -1"),
        (
            "[space]\nvdd_v = {min = nan, max = 1.0}\n",
            "s.toml: space.vdd_v: min and max must be numbers with min",
        ),
    ],
)
def test_spec_nonsense(tmp_path, capsys, extra, message):
    head = 'base = "small-8x8"\nnetworks = ["alexnet"]\nmode = "random"\nsamples = 3\n'
    text = head + extra + ("" if "[space]" in extra else "[space]\nrows = [4]\n")
    assert refused(tmp_path, capsys, ["sweep", "s.toml"], {"s.toml": text}).startswith(message)


@pytest.mark.slow
def test_corrupt_part_is_recomputed_with_a_warning(tmp_path, capsys):
    spec = small(tmp_path, 12)
    argv = ["sweep", str(spec), "--out", str(tmp_path / "o"), "--quiet", "--workers", "1"]
    assert main(argv) == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "o").glob("points.*")}
    part = tmp_path / "o" / "parts" / "part-00000.parquet"
    part.write_bytes(b"not parquet")
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"systolic sweep: warning: {part} cannot be read (")
    assert err[0].endswith("); computing it again")
    assert {p.name: p.read_bytes() for p in (tmp_path / "o").glob("points.*")} == before
