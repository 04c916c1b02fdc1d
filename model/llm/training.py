"""Time, memory, energy and model FLOPs utilisation of a training iteration, vectorised over parallel plans.

A plan (:class:`ParallelPlan`, every field an array ``[config]``) splits a model over ``tp x pp x dp``
devices: tensor parallelism (Megatron, optionally with sequence parallelism) inside each block, ``pp``
pipeline stages of ``layers / pp`` blocks (``vpp`` interleaved chunks each), and ``dp`` data-parallel
replicas with ZeRO level ``zero`` (1: optimizer states sharded, 2: and gradients, 3: and weights). The
global batch of ``batch`` sequences is cut into micro-batches of ``mb``.

Per device and micro-batch (:func:`train`): the blocks' GEMMs (:mod:`.compute`), element-wise kernels and
tensor-parallel collectives forward and backward, recomputation (none / selective / full), the embedding on
the first stage and the output layer and loss on the last, and the point-to-point sends between stages.
The pipeline (Narayanan et al., "Efficient Large-Scale Language Model Training on GPU Clusters Using
Megatron-LM", SC 2021, Sections 2.2 and 4) runs ``m`` micro-batches in ``m t_max + (pp - 1)/vpp t_mean``
(1F1B; interleaved with ``vpp`` chunks), t_max the slowest stage's time per micro-batch and t_mean the
mean: the bubble is the second term. Then the data-parallel gradient reduction (exposed unless overlapped
with the last micro-batch's backward) and the optimizer step (memory-bound). Memory is that of the first
stage (it holds ``pp`` micro-batches of activations, Korthikanti et al. 2023) or of the last (the logits),
whichever is larger.
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

RECOMPUTE: tuple[str, ...] = ("none", "selective", "full")

#: Tensor-parallel all-reduces per block and pass: after the attention and after the FFN (Megatron).
TP_COLLECTIVES = 2


@dataclass(frozen=True)
class ParallelPlan:
    """Parallel configurations, one per entry of every array.

    tp, pp, dp : tensor-, pipeline- and data-parallel degrees; mb : micro-batch (sequences);
    sp : sequence parallelism; recompute : index into :data:`RECOMPUTE`; vpp : interleaved chunks per
    pipeline stage (1: plain 1F1B); zero : ZeRO level 0..3.
    """

    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    mb: np.ndarray
    sp: np.ndarray
    recompute: np.ndarray
    vpp: np.ndarray
    zero: np.ndarray

    @classmethod
    def of(cls, tp=1, pp=1, dp=1, mb=1, sp=False, recompute="none", vpp=1, zero=0) -> ParallelPlan:
        """Broadcast scalars or arrays into a plan; ``recompute`` may be names or indices."""
        rec = np.asarray(recompute)
        if rec.dtype.kind in "US":
            bad = [str(r) for r in np.unique(rec) if r not in RECOMPUTE]
            if bad:
                raise InputError(
                    f"recompute must be one of {', '.join(RECOMPUTE)}, not {bad[0]!r}", where="recompute"
                )
            rec = np.vectorize(RECOMPUTE.index, otypes=[np.int64])(rec)
        arrays = np.broadcast_arrays(
            *(np.atleast_1d(np.asarray(x)) for x in (tp, pp, dp, mb, sp, rec, vpp, zero))
        )
        ints = [a.astype(np.int64) for a in arrays]
        plan = cls(ints[0], ints[1], ints[2], ints[3], arrays[4].astype(bool), ints[5], ints[6], ints[7])
        for f in ("tp", "pp", "dp", "mb", "vpp"):
            if np.any(getattr(plan, f) < 1):
                raise InputError(f"{f} must be a positive integer", where=f)
        if np.any((plan.zero < 0) | (plan.zero > 3)) or np.any((plan.recompute < 0) | (plan.recompute > 2)):
            raise InputError("zero must be 0..3 and recompute none, selective or full", where="zero")
        return plan

    @property
    def size(self) -> int:
        return self.tp.size

    @property
    def devices(self) -> np.ndarray:
        return self.tp * self.pp * self.dp

    def take(self, index) -> ParallelPlan:
        return ParallelPlan(*(getattr(self, f.name)[index] for f in fields(self)))

    def row(self, i: int) -> dict:
        """One configuration as plain values (``recompute`` by name)."""
        out = {f.name: getattr(self, f.name)[i].item() for f in fields(self)}
        out["recompute"] = RECOMPUTE[out["recompute"]]
        return out


@dataclass(frozen=True)
class TrainOptions:
    """The training step's software choices (the same for every plan of a call).

    batch : global batch in sequences; seq_len : sequence length (default: the model's).
    param_bytes, grad_bytes, optimizer_bytes : bytes per parameter of the weights, the stored gradients and
    the optimizer (fp32 master weights + Adam's two moments = 12); the defaults are Megatron-LM's bf16
    weights with fp32 main gradients, 18 bytes per parameter in all (Megatron-LM docs, "Distributed
    Optimizer"). grad_comm_bytes : bytes per gradient element in the data-parallel reduction.
    dropout : dropout after attention and the FFN (masks stored and streamed).
    flash_attention : a fused attention kernel (no score matrix in memory; causal blocks skipped).
    overlap_dp : gradient reduction overlapped with the backward pass of the last micro-batch (PyTorch DDP,
    Megatron's overlap-grad-reduce); parameter all-gathers of ZeRO with the next forward pass.
    overlap_tp : tensor-parallel collectives hidden behind the GEMMs (Megatron-Core's tp-comm-overlap).
    scatter_gather : pipeline sends of 1/tp of an activation across nodes, then an all-gather inside the
    node (Narayanan et al. 2021, Section 4.1).
    algorithm : collective algorithm (:data:`~.collectives.ALGORITHMS`).
    workspace_bytes : device memory the framework holds besides tensors (CUDA context, library workspaces,
    communication buffers); an assumption, about 1 GB on recent GPUs.
    """

    batch: int
    seq_len: int | None = None
    param_bytes: float = 2.0
    grad_bytes: float = 4.0
    grad_comm_bytes: float = 4.0
    optimizer_bytes: float = 12.0
    dropout: bool = True
    flash_attention: bool = False
    overlap_dp: bool = False
    overlap_tp: bool = False
    scatter_gather: bool = True
    algorithm: str = "auto"
    workspace_bytes: float = 1e9


@dataclass(frozen=True)
class TrainResult:
    """Per configuration (arrays ``[config]``); times in seconds per iteration, memory in bytes per device.

    The time of an iteration is ``compute + tp_comm + pp_comm + bubble + dp_comm + optimizer`` on the
    device of the slowest pipeline stage: compute is its GEMMs and element-wise kernels, ``*_comm`` the
    exposed part of each kind of communication.
    """

    plan: ParallelPlan
    valid: np.ndarray
    reason: np.ndarray
    microbatches: np.ndarray
    iteration_s: np.ndarray
    compute_s: np.ndarray
    tp_comm_s: np.ndarray
    pp_comm_s: np.ndarray
    bubble_s: np.ndarray
    dp_comm_s: np.ndarray
    optimizer_s: np.ndarray
    weights_bytes: np.ndarray
    grads_bytes: np.ndarray
    optimizer_bytes: np.ndarray
    activations_bytes: np.ndarray
    buffers_bytes: np.ndarray
    memory_bytes: np.ndarray
    fits: np.ndarray
    model_flops: float
    hardware_flops: np.ndarray
    mfu: np.ndarray
    hfu: np.ndarray
    tokens_per_s: np.ndarray
    energy_j: np.ndarray
    block_fwd_s: np.ndarray  # one block, one micro-batch, one device: forward (GEMMs and element-wise)
    block_bwd_s: np.ndarray  # backward
    block_recompute_s: np.ndarray  # recomputation before the backward pass
    block_tp_comm_s: np.ndarray  # exposed tensor-parallel communication, forward and backward
    block_flops: np.ndarray  # FLOPs executed, recomputation included

    TIME_PARTS = ("compute_s", "tp_comm_s", "pp_comm_s", "bubble_s", "dp_comm_s", "optimizer_s")
    MEMORY_PARTS = ("weights_bytes", "grads_bytes", "optimizer_bytes", "activations_bytes", "buffers_bytes")

    def row(self, i: int) -> dict:
        """Configuration ``i`` as plain values."""
        out = {"plan": self.plan.row(i), "valid": bool(self.valid[i]), "reason": str(self.reason[i])}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("plan", "valid", "reason"):
                continue
            out[f.name] = v[i].item() if isinstance(v, np.ndarray) else v
        return out


def model_flops_per_sequence(model: ModelSpec, seq_len: int) -> float:
    """Forward + backward FLOPs of one sequence, no recomputation: 3 x (blocks + output layer) forward, full
    score matrices (Korthikanti et al. 2023, Section 6.3: 72 s l h^2 (1 + s/(6h) + V/(12 l h)) for GPT)."""
    blocks = model.layers * float(tf.layer_flops(model, seq_len, 1, seq_len, seq_len, 1))
    return 3.0 * (blocks + 2.0 * seq_len * model.hidden * model.vocab)


def _check(model: ModelSpec, hw: Hardware, plan: ParallelPlan, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Which plans can run, and why not."""
    reason = np.full(plan.size, "", dtype=object)
    m = batch // np.maximum(plan.dp * plan.mb, 1)
    rules = [
        (plan.devices != hw.devices, f"tp x pp x dp must be the {hw.devices} devices of the system"),
        (model.heads % plan.tp != 0, "tp must divide the attention heads"),
        (model.ffn_hidden % plan.tp != 0, "tp must divide the FFN width"),
        (model.layers % (plan.pp * plan.vpp) != 0, "pp x vpp must divide the layers"),
        (batch % (plan.dp * plan.mb) != 0, "dp x mb must divide the batch"),
        (
            (plan.vpp > 1) & ((plan.pp == 1) | (m % plan.pp != 0)),
            "interleaving needs pp > 1 and pp | micro-batches",
        ),
    ]
    for bad, why in reversed(rules):
        reason[bad] = why
    return reason == "", reason


@dataclass(frozen=True)
class _Setting:
    """The arrays every step of :func:`train` reads, ``[config]``, as floats."""

    s: int  # sequence length
    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    mb: np.ndarray
    vpp: np.ndarray
    sp: np.ndarray
    rec: np.ndarray
    zero: np.ndarray
    tokens: np.ndarray  # per micro-batch
    microbatches: np.ndarray  # per pipeline and iteration
    layers: np.ndarray  # blocks per device


@dataclass(frozen=True)
class _Block:
    """One block, one micro-batch, one device: seconds, exposed TP seconds, energy (pJ), FLOPs executed."""

    fwd: np.ndarray
    bwd: np.ndarray
    recompute: np.ndarray
    tp: np.ndarray
    all_reduce: np.ndarray  # one all-reduce of the block's activation
    energy_pj: np.ndarray
    flops: np.ndarray


def _block(model: ModelSpec, hw: Hardware, st: _Setting, opts: TrainOptions) -> _Block:
    """The block's GEMMs, element-wise kernels and tensor-parallel collectives, with recomputation."""
    s, eb, rec = st.s, hw.element_bytes, st.rec
    fwd = tf.layer_gemms(model, st.tokens, st.mb, s, s, st.tp)  # each [config, gemm]
    dgrad, wgrad = tf.backward(*fwd)
    g_f, g_d, g_w = gemm_cost(hw, *fwd), gemm_cost(hw, *dgrad), gemm_cost(hw, *wgrad)
    core = tf.ATTENTION_CORE
    if opts.flash_attention:  # one fused kernel skipping masked blocks; backward ~2.5x forward (FA-2)
        attn_flops = 0.5 * g_f.flops[:, core].sum(-1)
        attn_f = fused_attention_seconds(hw, attn_flops)
        attn_b = 2.5 * attn_f
        attn_e = 3.5 * attn_flops * hw.pj_per_flop
    else:
        attn_f = g_f.seconds[:, core].sum(-1)
        attn_b = (g_d.seconds + g_w.seconds)[:, core].sum(-1)
        attn_e = (g_f.energy_pj + g_d.energy_pj + g_w.energy_pj)[:, core].sum(-1)
    lin_f = g_f.seconds[:, ~core].sum(-1)
    lin_b = (g_d.seconds + g_w.seconds)[:, ~core].sum(-1)
    other_b, score_b = tf.elementwise_bytes(
        model, st.tokens, st.mb, s, s, st.tp, st.sp, eb, opts.dropout, opts.flash_attention
    )
    ew_f = stream_seconds(hw, other_b + score_b)
    # two all-reduces forward and two backward (all-gather + reduce-scatter with SP: the same volume)
    ar = collective_time("all_reduce", st.tokens * model.hidden * eb, st.tp, 1, hw, opts.algorithm)
    tp_pass = TP_COLLECTIVES * ar
    exposed = np.maximum(tp_pass - (lin_f + attn_f), 0.0) if opts.overlap_tp else tp_pass
    compute_f = lin_f + attn_f + ew_f
    recompute = np.select([rec == 2, rec == 1], [compute_f, attn_f + stream_seconds(hw, score_b)], 0.0)
    ew_bytes = (other_b + score_b) * 3 + np.select([rec == 2, rec == 1], [other_b + score_b, score_b], 0.0)
    lin_e = g_f.energy_pj[:, ~core].sum(-1) * np.where(rec == 2, 2, 1) + (g_d.energy_pj + g_w.energy_pj)[
        :, ~core
    ].sum(-1)
    energy = lin_e + attn_e * np.where(rec >= 1, 4 / 3, 1) + ew_bytes * hw.pj_per_byte
    f = g_f.flops.sum(-1)
    flops = 3 * f + np.select([rec == 2, rec == 1], [f, g_f.flops[:, core].sum(-1)], 0.0)
    return _Block(
        compute_f, lin_b + attn_b + 2 * ew_f, recompute, exposed * np.where(rec == 2, 3, 2), ar, energy, flops
    )


def _pipeline(model: ModelSpec, hw: Hardware, st: _Setting, opts: TrainOptions, blk: _Block) -> dict:
    """Stage times per micro-batch (the first stage embeds, the last computes the logits and the loss),
    the sends between stages and the schedule's time and bubble."""
    h, V, eb, tp, pp = model.hidden, model.vocab, hw.element_bytes, st.tp, st.pp
    shard = np.where(st.sp, tp, 1.0)
    emb_f = stream_seconds(hw, st.tokens * h * eb * (4 if model.learned_positions else 2) / shard)
    emb_b = 2 * emb_f + stream_seconds(hw, V * h / tp * opts.grad_bytes)  # scatter-add into the table
    out = (st.tokens, V / tp, h, 1)
    dgrad, wgrad = tf.backward(*out)
    costs = (gemm_cost(hw, *out), gemm_cost(hw, *dgrad), gemm_cost(hw, *wgrad))
    loss = stream_seconds(hw, st.tokens * V / tp * 40.0)  # fp32 vocab-parallel cross-entropy, ~10 passes
    emb_t = emb_f + emb_b + blk.all_reduce  # the vocab-parallel embedding all-reduces its output
    out_t = sum(c.seconds for c in costs) + loss + blk.all_reduce  # and the output layer its input gradient
    block = st.layers * (blk.fwd + blk.bwd + blk.recompute + blk.tp)
    msg = st.tokens * h * eb / shard  # activation forward, gradient backward, per chunk boundary
    same_node = st.tp * st.dp * st.pp <= hw.devices_per_node
    sg = opts.scatter_gather & ~st.sp & (st.tp > 1) & ~same_node
    one = np.where(
        sg,
        p2p_time(msg / tp, same_node, hw) + collective_time("all_gather", msg, st.tp, 1, hw, opts.algorithm),
        p2p_time(msg, same_node, hw),
    )
    p2p = np.where(pp > 1, 2 * st.vpp * one, 0.0)
    first = block + emb_t + p2p + np.where(pp == 1, out_t, 0.0)
    last = block + out_t + p2p
    mid = block + p2p
    t_max = np.where(pp == 1, first, np.maximum(np.maximum(first, last), np.where(pp > 2, mid, 0.0)))
    t_mean = np.where(pp == 1, first, (first + last + (pp - 2) * mid) / pp)
    bubble = (pp - 1) / st.vpp * t_mean
    return dict(
        pipe=st.microbatches * t_max + bubble, bubble=bubble, p2p=p2p, msg=msg, same_node=same_node, out=costs
    )


def _data_parallel(model: ModelSpec, hw: Hardware, st: _Setting, opts: TrainOptions, blk: _Block) -> dict:
    """Parameters per device, the exposed data-parallel communication and the optimizer step."""
    h, V = model.hidden, model.vocab
    # the first stage holds the embedding (and the last a copy, or its own output layer if untied)
    p_dev = (
        st.layers * model.layer_params() / st.tp
        + (V * h + (st.s * h if model.learned_positions else 0)) / st.tp
    )
    if not model.tied_embeddings:
        p_dev = p_dev + np.where(st.pp == 1, V * h / st.tp, 0.0)
    g, w, m = opts.grad_comm_bytes, opts.param_bytes, st.microbatches
    rs = collective_time("reduce_scatter", p_dev * g, st.dp, st.tp, hw, opts.algorithm)
    ag = collective_time("all_gather", p_dev * w, st.dp, st.tp, hw, opts.algorithm)
    ar = collective_time("all_reduce", p_dev * g, st.dp, st.tp, hw, opts.algorithm)
    bwd = st.layers * (blk.bwd + blk.recompute)
    fwd = st.layers * blk.fwd

    def hidden(comm, behind):  # what overlapping leaves exposed
        return np.maximum(comm - behind, 0.0) if opts.overlap_dp else comm

    # ZeRO 0: one all-reduce of the accumulated gradients; 1: reduce-scatter, then all-gather the updated
    # weights; 2: gradients are sharded, so every micro-batch reduce-scatters its own; 3: every micro-batch
    # also gathers the weights for its forward and its backward pass (Rajbhandari et al., SC 2020).
    z = st.zero
    dp_t = np.select(
        [z == 0, z == 1, z == 2],
        [hidden(ar, bwd), hidden(rs, bwd) + hidden(ag, fwd), m * hidden(rs, bwd) + hidden(ag, fwd)],
        m * (hidden(ag, fwd) + hidden(ag + rs, bwd)),
    )
    per_param = np.select([z == 0, z == 1, z == 2], [2 * g, g + w, m * g + w], m * (g + 2 * w))
    opt_params = p_dev / np.where(z >= 1, st.dp, 1.0)
    opt_bytes = opt_params * (2 * opts.grad_bytes + 2 * opts.optimizer_bytes + opts.param_bytes)
    return dict(
        p_dev=p_dev,
        dp_t=np.where(st.dp > 1, dp_t, 0.0),
        dp_bytes=(st.dp - 1) / st.dp * p_dev * per_param,
        opt_t=stream_seconds(hw, opt_bytes),
        opt_bytes=opt_bytes,
    )


def _memory(model: ModelSpec, hw: Hardware, st: _Setting, opts: TrainOptions, p_dev, msg) -> dict:
    """Bytes per device: the first stage keeps ``pp`` micro-batches of activations (more when
    interleaved, Korthikanti et al. 2023, Section 4.2.3), the last the fp32 logits."""
    pp, tp, z = st.pp, st.tp, st.zero
    inflight = np.where(
        pp == 1,
        1.0,
        np.minimum(st.microbatches, pp) * np.where(st.vpp > 1, 1 + (pp - 1) / (pp * st.vpp), 1.0),
    )
    act = tf.activation_bytes(
        model,
        st.tokens,
        st.mb,
        st.s,
        st.s,
        tp,
        st.sp,
        st.rec,
        hw.element_bytes,
        opts.dropout,
        opts.flash_attention,
    )
    emb = (
        st.tokens * model.hidden * (hw.element_bytes + (1 if opts.dropout else 0)) / np.where(st.sp, tp, 1.0)
    )
    logits = 4.0 * st.tokens * model.vocab / tp
    first = (st.layers * act + emb) * inflight + np.where(pp == 1, logits, 0.0)
    last = st.layers * act + logits
    out = dict(
        weights=p_dev * opts.param_bytes / np.where(z == 3, st.dp, 1.0),
        grads=p_dev * opts.grad_bytes / np.where(z >= 2, st.dp, 1.0),
        optim=p_dev * opts.optimizer_bytes / np.where(z >= 1, st.dp, 1.0),
        activations=np.where(pp == 1, first, np.maximum(first, last)),
        buffers=opts.workspace_bytes + 2 * msg,
    )
    out["total"] = sum(out.values())
    return out


def train(model: ModelSpec, hw: Hardware, plan: ParallelPlan, opts: TrainOptions) -> TrainResult:
    """Evaluate every plan (see the module docstring). Invalid plans get NaN and a reason."""
    s = opts.seq_len or model.seq_len
    valid, reason = _check(model, hw, plan, opts.batch)
    tp, pp, dp, mb, vpp = (x.astype(float) for x in (plan.tp, plan.pp, plan.dp, plan.mb, plan.vpp))
    m = np.maximum(np.floor(opts.batch / np.maximum(dp * mb, 1)), 1)
    st = _Setting(s, tp, pp, dp, mb, vpp, plan.sp, plan.recompute, plan.zero, mb * s, m, model.layers / pp)
    blk = _block(model, hw, st, opts)
    pipe = _pipeline(model, hw, st, opts, blk)
    dpar = _data_parallel(model, hw, st, opts, blk)
    mem = _memory(model, hw, st, opts, dpar["p_dev"], pipe["msg"])
    iteration = pipe["pipe"] + dpar["dp_t"] + dpar["opt_t"]
    # breakdown on the slowest stage's device (it has the embedding's or the output layer's all-reduce)
    tp_comm = m * (st.layers * blk.tp + np.where(pp == 1, 2.0, 1.0) * blk.all_reduce)
    pp_comm = m * pipe["p2p"]
    compute = pipe["pipe"] - pipe["bubble"] - tp_comm - pp_comm
    # FLOPs and energy of all devices: every stage and replica of every micro-batch
    o_f, o_d, o_w = pipe["out"]
    mflops = model_flops_per_sequence(model, s) * opts.batch
    hw_flops = m * dp * tp * (blk.flops * model.layers + 3 * o_f.flops)
    capacity = iteration * hw.devices * hw.peak_flops
    compute_j = (
        m * dp * tp * (model.layers * blk.energy_pj + o_f.energy_pj + o_d.energy_pj + o_w.energy_pj) * 1e-12
    )
    tp_bytes = (
        m * st.layers * TP_COLLECTIVES * 4 * (tp - 1) / tp * st.tokens * model.hidden * hw.element_bytes
    )
    tp_bytes = tp_bytes * np.where(st.rec == 2, 1.5, 1.0)
    pp_bytes = m * 2 * vpp * pipe["msg"] * (pp > 1)
    dp_crosses = plan.tp * plan.dp > hw.devices_per_node
    link_pj = (
        tp_bytes * hw.intra.pj_per_byte
        + pp_bytes * np.where(pipe["same_node"], hw.intra.pj_per_byte, hw.inter.pj_per_byte)
        + dpar["dp_bytes"] * np.where(dp_crosses, hw.inter.pj_per_byte, hw.intra.pj_per_byte)
        + dpar["opt_bytes"] * hw.pj_per_byte
    )
    energy = hw.devices * (hw.idle_w * iteration + link_pj * 1e-12) + compute_j

    def v(x):
        return np.where(valid, np.asarray(x, dtype=float) + np.zeros(plan.size), np.nan)

    return TrainResult(
        plan=plan,
        valid=valid,
        reason=reason.astype(str),
        microbatches=np.where(valid, m, 0).astype(np.int64),
        iteration_s=v(iteration),
        compute_s=v(compute),
        tp_comm_s=v(tp_comm),
        pp_comm_s=v(pp_comm),
        bubble_s=v(pipe["bubble"]),
        dp_comm_s=v(dpar["dp_t"]),
        optimizer_s=v(dpar["opt_t"]),
        weights_bytes=v(mem["weights"]),
        grads_bytes=v(mem["grads"]),
        optimizer_bytes=v(mem["optim"]),
        activations_bytes=v(mem["activations"]),
        buffers_bytes=v(mem["buffers"]),
        memory_bytes=v(mem["total"]),
        fits=valid & (mem["total"] <= hw.memory_bytes),
        model_flops=mflops,
        hardware_flops=v(hw_flops),
        mfu=v(mflops / capacity),
        hfu=v(hw_flops / capacity),
        tokens_per_s=v(opts.batch * s / iteration),
        energy_j=v(energy),
        block_fwd_s=v(blk.fwd),
        block_bwd_s=v(blk.bwd),
        block_recompute_s=v(blk.recompute),
        block_tp_comm_s=v(blk.tp),
        block_flops=v(blk.flops),
    )
