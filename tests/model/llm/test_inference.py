"""model/llm/inference.py: prefill and decode times, KV cache, per-GEMM bounds."""

from __future__ import annotations

import pytest

from systolic.errors import InputError
from systolic.llm_spec import model_spec
from systolic.model.llm.inference import InferOptions, gemm_table, infer

from .llm_toy import toy_hw

LLAMA = model_spec("llama2-7b")


def test_decode_at_batch_one_streams_the_weights():
    r = infer(LLAMA, toy_hw(), 1, 1, InferOptions(batch=1, prompt_len=16, output_len=2))
    weights = LLAMA.layers * LLAMA.layer_params() * 2  # blocks' weights, 2 bytes each, read once per token
    assert r.tpot_s[0] == pytest.approx(weights / 1e12, rel=0.1)
    assert r.tpot_s[0] > weights / 1e12


def test_kv_cache_size():
    opts = InferOptions(batch=3, prompt_len=1000, output_len=24)
    r = infer(model_spec("llama2-70b"), toy_hw(), [1, 8], 1, opts)
    per_token = 2 * 80 * 1024 * 2  # keys and values of 80 layers, 8 heads of 128, 2 bytes
    assert r.kv_cache_bytes.tolist() == pytest.approx([3 * 1024 * per_token, 3 * 1024 * per_token / 8])


def test_more_tensor_parallelism_is_faster_until_communication_dominates():
    r = infer(LLAMA, toy_hw(), [1, 2, 4, 8], 1, InferOptions(batch=1, prompt_len=2048, output_len=16))
    assert all(r.ttft_s[1:] < r.ttft_s[:-1])
    assert all(r.tpot_s[1:] < r.tpot_s[:-1])
    assert r.prefill_comm_s[0] == 0 and all(r.prefill_comm_s[1:] > 0)


def test_pipeline_stages_add_up_for_one_batch():
    opts = InferOptions(batch=1, prompt_len=512, output_len=8)
    one, two = infer(LLAMA, toy_hw(), 1, [1, 2], opts).ttft_s
    assert two == pytest.approx(one, rel=0.05)  # the same work one stage after the other, plus one send
    r = infer(LLAMA, toy_hw(), 1, [1, 2], opts)
    assert r.weights_bytes[1] < r.weights_bytes[0] and r.throughput_tok_s[0] == pytest.approx(
        8 * 1 * 8 / r.e2e_s[0]
    )


def test_gemm_table_says_prefill_is_compute_bound_and_decode_memory_bound():
    rows = gemm_table(LLAMA, toy_hw(), 1, InferOptions(batch=1, prompt_len=2048, output_len=16))
    bound = {(r["phase"], r["gemm"]): r["bound"] for r in rows}
    assert bound[("prefill", "qkv")] == "compute" and bound[("prefill", "fc1")] == "compute"
    assert all(bound[("decode", g)] == "memory" for g in ("qkv", "proj", "fc1", "fc2"))


def test_invalid_plans():
    r = infer(LLAMA, toy_hw(), [3, 16, 1], [1, 1, 3], InferOptions())
    assert r.reason.tolist() == [
        "tp x pp must divide the devices (whole replicas)",
        "tp x pp must fit in the 8 devices",
        "tp x pp must divide the devices (whole replicas)",
    ]
    with pytest.raises(InputError, match="tp and pp must be positive integers"):
        infer(LLAMA, toy_hw(), 0, 1, InferOptions())
