"""Inference: prefill and decode, KV cache, time to first token and per output token, vectorised over plans.

A plan splits the model over ``tp`` tensor-parallel devices and ``pp`` pipeline stages (one request batch
goes through the stages one after the other, so their times add up); the system's remaining devices hold
replicas, which multiply the throughput.

* **Prefill** of ``batch`` prompts of ``prompt_len`` tokens: the block GEMMs on batch x prompt rows, the
  attention over the prompt (a fused kernel on GPUs, skipping the masked half), element-wise kernels and the
  tensor-parallel all-reduces; then the output layer on the last token only. Time to first token = the
  prefill of all stages plus the sends between them.
* **Decode**, one token per sequence per step: the same GEMMs on ``batch`` rows, whose weights stream from
  device memory each step, and attention reading the KV cache (keys and values of every earlier token;
  grouped-query attention reads each key/value head once for its group). Time per output token = one step
  at the mean context ``prompt_len + (output_len - 1) / 2`` (the step time is linear in the context).
* Each GEMM is compute- or memory-bound by the roofline (:class:`~.compute.GemmCost`): :func:`gemm_table`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from systolic.errors import InputError
from systolic.llm_spec import ModelSpec

from . import transformer as tf
from .collectives import collective_time, p2p_time
from .compute import fused_attention_seconds, gemm_cost, stream_seconds
from .hardware import Hardware
from .training import TP_COLLECTIVES


@dataclass(frozen=True)
class InferOptions:
    """batch : sequences decoded together; prompt_len, output_len : tokens in and out per sequence;
    weight_bytes, kv_bytes : bytes per weight and per cached key/value element (default: the device's
    element size); flash_attention : fused attention kernels; algorithm : collective algorithm;
    workspace_bytes : framework memory besides tensors (an assumption, as in training)."""

    batch: int = 1
    prompt_len: int = 2048
    output_len: int = 128
    weight_bytes: float | None = None
    kv_bytes: float | None = None
    flash_attention: bool = True
    algorithm: str = "auto"
    workspace_bytes: float = 1e9


@dataclass(frozen=True)
class InferResult:
    """Per plan (arrays ``[config]``): seconds, bytes per device, tokens per second for the whole system."""

    tp: np.ndarray
    pp: np.ndarray
    valid: np.ndarray
    reason: np.ndarray
    ttft_s: np.ndarray
    prefill_compute_s: np.ndarray
    prefill_comm_s: np.ndarray
    tpot_s: np.ndarray
    decode_compute_s: np.ndarray
    decode_comm_s: np.ndarray
    e2e_s: np.ndarray
    throughput_tok_s: np.ndarray
    weights_bytes: np.ndarray
    kv_cache_bytes: np.ndarray
    activations_bytes: np.ndarray
    memory_bytes: np.ndarray
    fits: np.ndarray
    energy_per_token_j: np.ndarray

    def row(self, i: int) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)[i]
            out[f.name] = v.item() if hasattr(v, "item") else v
        return out


def _check(model: ModelSpec, hw: Hardware, tp, pp) -> tuple[np.ndarray, np.ndarray]:
    reason = np.full(tp.size, "", dtype=object)
    rules = [
        (tp * pp > hw.devices, f"tp x pp must fit in the {hw.devices} devices"),
        (hw.devices % (tp * pp) != 0, "tp x pp must divide the devices (whole replicas)"),
        (model.heads % tp != 0, "tp must divide the attention heads"),
        (model.ffn_hidden % tp != 0, "tp must divide the FFN width"),
        (model.layers % pp != 0, "pp must divide the layers"),
    ]
    for bad, why in reversed(rules):
        reason[bad] = why
    return reason == "", reason


def _block(model: ModelSpec, hw: Hardware, tokens, seqs, q_len, kv_len, tp, opts: InferOptions, decode: bool):
    """Seconds (compute, communication) and energy (pJ) of one block on one device."""
    eb = hw.element_bytes
    gemms = gemm_cost(hw, *tf.layer_gemms(model, tokens, seqs, q_len, kv_len, tp))
    core = tf.ATTENTION_CORE
    lin = gemms.seconds[..., ~core].sum(-1)
    energy = gemms.energy_pj[..., ~core].sum(-1)
    kv_bytes = opts.kv_bytes or eb
    if hw.kind == "gpu" and decode:  # memory-bound attention over the cache; a KV head serves its group
        flops = gemms.flops[..., core].sum(-1)
        cache = 2 * seqs * kv_len * tf.kv_dim_per_device(model, tp) * kv_bytes
        attn = np.maximum(flops / hw.gemm_flops, stream_seconds(hw, cache))
        energy = energy + flops * hw.pj_per_flop + cache * hw.pj_per_byte
    elif hw.kind == "gpu" and opts.flash_attention:
        flops = 0.5 * gemms.flops[..., core].sum(-1)
        attn = fused_attention_seconds(hw, flops)
        energy = energy + flops * hw.pj_per_flop
    else:
        attn = gemms.seconds[..., core].sum(-1)
        energy = energy + gemms.energy_pj[..., core].sum(-1)
    other, score = tf.elementwise_bytes(
        model, tokens, seqs, q_len, kv_len, tp, False, eb, False, opts.flash_attention or decode
    )
    new_kv = 2 * tokens * tf.kv_dim_per_device(model, tp) * kv_bytes  # writing this step's keys and values
    ew = stream_seconds(hw, other + score + new_kv)
    energy = energy + (other + score + new_kv) * hw.pj_per_byte
    ar = collective_time("all_reduce", tokens * model.hidden * eb, tp, 1, hw, opts.algorithm)
    return lin + attn + ew, TP_COLLECTIVES * ar, energy


def _pass(model, hw, tokens, seqs, q_len, kv_len, tp, pp, opts, decode):
    """Compute and communication seconds of one pass through all stages, and its energy (all devices, J)."""
    block_t, block_c, block_e = _block(model, hw, tokens, seqs, q_len, kv_len, tp, opts, decode)
    layers = model.layers
    out = gemm_cost(hw, seqs, model.vocab / tp, model.hidden)  # logits of the last position of each sequence
    emb = stream_seconds(hw, tokens * model.hidden * hw.element_bytes * 2)
    compute = layers * block_t + out.seconds + emb
    msg = tokens * model.hidden * hw.element_bytes
    same_node = tp * pp <= hw.devices_per_node
    comm = layers * block_c + (pp - 1) * p2p_time(msg, same_node, hw)
    energy = (layers * block_e + out.energy_pj) * tp * 1e-12
    return compute, comm, energy


def infer(model: ModelSpec, hw: Hardware, tp, pp, opts: InferOptions) -> InferResult:
    """Evaluate every (tp, pp) plan; invalid ones get NaN and a reason."""
    tp, pp = np.broadcast_arrays(
        np.atleast_1d(np.asarray(tp, dtype=np.int64)), np.atleast_1d(np.asarray(pp, dtype=np.int64))
    )
    if np.any(tp < 1) or np.any(pp < 1):
        raise InputError("tp and pp must be positive integers", where="tp")
    valid, reason = _check(model, hw, tp, pp)
    b, s_in, s_out = opts.batch, opts.prompt_len, opts.output_len
    tpf, ppf = tp.astype(float), pp.astype(float)
    pre_c, pre_m, pre_e = _pass(model, hw, b * s_in, b, s_in, s_in, tpf, ppf, opts, decode=False)
    ctx = s_in + (s_out - 1) / 2.0
    dec_c, dec_m, dec_e = _pass(model, hw, b, b, 1, ctx, tpf, ppf, opts, decode=True)
    ttft = pre_c + pre_m
    tpot = dec_c + dec_m
    e2e = ttft + (s_out - 1) * tpot
    replicas = hw.devices // (tp * pp)
    throughput = replicas * b * s_out / e2e
    wb = opts.weight_bytes or hw.element_bytes
    kvb = opts.kv_bytes or hw.element_bytes
    layers_dev = model.layers / ppf
    emb = model.vocab * model.hidden * (1 if model.tied_embeddings else 2) / tpf
    weights = (layers_dev * model.layer_params() / tpf + emb) * wb
    kv = 2 * layers_dev * tf.kv_dim_per_device(model, tpf) * (s_in + s_out) * b * kvb
    width = np.maximum(model.hidden, (2 if model.swiglu else 1) * model.ffn_hidden / tpf)
    acts = 4 * b * s_in * width * hw.element_bytes  # a few prefill buffers in flight
    total = weights + kv + acts + opts.workspace_bytes
    idle = hw.idle_w * tp * pp * e2e
    energy_tok = (pre_e + (s_out - 1) * dec_e + idle) / (b * s_out)

    def v(x):
        return np.where(valid, np.asarray(x, dtype=float) + np.zeros(tp.shape), np.nan)

    return InferResult(
        tp=tp,
        pp=pp,
        valid=valid,
        reason=reason.astype(str),
        ttft_s=v(ttft),
        prefill_compute_s=v(pre_c),
        prefill_comm_s=v(pre_m),
        tpot_s=v(tpot),
        decode_compute_s=v(dec_c),
        decode_comm_s=v(dec_m),
        e2e_s=v(e2e),
        throughput_tok_s=v(throughput),
        weights_bytes=v(weights),
        kv_cache_bytes=v(kv),
        activations_bytes=v(acts),
        memory_bytes=v(total),
        fits=valid & (total <= hw.memory_bytes),
        energy_per_token_j=v(energy_tok),
    )


def gemm_table(model: ModelSpec, hw: Hardware, tp: int, opts: InferOptions) -> list[dict]:
    """Each block GEMM of the prefill and of one decode step on one device: shape, FLOPs, bytes, compute
    and memory time, and whether it is compute- or memory-bound."""
    rows = []
    for phase, tokens, q_len, kv_len in (
        ("prefill", opts.batch * opts.prompt_len, opts.prompt_len, opts.prompt_len),
        ("decode", opts.batch, 1, opts.prompt_len + (opts.output_len - 1) / 2.0),
    ):
        m, n, k, batch = tf.layer_gemms(model, tokens, opts.batch, q_len, kv_len, tp)
        cost = gemm_cost(hw, m, n, k, batch)
        for i, name in enumerate(tf.GEMMS):
            rows.append(
                {
                    "phase": phase,
                    "gemm": name,
                    "m": int(np.ceil(m[i])),
                    "n": int(np.ceil(n[i])),
                    "k": int(np.ceil(k[i])),
                    "batch": int(np.ceil(batch[i])),
                    "flops": float(cost.flops[i]),
                    "compute_s": float(cost.compute_s[i]),
                    "memory_s": float(cost.memory_s[i]),
                    "bound": "compute" if cost.compute_bound[i] else "memory",
                }
            )
    return rows
