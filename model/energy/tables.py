"""Energy per action at full swing: Horowitz's 45 nm table, its scaling with width, capacity, technology node
(Stillmaker & Baas 2017) and supply, and the per-config table (``counts @ table.energy_pj``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from systolic.config import KIB, ArrayConfig
from systolic.errors import InputError

#: The component classes, in the one order every array in the energy model uses.
COMPONENT_CLASSES: tuple[str, ...] = (
    "mult",  # the multiplier (its operand inputs and the array of partial products)
    "acc",  # the accumulator: adder plus accumulator register
    "fwd",  # forwarding registers between PEs (operands, weights, partial sums) and the skew lanes
    "ifmap_sram",
    "filter_sram",
    "ofmap_sram",
    "ctrl",  # the sequencer / controller
    "dram",  # the off-chip DRAM interface
)

#: (component class, action) of every row of an energy table, in table order.
ACTIONS: tuple[tuple[str, str], ...] = (
    ("mult", "multiply"),  # one input x weight product
    ("acc", "accumulate"),  # one acc_bits addition written into an acc_bits register
    ("fwd", "input_hop"),  # an input operand moves one PE (one input_bits register written)
    ("fwd", "weight_hop"),  # a weight moves one PE or is loaded (weight_bits register)
    ("fwd", "psum_hop"),  # a partial sum moves one PE (acc_bits register)
    ("ifmap_sram", "read"),
    ("ifmap_sram", "write"),
    ("filter_sram", "read"),
    ("filter_sram", "write"),
    ("ofmap_sram", "read"),
    ("ofmap_sram", "write"),
    ("ctrl", "cycle"),  # one clock cycle of the sequencer
    ("dram", "read"),  # one word (word_bytes) read from DRAM
    ("dram", "write"),
)

#: Fraction of bits that toggle on the random operands behind Horowitz's numbers.
REFERENCE_ACTIVITY = 0.5

# --------------------------------------------------------------------------- Horowitz, ISSCC 2014, 45 nm

#: Horowitz's energies (pJ per operation, 45 nm, 0.9 V), as printed in his table.
HOROWITZ_45NM_PJ: dict[str, float] = {
    "int8_add": 0.03,
    "int32_add": 0.1,
    "int8_mult": 0.2,
    "int32_mult": 3.1,
    "fp16_add": 0.4,
    "fp16_mult": 1.1,
    "fp32_add": 0.9,
    "fp32_mult": 3.7,
}
HOROWITZ_NODE_NM = 45.0
HOROWITZ_VDD_V = 0.9

#: Horowitz's three SRAM points: energy of a 64-bit read against the array's capacity.
SRAM_POINTS_BYTES = np.array([8 * KIB, 32 * KIB, 1024 * KIB], dtype=float)
SRAM_POINTS_PJ_PER_64B = np.array([10.0, 20.0, 100.0])

#: DRAM energy per 64-bit access. Horowitz gives 1.3-2.6 nJ (the spread is the DRAM type and how much of
#: a row is used per activation). The default is the low end, which is also the 640 pJ per 32-bit access
#: that Han et al. (EIE, ISCA 2016) and most accelerator papers quote from the same source; pass
#: ``dram_pj_per_64b`` up to 2600 for the pessimistic end.
DRAM_PJ_PER_64B = 1300.0
DRAM_PJ_PER_64B_RANGE = (1300.0, 2600.0)

#: A write to an SRAM costs what a read does: Horowitz gives reads only, and for the small, single-ported
#: buffers here bitline swing dominates both (CACTI's read and write energies differ by well under 2x).
SRAM_WRITE_OVER_READ = 1.0

#: Energy of one flip-flop bit written with random data (pJ, 45 nm, 0.9 V). Horowitz gives no register
#: number; a master-slave flip-flop is a handful of gates, the size of one bit of a ripple adder, so we take
#: one bit of his int32 add (0.1 pJ / 32 = 3.1 fJ), the same order as the internal energy of a 45 nm
#: standard-cell D flip-flop. The calibration against RTL toggles corrects the activity, not this number.
REGISTER_PJ_PER_BIT = HOROWITZ_45NM_PJ["int32_add"] / 32

#: The sequencer, counted in the VCD of a 4x4 array: 278 bits of named registers (row/column counters,
#: pipeline stages, request masks) and about six 16-bit adders or comparators updated per cycle.
CTRL_REGISTER_BITS = 278
CTRL_ADDERS_16B = 6

# The Horowitz anchor points, as exponents of a power law through both of them: a multiplier's energy
# grows as (a_bits * b_bits)**p, an adder's as bits**q. p = 0.989 and q = 0.868 are close to the textbook
# a*b and linear laws, and the power law reproduces both printed points exactly.
_MULT_EXPONENT = math.log(HOROWITZ_45NM_PJ["int32_mult"] / HOROWITZ_45NM_PJ["int8_mult"]) / math.log(
    (32 * 32) / (8 * 8)
)
_ADD_EXPONENT = math.log(HOROWITZ_45NM_PJ["int32_add"] / HOROWITZ_45NM_PJ["int8_add"]) / math.log(32 / 8)


def mult_energy_pj(a_bits: int | np.ndarray, b_bits: int | np.ndarray) -> np.ndarray:
    """Energy of one integer multiply of random ``a_bits`` x ``b_bits`` operands (pJ, 45 nm, 0.9 V).

    A power law in ``a_bits * b_bits`` through Horowitz's int8 (0.2 pJ) and int32 (3.1 pJ) points.
    """
    ab = np.asarray(a_bits, dtype=float) * np.asarray(b_bits, dtype=float)
    return HOROWITZ_45NM_PJ["int8_mult"] * (ab / 64.0) ** _MULT_EXPONENT


def multiply_energy_pj(cfg: ArrayConfig) -> float:
    """Energy of one PE's product (pJ, 45 nm, 0.9 V): an ``input_bits`` x ``weight_bits`` multiplier, or for
    ternary weights (``weight_format``) the sign select that replaces it, ``0``, ``x`` or ``-x``: a
    conditional negation, costed as one ``input_bits`` add (invert and increment)."""
    if cfg.weight_format == "ternary":
        return float(add_energy_pj(cfg.input_bits))
    return float(mult_energy_pj(cfg.input_bits, cfg.weight_bits))


def add_energy_pj(bits: int | np.ndarray) -> np.ndarray:
    """Energy of one integer add of random ``bits``-wide operands (pJ, 45 nm, 0.9 V).

    A power law in ``bits`` through Horowitz's int8 (0.03 pJ) and int32 (0.1 pJ) points.
    """
    return HOROWITZ_45NM_PJ["int8_add"] * (np.asarray(bits, dtype=float) / 8.0) ** _ADD_EXPONENT


def sram_read_pj(capacity_bytes: float | np.ndarray, word_bits: int | np.ndarray = 64) -> np.ndarray:
    """Energy of one read of ``word_bits`` from an SRAM of ``capacity_bytes`` (pJ, 45 nm, 0.9 V).

    Between Horowitz's points (8 KB: 10 pJ, 32 KB: 20 pJ, 1 MB: 100 pJ per 64 bits) the log of the energy
    is interpolated linearly in the log of the capacity: a power law per segment (exponents 0.50 and 0.46,
    close to the square-root growth of wire length with array area). Outside them the end segments extend.
    The energy is proportional to the word width: bitlines and sense amplifiers, one per bit read,
    dominate a read of these small arrays.
    """
    log_c = np.log(np.asarray(capacity_bytes, dtype=float))
    log_x, log_y = np.log(SRAM_POINTS_BYTES), np.log(SRAM_POINTS_PJ_PER_64B)
    slopes = np.diff(log_y) / np.diff(log_x)  # [segment]
    seg = np.clip(np.searchsorted(log_x, log_c) - 1, 0, len(slopes) - 1)
    log_e = log_y[seg] + slopes[seg] * (log_c - log_x[seg])
    return np.exp(log_e) * np.asarray(word_bits, dtype=float) / 64.0


def dram_access_pj(word_bits: int | np.ndarray, dram_pj_per_64b: float = DRAM_PJ_PER_64B) -> np.ndarray:
    """Energy of one DRAM access of ``word_bits`` (pJ), proportional to the bits moved.

    Off-chip: neither the accelerator's technology node nor its supply voltage changes it.
    """
    return dram_pj_per_64b * np.asarray(word_bits, dtype=float) / 64.0


# --------------------------------------------------------------------------- Stillmaker & Baas 2017

#: Technology scaling fits from A. Stillmaker and B. Baas, "Scaling equations for the accurate prediction
#: of CMOS device performance from 180 nm to 7 nm", Integration, the VLSI Journal 58 (2017) 74-81,
#: doi:10.1016/j.vlsi.2017.02.002 (their Table of fitted coefficients; 45 nm and below are the
#: high-performance "HP" devices). Per node: delay = d3 V^3 + d2 V^2 + d1 V + d0 and
#: energy = e2 V^2 + e1 V + e0, both in the paper's arbitrary units, so only ratios between nodes mean
#: anything.
STILLMAKER_NODES_NM = np.array([180.0, 130.0, 90.0, 65.0, 45.0, 32.0, 20.0, 16.0, 14.0, 10.0, 7.0])
STILLMAKER_DELAY = np.array(  # [node, (d3, d2, d1, d0)]
    [
        [0.0, 97.09, -356.7, 406.5],
        [-76.65, 334.9, -493.4, 275.8],
        [-60.34, 262.5, -384.2, 210.9],
        [-53.3, 230.4, -333.9, 178.6],
        [-501.6, 1567.0, -1619.0, 566.1],
        [-1047.0, 2982.0, -2797.0, 873.5],
        [0.0, 34.63, -66.37, 41.15],
        [0.0, 24.8, -47.52, 28.87],
        [-40.66, 109.2, -100.6, 35.92],
        [-34.95, 93.65, -85.99, 30.4],
        [-28.58, 76.6, -70.26, 24.69],
    ]
)
STILLMAKER_ENERGY = np.array(  # [node, (e2, e1, e0)]
    [
        [0.0, 24.64, -17.98],
        [7.171, -6.709, 2.904],
        [4.762, -4.781, 2.092],
        [3.755, -4.398, 1.975],
        [1.018, -0.3107, 0.1539],
        [0.8367, -0.4341, 0.1701],
        [0.373, -0.1582, 0.04104],
        [0.2958, -0.1241, 0.03024],
        [0.2363, -0.09675, 0.02239],
        [0.2068, -0.09311, 0.02375],
        [0.1776, -0.09097, 0.02447],
    ]
)
#: Nominal supply of each node: that of the PTM device models the paper characterised (bulk PTM to 32 nm,
#: PTM multi-gate from 20 nm).
STILLMAKER_VDD_V = np.array([1.8, 1.3, 1.2, 1.1, 1.0, 0.9, 0.9, 0.85, 0.8, 0.75, 0.7])


def _poly(coeffs: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Evaluate per-node polynomials (highest power first) at per-node voltages."""
    powers = v[:, None] ** np.arange(coeffs.shape[1] - 1, -1, -1)  # [node, power]
    return np.sum(coeffs * powers, axis=1)


def _node_interp(node_nm: float, values: np.ndarray) -> float:
    """Interpolate a positive per-node quantity in log-log between the two nearest fitted nodes."""
    if not STILLMAKER_NODES_NM[-1] <= node_nm <= STILLMAKER_NODES_NM[0]:
        raise InputError(
            f"tech_node_nm must be in {STILLMAKER_NODES_NM[-1]:g}..{STILLMAKER_NODES_NM[0]:g} nm, the range "
            f"of the Stillmaker & Baas scaling fits, not {node_nm:g}",
            where="tech_node_nm",
        )
    x = np.log(STILLMAKER_NODES_NM[::-1])  # increasing, as np.interp wants
    return float(np.exp(np.interp(math.log(node_nm), x, np.log(values[::-1]))))


def nominal_vdd_v(node_nm: float) -> float:
    """The nominal supply of a node (interpolated between Stillmaker & Baas's nodes)."""
    return _node_interp(node_nm, STILLMAKER_VDD_V)


def energy_scale(node_nm: float, vdd_v: float) -> float:
    """Factor from Horowitz's 45 nm, 0.9 V energies to ``node_nm`` at ``vdd_v``.

    Node: the Stillmaker & Baas energy fit at each node's nominal voltage, relative to 45 nm (interpolated
    log-log between fitted nodes). Voltage: ``E ~ V**2`` relative to the node's nominal voltage, the
    switched-capacitance law (the fits themselves are only trusted near nominal voltage). 45 nm's
    nominal is 1.0 V, so Horowitz's 0.9 V is itself a voltage-scaled point of the 45 nm fit.
    """
    at_nominal = _poly(STILLMAKER_ENERGY, STILLMAKER_VDD_V)  # [node]
    node_factor = _node_interp(node_nm, at_nominal) / _node_interp(HOROWITZ_NODE_NM, at_nominal)
    v_ratio = (vdd_v / nominal_vdd_v(node_nm)) / (HOROWITZ_VDD_V / nominal_vdd_v(HOROWITZ_NODE_NM))
    return node_factor * v_ratio**2


def delay_scale(node_nm: float, vdd_v: float) -> float:
    """Factor from a gate delay at 45 nm, 0.9 V to ``node_nm`` at ``vdd_v`` (Stillmaker & Baas cubic fits).

    The cubic is evaluated at ``vdd_v`` itself, so keep ``vdd_v`` within the fits' range near the node's
    nominal voltage. For dynamic voltage and frequency scaling later; the energy table does not use it.
    """

    def delay_at(v: float) -> np.ndarray:
        return _poly(STILLMAKER_DELAY, np.full(len(STILLMAKER_NODES_NM), v))

    target = _node_interp(node_nm, np.abs(delay_at(vdd_v)))
    ref = _node_interp(HOROWITZ_NODE_NM, np.abs(delay_at(HOROWITZ_VDD_V)))
    return target / ref


# --------------------------------------------------------------------------- the table


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class EnergyTable:
    """Energy per action (pJ), one row per (component class, action): Accelergy's ERT as NumPy arrays.

    Attributes
    ----------
    classes : np.ndarray of str, shape [action]
        The component class of each row (one of :data:`COMPONENT_CLASSES`).
    actions : np.ndarray of str, shape [action]
        The action's name within its class.
    energy_pj : np.ndarray of float, shape [action]
        Energy per action, full swing unless the table came from :func:`scale_activity`.
    """

    classes: np.ndarray
    actions: np.ndarray
    energy_pj: np.ndarray

    def __post_init__(self) -> None:
        for name in ("classes", "actions", "energy_pj"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        if not self.classes.shape == self.actions.shape == self.energy_pj.shape:
            raise ValueError("classes, actions and energy_pj must have one entry per action")

    @property
    def keys(self) -> tuple[str, ...]:
        """``class.action`` per row, e.g. ``ifmap_sram.read``."""
        return tuple(f"{c}.{a}" for c, a in zip(self.classes.tolist(), self.actions.tolist(), strict=True))

    def index(self, component: str, action: str) -> int:
        """Row of ``component.action``."""
        return self.keys.index(f"{component}.{action}")

    def energy(self, counts: np.ndarray) -> np.ndarray:
        """Total energy (pJ) of ``counts[..., action]``: one matrix product, ``counts @ energy_pj``."""
        return np.asarray(counts, dtype=float) @ self.energy_pj

    def energy_by_class(self, counts: np.ndarray) -> np.ndarray:
        """Energy (pJ) per component class, ``[..., class]`` in :data:`COMPONENT_CLASSES` order."""
        return np.asarray(counts, dtype=float) @ (self.energy_pj[:, None] * class_matrix(self))


def class_matrix(table: EnergyTable) -> np.ndarray:
    """One-hot ``[action, class]`` matrix mapping each row of ``table`` to its component class."""
    return (table.classes[:, None] == np.array(COMPONENT_CLASSES)[None, :]).astype(float)


def build_table(cfg: ArrayConfig, dram_pj_per_64b: float = DRAM_PJ_PER_64B) -> EnergyTable:
    """The full-swing energy table of ``cfg``'s architecture at its node and supply voltage.

    Parameters
    ----------
    cfg : ArrayConfig
        Widths (``input_bits``, ``weight_bits``, ``acc_bits``, ``word_bytes``), buffer capacities,
        ``tech_node_nm`` and ``vdd_v`` are used.
    dram_pj_per_64b : float
        DRAM energy per 64-bit access, within Horowitz's 1.3-2.6 nJ; see :data:`DRAM_PJ_PER_64B`.

    Returns
    -------
    EnergyTable
        One row per :data:`ACTIONS` entry. SRAM accesses are of one word: ``word_bytes`` for the ifmap and
        filter buffers, ``acc_bits`` for the ofmap buffer, which holds partial sums. Each buffer is
        double-buffered (``ArrayConfig`` capacities count both halves), so an access sees half the
        capacity.
    """
    full = 1.0 / REFERENCE_ACTIVITY
    reg_bit = REGISTER_PJ_PER_BIT
    word_bits = cfg.word_bytes * 8
    on_chip = {
        ("mult", "multiply"): multiply_energy_pj(cfg),
        ("acc", "accumulate"): add_energy_pj(cfg.acc_bits) + cfg.acc_bits * reg_bit,
        ("fwd", "input_hop"): cfg.input_bits * reg_bit,
        ("fwd", "weight_hop"): cfg.weight_bits * reg_bit,
        ("fwd", "psum_hop"): cfg.acc_bits * reg_bit,
        ("ctrl", "cycle"): CTRL_REGISTER_BITS * reg_bit + CTRL_ADDERS_16B * add_energy_pj(16),
    }
    for buf, bits in (("ifmap", word_bits), ("filter", word_bits), ("ofmap", cfg.acc_bits)):
        read = sram_read_pj(getattr(cfg, f"{buf}_sram_bytes") / 2, bits)
        on_chip[(f"{buf}_sram", "read")] = read
        on_chip[(f"{buf}_sram", "write")] = read * SRAM_WRITE_OVER_READ
    scale = energy_scale(cfg.tech_node_nm, cfg.vdd_v)
    energies = {key: float(value) * scale * full for key, value in on_chip.items()}
    dram = float(dram_access_pj(word_bits, dram_pj_per_64b)) * full
    energies[("dram", "read")] = energies[("dram", "write")] = dram
    return EnergyTable(
        classes=np.array([c for c, _ in ACTIONS]),
        actions=np.array([a for _, a in ACTIONS]),
        energy_pj=np.array([energies[key] for key in ACTIONS]),
    )


def activity_vector(activity: float | Mapping[str, float] | np.ndarray | None = None) -> np.ndarray:
    """Per-class activity factors ``[class]`` from a scalar, a ``{class: factor}`` mapping or an array.

    Classes a mapping leaves out get :data:`REFERENCE_ACTIVITY`.
    """
    if activity is None:
        activity = REFERENCE_ACTIVITY
    if isinstance(activity, Mapping):
        unknown = set(activity) - set(COMPONENT_CLASSES)
        if unknown:
            raise InputError(f"unknown component class(es) {sorted(unknown)} (known: {COMPONENT_CLASSES})")
        out = np.array([float(activity.get(c, REFERENCE_ACTIVITY)) for c in COMPONENT_CLASSES])
    else:
        out = np.broadcast_to(np.asarray(activity, dtype=float), (len(COMPONENT_CLASSES),)).copy()
    if np.any(~np.isfinite(out)) or np.any(out < 0) or np.any(out > 1):
        raise InputError(f"activity factors must be in 0..1, not {out.tolist()}")
    return out


def scale_activity(
    table: EnergyTable, activity: float | Mapping[str, float] | np.ndarray | None = None
) -> EnergyTable:
    """Dynamic energy table: each row's full-swing energy times its class's activity factor.

    Parameters
    ----------
    table : EnergyTable
        A full-swing table (from :func:`build_table` or read from an ERT file).
    activity : float, mapping or array, optional
        Fraction of bits toggling per action, per class (:func:`activity_vector`); the default 0.5 gives
        Horowitz's random-data energies back.
    """
    per_action = class_matrix(table) @ activity_vector(activity)  # [action]
    return EnergyTable(table.classes, table.actions, table.energy_pj * per_action)


def dynamic_energy_pj(table: EnergyTable, counts: np.ndarray, activity: np.ndarray) -> np.ndarray:
    """Energy per class ``[layer, class]`` with a different activity per layer and class.

    ``counts[layer, action]`` times the full-swing ``table`` times ``activity[layer, class]`` (as from
    :attr:`LayerEnergy.activity` of each layer), summed per class: the data-dependent
    form of ``counts @ table``.
    """
    onehot = class_matrix(table)  # [action, class]
    per_action = np.asarray(activity, dtype=float) @ onehot.T  # [layer, action]
    return (np.asarray(counts, dtype=float) * per_action * table.energy_pj) @ onehot
