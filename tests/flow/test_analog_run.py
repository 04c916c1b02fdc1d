"""flow/analog_run.py: ``systolic run`` on an analog core: its files, energy kept from the model through the
power trace, determinism, and the options it refuses."""

from __future__ import annotations

import json

import numpy as np
import pytest

from systolic.analog_config import load_analog
from systolic.cli import main
from systolic.flow import analog_run as ar
from systolic.workload import Layer, Workload

from ..cli.one_line import refused

NET = "Layer,M,N,K,\nfc1,40,200,300,\nfc2,7,50,90,\n"


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.csv"
    path.write_text(NET)
    return str(path)


def test_run_writes_the_reports_and_keeps_the_energy(net, tmp_path, capsys):
    out = tmp_path / "r"
    argv = ["run", "--arch", "analog-ternary", "--topology", net, "--interval", "2us", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "net on analog-ternary (analog: 96 crossbars of 128x128" in text and "not modelled:" in text
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(ar.ANALOG_RUN_FILES)
    summary = json.loads((out / "summary.json").read_text())
    energy = np.loadtxt(out / "ENERGY_REPORT.csv", delimiter=",", skiprows=1, usecols=range(2, 9))
    assert energy[:, -1].sum() == pytest.approx(summary["total"]["energy_pj"], rel=1e-5)
    power = np.loadtxt(out / "power.csv", delimiter=",", skiprows=1)
    width = power[:, 1] - power[:, 0]
    assert power[0, 1] == pytest.approx(2e-6)
    assert (power[:, -1] * width).sum() * 1e12 == pytest.approx(summary["total"]["energy_pj"], rel=1e-4)
    assert summary["total"]["weights_resident"] and summary["thermal"]["peak_k"] > 318.15
    flp = (out / "floorplan.flp").read_text()
    assert "xbar_0\t" in flp and "adc_0\t" in flp and "periph\t" in flp
    html = (out / "report.html").read_text()
    assert "<h2>Energy</h2>" in html and "<h2>Power</h2>" in html and "<h2>Thermal map</h2>" in html


def test_same_inputs_same_bytes():
    wl = Workload("w", (Layer("a", 30, 600, 500), Layer("b", 9, 20, 40)))
    cfg = load_analog("analog-isaac")
    one, two = ar.analog_full_run(cfg, wl), ar.analog_full_run(cfg, wl)
    assert json.dumps(one.summary) == json.dumps(two.summary)
    assert ar.power_csv(one) == ar.power_csv(two) and ar.energy_csv(one) == ar.energy_csv(two)
    assert not one.summary["total"]["weights_resident"]  # 500 x 600 8-bit weights: 4 x 38 crossbars


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--policy", "race"], "--policy: the analog core has no DVFS or DTM"),
        (["--temp-limit-c", "80", "--zero-frac", "0.5"], "--temp-limit-c, --zero-frac: the analog core has"),
        (
            ["--interval", "100cycles"],
            "interval: the analog core has no clock: give a time (s, ms, us or ns)",
        ),
        (["--set", "adc_bits=40"], "adc_bits"),
    ],
)
def test_what_the_analog_core_cannot_do_is_one_line(tmp_path, capsys, extra, message):
    msg = refused(
        tmp_path, capsys, ["run", "--arch", "analog-isaac", "--topology", "net.csv", *extra], {"net.csv": NET}
    )
    assert message in msg, msg
