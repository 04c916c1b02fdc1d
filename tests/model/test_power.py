"""Power over time: nominal timing equals the memory model, intervals conserve energy, blocks, toggles."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from systolic.config import ArrayConfig, Dataflow
from systolic.errors import InputError
from systolic.formats.hotspot import read_ptrace, write_ptrace
from systolic.model import memory, power
from systolic.model.cycles import GemmArrays
from systolic.model.energy import ACTIONS, ACTIVITIES, COMPONENT_CLASSES
from systolic.model.floorplan import floorplan_for
from systolic.model.memory import memory_cycles
from systolic.report.summary import timeline_csv

from .small_configs import small_cfg

SHAPES = GemmArrays.of([40, 7, 33], [20, 5, 64], [30, 9, 17], [1, 3, 1])


_cfg = small_cfg


def _nominal(cfg: ArrayConfig, gemm: GemmArrays = SHAPES):
    mem = memory_cycles(cfg, gemm)
    work = power.step_work(cfg, gemm, mem.schedule)
    n = work.layers
    v = np.full((n, 3), cfg.vdd_v)
    f = np.full((n, 3), cfg.clock_hz)
    return mem, work, power.build_timeline(cfg, work, v, f, np.zeros(n, dtype=int))


@pytest.mark.parametrize("tile_overlap", [False, True])
@pytest.mark.parametrize("df", list(Dataflow))
def test_nominal_timeline_has_the_memory_models_cycles(df, tile_overlap):
    cfg = _cfg(df, tile_overlap=tile_overlap)
    mem, work, tl = _nominal(cfg)
    t = power.step_times_s(work, np.full((work.layer.size, 3), cfg.clock_hz))
    per_layer = work.layer_sum(t) * work.repeat * cfg.clock_hz
    np.testing.assert_allclose(per_layer, mem.cycles, rtol=1e-12)
    assert tl.end_s * cfg.clock_hz == pytest.approx(mem.total_cycles, rel=1e-12)


@pytest.mark.parametrize("block", [1, 7, 10**9])
def test_step_times_in_blocks_of_rows_are_the_rows_one_by_one(monkeypatch, block):
    cfg = _cfg(Dataflow.WS, tile_overlap=True)
    gemm = GemmArrays.of([40, 64, 9], [20, 64, 33], [30, 64, 17])
    work = power.step_work(cfg, gemm, memory_cycles(cfg, gemm).schedule)
    assert np.any(work.result_cycles)  # the tile_overlap scan runs
    steps = work.layer.size
    rng = np.random.default_rng(5)
    f = cfg.clock_hz * rng.uniform(0.3, 1.0, (2, 5, steps, 3))  # [.., choice, step, part]
    monkeypatch.setattr(power, "STEP_BLOCK_ELEMENTS", block * steps)
    t = power.step_times_s(work, f)
    assert t.shape == (2, 5, steps)
    for i in range(2):
        for c in range(5):
            assert np.array_equal(t[i, c], power.step_times_s(work, f[i, c]))


def test_nominal_resnet50_on_a_128x128_array_has_the_memory_models_cycles():
    """Tiles back to back on a big array: the busiest SRAM port's lines outlast the compute activity (the
    ofmap writes trail it), and must still fit before the tile's last result."""
    from systolic.config import load_arch
    from systolic.formats.network import load_workload

    cfg = load_arch("tpu-v1-128")
    gemm = GemmArrays.from_workload(load_workload("resnet50"))
    mem = memory_cycles(cfg, gemm)
    work = power.step_work(cfg, gemm, mem.schedule)
    t = power.step_times_s(work, np.full((work.layer.size, 3), cfg.clock_hz))
    np.testing.assert_allclose(work.layer_sum(t) * work.repeat * cfg.clock_hz, mem.cycles, rtol=1e-12)


@pytest.mark.parametrize("df", list(Dataflow))
def test_step_counts_add_up_to_the_memory_models_totals(df):
    cfg = _cfg(df)
    mem = memory_cycles(cfg, SHAPES)
    counts = power.step_action_counts(cfg, mem.schedule)  # [step, action]
    layer = mem.schedule.steps.layer
    per_layer = np.stack([np.bincount(layer, weights=counts[:, a]) for a in range(len(ACTIONS))], axis=1)
    col = {key: i for i, key in enumerate(ACTIONS)}
    rep = SHAPES.repeat
    np.testing.assert_allclose(per_layer[:, col[("mult", "multiply")]] * rep, mem.macs)
    for buf in ("ifmap", "filter", "ofmap"):
        np.testing.assert_allclose(per_layer[:, col[(f"{buf}_sram", "read")]] * rep, mem.sram_reads[buf])
        np.testing.assert_allclose(per_layer[:, col[(f"{buf}_sram", "write")]] * rep, mem.sram_writes[buf])
    dram_r = sum(mem.dram_reads.values())
    dram_w = sum(mem.dram_writes.values())
    np.testing.assert_allclose(per_layer[:, col[("dram", "read")]] * rep, dram_r)
    np.testing.assert_allclose(per_layer[:, col[("dram", "write")]] * rep, dram_w)
    np.testing.assert_allclose(per_layer[:, col[("ctrl", "cycle")]] * rep, mem.cycles - rep)  # no prologue


def _brute_integrate(start, dur, totals, edges):
    out = np.zeros((len(edges) - 1, totals.shape[1]))
    for s, d, tot in zip(start, dur, totals, strict=True):
        for i in range(len(edges) - 1):
            lo, hi = max(s, edges[i]), min(s + d, edges[i + 1])
            if d > 0 and hi > lo:
                out[i] += tot * (hi - lo) / d
    return out


@settings(max_examples=60, deadline=None)
@given(
    durations=st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 5.0)), min_size=1, max_size=12),
    step=st.floats(0.05, 7.0),
    seed=st.integers(0, 2**31),
)
def test_integrate_matches_brute_force(durations, step, seed):
    dur = np.array(durations)
    start = np.concatenate([[0.0], np.cumsum(dur)[:-1]])
    totals = np.random.default_rng(seed).uniform(0, 10, (dur.size, 3))
    edges = np.arange(0, max(dur.sum(), step) / step + 2) * step
    got = power.integrate(start, dur, totals, edges)
    np.testing.assert_allclose(got, _brute_integrate(start, dur, totals, edges), atol=1e-9)
    np.testing.assert_allclose(got.sum(axis=0), totals[dur > 0].sum(axis=0), rtol=1e-9, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(cycles=st.integers(1, 5000))
def test_intervals_conserve_energy(cycles):
    cfg = _cfg()
    _, _, tl = _nominal(cfg)
    edges = power.interval_edges_s(cfg, tl.end_s, f"{cycles}cycles")
    ip = power.interval_power(tl, edges)
    assert edges[-1] >= tl.end_s
    np.testing.assert_allclose(ip.energy_pj.sum(axis=0), tl.energy_pj, rtol=1e-9, atol=1e-6)
    busy = ip.f_part[:, 0] > 0
    np.testing.assert_allclose(ip.v_part[busy], cfg.vdd_v)


def test_block_power_is_the_on_chip_power_and_goes_where_the_work_is():
    cfg = _cfg(rows=16, cols=16)
    gemm = GemmArrays.of([64], [3], [16])  # WS: K=16 rows, N=3 of 16 columns used
    _, _, tl = _nominal(cfg, gemm)
    flp = floorplan_for(cfg, tile=(4, 4))
    edges = power.interval_edges_s(cfg, tl.end_s, None)
    work = power.step_work(cfg, gemm, memory_cycles(cfg, gemm).schedule, tile=(4, 4))
    tl = power.Timeline(**{**tl.__dict__, "pe_share": work.pe_share})
    blocks = power.block_power_w(tl, edges, flp)
    ip = power.interval_power(tl, edges)
    on_chip = ip.total_w - ip.power_w[:, power.COLUMNS.index("dram")]
    np.testing.assert_allclose(blocks.sum(axis=1), on_chip, rtol=1e-9)
    tiles = {n: blocks[:, i].sum() for i, n in enumerate(flp.names) if n.startswith("pe_t")}
    # only the first tile column computes; the others leak
    assert tiles["pe_t0_0"] > 2 * tiles["pe_t0_1"]
    assert tiles["pe_t0_1"] == pytest.approx(tiles["pe_t3_3"])


def test_pe_tile_share_matches_a_per_pe_count():
    cfg = _cfg(rows=8, cols=8)
    gemm = GemmArrays.of([5, 9], [11, 3], [13, 20])  # WS: rows = K, cols = N
    share = power.pe_tile_share(cfg, gemm, tile=(3, 5))
    for layer, (k, n) in enumerate([(13, 11), (20, 3)]):
        use = np.zeros((8, 8))
        for r0 in range(0, k, 8):
            for c0 in range(0, n, 8):
                use[: min(8, k - r0), : min(8, n - c0)] += 1
        tiles = [use[r : r + 3, c : c + 5].sum() for r in range(0, 8, 3) for c in range(0, 8, 5)]
        np.testing.assert_allclose(share[layer], np.array(tiles) / sum(tiles))


def test_ptrace_names_match_the_floorplan(tmp_path):
    cfg = _cfg()
    _, _, tl = _nominal(cfg)
    flp = floorplan_for(cfg)
    edges = power.interval_edges_s(cfg, tl.end_s, "1us")
    path = write_ptrace(tmp_path / "p.ptrace", flp.names, power.block_power_w(tl, edges, flp))
    trace = read_ptrace(path)
    assert trace.names == flp.names and trace.values.shape == (edges.size - 1, flp.n_blocks)


def test_timeline_csv_header_and_rows():
    cfg = _cfg()
    _, _, tl = _nominal(cfg)
    edges = power.interval_edges_s(cfg, tl.end_s, None)
    text = timeline_csv(power.interval_power(tl, edges))
    lines = text.splitlines()
    assert lines[0].startswith(
        "t_start_s,t_end_s,array_v,array_hz,sram_v,sram_hz,dram_if_v,dram_if_hz,mult_w"
    )
    assert lines[0].endswith(",transition_w,total_w") and len(lines) == 51
    assert text == timeline_csv(power.interval_power(tl, edges))  # deterministic


@pytest.mark.parametrize(
    ("text", "seconds"), [("10us", 1e-5), ("2.5e-6s", 2.5e-6), ("5000cycles", 1e-5), ("1 ms", 1e-3)]
)
def test_interval_units(text, seconds):
    assert power.parse_interval_s(_cfg(), text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["10", "fast", "-3us", "0cycles"])
def test_bad_interval(text):
    with pytest.raises(InputError) as info:
        power.parse_interval_s(_cfg(), text)
    assert str(info.value) == (
        "interval: expected a positive length with a unit (s, ms, us, ns or cycles), e.g. 10us or "
        f"5000cycles, not '{text}'"
    )


def test_power_model_imports_no_hdl_or_simulator():
    code = "import sys, systolic.model.power, systolic.model.dvfs; print('amaranth' in sys.modules, 'cocotb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def _layer_class_dynamic(tl: power.Timeline, layers: int) -> np.ndarray:
    dyn = tl.dynamic_pj.sum(axis=1)  # [segment, column]
    per_class = dyn[:, : len(COMPONENT_CLASSES)].copy()
    per_class[:, COMPONENT_CLASSES.index("dram")] += dyn[:, power.COLUMNS.index("dram_if")]
    onehot = (tl.layer[:, None] == np.arange(layers)[None, :]).astype(float)
    return onehot.T @ per_class  # [layer, class]


def test_calibrated_layer_energy_rescales_the_steps():
    cfg = _cfg()
    mem, work, tl = _nominal(cfg)
    own = _layer_class_dynamic(tl, work.layers)
    factor = np.random.default_rng(3).uniform(0.2, 3.0, own.shape)
    scaled = power.step_work(cfg, SHAPES, mem.schedule, layer_dynamic_pj=own * factor)
    n = scaled.layers
    tl2 = power.build_timeline(
        cfg, scaled, np.full((n, 3), cfg.vdd_v), np.full((n, 3), cfg.clock_hz), np.zeros(n, dtype=int)
    )
    np.testing.assert_allclose(_layer_class_dynamic(tl2, n), own * factor, rtol=1e-9)
    with pytest.raises(
        InputError, match=r"layer_dynamic_pj must be \[layer, class\] = \[3, 8\], not \[3, 7\]"
    ):
        power.step_work(cfg, SHAPES, mem.schedule, layer_dynamic_pj=own[:, :7])


def _two_tiles():
    """A layer of two equal tiles (M split in two): step 1 computes tile 0, step 2 tile 1; steps 0 and 1
    load them, steps 2 and 3 drain them."""
    cfg = _cfg(ifmap_sram_bytes=128, filter_sram_bytes=128, ofmap_sram_bytes=512)
    gemm = GemmArrays.of(16, 8, 8)
    sched = memory_cycles(cfg, gemm).schedule
    assert sched.steps.compute_tile.tolist() == [-1, 0, 1, -1]
    assert sched.steps.drain_tile.tolist() == [-1, -1, 0, 1]
    return cfg, gemm, sched


def test_tile_figures_place_a_layers_energy_by_hand():
    cfg, gemm, sched = _two_tiles()
    fam, cls = ACTIVITIES, COMPONENT_CLASSES
    given = np.zeros((1, len(fam), len(cls)))
    given[0, fam.index("compute"), cls.index("mult")] = 100.0
    given[0, fam.index("drain"), cls.index("dram")] = 40.0
    per_tile = np.zeros((2, len(fam), len(cls)))
    per_tile[:, fam.index("compute"), cls.index("mult")] = [1.0, 3.0]  # tile 1's data switches 3x as much
    per_tile[:, fam.index("drain"), cls.index("dram")] = [5.0, 5.0]
    plain = power.step_work(cfg, gemm, sched, layer_dynamic_pj=given)
    tiled = power.step_work(cfg, gemm, sched, layer_dynamic_pj=given, tile_dynamic_pj=per_tile)
    mult = (power.FAMILIES.index("array"), power.COLUMNS.index("mult"))  # the PEs' share of the compute
    # equal MACs: 50/50 by the layer's statistics; weighted 1:3 by the tiles' own: 25 and 75 pJ
    np.testing.assert_allclose(plain.energy_pj[:, mult[0], mult[1]], [0.0, 50.0, 50.0, 0.0])
    np.testing.assert_allclose(tiled.energy_pj[:, mult[0], mult[1]], [0.0, 25.0, 75.0, 0.0])
    # equal figures change nothing: the drain's 40 pJ (75% off chip) in two equal write steps
    dram = (power.FAMILIES.index("drain"), power.COLUMNS.index("dram"))
    np.testing.assert_allclose(tiled.energy_pj[:, dram[0], dram[1]], [0.0, 0.0, 15.0, 15.0])
    with pytest.raises(InputError, match=r"tile_dynamic_pj must be \[tile, family, class\] = \[2, 6, 8\]"):
        power.step_work(cfg, gemm, sched, layer_dynamic_pj=given, tile_dynamic_pj=per_tile[:1])
    with pytest.raises(InputError, match="tile_dynamic_pj needs layer_dynamic_pj per family"):
        power.step_work(cfg, gemm, sched, tile_dynamic_pj=per_tile)


def test_a_fills_a_beats_come_before_its_b_beats_by_hand():
    cfg, gemm, sched = _two_tiles()
    tiles = sched.tiles
    assert tiles.load_a.tolist() == [True, True] and tiles.load_b.tolist() == [True, False]  # B reused
    beats = memory.tile_beats(cfg, tiles)
    assert beats["A"].tolist() == [16, 16] and beats["B"].tolist() == [16, 16]
    fam, cls = ACTIVITIES, COMPONENT_CLASSES
    given = np.zeros((1, len(fam), len(cls)))
    given[0, fam.index("fill"), cls.index("dram")] = 70.0
    # fill energy of each tile's layer with its A alone, B alone, neither: A 10 pJ over the layer's 32 A
    # beats, B 30 pJ over its 16; beats that carry nothing cost 0
    fill_pj = np.array([[10.0, 30.0, 0.0], [10.0, 30.0, 0.0]])
    work = power.step_work(cfg, gemm, sched, layer_dynamic_pj=given, tile_fill_pj=fill_pj)
    # step 0 loads tile 0: 16 A beats (16 x 10/32 = 5) then 16 B beats (30): A has half the time, 1/7
    # of the energy; step 1 loads tile 1's A alone
    np.testing.assert_allclose(work.fill_split[:2], [[0.5, 1 / 7], [1.0, 1.0]])
    n = work.layers
    tl = power.build_timeline(
        cfg, work, np.full((n, 3), cfg.vdd_v), np.full((n, 3), cfg.clock_hz), np.zeros(n, dtype=int)
    )
    f = power.FAMILIES.index("fill")
    t0, t1 = tl.start_s[0] + tl.family_start_s[0, f], tl.start_s[0] + tl.family_end_s[0, f]
    per_family = np.zeros((tl.start_s.size, len(power.FAMILIES), 1))
    per_family[0, f, 0] = 7.0
    got = tl.integrate(np.array([t0, (t0 + t1) / 2, t1]), per_family)[:, 0]
    np.testing.assert_allclose(got, [1.0, 6.0])
    with pytest.raises(InputError, match=r"tile_fill_pj must be \[tile, 3\] = \[2, 3\], not \[2, 2\]"):
        power.step_work(cfg, gemm, sched, layer_dynamic_pj=given, tile_fill_pj=fill_pj[:, :2])


def test_a_trapezoid_integrates_by_hand():
    # one segment of 10 s with ramps of 2 s holding 8 pJ: 1 pJ/s on the flat part, t/2 on the way up
    got = power.integrate(
        np.array([0.0]), np.array([10.0]), np.array([[8.0]]), np.array([0, 1, 2, 5, 8, 10.0]), np.array([0.2])
    )[:, 0]
    np.testing.assert_allclose(got, [0.25, 0.75, 3.0, 3.0, 1.0])
    flat = power.integrate(
        np.array([0.0]), np.array([10.0]), np.array([[8.0]]), np.array([0, 5, 10.0]), np.zeros(1)
    )
    np.testing.assert_allclose(flat[:, 0], [4.0, 4.0])


def test_bursts_integrate_by_hand():
    # two bursts in 10 s, each a third of their period: [0, 2.5) and [7.5, 10), 4 pJ each
    got = power.integrate(
        np.array([0.0]),
        np.array([10.0]),
        np.array([[8.0]]),
        np.array([0, 1.25, 2.5, 7.5, 10.0]),
        bursts=np.array([[2.0, 3.0]]),
    )[:, 0]
    np.testing.assert_allclose(got, [2.0, 2.0, 0.0, 4.0])
