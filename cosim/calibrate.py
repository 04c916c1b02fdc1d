"""Calibration of the energy model's activity against the RTL's own toggles (``systolic calibrate``).

The calibration set (:func:`calibration_set`) spans what users run: arrays from 4x4 to 16x16, int4, int8
and int16 operands, the three dataflows, with and without zero gating, and data from synthetic
distributions to real images, ReLU feature maps and trained weights (:mod:`.calibration_data`). Each
configuration is built once for Icarus Verilog with a VCD dump and runs all its layers in one simulator
process (:func:`simulate`); the toggles of each layer are the VCD's per-cycle windows between the layer's
boundaries (:func:`systolic.cosim.toggles.count_toggles`). Configurations run in parallel worker processes
(``jobs``), each building, simulating, extracting and computing its layers' features
(:func:`systolic.model.energy.toggle_features` of the model's counts and
:func:`~systolic.model.energy.layer_stats` of the operands).

The coefficients are fitted per dataflow on the training layers only. Held out, and never fitted: whole
array sizes (:data:`HELD_OUT_ARRAYS` configurations), whole data sources
(:data:`~.calibration_data.HELD_OUT_SOURCES`: photographs and their ReLU feature maps) and, on the fitted
configurations, layer shapes drawn for validation. The split is drawn from a seed, never chosen by hand.
:func:`error_table` prints the per-layer error distribution (median, 90th percentile and worst of the
absolute relative error) per class and in total, and the error of sums. ``systolic calibrate --wide`` adds
a held-out group outside ``make calibrate``'s default run: 32x32 accelerators on Verilator
(:data:`WIDE_ARRAYS`, :func:`wide_set`, :func:`wide_text`), which change neither the fit nor the file.

Icarus is the simulator because it is the fastest here for this job (measured on 2 cores): its build
takes about a second, where Verilator's C++ build takes 25-30 s per configuration (minutes at 16x16), which
runs of a few thousand cycles never earn back; amaranth.sim is faster still, but it is not the Verilog,
and its VCD holds other nets than the generated Verilog has.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from systolic.config import ArrayConfig, Dataflow
from systolic.errors import InputError
from systolic.fileio import atomic_write_json

from .calibration_data import HELD_OUT_SOURCES, SOURCES, source_operands

ENV_VAR = "SYSTOLIC_CALIBRATE"
CLOCK_NS = 10
TB_MODULE = "systolic.cosim.calibrate"
#: Held-out layers smaller than this are not in the error distributions (the goal is stated for layers of
#: at least this many MACs; tiny layers are mostly fill and drain).
MIN_MACS = 4096


# --------------------------------------------------------------------------- the calibration set


def make_config(
    rows: int, cols: int, dataflow: str, bits: int, gating: bool, bw: int = 4, ternary: bool = False
) -> ArrayConfig:
    """A small accelerator whose buffers hold a few tiles, so layers run several steps out of DRAM: each
    half of an operand buffer holds 12 lines of the array port's width (at least as many as the array
    has rows and columns), of the ofmap buffer 8 (at least
    one fold's: as many as the array has rows). ``bits`` is the width of both operands, or with
    ``ternary`` of the activations (the weights are ternary: two signed bits, ``weight_format``)."""
    acc = min(4 * bits, 48)
    lanes = max(rows, cols)
    lines = max(12, rows, cols)
    word = math.ceil(bits / 8)
    kind = "-ternary" if ternary else ""
    return ArrayConfig(
        name=f"cal-{dataflow}{rows}x{cols}-int{bits}{kind}{'-zg' if gating else ''}",
        rows=rows,
        cols=cols,
        dataflow=Dataflow(dataflow),
        input_bits=bits,
        weight_bits=2 if ternary else bits,
        weight_format="ternary" if ternary else "int",
        acc_bits=acc,
        zero_gating=gating,
        word_bytes=word,
        ifmap_sram_bytes=2 * lines * lanes * word,
        filter_sram_bytes=2 * lines * lanes * word,
        ofmap_sram_bytes=2 * max(8, rows) * lanes * math.ceil(acc / 8),
        dram_bw_words_per_cycle=bw,
        dram_latency_cycles=4,
    )


def _configs(
    shape: tuple[int, int], variants: Sequence[tuple[int, bool, int]], ternary: bool = False
) -> list[ArrayConfig]:
    return [
        make_config(*shape, df, bits, g, bw, ternary) for df in ("os", "ws", "is") for bits, g, bw in variants
    ]


#: The fitted configurations: every dataflow on 4x4, 4x3 and 8x8 arrays, int4/int8/int16, with and
#: without zero gating, DRAM buses of 2, 4 and 8 words.
FITTED_ARRAYS: tuple[ArrayConfig, ...] = (
    *_configs((4, 4), ((8, False, 4), (8, True, 2), (16, False, 4))),
    *_configs((4, 3), ((4, True, 4),)),
    *_configs((8, 8), ((8, False, 8), (4, False, 4), (16, True, 4))),
)
#: Configurations of array sizes the fit never sees (16x16 and non-square 12x6), and of the ternary PE
#: (sign select, no multiplier; 2-bit weights, which no fitted configuration has) on a fitted array size
#: with int8 activations: validation only.
HELD_OUT_ARRAYS: tuple[ArrayConfig, ...] = (
    *_configs((16, 16), ((8, False, 8), (8, True, 4))),
    *_configs((12, 6), ((16, False, 4),)),
    *_configs((8, 8), ((8, False, 8),), ternary=True),
)
#: Data sources of the fitted layers; the held-out sources are added for validation.
FITTED_SOURCES: tuple[str, ...] = tuple(s for s in SOURCES if s not in HELD_OUT_SOURCES)
#: Held-out layers per fitted configuration with a fitted source but a shape of their own.
HELD_OUT_SHAPES = 2
#: Sources of the layers of the held-out arrays: fitted synthetic and real ones, and the held-out ones.
HELD_OUT_ARRAY_SOURCES: tuple[str, ...] = ("uniform", "relu", "digits-relu", "photo", "photo-relu")


@dataclass(frozen=True)
class Case:
    """One layer of the calibration set: its shape, data and whether the fit may see it."""

    config: int  # index into the configuration list
    m: int
    n: int
    k: int
    source: str
    seed: int  # of the layer's operands
    held_out: bool
    why: str = ""  # held out for: 'shape', 'source', 'array' or 'ternary' (weights)

    @property
    def label(self) -> str:
        return f"{self.m}x{self.n}x{self.k} {self.source}"

    @property
    def macs(self) -> int:
        return self.m * self.n * self.k


def _shape(
    cfg: ArrayConfig, rng: np.random.Generator, min_macs: int = 0, scale: int = 1
) -> tuple[int, int, int]:
    """M, N, K of a few folds in every dimension of ``cfg``'s array (at least ``min_macs`` MACs: drawn
    again, from ranges that grow by half every ten draws when a small array cannot reach it);
    ``scale`` 2 halves the ranges of folds (the large held-out arrays, whose simulation is slow)."""
    r, c = cfg.rows, cfg.cols
    big = max(r, c)
    grow = 1.0
    for attempt in range(1000):
        if attempt and attempt % 10 == 0:
            grow *= 1.5
        m = int(rng.integers(2 * big, 2 * big + int(grow * 3 * big / scale), endpoint=True))
        n = int(rng.integers(max(c, 4), max(c, 4) + int(grow * 2 * big / scale), endpoint=True))
        k = int(rng.integers(max(r, 9), max(r, 9) + int(grow * 2 * max(r, 8) / scale), endpoint=True))
        if m * n * k >= min_macs:
            return m, n, k
    raise InputError(f"no layer shape of at least {min_macs} MACs found for {cfg.name}")  # not reached


def calibration_set(
    fitted: Sequence[ArrayConfig] = FITTED_ARRAYS,
    held_arrays: Sequence[ArrayConfig] = HELD_OUT_ARRAYS,
    seed: int = 0,
    sources: Sequence[str] = FITTED_SOURCES,
    held_sources: Sequence[str] = HELD_OUT_SOURCES,
    held_shapes: int = HELD_OUT_SHAPES,
) -> list[Case]:
    """Every layer of the set, configurations ``fitted`` then ``held_arrays`` (``Case.config`` indexes
    that concatenation), with its shape, source and data seed drawn from ``seed``.

    A fitted configuration runs one training layer per fitted source, ``held_shapes`` layers of drawn
    fitted sources with their own shapes, and one layer per held-out source; a held-out configuration runs
    one smaller layer per source of :data:`HELD_OUT_ARRAY_SOURCES` (those of ``sources`` and
    ``held_sources``). Every layer has its own data seed.
    """
    rng = np.random.default_rng(seed)
    cases = []
    on_held_arrays = [s for s in HELD_OUT_ARRAY_SOURCES if s in (*sources, *held_sources)]
    for ci, cfg in enumerate([*fitted, *held_arrays]):
        if ci >= len(fitted):
            why = "ternary" if cfg.weight_format == "ternary" else "array"
            plan = [(s, True, why) for s in on_held_arrays]
        else:
            picked = rng.choice(len(sources), size=min(held_shapes, len(sources)), replace=False)
            plan = [(s, False, "") for s in sources]
            plan += [(sources[i], True, "shape") for i in picked.tolist()]
            plan += [(s, True, "source") for s in held_sources]
        for source, held, why in plan:
            m, n, k = _shape(cfg, rng, MIN_MACS if held else 0, 2 if why in ("array", "ternary") else 1)
            cases.append(Case(ci, m, n, k, source, int(rng.integers(2**31)), held, why))
    return cases


#: Held out as a group of its own and never in ``make calibrate``'s default run (``systolic calibrate
#: --wide``): 32x32 accelerators, twice the side of the largest held-out array and four times that of the
#: largest fitted one, int8, a DRAM bus of 8 words: WS, OS, WS with zero gating and IS (each configuration
#: costs a Verilator build with VCD tracing, 180-250 s of CPU, once per RTL). They run on Verilator
#: (:data:`WIDE_SIM`): on Icarus a 32x32 array simulates about ten times slower (README, "Speed"). Their
#: VCD is 73-80 KB a cycle, most of it nets no class counts (each PE's clock and port copies, Yosys's
#: intermediate nets), so the layers are kept small: a configuration's five layers (and their warm-ups)
#: are 35,000-41,000 cycles and 2.9-3.0 GB of VCD.
WIDE_ARRAYS: tuple[ArrayConfig, ...] = (
    make_config(32, 32, "ws", 8, False, 8),
    make_config(32, 32, "os", 8, False, 8),
    make_config(32, 32, "ws", 8, True, 8),
    make_config(32, 32, "is", 8, False, 8),
)
WIDE_SIM = "verilator"
#: One layer per source on every wide configuration: real data (the digits' im2col rows and the digits
#: CNN's ReLU maps with its trained weights, the photographs and their ReLU maps) and uniform data.
WIDE_SOURCES: tuple[str, ...] = ("uniform", "digits", "digits-relu", "photo", "photo-relu")
#: Inclusive ranges of the wide layers' M, K and N: several folds and tiles on a 32x32 array.
WIDE_M, WIDE_K, WIDE_N = (96, 192), (64, 128), (33, 64)


def wide_set(
    first_config: int,
    seed: int = 0,
    arrays: Sequence[ArrayConfig] = WIDE_ARRAYS,
    sources: Sequence[str] = WIDE_SOURCES,
) -> list[Case]:
    """The wide layers: one per source of ``sources`` on every configuration of ``arrays`` (``Case.config``
    counts from ``first_config``), shapes drawn from :data:`WIDE_M`, :data:`WIDE_K`, :data:`WIDE_N`; each
    configuration's draws are seeded by ``seed`` and its place in ``arrays``, so adding a configuration
    keeps the others' layers (and their kept toggles). Every case is held out, ``why='wide'``."""
    cases = []
    for i in range(len(arrays)):
        rng = np.random.default_rng([seed, 32, i])
        for source in sources:
            m, k, n = (int(rng.integers(lo, hi, endpoint=True)) for lo, hi in (WIDE_M, WIDE_K, WIDE_N))
            cases.append(Case(first_config + i, m, n, k, source, int(rng.integers(2**31)), True, "wide"))
    return cases


def wide_to_simulate(seed: int = 0, root: Path = Path("build")) -> int:
    """How many of :data:`WIDE_ARRAYS` have no toggles kept in ``root/calibrate`` for this RTL (what a
    ``--wide`` run will build and simulate)."""
    first = len(FITTED_ARRAYS) + len(HELD_OUT_ARRAYS)
    cases = wide_set(first, seed)
    return sum(
        not _cache_path(cfg, [c for c in cases if c.config == first + i], root, WIDE_SIM).exists()
        for i, cfg in enumerate(WIDE_ARRAYS)
    )


def case_operands(cfg: ArrayConfig, case: Case) -> tuple[np.ndarray, np.ndarray]:
    """The operands of one case (seeded)."""
    return source_operands(cfg, case.source, case.m, case.n, case.k, np.random.default_rng(case.seed))


# --------------------------------------------------------------------------- running the RTL


@dataclass(frozen=True)
class Measured:
    """Toggles of one layer on the RTL."""

    per_class: np.ndarray  # [class] of systolic.cosim.toggles.CLASSES
    cycles: int  # busy cycles (equal to the model's, checked, as are the outputs)
    per_cycle: np.ndarray | None = None  # [cycle, class] from the layer's first busy cycle, if asked


def simulate(
    cfg: ArrayConfig,
    operands: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    root: Path = Path("build"),
    run_name: str = "calibrate",
    per_cycle: bool = False,
    keep_vcd: bool = False,
    check_cycles: bool = True,
    sim: str = "icarus",
) -> tuple[list[Measured], dict]:
    """Run ``operands`` (one (A, B) pair per layer) on ``cfg``'s accelerator under ``sim`` (Icarus, or
    Verilator for arrays whose Icarus run would take too long) with a VCD, and count each layer's toggles
    (with ``per_cycle``, also per busy cycle).

    Returns the per-layer measurements and run statistics (wall times, VCD size, extraction seconds).
    Raises :class:`InputError` if the build or the run fails, a layer's output is wrong or (with
    ``check_cycles``) its RTL cycle count is not the model's.
    """
    from systolic.model.cycles import GemmArrays
    from systolic.model.memory import memory_cycles

    from .runner import build, run_testbench
    from .toggles import count_toggles, energy_rules

    t0 = time.perf_counter()
    bdir = build(cfg, sim, waves=True, root=root, top="accel")
    t_build = time.perf_counter() - t0
    tdir = bdir / "runs" / run_name
    tdir.mkdir(parents=True, exist_ok=True)
    vcd = tdir / ("waves.vcd" if sim == "icarus" else "dump.vcd")
    vcd.unlink(missing_ok=True)
    arrays = {f"{x}{i}": v for i, pair in enumerate(operands) for x, v in zip("ab", pair, strict=True)}
    spec = {"config": cfg.to_dict(), "layers": [[f"a{i}", f"b{i}"] for i in range(len(operands))]}
    measured, log, t_sim = run_testbench(
        cfg, sim, bdir, tdir, TB_MODULE, "systolic_accel", ENV_VAR, spec,
        waves=True, what="calibration run", arrays=arrays,
    )  # fmt: skip
    got = measured["layers"]
    if len(got) != len(operands):
        raise InputError(f"{sim} calibration run finished {len(got)} of {len(operands)} layers; see {log}")
    period_s = CLOCK_NS * 1e-9
    counts = count_toggles(
        vcd, window_cycles=1, clock_period_s=period_s, rules=energy_rules(cfg.dataflow.value)
    )  # one window per clock cycle
    if not keep_vcd:
        vcd.unlink()  # hundreds of MB for the whole set; the counts are what is kept
    ends = [int(g["end_ps"] * 1e-12 / period_s) + 1 for g in got]
    starts = [0, *ends[:-1]]
    gemm = GemmArrays.of(
        [a.shape[0] for a, _ in operands],
        [b.shape[1] for _, b in operands],
        [a.shape[1] for a, _ in operands],
    )
    model_cycles = memory_cycles(cfg, gemm).cycles_per_gemm.tolist()
    out = []
    for i, (g, lo, hi) in enumerate(zip(got, starts, ends, strict=True)):
        if not g["outputs_ok"] or (check_cycles and g["cycles"] != model_cycles[i]):
            raise InputError(
                f"layer {i}: outputs {'right' if g['outputs_ok'] else 'WRONG'}, RTL {g['cycles']} cycles "
                f"against the model's {model_cycles[i]}: the RTL does not match the model",
                cfg.name,
            )
        window = counts.per_window[lo:hi]
        busy = None
        if per_cycle:
            first = int(g["start_ps"] * 1e-12 / period_s)
            busy = counts.per_window[first : first + int(g["cycles"])]
        out.append(Measured(window.sum(axis=0), int(g["cycles"]), busy))
    stats = {"build_s": t_build, "sim_s": t_sim, "vcd_bytes": counts.bytes_read, "extract_s": counts.seconds}
    return out, stats


#: Shape of the layer that precedes each source's layers in a run and is not measured: the SRAMs keep the
#: previous layer's data, and stale words on their ports make a layer's toggles depend on what ran
#: before it (a Gaussian layer after a uniform one toggles the ifmap SRAM 1.8x as much as after another
#: Gaussian layer, measured). A warm-up layer of the same source makes the state what it is in a network,
#: where neighbouring layers carry alike data. In array folds: (M, N, K) = (R, C, R), at least 9 deep.
WARMUP_FOLDS = 1


def _warmup(cfg: ArrayConfig, source: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    r, c = cfg.rows, cfg.cols
    shape = (WARMUP_FOLDS * r, WARMUP_FOLDS * c, max(WARMUP_FOLDS * r, 9))
    return source_operands(cfg, source, *shape, np.random.default_rng([seed, 7]))


def _cache_path(cfg: ArrayConfig, cases: Sequence[Case], root: Path, sim: str = "icarus") -> Path:
    """Where the measured toggles of these layers on this RTL are kept: keyed on the generator's source
    (hdl/ and the vocabulary), the config, the layers, the counting rules and the simulator (named in the
    key only when it is not Icarus, so the calibration set's keys stay what they were), so any change of
    the RTL or of what is counted measures anew."""
    import hashlib
    import json

    from .runner import generator_digest
    from .toggles import energy_rules

    rules = [list(r) for r in energy_rules(cfg.dataflow.value)]  # what is counted, as well as what runs
    key = [generator_digest(), cfg.to_json(), [c.__dict__ for c in cases], WARMUP_FOLDS, rules]
    if sim != "icarus":
        key.append(sim)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return root / "calibrate" / f"{cfg.slug}-{digest}.npz"


def run_config(
    cfg: ArrayConfig, cases: Sequence[Case], root: Path, fresh: bool = False, sim: str = "icarus"
) -> dict:
    """Simulate one configuration's layers (each source's layers after a warm-up layer of that source)
    and return per case the measured toggles, the features and the counts, and the stats of the run.
    Measured toggles are kept in ``root/calibrate`` and reused while the RTL and the layers are the same
    (a refit after a model change simulates nothing). ``agree`` says per case whether the RTL took the
    model's cycles (a layer where it did not is left out of the fit and the tables: its counts are not
    the RTL's). Runs in a worker process."""
    from systolic.model import energy as en
    from systolic.model.cycles import GemmArrays
    from systolic.model.memory import memory_cycles

    cache = _cache_path(cfg, cases, root, sim)
    order, operands = [], []
    for source in dict.fromkeys(c.source for c in cases):
        operands.append(_warmup(cfg, source, cases[0].seed))
        order.append(-1)
        for i, c in enumerate(cases):
            if c.source == source:
                operands.append(case_operands(cfg, c))
                order.append(i)
    t = time.perf_counter()
    if cache.exists() and not fresh:
        with np.load(cache) as kept:
            per_class, cycles = kept["per_class"], kept["cycles"]
        got = [Measured(p, int(c)) for p, c in zip(per_class, cycles, strict=True)]
        stats = {"build_s": 0.0, "sim_s": 0.0, "vcd_bytes": 0, "extract_s": 0.0, "cached": True}
    else:
        run_name = f"calibrate-{cache.stem[-16:]}"
        got, stats = simulate(cfg, operands, root=root, run_name=run_name, check_cycles=False, sim=sim)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, per_class=np.stack([m.per_class for m in got]), cycles=[m.cycles for m in got])
        tmp.replace(cache)
    n = len(en.COMPONENT_CLASSES)
    measured = np.zeros((len(cases), n))
    features = np.zeros((len(cases), n, en.N_TOGGLE_FEATURES))
    counts = [None] * len(cases)
    stat_rows = np.zeros((len(cases), len(en.STAT_COLUMNS)))
    agree = np.zeros(len(cases), dtype=bool)
    for i, (a, b), m in zip(order, operands, got, strict=True):
        if i < 0:
            continue
        c = cases[i]
        gemm = GemmArrays.of(c.m, c.n, c.k)
        memory = memory_cycles(cfg, gemm)
        agree[i] = m.cycles == int(memory.cycles[0])
        counts[i] = en.activity_counts(cfg, gemm, memory)
        stat_rows[i] = en.layer_stats(cfg, a, b, tile_k=int(memory.schedule.plan.tk[0]))
        features[i] = en.toggle_features(cfg, counts[i], stat_rows[i])[0]
        measured[i] = m.per_class[:n]
    stats["wall_s"] = time.perf_counter() - t
    stats["cycles"] = sum(m.cycles for m in got)
    return {
        "measured": measured,
        "features": features,
        "counts": counts,
        "stats": stats,
        "rows": stat_rows,
        "agree": agree,
    }


@dataclass(frozen=True)
class CalibrationResult:
    """A fitted calibration with the data it was fitted and validated on."""

    calibration: object  # systolic.model.energy.Calibration
    configs: list[ArrayConfig]
    cases: list[Case]
    features: np.ndarray  # [case, class, feature] regressors
    measured: np.ndarray  # [case, class] toggles of the energy model's classes
    predicted: np.ndarray  # [case, class] by the fitted coefficients
    energy_per_toggle_pj: np.ndarray  # [case, class] pJ per toggle (the classes' weights in the total)
    seconds: dict
    agree: np.ndarray | None = None  # [case] the RTL took the model's cycles (None: every case)

    def mask(self, held: bool = True, why: str | None = None, min_macs: int = 0) -> np.ndarray:
        """The cases of a group (held out or fitted, why held out, at least ``min_macs`` MACs), without
        those whose RTL cycles differ from the model's. ``why=None`` is every group of the calibration set
        proper: the wide layers (``systolic calibrate --wide``) only count when asked for by name."""
        ok = np.ones(len(self.cases), dtype=bool) if self.agree is None else self.agree
        return ok & np.array(
            [
                c.held_out == held
                and (c.why == why or (why is None and c.why != "wide"))
                and c.macs >= min_macs
                for c in self.cases
            ]
        )

    def disagreeing(self, why: str | None = None) -> list[str]:
        """``config: MxNxK source`` of every case whose RTL cycles differ from the model's, of the
        calibration set proper (``why=None``) or of held-out group ``why``."""
        if self.agree is None:
            return []
        return [
            f"{self.configs[c.config].name}: {c.label}"
            for c, ok in zip(self.cases, self.agree, strict=True)
            if not ok and (c.why == why if why is not None else c.why != "wide")
        ]

    def layer_errors(self, sel: np.ndarray) -> np.ndarray:
        """Relative error of each selected layer ``[layer, class + total]`` (total weighted by energy)."""
        meas, pred, w = self.measured[sel], self.predicted[sel], self.energy_per_toggle_pj[sel]
        per = (pred - meas) / np.maximum(meas, 1.0)
        total = ((pred - meas) * w).sum(axis=1) / (meas * w).sum(axis=1)
        return np.column_stack([per, total])

    def sum_errors(self, sel: np.ndarray) -> np.ndarray:
        """Relative error of the sums over the selected layers ``[class + total]``."""
        meas, pred, w = self.measured[sel], self.predicted[sel], self.energy_per_toggle_pj[sel]
        per = pred.sum(axis=0) / np.maximum(meas.sum(axis=0), 1.0) - 1
        return np.r_[per, (pred * w).sum() / (meas * w).sum() - 1]

    def held_out_errors(self) -> dict[str, float]:
        """Error of sums over the held-out layers of at least :data:`MIN_MACS` MACs, per class and total."""
        from systolic.model.energy import COMPONENT_CLASSES

        e = self.sum_errors(self.mask(True, min_macs=MIN_MACS))
        return dict(zip((*COMPONENT_CLASSES, "total"), e.tolist(), strict=True))

    def training_errors(self) -> dict[str, float]:
        from systolic.model.energy import COMPONENT_CLASSES

        e = self.sum_errors(self.mask(False))
        return dict(zip((*COMPONENT_CLASSES, "total"), e.tolist(), strict=True))


def _run_all(
    configs: Sequence[ArrayConfig],
    sims: Sequence[str],
    cases: Sequence[Case],
    root: Path,
    jobs: int,
    fresh: bool,
    say: Callable[[str], None],
) -> tuple[np.ndarray, np.ndarray, list, np.ndarray, dict]:
    """Run every configuration's cases (:func:`run_config`, configuration ``ci`` under ``sims[ci]``): the
    Icarus ones ``jobs`` at a time, the Verilator ones one at a time beside them (one C++ build at once).
    Returns ``measured [case, class]``, ``features [case, class, feature]``, the counts and ``agree`` per
    case, and the run's summed seconds and VCD bytes."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from systolic.model import energy as en

    n = len(en.COMPONENT_CLASSES)
    measured = np.zeros((len(cases), n))
    features = np.zeros((len(cases), n, en.N_TOGGLE_FEATURES))
    layer_counts: list = [None] * len(cases)
    agree = np.ones(len(cases), dtype=bool)
    totals = {"sim_s": 0.0, "extract_s": 0.0, "vcd_bytes": 0}
    mine = {ci: [i for i, c in enumerate(cases) if c.config == ci] for ci in range(len(configs))}
    # the largest arrays first, so that the pool's last jobs are short ones
    order = sorted(mine, key=lambda ci: -configs[ci].rows * configs[ci].cols)
    verilator = [ci for ci in order if sims[ci] != "icarus"]
    icarus_jobs = max(1, jobs - 1) if verilator else max(1, jobs)
    with (
        ProcessPoolExecutor(max_workers=icarus_jobs) as pool,
        ProcessPoolExecutor(max_workers=1) as one,
    ):
        futures = {
            (one if ci in verilator else pool).submit(
                run_config, configs[ci], [cases[i] for i in mine[ci]], root, fresh, sims[ci]
            ): ci
            for ci in order
        }
        for done, fut in enumerate(as_completed(futures), 1):
            ci = futures[fut]
            got = fut.result()
            for j, i in enumerate(mine[ci]):
                measured[i], features[i], layer_counts[i], agree[i] = (
                    got["measured"][j],
                    got["features"][j],
                    got["counts"][j],
                    got["agree"][j],
                )
            st = got["stats"]
            totals["sim_s"] += st["sim_s"] + st["build_s"]
            totals["extract_s"] += st["extract_s"]
            totals["vcd_bytes"] += st["vcd_bytes"]
            kept = " (toggles kept from an earlier run of the same RTL)" if st.get("cached") else ""
            say(
                f"  [{done}/{len(configs)}] {configs[ci].name} ({sims[ci]}): {len(mine[ci])} layers, "
                f"{st['cycles']:,} cycles, VCD {st['vcd_bytes'] / 1e6:.0f} MB, {st['wall_s']:.1f} s{kept}"
            )
    return measured, features, layer_counts, agree, totals


def fit_coefficients(
    configs: Sequence[ArrayConfig],
    cases: Sequence[Case],
    features: np.ndarray,
    measured: np.ndarray,
    agree: np.ndarray,
) -> np.ndarray:
    """Toggle coefficients ``[dataflow, class, feature]`` fitted per dataflow on the training layers only:
    no held-out case (of any group, the wide layers too) and no case whose RTL cycles differ from the
    model's enters the fit."""
    from systolic.model import energy as en

    held = np.array([c.held_out for c in cases])
    df_of = np.array([configs[c.config].dataflow.value for c in cases])
    coeffs = np.zeros((len(en.DATAFLOWS), len(en.COMPONENT_CLASSES), en.N_TOGGLE_FEATURES))
    for d, df in enumerate(en.DATAFLOWS):
        train = (df_of == df) & ~held & agree
        coeffs[d] = en.fit_toggles(features[train], measured[train])
    return coeffs


def calibrate(
    fitted: Sequence[ArrayConfig] = FITTED_ARRAYS,
    held_arrays: Sequence[ArrayConfig] = HELD_OUT_ARRAYS,
    *,
    seed: int = 0,
    sources: Sequence[str] = FITTED_SOURCES,
    held_sources: Sequence[str] = HELD_OUT_SOURCES,
    held_shapes: int = HELD_OUT_SHAPES,
    wide: Sequence[ArrayConfig] = (),
    root: Path = Path("build"),
    jobs: int = 2,
    fresh: bool = False,
    progress: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Run the calibration set on the RTL, fit the toggle coefficients on its training layers and predict
    every layer; ``jobs`` configurations simulate at once, ``fresh`` simulates even layers whose toggles
    on the same RTL are kept (:func:`run_config`). ``fitted`` must cover every dataflow. ``wide``
    configurations (:data:`WIDE_ARRAYS`) add the held-out group ``'wide'`` (:func:`wide_set`, on
    :data:`WIDE_SIM`); it changes neither the fit nor the calibration file."""
    from systolic.model import energy as en

    configs = [*fitted, *held_arrays, *wide]
    sims = ["icarus"] * (len(fitted) + len(held_arrays)) + [WIDE_SIM] * len(wide)
    missing = [df for df in en.DATAFLOWS if df not in {c.dataflow.value for c in fitted}]
    if missing:
        raise InputError(f"the calibration set has no configuration for dataflow(s) {', '.join(missing)}")
    cases = calibration_set(fitted, held_arrays, seed, sources, held_sources, held_shapes)
    cases += wide_set(len(fitted) + len(held_arrays), seed, wide)
    start = time.perf_counter()
    say = progress or (lambda _msg: None)
    measured, features, layer_counts, agree, totals = _run_all(configs, sims, cases, root, jobs, fresh, say)
    coeffs = fit_coefficients(configs, cases, features, measured, agree)
    df_of = [configs[c.config].dataflow.value for c in cases]
    predicted = np.einsum("scf,scf->sc", features, coeffs[[en.DATAFLOWS.index(df) for df in df_of]])
    fitted_cal = en.Calibration(coeffs)
    per_toggle = np.concatenate(
        [
            en.energy_per_toggle_pj(
                configs[c.config], k, fitted_cal, reference_stats=_reference(configs[c.config], c)
            )
            for c, k in zip(cases, layer_counts, strict=True)
        ]
    )  # [case, class]: weights of the classes in the total
    held = np.array([c.held_out and c.why != "wide" for c in cases])
    train = np.array([not c.held_out for c in cases])
    info = {
        "calibration_set": {
            "seed": seed,
            "configs": [c.name for c in fitted],
            "held_out_configs": [c.name for c in held_arrays],
            "sources": list(sources),
            "held_out_sources": list(held_sources),
            "layers": int((train & agree).sum()),
            "held_out_layers": int((held & agree).sum()),
            "left_out_rtl_cycles_differ": int((~agree & (train | held)).sum()),
            "simulator": "icarus",
        },
    }
    totals["total_s"] = time.perf_counter() - start
    result = CalibrationResult(
        en.Calibration(coeffs, info), configs, cases, features, measured, predicted, per_toggle, totals, agree
    )
    info["held_out_error_of_sums"] = {k: round(v, 4) for k, v in result.held_out_errors().items()}
    return result


def _reference(cfg: ArrayConfig, case: Case) -> np.ndarray:
    from systolic.model import energy as en
    from systolic.model.cycles import GemmArrays
    from systolic.model.memory import memory_cycles

    tk = memory_cycles(cfg, GemmArrays.of(case.m, case.n, case.k)).schedule.plan.tk
    return en.default_stats(cfg, case.k, 0.0, tk)


def error_table(result: CalibrationResult, sel: np.ndarray, title: str) -> str:
    """Per-layer absolute relative errors of the selected layers (median, 90th percentile, worst) per
    class and in total (energy-weighted), with the error of sums."""
    from systolic.model.energy import COMPONENT_CLASSES

    if not sel.any():
        return f"{title}: no layers"
    err = np.abs(result.layer_errors(sel))  # [layer, class + total]
    sums = result.sum_errors(sel)
    lines = [
        f"{title}: {int(sel.sum())} layers",
        f"{'component':<12} {'median':>8} {'p90':>8} {'worst':>8} {'sum':>8}",
    ]
    for i, name in enumerate((*COMPONENT_CLASSES, "total")):
        e = err[:, i]
        lines.append(
            f"{name:<12} {100 * np.median(e):>7.1f}% {100 * np.quantile(e, 0.9):>7.1f}% "
            f"{100 * e.max():>7.1f}% {100 * sums[i]:>+7.1f}%"
        )
    return "\n".join(lines)


def validation_text(result: CalibrationResult) -> str:
    """The tables ``systolic calibrate`` prints: training layers, then every held-out group of layers of at
    least :data:`MIN_MACS` MACs."""
    parts = [error_table(result, result.mask(False), "fitted layers (training error)")]
    groups = (
        ("shape", "held out: fitted arrays and sources, unseen shapes"),
        ("source", "held out: unseen data sources (photographs, their ReLU maps)"),
        ("array", "held out: unseen array sizes (16x16, 12x6), every source"),
        ("ternary", "held out: ternary weights (8x8, int8 activations), every source"),
        (None, "held out: all"),
    )
    for why, title in groups:
        parts.append(error_table(result, result.mask(True, why, MIN_MACS), f"{title}, >= {MIN_MACS} MACs"))
    odd = result.disagreeing()
    if odd:
        parts.append(
            f"left out: {len(odd)} layers whose RTL cycles differ from the model's (a bug of the RTL or the "
            f"model, not of the calibration): {'; '.join(odd)}"
        )
    return "\n\n".join(parts)


def wide_text(result: CalibrationResult) -> str:
    """The wide group's tables (``systolic calibrate --wide``): all its layers, each configuration, each
    source, then one line per layer (its energy-weighted total error, its worst class and the error of
    every class)."""
    from systolic.model.energy import COMPONENT_CLASSES

    sel = result.mask(True, "wide", MIN_MACS)
    names = sorted({result.configs[c.config].name for c, s in zip(result.cases, sel, strict=True) if s})
    parts = [error_table(result, sel, f"held out: wide arrays ({WIDE_SIM}), >= {MIN_MACS} MACs")]
    in_config = np.array([result.configs[c.config].name for c in result.cases])
    parts += [error_table(result, sel & (in_config == name), f"  {name}") for name in names]
    source = np.array([c.source for c in result.cases])
    parts += [error_table(result, sel & (source == s), f"  source {s}") for s in WIDE_SOURCES]
    err = result.layer_errors(sel)  # [layer, class + total]
    head = f"{'config':<20} {'layer':<24} {'MACs':>10} {'total':>7}  " + " ".join(
        f"{c[:7]:>7}" for c in COMPONENT_CLASSES
    )
    lines = [head]
    for c, e in zip([c for c, s in zip(result.cases, sel, strict=True) if s], err, strict=True):
        row = " ".join(f"{100 * v:>+6.1f}%" for v in e[:-1])
        lines.append(
            f"{result.configs[c.config].name:<20} {c.label:<24} {c.macs:>10,} {100 * e[-1]:>+6.1f}%  {row}"
        )
    parts.append("\n".join(lines))
    odd = result.disagreeing("wide")
    if odd:
        parts.append(
            f"left out: {len(odd)} wide layers whose RTL cycles differ from the model's: {'; '.join(odd)}"
        )
    return "\n\n".join(parts)


#: The goals for held-out layers of at least :data:`MIN_MACS` MACs: every layer's total and every class
#: within these relative errors, and the error of sums of the total.
GOAL_LAYER_TOTAL, GOAL_LAYER_CLASS, GOAL_SUM = 0.10, 0.15, 0.03


def goal_misses(result: CalibrationResult, why: str | None = None) -> tuple[list[str], list[str]]:
    """What of the goals the held-out layers (of group ``why``; None: the calibration set's) miss, one
    phrase each: ``(total, classes)``, the misses of the totals (every layer's total, the error of sums) and
    of the classes (every layer's classes); empty lists when met."""
    from systolic.model.energy import COMPONENT_CLASSES

    sel = result.mask(True, why, min_macs=MIN_MACS)
    if not sel.any():
        return ["no held-out layers"], []
    err = np.abs(result.layer_errors(sel))
    total, classes = [], []
    worst_total = float(err[:, -1].max())
    if worst_total > GOAL_LAYER_TOTAL:
        total.append(f"worst layer total {100 * worst_total:.1f}% (goal {100 * GOAL_LAYER_TOTAL:.0f}%)")
    odd = result.disagreeing(why)
    if odd:
        total.append(f"{len(odd)} layers left out: RTL cycles differ from the model's")
    total_sum = float(result.sum_errors(sel)[-1])
    if abs(total_sum) > GOAL_SUM:
        total.append(f"error of sums {100 * total_sum:+.1f}% (goal {100 * GOAL_SUM:.0f}%)")
    for i, name in enumerate(COMPONENT_CLASSES):
        if err[:, i].max() > GOAL_LAYER_CLASS:
            classes.append(f"{name} worst {100 * err[:, i].max():.1f}%")
    return total, classes


def _cocotb_test():
    """The testbench, defined only inside the simulator (cocotb is imported there, not by the CLI)."""
    import cocotb
    from cocotb.simtime import get_sim_time
    from cocotb.triggers import ClockCycles, FallingEdge

    from .mem_harness import LayerHarness
    from .runner import read_spec, spec_array
    from .tb_common import start_and_reset

    class Lean(LayerHarness):
        """The DRAM model and checker without the SRAM monitors and traces (``make cosim`` checks those):
        fewer signals to sample every cycle, a faster run."""

        def __init__(self, cfg: ArrayConfig, a: np.ndarray, b: np.ndarray):
            super().__init__(cfg, a, b)
            self.monitored = ()

        def _monitor_array(self, rel: int, s: dict[str, int]) -> None:
            pass

    async def run_lean(dut, harness: Lean, driven: dict[str, int], limit: int) -> None:
        """Drive one layer to completion, like ``tb_common.run_one`` with fewer simulator calls (most of
        the run's time is this loop, not the simulator): an input is written only when its value changes
        (``driven``: the values on the inputs, kept across layers) and the request and write-beat fields
        are read only in cycles whose valid is high. The DUT sees the same inputs in the same cycles."""
        port = {name: getattr(dut, name) for name in (*harness.output_ports, *harness.input_ports)}
        fields = {
            "dram_rd_req_valid": ("dram_rd_req_addr", "dram_rd_req_len"),
            "dram_wr_valid": ("dram_wr_addr", "dram_wr_len", "dram_wr_data"),
        }
        idle = dict.fromkeys((f for group in fields.values() for f in group), 0)
        drive = harness.inputs_for_start()
        for _ in range(limit):
            for name, value in drive.items():
                if driven.get(name) != value:
                    port[name].value = value
                    driven[name] = value
            await FallingEdge(dut.clk)
            sampled = {name: int(port[name].value) for name in ("busy", "done", *fields)}
            sampled.update(idle)
            for valid, names in fields.items():
                if sampled[valid]:
                    sampled.update({name: int(port[name].value) for name in names})
            drive = harness.step(sampled)
            if harness.done:
                for name, value in drive.items():
                    if driven.get(name) != value:
                        port[name].value = value
                        driven[name] = value
                return
        raise TimeoutError(f"no 'done' after {limit} cycles")

    @cocotb.test()
    async def calibration_layers(dut):
        """Run the layers of the spec back to back; record where each starts and ends."""
        from systolic.model.cycles import GemmArrays
        from systolic.model.memory import memory_cycles

        spec = read_spec(ENV_VAR)
        cfg = ArrayConfig.from_dict(spec["config"])
        idle = LayerHarness.idle_inputs(cfg)
        await start_and_reset(dut, idle)
        driven = dict(idle)
        results = []
        for name_a, name_b in spec["layers"]:
            harness = Lean(cfg, spec_array(spec, name_a), spec_array(spec, name_b))
            model = int(memory_cycles(cfg, GemmArrays.of(harness.m, harness.n, harness.k)).cycles[0])
            start_ps = int(get_sim_time("ps"))
            await run_lean(dut, harness, driven, limit=4 * model + 1000)
            results.append(
                {
                    "cycles": harness.cycles,
                    "outputs_ok": bool(np.array_equal(harness.result, harness.expected())),
                    # the first busy cycle: busy rises in the cycle after start (driven from the first
                    # falling edge)
                    "start_ps": start_ps + (harness.first_busy or 0) * CLOCK_NS * 1000,
                    "end_ps": int(get_sim_time("ps")),
                }
            )
            await ClockCycles(dut.clk, 2)
        atomic_write_json(spec["out"], {"layers": results})

    return calibration_layers


if ENV_VAR in __import__("os").environ:  # imported by cocotb inside the simulator
    calibration_layers = _cocotb_test()
