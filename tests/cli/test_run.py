"""``systolic run``: reports in SCALE-Sim's layout, summary.json, traces, atomic output, bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from systolic.cli import main

from .one_line import files_of, make, refused

SMALL = ["--arch", "small-8x8", "--set", "ifmap_sram_bytes=512", "--set", "filter_sram_bytes=512"]


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.csv"
    path.write_text("Layer,M,N,K,\nfc1,40,20,30,\nfc2,7,5,9,\n")
    return str(path)


def test_run_writes_reports_and_summary(net, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", *SMALL, "--topology", net, "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".systolic-manifest.json",
        "BANDWIDTH_REPORT.csv",
        "COMPUTE_REPORT.csv",
        "DETAILED_ACCESS_REPORT.csv",
        "ENERGY_REPORT.csv",
        "floorplan.flp",
        "power.csv",
        "power.ptrace",
        "report.html",
        "summary.json",
    ]
    compute = (out / "COMPUTE_REPORT.csv").read_text().splitlines()
    assert compute[0].startswith("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles,")
    summary = json.loads((out / "summary.json").read_text())
    assert len(compute) == 1 + len(summary["layers"])
    assert sum(layer["cycles"] for layer in summary["layers"]) == summary["total"]["cycles"]
    first = compute[1].split(", ")
    assert int(first[1]) == summary["layers"][0]["cycles"] and first[-1].endswith(",")
    printed = capsys.readouterr().out
    for word in ("cycles", "pJ/MAC", "TOPS/W", "calibration", "W average", "thermal: peak", "roofline"):
        assert word in printed
    energy = (out / "ENERGY_REPORT.csv").read_text().splitlines()
    assert len(energy) == 1 + len(summary["layers"]) and energy[0].startswith("LayerID, Layer, MACs, Cycles")
    e = summary["energy"]
    assert e["total_j"] == pytest.approx(sum(e["by_component_j"].values()))
    assert e["total_j"] == pytest.approx(sum(layer["energy_pj"] for layer in summary["layers"]) * 1e-12)
    assert e["pj_per_mac"] == pytest.approx(e["total_j"] * 1e12 / summary["total"]["macs"])
    assert summary["thermal"]["peak_k"] >= summary["thermal"]["steady_max_k"] > 273.15
    assert set(summary["bounds"]) and summary["power"]["peak_w"] >= summary["power"]["average_w"] > 0
    ptrace = (out / "power.ptrace").read_text().splitlines()
    flp_blocks = [
        ln.split()[0] for ln in (out / "floorplan.flp").read_text().splitlines() if ln and ln[0] != "#"
    ]
    assert ptrace[0].split() == flp_blocks and len(ptrace) == 1 + summary["power"]["intervals"]


def test_memory_only_is_scalesim_scope(net, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["run", *SMALL, "--topology", net, "--out", str(out), "--memory-only"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".systolic-manifest.json",
        "BANDWIDTH_REPORT.csv",
        "COMPUTE_REPORT.csv",
        "DETAILED_ACCESS_REPORT.csv",
        "report.html",
        "summary.json",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert "energy" not in summary and "thermal" not in summary and summary["total"]["cycles"] > 0
    printed = capsys.readouterr().out
    assert "pJ/MAC" not in printed and "roofline" in printed
    full = tmp_path / "f"
    assert main(["run", *SMALL, "--topology", net, "--out", str(full)]) == 0
    for name in ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"):
        assert (out / name).read_bytes() == (full / name).read_bytes()
    assert main(["run", *SMALL, "--topology", net, "--memory-only", "--policy", "race"]) == 2
    assert "--memory-only: --policy need(s) the energy and power stages" in capsys.readouterr().err


def test_run_is_deterministic(net, tmp_path):
    for d in ("a", "b"):
        assert (
            main(["run", *SMALL, "--topology", net, "--out", str(tmp_path / d), "--policy", "deadline"]) == 0
        )
    for f in (tmp_path / "a").iterdir():
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name


def _energy(tmp_path, name, *extra):
    """The energy section of a run of two convolution-sized GEMMs (AlexNet took 7 s a run for the same
    orderings)."""
    net = tmp_path / "convs.csv"
    net.write_text("Layer,M,N,K,\nc1,784,32,288,\nc2,196,64,576,\n")
    out = tmp_path / name
    argv = ["run", "--arch", "small-8x8", "--topology", str(net), "--no-thermal", "--out", str(out), *extra]
    assert main(argv) == 0
    return json.loads((out / "summary.json").read_text())["energy"]


def test_energy_follows_sparsity_gating_and_precision(tmp_path):
    dense = _energy(tmp_path, "dense")
    sparse = _energy(tmp_path, "sparse", "--zero-frac", "0.9")
    gated = _energy(tmp_path, "gated", "--zero-frac", "0.9", "--set", "zero_gating=true")
    narrow = _energy(tmp_path, "narrow", "--set", "input_bits=4", "--set", "weight_bits=4")
    compute = ("mult", "acc", "fwd")

    def pe(e):
        return sum(e["by_component_j"][c] for c in compute)

    assert pe(sparse) < pe(dense)  # zeros toggle fewer bits
    assert pe(gated) < pe(sparse)  # gating holds the multiplier's inputs on zeros
    assert pe(narrow) < pe(dense)  # narrower operands, narrower multipliers


def test_dvfs_policy_in_run(net, tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["run", *SMALL, "--topology", net, "--out", str(out), "--policy", "none"]) == 0
    nominal = json.loads((out / "summary.json").read_text())["power"]["dvfs"]
    deadline = nominal["time_s"] * 1.3e3
    argv = ["run", *SMALL, "--topology", net, "--out", str(out), "--policy", "deadline"]
    assert main([*argv, "--deadline-ms", f"{deadline:.6f}"]) == 0
    d = json.loads((out / "summary.json").read_text())["power"]["dvfs"]
    assert d["deadline_met"] and d["time_s"] <= deadline * 1e-3 and d["saved_j"] > 0
    assert "DVFS deadline:" in capsys.readouterr().out
    assert main([*argv, "--deadline-ms", f"{deadline / 100:.6f}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no operating point meets a deadline" in err and "fastest achievable" in err and "\n" not in err


def test_temperature_limit_is_held_below_the_unmanaged_peak(tmp_path):
    out = tmp_path / "t"
    base = ["run", "--arch", "small-8x8", "--topology", "alexnet", "--out", str(out)]
    assert main(base) == 0
    th = json.loads((out / "summary.json").read_text())["thermal"]
    limit_k = (th["steady_max_k"] + th["peak_k"]) / 2
    assert main([*base, "--temp-limit-c", f"{limit_k - 273.15:.4f}"]) == 0
    dtm = json.loads((out / "summary.json").read_text())["thermal"]["dtm"]
    assert dtm["held"] and dtm["peak_k"] <= limit_k + 1e-6 < dtm["unmanaged_peak_k"]
    assert dtm["throttled_intervals"] > 0 and dtm["time_cost_s"] > 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--zero-frac", "1.5"], "--zero-frac: must be in 0..1, not 1.5"),
        (["--deadline-ms", "3"], "--deadline-ms: a deadline needs a DVFS policy"),
        (
            ["--temp-limit-c", "50", "--no-thermal"],
            "--temp-limit-c: a temperature limit needs the thermal model",
        ),
        (["--interval", "3 parsecs"], "--interval: expected a positive length"),
        (["--calibration", "/nonexistent.json"], "/nonexistent.json: no such file"),
    ],
)
def test_run_option_errors(net, capsys, extra, message):
    assert main(["run", *SMALL, "--topology", net, *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err, err


def test_traces_match_detailed_report(net, tmp_path):
    out = tmp_path / "t"
    args = [
        "run",
        *SMALL,
        "--set",
        "rows=4",
        "--set",
        "cols=4",
        "--topology",
        net,
        "--out",
        str(out),
        "--traces",
    ]
    assert main(args) == 0
    detail = [
        line.rstrip(",").split(", ")
        for line in (out / "DETAILED_ACCESS_REPORT.csv").read_text().splitlines()[1:]
    ]
    trace = np.loadtxt(out / "layer0" / "IFMAP_SRAM_TRACE.csv", delimiter=",", dtype=np.int64, ndmin=2)
    start, stop, reads = (int(x) for x in detail[0][1:4])
    assert (trace[0, 0], trace[-1, 0]) == (start, stop)
    assert int((trace[:, 1:] >= 0).sum()) == reads


def test_earlier_results_survive_a_failed_run(net, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", *SMALL, "--topology", net, "--out", str(out)]) == 0
    before = (out / "summary.json").read_text()
    assert (
        main(
            [
                "run",
                "--arch",
                "small-8x8",
                "--set",
                "ifmap_sram_bytes=4",
                "--topology",
                net,
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("systolic: error: ifmap_sram_bytes: too small to hold one fold's operands of ")
    assert (out / "summary.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "net.csv",
        "r",
    ]  # no temporary directory left behind


def test_traces_need_out(net, capsys):
    assert main(["run", *SMALL, "--topology", net, "--traces"]) == 2
    assert capsys.readouterr().err.strip() == "systolic: error: systolic run: --traces needs --out DIR"


def test_default_matrix_counts_both_tops():
    from systolic.config import ArrayConfig
    from systolic.cosim.matrix import CHIP_CASES, default_matrix

    base = ArrayConfig(name="matrix")
    groups = default_matrix(base)
    tops = [top for _, _, top in groups]
    assert tops.count("core") == 9 + 3 + 3 and tops.count("accel") == 6 + 6 + 3 + 4 + 9 + 2
    # grouped convolutions as each mem-wide config lowers them (OS 5 GEMMs, WS 5, IS 3), with -tiles
    # and on the conv memories the native grouped convolutions (tight: 8 GEMMs, ample: 6), with -im2col;
    # OS's and IS's native convolutions (19 cases, 6 of them strided from phase planes, 4 'valid' widths)
    # on both conv memories, with -im2col, OS tight -serial, and their native grouped ones (OS tight 7
    # GEMMs, ample 6; IS 6 and 5), and one GEMM per group on the tight memory (-pergroup, 17 GEMMs each).
    # (The block sizes are the fastest: model/grouped.py; they grew when the band planner came to time its
    # k-tile sizes.)
    accel = sum(len(cases) for _, cases, top in groups if top == "accel")
    assert accel == 105 + 4 * 13 + 2 * (5 + 5 + 3) + 2 * (8 + 6) + 9 * 19 + 3 * 7 + 2 * (6 + 6 + 5) + 2 * 17
    # the whole matrix: both simulators, and the 6 tiled-chip cases
    core = sum(len(cases) for _, cases, top in groups if top == "core")
    assert 2 * (core + accel) + 2 * len(CHIP_CASES) == 1188
    for df in ("os", "ws", "is"):
        cases = next(cases for cfg, cases, _ in groups if cfg.name == f"{df}-mem-wide")
        assert {c.conv["groups"] for c in cases if c.blocks} == {8, 2}
        assert max(c.blocks for c in cases) > 1  # block-diagonal GEMMs of several groups
    # tiled chips: one build per case, 2 and 3 tiles, and 3 tiles sharing one DRAM channel
    chips = [cases[0] for _, cases, top in groups if top == "chip"]
    assert [max(c.stage_of) + 1 for c in chips] == [2, 3, 3]
    assert [c.dram_channels for c in chips] == [None, None, 1]
    ternary = [cfg for cfg, _, _ in groups if cfg.weight_format == "ternary"]
    assert {cfg.dataflow.value for cfg in ternary} == {"os", "ws", "is"} and len(ternary) == 6
    # conv_native: WS, OS and IS convolutions on a tight and an ample memory, read natively and as
    # im2col matrices, and OS's tight one with the serial pipeline
    native = sorted(cfg.conv_native for cfg, _, _ in groups if "conv" in cfg.name)
    assert native == [False] * 6 + [True] * 9
    # every micro-architecture option runs both ways
    for option, flipped in (("fold_overlap", 7), ("tile_overlap", 3)):
        assert {getattr(cfg, option) for cfg, _, _ in groups} == {True, False}
        assert sum(getattr(cfg, option) != getattr(base, option) for cfg, _, _ in groups) == flipped


def test_bad_interval_fails_before_the_model_runs(capsys, monkeypatch):
    """A malformed --interval is one line, and no model stage has run (the model would take seconds)."""
    import systolic.flow.run as flow_run

    def boom(*args, **kwargs):
        raise AssertionError("the model ran before --interval was checked")

    monkeypatch.setattr(flow_run, "full_run", boom)
    assert main(["run", "--arch", "small-8x8", "--topology", "alexnet", "--interval", "fast"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err.startswith("systolic: error: --interval: expected a positive length with a unit")
        and "\n" not in err
    )


def test_every_subcommand_help_has_a_description_and_examples(capsys):
    for name in ("config", "workload", "hdl", "cosim", "run", "dvfs", "sweep", "thermal", "calibrate"):
        with pytest.raises(SystemExit):
            main([name, "--help"])
        out = capsys.readouterr().out
        assert "usage: systolic " + name in out
        if name in ("config", "workload", "hdl", "cosim", "run"):
            assert "examples:\n  systolic " + name in out, name


# --------------------------------------------------------------------------- issue 17: nothing lost, one line


def test_out_keeps_the_users_files_and_replaces_only_its_own(net, tmp_path, capsys):
    out = tmp_path / "o"
    make(out, {"notes.txt": "mine", "sub/data.bin": b"\x00\x01"})
    argv = ["run", *SMALL, "--topology", net, "--out", str(out)]
    assert main(argv) == 0
    assert (out / "notes.txt").read_text() == "mine" and (
        out / "sub" / "data.bin"
    ).read_bytes() == b"\x00\x01"
    manifest = json.loads((out / ".systolic-manifest.json").read_text())["files"]
    assert "notes.txt" not in manifest and "summary.json" in manifest
    first = files_of(out)
    assert main(argv) == 0  # its own files replaced, byte for byte the same
    assert files_of(out) == first


def test_out_through_a_symlink_and_with_the_umask(net, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    assert main(["run", *SMALL, "--topology", net, "--memory-only", "--out", str(tmp_path / "link")]) == 0
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "COMPUTE_REPORT.csv").is_file()
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "real" / "COMPUTE_REPORT.csv").stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize(
    ("argv", "files", "message"),
    [
        (["--out", "f"], {"f": "x"}, "--out: f: exists and is not a folder"),
        (["--out", "f/o"], {"f": "x"}, "--out: f/o: 'f' is a file, not a folder"),
        (["--out", ""], {}, "--out: an empty path"),
        (
            ["--out", "."],
            {},
            "--out: .: holds the input net.csv; give an output folder that holds none of the",
        ),
        (["--out", "net.csv"], {}, "--out: net.csv: exists and is not a folder"),
        (
            ["--out", "o"],
            {"o/summary.json": "{}"},
            "--out: o: already holds summary.json, which systolic did not write (its .systolic-manifest.json",
        ),
        (
            ["--temp-limit-c", "0"],
            {},
            "--temp-limit-c: must be above the ambient 45 C (no chip runs below it)",
        ),
        (["--interval", "1e9s"], {}, "--interval: 1e+09 s is longer than the whole run ("),
        (
            ["--deadline-ms", "١", "--policy", "race"],
            {},
            "systolic run: argument --deadline-ms: invalid float",
        ),
    ],
)
def test_refused_before_the_run(tmp_path, capsys, argv, files, message):
    net = {"net.csv": "Layer,M,N,K\nl1,16,16,16\n"}
    got = refused(
        tmp_path, capsys, ["run", "--arch", "small-8x8", "--topology", "net.csv", *argv], {**net, **files}
    )
    assert got.startswith(message), got


def test_out_holding_the_inputs_is_refused(tmp_path, capsys):
    files = {"d/x.toml": "[array]\nrows = 4\ncols = 4\n", "d/net.csv": "Layer,M,N,K\nl1,16,16,16\n"}
    got = refused(
        tmp_path, capsys, ["run", "--arch", "d/x.toml", "--topology", "d/net.csv", "--out", "d"], files
    )
    assert got == "--out: d: holds the input d/x.toml; give an output folder that holds none of the inputs"


@pytest.mark.parametrize(
    ("argv", "files", "message"),
    [
        (
            ["--arch", "tpu-v1-128", "--topology", "resnet50", "--interval", "1cycles"],
            {},
            "--interval: power and temperature over 1,670,352 intervals of 1.429e-09 s and 69 blocks needs about "
            "10.8 GiB of memory (limit 4 GiB); --force to run anyway",
        ),
        (
            ["--arch", "tpu-v1-128", "--topology", "big.csv", "--memory-only", "--traces", "--out", "o"],
            {"big.csv": "Layer,M,N,K\nbig,20000,20000,20000\n"},
            "--traces: writing the traces (1,544,741,280 rows) needs about 734 GiB of files (limit 10 GiB); "
            "--force to run anyway",
        ),
        (
            ["--arch", "small-8x8", "--topology", "big.csv"],
            {"big.csv": "Layer,M,N,K\nhuge,100000,100000,100000\n"},
            "--topology: big on small-8x8 (",
        ),
        (
            ["--arch", "small-8x8", "--topology", "resnet50", "--batch", "1000000000"],
            {},
            "resnet50, batch 1000000000: m: m must be at most 2^40 (1,099,511,627,776), not 12,544,000,000,000",
        ),
    ],
)
def test_resource_blowups_refused_up_front(tmp_path, capsys, argv, files, message):
    got = refused(tmp_path, capsys, ["run", *argv], files)
    assert got.startswith(message), got


def test_sample_input_profiles_an_onnx_model(tmp_path, capsys):
    """--sample-input runs the ONNX model with onnxruntime and takes each layer's data statistics from its
    operands: a ReLU network's energy differs from the statistics-free default; bad use is one line."""
    pytest.importorskip("onnxruntime")
    from tests.formats.test_onnx_profile import model

    path = model(tmp_path)
    np.save(tmp_path / "x.npy", np.random.default_rng(1).normal(size=(1, 2, 6, 6)).astype(np.float32))
    args = ["run", "--arch", "small-8x8", "--topology", str(path), "--no-thermal"]
    assert main([*args, "--out", str(tmp_path / "default")]) == 0
    assert main([*args, "--sample-input", str(tmp_path / "x.npy"), "--out", str(tmp_path / "data")]) == 0
    default = json.loads((tmp_path / "default" / "summary.json").read_text())["energy"]
    data = json.loads((tmp_path / "data" / "summary.json").read_text())["energy"]
    assert default["data"].startswith("default") and data["data"] == "profile of x.npy (onnxruntime)"
    assert data["dynamic_j"] != default["dynamic_j"]
    capsys.readouterr()
    assert main(["run", "--arch", "small-8x8", "--topology", "resnet18", "--sample-input", "x.npy"]) == 2
    assert "--sample-input: a sample input needs an ONNX model as --topology" in capsys.readouterr().err


def test_sample_input_profiles_a_depthwise_layer_run_in_blocks(tmp_path, capsys):
    """A depthwise layer runs in blocks of channels (group_blocks; 9 channels on small-8x8: a block of 5
    and a tail of 4, two entries) and the profile of its one ONNX node feeds both entries."""
    pytest.importorskip("onnxruntime")
    from tests.formats.test_onnx import conv_model

    path = conv_model(tmp_path, [1, 9, 6, 6], [9, 1, 3, 3], pads=[1, 1, 1, 1], group=9)
    np.save(tmp_path / "x.npy", np.random.default_rng(1).normal(size=(1, 9, 6, 6)).astype(np.float32))
    args = ["run", "--arch", "small-8x8", "--topology", str(path), "--no-thermal"]
    assert main([*args, "--sample-input", str(tmp_path / "x.npy"), "--out", str(tmp_path / "data")]) == 0
    layers = json.loads((tmp_path / "data" / "summary.json").read_text())["layers"]
    assert [(ly["name"], ly["n"], ly["k"], ly["macs"]) for ly in layers] == [
        ("conv3", 5, 45, 36 * 9 * 5),
        ("conv3.tail", 4, 36, 36 * 9 * 4),
    ]
    capsys.readouterr()
