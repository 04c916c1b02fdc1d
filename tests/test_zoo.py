"""The network zoo: MAC totals against published numbers, transformer GEMM shapes, and parameter errors.

Expected values are computed here from the published model dimensions, not from the zoo's code.
"""

from __future__ import annotations

import pytest

from systolic.errors import InputError
from systolic.workload import Layer, Workload
from systolic.zoo import NETWORKS, ZooEntry, build

# torchvision's published GMACs ("GFLOPS" in its model tables count multiply-adds) at 224x224
CNN_GMACS = {
    "alexnet": 0.714,
    "vgg16": 15.470,
    "resnet18": 1.814,
    "resnet50": 4.089,
    "mobilenetv2": 0.301,
    "googlenet": 1.498,
}


def test_zoo_has_every_network():
    assert list(NETWORKS) == [
        "alexnet",
        "vgg16",
        "resnet18",
        "resnet50",
        "mobilenetv2",
        "googlenet",
        "dlrm",
        "bert-base",
        "gpt2",
        "gpt3-175b",
        "llama2-7b",
        "llama2-70b",
    ]
    for entry in NETWORKS.values():
        assert isinstance(entry, ZooEntry) and entry.description


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_network_builds_with_defaults(name):
    wl = NETWORKS[name].build()
    assert isinstance(wl, Workload) and len(wl) > 0
    assert all(isinstance(ly, Layer) and ly.macs > 0 for ly in wl)


@pytest.mark.parametrize(("name", "gmacs"), CNN_GMACS.items())
def test_cnn_mac_totals_match_published_numbers(name, gmacs):
    assert build(name).macs / 1e9 == pytest.approx(gmacs, rel=0.01)


def test_resnet50_prints_as_4_1_g_macs():
    assert f"{build('resnet50').macs / 1e9:.1f}" == "4.1"


@pytest.mark.parametrize("name", CNN_GMACS)
def test_cnn_layers_are_convs_and_fcs_and_scale_with_batch(name):
    one, four = build(name), build(name, batch=4)
    assert {ly.kind for ly in one} <= {"conv", "depthwise", "gemm"}
    assert four.macs == 4 * one.macs
    assert [ly.m for ly in four] == [4 * ly.m for ly in one]
    for ly in one:
        if ly.kind == "gemm":
            assert ly.m == 1 and ly.conv is None  # an FC layer: M is the batch
        else:
            assert ly.conv is not None and ly.m == ly.conv.ofmap_h * ly.conv.ofmap_w


def test_alexnet_uses_torchvisions_shapes():
    wl = build("alexnet")
    conv1 = wl.layers[0]
    assert (conv1.conv.filters, conv1.conv.pad_h, conv1.conv.ofmap_h) == (64, 2, 55)
    assert (conv1.m, conv1.n, conv1.k) == (55 * 55, 64, 11 * 11 * 3)
    assert (wl.layers[5].n, wl.layers[5].k) == (4096, 256 * 6 * 6)
    assert len(wl) == 8


def test_resnets_include_downsample_projections():
    r18, r50 = build("resnet18"), build("resnet50")
    assert len(r18) == 1 + 16 + 3 + 1
    assert len(r50) == 1 + 48 + 4 + 1
    down = [ly for ly in r50 if "downsample" in ly.name]
    assert [(ly.m, ly.n, ly.k) for ly in down] == [
        (56 * 56, 256, 64),
        (28 * 28, 512, 256),
        (14 * 14, 1024, 512),
        (7 * 7, 2048, 1024),
    ]
    # torchvision's v1.5 bottleneck: the stride is on the 3x3 convolution
    l2 = [ly for ly in r50 if ly.name.startswith("layer2.0.")]
    assert [(ly.conv.filter_h, ly.conv.stride_h) for ly in l2] == [(1, 1), (3, 2), (1, 1), (1, 2)]


def test_mobilenetv2_depthwise_are_grouped_convs():
    wl = build("mobilenetv2")
    dw = [ly for ly in wl if ly.kind == "depthwise"]
    assert len(dw) == 17
    for ly in dw:
        assert ly.n == 1 and ly.k == 9 and ly.repeat == ly.conv.channels == ly.conv.groups
    first = dw[0]
    assert (first.m, first.repeat) == (112 * 112, 32)


def test_googlenet_lists_each_inception_branch():
    wl = build("googlenet")
    inception = [ly for ly in wl if ly.name.startswith("inception")]
    assert len(inception) == 9 * 6
    i3a = {ly.name: (ly.m, ly.n, ly.k) for ly in wl if ly.name.startswith("inception3a.")}
    assert i3a == {
        "inception3a.branch1": (28 * 28, 64, 192),
        "inception3a.branch2.reduce": (28 * 28, 96, 192),
        "inception3a.branch2": (28 * 28, 128, 9 * 96),
        "inception3a.branch3.reduce": (28 * 28, 16, 192),
        "inception3a.branch3": (28 * 28, 32, 9 * 16),
        "inception3a.branch4.proj": (28 * 28, 32, 192),
    }
    assert (wl.layers[-1].n, wl.layers[-1].k) == (1000, 1024)


def test_dlrm_mlps_and_interaction():
    wl = build("dlrm", batch=8)
    shapes = [(ly.name, ly.m, ly.n, ly.k, ly.repeat) for ly in wl]
    assert shapes == [
        ("bottom_mlp.0", 8, 512, 13, 1),
        ("bottom_mlp.1", 8, 256, 512, 1),
        ("bottom_mlp.2", 8, 128, 256, 1),
        ("interaction", 27, 27, 128, 8),
        ("top_mlp.0", 8, 1024, 479, 1),
        ("top_mlp.1", 8, 1024, 1024, 1),
        ("top_mlp.2", 8, 512, 1024, 1),
        ("top_mlp.3", 8, 256, 512, 1),
        ("top_mlp.4", 8, 1, 256, 1),
    ]
    per_sample = (
        13 * 512
        + 512 * 256
        + 256 * 128
        + 27 * 27 * 128
        + 479 * 1024
        + 1024 * 1024
        + 1024 * 512
        + 512 * 256
        + 256
    )
    assert wl.macs == 8 * per_sample


# --------------------------------------------------------------------------- transformers

# name: (d_model, heads, d_ff, swiglu, default seq_len, default context)
DIMS = {
    "bert-base": (768, 12, 3072, False, 128, None),
    "gpt2": (768, 12, 3072, False, 1024, 1024),
    "gpt3-175b": (12288, 96, 49152, False, 2048, 2048),
    "llama2-7b": (4096, 32, 11008, True, 2048, 4096),
}
KV_WIDTH = {"bert-base": 768, "gpt2": 768, "gpt3-175b": 12288, "llama2-7b": 4096}


def block_macs_prefill(d, f, swiglu, s, b=1, d_kv=None):
    ffn = (3 if swiglu else 2) * s * d * f
    d_kv = d if d_kv is None else d_kv
    return b * (2 * s * d * d + 2 * s * d * d_kv + 2 * s * s * d + ffn)


def block_macs_decode(d, f, swiglu, ctx, b=1):
    ffn = (3 if swiglu else 2) * d * f
    return b * (4 * d * d + 2 * ctx * d + ffn)


def test_llama2_70b_has_grouped_query_attention():
    """8 key/value heads of 128: K and V projections are 8192 x 1024 (Touvron et al. 2023, Table 1)."""
    shapes = {ly.name.split(".", 1)[1]: (ly.m, ly.n, ly.k) for ly in build("llama2-70b", seq_len=16)}
    assert shapes["q_proj"] == (16, 8192, 8192)
    assert shapes["k_proj"] == shapes["v_proj"] == (16, 1024, 8192)
    assert build("llama2-70b", seq_len=16).macs == block_macs_prefill(8192, 28672, True, 16, d_kv=1024)


def test_gpt2_prefill_macs_by_the_textbook_formula():
    s, d = 1024, 768
    assert build("gpt2").macs == 4 * s * d * d + 2 * s * s * d + 2 * s * d * 4 * d


@pytest.mark.parametrize("name", DIMS)
def test_prefill_block_macs(name):
    d, _, f, swiglu, seq, _ = DIMS[name]
    assert build(name).macs == block_macs_prefill(d, f, swiglu, seq)
    assert build(name, seq_len=64, batch=3).macs == block_macs_prefill(d, f, swiglu, 64, b=3)


@pytest.mark.parametrize("name", ["gpt2", "gpt3-175b", "llama2-7b"])
def test_decode_block_macs(name):
    d, _, f, swiglu, _, ctx = DIMS[name]
    assert build(name, phase="decode").macs == block_macs_decode(d, f, swiglu, ctx)
    assert build(name, phase="decode", batch=16, context=300).macs == block_macs_decode(
        d, f, swiglu, 300, b=16
    )


@pytest.mark.parametrize("name", DIMS)
def test_prefill_gemm_shapes(name):
    d, h, f, swiglu, _, _ = DIMS[name]
    s, b = 96, 2
    shapes = {
        ly.name.split(".", 1)[1]: (ly.m, ly.n, ly.k, ly.repeat, ly.kind)
        for ly in build(name, seq_len=s, batch=b)
    }
    ffn = (
        {
            "ffn.gate": (b * s, f, d, 1, "gemm"),
            "ffn.up": (b * s, f, d, 1, "gemm"),
            "ffn.down": (b * s, d, f, 1, "gemm"),
        }
        if swiglu
        else {"ffn.fc1": (b * s, 4 * d, d, 1, "gemm"), "ffn.fc2": (b * s, d, 4 * d, 1, "gemm")}
    )
    assert shapes == {
        "q_proj": (b * s, d, d, 1, "gemm"),
        "k_proj": (b * s, d, d, 1, "gemm"),
        "v_proj": (b * s, d, d, 1, "gemm"),
        "scores": (s, s, d // h, h * b, "attention"),
        "context": (s, d // h, s, h * b, "attention"),
        "o_proj": (b * s, d, d, 1, "gemm"),
        **ffn,
    }


def test_decode_gemm_shapes_llama2():
    wl = build("llama2-7b", phase="decode", batch=4, context=1000)
    shapes = {ly.name: (ly.m, ly.n, ly.k, ly.repeat) for ly in wl}
    assert shapes == {
        "block0.q_proj": (4, 4096, 4096, 1),
        "block0.k_proj": (4, 4096, 4096, 1),
        "block0.v_proj": (4, 4096, 4096, 1),
        "block0.scores": (1, 1000, 128, 32 * 4),  # (1 x d_head) @ (d_head x context) per head per sequence
        "block0.context": (1, 128, 1000, 32 * 4),
        "block0.o_proj": (4, 4096, 4096, 1),
        "block0.ffn.gate": (4, 11008, 4096, 1),
        "block0.ffn.up": (4, 11008, 4096, 1),
        "block0.ffn.down": (4, 4096, 11008, 1),
    }
    assert wl.name == "llama2-7b-decode-c1000-b4"


def test_blocks_repeat_the_block():
    one, three = build("gpt2", seq_len=32), build("gpt2", seq_len=32, blocks=3)
    assert len(three) == 3 * len(one) and three.macs == 3 * one.macs
    assert [ly.name for ly in three][len(one)] == "block1.q_proj"


def test_names_are_case_insensitive_and_defaults_keep_the_plain_name():
    assert build("ResNet50").name == "resnet50"
    assert build("GPT2").name == "gpt2"
    assert build("resnet50", batch=2).name == "resnet50-b2"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("gpt2", {"seq_len": 0}, "gpt2: seq_len: seq_len must be a positive integer, not 0"),
        ("gpt2", {"seq_len": -3}, "gpt2: seq_len: seq_len must be a positive integer, not -3"),
        (
            "llama2-7b",
            {"phase": "decode", "context": 0},
            "llama2-7b: context: context must be a positive integer, not 0",
        ),
        ("gpt3-175b", {"batch": 0}, "gpt3-175b: batch: batch must be a positive integer, not 0"),
        ("gpt2", {"blocks": -1}, "gpt2: blocks: blocks must be a positive integer, not -1"),
        ("gpt2", {"seq_len": "long"}, "gpt2: seq_len: seq_len must be a positive integer, not 'long'"),
        ("gpt2", {"batch": True}, "gpt2: batch: batch must be a positive integer, not True"),
        ("resnet50", {"batch": -3}, "resnet50: batch: batch must be a positive integer, not -3"),
        ("gpt2", {"phase": "train"}, "gpt2: phase: phase must be prefill or decode, not 'train'"),
        (
            "bert-base",
            {"phase": "decode"},
            "bert-base: phase: an encoder-only model has no decode phase (use prefill)",
        ),
        (
            "gpt2",
            {"context": 512},
            "gpt2: context: context is the KV-cache length of the decode phase; prefill takes seq_len",
        ),
        (
            "gpt2",
            {"phase": "decode", "seq_len": 8},
            "gpt2: seq_len: seq_len is the prefill length; decode takes context (the KV-cache length)",
        ),
        ("resnet50", {"seq_len": 8}, "resnet50: seq_len: no such parameter (resnet50 takes: batch)"),
        (
            "gpt2",
            {"heads": 8},
            "gpt2: heads: no such parameter (gpt2 takes: phase, seq_len, batch, context, blocks)",
        ),
    ],
)
def test_bad_parameters_are_errors_naming_the_parameter(name, params, message):
    with pytest.raises(InputError) as info:
        build(name, **params)
    assert str(info.value) == message


def test_unknown_network():
    with pytest.raises(InputError, match=r"^resnet51: no such network in the zoo \(zoo: alexnet, vgg16, "):
        build("resnet51")
