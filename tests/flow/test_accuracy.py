"""systolic/flow/accuracy.py and ``systolic accuracy``: a small sweep end to end, the files it writes,
determinism, and bad input pinned to one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from systolic.analog_config import load_analog
from systolic.cli import main
from systolic.errors import InputError
from systolic.flow import accuracy as acc


@pytest.fixture(scope="module")
def report():
    cfg = load_analog("analog-ternary").replace(adc_bits=8)
    return acc.evaluate("digits-cnn", cfg, sigmas=(0.0, 0.5), adc_bits=(4, 8), seeds=1)


def test_report_orders_float_digital_analog(report):
    assert report.test_images == 450 and report.macs == 88_064
    assert report.digital_acc >= report.float_acc - 0.02
    assert report.analog_acc == (report.digital_acc,)  # exact ADC, no noise: the digital result
    assert report.noise_acc[0, 0] == report.digital_acc
    assert report.noise_acc[1, 0] < report.digital_acc - 0.02  # sigma 0.5 breaks it
    assert report.break_sigma() == 0.5
    assert report.adc_acc[0, 0] < report.adc_acc[1, 0]
    assert report.adc_pj[0] < report.adc_pj[1]
    assert report.resident and report.program_pj > 0


def test_report_text_and_json(report):
    text = acc.report_text(report)
    assert (
        "digital (bit-exact)" in text
        and "accuracy falls more than 2 points below digital at sigma = 0.5" in text
    )
    data = acc.report_json(report)
    assert data["break_sigma_2pt"] == 0.5 and set(data["layers"]) == {"conv1", "conv2", "fc"}
    json.dumps(data)


def test_cli_writes_text_json_png(tmp_path, capsys):
    out = tmp_path / "acc"
    args = ["accuracy", "--network", "digits-cnn", "--arch", "analog-ternary", "--noise", "0,0.3",
            "--adc-bits", "7", "--seeds", "1", "--set", "read_sigma=0.01", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert (out / "accuracy.txt").read_text() == printed
    assert json.loads((out / "accuracy.json").read_text())["core"]["read_sigma"] == 0.01
    assert (out / "accuracy.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_cli_outputs_are_the_same_bytes_every_run(tmp_path):
    args = ["accuracy", "--network", "digits-cnn", "--arch", "analog-ternary", "--noise", "0.1",
            "--adc-bits", "6", "--seeds", "2", "--set", "read_sigma=0.02"]  # fmt: skip
    for name in ("a", "b"):
        assert main([*args, "--out", str(tmp_path / name)]) == 0
    for f in ("accuracy.txt", "accuracy.json", "accuracy.png"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--network", "lenet"], "systolic: error: --network: lenet: unknown network (known: digits-cnn)"),
        (["--noise", "0,x"], "systolic: error: --noise: must be numbers separated by commas, not '0,x'"),
        (
            ["--adc-bits", "4.5"],
            "systolic: error: --adc-bits: must be whole numbers of bits in 1..16, not '4.5'",
        ),
        (["--seeds", "0"], "systolic: error: --seeds: must be at least 1, not 0"),
        (["--set", "adc=3"], "systolic: error: --set: unknown analog core field 'adc'"),
    ],
)
def test_cli_bad_input(capsys, extra, message):
    base = {"--network": "digits-cnn", "--arch": "analog-ternary"}
    args = ["accuracy"]
    for key, value in base.items():
        if key not in extra:
            args += [key, value]
    assert main(args + extra) == 2
    assert capsys.readouterr().err.strip() == message


def test_load_trained_errors(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"bad\.npz: not a trained network \(\.npz\)"):
        acc.load_trained(bad)
    partial = tmp_path / "partial.npz"
    np.savez(partial, act_bits=4, weight_bits=2)
    with pytest.raises(InputError, match=r"^.*partial\.npz: missing array 'w0'$"):
        acc.load_trained(partial)


def test_save_and_load_round_trip(tmp_path):
    net = acc.shipped_network("digits-cnn")
    acc.save_trained(tmp_path / "n.npz", net)
    back = acc.load_trained(tmp_path / "n.npz")
    for a, b in zip(back.net.layers, net.net.layers, strict=True):
        np.testing.assert_array_equal(a.weights, b.weights)
        assert (a.mult, a.shift) == (b.mult, b.shift)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--out", "f"], "--out: f: exists and is not a folder"),
        (["--out", "f/o"], "--out: f/o: 'f' is a file, not a folder"),
        (["--seeds", "1000000000"], "--seeds: must be at most 1000, not 1000000000"),
        (["--noise", "1e300"], "--noise: must be at most 10 conductance ranges, not '1e300'"),
        (["--noise", "٠.١"], "--noise: must be numbers separated by commas, not '٠.١'"),
    ],
)
def test_cli_refused_before_any_inference(tmp_path, capsys, extra, message):
    from tests.cli.one_line import refused

    argv = ["accuracy", "--network", "digits-cnn", "--arch", "analog-ternary", *extra]
    assert refused(tmp_path, capsys, argv, {"f": "x"}) == message
