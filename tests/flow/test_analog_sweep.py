"""flow/analog_sweep.py: the spec's errors, the points' cores, and a small sweep whose accuracy, energy and
latency are systolic accuracy's and the analog model's for the same core."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.analog_config import load_analog
from systolic.cli import main
from systolic.flow import analog_sweep as asw
from systolic.flow.sweep import design_points, load_spec

SPEC = 'kind = "analog"\nbatch = 2\n[analog]\nbase = "analog-ternary"\n[space]\n{space}\n'


def _write(tmp_path, text):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SPEC.format(space="adc_bits = [3, 99]"), "space.adc_bits: value 99: adc_bits must be in"),
        (SPEC.format(space="input_bits = [4]"), "space.input_bits: not an analog core field (known:"),
        (SPEC.format(space="crossbar = [64]\nrows = [32]"), "space.crossbar: give crossbar (rows = cols) or"),
        (SPEC.format(space="").replace("[space]\n", ""), "space: missing or empty"),
        (SPEC.format(space="adc_bits = [4]").replace('"analog-ternary"', '"nope"'), "analog.base: "),
        (
            'kind = "analog"\n[analog]\nnetwork = "lenet"\n[space]\nadc_bits = [4]\n',
            "analog.network: must be",
        ),
        (
            'kind = "analog"\n[analog]\nseeds = 11\n[space]\nadc_bits = [4]\n',
            "analog.seeds: must be an integer",
        ),
        ('kind = "analog"\n[analog]\ncolour = 1\n[space]\nadc_bits = [4]\n', "analog.colour: unknown key"),
    ],
)
def test_spec_errors_are_one_line(tmp_path, capsys, text, message):
    spec = _write(tmp_path, text)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(spec) in err and message in err, err


def test_points_are_the_base_core_at_the_networks_widths(tmp_path):
    spec = load_spec(_write(tmp_path, SPEC.format(space="adc_bits = [5, 6]\ncrossbar = [64, 256]")))
    points = design_points(spec)
    assert points == [{"adc_bits": a, "crossbar": c} for a in (5, 6) for c in (64, 256)]
    core = asw.point_config(spec.base, points[1])
    base = load_analog("analog-ternary")
    assert (core.rows, core.cols, core.cols_per_adc, core.adc_bits) == (256, 256, 256, 5)
    assert (core.input_bits, core.weight_bits, core.cell_bits) == (4, 2, base.cell_bits)


def test_a_sweep_over_the_time_budget_is_refused_before_any_work(tmp_path, capsys):
    spec = _write(tmp_path, SPEC.format(space="adc_bits = [3, 4, 5, 6, 7, 8]\nread_sigma = " + str(
        [round(0.001 * i, 3) for i in range(200)])))  # fmt: skip
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--workers", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "the sweep (1,200 points) needs about" in err and "--force" in err and err.count("\n") == 0, err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_a_sweep_is_systolic_accuracy_at_each_point(tmp_path, capsys):
    import pyarrow.parquet as pq

    from systolic.flow import accuracy as acc
    from systolic.model import qnet
    from systolic.model.analog import analog_layers
    from systolic.model.cycles import GemmArrays

    spec = _write(tmp_path, SPEC.format(space="adc_bits = [5, 7]"))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o"), "--quiet", "--workers", "1"]) == 0
    assert (
        "2 points of analog-ternary (digits-cnn, 1 noise seed(s) each): 2 feasible" in capsys.readouterr().out
    )
    t = pq.read_table(tmp_path / "o" / "points.parquet")
    trained = acc.shipped_network("digits-cnn")
    _, _, x, y = acc.digits_split()
    codes = qnet.input_codes(x, trained.net.act_bits)
    gemm = GemmArrays.from_workload(qnet.workload())
    for row, bits in zip(t.to_pylist(), (5, 7), strict=True):
        core = acc.core_for(load_analog("analog-ternary"), trained.net).replace(adc_bits=bits)
        assert row["accuracy"] == acc.accuracy(acc.analog_logits(trained.net, codes, core, 0), y)
        res = analog_layers(core, gemm)
        assert row["energy_j"] == pytest.approx(res.inference_pj.sum() * 1e-12, rel=1e-12)
        assert row["latency_s"] == pytest.approx(res.latency_s.sum(), rel=1e-12)
    assert np.array(t["pareto"].to_pylist()).any()
