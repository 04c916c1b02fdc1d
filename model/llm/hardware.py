"""A system's numbers for one precision, and how they scale with the technology of logic, memory and links.

:func:`resolve` turns a :class:`~systolic.llm_spec.SystemSpec` into :class:`Hardware`: achievable
FLOP/s, bytes/s and energies per action, the form every cost function in ``model/llm`` reads.
:func:`scale` moves a GPU-class device to another logic node, memory generation or link generation (the
tables below); a sweep over technology is a loop over a few :class:`Hardware` values.

Scaling rule (iso-area, iso-power): a device keeps its die area and its board power, so moving logic from
node A to node B multiplies its peak by ``min(density_B / density_A, energy_A / energy_B)`` (more
transistors fit, but only as many can switch at once as the power budget allows) and its energy per
operation by ``energy_B / energy_A``. Memory and links take the bandwidth of their generation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from systolic.errors import InputError
from systolic.llm_spec import PRECISION_BYTES, LinkSpec, SystemSpec

# --------------------------------------------------------------------------- technology tables

#: Logic nodes: (logic density, energy per operation at iso-speed), both relative to 7 nm. Vendor claims
#: of TSMC's full-node steps (Technology Symposium announcements 2019-2025): N16->N10 2x density and
#: -40 % power, N10->N7 1.6x and -40 %, N7->N5 1.8x and -30 %, N5->N3 1.6x and -30 %, N3->N2 1.15x and
#: -27.5 %, N2->A14 1.23x and -27.5 %. 12 nm is taken as its 16 nm parent. 1 nm is an ASSUMPTION (no
#: vendor claim yet): A14 x1.15 density, -20 % energy.
LOGIC_NODES: dict[float, tuple[float, float]] = {
    12.0: (1 / 3.2, 1 / 0.36),
    7.0: (1.0, 1.0),
    5.0: (1.8, 0.70),
    3.0: (2.88, 0.49),
    2.0: (3.31, 0.355),
    1.4: (4.07, 0.257),
    1.0: (4.68, 0.206),
}

#: HBM generations: (bandwidth per stack in bytes/s, data rate per pin in Gb/s). HBM2..HBM3e from the
#: JEDEC standards as tabulated in S. Bekman, "Machine Learning Engineering", compute/accelerator
#: (github.com/stas00/ml-engineering): 256, 461, 819, 1229 GB/s per device; HBM4 from JEDEC JESD270-4
#: (2025): 2048-bit interface at 8 Gb/s = 2048 GB/s per stack.
MEMORY_GENERATIONS: dict[str, float] = {
    "hbm2": 256e9,
    "hbm2e": 461e9,
    "hbm3": 819e9,
    "hbm3e": 1229e9,
    "hbm4": 2048e9,
}

#: Link generations, bandwidth per device and direction (bytes/s). NVLink 3/4/5: 600/900/1800 GB/s total
#: (both directions) per GPU, NVIDIA A100/H100/B200 data sheets. InfiniBand HDR/NDR/XDR: 200/400/800 Gb/s
#: per port, one port per GPU (NVIDIA ConnectX-6/7/8 data sheets).
LINK_GENERATIONS: dict[str, float] = {
    "nvlink3": 300e9,
    "nvlink4": 450e9,
    "nvlink5": 900e9,
    "ib-hdr": 25e9,
    "ib-ndr": 50e9,
    "ib-xdr": 100e9,
}


# --------------------------------------------------------------------------- resolved numbers


@dataclass(frozen=True)
class Link:
    """One level of links as the cost functions see it."""

    bandwidth: float  # bytes/s per device and direction (the data sheet's)
    efficiency: float  # achievable fraction of it
    latency_s: float
    topology: str
    pj_per_byte: float

    @property
    def bw(self) -> float:
        """Achievable bytes/s per device and direction."""
        return self.bandwidth * self.efficiency


@dataclass(frozen=True)
class Hardware:
    """Everything the LLM model needs of a system, for one precision.

    ``kind`` is ``gpu`` (GEMM time from the roofline with wave quantisation, :mod:`.compute`) or
    ``systolic`` (GEMM time and energy from the accelerator model on ``arch``).
    """

    kind: str
    name: str
    precision: str
    element_bytes: int
    peak_flops: float  # per device, at ``precision`` (MFU is against this)
    gemm_flops: float  # achievable by a large, well-shaped GEMM
    attention_flops: float  # achievable by a fused attention kernel
    memory_bw_peak: float  # bytes/s of the device memory (data sheet)
    memory_efficiency: float  # achievable fraction of it by streaming kernels
    memory_bytes: float
    idle_w: float
    pj_per_flop: float  # dynamic energy of one FLOP of a GEMM (GPU: what takes the board to its TDP)
    pj_per_byte: float  # device-memory energy per byte of element-wise traffic
    devices_per_node: int
    nodes: int
    intra: Link
    inter: Link
    logic_node_nm: float
    arch: Any = None  # ArrayConfig of a systolic device
    calibration: Any = None  # energy calibration of a systolic device (None: no GEMM energy)

    @property
    def devices(self) -> int:
        return self.devices_per_node * self.nodes

    @property
    def memory_bw(self) -> float:
        """Achievable bytes/s of streaming (element-wise) kernels."""
        return self.memory_bw_peak * self.memory_efficiency


def _link(spec: LinkSpec) -> Link:
    return Link(
        spec.bandwidth_bytes_per_s, spec.efficiency, spec.latency_s, spec.topology, spec.pj_per_bit * 8
    )


def resolve(system: SystemSpec, precision: str = "bf16", calibration: Any = None) -> Hardware:
    """The numbers of ``system`` at ``precision`` (a systolic device computes at its own widths).

    ``calibration`` is the energy calibration of a systolic device (``systolic calibrate``'s file, loaded
    by the caller); GEMM energy is NaN without it.
    """
    dev = system.device
    common = dict(
        devices_per_node=system.devices_per_node,
        nodes=system.nodes,
        intra=_link(system.intra),
        inter=_link(system.inter),
    )
    if dev.kind == "gpu":
        if precision not in PRECISION_BYTES:
            raise InputError(f"precision must be one of {', '.join(PRECISION_BYTES)}, not {precision!r}")
        peak = dev.peak(precision)
        gemm = peak * dev.gemm_efficiency
        return Hardware(
            kind="gpu",
            name=dev.name,
            precision=precision,
            element_bytes=PRECISION_BYTES[precision],
            peak_flops=peak,
            gemm_flops=gemm,
            attention_flops=peak * dev.attention_efficiency,
            memory_bw_peak=dev.memory_bw_bytes_per_s,
            memory_efficiency=dev.memory_efficiency,
            memory_bytes=dev.memory_bytes,
            idle_w=dev.idle_w,
            pj_per_flop=(dev.tdp_w - dev.idle_w) / gemm * 1e12,
            pj_per_byte=dev.hbm_pj_per_byte,
            logic_node_nm=dev.tech_node_nm,
            **common,
        )
    cfg = dev.arch
    peak = 2.0 * cfg.rows * cfg.cols * cfg.clock_hz
    bw = cfg.dram_bw_words_per_cycle * cfg.word_bytes * cfg.clock_hz
    return Hardware(
        kind="systolic",
        name=cfg.name,
        precision=f"int{cfg.input_bits}x{cfg.weight_bits}",
        element_bytes=cfg.word_bytes,
        peak_flops=peak,
        gemm_flops=peak,
        attention_flops=peak,
        memory_bw_peak=bw,
        memory_efficiency=1.0,  # the accelerator's DRAM port moves its configured words every cycle
        memory_bytes=dev.memory_bytes,
        idle_w=0.0,  # the energy model's leakage covers the accelerator
        pj_per_flop=0.0,
        pj_per_byte=dev.pj_per_byte_elementwise,
        logic_node_nm=cfg.tech_node_nm,
        arch=cfg,
        calibration=calibration,
        **common,
    )


def _lookup(table: dict, key: Any, what: str) -> Any:
    if key not in table:
        raise InputError(f"unknown {what} {key!r} (known: {', '.join(str(k) for k in table)})", where=what)
    return table[key]


def scale(
    hw: Hardware,
    logic_node_nm: float | None = None,
    memory: str | None = None,
    memory_stacks: int | None = None,
    intra: str | None = None,
    inter: str | None = None,
) -> Hardware:
    """``hw`` moved to another logic node, memory generation (``memory_stacks`` stacks) or link generation.

    Logic scaling applies to GPU-class devices (a systolic device is rescaled through its own
    ``tech_node_nm`` and clock in the architecture file); memory and links to both. The efficiencies
    (achievable fractions) are kept.
    """
    out = hw
    if logic_node_nm is not None:
        if hw.kind != "gpu":
            raise InputError(
                "logic scaling of a systolic device goes through its arch (tech_node_nm)", where="logic"
            )
        d0, e0 = _lookup(LOGIC_NODES, float(hw.logic_node_nm), "logic node")
        d1, e1 = _lookup(LOGIC_NODES, float(logic_node_nm), "logic node")
        gain = min(d1 / d0, e0 / e1)
        out = dataclasses.replace(
            out,
            peak_flops=out.peak_flops * gain,
            gemm_flops=out.gemm_flops * gain,
            attention_flops=out.attention_flops * gain,
            pj_per_flop=out.pj_per_flop * e1 / e0,
            logic_node_nm=float(logic_node_nm),
        )
    if memory is not None:
        per_stack = _lookup(MEMORY_GENERATIONS, memory, "memory generation")
        if memory_stacks is None or memory_stacks < 1:
            raise InputError(
                f"memory scaling needs a positive number of stacks, not {memory_stacks!r}",
                where="memory_stacks",
            )
        out = dataclasses.replace(out, memory_bw_peak=per_stack * memory_stacks)
    for level, gen in (("intra", intra), ("inter", inter)):
        if gen is not None:
            link = dataclasses.replace(
                getattr(out, level), bandwidth=_lookup(LINK_GENERATIONS, gen, "link generation")
            )
            out = dataclasses.replace(out, **{level: link})
    return out
