"""systolic/analog_config.py: sourced defaults, the shipped cores, TOML errors pinned to one line."""

from __future__ import annotations

import pytest

from systolic.analog_config import (
    AnalogConfig,
    builtin_analog_names,
    load_analog,
    load_analog_toml,
)
from systolic.config import builtin_arch_names
from systolic.errors import InputError


def test_defaults_are_isaacs_numbers():
    cfg = AnalogConfig()
    assert (cfg.rows, cfg.cols, cfg.cell_bits, cfg.dac_bits, cfg.adc_bits) == (128, 128, 2, 1, 8)
    assert cfg.cell_read_fj == pytest.approx(1.831, abs=1e-3)  # 2.4 mW / 8 crossbars, 100 ns, 16384 cells
    assert cfg.dac_pj == pytest.approx(0.3906, abs=1e-4)  # 4 mW / 1024 DACs, 100 ns
    assert cfg.adc_fj_per_step * 2**8 / 1e3 == pytest.approx(1.6667, abs=1e-4)  # 2 mW at 1.2 GS/s
    assert cfg.shift_add_pj == pytest.approx(0.02083, abs=1e-5)


def test_programming_parallelism_default_and_toml(tmp_path):
    """One crossbar row of the core at a time by default (NeuroSim's analog-RRAM write), settable in
    [programming]."""
    assert AnalogConfig().program_parallel_cells == 128
    path = tmp_path / "core.toml"
    path.write_text('kind = "analog"\n[programming]\nprogram_parallel_cells = 1024\n')
    assert load_analog_toml(path).program_parallel_cells == 1024


def test_derived_geometry():
    cfg = AnalogConfig(weight_bits=8, cell_bits=2)
    assert (cfg.weight_magnitude_bits, cfg.weight_slices, cfg.polarities, cfg.cols_per_weight) == (7, 4, 2, 8)
    assert cfg.input_slices == 8 and cfg.max_column_sum == 128 * 3
    ternary = AnalogConfig(input_bits=4, weight_bits=2, cell_bits=1, adc_bits=8)
    assert ternary.cols_per_weight == 2 and ternary.adc_exact
    assert not ternary.replace(adc_bits=7).adc_exact


@pytest.mark.parametrize("name", builtin_analog_names())
def test_shipped_cores_load(name):
    assert load_analog(name).name == name


def test_shipped_cores_are_not_digital_arrays():
    assert builtin_analog_names() == ["analog-isaac", "analog-ternary"]
    assert not [n for n in builtin_arch_names() if n.startswith("analog-")]


def test_overrides():
    assert load_analog("analog-isaac", {"adc_bits": 6}).adc_bits == 6
    with pytest.raises(InputError, match=r"^--set: unknown analog core field 'adc'$"):
        load_analog("analog-isaac", {"adc": 6})
    with pytest.raises(InputError, match=r"^--set: adc_bits: adc_bits must be in 1\.\.16, not 0$"):
        load_analog("analog-isaac", {"adc_bits": 0})


def test_unknown_name():
    with pytest.raises(InputError, match=r"^nope: no such analog core file or name \(shipped: analog-isaac"):
        load_analog("nope")


@pytest.mark.parametrize(
    "body, message",
    [
        ('name = "x"\n[crossbar]\nrows = 8\n', r'kind must be "analog" in an analog core file, not None$'),
        (
            'kind = "analog"\n[crossbar]\nrows = "8"\n',
            r"\[crossbar\] rows: rows must be an integer, not '8'$",
        ),
        (
            'kind = "analog"\n[crossbar]\nwires = 8\n',
            r"\[crossbar\]: unknown key 'wires' \(allowed: rows, cols",
        ),
        (
            'kind = "analog"\n[noise]\nread_sigma = -1\n',
            r"\[noise\] read_sigma: read_sigma must be in 0\.\.10, not -1$",
        ),
        ('kind = "analog"\n[converters]\ndac_bits = 9\n', r"dac_bits: dac_bits must be in 1\.\.8, not 9$"),
        (
            'kind = "analog"\n[precision]\ninput_bits = 2\n[converters]\ndac_bits = 4\n',
            r"\[converters\] dac_bits: dac_bits must be at most input_bits \(2\), not 4$",
        ),
        (
            'kind = "analog"\n[crossbar]\ncols = 4\n[converters]\ncols_per_adc = 4\n',
            r"\[crossbar\] cols: a weight takes 8 bit lines \(weight_bits 8, cell_bits 2\), more than cols \(4\)$",
        ),
        (
            'kind = "analog"\n[programming]\nprogram_parallel_cells = 0\n',
            r"\[programming\] program_parallel_cells: program_parallel_cells must be in 1\.\.1073741824, not 0$",
        ),
        (
            'kind = "analog"\n[programming]\nprogram_parallel_cells = 1.5\n',
            r"\[programming\] program_parallel_cells: program_parallel_cells must be an integer, not 1\.5$",
        ),
        ('kind = "analog"\nspeed = 1\n', r"unknown key or section 'speed'"),
        ('kind = "analog"\n[crossbar\n', r"malformed TOML"),
    ],
)
def test_toml_errors_name_file_and_field(tmp_path, body, message):
    path = tmp_path / "core.toml"
    path.write_text(body)
    with pytest.raises(InputError, match=message) as err:
        load_analog_toml(path)
    text = str(err.value)
    assert text.startswith(str(path)) and "\n" not in text
