"""ArrayConfig validation, the TOML and SCALE-Sim readers, overrides, and their error messages."""

from __future__ import annotations

import dataclasses
import json

import pytest

from systolic.config import (
    SERIAL_OPTIONS,
    ArrayConfig,
    Dataflow,
    builtin_arch_names,
    load_arch,
    load_scalesim_cfg,
    load_toml,
    parse_override,
    to_scalesim_cfg,
    to_toml,
)
from systolic.errors import InputError

SCALESIM3_CFG = """\
[general]
run_name = my_run

[architecture_presets]
ArrayHeight:    16
ArrayWidth:     12
IfmapSramSzkB:   32
FilterSramSzkB:  16
OfmapSramSzkB:   8
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 6
Dataflow : is
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

SCALESIM2_CFG = """\
[general]
run_name = scale_example_run_32x32_os

[architecture_presets]
ArrayHeight:    32
ArrayWidth:     32
IfmapSramSzkB:   64 
FilterSramSzkB:  64 
OfmapSramSzkB:   64 
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : os
MemoryBanks:   1

[run_presets]
InterfaceBandwidth: CALC 
"""


def test_defaults_are_valid_and_frozen():
    cfg = ArrayConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.rows = 3  # type: ignore[misc]
    assert cfg.dataflow is Dataflow.WS


@pytest.mark.parametrize("name", builtin_arch_names())
def test_shipped_configs_load_and_round_trip(name, tmp_path):
    cfg = load_arch(name)
    assert cfg.name == name
    path = tmp_path / "again.toml"
    path.write_text(to_toml(cfg))
    assert load_toml(path) == cfg


def test_shipped_set_covers_the_named_architectures():
    shapes = {(c.rows, c.cols, c.dataflow) for c in map(load_arch, builtin_arch_names())}
    assert {
        (128, 128, Dataflow.WS),
        (32, 32, Dataflow.WS),
        (12, 14, Dataflow.WS),
        (8, 8, Dataflow.OS),
    } <= shapes


def test_scalesim3_cfg(tmp_path):
    path = tmp_path / "s3.cfg"
    path.write_text(SCALESIM3_CFG)
    cfg = load_scalesim_cfg(path)
    assert (cfg.name, cfg.rows, cfg.cols, cfg.dataflow) == ("my_run", 16, 12, Dataflow.IS)
    assert (cfg.ifmap_sram_bytes, cfg.filter_sram_bytes, cfg.ofmap_sram_bytes) == (32768, 16384, 8192)
    assert cfg.dram_bw_words_per_cycle == 6 and cfg.interface_bandwidth == "calc"
    # writing it back and reading again gives the same config
    again = tmp_path / "again.cfg"
    again.write_text(to_scalesim_cfg(cfg))
    assert load_scalesim_cfg(again) == cfg


def test_scalesim2_cfg_with_trailing_spaces(tmp_path):
    path = tmp_path / "s2.cfg"
    path.write_text(SCALESIM2_CFG)
    cfg = load_arch(str(path))
    assert (cfg.rows, cfg.cols, cfg.dataflow, cfg.ifmap_sram_bytes) == (32, 32, Dataflow.OS, 65536)


def test_overrides_apply_and_validate():
    cfg = load_arch(
        "small-8x8", dict(parse_override(t) for t in ["rows=16", "dataflow=ws", "zero_gating=yes"])
    )
    assert (cfg.rows, cfg.dataflow, cfg.zero_gating) == (16, Dataflow.WS, True)


# ---------------------------------------------------------------- bad input: one pinned line each


def _error(fn, *args) -> str:
    with pytest.raises(InputError) as info:
        fn(*args)
    text = str(info.value)
    assert "\n" not in text
    return text


def _toml(tmp_path, body: str):
    path = tmp_path / "arch.toml"
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[array]\nrows = -3\n", "[array] rows: rows must be in 1..4096, not -3"),
        ("[array]\nrows = 0\n", "[array] rows: rows must be in 1..4096, not 0"),
        ('[array]\ndataflow = "rs"\n', "[array] dataflow: dataflow must be one of os, ws, is, not 'rs'"),
        ("[precision]\ninput_bits = 0\n", "[precision] input_bits: input_bits must be in 2..16, not 0"),
        ("[precision]\nweight_bits = 40\n", "[precision] weight_bits: weight_bits must be in 2..16, not 40"),
        (
            "[precision]\nacc_bits = 12\n",
            "[precision] acc_bits: acc_bits must be at least input_bits + weight_bits (16), not 12",
        ),
        ('[array]\nrows = "eight"\n', "[array] rows: rows must be an integer, not 'eight'"),
        (
            '[precision]\nweight_format = "binary"\n',
            "[precision] weight_format: weight_format must be 'int' or 'ternary', not 'binary'",
        ),
        (
            '[precision]\nweight_format = "ternary"\n',
            "[precision] weight_format: weight_format = 'ternary' codes weights in two signed bits: it needs "
            "weight_bits = 2 and weight_signed = true, not 8 bits signed",
        ),
        ("[array]\nheight = 4\n", "[array]: unknown key 'height'"),
        ("[arr]\nrows = 4\n", "unknown key or section 'arr'"),
        ("[array\nrows = 4\n", "malformed TOML"),
    ],
)
def test_bad_toml(tmp_path, body, message):
    path = _toml(tmp_path, body)
    text = _error(load_toml, path)
    assert text.startswith(str(path) + ": ")
    assert message in text


def test_missing_file():
    assert _error(load_arch, "/no/such/arch.toml") == "/no/such/arch.toml: no such file"


def test_unknown_arch_name():
    assert _error(load_arch, "tpu9").startswith("tpu9: no such architecture file or name (shipped: eyeriss,")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("ArrayHeight:    16", "ArrayHeight:    -3"),
            "[architecture_presets] arrayheight: rows must be in 1..4096, not -3",
        ),
        (
            ("Dataflow : is", "Dataflow : xs"),
            "[architecture_presets] dataflow: dataflow must be one of os, ws, is, not 'xs'",
        ),
        (
            ("Bandwidth : 6", "Bandwidth : fast"),
            "[architecture_presets] bandwidth: expected an integer, got 'fast'",
        ),
        (
            ("Bandwidth : 6", "Bandwidth : 0"),
            "[architecture_presets] bandwidth: dram_bw_words_per_cycle must be in 1..1048576, not 0",
        ),
        (
            ("SparsitySupport : false", "SparsitySupport : true"),
            "[sparsity] sparsitysupport: 'true' is not supported by systolic (only False)",
        ),
        (("MemoryBanks:   1", "Banks: 1"), "[architecture_presets]: unknown key 'banks'"),
        (("[layout]", "[layoutz]"), "unknown section [layoutz]"),
        (("[general]", "general"), "malformed SCALE-Sim config"),
    ],
)
def test_bad_scalesim_cfg(tmp_path, edit, message):
    path = tmp_path / "bad.cfg"
    path.write_text(SCALESIM3_CFG.replace(*edit))
    text = _error(load_scalesim_cfg, path)
    assert text.startswith(str(path) + ": ")
    assert message in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rows", "--set: expected FIELD=VALUE, got 'rows'"),
        ("height=3", "--set: unknown config field 'height'"),
        ("rows=abc", "--set: rows must be an integer, not 'abc'"),
        ("zero_gating=maybe", "--set: zero_gating must be true or false, not 'maybe'"),
    ],
)
def test_bad_override(text, message):
    assert _error(parse_override, text) == message


def test_override_out_of_range_names_set():
    assert _error(load_arch, "small-8x8", {"cols": 0}) == "--set: cols: cols must be in 1..4096, not 0"


def test_word_must_hold_operand():
    text = _error(ArrayConfig, "x", 8, 8, Dataflow.WS, 16, 8)
    assert "word_bytes must hold a 16-bit operand (at least 2), not 1" in text


# ---------------------------------------------------------------- DVFS fields


def test_dvfs_section_round_trips(tmp_path):
    cfg = ArrayConfig(
        dvfs_vdd_v=(0.7, 0.9),
        dvfs_clock_hz=(5e8, 1e9),
        dvfs_domains=("array+sram", "dram_if"),
        dvfs_transition_latency_s=20e-6,
    )
    path = tmp_path / "d.toml"
    path.write_text(to_toml(cfg))
    assert "[dvfs]" in path.read_text() and "dvfs_vdd_v = [0.7, 0.9]" in path.read_text()
    assert load_toml(path) == cfg
    assert ArrayConfig.from_dict(json.loads(cfg.to_json())) == cfg


def test_dvfs_overrides():
    cfg = load_arch(
        "small-8x8",
        dict(
            parse_override(t) for t in ["dvfs_vdd_v=0.6,0.9", "dvfs_domains=array+sram,dram_if", "vth_v=0.35"]
        ),
    )
    assert cfg.dvfs_vdd_v == (0.6, 0.9) and cfg.dvfs_domains == ("array+sram", "dram_if")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "dvfs_vdd_v = [0.9, 0.7]\n",
            "[dvfs] dvfs_vdd_v: dvfs_vdd_v must be strictly increasing, but [0] = 0.9 V is followed by "
            "[1] = 0.7 V",
        ),
        (
            "dvfs_vdd_v = [0.7, 0.9]\ndvfs_clock_hz = [6e8, 5e8]\n",
            "[dvfs] dvfs_clock_hz: dvfs_clock_hz must be strictly increasing, but [0] = 6e+08 Hz is followed "
            "by [1] = 5e+08 Hz",
        ),
        (
            "dvfs_vdd_v = [0.7, 0.9]\ndvfs_clock_hz = [8e8, 9e8]\n",
            "[dvfs] dvfs_clock_hz: dvfs_clock_hz[0] = 8e+08 Hz is above the 7.58972e+08 Hz the alpha-power "
            "law allows at 0.7 V (vth_v = 0.3 V, alpha_power = 1.3, through 1e+09 Hz at 0.9 V)",
        ),
        (
            "dvfs_vdd_v = [0.7, 0.9]\ndvfs_clock_hz = [5e8]\n",
            "[dvfs] dvfs_clock_hz: dvfs_clock_hz has 1 entries for 2 dvfs_vdd_v operating points",
        ),
        (
            "dvfs_vdd_v = [0.32, 0.9]\n",
            "[dvfs] dvfs_vdd_v: dvfs_vdd_v[0] = 0.32 V must be at least 50 mV above vth_v (0.3 V)",
        ),
        ("vth_v = 0.88\n", "[dvfs] vth_v: vth_v must be at least 50 mV below vdd_v (0.9 V), not 0.88"),
        ('dvfs_vdd_v = ["low"]\n', "[dvfs] dvfs_vdd_v: dvfs_vdd_v[0] must be a number, not 'low'"),
        (
            'dvfs_domains = ["array", "pe"]\n',
            "[dvfs] dvfs_domains: dvfs_domains: unknown part 'pe' in 'pe' (known: array, sram, dram_if)",
        ),
        (
            'dvfs_domains = ["array+sram", "sram"]\n',
            "[dvfs] dvfs_domains: dvfs_domains: 'sram' is in two domains",
        ),
        ("alpha_power = 3\n", "[dvfs] alpha_power: alpha_power must be in 1..2, not 3"),
    ],
)
def test_bad_dvfs(tmp_path, body, message):
    path = _toml(tmp_path, "[technology]\nclock_hz = 1e9\n\n[dvfs]\n" + body)
    assert _error(load_toml, path) == f"{path}: {message}"


def test_bad_dvfs_override():
    assert _error(parse_override, "dvfs_vdd_v=0.7,x") == (
        "--set: dvfs_vdd_v must be numbers separated by commas, not '0.7,x'"
    )


def test_scalesim_export_fetches_every_operand_at_the_dram_bandwidth():
    """SCALE-Sim 3 (USER mode) reads the ifmap and filter bandwidths from the [layout] bank keys."""
    text = to_scalesim_cfg(ArrayConfig(dram_bw_words_per_cycle=32, interface_bandwidth="user"))
    keys = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    for op in ("Ifmap", "Filter"):
        assert int(keys[f"{op}SRAMBankBandwidth"]) * int(keys[f"{op}SRAMBankNum"]) == 32
    assert int(keys["Bandwidth "]) == 32


@pytest.mark.parametrize("name", ["tpu-v1-128", "eyeriss", "small-8x8", "ws-32x32"])
def test_scalesim_cfg_round_trips_every_field(name, tmp_path):
    """A .cfg written by systolic reads back as the same config, fields SCALE-Sim lacks (clock, DRAM
    latency, widths, DVFS, ...) included: they travel in a [systolic] section SCALE-Sim ignores."""
    cfg = load_arch(name, {"clock_hz": 5e8, "dram_latency_cycles": 10, "dvfs_vdd_v": [0.7, 0.8, 0.9]})
    path = tmp_path / f"{name}.cfg"
    path.write_text(to_scalesim_cfg(cfg))
    assert load_scalesim_cfg(path) == cfg


def test_scalesim_cfg_systolic_section_errors(tmp_path):
    path = tmp_path / "x.cfg"
    path.write_text(to_scalesim_cfg(load_arch("small-8x8")) + "rows = 4\n")
    assert "x.cfg: [systolic] rows: not a config field SCALE-Sim lacks (known: " in _error(
        load_scalesim_cfg, path
    )
    path.write_text(to_scalesim_cfg(load_arch("small-8x8")).replace("clock_hz = ", "clock_hz = fast"))
    assert "[systolic] clock_hz: not a TOML value" in _error(load_scalesim_cfg, path)


def test_ternary_weight_format_round_trips_and_int_keeps_old_identities(tmp_path):
    """weight_format travels through TOML, JSON and SCALE-Sim's [systolic] section; the default ``int``
    is left out of the JSON, so configs from before the field keep their slugs (build folders)."""
    cfg = ArrayConfig(weight_bits=2, weight_format="ternary", acc_bits=16)
    path = tmp_path / "t.toml"
    path.write_text(to_toml(cfg))
    assert 'weight_format = "ternary"' in path.read_text()
    assert load_toml(path) == cfg
    assert ArrayConfig.from_dict(json.loads(cfg.to_json())) == cfg
    cfg_path = tmp_path / "t.cfg"
    cfg_path.write_text(to_scalesim_cfg(cfg))
    assert load_scalesim_cfg(cfg_path) == cfg
    plain = ArrayConfig()
    assert "weight_format" not in plain.to_dict() and "weight_format" not in to_toml(plain)
    assert cfg.slug != cfg.replace(weight_format="int").slug


def test_group_blocks_round_trips_and_its_default_keeps_old_identities(tmp_path):
    """group_blocks (a lowering choice, not RTL) travels through TOML and JSON; the default true is left
    out of the JSON, so configs from before the field keep their slugs (build folders); the serial
    machine of SERIAL_OPTIONS runs one GEMM per group."""
    cfg = ArrayConfig(group_blocks=False)
    path = tmp_path / "g.toml"
    path.write_text(to_toml(cfg))
    assert "group_blocks = false" in path.read_text()
    assert load_toml(path) == cfg
    assert ArrayConfig.from_dict(json.loads(cfg.to_json())) == cfg
    assert "group_blocks" not in ArrayConfig().to_dict() and ArrayConfig().group_blocks is True
    assert SERIAL_OPTIONS["group_blocks"] is False
    with pytest.raises(InputError, match="group_blocks"):
        ArrayConfig(group_blocks="sometimes")


def test_conv_native_true_is_refused_on_is_with_the_serial_sequencer_only():
    """The window generator reads bands on WS (lanes along the taps), OS and IS (lanes along the output
    pixels); on IS it steps its taps with the overlapped sequencer's loads (first row first), so with
    fold_overlap = false conv_native = true is one clear error naming the field, and "auto" is off."""
    for df in Dataflow:
        assert ArrayConfig(dataflow=df, conv_native=True).convs_native
        assert ArrayConfig(dataflow=df).convs_native  # "auto"
    serial = {"dataflow": Dataflow.IS, "fold_overlap": False, "tile_overlap": False}
    assert not ArrayConfig(**serial).convs_native
    assert ArrayConfig(**{**serial, "dataflow": Dataflow.OS}).convs_native
    with pytest.raises(InputError, match="conv_native on the is dataflow needs fold_overlap = true"):
        ArrayConfig(**serial, conv_native=True)
