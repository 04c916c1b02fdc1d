"""model/energy/activity.py: regressors of TOGGLE_FEATURES against hand-computed small cases (one
statistic set to a round value, the rest zero, so each regressor is a count times a width times it)."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.config import ArrayConfig, Dataflow
from systolic.model import energy as en
from systolic.model.cycles import GemmArrays
from systolic.model.energy.streams import COLUMN


def _cfg(df: Dataflow = Dataflow.WS, **kw) -> ArrayConfig:
    base = dict(rows=4, cols=4, dataflow=df, input_bits=8, weight_bits=8, zero_gating=False)
    return ArrayConfig(**{**base, **kw})


def _feature(cfg: ArrayConfig, m: int, n: int, k: int, cls: str, j: int, **stats: float) -> float:
    counts = en.activity_counts(cfg, GemmArrays.of(m, n, k))
    row = np.zeros(len(en.STAT_COLUMNS))
    for name, value in stats.items():
        row[COLUMN[name]] = value
    return float(en.toggle_features(cfg, counts, row)[0, en.COMPONENT_CLASSES.index(cls), j])


def test_banked_weight_swaps_once_per_fold_and_once_more_per_tile():
    # WS 4x4, 8-bit weights, bank_s = 0.5: every one of the 16 PEs swaps banks per fold (4 bits each) and
    # shows the other bank's stale weight once more per tile
    cfg = _cfg()
    one = en.activity_counts(cfg, GemmArrays.of(8, 4, 4))
    assert (one.folds[0], one.tiles[0]) == (1, 1)
    assert _feature(cfg, 8, 4, 4, "mult", 1, bank_s=0.5) == 8 * (1 + 1) * 16 * 0.5
    two = en.activity_counts(cfg, GemmArrays.of(8, 4, 8))  # two row folds in one tile
    assert (two.folds[0], two.tiles[0]) == (2, 1)
    assert _feature(cfg, 8, 4, 8, "mult", 1, bank_s=0.5) == 8 * (2 + 1) * 16 * 0.5
    # without the banks (serial folds) the multiplier's input is the weight register's shifting stream
    serial = _cfg(fold_overlap=False)
    k = en.activity_counts(serial, GemmArrays.of(8, 4, 8))
    assert _feature(serial, 8, 4, 8, "mult", 1, bank_s=0.5, n_s=0.25) == 8 * k.north_hops[0] * 0.25


def test_ofmap_array_side_is_one_regressor_of_its_emulated_flips():
    # the ofmap SRAM's array-side data nets: lane slots written x accumulator bits x array_s
    cfg = _cfg(Dataflow.OS, acc_bits=32)
    k = en.activity_counts(cfg, GemmArrays.of(8, 4, 4))
    got = _feature(cfg, 8, 4, 4, "ofmap_sram", 0, array_s=0.25)
    assert got == k.sram_write_slots[2, 0] * 32 * 0.25 > 0


def test_a_wr_data_follows_the_outputs_then_the_read_data_between_them():
    from systolic.model.energy.streams import _WriteBus

    wc = np.array([10.0, 11.0])  # two outputs in consecutive cycles
    wl = np.array([[0b0011], [0b0101]], dtype=np.uint64)
    rc = np.array([10.0, 11.0, 15.0])  # their reads, and a drain read four cycles later
    rl = np.array([[0b0001], [0b0100], [0b1111]], dtype=np.uint64)
    # 0011 -> 0101 (2 flips), then the held read 0100 when the outputs stop (1), then the drain's 1111 (3)
    assert _WriteBus._a_wr_flips(rc, rl, wc, wl) == 6
    # a later output: 1111 -> 0111 (1 more), and back to the held read 1111 after it (1 more)
    wl2 = np.array([[0b0011], [0b0101], [0b0111]], dtype=np.uint64)
    assert _WriteBus._a_wr_flips(rc, rl, np.array([10.0, 11.0, 20.0]), wl2) == 8


def test_fill_ports_address_and_enables_count_every_dram_beat_of_either_tensor():
    # both operand SRAMs' fill ports are driven with every beat: the same count in both classes, the
    # beats of A and B together, whatever the buffer's own words
    cfg = _cfg(dram_bw_words_per_cycle=2)
    k = en.activity_counts(cfg, GemmArrays.of(8, 6, 5))
    assert k.read_beats[0] > 0
    for cls in ("ifmap_sram", "filter_sram"):
        assert _feature(cfg, 8, 6, 5, cls, 4) == k.read_beats[0]


def test_controller_request_addresses_flip_the_bus_address_bits_per_beat():
    # the controller's copies of the DRAM request addresses: beats x bits flipped per beat
    cfg = _cfg(dram_bw_words_per_cycle=2)
    k = en.activity_counts(cfg, GemmArrays.of(8, 6, 5))
    assert k.read_beats[0] > 0 and k.write_beats[0] > 0
    assert _feature(cfg, 8, 6, 5, "ctrl", 8, addr_rd=2.5) == k.read_beats[0] * 2.5
    assert _feature(cfg, 8, 6, 5, "ctrl", 5, addr_wr=1.5) == k.write_beats[0] * 1.5


def test_output_deskew_counts_the_used_columns_registers_only():
    # WS 4x4: the de-skew delays column j by 3 - j; N = 5 takes two column folds of 4 and 1 columns:
    # (3 + 2 + 1 + 0) + 3 = 9 registers per time step, 8 time steps (M), K = 4 in one row fold
    cfg = _cfg(acc_bits=32)
    k = en.activity_counts(cfg, GemmArrays.of(8, 5, 4))
    assert (k.folds[0], k.tiles[0]) == (2, 1)
    assert (k.other_skew[0], k.other_skew_frames[0]) == (9 * 8, 9)
    # T = 8 >= C: the folds run back to back, the one column both use (3 registers) joins them (out_j)
    assert k.other_skew_joined[0] == 3
    want = 32 * ((72 - 9) * 0.5 + 3 * 0.375 + 2 * (9 - 3) * 0.25)
    assert _feature(cfg, 8, 5, 4, "fwd", 2, deskew_s=0.5, out_j=0.375, out_edge=0.25, out_s=1.0) == want


def test_west_registers_and_the_skews_used_rows_are_one_stream_joined_between_tight_folds():
    # WS 4x4, K = 6: row folds of 4 and 2 rows, T = M = 8 time steps. a_out: 6 used rows x 4 columns = 24
    # PE streams of 8 values (7 switches each, framed by zeros: 2 edges); the skew's lanes of used rows:
    # (0 + 1 + 2 + 3) + (0 + 1) = 7 registers. The folds run back to back (T >= C and >= the next fold's
    # rows): the 2 rows used by both run from one fold's values straight into the next's, 2 x 4 a_out
    # streams and 1 skew register switching once there (w_j: between two folds' values) instead of
    # falling to zero and rising again.
    cfg = _cfg()
    k = en.activity_counts(cfg, GemmArrays.of(8, 4, 6))
    assert (k.folds[0], k.tiles[0]) == (2, 1)
    assert (k.west_frames[0], k.west_hops[0], k.west_joined[0]) == (24, 192, 8)
    assert (k.west_skew_frames[0], k.west_skew[0], k.west_skew_joined[0]) == (7, 56, 1)
    a_out = (192 - 24) * 0.5 + 8 * 0.375 + 2 * (24 - 8) * 0.25
    skew = (56 - 7) * 0.5 + 1 * 0.375 + 2 * (7 - 1) * 0.25
    # and the fold tag (the bank select): 2 folds x (16 a_tag_out + 6 tag skew registers), one toggle each
    tags = 2 * (16 + 6)
    assert _feature(cfg, 8, 4, 6, "fwd", 0, w_s=0.5, w_j=0.375, w_o=0.25) == 8 * (a_out + skew) + tags
    assert _feature(cfg.replace(fold_overlap=False), 8, 4, 6, "fwd", 0, w_s=0.5, w_j=0.375, w_o=0.25) == 8 * (
        a_out + skew
    )
    # T = 3 < C: a gap between the folds, every stream framed by zeros
    short = en.activity_counts(cfg, GemmArrays.of(3, 4, 6))
    assert (short.west_joined[0], short.west_skew_joined[0]) == (0, 0)


def test_os_north_registers_and_the_skews_used_columns_are_one_stream():
    # OS 4x4, N = 6: column folds of 4 and 2 columns, T = K = 8 >= R + C - 1 (folds back to back). b_out:
    # 6 used columns x 4 rows = 24 PE streams; the north skew's lanes of used columns: 6 + 1 = 7; the 2
    # columns used by both folds join them (2 x 4 b_out streams, 1 skew register)
    cfg = _cfg(Dataflow.OS)
    k = en.activity_counts(cfg, GemmArrays.of(4, 6, 8))
    assert (k.folds[0], k.tiles[0]) == (2, 1)
    assert (k.north_frames[0], k.north_hops[0], k.north_joined[0]) == (24, 192, 8)
    assert (k.other_skew_frames[0], k.other_skew[0], k.other_skew_joined[0]) == (7, 56, 1)
    b_out = (192 - 24) * 0.5 + 8 * 0.375 + 2 * (24 - 8) * 0.25
    skew = (56 - 7) * 0.5 + 1 * 0.375 + 2 * (7 - 1) * 0.25
    assert _feature(cfg, 4, 6, 8, "fwd", 1, n_s=0.5, n_j=0.375, n_o=0.25) == 8 * (b_out + skew)
    assert _feature(cfg, 4, 6, 8, "fwd", 2, n_s=0.5, n_o=0.25) == 0.0  # OS: no de-skew


def test_products_and_partial_sums_per_fold_joined_between_tight_folds_one_regressor():
    # WS 4x4, 8-bit operands, 32-bit sums; K = 6: row folds of 4 and 2 rows, T = M = 8: 6 x 4 = 24 PE
    # streams of 8 products and sums (7 switches each, two zero edges); back to back, the 2 x 4 PEs of
    # the rows both folds use switch once into the second fold's values (prod_j, psum_j) instead; the
    # 2 x 4 PEs the second fold leaves unused pass its outputs down (pass_f, pass_edge). WS/IS: the product
    # and partial-sum registers in one regressor
    cfg = _cfg(acc_bits=32)
    k = en.activity_counts(cfg, GemmArrays.of(8, 4, 6))
    assert (k.macs[0], k.pe_frames[0], k.pe_joined[0]) == (6 * 4 * 8, 24, 8)
    assert (k.psum_pass[0], k.psum_pass_frames[0]) == (64, 8)
    stats = dict(prod_f=0.5, prod_j=0.375, prod_edge=0.25, psum_f=0.25, psum_j=0.5, psum_edge=0.125)
    prod = 16 * ((192 - 24) * 0.5 + 8 * 0.375 + 2 * (24 - 8) * 0.25)
    psum = 32 * ((192 - 24) * 0.25 + 8 * 0.5 + 2 * (24 - 8) * 0.125 + (64 - 8) * 0.75 + 2 * 8 * 0.0625)
    assert _feature(cfg, 8, 4, 6, "acc", 0, pass_f=0.75, pass_edge=0.0625, **stats) == prod + psum
    assert _feature(cfg, 8, 4, 6, "acc", 1, **stats) == 0.0
    # T = 3 < C: no fold runs into the next
    assert en.activity_counts(cfg, GemmArrays.of(3, 4, 6)).pe_joined[0] == 0


def test_rows_a_fold_leaves_unused_pass_its_sums_framed_by_zeros():
    # WS 4x4, K = 6: row folds of 4 and 2 rows; the second leaves 2 rows x 4 columns passing its sums
    # down, each stream framed by zeros (2 x their ones per fold)
    cfg = _cfg(acc_bits=32)
    k = en.activity_counts(cfg, GemmArrays.of(8, 4, 6))
    assert (k.folds[0], k.psum_pass_frames[0], k.psum_pass[0]) == (2, 8, 8 * 8)
    assert _feature(cfg, 8, 4, 6, "acc", 0, pass_edge=0.25) == 32 * 2 * 8 * 0.25


def test_gated_operands_jump_to_each_folds_first_non_zero_pair():
    # WS 2x2 with zero gating, one fold: PE (k, col) holds B[k, col] and sees A[:, k] along M; the held
    # values start at zero. PE (0, 0): A 1 with B 1 (1 + 1 bits); PE (0, 1): B 0, never multiplies;
    # PEs (1, 0), (1, 1): A's first non-zero 3 (2 bits) with B 1 (1 bit). 4 PE streams of 8 bits.
    cfg = _cfg(rows=2, cols=2, zero_gating=True)
    a = np.array([[1, 0], [2, 3]])
    b = np.array([[1, 0], [1, 1]])
    stats = en.layer_stats(cfg, a, b)
    assert stats[COLUMN["gjump_w"]] == (1 + 2 + 2) / (8 * 4)
    assert stats[COLUMN["gjump_n"]] == (1 + 1 + 1) / (8 * 4)
    k = en.activity_counts(cfg, GemmArrays.of(2, 2, 2))
    row = np.zeros(len(en.STAT_COLUMNS))
    row[COLUMN["gjump_w"]], row[COLUMN["gjump_n"]] = 0.5, 0.25
    got = en.toggle_features(cfg, k, row)[0, en.COMPONENT_CLASSES.index("mult"), 2]
    assert got == 2 * 8 * k.pe_frames[0] * 0.5 + 2 * 8 * k.pe_frames[0] * 0.25


def test_statistics_free_default_has_the_gated_jumps_of_random_pairs():
    # independent uniform 8-bit operands without zeros: a fold's first pair is a random one (half the
    # bits flip); without gating the statistic is not taken
    for df in (Dataflow.OS, Dataflow.WS, Dataflow.IS):
        gated = en.default_stats(_cfg(df, zero_gating=True), 64, 0.0)[0]
        assert gated[COLUMN["gjump_w"]] == pytest.approx(0.5, abs=0.06)
        assert gated[COLUMN["gjump_n"]] == pytest.approx(0.5, abs=0.06)
        assert en.default_stats(_cfg(df), 64, 0.0)[0][COLUMN["gjump_w"]] == 0.0


def test_fill_lane_mask_flips_are_the_rtls():
    """``cal-os12x6-int16`` (cosim/calibrate.py), a layer of M, N, K = 39, 15, 21, on the RTL (Icarus VCD,
    the layer's toggles less its warm-up's): ``fill_a_wide_mask``, ``fill_b_wide_mask``, ``fill_a_en``,
    ``fill_b_en`` flipped 5,043 + 4,539 + 3,048 + 2,064 = 14,694 bits; the read walkers' ``j``, ``lane0``,
    ``len``, ``o``, ``lb``, ``line`` 840 + 840 + 717 + 608 + 168 + 960 per copy (two); the two
    ``beat_mask`` 687 each, ``fill_a_addr`` 880, ``fill_b_addr`` 960: 26,174 in all; emulated 26,148 (the
    masks and enables exactly). A 16x16 OS int8 layer (47, 32, 21): 33,396 measured, 33,378 emulated."""
    from systolic.model.cycles import GemmArrays

    cfg = ArrayConfig(rows=12, cols=6, dataflow="os", input_bits=16, weight_bits=16, acc_bits=48,
                      word_bytes=2, ifmap_sram_bytes=576, filter_sram_bytes=576, ofmap_sram_bytes=1728,
                      dram_bw_words_per_cycle=4, dram_latency_cycles=4)  # fmt: skip
    assert en.activity_counts(cfg, GemmArrays.of(39, 15, 21)).fill_masks[0] == 26_148


def test_unique_rows_equals_numpys_unique_along_rows():
    """fill_mask_flips' tile kinds: the keyed 1-D unique gives np.unique(axis=0)'s rows, order and inverse,
    also when most rows repeat and for rows that differ by small amounts in several fields."""
    from systolic.model.energy.activity import _unique_rows

    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 3000):
        rows = rng.integers(-1, 4, (n, 14))
        rows[n // 2 :] = rows[: n - n // 2]
        got, inverse = _unique_rows(rows)
        want, want_inverse = np.unique(rows, axis=0, return_inverse=True)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(inverse, want_inverse.reshape(-1))


def test_os_result_registers_and_the_accumulator_returns_to_zero():
    # OS 4x4 (fold_overlap), M = 6: row folds of 4 and 2 rows, N = 4, K = 8. The result registers: every
    # one of the 4 x 4 per fold, res_s flips per register, fold and bit (emulated, model/energy/edges.py)
    cfg = _cfg(Dataflow.OS, acc_bits=32)
    k = en.activity_counts(cfg, GemmArrays.of(6, 4, 8))
    assert (k.folds[0], k.tiles[0]) == (2, 1)
    assert _feature(cfg, 6, 4, 8, "acc", 2, res_s=0.25, out_s=0.5, out_o=0.5) == 32 * 2 * 16 * 0.25
    # the accumulator: K - 1 running sums per PE and fold (the last goes to res), K - 2 switches between
    # them and two zero edges at the values there (psum_edge, not the mean ones psum_o); one PE stream
    # per used PE and fold: 6 x 4
    assert (k.macs[0], k.pe_frames[0]) == (192, 24)
    assert _feature(cfg, 6, 4, 8, "acc", 1, psum_s=0.5, psum_edge=0.25, psum_o=1.0) == 32 * (
        (192 - 48) * 0.5 + 48 * 0.25
    )


def test_fold_edges_are_charged_the_values_at_the_edges():
    # WS 4x4, K = 6, M = 8: 24 PE streams of products and sums, 8 of them joined into the next fold, and
    # the de-skew's lanes: their zero edges take the ones of the values at the folds' edges (prod_edge,
    # psum_edge, out_edge), never the streams' mean ones
    cfg = _cfg(acc_bits=32)
    k = en.activity_counts(cfg, GemmArrays.of(8, 4, 6))
    mean_only = dict(prod_o=1.0, psum_o=1.0, out_o=1.0)
    assert _feature(cfg, 8, 4, 6, "acc", 0, **mean_only) == 0.0
    assert _feature(cfg, 8, 4, 6, "fwd", 2, **mean_only) == 0.0
    prod = 16 * 2 * (24 - 8) * 0.25
    psum = 32 * 2 * (24 - 8) * 0.125
    assert _feature(cfg, 8, 4, 6, "acc", 0, prod_edge=0.25, psum_edge=0.125) == prod + psum
    frames, joined = k.other_skew_frames[0], k.other_skew_joined[0]
    assert frames > joined
    assert _feature(cfg, 8, 4, 6, "fwd", 2, out_edge=0.5) == 32 * 2 * (frames - joined) * 0.5
