"""model/bounds.py: the roofline and Eyexam's seven bounds, against hand-computed values and, on random
layers and configs, against each other and the memory model they bound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from systolic.config import ArrayConfig, Dataflow
from systolic.errors import InputError
from systolic.model.bounds import STEP_KEYS, layer_bounds
from systolic.model.cycles import GemmArrays, compute_cycles
from systolic.model.memory import memory_cycles


def _bounds(cfg: ArrayConfig, gemm: GemmArrays):
    mem = memory_cycles(cfg, gemm)
    return layer_bounds(cfg, gemm, mem), mem


def test_hand_computed_ws_layer():
    """4x4 WS, M=10, N=6, K=9: S_r = K = 9, S_c = N = 6, T = M = 10, two repeats, folds one at a time."""
    cfg = ArrayConfig(rows=4, cols=4, dataflow=Dataflow.WS, dram_bw_words_per_cycle=4, fold_overlap=False)
    b, mem = _bounds(cfg, GemmArrays.of(10, 6, 9, repeat=2))
    assert b.cycles[:4, 0].tolist() == [
        1,  # every MAC at once
        10 * 2,  # T per GEMM
        -(-540 // 16) * 2,  # 540 MACs on 16 PEs: 34 cycles per GEMM
        (2 * 9 + 6 * (10 + 4 + 4 - 1)) * 2,  # the closed form of model/cycles.py
    ]
    assert b.fold_cycles[0] == 3 * 2 * 10 * 2  # ceil(9/4) * ceil(6/4) folds of T
    assert b.cycles[-1, 0] == mem.cycles[0]
    assert b.compulsory_dram_words[0] == (10 * 9 + 9 * 6 + 10 * 6) * 2
    assert b.macs[0] == 1080
    assert b.peak_macs_per_cycle == 16 and b.ridge_macs_per_word == 4.0


def test_roofline_of_a_known_layer():
    cfg = ArrayConfig(rows=8, cols=8, dataflow=Dataflow.OS, dram_bw_words_per_cycle=2)
    b, mem = _bounds(cfg, GemmArrays.of(16, 16, 16))
    reads = sum(v[0] for v in mem.dram_reads.values())
    writes = sum(v[0] for v in mem.dram_writes.values())
    assert (b.dram_read_words[0], b.dram_write_words[0]) == (reads, writes)
    assert b.intensity_macs_per_word[0] == pytest.approx(16**3 / max(reads, writes))
    assert b.intensity_macs_per_byte[0] == pytest.approx(b.intensity_macs_per_word[0] / cfg.word_bytes)
    assert b.attainable_macs_per_cycle[0] == pytest.approx(min(64, 2 * b.intensity_macs_per_word[0]))
    assert b.memory_bound[0] == (b.intensity_macs_per_word[0] < b.ridge_macs_per_word)
    assert b.achieved_macs_per_cycle[0] == pytest.approx(16**3 / mem.cycles[0])


def test_wide_port_and_big_buffers_make_the_model_compute_bound():
    cfg = ArrayConfig(rows=4, cols=4, dram_bw_words_per_cycle=1024, ifmap_sram_bytes=1 << 20)
    b, _ = _bounds(cfg, GemmArrays.of(32, 8, 8))
    assert not b.memory_bound[0] and not b.dram_limited[0]
    # one tile: storage adds only the first operands' SRAM read and the last result's write; a wide
    # port: average bandwidth adds nothing
    assert b.cycles[4, 0] == b.cycles[3, 0] + 2 == b.cycles[5, 0]


def test_memory_bound_on_the_roofline_yet_limited_by_compute_as_mapped():
    """17 x 17 spatial extents on a 16 x 16 array: four folds, a quarter of them full, so the array's own
    cycles outlast the DRAM traffic although the intensity is far left of the ridge (folds one after the
    other: overlapped, they would not)."""
    cfg = ArrayConfig(rows=16, cols=16, dataflow=Dataflow.WS, dram_bw_words_per_cycle=4, fold_overlap=False)
    b, _ = _bounds(cfg, GemmArrays.of(64, 17, 17))
    assert b.memory_bound[0] and b.intensity_macs_per_word[0] < b.ridge_macs_per_word / 4
    assert not b.dram_limited[0] and b.cycles[5, 0] == b.cycles[4, 0]


def test_limiter_names_the_step_with_the_biggest_loss():
    cfg = ArrayConfig(rows=16, cols=16, dataflow=Dataflow.WS, dram_bw_words_per_cycle=1)
    b, _ = _bounds(cfg, GemmArrays.of([64, 1], [64, 1], [64, 1]))
    gains = np.diff(b.cycles, axis=0)
    assert b.limiter.tolist() == (gains.argmax(axis=0) + 1).tolist()
    assert STEP_KEYS[b.limiter[0]] == "avg_bandwidth"  # one word per cycle for a 64^3 layer
    assert b.dram_limited[0] and b.memory_bound[0]
    d = b.to_dict()
    assert list(d["cycles"]) == list(STEP_KEYS)
    assert d["limiter"][0] == "avg_bandwidth" and len(d["memory_bound"]) == 2


def test_layer_count_mismatch_is_an_error():
    cfg = ArrayConfig(rows=4, cols=4)
    mem = memory_cycles(cfg, GemmArrays.of(8, 8, 8))
    with pytest.raises(ValueError, match="^mem has 1 layers, gemm 2$"):
        layer_bounds(cfg, GemmArrays.of([8, 4], 8, 8), mem)


dims = st.integers(1, 40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    rows=st.integers(1, 12),
    cols=st.integers(1, 12),
    dataflow=st.sampled_from(list(Dataflow)),
    bw=st.integers(1, 16),
    latency=st.integers(1, 8),
    sram=st.sampled_from([64, 256, 1024, 8192]),
    layers=st.lists(st.tuples(dims, dims, dims, st.integers(1, 3)), min_size=1, max_size=4),
)
def test_bounds_are_monotone_and_end_at_the_model(rows, cols, dataflow, bw, latency, sram, layers):
    cfg = ArrayConfig(
        rows=rows,
        cols=cols,
        dataflow=dataflow,
        dram_bw_words_per_cycle=bw,
        dram_latency_cycles=latency,
        ifmap_sram_bytes=sram,
        filter_sram_bytes=sram,
        ofmap_sram_bytes=4 * sram,
    )
    gemm = GemmArrays.of(*zip(*layers, strict=True))
    try:
        b, mem = _bounds(cfg, gemm)
    except InputError:  # a buffer too small for one fold: not a design point
        reject()
    assert b.cycles.shape == (7, len(layers))
    assert (b.cycles[0] >= 1).all()
    assert (np.diff(b.cycles, axis=0) >= 0).all(), b.cycles
    assert np.array_equal(b.cycles[-1], mem.cycles)
    assert np.array_equal(b.cycles[3], np.minimum(compute_cycles(cfg, gemm).cycles, mem.compute_cycles))
    assert ((b.cycles[2] <= b.fold_cycles) & (b.fold_cycles <= b.cycles[3])).all()
    # the roofline is a bound too, and no tighter than the average-bandwidth step
    assert (b.roofline_cycles <= b.cycles[5] * (1 + 1e-12)).all()
    assert (b.achieved_macs_per_cycle <= b.attainable_macs_per_cycle * (1 + 1e-12)).all()
    assert (b.compulsory_dram_words <= b.dram_read_words + b.dram_write_words).all()
    assert np.array_equal(b.dram_limited, b.cycles[5] > b.cycles[4])
    perf = b.macs_per_cycle
    assert (np.diff(perf, axis=0) <= 1e-12 * perf[:-1]).all()
