"""Leakage power per component class: gate and SRAM-bit counts, node and supply scaling, temperature."""

from __future__ import annotations

import math

import numpy as np

from systolic.config import ArrayConfig

from .tables import (
    CTRL_ADDERS_16B,
    CTRL_REGISTER_BITS,
    HOROWITZ_NODE_NM,
    HOROWITZ_VDD_V,
    STILLMAKER_ENERGY,
    STILLMAKER_VDD_V,
    _node_interp,
    _poly,
    nominal_vdd_v,
)

# --------------------------------------------------------------------------- leakage

#: Leakage of one NAND2-equivalent gate at 45 nm, 0.9 V, 25 C (W). An assumed round number of the order of
#: a 45 nm standard-cell library's typical-corner NAND2 leakage (tens of nW for general-purpose devices);
#: replace it with a characterised value for a real library.
LEAK_W_PER_GATE = 20e-9
#: Leakage of one SRAM bit cell at 45 nm, 0.9 V, 25 C (W): about 1 nA at 0.9 V, the order of published
#: 45 nm 6T cell leakage at room temperature. Periphery is not counted separately.
LEAK_W_PER_SRAM_BIT = 1e-9 * 0.9
#: NAND2 equivalents of the building blocks (array multiplier: one AND and about one full adder, ~7 gates,
#: per partial-product bit; ripple adder: ~6 per bit; D flip-flop: ~5.5, its area in NAND2s).
GATES_PER_PRODUCT_BIT = 7.0
GATES_PER_ADDER_BIT = 6.0
GATES_PER_FLOP_BIT = 5.5
#: Temperature dependence: leakage(T) = leakage(T_ref) * exp(k (T - T_ref)). Subthreshold leakage grows
#: roughly exponentially with temperature; k = ln 2 / 20 K (doubling every 20 K) sits in the middle of the
#: 10-30 K doubling intervals quoted for bulk CMOS. A thermal model sets T per component.
LEAK_T_REF_K = 298.15
LEAK_K_PER_K = math.log(2.0) / 20.0


def leakage_temperature_factor(temperature_k: float | np.ndarray) -> np.ndarray:
    """Leakage at ``temperature_k`` relative to :data:`LEAK_T_REF_K` (the exponential model above)."""
    return np.exp(LEAK_K_PER_K * (np.asarray(temperature_k, dtype=float) - LEAK_T_REF_K))


def leakage_scale(node_nm: float, vdd_v: float) -> float:
    """Factor from 45 nm, 0.9 V leakage to ``node_nm`` at ``vdd_v``.

    Node: the Stillmaker & Baas energy fit, as Accelergy's hwcomponents scales leakage (the paper fits no
    leakage). Voltage: leakage current held, so power ~ V (first order; DIBL would make it steeper).
    """
    at_nominal = _poly(STILLMAKER_ENERGY, STILLMAKER_VDD_V)
    node_factor = _node_interp(node_nm, at_nominal) / _node_interp(HOROWITZ_NODE_NM, at_nominal)
    v_ratio = (vdd_v / nominal_vdd_v(node_nm)) / (HOROWITZ_VDD_V / nominal_vdd_v(HOROWITZ_NODE_NM))
    return node_factor * v_ratio


def pe_gates(cfg: ArrayConfig) -> dict[str, float]:
    """NAND2-equivalent gates of one PE per class (``mult``, ``acc``, ``fwd``)."""
    return {
        "mult": GATES_PER_ADDER_BIT * cfg.input_bits  # ternary: sign select, a conditional negation
        if cfg.weight_format == "ternary"
        else GATES_PER_PRODUCT_BIT * cfg.input_bits * cfg.weight_bits,
        "acc": (GATES_PER_ADDER_BIT + GATES_PER_FLOP_BIT) * cfg.acc_bits,
        "fwd": GATES_PER_FLOP_BIT * (cfg.input_bits + cfg.weight_bits + cfg.acc_bits),
    }


def leakage_w(cfg: ArrayConfig, temperature_k: float | np.ndarray = LEAK_T_REF_K) -> np.ndarray:
    """Leakage power per component class (W), ``[..., class]`` in :data:`COMPONENT_CLASSES` order.

    PE classes: gates per PE (:func:`pe_gates`) x PEs x :data:`LEAK_W_PER_GATE`; SRAMs: bits x
    :data:`LEAK_W_PER_SRAM_BIT` (that is, per KB: 8192 cells); controller: its flip-flops and adders;
    DRAM: 0 (its background power is the DRAM's, not the accelerator's). Scaled to the config's node and
    supply (:func:`leakage_scale`) and to ``temperature_k``: a scalar, ``[class]``, or ``[time, 1]`` /
    ``[time, class]`` for a temperature trace; it broadcasts against ``[class]``.
    """
    gates = pe_gates(cfg)
    ctrl_gates = CTRL_REGISTER_BITS * GATES_PER_FLOP_BIT + CTRL_ADDERS_16B * 16 * GATES_PER_ADDER_BIT
    base = np.array(
        [
            gates["mult"] * cfg.pe_count * LEAK_W_PER_GATE,
            gates["acc"] * cfg.pe_count * LEAK_W_PER_GATE,
            gates["fwd"] * cfg.pe_count * LEAK_W_PER_GATE,
            cfg.ifmap_sram_bytes * 8 * LEAK_W_PER_SRAM_BIT,
            cfg.filter_sram_bytes * 8 * LEAK_W_PER_SRAM_BIT,
            cfg.ofmap_sram_bytes * 8 * LEAK_W_PER_SRAM_BIT,
            ctrl_gates * LEAK_W_PER_GATE,
            0.0,
        ]
    )
    return base * leakage_scale(cfg.tech_node_nm, cfg.vdd_v) * leakage_temperature_factor(temperature_k)
