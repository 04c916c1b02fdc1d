"""Time the analytical model's per-layer cycles on large networks (goal: ResNet-50 on 128x128 under 50 ms).

Usage: python bench/model_speed.py [--arch tpu-v1-128] [--repeat 50]

Prints the median wall time of ``workload_cycles`` (vectorised over layers) per network, and the time to
load the network from the zoo, separately.
"""

from __future__ import annotations

import argparse
import statistics
import time

from systolic.config import load_arch
from systolic.formats.network import load_workload
from systolic.model.cycles import workload_cycles

NETWORKS = (
    ("resnet50", {}),
    ("bert-base", {}),
    ("gpt3-175b", {}),
    ("llama2-7b", {"phase": "decode", "batch": 16}),
)


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="tpu-v1-128")
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args(argv)
    cfg = load_arch(args.arch)
    print(f"{cfg.name}: {cfg.rows}x{cfg.cols} {cfg.dataflow.value.upper()}, median of {args.repeat} runs")
    print(f"{'network':<12}{'layers':>8}{'G MACs':>10}{'cycles':>16}{'load ms':>10}{'model ms':>10}")
    for name, params in NETWORKS:
        load_s = median_time(lambda n=name, p=params: load_workload(n, **p), max(3, args.repeat // 10))
        wl = load_workload(name, **params)
        model_s = median_time(lambda w=wl: workload_cycles(cfg, w), args.repeat)
        res = workload_cycles(cfg, wl)
        print(
            f"{name:<12}{len(wl):>8}{wl.macs / 1e9:>10.2f}{res.total_cycles:>16,}"
            f"{load_s * 1e3:>10.2f}{model_s * 1e3:>10.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
