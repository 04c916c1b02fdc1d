"""A zoo of well-known networks as data: each builds a ``Workload`` of its MAC-bearing layers as GEMMs.

CNNs follow torchvision's definitions at 224x224 (padding included, so the MAC totals match torchvision's
published numbers); only convolutions and fully connected layers are listed, since pooling, batch norm and
activations do no multiply-accumulates on a systolic array. Transformers are one block (``blocks`` repeats
it) as GEMMs: Q, K and V projections, the per-head score and context products (``kind="attention"``,
``repeat = heads x batch``), the output projection and the feed-forward network; prefill processes
``seq_len`` tokens, decode one token per sequence against a KV cache of ``context`` tokens.

``build(name, **params)`` checks the parameters and builds; ``NETWORKS`` maps names to entries.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from .errors import InputError
from .workload import ConvShape, Layer, Workload


@dataclass(frozen=True)
class ZooEntry:
    """A network of the zoo: what it is and how to build it (keyword parameters only)."""

    description: str
    build: Callable[..., Workload]


# --------------------------------------------------------------------------- parameters


def _positive(net: str, param: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{param} must be a positive integer, not {value!r}", net, param)
    return value


def _name(net: str, **nondefault: Any) -> str:
    """The workload name: the network, then any parameter that differs from its default."""
    tags = {"phase": "", "batch": "b", "seq_len": "s", "context": "c", "blocks": "x"}
    return net + "".join(f"-{tags[k]}{v}" for k, v in nondefault.items() if v is not None)


# --------------------------------------------------------------------------- CNN helpers


def _conv(
    name: str,
    size: int,
    c_in: int,
    c_out: int,
    kernel: int,
    stride: int = 1,
    pad: int = 0,
    groups: int = 1,
    batch: int = 1,
) -> Layer:
    """A square convolution on a square ifmap of ``size`` x ``size`` pixels."""
    shape = ConvShape(size, size, kernel, kernel, c_in, c_out, stride, stride, pad, pad, groups, batch)
    return Layer.from_conv(name, shape)


def _out(layer: Layer) -> int:
    assert layer.conv is not None
    return layer.conv.ofmap_h


def _pool(size: int, kernel: int, stride: int, pad: int = 0, ceil: bool = False) -> int:
    """Output size of a pooling window, as torch's ``MaxPool2d`` (``ceil_mode``) computes it."""
    span = size + 2 * pad - kernel
    return (-(-span // stride) if ceil else span // stride) + 1


def _fc(name: str, batch: int, n_in: int, n_out: int) -> Layer:
    return Layer(name, batch, n_out, n_in)


def _fixed(net: str, batch: int, layers: list[Layer]) -> Workload:
    return Workload(_name(net, batch=batch if batch != 1 else None), tuple(layers))


def alexnet(*, batch: int = 1) -> Workload:
    """torchvision's AlexNet (the one-GPU variant: 64-192-384-256-256 filters) at 224x224."""
    b = _positive("alexnet", "batch", batch)
    layers = [_conv("conv1", 224, 3, 64, 11, 4, 2, batch=b)]
    s = _pool(_out(layers[-1]), 3, 2)
    layers.append(_conv("conv2", s, 64, 192, 5, 1, 2, batch=b))
    s = _pool(_out(layers[-1]), 3, 2)
    for i, (c_in, c_out) in enumerate(((192, 384), (384, 256), (256, 256)), start=3):
        layers.append(_conv(f"conv{i}", s, c_in, c_out, 3, 1, 1, batch=b))
    s = _pool(_out(layers[-1]), 3, 2)  # 6; torchvision's AdaptiveAvgPool2d((6, 6)) keeps it
    layers += [_fc("fc6", b, 256 * s * s, 4096), _fc("fc7", b, 4096, 4096), _fc("fc8", b, 4096, 1000)]
    return _fixed("alexnet", b, layers)


def vgg16(*, batch: int = 1) -> Workload:
    """VGG-16 (configuration D) at 224x224."""
    b = _positive("vgg16", "batch", batch)
    layers, s, c_in = [], 224, 3
    for stage, (filters, convs) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)), start=1):
        for i in range(1, convs + 1):
            layers.append(_conv(f"conv{stage}_{i}", s, c_in, filters, 3, 1, 1, batch=b))
            c_in = filters
        s = _pool(s, 2, 2)
    layers += [_fc("fc6", b, 512 * s * s, 4096), _fc("fc7", b, 4096, 4096), _fc("fc8", b, 4096, 1000)]
    return _fixed("vgg16", b, layers)


def _resnet(net: str, batch: int, blocks: tuple[int, ...], bottleneck: bool) -> Workload:
    """torchvision's ResNet (v1.5: the stride sits on the 3x3 convolution of a bottleneck)."""
    b = _positive(net, "batch", batch)
    layers = [_conv("conv1", 224, 3, 64, 7, 2, 3, batch=b)]
    s = _pool(_out(layers[0]), 3, 2, 1)
    c_in, expansion = 64, 4 if bottleneck else 1
    for stage, (planes, count) in enumerate(zip((64, 128, 256, 512), blocks, strict=True), start=1):
        for blk in range(count):
            stride = 2 if stage > 1 and blk == 0 else 1
            c_out = planes * expansion
            p = f"layer{stage}.{blk}."
            if bottleneck:
                layers.append(_conv(p + "conv1", s, c_in, planes, 1, batch=b))
                layers.append(_conv(p + "conv2", s, planes, planes, 3, stride, 1, batch=b))
                s_out = _out(layers[-1])
                layers.append(_conv(p + "conv3", s_out, planes, c_out, 1, batch=b))
            else:
                layers.append(_conv(p + "conv1", s, c_in, planes, 3, stride, 1, batch=b))
                s_out = _out(layers[-1])
                layers.append(_conv(p + "conv2", s_out, planes, planes, 3, 1, 1, batch=b))
            if stride != 1 or c_in != c_out:
                layers.append(_conv(p + "downsample", s, c_in, c_out, 1, stride, batch=b))
            s, c_in = s_out, c_out
    layers.append(_fc("fc", b, c_in, 1000))
    return _fixed(net, b, layers)


def resnet18(*, batch: int = 1) -> Workload:
    return _resnet("resnet18", batch, (2, 2, 2, 2), bottleneck=False)


def resnet50(*, batch: int = 1) -> Workload:
    return _resnet("resnet50", batch, (3, 4, 6, 3), bottleneck=True)


def mobilenetv2(*, batch: int = 1) -> Workload:
    """torchvision's MobileNetV2 (width 1.0) at 224x224; depthwise convolutions are groups = channels."""
    b = _positive("mobilenetv2", "batch", batch)
    layers = [_conv("features.0", 224, 3, 32, 3, 2, 1, batch=b)]
    s, c_in, idx = _out(layers[0]), 32, 1
    # (expansion t, output channels c, repeats n, first stride s), from the MobileNetV2 paper's Table 2
    for t, c, n, first_stride in (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ):
        for i in range(n):
            stride = first_stride if i == 0 else 1
            hidden = c_in * t
            p = f"features.{idx}."
            if t != 1:
                layers.append(_conv(p + "expand", s, c_in, hidden, 1, batch=b))
            layers.append(_conv(p + "depthwise", s, hidden, hidden, 3, stride, 1, groups=hidden, batch=b))
            s = _out(layers[-1])
            layers.append(_conv(p + "project", s, hidden, c, 1, batch=b))
            c_in, idx = c, idx + 1
    layers.append(_conv(f"features.{idx}", s, c_in, 1280, 1, batch=b))
    layers.append(_fc("classifier", b, 1280, 1000))
    return _fixed("mobilenetv2", b, layers)


# Inception modules (name, 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool projection); an integer is the
# kernel of a stride-2 max pooling between them.
# fmt: off
_GOOGLENET_MODULES: tuple[tuple[str, int, int, int, int, int, int] | int, ...] = (
    ("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64), 3,
    ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64), ("4c", 128, 128, 256, 24, 64, 64),
    ("4d", 112, 144, 288, 32, 64, 64), ("4e", 256, 160, 320, 32, 128, 128), 2,
    ("5a", 256, 160, 320, 32, 128, 128), ("5b", 384, 192, 384, 48, 128, 128),
)
# fmt: on


def googlenet(*, batch: int = 1) -> Workload:
    """torchvision's GoogLeNet (Inception v1) at 224x224, without the training-only auxiliary classifiers.

    As in torchvision, the "5x5" branch of each inception module uses a 3x3 convolution.
    """
    b = _positive("googlenet", "batch", batch)
    layers = [_conv("conv1", 224, 3, 64, 7, 2, 3, batch=b)]
    s = _pool(_out(layers[0]), 3, 2, ceil=True)
    layers.append(_conv("conv2", s, 64, 64, 1, batch=b))
    layers.append(_conv("conv3", s, 64, 192, 3, 1, 1, batch=b))
    s = _pool(s, 3, 2, ceil=True)
    c_in = 192
    for module in _GOOGLENET_MODULES:
        if isinstance(module, int):
            s = _pool(s, module, 2, ceil=True)
            continue
        name, c1, r3, c3, r5, c5, pp = module
        p = f"inception{name}."
        layers += [
            _conv(p + "branch1", s, c_in, c1, 1, batch=b),
            _conv(p + "branch2.reduce", s, c_in, r3, 1, batch=b),
            _conv(p + "branch2", s, r3, c3, 3, 1, 1, batch=b),
            _conv(p + "branch3.reduce", s, c_in, r5, 1, batch=b),
            _conv(p + "branch3", s, r5, c5, 3, 1, 1, batch=b),
            _conv(p + "branch4.proj", s, c_in, pp, 1, batch=b),
        ]
        c_in = c1 + c3 + c5 + pp
    layers.append(_fc("fc", b, c_in, 1000))
    return _fixed("googlenet", b, layers)


def dlrm(*, batch: int = 1) -> Workload:
    """MLPerf's DLRM (Criteo Terabyte): the MLPs and the dot interaction, per sample of ``batch``.

    Source: the MLPerf training/inference reference (facebookresearch/dlrm run with
    ``--arch-sparse-feature-size=128 --arch-mlp-bot=13-512-256-128 --arch-mlp-top=1024-1024-512-256-1``).
    The dot interaction multiplies the 27 x 128 matrix of the 26 embeddings and the bottom MLP's output by
    its transpose (``torch.bmm``, one per sample); the top MLP's input is the 27 * 26 / 2 = 351 distinct
    dot products concatenated with the bottom output (128): 479. Embedding lookups do no MACs.
    """
    b = _positive("dlrm", "batch", batch)
    features, dim = 27, 128
    layers = [
        _fc(f"bottom_mlp.{i}", b, n_in, n_out)
        for i, (n_in, n_out) in enumerate(((13, 512), (512, 256), (256, dim)))
    ]
    layers.append(Layer("interaction", features, features, dim, repeat=b))
    top_in = features * (features - 1) // 2 + dim
    widths = (top_in, 1024, 1024, 512, 256, 1)
    layers += [_fc(f"top_mlp.{i}", b, widths[i], widths[i + 1]) for i in range(len(widths) - 1)]
    return _fixed("dlrm", b, layers)


# --------------------------------------------------------------------------- transformers


@dataclass(frozen=True)
class TransformerShape:
    """A transformer's shape: one block's dimensions, the depth and the vocabulary (``model/llm`` builds
    whole models from these)."""

    key: str
    d_model: int
    heads: int
    d_ff: int
    swiglu: bool  # Llama's gated FFN (gate, up, down) instead of two matmuls
    seq_len: int  # default prefill length
    context: int  # default decode KV-cache length: the model's maximum context
    layers: int  # blocks in the whole model
    vocab: int
    kv_heads: int = 0  # key/value heads of grouped-query attention; 0: as many as query heads
    encoder_only: bool = False

    @property
    def d_kv(self) -> int:
        """Width of the key (and of the value) projection: d_head x key/value heads."""
        return self.d_model // self.heads * (self.kv_heads or self.heads)


def _transformer(
    spec: TransformerShape,
    *,
    phase: str = "prefill",
    seq_len: int | None = None,
    batch: int = 1,
    context: int | None = None,
    blocks: int = 1,
) -> Workload:
    net = spec.key
    if phase not in ("prefill", "decode"):
        raise InputError(f"phase must be prefill or decode, not {phase!r}", net, "phase")
    if phase == "decode" and spec.encoder_only:
        raise InputError("an encoder-only model has no decode phase (use prefill)", net, "phase")
    if phase == "prefill" and context is not None:
        raise InputError(
            "context is the KV-cache length of the decode phase; prefill takes seq_len", net, "context"
        )
    if phase == "decode" and seq_len is not None:
        raise InputError(
            "seq_len is the prefill length; decode takes context (the KV-cache length)", net, "seq_len"
        )
    b = _positive(net, "batch", batch)
    n_blocks = _positive(net, "blocks", blocks)
    d, h, f = spec.d_model, spec.heads, spec.d_ff
    d_head = d // h
    if phase == "prefill":
        s = _positive(net, "seq_len", spec.seq_len if seq_len is None else seq_len)
        rows, queries, keys = b * s, s, s
    else:
        ctx = _positive(net, "context", spec.context if context is None else context)
        rows, queries, keys = b, 1, ctx
    block = [
        Layer("q_proj", rows, d, d),
        Layer("k_proj", rows, spec.d_kv, d),
        Layer("v_proj", rows, spec.d_kv, d),
        Layer("scores", queries, keys, d_head, repeat=h * b, kind="attention"),  # Q @ K^T per head
        Layer("context", queries, d_head, keys, repeat=h * b, kind="attention"),  # softmax(..) @ V
        Layer("o_proj", rows, d, d),
    ]
    if spec.swiglu:
        block += [Layer("ffn.gate", rows, f, d), Layer("ffn.up", rows, f, d), Layer("ffn.down", rows, d, f)]
    else:
        block += [Layer("ffn.fc1", rows, f, d), Layer("ffn.fc2", rows, d, f)]
    layers = tuple(
        Layer(f"block{i}.{ly.name}", ly.m, ly.n, ly.k, repeat=ly.repeat, kind=ly.kind)
        for i in range(n_blocks)
        for ly in block
    )
    name = _name(
        net,
        phase=None if phase == "prefill" else phase,
        seq_len=seq_len,
        context=context,
        batch=batch if batch != 1 else None,
        blocks=blocks if blocks != 1 else None,
    )
    return Workload(name, layers)


_TRANSFORMERS = (
    (
        TransformerShape("bert-base", 768, 12, 3072, False, 128, 512, 12, 30522, encoder_only=True),
        "BERT-base encoder layer (d 768, 12 heads, FFN 3072; 12 layers), prefill only; seq_len 128",
    ),
    (
        TransformerShape("gpt2", 768, 12, 3072, False, 1024, 1024, 12, 50257),
        "GPT-2 small (124M) decoder block (d 768, 12 heads, FFN 3072; 12 layers); seq_len 1024, context 1024",
    ),
    (
        TransformerShape("gpt3-175b", 12288, 96, 49152, False, 2048, 2048, 96, 50257),
        "GPT-3 175B decoder block (d 12288, 96 heads, FFN 49152; 96 layers); seq_len 2048, context 2048",
    ),
    (
        TransformerShape("llama2-7b", 4096, 32, 11008, True, 2048, 4096, 32, 32000),
        "Llama-2-7B decoder block (d 4096, 32 heads, SwiGLU 11008; 32 layers); seq_len 2048, context 4096",
    ),
    (
        # Touvron et al. 2023, "Llama 2", Table 1 and the released config: 80 layers, grouped-query attention
        TransformerShape("llama2-70b", 8192, 64, 28672, True, 2048, 4096, 80, 32000, kv_heads=8),
        "Llama-2-70B decoder block (d 8192, 64 heads, 8 KV heads, SwiGLU 28672; 80 layers); "
        "seq_len 2048, context 4096",
    ),
)

#: The transformers of the zoo by name, with their whole-model shape.
TRANSFORMERS: dict[str, TransformerShape] = {spec.key: spec for spec, _ in _TRANSFORMERS}

_CNN_NOTE = "at 224x224, convs and FCs as GEMMs"

NETWORKS: dict[str, ZooEntry] = {
    "alexnet": ZooEntry(f"AlexNet (torchvision) {_CNN_NOTE}; 0.71 G MACs", alexnet),
    "vgg16": ZooEntry(f"VGG-16 {_CNN_NOTE}; 15.47 G MACs", vgg16),
    "resnet18": ZooEntry(f"ResNet-18 {_CNN_NOTE}; 1.81 G MACs", resnet18),
    "resnet50": ZooEntry(f"ResNet-50 (torchvision v1.5) {_CNN_NOTE}; 4.09 G MACs", resnet50),
    "mobilenetv2": ZooEntry(f"MobileNetV2 {_CNN_NOTE}, depthwise as groups; 0.30 G MACs", mobilenetv2),
    "googlenet": ZooEntry(f"GoogLeNet (torchvision) {_CNN_NOTE}; 1.50 G MACs", googlenet),
    "dlrm": ZooEntry(
        "MLPerf DLRM (Criteo Terabyte): MLPs 13-512-256-128 and 479-1024-1024-512-256-1, "
        "dot interaction; per sample",
        dlrm,
    ),
    **{spec.key: ZooEntry(text, partial(_transformer, spec)) for spec, text in _TRANSFORMERS},
}


def params_of(name: str) -> tuple[str, ...]:
    """The keyword parameters a zoo network takes."""
    return tuple(inspect.signature(NETWORKS[name].build).parameters)


def build(name: str, **params: Any) -> Workload:
    """Build a zoo network by name (case-insensitive) with its keyword parameters, checking their names."""
    key = name.strip().lower()
    if key not in NETWORKS:
        raise InputError(f"no such network in the zoo (zoo: {', '.join(NETWORKS)})", name)
    accepted = params_of(key)
    for param in params:
        if param not in accepted:
            raise InputError(f"no such parameter ({key} takes: {', '.join(accepted)})", key, param)
    return NETWORKS[key].build(**params)
