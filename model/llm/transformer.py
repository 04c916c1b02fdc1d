"""One transformer block on one device: its GEMMs, its element-wise traffic and its stored activations.

Everything is per block and per micro-batch, vectorised over configurations: ``tokens`` rows go through the
token GEMMs (micro-batch x sequence length in training and prefill, the batch in decode), ``seqs``
sequences attend with ``q_len`` queries each to ``kv_len`` keys, and Megatron-style tensor parallelism of
degree ``tp`` splits the heads and the feed-forward width (Shoeybi et al., "Megatron-LM", 2019): QKV and
the first FFN GEMM by columns, the output projection and the second FFN GEMM by rows. Key/value heads
fewer than ``tp`` are replicated.

Forward GEMMs (:data:`GEMMS`), with h the width, f the FFN width, a the heads, d the head width::

    qkv      [tokens, (h + 2 kv_dim)/tp] = [tokens, h] @ [h, (h + 2 kv_dim)/tp]
    scores   (a/tp x seqs) x [q_len, kv_len] = [q_len, d] @ [d, kv_len]
    context  (a/tp x seqs) x [q_len, d]      = [q_len, kv_len] @ [kv_len, d]
    proj     [tokens, h] = [tokens, h/tp] @ [h/tp, h]
    fc1      [tokens, g f/tp] = [tokens, h] @ [h, g f/tp]     (g = 2 for SwiGLU's gate and up)
    fc2      [tokens, h] = [tokens, f/tp] @ [f/tp, h]

Backward: each GEMM's input gradient dA = dC @ B^T and weight gradient dB = A^T @ dC (:func:`backward`).
"""

from __future__ import annotations

import numpy as np

from systolic.llm_spec import ModelSpec

#: The forward GEMMs of a block, in order; ``scores`` and ``context`` are the attention core.
GEMMS: tuple[str, ...] = ("qkv", "scores", "context", "proj", "fc1", "fc2")
ATTENTION_CORE = np.array([False, True, True, False, False, False])


def _f(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def kv_dim_per_device(model: ModelSpec, tp) -> np.ndarray:
    """Key (or value) width held by one device: its share of the key/value heads, at least one head."""
    return model.head_dim * np.maximum(model.kv_heads / _f(tp), 1.0)


def layer_gemms(model: ModelSpec, tokens, seqs, q_len, kv_len, tp) -> tuple[np.ndarray, ...]:
    """``(m, n, k, batch)`` of the forward GEMMs, each ``[..., gemm]`` in :data:`GEMMS` order."""
    tokens, seqs, q_len, kv_len, tp = np.broadcast_arrays(*(_f(x) for x in (tokens, seqs, q_len, kv_len, tp)))
    h, f, d = model.hidden, model.ffn_hidden, model.head_dim
    heads = model.heads / tp
    kv = kv_dim_per_device(model, tp)
    gate = 2.0 if model.swiglu else 1.0
    one = np.ones_like(tokens)
    m = np.stack([tokens, q_len, q_len, tokens, tokens, tokens], axis=-1)
    n = np.stack([h / tp + 2 * kv, kv_len, d * one, h * one, gate * f / tp, h * one], axis=-1)
    k = np.stack([h * one, d * one, kv_len, h / tp, h * one, f / tp], axis=-1)
    batch = np.stack([one, heads * seqs, heads * seqs, one, one, one], axis=-1)
    return m, n, k, batch


def backward(m, n, k, batch) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """The input-gradient and weight-gradient GEMMs of forward GEMMs ``(m, n, k, batch)``."""
    return (m, k, n, batch), (k, n, m, batch)


def layer_flops(model: ModelSpec, tokens, seqs, q_len, kv_len, tp) -> np.ndarray:
    """Forward FLOPs of one block on one device (full score matrices, as model FLOPs count them)."""
    m, n, k, batch = layer_gemms(model, tokens, seqs, q_len, kv_len, tp)
    return (2 * m * n * k * batch).sum(axis=-1)


def elementwise_bytes(
    model: ModelSpec, tokens, seqs, q_len, kv_len, tp, sp, element_bytes: int, dropout: bool, flash: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Forward device-memory traffic of the block's element-wise kernels: ``(other, attention)`` bytes.

    Other: two norms (read and write the h-wide activation), two bias-dropout-residual adds (read the
    branch and the residual, write the sum and a one-byte dropout mask), the activation function (GeLU:
    read and write f wide; SwiGLU: read two, write one) and rotary embeddings of queries and keys (Llama).
    The norms and residual adds see the whole sequence on every tensor-parallel rank unless sequence
    parallelism shards them (Korthikanti et al., "Reducing Activation Recomputation in Large Transformer
    Models", MLSys 2023). Attention (unfused): the softmax reads and writes the score matrix, dropout reads
    it and writes it and a mask; a fused (flash) kernel keeps it on chip: 0.
    """
    tokens, seqs, q_len, kv_len, tp = (_f(x) for x in (tokens, seqs, q_len, kv_len, tp))
    eb = float(element_bytes)
    h, f = model.hidden, model.ffn_hidden
    rep = tokens * h / np.where(np.asarray(sp, dtype=bool), tp, 1.0)
    other = rep * (10 * eb + (2.0 if dropout else 0.0))
    other = other + tokens * f / tp * eb * (3.0 if model.swiglu else 2.0)
    if not model.learned_positions:  # rotary: read and write queries and keys
        other = other + 2 * tokens * (h / tp + kv_dim_per_device(model, tp)) * eb
    scores = model.heads / tp * seqs * q_len * kv_len
    attn = np.zeros_like(other) if flash else scores * (4 * eb + 1 if dropout else 2 * eb)
    return np.broadcast_arrays(other, attn)


def activation_bytes(
    model: ModelSpec,
    tokens,
    seqs,
    q_len,
    kv_len,
    tp,
    sp,
    recompute,
    element_bytes: int,
    dropout: bool,
    flash: bool,
) -> np.ndarray:
    """Bytes one block keeps for its backward pass, per micro-batch (Korthikanti et al. 2023, Table 2,
    generalised to any FFN width, grouped-query attention and optional dropout).

    ``recompute``: 0 none, 1 selective (the attention core is recomputed, so the score-sized tensors are
    not kept), 2 full (only the block's input is kept). With 16-bit activations, GPT's FFN of 4h, dropout
    and no flash attention this is s b h (10 + 24/t + 5 a s/(h t)) without sequence parallelism,
    s b h/t (34 + 5 a s/h) with it, 34 s b h/t with selective recomputation and 2 s b h with full.
    """
    tokens, seqs, q_len, kv_len, tp = (_f(x) for x in (tokens, seqs, q_len, kv_len, tp))
    sp = np.asarray(sp, dtype=bool)
    recompute = np.asarray(recompute)
    eb = float(element_bytes)
    h, f = model.hidden, model.ffn_hidden
    shard = np.where(sp, tp, 1.0)
    masks = 2.0 if dropout else 0.0  # attention-output and FFN-output dropout masks, one byte each
    replicated = tokens * h * (4 * eb + masks) / shard  # two norm inputs, the QKV and FFN inputs, masks
    kv = kv_dim_per_device(model, tp)
    attn_split = tokens * (2 * h / tp + 2 * kv) * eb  # Q, K, V and the output projection's input
    ffn_split = tokens * f / tp * eb * (3.0 if model.swiglu else 2.0)  # FFN activations
    scores = model.heads / tp * seqs * q_len * kv_len
    core = 0.0 if flash else scores * ((2 * eb + 1) if dropout else eb)  # softmax out, mask, dropout out
    full_keep = replicated + attn_split + ffn_split + core
    selective = replicated + attn_split + ffn_split
    inputs = tokens * h * eb / shard
    return np.select([recompute == 2, recompute == 1], [inputs, selective], full_keep)
