"""Counts, energy and latency of an analog in-memory crossbar core, per layer, from its components.

Pure functions of an :class:`~systolic.analog_config.AnalogConfig` and the layers' GEMM shapes
(:class:`~systolic.model.cycles.GemmArrays`), vectorised over layers. Energy is Accelergy's product,
action counts x energy per action, with the component classes of CiMLoop's view of a crossbar macro:

=============  =====================================================================================
``dac``        one word line driven for one input slice (``2**dac_bits - 1`` unit 1-bit conversions)
``cell``       one cell conducting in one read
``adc``        one bit line digitised (Walden: ``adc_fj_per_step x 2**adc_bits``)
``shift_add``  one ADC sample shifted to its place value and added
``accumulate`` one ``acc_bits`` addition of partial sums from two crossbars (K > rows)
=============  =====================================================================================

Mapping (weights stationary, as in ISAAC): a layer's K x N weights take ``ceil(K / rows)`` row tiles
times ``ceil(N x cols_per_weight / cols)`` column tiles of crossbars, per ``repeat``. Every input vector
(one row of the im2col A) is applied ``input_slices`` times; each read lasts
``max(read_s, cols_per_adc / adc_rate_hz)`` (the ADC shared by ``cols_per_adc`` bit lines converts them
one after another while the next read settles), and all crossbars of a layer read in parallel. A layer
needing more crossbars than the core has runs in waves, reprogramming between them. When the whole
network fits, the weights are programmed once and the programming is a one-time cost; otherwise every
inference reprograms every layer. Programming is limited by the write current: the core writes at most
``program_parallel_cells`` cells in one pulse, and a crossbar one row at a time. Layers run one after
another (no inter-layer pipeline): a conservative latency.

Default energies come from ISAAC at 32 nm (see :mod:`systolic.analog_config`); the DAC, ADC and
shift-and-add energies scale to the configured node and supply with the same Stillmaker & Baas factors
as the digital array (:func:`systolic.model.energy.energy_scale`), cell energies do not (device physics),
and the digital accumulator's adder is Horowitz's, as in the digital array's table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from systolic.analog_config import AnalogConfig
from systolic.config import ArrayConfig

from . import energy as en
from .cycles import GemmArrays
from .floorplan import Floorplan
from .power import integrate

#: The analog core's component classes, in the one order every ``[..., class]`` array here uses.
ANALOG_CLASSES: tuple[str, ...] = ("dac", "cell", "adc", "shift_add", "accumulate")


def periphery_scale(cfg: AnalogConfig) -> float:
    """Factor from the published converter energies (at ``energy_node_nm``, its nominal supply) to the
    configured node and supply."""
    ref = en.energy_scale(cfg.energy_node_nm, en.nominal_vdd_v(cfg.energy_node_nm))
    return en.energy_scale(cfg.tech_node_nm, cfg.vdd_v) / ref


def energy_per_action_pj(cfg: AnalogConfig) -> np.ndarray:
    """Energy of one action of each class ``[class]`` (pJ), in :data:`ANALOG_CLASSES` order."""
    scale = periphery_scale(cfg)
    return np.array(
        [
            cfg.dac_pj * ((1 << cfg.dac_bits) - 1) * scale,
            cfg.cell_read_fj * 1e-3,
            cfg.adc_fj_per_step * 1e-3 * 2.0**cfg.adc_bits * scale,
            cfg.shift_add_pj * scale,
            float(en.add_energy_pj(cfg.acc_bits)) * en.energy_scale(cfg.tech_node_nm, cfg.vdd_v),
        ]
    )


def program_pulse_pj(cfg: AnalogConfig) -> float:
    """Energy of one programming pulse into a fully-on cell: ``V**2 x G_on x t`` (pJ)."""
    return cfg.program_v**2 * cfg.g_on_s * cfg.program_pulse_s * 1e12


def read_period_s(cfg: AnalogConfig) -> float:
    """Time between two crossbar reads: the read itself or the shared ADC's conversions, the longer."""
    return max(cfg.read_s, cfg.cols_per_adc / cfg.adc_rate_hz)


@dataclass(frozen=True)
class AnalogResult:
    """Counts, energy and latency of each layer on an analog core (``[layer]`` unless noted).

    Attributes
    ----------
    counts : np.ndarray, shape [layer, class]
        Actions per inference of each :data:`ANALOG_CLASSES` class.
    energy_pj : np.ndarray, shape [layer, class]
        ``counts x energy per action``, per inference, programming excluded.
    macs, crossbars, waves : np.ndarray
        MACs, crossbars the layer's weights occupy, and passes over the core it needs.
    compute_s : np.ndarray
        Time of the layer's reads.
    program_pj, program_s : np.ndarray
        Energy and time of programming the layer's weights once.
    resident : bool
        Whether every layer's weights fit in the core at once (then programming is a one-time cost).
    core_crossbars : int
        Crossbars in the core (where the layers' crossbars are placed: :func:`crossbar_share`).
    """

    counts: np.ndarray
    energy_pj: np.ndarray
    macs: np.ndarray
    crossbars: np.ndarray
    waves: np.ndarray
    compute_s: np.ndarray
    program_pj: np.ndarray
    program_s: np.ndarray
    resident: bool
    core_crossbars: int

    @property
    def inference_pj(self) -> np.ndarray:
        """Energy per inference ``[layer]``: reads, plus reprogramming when the weights do not stay."""
        total = self.energy_pj.sum(axis=1)
        return total if self.resident else total + self.program_pj

    @property
    def latency_s(self) -> np.ndarray:
        """Time per inference ``[layer]``: reads, plus reprogramming when the weights do not stay."""
        return self.compute_s if self.resident else self.compute_s + self.program_s

    def pj_per_mac(self) -> float:
        """Whole-network energy per MAC (pJ) per inference."""
        return float(self.inference_pj.sum() / self.macs.sum())


def analog_layers(cfg: AnalogConfig, gemm: GemmArrays) -> AnalogResult:
    """Counts, energy and latency of each layer of ``gemm`` (one inference) on the analog core ``cfg``."""
    m, n, k, rep = (np.asarray(a, dtype=np.int64) for a in (gemm.m, gemm.n, gemm.k, gemm.repeat))
    cpw, s_in = cfg.cols_per_weight, cfg.input_slices
    row_tiles = -(-k // cfg.rows)  # [layer]
    col_tiles = -(-(n * cpw) // cfg.cols)  # [layer]
    crossbars = row_tiles * col_tiles * rep  # [layer]
    waves = -(-crossbars // cfg.crossbars)  # [layer]
    vectors = m * rep  # [layer] input vectors
    bit_lines = n * cpw  # [layer] bit lines in use per row tile
    counts = np.stack(
        [
            vectors * s_in * k * col_tiles,  # dac: every word line of every column tile
            vectors * s_in * k * bit_lines,  # cell
            vectors * s_in * row_tiles * bit_lines,  # adc
            vectors * s_in * row_tiles * bit_lines,  # shift_add
            vectors * n * (row_tiles - 1),  # accumulate
        ],
        axis=1,
    ).astype(np.float64)  # [layer, class]
    energy = counts * energy_per_action_pj(cfg)[None, :]  # [layer, class]
    # A wave reads every input vector slice by slice on all its crossbars at once (the repeats of a
    # grouped layer sit on crossbars of their own); the waves of a layer run one after another.
    compute_s = waves * m * s_in * read_period_s(cfg)  # [layer]
    cells = k * bit_lines * rep  # [layer]
    program_pj = cells.astype(np.float64) * cfg.program_pulses * program_pulse_pj(cfg)
    program_s = program_pulses(cfg, cells, crossbars, np.minimum(k, cfg.rows)) * cfg.program_pulse_s
    return AnalogResult(
        counts=counts,
        energy_pj=energy,
        macs=(m * n * k * rep).astype(np.float64),
        crossbars=crossbars,
        waves=waves,
        compute_s=compute_s.astype(np.float64),
        program_pj=program_pj,
        program_s=program_s.astype(np.float64),
        resident=bool(crossbars.sum() <= cfg.crossbars),
        core_crossbars=cfg.crossbars,
    )


def program_pulses(
    cfg: AnalogConfig, cells: np.ndarray, crossbars: np.ndarray, rows_used: np.ndarray
) -> np.ndarray:
    """Programming pulses of each layer ``[layer]`` (write-verify pulses included), wave by wave.

    A wave of ``c`` cells takes ``max(rows_used, ceil(c / program_parallel_cells)) x program_pulses``
    pulses: the write drivers write at most ``program_parallel_cells`` cells of the core at once, and a
    crossbar writes one row at a time. A layer's ``cells`` are spread evenly over its ``crossbars``; a
    full wave holds ``cfg.crossbars`` of them, the last wave the rest.
    """
    cells, crossbars = np.asarray(cells, dtype=np.int64), np.asarray(crossbars, dtype=np.int64)
    full = (crossbars - 1) // cfg.crossbars  # [layer] full waves before the last one
    last = crossbars - full * cfg.crossbars  # [layer] crossbars in the last wave
    per = crossbars * cfg.program_parallel_cells  # [layer]
    full_pulses = np.maximum(rows_used, -(-(cells * cfg.crossbars) // per))  # [layer] per full wave
    last_pulses = np.maximum(rows_used, -(-(cells * last) // per))  # [layer]
    return (full * full_pulses + last_pulses) * cfg.program_pulses


def digital_pj_per_mac(
    node_nm: float, vdd_v: float, input_bits: int, weight_bits: int, acc_bits: int, ternary: bool = False
) -> float:
    """Energy per MAC of the digital systolic array's PE at the same node, supply and precision (pJ).

    The same scope as the analog core (no SRAM, no DRAM): one multiply, one ``acc_bits`` accumulate, an
    input moving one PE and a partial sum moving one PE (weight stationary), from the digital model's
    full-swing table (:func:`systolic.model.energy.build_table`: Horowitz, ISSCC 2014, scaled by
    Stillmaker & Baas) at the activity of random operands (:data:`~systolic.model.energy.REFERENCE_ACTIVITY`).
    ``ternary``: the ternary-weight PE (``weight_format = "ternary"``: a sign select, no multiplier).
    """
    cfg = ArrayConfig(
        weight_format="ternary" if ternary else "int",
        input_bits=max(2, input_bits),
        weight_bits=max(2, weight_bits),
        acc_bits=max(acc_bits, max(2, input_bits) + max(2, weight_bits)),
        tech_node_nm=node_nm,
        vdd_v=vdd_v,
    )
    table = en.build_table(cfg)
    keys = ("mult.multiply", "acc.accumulate", "fwd.input_hop", "fwd.psum_hop")
    full = sum(float(table.energy_pj[table.index(*key.split("."))]) for key in keys)
    return full * en.REFERENCE_ACTIVITY


# --------------------------------------------------------------------------- area, floorplan, power over time

#: Areas of ISAAC's components at 32 nm (Shafiee et al., ISCA 2016, Table I, one IMA: 8 crossbars of
#: 128 x 128 with 8 x 128 1-bit DACs and sample-and-holds, 8 ADCs of 8 bits at 1.2 GS/s, 4 shift-and-add
#: units, a 2 KB input and a 256 B output register; 12 such IMAs are 0.157 mm2), per unit below, mm2.
ISAAC_AREA_MM2: dict[str, float] = {
    "cell": 0.0002 / (8 * 128 * 128),  # memristor arrays: 0.0002 mm2 for 8 crossbars of 128 x 128 cells
    "dac": 0.00017 / (8 * 128),  # 8 x 128 1-bit DACs: 0.00017 mm2
    "sample_hold": 0.00004 / (8 * 128),  # 8 x 128 sample-and-holds: 0.00004 mm2
    "adc": 0.0096 / 8,  # 8 ADCs, 8 bits: 0.0096 mm2
    "shift_add": 0.00024 / 4,  # 4 shift-and-add units: 0.00024 mm2
    "buffers": 0.0021 + 0.00077,  # input (2 KB) and output (256 B) registers of one IMA
}
#: ISAAC's ADC resolution and its crossbars per IMA (the grouping of the floorplan below).
ISAAC_ADC_BITS = 8
CROSSBARS_PER_GROUP = 8
#: Block kinds of the analog floorplan and the energy classes whose power each dissipates.
BLOCK_CLASSES: dict[str, tuple[str, ...]] = {
    "xbar": ("dac", "cell", "programming"),
    "adc": ("adc", "shift_add"),
    "periph": ("accumulate",),
}
#: The energy classes of an analog run: the read classes and the programming of the weights.
RUN_CLASSES: tuple[str, ...] = (*ANALOG_CLASSES, "programming")


def group_areas_mm2(cfg: AnalogConfig) -> dict[str, float]:
    """Area (mm2) of one group of :data:`CROSSBARS_PER_GROUP` crossbars (an ISAAC IMA) by block kind.

    ``xbar``: the cells, DACs and sample-and-holds; ``adc``: the ADCs (area ~ ``2**adc_bits`` from ISAAC's
    8-bit one, the law its energy follows) and one shift-and-add unit per ADC; ``periph``: the IMA's input
    and output registers. CMOS parts scale with ``(tech_node_nm / 32)**2``; the cells do not (device).
    """
    a, n = ISAAC_AREA_MM2, CROSSBARS_PER_GROUP
    cmos = (cfg.tech_node_nm / cfg.energy_node_nm) ** 2
    adcs = n * cfg.cols / cfg.cols_per_adc
    return {
        "xbar": n * cfg.rows * cfg.cols * a["cell"]
        + n * cfg.rows * a["dac"] * cmos
        + n * cfg.cols * a["sample_hold"] * cmos,
        "adc": adcs * (a["adc"] * 2.0 ** (cfg.adc_bits - ISAAC_ADC_BITS) + a["shift_add"]) * cmos,
        "periph": a["buffers"] * cmos,
    }


def analog_floorplan(cfg: AnalogConfig) -> Floorplan:
    """A gap-free floorplan of the core: ``ceil(crossbars / 8)`` groups in a grid, each an ``xbar_g`` block
    (crossbars and DACs) beside an ``adc_g`` block (ADCs and shift-and-add), and one ``periph`` strip to
    the south (registers and the cross-crossbar accumulation) as wide as the grid.

    Every group has the average group's area (the last group's remainder spread over all); the last grid
    row's groups are wider and lower so that the rows tile the rectangle.
    """
    groups = -(-cfg.crossbars // CROSSBARS_PER_GROUP)
    share = cfg.crossbars / (groups * CROSSBARS_PER_GROUP)  # crossbars per group over a full group
    area = {k: v * 1e-6 * (share if k != "periph" else 1.0) for k, v in group_areas_mm2(cfg).items()}  # m2
    group_m2 = area["xbar"] + area["adc"]
    nx = math.ceil(math.sqrt(groups))
    ny = -(-groups // nx)
    side = math.sqrt(group_m2)
    width = nx * side
    g = np.arange(groups)
    row, col = g // nx, g % nx  # [group]
    in_row = np.where(row == ny - 1, groups - (ny - 1) * nx, nx)  # [group] groups in the group's row
    cell_w = width / in_row  # [group]
    cell_h = group_m2 / cell_w  # [group]
    row_h = np.array([cell_h[row == r][0] for r in range(ny)])  # [grid row]
    periph_h = groups * area["periph"] / width
    bottom = periph_h + np.concatenate(([0.0], np.cumsum(row_h[::-1])))[::-1][1:][row]  # north row first
    xbar_w = cell_w * area["xbar"] / group_m2
    names = [f"xbar_{i}" for i in g] + [f"adc_{i}" for i in g] + ["periph"]
    widths = [*xbar_w, *(cell_w - xbar_w), width]
    heights = [*cell_h, *cell_h, periph_h]
    lefts = [*(col * cell_w), *(col * cell_w + xbar_w), 0.0]
    bottoms = [*bottom, *bottom, 0.0]
    return Floorplan(tuple(names), np.array(widths), np.array(heights), np.array(lefts), np.array(bottoms))


@dataclass(frozen=True)
class AnalogTimeline:
    """The run as phases one after another: programming the weights, then each layer's reads.

    Attributes
    ----------
    start_s, end_s : np.ndarray, shape [phase]
    energy_pj : np.ndarray, shape [phase, class]
        Energy of each phase by :data:`RUN_CLASSES`.
    layer : np.ndarray of int, shape [phase]
        The layer a phase belongs to.
    """

    start_s: np.ndarray
    end_s: np.ndarray
    energy_pj: np.ndarray
    layer: np.ndarray


def analog_timeline(res: AnalogResult) -> AnalogTimeline:
    """One inference from unprogrammed crossbars: with resident weights every layer is programmed first
    (a one-time cost), then the layers read one after another; otherwise each layer is programmed just
    before its reads (every inference reprograms)."""
    n = res.macs.size
    program = np.zeros((n, len(RUN_CLASSES)))
    program[:, -1] = res.program_pj
    reads = np.concatenate([res.energy_pj, np.zeros((n, 1))], axis=1)  # [layer, class]
    if res.resident:
        order = np.concatenate([np.arange(n), np.arange(n)])
        durations = np.concatenate([res.program_s, res.compute_s])
        energy = np.concatenate([program, reads])
    else:
        order = np.repeat(np.arange(n), 2)
        durations = np.stack([res.program_s, res.compute_s], axis=1).ravel()
        energy = np.stack([program, reads], axis=1).reshape(2 * n, -1)
    end = np.cumsum(durations)
    return AnalogTimeline(np.concatenate([[0.0], end[:-1]]), end, energy, order)


def crossbar_share(res: AnalogResult) -> np.ndarray:
    """Share of each layer's crossbar work that falls in each group of :data:`CROSSBARS_PER_GROUP`
    crossbars ``[layer, group]`` (rows sum to 1): where the layer's weights sit.

    Resident weights are placed layer after layer from crossbar 0, each layer on crossbars of its own;
    otherwise every layer starts again at crossbar 0, its ``j``-th crossbar on crossbar ``j mod core``
    (waves refill the same crossbars). Every crossbar of a layer is taken as equally busy (a partly filled
    tile is counted as a full one), and the waves of a layer as one average over its phase.
    """
    n, core = res.crossbars.astype(np.int64), res.core_crossbars
    if res.resident:
        laps, start = np.zeros_like(n), np.concatenate([[0], np.cumsum(n)[:-1]])  # [layer]
        stop = start + n
    else:
        laps, start, stop = n // core, np.zeros_like(n), n % core  # [layer]
    lo = np.arange(0, core, CROSSBARS_PER_GROUP)  # [group] first crossbar of each group
    hi = np.minimum(lo + CROSSBARS_PER_GROUP, core)  # [group]
    overlap = np.clip(np.minimum(stop[:, None], hi) - np.maximum(start[:, None], lo), 0, None)
    busy = laps[:, None] * (hi - lo) + overlap  # [layer, group] crossbar instances per group
    return busy / busy.sum(axis=1, keepdims=True)


def block_power_w(tl: AnalogTimeline, share: np.ndarray, edges_s: np.ndarray, flp: Floorplan) -> np.ndarray:
    """Power per floorplan block ``[interval, block]`` over the intervals ``edges_s``.

    Each phase's crossbar classes (:data:`BLOCK_CLASSES`: ``xbar`` and ``adc`` blocks) go to the groups
    its layer occupies (``share`` from :func:`crossbar_share`), the ``periph`` classes to the periphery
    strip; then :func:`systolic.model.power.integrate` bins the phases' energies into the intervals.
    """
    kind_group = [name.split("_") for name in flp.names]  # [block] ("xbar", "3") or ("periph",)
    energy = np.zeros((tl.layer.size, len(flp.names)))  # [phase, block]
    for kind, classes in BLOCK_CLASSES.items():
        sel = np.array([kg[0] == kind for kg in kind_group])
        pj = tl.energy_pj[:, [RUN_CLASSES.index(c) for c in classes]].sum(axis=1)  # [phase]
        if kind == "periph":
            energy[:, sel] = pj[:, None] / sel.sum()
        else:
            groups = np.array([int(kg[1]) for kg in kind_group if kg[0] == kind])  # [block of kind]
            energy[:, sel] = pj[:, None] * share[tl.layer][:, groups]
    binned = integrate(tl.start_s, tl.end_s - tl.start_s, energy, edges_s)  # [interval, block] pJ
    return binned * 1e-12 / np.diff(edges_s)[:, None]
