"""Time the parallel-plan search of GPT-3 175B on 1,024 devices (goal, issue #21: >= 10,000 plans in < 30 s on
2 cores) and sweep it over technology: logic nodes 12 to 1 nm, HBM generations and link generations.

Usage: python bench/llm_search.py [--repeat 5]

Prints the plans, the best time of ``--repeat`` searches, and per technology point the best plan's iteration
time, MFU and energy (the device keeps its area and power; see model/llm/hardware.py).
"""

from __future__ import annotations

import argparse
import time

from systolic.flow.llm import hardware
from systolic.llm_spec import load_system, model_spec
from systolic.model.llm.hardware import scale
from systolic.model.llm.search import plans, search
from systolic.model.llm.training import TrainOptions

GOAL_S = 30.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    model = model_spec("gpt3-175b")
    hw = hardware(load_system("dgx-a100-selene").with_devices(1024), "bf16")
    opts = TrainOptions(batch=1536)
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        cands = plans(model, 1024, opts.batch)
        found = search(model, hw, opts, cands)
        best = min(best, time.perf_counter() - t0)
    r = found.result
    print(
        f"gpt3-175b on 1024 A100: {cands.size:,} plans, {int(r.fits.sum()):,} fit, "
        f"{int(found.pareto.sum())} on the Pareto front; search {best:.3f} s "
        f"(best of {args.repeat}; goal {GOAL_S:.0f} s: {GOAL_S / best:.0f}x under)"
    )
    print(
        f"{'logic_nm':>8} {'memory':>7} {'intra':>8} {'inter':>7} {'iter_s':>8} {'MFU':>6} "
        f"{'energy_MJ':>9}  best plan"
    )
    for node in (12.0, 7.0, 5.0, 3.0, 2.0, 1.4, 1.0):
        for mem, intra, inter in (("hbm2e", "nvlink3", "ib-hdr"), ("hbm3e", "nvlink5", "ib-xdr")):
            h = scale(hw, logic_node_nm=node, memory=mem, memory_stacks=5, intra=intra, inter=inter)
            f = search(model, h, opts, cands)
            i = f.best
            p = f.result.plan.row(i)
            print(
                f"{node:>8g} {mem:>7} {intra:>8} {inter:>7} {f.result.iteration_s[i]:>8.2f} "
                f"{100 * f.result.mfu[i]:>5.1f}% {f.result.energy_j[i] / 1e6:>9.2f}  "
                f"tp {p['tp']} pp {p['pp']} dp {p['dp']} mb {p['mb']} vpp {p['vpp']} "
                f"{p['recompute']} ZeRO {p['zero']}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
