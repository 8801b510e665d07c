"""Benchmark of the harness itself (not a test: run it, read the figures).

1. Overhead per timed iteration: the suite's timed loop on a trivial module against a bare
   `perf_counter_ns` loop calling the same module, measured in the same run.
2. Agreement: the suite's reported median for resnet18 (batch 1, 224 px) against
   torch.utils.benchmark.Timer.blocked_autorange's median, interleaved in the same run.

    .venv/bin/python benchmarks/harness_overhead.py [--threads N] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time


def bare_loop_ns(fn, n: int) -> list[int]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        out.append(time.perf_counter_ns() - t0)
    return out


def main() -> None:
    import torch
    from torch.utils import benchmark as tb

    from suite.metrics.latency import TimingPolicy, time_forward

    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    # 1. overhead on a trivial module (an identity: the call itself is the whole cost)
    trivial = torch.nn.Identity()
    x = torch.zeros(1)
    fn = lambda: trivial(x)  # noqa: E731
    n = 20_000
    policy = TimingPolicy(warmup_min=10, warmup_max=100, min_iters=n, max_iters=n, min_time_s=0, max_time_s=1e9)
    bare_med, suite_med = [], []
    for _ in range(args.rounds):
        bare_med.append(statistics.median(bare_loop_ns(fn, n)) / 1e3)
        res = time_forward(fn, items_per_call=1, policy=policy, threads=args.threads)
        suite_med.append(res.summary.median_ms * 1e3)
    bare_us, suite_us = statistics.median(bare_med), statistics.median(suite_med)
    print(f"trivial module, {n} iterations x {args.rounds} rounds (median of round medians)")
    print(f"  bare perf_counter_ns loop : {bare_us:8.3f} us / call")
    print(f"  suite timed loop          : {suite_us:8.3f} us / call")
    print(f"  harness overhead          : {suite_us - bare_us:+8.3f} us / iteration")

    # 2. resnet18 against torch.utils.benchmark, interleaved
    from suite.models.registry import registry

    model = registry()["resnet18"].build()
    inp = torch.randn(1, 3, 224, 224)
    policy = TimingPolicy(min_time_s=2.0, max_time_s=10.0)
    ours, theirs = [], []
    with torch.inference_mode():
        for _ in range(args.rounds):
            res = time_forward(lambda: model(inp), items_per_call=1, policy=policy, threads=args.threads)
            ours.append(res.summary.median_ms)
            timer = tb.Timer(stmt="model(inp)", globals={"model": model, "inp": inp}, num_threads=args.threads)
            theirs.append(timer.blocked_autorange(min_run_time=2.0).median * 1e3)
    print(f"resnet18 b=1 224px, {args.threads} thread(s), {args.rounds} interleaved rounds")
    print(f"  suite median             : {', '.join(f'{v:.2f}' for v in ours)} ms")
    print(f"  torch.utils.benchmark    : {', '.join(f'{v:.2f}' for v in theirs)} ms")
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"  ratio suite / torch      : {ratio:.3f}")


if __name__ == "__main__":
    main()
