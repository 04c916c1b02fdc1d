"""model/llm/training.py: the pipeline schedule, parallel splits, ZeRO, recomputation and utilisation."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from systolic.errors import InputError
from systolic.llm_spec import ModelSpec, model_spec
from systolic.model.llm import transformer as tf
from systolic.model.llm.training import ParallelPlan, TrainOptions, model_flops_per_sequence, train

from .llm_toy import toy_hw

GPT = ModelSpec("gpt", 16, 2048, 16, 8192, 51200, 1024)
OPTS = TrainOptions(batch=64)


def run(hw=None, opts=OPTS, model=GPT, **plan):
    return train(model, hw or toy_hw(), ParallelPlan.of(**plan), opts)


def test_model_flops_are_korthikanti_s_formula():
    s, layers, h, V = 1024, 16, 2048, 51200
    expect = 72 * s * layers * h * h * (1 + s / (6 * h) + V / (12 * layers * h))
    assert model_flops_per_sequence(GPT, s) == pytest.approx(expect)


def test_breakdown_adds_up_and_utilisation_follows_from_time():
    r = run(tp=2, pp=2, dp=2, mb=2, sp=True, recompute="selective")
    parts = sum(getattr(r, k) for k in r.TIME_PARTS)
    assert r.valid[0] and parts == pytest.approx(r.iteration_s)
    assert r.mfu[0] == pytest.approx(r.model_flops / (r.iteration_s[0] * 8 * 100e12))
    assert r.hfu[0] > r.mfu[0]  # selective recomputation redoes the attention core
    mem = sum(getattr(r, k) for k in r.MEMORY_PARTS)
    assert mem == pytest.approx(r.memory_bytes)
    # the blocks of a device, every micro-batch: most of the compute
    blocks = r.microbatches[0] * GPT.layers / 2 * (r.block_fwd_s + r.block_bwd_s + r.block_recompute_s)
    assert 0.8 * r.compute_s[0] < blocks[0] < r.compute_s[0]


def test_bubble_is_p_minus_1_over_v_m_of_the_ideal_time():
    """Equal stages, no communication (infinite links): bubble = (p-1)/(v m) x the busy time."""
    fast = dataclasses.replace(toy_hw().intra, bandwidth=1e30)
    hw = toy_hw(intra=fast, inter=fast)
    model = dataclasses.replace(GPT, vocab=8, learned_positions=False)  # negligible first and last stage
    for v in (1, 2, 4):
        r = run(hw, model=model, pp=4, dp=2, mb=1, vpp=v)
        m = 32
        assert r.bubble_s[0] / (r.iteration_s[0] - r.bubble_s[0] - r.optimizer_s[0]) == pytest.approx(
            3 / (v * m), rel=0.02
        )


def test_no_pipeline_no_bubble_and_recomputation_costs_time_saves_memory():
    none, sel, full = (run(tp=8, recompute=r) for r in ("none", "selective", "full"))
    assert none.bubble_s[0] == 0 and none.pp_comm_s[0] == 0
    assert none.iteration_s[0] < sel.iteration_s[0] < full.iteration_s[0]
    assert none.activations_bytes[0] > sel.activations_bytes[0] > full.activations_bytes[0]
    # full recomputation runs every block's forward pass twice, the output layer once
    blocks = GPT.layers * tf.layer_flops(GPT, 1024, 1, 1024, 1024, 1)
    out = 2 * 1024 * GPT.hidden * GPT.vocab
    assert full.hfu[0] / full.mfu[0] == pytest.approx((4 * blocks + 3 * out) / (3 * blocks + 3 * out))
    assert sel.mfu[0] > full.mfu[0]


def test_zero_levels_shard_model_states_by_dp():
    rs = [run(dp=8, zero=z, opts=TrainOptions(batch=64, grad_bytes=2, optimizer_bytes=12)) for z in range(4)]
    w, g, o = rs[0].weights_bytes[0], rs[0].grads_bytes[0], rs[0].optimizer_bytes[0]
    assert o == 6 * w and g == w  # 12 bytes of optimizer state, 2 of gradient per 2-byte weight
    assert rs[1].optimizer_bytes[0] == pytest.approx(o / 8) and rs[1].grads_bytes[0] == g
    assert rs[2].grads_bytes[0] == pytest.approx(g / 8) and rs[2].weights_bytes[0] == w
    assert rs[3].weights_bytes[0] == pytest.approx(w / 8)
    assert rs[3].dp_comm_s[0] > rs[0].dp_comm_s[0]  # ZeRO-3 gathers the weights every micro-batch


def test_overlapping_hides_communication():
    slow = dataclasses.replace(toy_hw(8, 2).inter, bandwidth=1e9)
    hw = toy_hw(8, 2, inter=slow)
    plain = run(hw, tp=8, dp=2, mb=4)
    overlapped = run(hw, opts=dataclasses.replace(OPTS, overlap_dp=True, overlap_tp=True), tp=8, dp=2, mb=4)
    assert overlapped.dp_comm_s[0] < plain.dp_comm_s[0] and overlapped.tp_comm_s[0] < plain.tp_comm_s[0]


def test_sequence_parallelism_shards_norms_and_their_activations():
    off, on = run(tp=8, sp=False), run(tp=8, sp=True)
    assert on.activations_bytes[0] < off.activations_bytes[0] and on.compute_s[0] < off.compute_s[0]


def test_vectorised_equals_one_by_one():
    plans = dict(
        tp=[1, 2, 4, 8], pp=[8, 4, 2, 1], dp=[1, 1, 1, 1], mb=[1, 2, 1, 4], sp=[False, True, True, False]
    )
    together = run(**plans)
    for i in range(4):
        alone = run(**{k: v[i] for k, v in plans.items()})
        assert alone.iteration_s[0] == together.iteration_s[i]
        assert alone.memory_bytes[0] == together.memory_bytes[i]


def test_invalid_plans_get_reasons():
    r = run(
        tp=[3, 1, 1, 1, 2], pp=[1, 3, 1, 2, 1], dp=[1, 1, 3, 4, 4], mb=[1, 1, 1, 1, 1], vpp=[1, 1, 1, 3, 1]
    )
    assert r.reason.tolist() == [
        "tp x pp x dp must be the 8 devices of the system",
        "tp x pp x dp must be the 8 devices of the system",
        "tp x pp x dp must be the 8 devices of the system",
        "pp x vpp must divide the layers",
        "",
    ]
    assert np.isnan(r.iteration_s[:4]).all() and not r.fits[:4].any()
    r = run(tp=4, pp=2, dp=1, mb=3)
    assert r.reason[0] == "dp x mb must divide the batch"
    r = run(tp=1, pp=1, dp=8, vpp=2)
    assert r.reason[0] == "interleaving needs pp > 1 and pp | micro-batches"


def test_bad_plan_values():
    with pytest.raises(InputError, match="recompute must be one of none, selective, full, not 'some'"):
        ParallelPlan.of(recompute="some")
    with pytest.raises(InputError, match="tp must be a positive integer"):
        ParallelPlan.of(tp=0)


def test_a_bigger_model_needs_more_memory_and_time():
    small, big = (
        run(tp=8),
        run(tp=8, model=model_spec("llama2-7b"), opts=TrainOptions(batch=64, seq_len=1024)),
    )
    assert big.iteration_s[0] > small.iteration_s[0] and big.memory_bytes[0] > small.memory_bytes[0]


def test_the_model_does_not_import_the_hdl_or_the_simulator():
    code = (
        "import systolic.model.llm.search, systolic.model.llm.inference, sys; "
        "print('amaranth' in sys.modules, 'cocotb' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
