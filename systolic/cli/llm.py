"""``systolic llm train|infer|validate``: distributed LLM training and inference on a system of devices.

``systolic llm train --model gpt3-175b --system dgx-a100-selene --devices 1024 --batch 1536 --search``
evaluates every parallel plan and prints the fastest that fits, the next ones and the Pareto front of time,
memory and energy; ``--tp 8 --pp 8 ...`` evaluates one plan. Either way the report gives the time per
iteration (compute, exposed tensor-/pipeline-/data-parallel communication, pipeline bubble, optimizer)
and the memory per device (weights, gradients, optimizer states, activations, buffers). ``infer`` gives
the time to first token and per output token, the KV cache and whether each GEMM is compute- or
memory-bound. ``validate`` prints the table of published measurements against the model. ``--json FILE``
writes the report as JSON.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from systolic.fileio import atomic_write_json

GB = 1e9


def add(sub: Any) -> None:
    """Register ``systolic llm``."""
    p = sub.add_parser("llm", help="distributed LLM training and inference: parallel plans, time, memory")
    from .common import Parser

    lsub = p.add_subparsers(dest="llm_cmd", required=True, parser_class=Parser)
    train = lsub.add_parser("train", help="one training iteration: time and memory breakdown, or --search")
    _common(train)
    train.add_argument(
        "--batch", type=int, default=None, help="global batch in sequences (default 8 x devices)"
    )
    train.add_argument(
        "--dp", type=int, default=None, help="data-parallel degree (default: the other devices)"
    )
    train.add_argument("--mb", type=int, default=1, help="micro-batch in sequences (default 1)")
    train.add_argument("--sp", action="store_true", help="sequence parallelism")
    train.add_argument("--recompute", choices=("none", "selective", "full"), default="selective")
    train.add_argument("--vpp", type=int, default=1, help="interleaved chunks per pipeline stage (default 1)")
    train.add_argument("--zero", type=int, choices=(0, 1, 2, 3), default=1, help="ZeRO level (default 1)")
    train.add_argument("--flash-attention", action="store_true", help="fused attention kernels")
    train.add_argument("--overlap", action="store_true", help="overlap DP and TP communication with compute")
    train.set_defaults(func=_train)
    infer = lsub.add_parser("infer", help="prefill and decode: time to first token, per token, KV cache")
    _common(infer)
    infer.add_argument("--batch", type=int, default=1, help="sequences decoded together (default 1)")
    infer.add_argument("--prompt-len", type=int, default=None, help="input tokens (default: the model's)")
    infer.add_argument("--output-len", type=int, default=128, help="output tokens (default 128)")
    infer.add_argument(
        "--objective", choices=("ttft_s", "tpot_s", "throughput_tok_s"), default="tpot_s", help="for --search"
    )
    infer.set_defaults(func=_infer)
    val = lsub.add_parser("validate", help="the published measurements against the model")
    val.add_argument("--data", metavar="FILE", help="validation points (default: the shipped file)")
    val.add_argument("--json", metavar="FILE", help="write the table as JSON")
    val.set_defaults(func=_validate)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model", required=True, help="gpt2, gpt3-175b, llama2-7b, llama2-70b or a .toml with [model]"
    )
    p.add_argument("--system", required=True, help="a shipped system (configs/systems) or a system .toml")
    p.add_argument("--devices", type=int, default=None, help="use this many of the system's devices")
    p.add_argument("--precision", default="bf16", help="number format of a GPU-class device (default bf16)")
    p.add_argument("--seq-len", type=int, default=None, help="sequence length (default: the model's)")
    p.add_argument("--tp", type=int, default=None, help="tensor-parallel degree")
    p.add_argument("--pp", type=int, default=None, help="pipeline stages")
    p.add_argument("--search", action="store_true", help="evaluate every plan and take the best")
    p.add_argument("--logic-nm", type=float, default=None, help="move the device's logic to this node")
    p.add_argument("--memory", default=None, help="device memory generation (hbm2 ... hbm4)")
    p.add_argument("--memory-stacks", type=int, default=None, help="memory stacks per device (with --memory)")
    p.add_argument("--intra-link", default=None, help="link generation inside a node (nvlink3/4/5)")
    p.add_argument("--inter-link", default=None, help="network generation (ib-hdr, ib-ndr, ib-xdr)")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")


def _check_json(args: argparse.Namespace, *inputs: str | None) -> None:
    """``--json FILE`` checked before any work (issue 17): writable, not a folder, not an input."""
    if args.json is not None:
        from systolic.fileio import check_output

        from .common import existing_files

        check_output(args.json, existing_files(*inputs), flag="--json")


def _setup(args: argparse.Namespace):
    from systolic.errors import InputError
    from systolic.flow.llm import setup

    _check_json(args, args.model, args.system)
    if args.search and (args.tp is not None or args.pp is not None):
        raise InputError("give either --search or a plan (--tp, --pp, ...), not both", "--search")
    tech = {
        "logic_node_nm": args.logic_nm,
        "memory": args.memory,
        "memory_stacks": args.memory_stacks,
        "intra": args.intra_link,
        "inter": args.inter_link,
    }
    return setup(args.model, args.system, args.devices, args.precision, args.seq_len, tech)


def _train(args: argparse.Namespace) -> int:
    from systolic.flow.llm import run_train

    model, system, hw = _setup(args)
    if args.batch is not None and args.batch < 1:
        from systolic.errors import InputError

        raise InputError(f"must be a positive number of sequences, not {args.batch}", "--batch")
    batch = args.batch or 8 * hw.devices
    options = {
        "batch": batch,
        "seq_len": args.seq_len,
        "flash_attention": args.flash_attention,
        "overlap_dp": args.overlap,
        "overlap_tp": args.overlap,
    }
    plan = None
    if not args.search:
        plan = {"tp": args.tp or 1, "pp": args.pp or 1, "mb": args.mb, "sp": args.sp, "vpp": args.vpp}
        plan.update({"recompute": args.recompute, "zero": args.zero})
        if args.dp is not None:
            plan["dp"] = args.dp
    t0 = time.perf_counter()
    report = run_train(model, system, hw, plan, options)
    seconds = time.perf_counter() - t0
    _print_header(report)
    if "search" in report:
        _print_search(report, seconds)
    _print_train(report["result"])
    if args.json:
        atomic_write_json(args.json, report)
    return 0


def _print_header(report: dict) -> None:
    m, s = report["model"], report["system"]
    print(
        f"{m['name']} ({m['params'] / 1e9:.1f}B parameters, {m['layers']} layers, h {m['hidden']}) on "
        f"{s['name']}: {s['devices']} x {s['device']} ({s['nodes']} node(s) of {s['devices_per_node']}), "
        f"{s['precision']}, {s['peak_flops'] / 1e12:.0f} TFLOP/s and {s['memory_bytes'] / GB:.1f} GB each"
    )


def _plan_text(p: dict) -> str:
    sched = f"interleaved x{p['vpp']}" if p["vpp"] > 1 else "1F1B"
    return (
        f"tp {p['tp']}, pp {p['pp']}, dp {p['dp']}, micro-batch {p['mb']}"
        f"{', sequence parallel' if p['sp'] else ''}, recompute {p['recompute']}, {sched}, ZeRO {p['zero']}"
    )


def _print_search(report: dict, seconds: float) -> None:
    s = report["search"]
    print(
        f"searched {s['plans']:,} plans in {seconds:.2f} s: {s['fit']:,} fit in memory, "
        f"{len(s['pareto'])} on the Pareto front of time, memory and energy"
    )
    print(
        f"{'rank':>4} {'tp':>3} {'pp':>3} {'dp':>4} {'mb':>3} {'sp':>3} {'recompute':>9} {'vpp':>3} "
        f"{'zero':>4} {'iter_s':>8} {'mem_GB':>7} {'MFU':>6} {'energy_MJ':>9}"
    )
    for i, r in enumerate(s["top"], 1):
        p = r["plan"]
        print(
            f"{i:>4} {p['tp']:>3} {p['pp']:>3} {p['dp']:>4} {p['mb']:>3} {'y' if p['sp'] else 'n':>3} "
            f"{p['recompute']:>9} {p['vpp']:>3} {p['zero']:>4} {r['iteration_s']:>8.3f} "
            f"{r['memory_bytes'] / GB:>7.1f} {100 * r['mfu']:>5.1f}% {r['energy_j'] / 1e6:>9.3f}"
        )
    print("best:")


def _print_train(r: dict) -> None:
    it = r["iteration_s"]
    print(f"plan: {_plan_text(r['plan'])}; {r['microbatches']} micro-batches per pipeline")
    print(
        f"time per iteration {it:.3f} s: MFU {100 * r['mfu']:.1f} %, HFU {100 * r['hfu']:.1f} %, "
        f"{r['tokens_per_s']:,.0f} tokens/s, {r['energy_j'] / 1e6:.3f} MJ"
    )
    names = {
        "compute_s": "compute",
        "tp_comm_s": "tensor-parallel communication (exposed)",
        "pp_comm_s": "pipeline sends",
        "bubble_s": "pipeline bubble",
        "dp_comm_s": "data-parallel communication (exposed)",
        "optimizer_s": "optimizer step",
    }
    for key, label in names.items():
        print(f"  {label:<42} {r[key]:>10.3f} s {100 * r[key] / it:>6.1f} %")
    print(
        f"one block, one micro-batch: forward {1e3 * r['block_fwd_s']:.2f} ms, backward "
        f"{1e3 * r['block_bwd_s']:.2f} ms, recomputation {1e3 * r['block_recompute_s']:.2f} ms, "
        f"TP communication {1e3 * r['block_tp_comm_s']:.2f} ms; {r['block_flops'] / 1e12:.3f} TFLOP"
    )
    fits = "fits" if r["fits"] else "DOES NOT FIT"
    print(f"memory per device {r['memory_bytes'] / GB:.2f} GB ({fits}):")
    for key in ("weights_bytes", "grads_bytes", "optimizer_bytes", "activations_bytes", "buffers_bytes"):
        print(f"  {key[: -len('_bytes')]:<42} {r[key] / GB:>10.2f} GB")


def _infer(args: argparse.Namespace) -> int:
    from systolic.flow.llm import run_infer

    model, system, hw = _setup(args)
    for flag, value in (
        ("--batch", args.batch),
        ("--prompt-len", args.prompt_len),
        ("--output-len", args.output_len),
    ):
        if value is not None and value < 1:
            from systolic.errors import InputError

            raise InputError(f"must be at least 1, not {value}", flag)
    options = {
        "batch": args.batch,
        "prompt_len": args.prompt_len or model.seq_len,
        "output_len": args.output_len,
    }
    plan = None if args.search else {"tp": args.tp or 1, "pp": args.pp or 1}
    report = run_infer(model, system, hw, plan, options, args.objective)
    _print_header(report)
    o, r = report["options"], report["result"]
    if "search" in report:
        print(f"{len(report['search']['plans'])} plans fit; best by {args.objective}:")
    replicas = report["system"]["devices"] // (r["tp"] * r["pp"])
    print(
        f"plan: tp {r['tp']}, pp {r['pp']} ({replicas} replica(s)); batch {o['batch']}, "
        f"prompt {o['prompt_len']}, output {o['output_len']} tokens"
    )
    print(
        f"time to first token  {1e3 * r['ttft_s']:9.2f} ms (compute {1e3 * r['prefill_compute_s']:.2f}, "
        f"communication {1e3 * r['prefill_comm_s']:.2f})"
    )
    print(
        f"time per output token {1e3 * r['tpot_s']:8.3f} ms (compute {1e3 * r['decode_compute_s']:.3f}, "
        f"communication {1e3 * r['decode_comm_s']:.3f})"
    )
    print(
        f"end to end {r['e2e_s']:.3f} s; {r['throughput_tok_s']:,.0f} output tokens/s (all replicas); "
        f"{r['energy_per_token_j']:.3f} J per token"
    )
    fits = "fits" if r["fits"] else "DOES NOT FIT"
    print(
        f"memory per device {r['memory_bytes'] / GB:.2f} GB ({fits}): weights {r['weights_bytes'] / GB:.2f}, "
        f"KV cache {r['kv_cache_bytes'] / GB:.2f}, activations {r['activations_bytes'] / GB:.2f}"
    )
    print(
        f"{'phase':<8} {'gemm':<8} {'M':>7} {'N':>7} {'K':>7} {'batch':>6} "
        f"{'compute_us':>11} {'memory_us':>10} bound"
    )
    for g in report["gemms"]:
        print(
            f"{g['phase']:<8} {g['gemm']:<8} {g['m']:>7} {g['n']:>7} {g['k']:>7} {g['batch']:>6} "
            f"{1e6 * g['compute_s']:>11.2f} {1e6 * g['memory_s']:>10.2f} {g['bound']}"
        )
    if args.json:
        atomic_write_json(args.json, report)
    return 0


def _validate(args: argparse.Namespace) -> int:
    from systolic.flow.llm import QUANTITIES, validate

    _check_json(args, args.data)
    rows = validate(args.data)
    print("| point | source | quantity | published | model | error | tolerance |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        unit, scale = {"tflops_per_device": ("TFLOP/s", 1e-12), "model_state_bytes": ("GB", 1e-9)}.get(
            r["quantity"], ("ms", 1e3) if r["quantity"].endswith("_s") else ("%", 100.0)
        )
        mark = "" if r["ok"] else " **FAIL**"
        print(
            f"| {r['id']} | {r['source']} | {r['quantity']} ({unit}) | {r['published'] * scale:.4g} | "
            f"{r['model'] * scale:.4g} | {100 * r['error']:+.1f} % | {100 * r['tolerance']:.0f} %{mark} |"
        )
    bad = sum(not r["ok"] for r in rows)
    print(f"{len(rows)} points, {len(rows) - bad} within tolerance; quantities: " + ", ".join(QUANTITIES))
    if args.json:
        atomic_write_json(args.json, rows)
    return 1 if bad else 0
