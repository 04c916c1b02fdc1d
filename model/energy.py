"""Energy per action, its scaling with width, capacity, technology and voltage, leakage, and data activity.

Everything here is a pure function of an :class:`~systolic.config.ArrayConfig` and NumPy arrays. Energy is
Accelergy's product: ``energy_pj = counts @ table.energy_pj`` with ``counts[layer, action]``.

Conventions
-----------
* **Full swing.** A table built by :func:`build_table` holds the energy of an action when *every* bit of
  the component toggles. The energy actually spent is ``activity x full-swing energy``
  (:func:`scale_activity`), with the activity the fraction of bits that toggle. Horowitz's numbers were
  measured on random operands, where half the bits toggle, so ``full swing = Horowitz / 0.5``
  (:data:`REFERENCE_ACTIVITY`) and an activity of 0.5 gives back his numbers exactly.
* **Reference point.** Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014:
  45 nm, 0.9 V. Other nodes scale with Stillmaker & Baas (2017) at each node's nominal voltage, then as
  ``(V / V_nominal)**2`` for the configured supply (:func:`energy_scale`).
* **Component classes** are :data:`COMPONENT_CLASSES`, in that order everywhere (tables, leakage arrays,
  activity vectors, toggle counts from ``cosim.toggles``).
* **Data.** The toggles of each class in a layer are predicted from the layer's action counts and its
  operands' statistics with coefficients fitted to the RTL's own toggles (:class:`Calibration`, written
  by ``systolic calibrate``); :func:`layer_energy` turns them into energy per layer and class,
  vectorised over layers, with leakage from the cycle count at ``cfg.clock_hz``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

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
        ("mult", "multiply"): mult_energy_pj(cfg.input_bits, cfg.weight_bits),
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
        "mult": GATES_PER_PRODUCT_BIT * cfg.input_bits * cfg.weight_bits,
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


# --------------------------------------------------------------------------- activity from operand data


@dataclass(frozen=True)
class OperandStats:
    """Statistics of an operand stream that drive its switching activity.

    Attributes
    ----------
    bit_switch_prob : float
        Fraction of the ``bits`` lane bits that differ between consecutive values of the stream (the
        Hamming distance of neighbours over ``bits``), averaged over all lanes and steps.
    zero_frac : float
        Fraction of values that are exactly zero.
    effective_bits : float
        Mean width needed to hold a non-zero value (two's complement with sign bit when signed);
        ``bits`` for full-range data, less for narrow values, 0 when every value is zero.
    bits : int
        The lane width the statistics were taken at.
    transitions : int
        How many consecutive pairs ``bit_switch_prob`` averages over.
    nonzero_switch_prob : float
        As ``bit_switch_prob`` between consecutive *non-zero* values of each lane (zeros skipped): how
        a zero-gated input, which holds its last non-zero value, switches. 0 with fewer than two.
    """

    bit_switch_prob: float
    zero_frac: float
    effective_bits: float
    bits: int
    transitions: int
    nonzero_switch_prob: float = 0.0

    @property
    def effective_frac(self) -> float:
        """``effective_bits / bits``: how much of the lane the data uses."""
        return self.effective_bits / self.bits


def _bit_patterns(values: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Values as unsigned ``bits``-wide lane patterns (two's complement when signed)."""
    v = np.asarray(values)
    if not np.issubdtype(v.dtype, np.integer):
        raise InputError(f"operand values must be integers, not {v.dtype}")
    if not 1 <= bits <= 63:
        raise InputError(f"bits must be in 1..63, not {bits}")
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if v.size and (v.min() < lo or v.max() > hi):
        kind = "signed" if signed else "unsigned"
        raise InputError(f"operand values must fit {bits}-bit {kind} ({lo}..{hi}), got {v.min()}..{v.max()}")
    return v.astype(np.int64).astype(np.uint64) & np.uint64((1 << bits) - 1)


def operand_stats(values: np.ndarray, bits: int, signed: bool, axis: int = 0) -> OperandStats:
    """Switching statistics of an operand tensor streamed along ``axis``.

    Parameters
    ----------
    values : np.ndarray of int
        The operands; ``axis`` is time (consecutive values through one multiplier input or register),
        every other axis an independent lane.
    bits : int
        Lane width; values must fit it (two's complement when ``signed``).
    signed : bool
        Whether lanes hold two's-complement values.
    axis : int
        The streaming axis.

    Returns
    -------
    OperandStats
        Consecutive values are XORed along ``axis`` and the differing bits counted with
        ``np.bitwise_count`` (vectorised popcount).
    """
    v = np.atleast_1d(np.asarray(values))
    u = np.moveaxis(_bit_patterns(v, bits, signed), axis, 0)  # [time, lanes...]
    transitions = (u.shape[0] - 1) * (u.size // max(u.shape[0], 1))
    if transitions:
        flips = int(np.bitwise_count(u[1:] ^ u[:-1]).sum(dtype=np.int64))
        switch = flips / (bits * transitions)
    else:
        switch = 0.0
    zero_frac = float(np.mean(v == 0)) if v.size else 0.0
    lanes = u.reshape(u.shape[0], -1).T  # [lane, time]
    nz = lanes[lanes != 0]  # row-major: each lane's non-zero values in time order
    lane_of = np.nonzero(lanes != 0)[0]
    same = lane_of[1:] == lane_of[:-1]  # consecutive non-zero values of one lane
    nz_pairs = int(np.count_nonzero(same))
    nz_switch = (
        int(np.bitwise_count(nz[1:][same] ^ nz[:-1][same]).sum(dtype=np.int64)) / (bits * nz_pairs)
        if nz_pairs
        else 0.0
    )
    nonzero = v[v != 0].astype(np.int64)
    if nonzero.size:
        magnitude = np.where(nonzero < 0, -nonzero - 1, nonzero) if signed else nonzero
        # frexp's exponent of a positive integer is its bit length (exact below 2**53); 0 has length 0
        length = np.frexp(magnitude.astype(float))[1]
        effective = float(np.mean(length + (1 if signed else 0)))
    else:
        effective = 0.0
    return OperandStats(switch, zero_frac, effective, bits, transitions, nz_switch)


# --------------------------------------------------------------------------- toggles of whole layers
#
# The calibrated model: the bit toggles of each component class in a layer are a non-negative
# combination of a few physically motivated regressors (:data:`TOGGLE_FEATURES`), each an action count of
# the RTL (operand hops through the PE registers, MACs, SRAM and DRAM words, cycles) times the bits that
# action can switch times a switching statistic of the data. The coefficients are fitted per dataflow
# (the three PE arrays move data differently) against the toggles of the RTL's own VCDs
# (``systolic calibrate``) and stored in a calibration file (:func:`load_calibration`).

#: Statistics of an operand stream as columns of a ``[..., stat]`` array (see :class:`OperandStats`).
STAT_COLUMNS: tuple[str, ...] = ("switch", "zero_frac", "effective_frac", "nonzero_switch")

#: Regressor names per class, in column order of :attr:`ToggleCoeffs.coeffs` (missing columns are 0).
#: W is the operand streamed from the west (A, or B in IS), N the other one (streamed from the north in
#: OS, held in the PEs in WS and IS); s its switching probability, s' that between its consecutive
#: non-zero values, b its bits, p the chance that a MAC has two non-zero operands, g zero gating (0/1),
#: bP = e_W b_W + e_N b_N the effective bits of a product.
TOGGLE_FEATURES: dict[str, tuple[str, ...]] = {
    "mult": (
        "(1-g) west_hops b_W s_W",  # the multiplier's west operand, ungated
        "(1-g) north_hops b_N s_N",  # its other operand (OS: streamed; WS/IS: the held weight)
        "g macs p b_W s'_W",  # gated: operands and hold registers change on non-zero pairs only
        "g north_hops b_N s'_N (1-z_N)",
        "g macs p (1-p)",  # the one-bit non-zero flag
    ),
    "acc": (
        "macs bP s_W",  # the product
        "macs bP s_N [OS]",
        "macs acc_bits p",  # the accumulator's upper bits (sign changes of partial sums)
        "macs bP p",  # its lower bits
        "drain acc_bits [OS]",  # OS: accumulators shifted out after each fold
    ),
    "fwd": (
        "west_hops b_W s_W",  # a_out registers
        "north_hops b_N s_N",  # b_out (OS) or weight registers (WS/IS)
        "west_skew b_W s_W",  # skew lane registers of the west operand
        "south_or_north_skew",  # OS: north skew (b_N s_N); WS/IS: output de-skew (acc_bits p)
        "cycles",
    ),
    **{
        f"{buf}_sram": (
            "read_slots b s",  # data read, stale lanes included (ofmap: partial sums, acc_bits p)
            "write_slots b s",
            "read_slots",  # addresses and enables
            "write_slots",
            "cycles",
        )
        for buf in ("ifmap", "filter", "ofmap")
    },
    "ctrl": ("cycles", "compute_cycles", "folds", "tiles", "dram_reads", "dram_writes", "sram_slots"),
    "dram": (
        "reads_A b_A s_A",
        "reads_B b_B s_B",
        "writes acc_bits p",
        "reads",  # request addresses and lengths
        "writes",
    ),
}
N_TOGGLE_FEATURES = max(len(v) for v in TOGGLE_FEATURES.values())
DATAFLOWS: tuple[str, ...] = ("os", "ws", "is")


def default_stats(bits: int, signed: bool, zero_frac: float | np.ndarray = 0.0) -> np.ndarray:
    """Statistics ``[..., stat]`` of independent operands drawn uniformly from the non-zero values of a
    format, a share ``zero_frac`` of them then set to zero: the assumption for a network without data.

    Exact for that distribution: with q_i the share of non-zero values with bit i set, two non-zero
    neighbours differ in bit i with probability 2 q_i (1 - q_i), a non-zero value and a zero with
    probability q_i, two zeros never; the effective width is the mean bit length of the non-zero values
    (plus a sign bit when signed).
    """
    z = np.asarray(zero_frac, dtype=float)
    if np.any((z < 0) | (z > 1)):
        raise InputError(f"zero fraction must be in 0..1, not {z.tolist()}")
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    v = np.arange(lo, hi + 1, dtype=np.int64)
    v = v[v != 0]
    q = ((v[:, None] >> np.arange(bits)) & 1).mean(axis=0)  # [bit] share of values with the bit set
    nonzero_switch = float(np.sum(2 * q * (1 - q))) / bits
    one_zero = float(np.sum(q)) / bits
    magnitude = np.where(v < 0, -v - 1, v) if signed else v
    length = np.frexp(magnitude.astype(float))[1] + (1 if signed else 0)
    eff = float(np.mean(length)) / bits
    switch = (1 - z) ** 2 * nonzero_switch + 2 * z * (1 - z) * one_zero
    ones = np.ones_like(z)
    return np.stack([switch, z, eff * ones, nonzero_switch * ones], axis=-1)


def stats_array(stats: OperandStats) -> np.ndarray:
    """One :class:`OperandStats` as a ``[stat]`` row (:data:`STAT_COLUMNS`)."""
    return np.array([stats.bit_switch_prob, stats.zero_frac, stats.effective_frac, stats.nonzero_switch_prob])


def stream_axes(dataflow: str) -> tuple[int, int]:
    """The axis of A[M,K] and of B[K,N] along which each streams through the PEs in ``dataflow``.

    OS streams both along K; WS streams A along M and shifts B's columns in along K; IS streams B along N
    and shifts A's rows in along K.
    """
    return {"os": (1, 0), "ws": (0, 0), "is": (1, 1)}[str(dataflow)]


def layer_stats(cfg: ArrayConfig, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Statistics ``[stat]`` of a layer's A and B, each along the axis it streams in ``cfg``'s dataflow."""
    ax_a, ax_b = stream_axes(cfg.dataflow.value)
    return (
        stats_array(operand_stats(a, cfg.input_bits, cfg.input_signed, axis=ax_a)),
        stats_array(operand_stats(b, cfg.weight_bits, cfg.weight_signed, axis=ax_b)),
    )


@dataclass(frozen=True)
class LayerActivityCounts:
    """What the RTL does in each layer, as counts the toggle regressors multiply (all ``[layer]``).

    Attributes
    ----------
    macs : multiply-accumulates
    west_hops : PE-cycles in which the west operand moves one PE (every column of a fold's rows)
    north_hops : OS: PE-cycles in which the north operand moves one PE; WS/IS: weight-register writes
    west_skew, other_skew : lane-register writes of the west skew and of the north skew (OS) or the
        output de-skew (WS/IS)
    drain : OS: accumulator shifts draining the folds (0 for WS/IS)
    cycles, compute_cycles, tiles, folds : layer cycles with stalls, the array's cycles, tiles, folds
    sram_reads, sram_writes : ``[buffer, layer]`` words, buffers ifmap, filter, ofmap
    sram_read_slots, sram_write_slots : ``[buffer, layer]`` lane slots of the SRAM lines those words are
        read from or written to (a line holds one array-port vector; a tile whose lane extent is not a
        multiple of the lanes leaves the rest of its last line stale, and the stale lanes ride along on
        the SRAM's data ports)
    dram_reads : ``[tensor, layer]`` words of A and B; dram_writes: ``[layer]`` words of C
    """

    macs: np.ndarray
    west_hops: np.ndarray
    north_hops: np.ndarray
    west_skew: np.ndarray
    other_skew: np.ndarray
    drain: np.ndarray
    cycles: np.ndarray
    compute_cycles: np.ndarray
    tiles: np.ndarray
    folds: np.ndarray
    sram_reads: np.ndarray
    sram_writes: np.ndarray
    sram_read_slots: np.ndarray
    sram_write_slots: np.ndarray
    dram_reads: np.ndarray
    dram_writes: np.ndarray


def _rows(per_buffer: Mapping[str, np.ndarray], keys: tuple[str, ...]) -> np.ndarray:
    return np.stack([np.asarray(per_buffer[k], dtype=float) for k in keys])  # [buffer, layer]


def activity_counts(cfg: ArrayConfig, gemm, memory=None) -> LayerActivityCounts:
    """Per-layer counts of ``gemm`` (a :class:`~systolic.model.cycles.GemmArrays`) on ``cfg``'s accelerator.

    Folds are those of each tile the memory system runs (``memory``, a
    :class:`~systolic.model.memory.MemoryResult`; computed when not given), summed per layer and
    multiplied by the layer's ``repeat``; SRAM, DRAM and cycle counts are the memory model's.
    """
    from .cycles import GemmArrays, compute_cycles
    from .memory import BUFFER, access_counts, geometry, memory_cycles

    if memory is None:
        memory = memory_cycles(cfg, gemm)
    tiles = memory.schedule.tiles
    per_tile = compute_cycles(cfg, GemmArrays.of(tiles.mt, tiles.nt, tiles.kt))
    plan = per_tile.plan  # [tile]
    r, c = cfg.rows, cfg.cols
    output_stationary = cfg.dataflow.value == "os"
    folds = plan.folds
    west = plan.col_folds * plan.spatial_rows * plan.temporal * c
    if output_stationary:
        north = plan.row_folds * plan.spatial_cols * plan.temporal * r
    else:
        north = plan.spatial_rows * plan.spatial_cols * r
    per_tile_counts = np.stack(
        [
            tiles.mt * tiles.nt * tiles.kt,
            west,
            north,
            folds * plan.temporal * (r * (r - 1) // 2),
            folds * plan.temporal * (c * (c - 1) // 2),
            folds * (r * r * c) * output_stationary,
            np.ones_like(folds),
            folds,
        ]
    ).astype(float)  # [count, tile]
    layers = gemm.m.size
    summed = (
        np.stack([np.bincount(tiles.layer, weights=row, minlength=layers) for row in per_tile_counts])
        * gemm.repeat
    )  # [count, layer]
    buffers = ("ifmap", "filter", "ofmap")
    per_tile_words = access_counts(cfg, tiles)
    slots = {"sram_reads": [], "sram_writes": []}
    for x, g in geometry(cfg).items():
        lane_ext = tiles.ext(g.lane_dim)
        fill = -(-lane_ext // g.lanes) * g.lanes / lane_ext  # [tile] lane slots per word
        for kind, rows in slots.items():
            words = per_tile_words[kind][BUFFER[x]] * fill
            rows.append(np.bincount(tiles.layer, weights=words, minlength=layers) * gemm.repeat)
    return LayerActivityCounts(
        macs=summed[0],
        west_hops=summed[1],
        north_hops=summed[2],
        west_skew=summed[3],
        other_skew=summed[4],
        drain=summed[5],
        cycles=np.asarray(memory.cycles, dtype=float),
        compute_cycles=np.asarray(memory.compute_cycles, dtype=float),
        tiles=summed[6],
        folds=summed[7],
        sram_reads=_rows(memory.sram_reads, buffers),
        sram_writes=_rows(memory.sram_writes, buffers),
        sram_read_slots=np.stack(slots["sram_reads"]),
        sram_write_slots=np.stack(slots["sram_writes"]),
        dram_reads=_rows(memory.dram_reads, ("ifmap", "filter")),
        dram_writes=np.asarray(memory.dram_writes["ofmap"], dtype=float),
    )


def toggle_features(
    cfg: ArrayConfig, counts: LayerActivityCounts, stats_a: np.ndarray, stats_b: np.ndarray
) -> np.ndarray:
    """The regressors of :data:`TOGGLE_FEATURES`, ``[layer, class, feature]`` (bit toggles per coefficient).

    ``stats_a``, ``stats_b``: ``[layer, stat]`` or ``[stat]`` (:data:`STAT_COLUMNS`) of A and B, taken
    along the axis each streams (:func:`layer_stats`), or :func:`default_stats` without data.
    """
    sa = np.broadcast_to(np.asarray(stats_a, dtype=float), (counts.macs.size, len(STAT_COLUMNS)))
    sb = np.broadcast_to(np.asarray(stats_b, dtype=float), (counts.macs.size, len(STAT_COLUMNS)))
    df = cfg.dataflow.value
    os_ = 1.0 if df == "os" else 0.0
    g = 1.0 if cfg.zero_gating else 0.0
    bits_a, bits_b = float(cfg.input_bits), float(cfg.weight_bits)
    # west and the other operand: IS streams B from the west and holds A
    (w, bw), (n, bn) = ((sb, bits_b), (sa, bits_a)) if df == "is" else ((sa, bits_a), (sb, bits_b))
    s_w, z_w, e_w, nz_w = w.T
    s_n, z_n, e_n, nz_n = n.T
    p = (1 - z_w) * (1 - z_n)
    bp = e_w * bw + e_n * bn
    acc = float(cfg.acc_bits)
    k = counts
    other_skew = np.where(os_, k.other_skew * bn * s_n, k.other_skew * acc * p)
    data_bits = {"A": (bits_a, sa[:, 0]), "B": (bits_b, sb[:, 0])}
    per_class: dict[str, list[np.ndarray]] = {
        "mult": [
            (1 - g) * k.west_hops * bw * s_w,
            (1 - g) * k.north_hops * bn * s_n,
            g * k.macs * p * bw * nz_w,
            g * k.north_hops * bn * nz_n * (1 - z_n),
            g * k.macs * p * (1 - p),
        ],
        "acc": [k.macs * bp * s_w, os_ * k.macs * bp * s_n, k.macs * acc * p, k.macs * bp * p, k.drain * acc],
        "fwd": [
            k.west_hops * bw * s_w,
            k.north_hops * bn * s_n,
            k.west_skew * bw * s_w,
            other_skew,
            k.cycles,
        ],
        "ctrl": [
            k.cycles,
            k.compute_cycles,
            k.folds,
            k.tiles,
            k.dram_reads.sum(axis=0),
            k.dram_writes,
            k.sram_read_slots.sum(axis=0) + k.sram_write_slots.sum(axis=0),
        ],
        "dram": [
            k.dram_reads[0] * bits_a * sa[:, 0],
            k.dram_reads[1] * bits_b * sb[:, 0],
            k.dram_writes * acc * p,
            k.dram_reads.sum(axis=0),
            k.dram_writes,
        ],
    }
    for i, (buf, x) in enumerate((("ifmap", "A"), ("filter", "B"))):
        bits, s = data_bits[x]
        per_class[f"{buf}_sram"] = [
            k.sram_read_slots[i] * bits * s,
            k.sram_write_slots[i] * bits * s,
            k.sram_read_slots[i],
            k.sram_write_slots[i],
            k.cycles,
        ]
    per_class["ofmap_sram"] = [
        k.sram_read_slots[2] * acc * p,
        k.sram_write_slots[2] * acc * p,
        k.sram_read_slots[2],
        k.sram_write_slots[2],
        k.cycles,
    ]
    out = np.zeros((k.macs.size, len(COMPONENT_CLASSES), N_TOGGLE_FEATURES))  # [layer, class, feature]
    for ci, name in enumerate(COMPONENT_CLASSES):
        cols = per_class[name]
        out[:, ci, : len(cols)] = np.stack([np.broadcast_to(c, k.macs.shape) for c in cols], axis=-1)
    return out


@dataclass(frozen=True)
class Calibration:
    """Fitted toggle coefficients, ``coeffs[dataflow, class, feature]`` (:data:`DATAFLOWS`,
    :data:`COMPONENT_CLASSES`, :data:`TOGGLE_FEATURES`), non-negative. ``info`` says where they came from
    (calibration set, held-out errors); it does not enter any computation."""

    coeffs: np.ndarray
    info: Mapping = field(default_factory=dict)

    def __post_init__(self) -> None:
        c = _frozen(np.asarray(self.coeffs, dtype=float))
        shape = (len(DATAFLOWS), len(COMPONENT_CLASSES), N_TOGGLE_FEATURES)
        if c.shape != shape:
            raise InputError(f"toggle coefficients must have shape {shape}, not {c.shape}")
        if not np.all(np.isfinite(c)) or np.any(c < 0):
            raise InputError("toggle coefficients must be finite and non-negative")
        object.__setattr__(self, "coeffs", c)

    def to_dict(self) -> dict:
        """Plain JSON-able form (coefficients rounded to 6 significant digits, so the bytes are stable)."""
        return {
            "format": "systolic-calibration",
            "version": 1,
            "features": {cls: list(TOGGLE_FEATURES[cls]) for cls in COMPONENT_CLASSES},
            "coefficients": {
                df: {
                    cls: [float(f"{v:.6g}") for v in self.coeffs[i, j, : len(TOGGLE_FEATURES[cls])]]
                    for j, cls in enumerate(COMPONENT_CLASSES)
                }
                for i, df in enumerate(DATAFLOWS)
            },
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: object, source: str | None = None) -> Calibration:
        """Read :meth:`to_dict`'s form; a wrong field is an :class:`InputError` naming it."""
        if not isinstance(data, dict) or data.get("format") != "systolic-calibration":
            raise InputError("not a systolic calibration file (no 'format': 'systolic-calibration')", source)
        if data.get("version") != 1:
            raise InputError(f"unsupported version {data.get('version')!r} (known: 1)", source, "version")
        expected = {cls: list(TOGGLE_FEATURES[cls]) for cls in COMPONENT_CLASSES}
        if data.get("features") != expected:
            raise InputError(
                "fitted with other toggle features than this version of systolic has; regenerate it with "
                "'make calibrate'",
                source,
                "features",
            )
        coeffs = np.zeros((len(DATAFLOWS), len(COMPONENT_CLASSES), N_TOGGLE_FEATURES))
        table = data.get("coefficients")
        if not isinstance(table, dict):
            raise InputError("missing or malformed", source, "coefficients")
        for i, df in enumerate(DATAFLOWS):
            row = table.get(df)
            if not isinstance(row, dict):
                raise InputError("missing", source, f"coefficients.{df}")
            for j, name in enumerate(COMPONENT_CLASSES):
                values = row.get(name)
                where = f"coefficients.{df}.{name}"
                n = len(TOGGLE_FEATURES[name])
                if not isinstance(values, list) or len(values) != n:
                    raise InputError(f"must be a list of {n} numbers", source, where)
                for v in values:
                    number = isinstance(v, (int, float)) and not isinstance(v, bool)
                    if not number or not math.isfinite(v) or v < 0:
                        raise InputError(f"must be non-negative numbers, not {v!r}", source, where)
                coeffs[i, j, :n] = values
        info = data.get("info", {})
        return cls(coeffs, info if isinstance(info, dict) else {})


def predict_toggles(
    cfg: ArrayConfig,
    counts: LayerActivityCounts,
    stats_a: np.ndarray,
    stats_b: np.ndarray,
    calibration: Calibration,
) -> np.ndarray:
    """Bit toggles ``[layer, class]``: the regressors times the coefficients of the dataflow."""
    x = toggle_features(cfg, counts, stats_a, stats_b)  # [layer, class, feature]
    beta = calibration.coeffs[DATAFLOWS.index(cfg.dataflow.value)]  # [class, feature]
    return np.einsum("lcf,cf->lc", x, beta)


def fit_toggles(features: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Non-negative coefficients ``[class, feature]`` from ``features[sample, class, feature]`` and measured
    toggles ``[sample, class]`` by weighted least squares with Poisson weights (each sample's residual
    divided by the square root of its count: a count's noise grows as its square root, so long layers
    count more than short ones, but not in proportion to their size). Measured on the calibration set:
    relative weights (every layer alike) bias the summed held-out toggles of the SRAM classes by -16 to
    -19%, unweighted least squares lets the largest layers decide (DRAM +6%); Poisson weights keep every
    class within 10%. Non-negative: every regressor is a physical source of toggles, and a negative
    coefficient fitted to noise would extrapolate badly to large layers."""
    from scipy.optimize import nnls

    x = np.asarray(features, dtype=float)
    y = np.asarray(measured, dtype=float)
    out = np.zeros(x.shape[1:])
    for c in range(x.shape[1]):
        w = 1.0 / np.sqrt(np.maximum(y[:, c], 1.0))
        a = x[:, c, :] * w[:, None]
        scale = np.maximum(np.abs(a).max(axis=0), 1e-300)  # column scaling for a well-conditioned solve
        beta, _ = nnls(a / scale, y[:, c] * w)
        out[c] = beta / scale
    return out


def action_counts(cfg: ArrayConfig, counts: LayerActivityCounts) -> np.ndarray:
    """Counts ``[layer, action]`` of :data:`ACTIONS` for ``counts @ table`` (one energy table row each).

    ``multiply``, ``accumulate``: MACs; ``input_hop``: west-operand hops; ``weight_hop``: north hops (OS)
    or weight-register writes (WS, IS); ``psum_hop``: accumulator shifts of the OS drain or psum writes
    in the WS/IS output de-skew (in WS and IS the PE's psum register is the accumulator and is charged
    once, to ``accumulate``); SRAM: words; ``ctrl.cycle``: cycles; DRAM: words of ``word_bytes`` (a
    partial sum written back is ``ceil(acc_bits / 8) / word_bytes`` of them).
    """
    k = counts
    psum = k.drain if cfg.dataflow.value == "os" else k.other_skew
    c_words = math.ceil(cfg.acc_bits / 8) / cfg.word_bytes
    cols = {
        ("mult", "multiply"): k.macs,
        ("acc", "accumulate"): k.macs,
        ("fwd", "input_hop"): k.west_hops,
        ("fwd", "weight_hop"): k.north_hops,
        ("fwd", "psum_hop"): psum,
        ("ifmap_sram", "read"): k.sram_reads[0],
        ("ifmap_sram", "write"): k.sram_writes[0],
        ("filter_sram", "read"): k.sram_reads[1],
        ("filter_sram", "write"): k.sram_writes[1],
        ("ofmap_sram", "read"): k.sram_reads[2],
        ("ofmap_sram", "write"): k.sram_writes[2],
        ("ctrl", "cycle"): k.cycles,
        ("dram", "read"): k.dram_reads.sum(axis=0),
        ("dram", "write"): k.dram_writes * c_words,
    }
    return np.stack([np.asarray(cols[a], dtype=float) for a in ACTIONS], axis=-1)


def energy_per_toggle_pj(
    cfg: ArrayConfig,
    counts: LayerActivityCounts,
    calibration: Calibration,
    table: EnergyTable | None = None,
) -> np.ndarray:
    """Energy per predicted bit toggle of each class in each layer ``[layer, class]`` (pJ).

    The anchor: Horowitz's energies (the table at :data:`REFERENCE_ACTIVITY`) are those of random
    operands, so a layer's actions on independent uniform operands without zero gating cost exactly
    ``counts @ table`` at that activity, and each toggle the model predicts for them costs that energy
    over that many toggles. Other data, zero gating and stale lanes then cost what their toggles do. The
    RTL's nets give the data dependence; the table gives the energy scale and its growth with width
    (a multiplier's internal switching grows as a*b, which the VCD's operand nets do not show).
    """
    table = table or build_table(cfg)
    e_ref = scale_activity(table).energy_by_class(action_counts(cfg, counts))  # [layer, class]
    ref = predict_toggles(
        cfg.replace(zero_gating=False),
        counts,
        default_stats(cfg.input_bits, cfg.input_signed),
        default_stats(cfg.weight_bits, cfg.weight_signed),
        calibration,
    )  # [layer, class]
    return np.divide(e_ref, ref, out=np.zeros_like(e_ref), where=ref > 0)


@dataclass(frozen=True)
class LayerEnergy:
    """Energy of each layer per component class (all pJ, ``[layer, class]`` in :data:`COMPONENT_CLASSES`
    order, or ``[layer]``).

    Attributes
    ----------
    dynamic_pj : predicted toggles x energy per toggle (:func:`energy_per_toggle_pj`)
    leakage_pj : leakage power x the layer's cycles / clock
    toggles : predicted bit toggles (what the calibration fits against the RTL)
    activity : the activity factor this energy corresponds to in the table's convention
        (``dynamic_pj = counts @ full-swing table x activity``; 0.5 for random operands without gating)
    macs, cycles : ``[layer]``
    clock_hz : the clock the leakage and the power figures assume
    """

    dynamic_pj: np.ndarray
    leakage_pj: np.ndarray
    toggles: np.ndarray
    activity: np.ndarray
    macs: np.ndarray
    cycles: np.ndarray
    clock_hz: float

    @property
    def energy_pj(self) -> np.ndarray:
        """Dynamic plus leakage, ``[layer, class]``."""
        return self.dynamic_pj + self.leakage_pj

    @property
    def total_pj(self) -> np.ndarray:
        """``[layer]``."""
        return self.energy_pj.sum(axis=-1)

    def pj_per_mac(self) -> np.ndarray:
        """Energy per MAC of each layer ``[layer]`` (:func:`pj_per_mac` for the whole workload)."""
        return pj_per_mac(self.total_pj, self.macs)

    def tops_per_w(self) -> float:
        """Whole workload: 2 ops per MAC over all energy (:func:`tops_per_w`)."""
        return tops_per_w(self.total_pj.sum(), self.macs.sum())


def pj_per_mac(energy_pj: float | np.ndarray, macs: float | np.ndarray) -> np.ndarray:
    """Energy per multiply-accumulate (pJ)."""
    return np.asarray(energy_pj, dtype=float) / np.asarray(macs, dtype=float)


def tops_per_w(energy_pj: float | np.ndarray, macs: float | np.ndarray) -> np.ndarray:
    """Tera-operations per second per watt (= ops per pJ), counting a MAC as 2 operations; independent of
    the clock, which scales operations per second and power alike."""
    return 2.0 * np.asarray(macs, dtype=float) / np.asarray(energy_pj, dtype=float)


def layer_energy(
    cfg: ArrayConfig,
    gemm,
    memory=None,
    *,
    calibration: Calibration,
    stats_a: np.ndarray | None = None,
    stats_b: np.ndarray | None = None,
    zero_frac: float | np.ndarray = 0.0,
    temperature_k: float = LEAK_T_REF_K,
    table: EnergyTable | None = None,
) -> LayerEnergy:
    """Energy of every layer per component class, vectorised over layers.

    Parameters
    ----------
    cfg : ArrayConfig
        Architecture, widths, zero gating, node, supply and clock.
    gemm : GemmArrays
        The layers (``GemmArrays.from_workload(workload)``).
    memory : MemoryResult, optional
        ``memory_cycles(cfg, gemm)`` if already computed (its tiles, accesses and cycles are used).
    calibration : Calibration
        Toggle coefficients (``systolic.formats.calibration.load_calibration()``).
    stats_a, stats_b : array ``[stat]`` or ``[layer, stat]``, optional
        Operand statistics of A and B (:func:`layer_stats` from real tensors). Without them: independent
        uniform operands at the configured widths with a share ``zero_frac`` of zeros in both A and B
        (:func:`default_stats`), the assumption for a network without data.
    zero_frac : float or array ``[layer]``
        Zero fraction of the default statistics (ignored for a tensor whose statistics are given).
    temperature_k : float
        Temperature for leakage.
    table : EnergyTable, optional
        Full-swing energy table; default :func:`build_table(cfg) <build_table>`.
    """
    from .memory import memory_cycles

    if memory is None:
        memory = memory_cycles(cfg, gemm)
    counts = activity_counts(cfg, gemm, memory)
    if stats_a is None:
        stats_a = default_stats(cfg.input_bits, cfg.input_signed, zero_frac)
    if stats_b is None:
        stats_b = default_stats(cfg.weight_bits, cfg.weight_signed, zero_frac)
    toggles = predict_toggles(cfg, counts, stats_a, stats_b, calibration)  # [layer, class]
    table = table or build_table(cfg)
    per_toggle = energy_per_toggle_pj(cfg, counts, calibration, table)  # [layer, class]
    dynamic = toggles * per_toggle
    full = table.energy_by_class(action_counts(cfg, counts))  # [layer, class] at full swing
    activity = np.divide(dynamic, full, out=np.zeros_like(dynamic), where=full > 0)
    seconds = counts.cycles / cfg.clock_hz  # [layer]
    leak = seconds[:, None] * leakage_w(cfg, temperature_k)[None, :] * 1e12  # [layer, class]
    return LayerEnergy(
        dynamic_pj=dynamic,
        leakage_pj=leak,
        toggles=toggles,
        activity=activity,
        macs=counts.macs,
        cycles=counts.cycles,
        clock_hz=cfg.clock_hz,
    )
