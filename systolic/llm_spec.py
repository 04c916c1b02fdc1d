"""The vocabulary of distributed LLM training and inference: models, devices, links, systems, their files.

A *model* is a decoder-only transformer (:class:`ModelSpec`): the zoo's transformers by name (their shapes
come from :data:`systolic.zoo.TRANSFORMERS`, which this module does not restate), or a ``[model]`` table.
A *system* (:class:`SystemSpec`) is ``nodes`` nodes of ``devices_per_node`` devices; the devices of a node
share the intra-node links, nodes are joined by the inter-node network (a two-level topology when there
is more than one node). A device is either GPU-class (:class:`GpuSpec`: peak FLOP/s per precision, memory
capacity and bandwidth) or one of our systolic accelerators (:class:`SystolicSpec`: an ``ArrayConfig``
whose per-GEMM time and energy come from ``model/memory.py`` and ``model/energy.py``).

System files are TOML (``configs/systems/*.toml``)::

    name = "dgx-a100"
    devices_per_node = 8
    nodes = 128
    [device]                      # kind = "gpu" or "systolic"
    ...
    [intra]                       # links within a node, per device and direction
    bandwidth_bytes_per_s = 300e9
    ...
    [inter]                       # the network between nodes, per device and direction
    ...

This module only reads and checks; the numbers are used by ``systolic.model.llm``. It imports nothing
heavy.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from .config import ArrayConfig, load_arch
from .errors import InputError
from .fileio import read_toml
from .zoo import TRANSFORMERS

#: Number formats a device may compute in, and their bytes per element.
PRECISION_BYTES: dict[str, int] = {"fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1}

#: Link topologies within a level: ``ring`` (each device has two neighbours; the bandwidth is per
#: direction to one neighbour) or ``switch`` (any device reaches any other at the full bandwidth).
TOPOLOGIES: tuple[str, ...] = ("ring", "switch")

#: Conventions of the two transformer families the zoo holds. GPT (Radford et al. 2019, Brown et al. 2020;
#: Megatron-LM's GPT): biases in every linear layer and LayerNorm, learned position embeddings, input and
#: output embeddings shared. Llama (Touvron et al. 2023): no biases, RMSNorm, rotary positions (no table),
#: separate output embedding.
STYLES: dict[str, dict[str, bool]] = {
    "gpt": {"bias": True, "learned_positions": True, "tied_embeddings": True},
    "llama": {"bias": False, "learned_positions": False, "tied_embeddings": False},
}

#: The family of each decoder in the zoo (BERT, an encoder, is not an LLM here).
_ZOO_STYLE: dict[str, str] = {"gpt2": "gpt", "gpt3-175b": "gpt", "llama2-7b": "llama", "llama2-70b": "llama"}


# --------------------------------------------------------------------------- field checks


def _int(value: Any, name: str, lo: int = 1, hi: int = 1 << 40) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an integer, not {value!r}", where=name)
    if not lo <= value <= hi:
        raise InputError(f"{name} must be in {lo}..{hi}, not {value}", where=name)
    return value


def _float(value: Any, name: str, lo: float = 0.0, hi: float = math.inf, lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{name} must be a number, not {value!r}", where=name)
    if value < lo or value > hi or (lo_open and value == lo):
        rng = f"> {lo:g}" if lo_open and hi == math.inf else f"in {lo:g}..{hi:g}"
        raise InputError(f"{name} must be {rng}, not {value:g}", where=name)
    return float(value)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{name} must be true or false, not {value!r}", where=name)
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{name} must be a non-empty string, not {value!r}", where=name)
    return value.strip()


def _choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}, not {value!r}", where=name)
    return text


def _build(cls: type, data: dict[str, Any], source: Any, section: str) -> Any:
    """``cls(**data)`` with unknown keys refused and errors located at ``source`` and ``[section] key``."""
    known = [f.name for f in fields(cls) if f.init]
    for key in data:
        if key not in known:
            raise InputError(f"unknown key '{key}' (allowed: {', '.join(known)})", source, f"[{section}]")
    try:
        return cls(**data)
    except InputError as err:
        raise InputError(
            err.what, source, f"[{section}] {err.where}" if err.where else f"[{section}]"
        ) from None
    except TypeError as err:  # a required key is missing
        missing = [
            f.name
            for f in fields(cls)
            if f.init and f.name not in data and f.default is MISSING and f.default_factory is MISSING
        ]
        raise InputError(f"missing key(s): {', '.join(missing) or err}", source, f"[{section}]") from None


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class ModelSpec:
    """A decoder-only transformer.

    Attributes
    ----------
    name : str
    layers, hidden, heads : int
        Blocks, model width h and attention heads a (h divisible by a).
    ffn_hidden : int
        Width of the feed-forward layer (4h for GPT; Llama's SwiGLU width).
    vocab : int
        Vocabulary size V.
    seq_len : int
        Default sequence length (training) and prompt length (inference).
    kv_heads : int
        Key/value heads (grouped-query attention); 0 means ``heads``.
    swiglu : bool
        Gated feed-forward (gate and up projections of ``ffn_hidden``, then down).
    bias, learned_positions, tied_embeddings : bool
        See :data:`STYLES`.
    """

    name: str
    layers: int
    hidden: int
    heads: int
    ffn_hidden: int
    vocab: int
    seq_len: int = 2048
    kv_heads: int = 0
    swiglu: bool = False
    bias: bool = True
    learned_positions: bool = True
    tied_embeddings: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _str(self.name, "name"))
        for name in ("layers", "hidden", "heads", "ffn_hidden", "vocab", "seq_len"):
            object.__setattr__(self, name, _int(getattr(self, name), name))
        kv = _int(self.kv_heads, "kv_heads", 0) or self.heads
        object.__setattr__(self, "kv_heads", kv)
        for name in ("swiglu", "bias", "learned_positions", "tied_embeddings"):
            _bool(getattr(self, name), name)
        if self.hidden % self.heads:
            raise InputError(f"heads ({self.heads}) must divide hidden ({self.hidden})", where="heads")
        if self.heads % kv:
            raise InputError(f"kv_heads ({kv}) must divide heads ({self.heads})", where="kv_heads")

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def kv_dim(self) -> int:
        """Width of the key (and of the value) projection."""
        return self.head_dim * self.kv_heads

    def layer_params(self) -> int:
        """Weights and biases of one block (attention, feed-forward, two norms)."""
        h, f, kv = self.hidden, self.ffn_hidden, self.kv_dim
        attn = h * (h + 2 * kv) + h * h
        mlp = (3 if self.swiglu else 2) * h * f
        bias = (h + 2 * kv + h + (2 if self.swiglu else 1) * f + h) if self.bias else 0
        norms = 2 * (2 * h if self.bias else h)  # LayerNorm: scale and shift; RMSNorm: scale
        return attn + mlp + bias + norms

    def embedding_params(self) -> int:
        """Input embedding, position table, final norm and (if untied) the output embedding."""
        h = self.hidden
        table = self.vocab * h * (1 if self.tied_embeddings else 2)
        pos = self.seq_len * h if self.learned_positions else 0
        return table + pos + (2 * h if self.bias else h)

    def params(self) -> int:
        """All parameters (Narayanan et al. 2021's 12 l h^2 (1 + 13/(12h) + (V+s)/(12 l h)) for GPT)."""
        return self.layers * self.layer_params() + self.embedding_params()

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: Any = None, section: str = "model") -> ModelSpec:
        """From a ``[model]`` table; ``style = "gpt" | "llama"`` sets bias/positions/tied defaults."""
        data = dict(data)
        style = data.pop("style", "gpt")
        if style not in STYLES:
            raise InputError(
                f"style must be one of {', '.join(STYLES)}, not {style!r}", source, f"[{section}]"
            )
        return _build(cls, {**STYLES[style], **data}, source, section)


def zoo_models() -> list[str]:
    """Names of the zoo's decoders, usable as ``--model``."""
    return list(_ZOO_STYLE)


def model_spec(name: str, seq_len: int | None = None) -> ModelSpec:
    """A zoo decoder by name (its shape from :data:`systolic.zoo.TRANSFORMERS`), or a TOML file with a
    ``[model]`` table."""
    key = str(name).strip().lower()
    if key in _ZOO_STYLE:
        t = TRANSFORMERS[key]
        spec = ModelSpec(
            key,
            t.layers,
            t.d_model,
            t.heads,
            t.d_ff,
            t.vocab,
            t.seq_len,
            t.kv_heads,
            t.swiglu,
            **STYLES[_ZOO_STYLE[key]],
        )
    elif str(name).endswith(".toml"):
        data = read_toml(Path(name))
        if "model" not in data or not isinstance(data["model"], dict):
            raise InputError("no [model] table", name)
        spec = ModelSpec.from_dict(data["model"], name)
    else:
        raise InputError(f"no such model (zoo: {', '.join(_ZOO_STYLE)}; or a .toml file with [model])", name)
    return spec if seq_len is None else replace(spec, seq_len=_int(seq_len, "seq_len"))


# --------------------------------------------------------------------------- devices and links


@dataclass(frozen=True)
class GpuSpec:
    """A GPU-class device, given by its data sheet and a few achievable fractions of it.

    Attributes
    ----------
    name : str
    peak_flops : dict
        Dense peak FLOP/s per precision (keys of :data:`PRECISION_BYTES`).
    memory_bytes, memory_bw_bytes_per_s : float
        Device memory (HBM) capacity and bandwidth.
    gemm_efficiency : float
        Achievable fraction of peak of a large, well-shaped GEMM (measured best case).
    attention_efficiency : float
        Achievable fraction of peak of a fused (flash) attention kernel.
    memory_efficiency : float
        Achievable fraction of the memory bandwidth for streaming (element-wise) kernels.
    tdp_w, idle_w : float
        Board power at full load and when idle.
    hbm_pj_per_byte : float
        Energy of moving one byte to or from device memory.
    tech_node_nm : float
        Logic technology node (technology scaling starts here).
    """

    name: str
    peak_flops: dict[str, float]
    memory_bytes: float
    memory_bw_bytes_per_s: float
    gemm_efficiency: float
    memory_efficiency: float
    attention_efficiency: float = 0.5
    tdp_w: float = 400.0
    idle_w: float = 90.0
    hbm_pj_per_byte: float = 31.2
    tech_node_nm: float = 7.0
    kind: str = field(default="gpu", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _str(self.name, "name"))
        if not isinstance(self.peak_flops, dict) or not self.peak_flops:
            raise InputError("peak_flops must be a table of precision = FLOP/s", where="peak_flops")
        peaks = {}
        for prec, value in self.peak_flops.items():
            _choice(prec, "peak_flops", tuple(PRECISION_BYTES))
            peaks[prec] = _float(value, f"peak_flops.{prec}", lo_open=True)
        object.__setattr__(self, "peak_flops", peaks)
        for name in ("memory_bytes", "memory_bw_bytes_per_s", "tdp_w", "hbm_pj_per_byte", "tech_node_nm"):
            object.__setattr__(self, name, _float(getattr(self, name), name, lo_open=True))
        object.__setattr__(self, "idle_w", _float(self.idle_w, "idle_w", 0.0, self.tdp_w))
        for name in ("gemm_efficiency", "memory_efficiency", "attention_efficiency"):
            object.__setattr__(self, name, _float(getattr(self, name), name, 0.0, 1.0, lo_open=True))

    def peak(self, precision: str) -> float:
        if precision not in self.peak_flops:
            raise InputError(
                f"the device has no {precision} peak (it lists: {', '.join(self.peak_flops)})",
                where="precision",
            )
        return self.peak_flops[precision]


@dataclass(frozen=True)
class SystolicSpec:
    """One of our systolic accelerators as the device of a system.

    Attributes
    ----------
    arch : ArrayConfig
        The accelerator; its DRAM port (``dram_bw_words_per_cycle`` at ``clock_hz``) is the device memory's
        bandwidth, and its ``word_bytes`` the element size.
    memory_bytes : float
        Capacity of the device memory.
    pj_per_byte_elementwise : float
        DRAM energy per byte of element-wise traffic (the GEMMs' DRAM energy comes from the energy model).
    """

    arch: ArrayConfig
    memory_bytes: float
    pj_per_byte_elementwise: float = 162.5  # Horowitz (ISSCC 2014): 1.3 nJ per 64-bit DRAM access
    kind: str = field(default="systolic", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.arch, ArrayConfig):
            raise InputError("arch must be an architecture", where="arch")
        object.__setattr__(self, "memory_bytes", _float(self.memory_bytes, "memory_bytes", lo_open=True))
        object.__setattr__(
            self, "pj_per_byte_elementwise", _float(self.pj_per_byte_elementwise, "pj_per_byte_elementwise")
        )

    @property
    def name(self) -> str:
        return self.arch.name


@dataclass(frozen=True)
class LinkSpec:
    """The links of one level (within a node, or between nodes), seen from one device.

    Attributes
    ----------
    bandwidth_bytes_per_s : float
        Per device and direction.
    latency_s : float
        Start-up time of one message (the alpha of the alpha-beta model).
    efficiency : float
        Achievable fraction of the bandwidth for large collectives.
    topology : str
        ``ring`` or ``switch`` (:data:`TOPOLOGIES`).
    pj_per_bit : float
        Energy per bit moved over this level (ends, switches and retimers).
    """

    bandwidth_bytes_per_s: float
    latency_s: float
    efficiency: float = 1.0
    topology: str = "switch"
    pj_per_bit: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "bandwidth_bytes_per_s",
            _float(self.bandwidth_bytes_per_s, "bandwidth_bytes_per_s", lo_open=True),
        )
        object.__setattr__(self, "latency_s", _float(self.latency_s, "latency_s", 0.0, 1.0))
        object.__setattr__(self, "efficiency", _float(self.efficiency, "efficiency", 0.0, 1.0, lo_open=True))
        object.__setattr__(self, "topology", _choice(self.topology, "topology", TOPOLOGIES))
        object.__setattr__(self, "pj_per_bit", _float(self.pj_per_bit, "pj_per_bit"))


@dataclass(frozen=True)
class SystemSpec:
    """``nodes`` nodes of ``devices_per_node`` devices, ``intra`` links in a node, ``inter`` between."""

    name: str
    device: GpuSpec | SystolicSpec
    devices_per_node: int
    nodes: int
    intra: LinkSpec
    inter: LinkSpec

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _str(self.name, "name"))
        object.__setattr__(self, "devices_per_node", _int(self.devices_per_node, "devices_per_node"))
        object.__setattr__(self, "nodes", _int(self.nodes, "nodes"))

    @property
    def devices(self) -> int:
        return self.devices_per_node * self.nodes

    def with_devices(self, devices: int) -> SystemSpec:
        """The same system cut (or grown) to ``devices`` devices in whole nodes (a partial node if fewer
        than one node's worth)."""
        devices = _int(devices, "devices")
        if devices <= self.devices_per_node:
            return replace(self, devices_per_node=devices, nodes=1)
        if devices % self.devices_per_node:
            raise InputError(
                f"devices ({devices}) must be a multiple of devices_per_node ({self.devices_per_node})",
                where="devices",
            )
        return replace(self, nodes=devices // self.devices_per_node)


# --------------------------------------------------------------------------- system files

_SYSTEM_KEYS = ("name", "devices_per_node", "nodes", "device", "intra", "inter")


def _device(data: Any, path: Path) -> GpuSpec | SystolicSpec:
    if not isinstance(data, dict):
        raise InputError("[device] must be a table", path, "[device]")
    data = dict(data)
    try:
        kind = _choice(data.pop("kind", "gpu"), "kind", ("gpu", "systolic"))
    except InputError as err:
        raise InputError(err.what, path, "[device] kind") from None
    if kind == "gpu":
        return _build(GpuSpec, data, path, "device")
    arch = data.pop("arch", None)
    if arch is None:
        raise InputError(
            "a systolic device needs arch = a shipped architecture or a .toml/.cfg file", path, "[device]"
        )
    overrides = data.pop("set", {})
    if not isinstance(overrides, dict):
        raise InputError("[device.set] must be a table of ArrayConfig fields", path, "[device.set]")
    ref = Path(str(arch))
    if ref.suffix.lower() in (".toml", ".cfg") and not ref.is_absolute():
        ref = path.parent / ref
    try:
        cfg = load_arch(ref if ref.suffix else str(arch), overrides)
    except InputError as err:
        raise InputError(
            err.what, path, f"[device] arch: {err.source}" if err.source else "[device] arch"
        ) from None
    return _build(SystolicSpec, {"arch": cfg, **data}, path, "device")


def read_system(path: str | Path) -> SystemSpec:
    """Read a system TOML file; every error names the file, the table and the key."""
    path = Path(path)
    data = read_toml(path)
    for key in data:
        if key not in _SYSTEM_KEYS:
            raise InputError(f"unknown key or table '{key}' (allowed: {', '.join(_SYSTEM_KEYS)})", path)
    for key in ("device", "intra", "inter"):
        if key not in data:
            raise InputError(f"missing [{key}] table", path)
        if not isinstance(data[key], dict):
            raise InputError(f"[{key}] must be a table", path, f"[{key}]")
    device = _device(data["device"], path)
    intra = _build(LinkSpec, data["intra"], path, "intra")
    inter = _build(LinkSpec, data["inter"], path, "inter")
    try:
        return SystemSpec(
            data.get("name", path.stem),
            device,
            data.get("devices_per_node", 1),
            data.get("nodes", 1),
            intra,
            inter,
        )
    except InputError as err:
        raise InputError(err.what, path, err.where) from None


def builtin_system_names() -> list[str]:
    """Systems shipped in ``configs/systems/``."""
    root = resources.files("systolic.configs") / "systems"
    return sorted(p.name[: -len(".toml")] for p in root.iterdir() if p.name.endswith(".toml"))


def load_system(name: str | Path) -> SystemSpec:
    """A shipped system by name, or a system TOML file."""
    text = str(name)
    if text.endswith(".toml") or Path(text).exists():
        return read_system(Path(text))
    if text in builtin_system_names():
        with resources.as_file(resources.files("systolic.configs") / "systems" / f"{text}.toml") as p:
            system = read_system(p)
        return system
    raise InputError(f"no such system file or name (shipped: {', '.join(builtin_system_names())})", text)
