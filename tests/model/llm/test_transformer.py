"""model/llm/transformer.py: a block's GEMMs, FLOPs and stored activations against the papers' formulas."""

from __future__ import annotations

import numpy as np
import pytest

from systolic.llm_spec import ModelSpec, model_spec
from systolic.model.llm import transformer as tf

GPT = ModelSpec("gpt", 4, 1024, 16, 4096, 50000, 512)


def test_forward_gemms_of_a_tensor_parallel_gpt_block():
    m, n, k, batch = (x.tolist() for x in tf.layer_gemms(GPT, 2 * 512, 2, 512, 512, 4))
    assert list(zip(m, n, k, batch, strict=True)) == [
        (1024, 768, 1024, 1),  # QKV: 3h/t
        (512, 512, 64, 8),  # scores per head per sequence: 16/4 heads x 2 sequences
        (512, 64, 512, 8),
        (1024, 1024, 256, 1),  # output projection: rows split
        (1024, 1024, 1024, 1),  # fc1: 4h/t
        (1024, 1024, 1024, 1),  # fc2
    ]


def test_block_flops_are_the_textbook_24_t_h2_plus_4_t_s_h():
    s, b, h = 512, 3, GPT.hidden
    assert tf.layer_flops(GPT, b * s, b, s, s, 1) == 24 * b * s * h * h + 4 * b * s * s * h
    assert tf.layer_flops(GPT, b * s, b, s, s, 4) == pytest.approx(
        (24 * b * s * h * h + 4 * b * s * s * h) / 4
    )


def test_grouped_query_attention_and_replicated_kv_heads():
    llama = model_spec("llama2-70b")  # 64 heads of 128, 8 key/value heads
    assert tf.kv_dim_per_device(llama, 1) == 1024 and tf.kv_dim_per_device(llama, 8) == 128
    assert tf.kv_dim_per_device(llama, 16) == 128  # fewer kv heads than ranks: one per rank
    _, n, _, _ = tf.layer_gemms(llama, 10, 1, 10, 10, 8)
    assert n[0] == 8192 / 8 + 2 * 128 and n[4] == 2 * 28672 / 8


def test_backward_gemms_are_the_input_and_weight_gradients():
    fwd = (np.array(5.0), np.array(7.0), np.array(3.0), np.array(2.0))
    (dm, dn, dk, db), (wm, wn, wk, wb) = tf.backward(*fwd)
    assert (dm, dn, dk, db) == (5, 3, 7, 2) and (wm, wn, wk, wb) == (3, 7, 5, 2)


@pytest.mark.parametrize("t", [1, 2, 8])
def test_activation_memory_is_korthikanti_table_2(t):
    """Korthikanti et al. 2023, Table 2 (16-bit activations, dropout, GPT's FFN)."""
    a, h, s, b = GPT.heads, GPT.hidden, GPT.seq_len, 2

    def act(sp, rec):
        return tf.activation_bytes(GPT, b * s, b, s, s, t, sp, rec, 2, True, False)

    sbh = s * b * h
    assert act(False, 0) == pytest.approx(sbh * (10 + 24 / t + 5 * a * s / (h * t)))
    assert act(True, 0) == pytest.approx(sbh / t * (34 + 5 * a * s / h))
    assert act(False, 1) == pytest.approx(sbh * (10 + 24 / t))
    assert act(True, 1) == pytest.approx(sbh / t * 34)
    assert act(False, 2) == pytest.approx(2 * sbh)
    assert act(True, 2) == pytest.approx(2 * sbh / t)


def test_flash_attention_keeps_no_score_matrix():
    s, b = 512, 1
    with_scores = tf.activation_bytes(GPT, s, b, s, s, 1, False, 0, 2, True, False)
    flash = tf.activation_bytes(GPT, s, b, s, s, 1, False, 0, 2, True, True)
    assert with_scores - flash == pytest.approx(5 * GPT.heads * s * s * b)
    other, scores = tf.elementwise_bytes(GPT, s, b, s, s, 1, False, 2, True, True)
    assert scores == 0 and other > 0
