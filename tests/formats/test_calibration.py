"""systolic/formats/calibration.py: the calibration file (round trip, stable bytes, default and override paths)
and bad input through the CLI: one line, exit status 2, no traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest

from systolic.cli import main
from systolic.errors import InputError
from systolic.formats import calibration as cc
from systolic.model import energy as en


def _calibration() -> en.Calibration:
    rng = np.random.default_rng(3)
    coeffs = rng.random((len(en.DATAFLOWS), len(en.COMPONENT_CLASSES), en.N_TOGGLE_FEATURES))
    for j, cls in enumerate(en.COMPONENT_CLASSES):
        coeffs[:, j, len(en.TOGGLE_FEATURES[cls]) :] = 0
    return en.Calibration(coeffs, {"note": "test"})


def test_round_trip_and_stable_bytes(tmp_path):
    cal = _calibration()
    path = cc.write_calibration(cal, tmp_path / "cal.json")
    got, used = cc.load_calibration(path)
    assert used == path
    np.testing.assert_allclose(got.coeffs, cal.coeffs, rtol=1e-5)
    assert cc.calibration_text(got) == path.read_text()  # rounded once, then stable


def test_default_and_environment_paths(tmp_path, monkeypatch):
    monkeypatch.delenv(cc.ENV_VAR, raising=False)
    cal, used = cc.load_calibration()
    assert used == cc.default_calibration_path() and used.name == "calibration.json"
    assert cal.coeffs.shape == (3, len(en.COMPONENT_CLASSES), en.N_TOGGLE_FEATURES)
    other = cc.write_calibration(_calibration(), tmp_path / "mine.json")
    monkeypatch.setenv(cc.ENV_VAR, str(other))
    assert cc.load_calibration()[1] == other


def test_label_is_the_same_on_every_machine(tmp_path):
    """Outputs name the packaged file by its place in the repository, any other by name and content hash,
    never by an absolute path (which differs between checkouts)."""
    assert cc.calibration_label(cc.default_calibration_path()) == "configs/calibration.json"
    a = cc.write_calibration(_calibration(), tmp_path / "a" / "mine.json")
    b = cc.write_calibration(_calibration(), tmp_path / "b" / "mine.json")
    label = cc.calibration_label(a)
    assert label == cc.calibration_label(b) and label.startswith("mine.json (sha256 ")
    assert str(tmp_path) not in label


BAD = {
    "not json": ("{", "not valid JSON"),
    "not a calibration": ('{"a": 1}', "not a systolic calibration file"),
    "version": ('{"format": "systolic-calibration", "version": 9}', "version: unsupported version 9"),
    "no features": (
        '{"format": "systolic-calibration", "version": 2}',
        "features: fitted with other toggle features",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_calibration_file_is_one_line(tmp_path, capsys, name):
    text, message = BAD[name]
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert main(["calibrate", "--show", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"systolic: error: {path}") and message in err


def test_negative_or_short_coefficients(tmp_path):
    data = _calibration().to_dict()
    data["coefficients"]["ws"]["mult"][0] = -1.0
    path = tmp_path / "neg.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"coefficients\.ws\.mult: must be non-negative numbers, not -1\.0"):
        cc.load_calibration(path)
    data["coefficients"]["ws"]["mult"] = [1.0]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"coefficients\.ws\.mult: must be a list of 3 numbers"):
        cc.load_calibration(path)


def test_missing_coefficients(tmp_path):
    data = _calibration().to_dict()
    del data["coefficients"]["is"]
    path = tmp_path / "part.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"part\.json: coefficients\.is: missing$"):
        cc.load_calibration(path)


def test_calibration_of_other_features(tmp_path):
    data = _calibration().to_dict()
    data["features"]["mult"] = ["something else"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    with pytest.raises(
        InputError, match=r"old\.json: features: fitted with other toggle features .* 'make calibrate'"
    ):
        cc.load_calibration(path)


def test_missing_calibration_file(tmp_path, capsys):
    assert main(["calibrate", "--show", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.json" in err and "Traceback" not in err


def test_corrupt_vcd_is_one_line(tmp_path):
    """A corrupt VCD on the calibration path (the toggle counter with the energy rules) is one line."""
    from systolic.cosim.toggles import count_toggles, energy_rules

    vcd = tmp_path / "bad.vcd"
    vcd.write_text(
        "$timescale 1ps $end\n$scope module t $end\n$var wire 1 ! clk $end\n$upscope $end\n"
        "$enddefinitions $end\n#0\n0!\n#5\n?!\n"
    )
    with pytest.raises(InputError) as err:
        count_toggles(vcd, rules=energy_rules("ws"))
    assert str(err.value).startswith(f"{vcd}: line 9: unexpected '?'") and "\n" not in str(err.value)


def test_no_jobs(capsys):
    assert main(["calibrate", "--jobs", "0"]) == 2
    assert "--jobs: must be at least 1, not 0" in capsys.readouterr().err
