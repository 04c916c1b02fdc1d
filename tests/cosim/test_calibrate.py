"""cosim/calibrate.py and cosim/calibration_data.py: the data sources fit their formats, the split holds out
whole arrays, sources and shapes by seed; on Icarus, a small calibration fits and predicts held-out layers,
the shipped calibration follows the RTL on sparsity and precision, and the emulations of per-net flips
(write bus, banks, fold edges) give the RTL's."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from systolic.cosim import calibrate as cal
from systolic.cosim import calibration_data as data
from systolic.errors import InputError
from systolic.formats.calibration import load_calibration
from systolic.model import energy as en
from systolic.model.cycles import GemmArrays
from systolic.model.memory import memory_cycles

BUILD = Path(__file__).resolve().parents[2] / "build" / "test-sim"
PE = [en.COMPONENT_CLASSES.index(c) for c in ("mult", "acc", "fwd")]


@pytest.mark.parametrize("bits", [4, 8, 16])
def test_sources_fit_their_formats_and_differ(bits):
    cfg = cal.make_config(4, 4, "ws", bits, False)
    lo, hi = data.format_range(bits, True)
    seen = {}
    for source in data.SOURCES:
        a, b = data.source_operands(cfg, source, 40, 30, 50, np.random.default_rng(0))
        assert a.shape == (40, 50) and b.shape == (50, 30), source
        assert lo <= a.min() and a.max() <= hi and lo <= b.min() and b.max() <= hi, source
        seen[source] = en.layer_stats(cfg, a, b)
    assert len({tuple(np.round(v, 6)) for v in seen.values()}) == len(seen)  # every source is its own data
    a, _ = data.source_operands(cfg, "relu", 100, 10, 100, np.random.default_rng(1))
    assert 0.45 < np.mean(a == 0) < 0.7 and a.min() == 0  # half negative, and some round to zero
    with pytest.raises(InputError, match="unknown data source 'cauchy'"):
        data.source_operands(cfg, "cauchy", 2, 2, 2, np.random.default_rng(0))


def test_sources_give_ternary_weights_to_a_ternary_config():
    cfg = cal.make_config(8, 8, "ws", 8, False, ternary=True)
    assert (cfg.weight_format, cfg.weight_bits, cfg.input_bits) == ("ternary", 2, 8)
    for source in data.SOURCES:
        a, b = data.source_operands(cfg, source, 40, 30, 50, np.random.default_rng(0))
        assert set(np.unique(b).tolist()) == {-1, 0, 1}, source
        assert -128 <= a.min() and a.max() <= 127, source
    _, b = data.source_operands(cfg, "uniform", 40, 300, 50, np.random.default_rng(0))
    assert np.allclose([np.mean(b == v) for v in (-1, 0, 1)], 1 / 3, atol=0.02)  # uniform over the three


def test_split_is_by_seed_and_holds_out_arrays_sources_and_shapes():
    cases = cal.calibration_set(seed=5)
    assert cases == cal.calibration_set(seed=5) and cases != cal.calibration_set(seed=6)
    n_fit = len(cal.FITTED_ARRAYS)
    fitted = [c for c in cases if not c.held_out]
    assert all(c.config < n_fit and c.source in cal.FITTED_SOURCES for c in fitted)
    configs = [*cal.FITTED_ARRAYS, *cal.HELD_OUT_ARRAYS]
    assert {c.why for c in cases if c.config >= n_fit} == {"array", "ternary"}
    assert all((c.why == "ternary") == (configs[c.config].weight_format == "ternary") for c in cases)
    assert all(cfg.weight_format == "int" for cfg in cal.FITTED_ARRAYS)
    assert {c.source for c in cases if c.why == "source"} == set(data.HELD_OUT_SOURCES)
    for ci in range(n_fit):
        train = {(c.m, c.n, c.k) for c in cases if c.config == ci and not c.held_out}
        held = {(c.m, c.n, c.k) for c in cases if c.config == ci and c.why == "shape"}
        assert len(held) == cal.HELD_OUT_SHAPES and not train & held
    assert all(c.macs >= cal.MIN_MACS for c in cases if c.held_out)
    assert len({c.seed for c in cases}) == len(cases)  # every layer has its own data
    sizes = {(cfg.rows, cfg.cols) for cfg in cal.HELD_OUT_ARRAYS if cfg.weight_format == "int"}
    assert not sizes & {(cfg.rows, cfg.cols) for cfg in cal.FITTED_ARRAYS}
    ternary = [cfg for cfg in cal.HELD_OUT_ARRAYS if cfg.weight_format == "ternary"]
    assert sorted(cfg.dataflow.value for cfg in ternary) == ["is", "os", "ws"]


def test_layers_whose_rtl_cycles_differ_are_left_out_and_fail_the_check():
    cfg = cal.make_config(4, 4, "ws", 8, False)
    cases = [
        cal.Case(0, 20, 16, 16, "uniform", 1, True, "shape"),
        cal.Case(0, 24, 16, 16, "relu", 2, True, "shape"),
    ]
    n = len(en.COMPONENT_CLASSES)
    ones = np.ones((2, n))
    res = cal.CalibrationResult(
        None,
        [cfg],
        cases,
        np.zeros((2, n, en.N_TOGGLE_FEATURES)),
        ones,
        ones,
        ones,
        {},
        np.array([True, False]),
    )
    assert res.mask(True).tolist() == [True, False]
    assert res.disagreeing() == ["cal-ws4x4-int8: 24x16x16 relu"]
    total, classes = cal.goal_misses(res)
    assert total == ["1 layers left out: RTL cycles differ from the model's"] and classes == []
    assert "left out: 1 layers whose RTL cycles differ" in cal.validation_text(res)


def test_wide_set_is_32x32_layers_of_several_folds_and_tiles_all_held_out():
    first = len(cal.FITTED_ARRAYS) + len(cal.HELD_OUT_ARRAYS)
    cases = cal.wide_set(first, seed=0)
    assert cases == cal.wide_set(first, seed=0) and cases != cal.wide_set(first, seed=1)
    assert len(cases) == len(cal.WIDE_ARRAYS) * len(cal.WIDE_SOURCES)
    assert all(c.held_out and c.why == "wide" and c.macs >= cal.MIN_MACS for c in cases)
    assert len({c.seed for c in cases}) == len(cases)
    # adding a configuration keeps the layers (and so the kept toggles) of the others
    assert cal.wide_set(first, 0, cal.WIDE_ARRAYS[:2]) == cases[: 2 * len(cal.WIDE_SOURCES)]
    seen = {(cfg.rows, cfg.cols) for cfg in (*cal.FITTED_ARRAYS, *cal.HELD_OUT_ARRAYS)}
    assert {(cfg.rows, cfg.cols) for cfg in cal.WIDE_ARRAYS} == {(32, 32)} and (32, 32) not in seen
    assert {cfg.input_bits for cfg in cal.WIDE_ARRAYS} == {8}
    assert {cfg.dataflow.value for cfg in cal.WIDE_ARRAYS} == {"ws", "os", "is"}
    assert {cfg.zero_gating for cfg in cal.WIDE_ARRAYS} == {True, False}
    for c in cases:
        cfg = cal.WIDE_ARRAYS[c.config - first]
        assert cal.WIDE_M[0] <= c.m <= cal.WIDE_M[1] and cal.WIDE_K[0] <= c.k <= cal.WIDE_K[1]
        assert cal.WIDE_N[0] <= c.n <= cal.WIDE_N[1]
        plan = memory_cycles(cfg, GemmArrays.of(c.m, c.n, c.k)).schedule.plan
        assert int(plan.count_m[0] * plan.count_n[0] * plan.count_k[0]) >= 6, (c, plan)  # tiles
        assert c.k > cfg.rows and c.n > cfg.cols  # folds along both array dimensions
    # the default set has none of them
    assert not [c for c in cal.calibration_set() if c.why == "wide"]


def test_wide_to_simulate_counts_the_configurations_without_kept_toggles(tmp_path):
    assert cal.wide_to_simulate(0, tmp_path) == len(cal.WIDE_ARRAYS)
    first = len(cal.FITTED_ARRAYS) + len(cal.HELD_OUT_ARRAYS)
    mine = [c for c in cal.wide_set(first, 0) if c.config == first + 1]
    kept = cal._cache_path(cal.WIDE_ARRAYS[1], mine, tmp_path, cal.WIDE_SIM)
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"")
    assert cal.wide_to_simulate(0, tmp_path) == len(cal.WIDE_ARRAYS) - 1
    assert cal._cache_path(cal.WIDE_ARRAYS[1], mine, tmp_path) != kept  # the simulator is in the key


def _result_with_wide(measured_wide: float) -> cal.CalibrationResult:
    """Three fitted 4x4 configurations (one per dataflow) with random features and toggles, one held-out
    shape each, and a 32x32 wide configuration whose layers measure ``measured_wide`` toggles per class."""
    rng = np.random.default_rng(3)
    configs = [cal.make_config(4, 4, df, 8, False) for df in ("os", "ws", "is")]
    configs.append(cal.WIDE_ARRAYS[0])
    cases = [cal.Case(ci, 20 + i, 16, 16, "uniform", 10 * ci + i, False) for ci in range(3) for i in range(8)]
    cases += [cal.Case(ci, 40, 16, 16, "relu", 100 + ci, True, "shape") for ci in range(3)]
    cases += cal.wide_set(3, 0, configs[3:])
    n = len(en.COMPONENT_CLASSES)
    features = rng.uniform(0, 100, (len(cases), n, en.N_TOGGLE_FEATURES))
    measured = features.sum(axis=2) * rng.uniform(0.8, 1.2, (len(cases), n))
    wide = np.array([c.why == "wide" for c in cases])
    measured[wide] = measured_wide
    agree = np.ones(len(cases), dtype=bool)
    coeffs = cal.fit_coefficients(configs, cases, features, measured, agree)
    df_of = [configs[c.config].dataflow.value for c in cases]
    predicted = np.einsum("scf,scf->sc", features, coeffs[[en.DATAFLOWS.index(d) for d in df_of]])
    ones = np.ones((len(cases), n))
    return cal.CalibrationResult(
        en.Calibration(coeffs), configs, cases, features, measured, predicted, ones, {}, agree
    )


def test_wide_layers_are_never_fitted_and_reported_apart():
    a, b = _result_with_wide(1.0), _result_with_wide(1e6)
    assert np.array_equal(a.calibration.coeffs, b.calibration.coeffs)  # the fit never sees them
    assert a.held_out_errors() == b.held_out_errors()  # nor does the file's held-out error
    assert a.mask(True).sum() == 3 and a.mask(True, "wide").sum() == len(cal.WIDE_SOURCES)
    assert cal.goal_misses(a) == cal.goal_misses(b)
    total, _ = cal.goal_misses(b, "wide")
    assert total and total[0].startswith("worst layer total")
    text = cal.wide_text(b)
    assert "held out: wide arrays (verilator), >= 4096 MACs: 5 layers" in text
    assert "source photo-relu: 1 layers" in text and "cal-ws32x32-int8" in text
    assert "wide arrays" not in cal.validation_text(b)


@pytest.mark.slow
@pytest.mark.sim
def test_small_calibration_fits_and_predicts_held_out_layers():
    fitted = (
        cal.make_config(4, 4, "os", 8, True),
        cal.make_config(4, 4, "ws", 8, False),
        cal.make_config(4, 3, "is", 8, True),
    )
    held = (cal.make_config(6, 5, "ws", 8, False),)
    # six training layers per dataflow: with three, the DRAM class's five regressors are not determined
    sources = ("uniform", "relu", "digits", "gaussian", "nonneg", "narrow")
    res = cal.calibrate(fitted, held, seed=1, sources=sources, held_sources=("photo",),
                        held_shapes=1, root=BUILD, jobs=2)  # fmt: skip
    assert res.mask(False).sum() == 18 and res.mask(True).sum() == 3 * 2 + 3
    assert (res.measured[:, PE].sum(axis=1) > 0).all()
    train = res.training_errors()
    assert abs(train["total"]) < 0.05, train
    err = np.abs(res.layer_errors(res.mask(True)))
    # few training layers: looser than the full set's goal, but a broken feature misses by far more
    assert np.median(err[:, -1]) < 0.15, err[:, -1]
    text = cal.validation_text(res)
    assert "held out: all" in text and "median" in text and "total" in text


def _measure(cfg, source, shape=(24, 12, 20), seed=11):
    a, b = data.source_operands(cfg, source, *shape, np.random.default_rng(seed))
    warm = cal._warmup(cfg, source, seed)
    got, _ = cal.simulate(cfg, [warm, (a, b)], root=BUILD, run_name=f"dir-{source}")
    calib, _ = load_calibration()
    gemm = GemmArrays.of(*shape)
    memory = memory_cycles(cfg, gemm)
    counts = en.activity_counts(cfg, gemm, memory)
    stats = en.layer_stats(cfg, a, b, tile_k=int(memory.schedule.plan.tk[0]))
    predicted = en.predict_toggles(cfg, counts, stats, calib)[0]
    return got[1].per_class[: len(en.COMPONENT_CLASSES)].astype(float), predicted


@pytest.mark.slow
@pytest.mark.sim
def test_shipped_calibration_follows_the_rtl_on_sparsity_and_precision():
    """With zero gating, ReLU-sparse activations cut the PE toggles the RTL measures; the model predicts
    the same cut within 10% of its size. Halving the operand width does the same."""
    cfg = cal.make_config(4, 4, "ws", 8, True)
    dense_m, dense_p = _measure(cfg, "uniform")
    sparse_m, sparse_p = _measure(cfg, "relu")
    ratio_m = sparse_m[PE].sum() / dense_m[PE].sum()
    ratio_p = sparse_p[PE].sum() / dense_p[PE].sum()
    assert ratio_m < 0.8 and ratio_p < 0.8
    assert ratio_p == pytest.approx(ratio_m, rel=0.1)
    narrow = cal.make_config(4, 4, "ws", 4, True)
    int4_m, int4_p = _measure(narrow, "uniform")
    assert int4_m[PE].sum() < dense_m[PE].sum() and int4_p[PE].sum() < dense_p[PE].sum()
    assert int4_p[PE].sum() / dense_p[PE].sum() == pytest.approx(
        int4_m[PE].sum() / dense_m[PE].sum(), rel=0.1
    )


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize(
    ("dataflow", "size", "bw", "shape", "larger"),
    [
        ("ws", 8, 8, (39, 18, 10), 1),  # K-folds and partial tiles
        ("os", 4, 4, (20, 11, 25), 1),  # OS K-tiles
        # a 4x ofmap SRAM and DRAM latency 10 (issue 16's small-8x8 check): larger tiles, whose drain
        # reads go on after the next tile's first output, when a_rd_data shows the other half
        ("ws", 4, 4, (48, 20, 30), 4),
        ("os", 4, 4, (30, 24, 20), 4),
    ],
)
def test_write_bus_statistics_follow_the_rtl(dataflow, size, bw, shape, larger):
    """The DRAM write data bus is the ofmap SRAM's shadow read port (tile_overlap: trail reads, swaps,
    stale lanes): the model's emulation of it gives the RTL's bit flips within 10%; the emulation of the
    ofmap SRAM's array-side data nets (both halves' ports, a_rd_data, a_wr_data) within 5%, and of
    ``a_rd_data`` alone (the read port of the south port's tile's half) within 3%."""
    from systolic.cosim.runner import build
    from systolic.cosim.toggles import count_toggles
    from systolic.model.energy.side_flips import write_bus

    cfg = cal.make_config(size, size, dataflow, 8, False, bw)
    if larger > 1:
        cfg = cfg.replace(ofmap_sram_bytes=larger * cfg.ofmap_sram_bytes, dram_latency_cycles=10)
    a, b = data.source_operands(cfg, "digits", *shape, np.random.default_rng(5))
    cal.simulate(cfg, [(a, b)], root=BUILD, run_name="write-bus", keep_vcd=True)
    vcd = build(cfg, "icarus", waves=True, root=BUILD, top="accel") / "runs" / "write-bus" / "waves.vcd"
    nets = {n.split("[")[0].replace("\\", ""): v for n, v in count_toggles(vcd).by_name().items()}
    flips = nets["systolic_accel.dram_wr_data"]
    gemm = GemmArrays.of(*shape)
    memory = memory_cycles(cfg, gemm)
    counts = en.activity_counts(cfg, gemm, memory)
    stats = en.layer_stats(cfg, a, b, tile_k=int(memory.schedule.plan.tk[0]))
    predicted = stats[en.STAT_COLUMNS.index("dram_wr")] * cfg.acc_bits * counts.dram_writes[0]
    assert predicted == pytest.approx(flips, rel=0.1)
    ports = ("a_rd_data", "a_wr_data", "rd__data", "rd__data$29", "wr__data", "wr__data$26")
    array_side = sum(nets[f"systolic_accel.ofmap_sram.{p}"] for p in ports)
    slots = counts.sram_write_slots[2, 0]
    assert stats[en.STAT_COLUMNS.index("array_s")] * cfg.acc_bits * slots == pytest.approx(
        array_side, rel=0.05
    )
    a_rd = nets["systolic_accel.ofmap_sram.a_rd_data"]  # every read in time order: +12% and +14% on the
    assert write_bus(cfg, memory.schedule, a, b).a_rd_flips() == pytest.approx(a_rd, rel=0.03)  # larger


@pytest.mark.slow
@pytest.mark.sim
def test_bank_emulation_gives_the_rtls_flips():
    """A banked WS PE's multiplier input (``mul_b``) and its bank registers (``w0``, ``w1``): the fold-order
    emulation of model/energy/banks.py gives the RTL's bit flips exactly (one layer, no warm-up, every
    step's tiles followed)."""
    from systolic.cosim.runner import build
    from systolic.cosim.toggles import count_toggles
    from systolic.model.energy.banks import bank_flips

    cfg = cal.make_config(4, 4, "ws", 8, False)
    shape = (15, 12, 24)
    a, b = data.source_operands(cfg, "digits", *shape, np.random.default_rng(3))
    cal.simulate(cfg, [(a, b)], root=BUILD, run_name="banks", keep_vcd=True)
    vcd = build(cfg, "icarus", waves=True, root=BUILD, top="accel") / "runs" / "banks" / "waves.vcd"
    nets = {n.split("[")[0].replace("\\", ""): v for n, v in count_toggles(vcd).by_name().items()}
    pes = [f"systolic_accel.core.array.pe_{r}_{c}" for r in range(4) for c in range(4)]
    gemm = GemmArrays.of(*shape)
    memory = memory_cycles(cfg, gemm)
    counts = en.activity_counts(cfg, gemm, memory)
    swap, write = bank_flips(cfg, memory.schedule, b, cfg.weight_bits, 10**9)
    per_pe = cfg.weight_bits * cfg.rows * cfg.cols
    assert swap * per_pe * (counts.folds[0] + counts.tiles[0]) == pytest.approx(
        sum(nets[f"{p}.mul_b"] for p in pes)
    )
    written = sum(nets[f"{p}.w0"] + nets[f"{p}.w1"] for p in pes)
    assert write * per_pe * counts.folds[0] == pytest.approx(written)


def _nets(cfg, a, b, run):
    from systolic.cosim.runner import build
    from systolic.cosim.toggles import count_toggles

    cal.simulate(cfg, [(a, b)], root=BUILD, run_name=run, keep_vcd=True)
    vcd = build(cfg, "icarus", waves=True, root=BUILD, top="accel") / "runs" / run / "waves.vcd"
    return {n.split("[")[0].replace("\\", ""): v for n, v in count_toggles(vcd).by_name().items()}


def _group(nets, pattern):
    return sum(v for n, v in nets.items() if re.search(pattern, n))


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize(
    ("dataflow", "shape"), [("os", (34, 16, 12)), ("ws", (20, 16, 14)), ("is", (23, 14, 17))]
)
def test_fold_edge_emulations_give_the_rtls_flips(dataflow, shape):
    """8x8, digits' ReLU maps with the trained CNN's weights, one layer, no warm-up: OS's result registers
    (``res``, the fold-order emulation of model/energy/edges.py), the WS/IS output de-skew's lanes (its
    registers per column weighting the outputs' switching and edges) and the fold tag's registers
    (``a_tag_out`` and the tag skew's lanes, a count) and the WS/IS products and partial sums (the fold
    walk's switching and edges) give the RTL's bit flips exactly."""
    from systolic.model.energy.activity import _tag_toggles
    from systolic.model.energy.streams import COLUMN

    cfg = cal.make_config(8, 8, dataflow, 8, False)
    a, b = data.source_operands(cfg, "digits-relu", *shape, np.random.default_rng(3))
    nets = _nets(cfg, a, b, f"edges-{dataflow}")
    gemm = GemmArrays.of(*shape)
    memory = memory_cycles(cfg, gemm)
    k = en.activity_counts(cfg, gemm, memory)
    stats = en.layer_stats(cfg, a, b, tile_k=int(memory.schedule.plan.tk[0]))
    tags = _group(nets, r"pe_\d+_\d+\.a_tag_out$") + _group(nets, r"skew_west_tag\.lane\w*$")
    assert _tag_toggles(cfg, k)[0] == tags
    if dataflow == "os":
        res = stats[COLUMN["res_s"]] * cfg.acc_bits * k.folds[0] * cfg.rows * cfg.cols
        assert res == pytest.approx(_group(nets, r"pe_\d+_\d+\.res$"), rel=1e-9)
    else:
        assert k.other_skew_joined[0] == 0  # no fold runs into the next: edges and switching only
        features = en.toggle_features(cfg, k, stats)[0]
        fwd = features[en.COMPONENT_CLASSES.index("fwd"), 2]
        assert fwd == pytest.approx(_group(nets, r"deskew_south\.lane\w*$"), rel=1e-9)
        # the products and partial sums along each fold's time steps (the fold walk), their edges' values
        # and the rows a partial fold leaves unused passing its outputs
        acc = features[en.COMPONENT_CLASSES.index("acc"), 0]
        assert acc == pytest.approx(_group(nets, r"pe_\d+_\d+\.(?:product|psum_out)$"), rel=1e-9)
