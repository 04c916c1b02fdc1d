"""systolic/llm_spec.py: models from the zoo, parameter counts, system files and their errors."""

from __future__ import annotations

import pytest

from systolic.errors import InputError
from systolic.llm_spec import (
    ModelSpec,
    builtin_system_names,
    load_system,
    model_spec,
    read_system,
    zoo_models,
)
from systolic.zoo import TRANSFORMERS


def test_zoo_decoders_are_models():
    assert zoo_models() == ["gpt2", "gpt3-175b", "llama2-7b", "llama2-70b"]
    m = model_spec("gpt3-175b")
    z = TRANSFORMERS["gpt3-175b"]
    assert (m.layers, m.hidden, m.heads, m.ffn_hidden, m.vocab) == (
        z.layers,
        z.d_model,
        z.heads,
        z.d_ff,
        z.vocab,
    )
    assert model_spec("GPT3-175B", seq_len=4096).seq_len == 4096


@pytest.mark.parametrize(
    ("name", "billions"),
    [("gpt2", 0.124), ("gpt3-175b", 175.0), ("llama2-7b", 6.74), ("llama2-70b", 68.98)],
)
def test_parameter_counts_match_the_published_sizes(name, billions):
    assert model_spec(name).params() / 1e9 == pytest.approx(billions, rel=0.01)


def test_gpt_parameters_are_narayanan_s_formula():
    """Narayanan et al. 2021, Section 5.1: P = 12 l h^2 (1 + 13/(12 h) + (V + s)/(12 l h))."""
    m = ModelSpec("gpt-1t", 128, 25600, 160, 102400, 51200, 2048)
    layers, h, V, s = 128, 25600, 51200, 2048
    assert m.params() == pytest.approx(
        12 * layers * h * h * (1 + 13 / (12 * h) + (V + s) / (12 * layers * h))
    )
    assert m.params() / 1e9 == pytest.approx(1008.0, abs=0.5)  # their Table 1 lists 1008.0B


def test_model_table_and_its_errors(tmp_path):
    m = ModelSpec.from_dict(
        {"name": "x", "layers": 2, "hidden": 64, "heads": 4, "ffn_hidden": 256, "vocab": 10, "style": "llama"}
    )
    assert not m.bias and not m.tied_embeddings and m.kv_heads == 4
    with pytest.raises(InputError, match=r"^f.toml: \[model\] heads: heads \(3\) must divide hidden \(64\)$"):
        ModelSpec.from_dict(
            {"name": "x", "layers": 2, "hidden": 64, "heads": 3, "ffn_hidden": 8, "vocab": 9}, "f.toml"
        )
    with pytest.raises(InputError, match=r"^f.toml: \[model\]: unknown key 'depth'"):
        ModelSpec.from_dict({"name": "x", "depth": 2}, "f.toml")
    with pytest.raises(InputError, match=r"^f.toml: \[model\]: missing key\(s\): layers, hidden"):
        ModelSpec.from_dict({"name": "x"}, "f.toml")
    with pytest.raises(InputError, match="kv_heads \\(3\\) must divide heads \\(4\\)"):
        ModelSpec("x", 2, 64, 4, 8, 9, kv_heads=3)
    f = tmp_path / "m.toml"
    f.write_text(
        '[model]\nname = "tiny"\nlayers = 2\nhidden = 64\nheads = 4\nffn_hidden = 256\nvocab = 100\n'
    )
    assert model_spec(str(f)).name == "tiny"
    with pytest.raises(
        InputError, match="no such model \\(zoo: gpt2, gpt3-175b, llama2-7b, llama2-70b; or a .toml"
    ):
        model_spec("gpt5")


def test_shipped_systems_load():
    assert builtin_system_names() == ["dgx-a100-selene", "dgx-h100", "tpu-v1-128-pod"]
    for name in builtin_system_names():
        s = load_system(name)
        assert s.devices == s.devices_per_node * s.nodes
    tpu = load_system("tpu-v1-128-pod")
    assert tpu.device.kind == "systolic" and tpu.device.arch.word_bytes == 2 and tpu.intra.topology == "ring"


def test_with_devices():
    s = load_system("dgx-a100-selene")
    assert s.with_devices(4).devices_per_node == 4 and s.with_devices(4).nodes == 1
    assert s.with_devices(64).nodes == 8
    with pytest.raises(InputError, match="devices \\(12\\) must be a multiple of devices_per_node \\(8\\)"):
        s.with_devices(12)


GOOD = """
name = "t"
devices_per_node = 2
nodes = 3
[device]
name = "g"
peak_flops = { bf16 = 1e12 }
memory_bytes = 1e9
memory_bw_bytes_per_s = 1e11
gemm_efficiency = 0.8
memory_efficiency = 0.8
[intra]
bandwidth_bytes_per_s = 1e10
latency_s = 1e-6
[inter]
bandwidth_bytes_per_s = 1e9
latency_s = 1e-5
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("gemm_efficiency = 0.8", "gemm_efficiency = 1.5"),
            "[device] gemm_efficiency: gemm_efficiency must be in 0..1, not 1.5",
        ),
        (
            ("bf16 = 1e12", "bf17 = 1e12"),
            "[device] peak_flops: peak_flops must be one of fp32, tf32, bf16, fp16, fp8, int8, not 'bf17'",
        ),
        (("latency_s = 1e-6", "latency_s = -1"), "[intra] latency_s: latency_s must be in 0..1, not -1"),
        (
            ("[inter]", '[inter]\ntopology = "mesh"'),
            "[inter] topology: topology must be one of ring, switch, not 'mesh'",
        ),
        (("nodes = 3", "nodes = 0"), "nodes: nodes must be in 1..1099511627776, not 0"),
        (
            ("nodes = 3", "nodes = 3\nracks = 2"),
            "unknown key or table 'racks' (allowed: name, devices_per_node, nodes, device, intra, inter)",
        ),
        (("memory_bytes = 1e9\n", ""), "[device]: missing key(s): memory_bytes"),
        (
            ("[device]", '[device]\nkind = "tpu"'),
            "[device] kind: kind must be one of gpu, systolic, not 'tpu'",
        ),
        (
            ("[device]", "[device]\ncores = 4"),
            "[device]: unknown key 'cores' (allowed: name, peak_flops, memory_bytes, memory_bw_bytes_per_s, "
            "gemm_efficiency, memory_efficiency, attention_efficiency, tdp_w, idle_w, hbm_pj_per_byte, tech_node_nm)",
        ),
    ],
)
def test_system_file_errors_name_the_file_table_and_key(tmp_path, change, message):
    f = tmp_path / "sys.toml"
    f.write_text(GOOD.replace(*change, 1))
    with pytest.raises(InputError) as err:
        read_system(f)
    assert str(err.value) == f"{f}: {message}"


def test_system_file_is_read(tmp_path):
    f = tmp_path / "sys.toml"
    f.write_text(GOOD)
    s = read_system(f)
    assert s.devices == 6 and s.device.peak("bf16") == 1e12 and s.intra.efficiency == 1.0


def test_systolic_device_with_overrides_and_relative_arch(tmp_path):
    (tmp_path / "arch.toml").write_text('name = "a"\n[array]\nrows = 4\ncols = 4\n')
    f = tmp_path / "sys.toml"
    text = GOOD.split("[device]")[0] + '[device]\nkind = "systolic"\narch = "arch.toml"\nmemory_bytes = 1e9\n'
    text += "[device.set]\ncols = 8\n" + "[intra]" + GOOD.split("[intra]")[1]
    f.write_text(text)
    s = read_system(f)
    assert (s.device.arch.rows, s.device.arch.cols) == (4, 8)
    f.write_text(text.replace("cols = 8", "cols = 0"))
    with pytest.raises(InputError, match=r"sys.toml: \[device\] arch: --set: cols must be in 1..4096, not 0"):
        read_system(f)


def test_missing_files_and_names():
    with pytest.raises(InputError, match="no such system file or name \\(shipped: dgx-a100-selene, dgx-h100"):
        load_system("dgx-z100")
    with pytest.raises(InputError, match="nope.toml: no such file"):
        load_system("nope.toml")
