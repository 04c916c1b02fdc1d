"""Calibration of the energy model's activity against the RTL's own toggles (``systolic calibrate``).

A calibration set of small accelerator runs (:func:`calibration_set`): a few configurations (the three
dataflows, with and without zero gating, 8-bit and 4-bit operands) x a few layer shapes x six data
distributions (:data:`DISTRIBUTIONS`). Each configuration is built once for Icarus Verilog with a VCD
dump and runs all its layers in one simulator process (:func:`simulate`); the toggles of each layer are
the VCD's per-cycle windows between the layer's boundaries (:func:`systolic.cosim.toggles.count_toggles`).
The model's action counts and the operand statistics of each layer give its features
(:func:`systolic.model.energy.toggle_features`); the toggle coefficients are fitted on the training
layers and checked on held-out layers (:func:`calibrate`), which have shapes and data the fit never saw.
The split is drawn from a seed, never chosen by hand.

Icarus is the simulator because it is the fastest here for this job (measured on 2 cores, 4x4 arrays,
layers of a few hundred cycles): its build takes about a second, where Verilator's C++ build takes 25-30 s
per configuration, which the short runs never earn back; amaranth.sim is faster still, but it is not the
Verilog, and its VCD holds other nets (memory internals, more intermediate signals) than the generated
Verilog has, so its counts for the SRAM and controller classes differ from Icarus's and Verilator's by up to
2x.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from systolic.config import ArrayConfig, Dataflow
from systolic.errors import InputError
from systolic.fileio import atomic_write_json
from systolic.geometry import operand_format

ENV_VAR = "SYSTOLIC_CALIBRATE"
CLOCK_NS = 10
TB_MODULE = "systolic.cosim.calibrate"


# --------------------------------------------------------------------------- data distributions


def _format_range(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _uniform(bits: int, signed: bool, shape, rng: np.random.Generator) -> np.ndarray:
    lo, hi = _format_range(bits, signed)
    return rng.integers(lo, hi, size=shape, endpoint=True, dtype=np.int64)


def _gaussian(bits: int, signed: bool, shape, rng: np.random.Generator) -> np.ndarray:
    """Rounded normal values with a standard deviation of 1/8 of the range (|x| when unsigned)."""
    lo, hi = _format_range(bits, signed)
    x = np.rint(rng.normal(0.0, (hi - lo + 1) / 8, size=shape))
    return np.clip(np.abs(x) if not signed else x, lo, hi).astype(np.int64)


def _narrow(bits: int, signed: bool, shape, rng: np.random.Generator) -> np.ndarray:
    """Uniform over the low half of the bits: values a quarter-precision quantiser would give."""
    half = max(bits // 2, 1)
    return _uniform(half, signed, shape, rng)


def _ternary(bits: int, signed: bool, shape, rng: np.random.Generator) -> np.ndarray:
    """-1, 0, +1 with equal probability (0, 1 when unsigned)."""
    return rng.integers(-1 if signed else 0, 1, size=shape, endpoint=True, dtype=np.int64)


def _zeros(fraction: float, base: Callable) -> Callable:
    def draw(bits: int, signed: bool, shape, rng: np.random.Generator) -> np.ndarray:
        x = base(bits, signed, shape, rng)
        x[rng.random(shape) < fraction] = 0
        return x

    return draw


#: Data distributions of the calibration set: name -> (A's generator, B's generator). Each generator takes
#: (bits, signed, shape, rng) and returns int64 values that fit the format.
DISTRIBUTIONS: dict[str, tuple[Callable, Callable]] = {
    "uniform": (_uniform, _uniform),
    "gaussian": (_gaussian, _gaussian),
    "zeros50": (_zeros(0.5, _uniform), _zeros(0.5, _gaussian)),
    "zeros90": (_zeros(0.9, _gaussian), _zeros(0.5, _uniform)),  # ReLU-like activations
    "narrow": (_narrow, _narrow),
    "ternary": (_gaussian, _ternary),  # ternary weights
}


def distribution_operands(
    cfg: ArrayConfig, dist: str, m: int, n: int, k: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A[M,K] and B[K,N] of ``cfg``'s operand formats drawn from distribution ``dist``."""
    if dist not in DISTRIBUTIONS:
        raise InputError(f"unknown data distribution {dist!r} (known: {', '.join(DISTRIBUTIONS)})")
    gen_a, gen_b = DISTRIBUTIONS[dist]
    return gen_a(*operand_format(cfg, "A"), (m, k), rng), gen_b(*operand_format(cfg, "B"), (k, n), rng)


# --------------------------------------------------------------------------- the calibration set


def _config(name: str, rows: int, cols: int, dataflow: str, bits: int, gating: bool) -> ArrayConfig:
    """A small accelerator whose buffers hold a few tiles, so layers run several steps out of DRAM."""
    return ArrayConfig(
        name=f"cal-{name}{'-zg' if gating else ''}",
        rows=rows,
        cols=cols,
        dataflow=Dataflow(dataflow),
        input_bits=bits,
        weight_bits=bits,
        acc_bits=4 * bits,
        zero_gating=gating,
        ifmap_sram_bytes=256,
        filter_sram_bytes=256,
        ofmap_sram_bytes=64 * bits,
        dram_bw_words_per_cycle=4,
        dram_latency_cycles=4,
    )


#: The configurations of the calibration set: every dataflow with and without zero gating, a non-square
#: array, and 4-bit operands.
CONFIGS: tuple[ArrayConfig, ...] = (
    _config("os4x4", 4, 4, "os", 8, False),
    _config("os4x4", 4, 4, "os", 8, True),
    _config("ws4x4", 4, 4, "ws", 8, False),
    _config("ws4x4", 4, 4, "ws", 8, True),
    _config("is4x3", 4, 3, "is", 8, False),
    _config("is4x3", 4, 3, "is", 8, True),
    _config("ws4x4-int4", 4, 4, "ws", 4, True),
    _config("os3x4-int4", 3, 4, "os", 4, False),
)
#: Layer shapes per configuration, and how many of them are held out.
SHAPES_PER_CONFIG = 4
HELD_OUT_SHAPES = 1
#: Range of M, N and K drawn for the layers (small: a layer is a few hundred cycles on a 4x4 array).
DIM_RANGE = (3, 14)


@dataclass(frozen=True)
class Case:
    """One layer of the calibration set: its shape, data and whether the fit may see it."""

    config: int  # index into the configuration list
    m: int
    n: int
    k: int
    dist: str
    seed: int  # of the layer's operands
    held_out: bool

    @property
    def label(self) -> str:
        return f"{self.m}x{self.n}x{self.k} {self.dist}"


def calibration_set(
    configs: Sequence[ArrayConfig] = CONFIGS,
    seed: int = 0,
    shapes_per_config: int = SHAPES_PER_CONFIG,
    held_out_shapes: int = HELD_OUT_SHAPES,
    dists: Sequence[str] = tuple(DISTRIBUTIONS),
) -> list[Case]:
    """Every (configuration, shape, distribution) of the set, with the held-out flag drawn from ``seed``.

    Per configuration ``shapes_per_config`` shapes are drawn from :data:`DIM_RANGE` and
    ``held_out_shapes`` of them are held out with every distribution; every layer has its own data seed,
    so a held-out layer shares neither its shape nor its data with the training layers.
    """
    if not 1 <= held_out_shapes < shapes_per_config:
        raise InputError(
            f"held-out shapes must be in 1..{shapes_per_config - 1} (of {shapes_per_config}), "
            f"not {held_out_shapes}"
        )
    rng = np.random.default_rng(seed)
    cases = []
    for ci in range(len(configs)):
        shapes = rng.integers(DIM_RANGE[0], DIM_RANGE[1], size=(shapes_per_config, 3), endpoint=True)
        held = set(rng.choice(shapes_per_config, size=held_out_shapes, replace=False).tolist())
        for si, (m, n, k) in enumerate(shapes.tolist()):
            for dist in dists:
                data_seed = int(rng.integers(2**31))
                cases.append(Case(ci, m, n, k, dist, data_seed, si in held))
    return cases


def case_operands(cfg: ArrayConfig, case: Case) -> tuple[np.ndarray, np.ndarray]:
    """The operands of one case (seeded)."""
    return distribution_operands(cfg, case.dist, case.m, case.n, case.k, np.random.default_rng(case.seed))


# --------------------------------------------------------------------------- running the RTL


@dataclass(frozen=True)
class Measured:
    """Toggles of one layer on the RTL."""

    per_class: np.ndarray  # [class] of systolic.cosim.toggles.CLASSES
    cycles: int  # busy cycles (equal to the model's, checked, as are the outputs)


def simulate(
    cfg: ArrayConfig,
    operands: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    root: Path = Path("build"),
    run_name: str = "calibrate",
) -> tuple[list[Measured], dict]:
    """Run ``operands`` (one (A, B) pair per layer) on ``cfg``'s accelerator under Icarus with a VCD, and
    count each layer's toggles.

    Returns the per-layer measurements and run statistics (wall times, VCD size, extraction MB/s).
    Raises :class:`InputError` if the build or the run fails or a layer's output or cycle count is wrong.
    """
    from systolic.model.cycles import GemmArrays
    from systolic.model.memory import memory_cycles

    from .runner import build, run_testbench
    from .toggles import count_toggles, energy_rules

    t0 = time.perf_counter()
    bdir = build(cfg, "icarus", waves=True, root=root, top="accel")
    t_build = time.perf_counter() - t0
    tdir = bdir / "runs" / run_name
    tdir.mkdir(parents=True, exist_ok=True)
    vcd = tdir / "waves.vcd"
    vcd.unlink(missing_ok=True)
    spec = {"config": cfg.to_dict(), "layers": [{"a": a.tolist(), "b": b.tolist()} for a, b in operands]}
    measured, log, t_sim = run_testbench(
        cfg,
        "icarus",
        bdir,
        tdir,
        TB_MODULE,
        "systolic_accel",
        ENV_VAR,
        spec,
        waves=True,
        what="calibration run",
    )
    got = measured["layers"]
    if len(got) != len(operands):
        raise InputError(f"icarus calibration run finished {len(got)} of {len(operands)} layers; see {log}")
    period_s = CLOCK_NS * 1e-9
    counts = count_toggles(
        vcd, window_cycles=1, clock_period_s=period_s, rules=energy_rules(cfg.dataflow.value)
    )  # one window per clock cycle
    ends = [int(g["end_ps"] * 1e-12 / period_s) + 1 for g in got]
    starts = [0, *ends[:-1]]
    gemm = GemmArrays.of(
        [a.shape[0] for a, _ in operands],
        [b.shape[1] for _, b in operands],
        [a.shape[1] for a, _ in operands],
    )
    model_cycles = memory_cycles(cfg, gemm).cycles_per_gemm.tolist()
    measured = []
    for i, (g, lo, hi) in enumerate(zip(got, starts, ends, strict=True)):
        if not g["outputs_ok"] or g["cycles"] != model_cycles[i]:
            raise InputError(
                f"layer {i}: outputs {'right' if g['outputs_ok'] else 'WRONG'}, RTL {g['cycles']} cycles "
                f"against the model's {model_cycles[i]}: the RTL does not match the model",
                cfg.name,
            )
        measured.append(Measured(counts.per_window[lo:hi].sum(axis=0), int(g["cycles"])))
    stats = {
        "build_s": t_build,
        "sim_s": t_sim,
        "vcd_bytes": counts.bytes_read,
        "extract_s": counts.seconds,
    }
    return measured, stats


#: Shape of the layer that precedes each distribution's layers in a run and is not measured: the SRAMs
#: keep the previous layer's data, and stale words on their ports make a layer's toggles depend on what
#: ran before it (a Gaussian layer after a uniform one toggles the ifmap SRAM 1.8x as much as after
#: another Gaussian layer, measured). A warm-up layer of the same distribution makes the state what it
#: is in a network, where neighbouring layers carry alike data.
WARMUP_SHAPE = (DIM_RANGE[1], DIM_RANGE[1], DIM_RANGE[1])


@dataclass(frozen=True)
class CalibrationResult:
    """A fitted calibration with the data it was fitted and validated on."""

    calibration: object  # systolic.model.energy.Calibration
    cases: list[Case]
    features: np.ndarray  # [case, class, feature] regressors
    measured: np.ndarray  # [case, class] toggles of the energy model's classes
    predicted: np.ndarray  # [case, class] by the fitted coefficients
    energy_per_toggle_pj: np.ndarray  # [case, class] pJ per toggle (the classes' weights in the total)
    seconds: dict

    def held_out_errors(self) -> dict[str, float]:
        """Relative error of predicted against measured toggles summed over the held-out layers, per class
        and for the total weighted by energy per toggle."""
        return _errors(self, np.array([c.held_out for c in self.cases]))

    def training_errors(self) -> dict[str, float]:
        return _errors(self, ~np.array([c.held_out for c in self.cases]))


def _errors(res: CalibrationResult, sel: np.ndarray) -> dict[str, float]:
    from systolic.model.energy import COMPONENT_CLASSES

    meas, pred = res.measured[sel], res.predicted[sel]
    out = {cls: float(pred[:, i].sum() / meas[:, i].sum() - 1) for i, cls in enumerate(COMPONENT_CLASSES)}
    w = res.energy_per_toggle_pj[sel]
    out["total"] = float((pred * w).sum() / (meas * w).sum() - 1)
    return out


def calibrate(
    configs: Sequence[ArrayConfig] = CONFIGS,
    *,
    seed: int = 0,
    shapes_per_config: int = SHAPES_PER_CONFIG,
    dists: Sequence[str] = tuple(DISTRIBUTIONS),
    root: Path = Path("build"),
    progress: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Run the calibration set on the RTL, fit the toggle coefficients on its training layers and predict
    the held-out ones.

    Each dataflow's coefficients are fitted on that dataflow's configurations; ``configs`` must cover
    every dataflow (:data:`systolic.model.energy.DATAFLOWS`).
    """
    from systolic.model import energy as en
    from systolic.model.cycles import GemmArrays

    say = progress or (lambda _msg: None)
    missing = [df for df in en.DATAFLOWS if df not in {c.dataflow.value for c in configs}]
    if missing:
        raise InputError(f"the calibration set has no configuration for dataflow(s) {', '.join(missing)}")
    cases = calibration_set(configs, seed, shapes_per_config, dists=dists)
    start = time.perf_counter()
    n = len(en.COMPONENT_CLASSES)
    measured = np.zeros((len(cases), n))
    features = np.zeros((len(cases), n, en.N_TOGGLE_FEATURES))
    layer_counts: list = [None] * len(cases)
    sim_s = extract_s = 0.0
    vcd_bytes = 0
    for ci, cfg in enumerate(configs):
        mine = [i for i, c in enumerate(cases) if c.config == ci]
        order, operands = [], []  # grouped by distribution, each group after a warm-up layer
        for dist in dists:
            group = [i for i in mine if cases[i].dist == dist]
            rng = np.random.default_rng([seed, ci, dists.index(dist)])
            operands.append(distribution_operands(cfg, dist, *WARMUP_SHAPE, rng))
            order.append(-1)
            for i in group:
                operands.append(case_operands(cfg, cases[i]))
                order.append(i)
        t = time.perf_counter()
        got, stats = simulate(cfg, operands, root=root)
        sim_s += stats["sim_s"] + stats["build_s"]
        extract_s += stats["extract_s"]
        vcd_bytes += stats["vcd_bytes"]
        for i, (a, b), m in zip(order, operands, got, strict=True):
            if i < 0:
                continue
            c = cases[i]
            gemm = GemmArrays.of(c.m, c.n, c.k)
            counts = en.activity_counts(cfg, gemm)
            sa, sb = en.layer_stats(cfg, a, b)
            features[i] = en.toggle_features(cfg, counts, sa, sb)[0]
            measured[i] = m.per_class[:n]
            layer_counts[i] = counts
        say(
            f"  [{ci + 1}/{len(configs)}] {cfg.name}: {len(mine)} layers, "
            f"{sum(m.cycles for m in got):,} cycles, VCD {stats['vcd_bytes'] / 1e6:.1f} MB, "
            f"{time.perf_counter() - t:.1f} s"
        )
    held = np.array([c.held_out for c in cases])
    df_of = np.array([configs[c.config].dataflow.value for c in cases])
    coeffs = np.zeros((len(en.DATAFLOWS), n, en.N_TOGGLE_FEATURES))
    for d, df in enumerate(en.DATAFLOWS):
        train = (df_of == df) & ~held
        coeffs[d] = en.fit_toggles(features[train], measured[train])
    predicted = np.einsum("scf,scf->sc", features, coeffs[[en.DATAFLOWS.index(df) for df in df_of]])
    fitted = en.Calibration(coeffs)
    per_toggle = np.concatenate(
        [
            en.energy_per_toggle_pj(configs[c.config], k, fitted)
            for c, k in zip(cases, layer_counts, strict=True)
        ]
    )  # [case, class]: weights of the classes in the total
    info = {
        "calibration_set": {
            "seed": seed,
            "configs": [c.name for c in configs],
            "distributions": list(dists),
            "layers": int((~held).sum()),
            "held_out_layers": int(held.sum()),
            "simulator": "icarus",
        },
    }
    result = CalibrationResult(
        en.Calibration(coeffs, info),
        cases,
        features,
        measured,
        predicted,
        per_toggle,
        {
            "total_s": time.perf_counter() - start,
            "sim_s": sim_s,
            "extract_s": extract_s,
            "vcd_bytes": vcd_bytes,
        },
    )
    errors = result.held_out_errors()
    info["held_out_error"] = {k: round(v, 4) for k, v in errors.items()}
    return result


def validation_table(result: CalibrationResult) -> str:
    """Held-out predicted against measured toggles per class and in total (toggle-weighted energy)."""
    from systolic.model.energy import COMPONENT_CLASSES

    held = np.array([c.held_out for c in result.cases])
    meas, pred, w = result.measured[held], result.predicted[held], result.energy_per_toggle_pj[held]
    errors = result.held_out_errors()
    lines = [
        f"held-out validation: {int(held.sum())} layers (shapes and data not used for fitting)",
        f"{'component':<12} {'measured':>12} {'predicted':>12} {'error':>8} {'worst layer':>12}",
    ]
    for i, cls in enumerate(COMPONENT_CLASSES):
        worst = np.max(np.abs(pred[:, i] - meas[:, i]) / np.maximum(meas[:, i], 1))
        lines.append(
            f"{cls:<12} {meas[:, i].sum():>12,.0f} {pred[:, i].sum():>12,.0f} {100 * errors[cls]:>+7.1f}% "
            f"{100 * worst:>11.1f}%"
        )
    e_meas, e_pred = (meas * w).sum(), (pred * w).sum()
    worst = np.max(np.abs((pred * w).sum(1) - (meas * w).sum(1)) / (meas * w).sum(1))
    lines.append(
        f"{'total (pJ)':<12} {e_meas:>12,.1f} {e_pred:>12,.1f} {100 * errors['total']:>+7.1f}% "
        f"{100 * worst:>11.1f}%"
    )
    return "\n".join(lines)


def _cocotb_test():
    """The testbench, defined only inside the simulator (cocotb is imported there, not by the CLI)."""
    import cocotb
    from cocotb.simtime import get_sim_time
    from cocotb.triggers import ClockCycles

    from .mem_harness import LayerHarness
    from .tb_common import run_one, start_and_reset

    @cocotb.test()
    async def calibration_layers(dut):
        """Run the layers of ``$SYSTOLIC_CALIBRATE`` back to back; record where each ends."""
        from systolic.model.cycles import GemmArrays
        from systolic.model.memory import memory_cycles

        spec = json.loads(os.environ[ENV_VAR])
        cfg = ArrayConfig.from_dict(spec["config"])
        await start_and_reset(dut, LayerHarness.idle_inputs(cfg))
        results = []
        for layer in spec["layers"]:
            harness = LayerHarness(
                cfg, np.array(layer["a"], dtype=np.int64), np.array(layer["b"], dtype=np.int64)
            )
            model = int(memory_cycles(cfg, GemmArrays.of(harness.m, harness.n, harness.k)).cycles[0])
            await run_one(dut, harness, limit=4 * model + 1000)
            results.append(
                {
                    "cycles": harness.cycles,
                    "outputs_ok": bool(np.array_equal(harness.result, harness.expected())),
                    "end_ps": int(get_sim_time("ps")),
                }
            )
            await ClockCycles(dut.clk, 2)
        atomic_write_json(spec["out"], {"layers": results})

    return calibration_layers


if ENV_VAR in os.environ:  # imported by cocotb inside the simulator
    calibration_layers = _cocotb_test()
