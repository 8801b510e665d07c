"""Why is the suite's distilbert median below a bare loop's? (issue 13, item 8; not a test: run it,
read the figures.)

One process, one model (distilbert-base-uncased as the registry builds it, batch 1, seq 64 as in the quick preset,
random weights), the very input tensors of the suite's case. Each round times, in turn:

  suite      the suite's timed loop (time_forward) on the backend's call: inference_mode, ids + mask
  bare-im    a bare perf_counter_ns loop, the same call under inference_mode (ids + mask)
  bare-ng    the same bare loop under no_grad, ids + mask   (what optimum-benchmark and a hand loop do)
  bare-ids   the same bare loop under no_grad, input_ids only (no attention mask)
  timer      torch.utils.benchmark.Timer.blocked_autorange, no_grad, ids + mask (a median of
             block means: each block's total time / its calls)
  *-mean     the mean of the same per-call samples as suite / bare-ng (what a total-time / count
             loop or a mean-reporting tool shows)

The variants are interleaved round by round, so drift of the machine hits them all alike; the
figure per variant is the median of its round medians, and the median over rounds of its ratio
to the suite's median in the same round (paired, so drift between rounds cancels). Differences
between bare-im and bare-ng isolate inference_mode; bare-ng vs bare-ids the attention mask;
suite vs bare-im the harness (warm-up policy, sample count).

    .venv/bin/python benchmarks/distilbert_offset.py [--threads N] [--rounds 5] [--iters 60]

With --processes, each round instead measures in fresh processes, as the issue's comparison did:
the suite's case in its worker process (the quick preset's timing, forkserver worker), then a
bare no_grad loop in a new Python process (10 warm-up calls, then --iters timed calls). The
spread of per-process medians shows how far two processes of the same code disagree.
"""

from __future__ import annotations

import argparse
import statistics
import time


def bare(fn, n: int) -> tuple[float, float]:
    """(median, mean) of n per-call times, ms."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        out.append(time.perf_counter_ns() - t0)
    return statistics.median(out) / 1e6, statistics.fmean(out) / 1e6


def bare_process(args) -> None:
    """One fresh process: build, warm up 10 calls, time --iters calls; print the median in ms."""
    import torch

    from suite.models.inputs import make_inputs
    from suite.models.registry import registry

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    entry = registry()[args.model]
    model = entry.build(False).eval()
    inputs = make_inputs(entry.input_spec, 1, args.size, 0, "cpu")
    with torch.no_grad():
        for _ in range(10):
            model(**inputs)
        print(f"{bare(lambda: model(**inputs), args.iters)[0]:.4f}")


def processes(args) -> None:
    import subprocess
    import sys

    from suite.config.bench_config import validate_config
    from suite.plan.sweep import plan_cases
    from suite.run.case import CaseContext
    from suite.run.group import run_in_worker

    cfg = validate_config({"preset": "quick", "models": [args.model], "backends": ["eager"], "batch_sizes": [1],
                           "input_sizes": {"text": [args.size]}, "threads": args.threads,
                           "energy": {"enabled": False}, "timing": {"warmup_max": 20, "warmup_max_s": 5.0,
                                                                    "min_time_s": 0.5, "max_time_s": 3.0}})
    (planned,) = plan_cases(cfg, args.threads)
    suite_m, bare_m = [], []
    for r in range(args.rounds):
        case = run_in_worker(planned, CaseContext(config=cfg), 600)
        suite_m.append(case.latency.summary.median_ms)
        out = subprocess.run([sys.executable, __file__, "--bare-once", "--threads", str(args.threads), "--size",
                              str(args.size), "--iters", str(args.iters), "--model", args.model],
                             capture_output=True, text=True, check=True)
        bare_m.append(float(out.stdout.split()[-1]))
        print(f"round {r + 1}: suite worker {suite_m[-1]:.2f} ms (n={case.latency.summary.n})  "
              f"bare process {bare_m[-1]:.2f} ms  ratio {bare_m[-1] / suite_m[-1]:.3f}", flush=True)
    ratios = [b / s for b, s in zip(bare_m, suite_m)]
    print(f"\n{args.rounds} rounds of fresh processes: suite worker median of medians "
          f"{statistics.median(suite_m):.2f} ms (range {min(suite_m):.2f}-{max(suite_m):.2f}); bare process "
          f"{statistics.median(bare_m):.2f} ms (range {min(bare_m):.2f}-{max(bare_m):.2f}); bare / suite paired "
          f"x{statistics.median(ratios):.3f} (rounds {min(ratios):.2f}-{max(ratios):.2f}); bare lower in "
          f"{sum(r < 1 for r in ratios)} of {len(ratios)} rounds")


def main() -> None:
    import torch
    from torch.utils import benchmark as tb

    from suite.machine.environment import default_threads
    from suite.metrics.latency import TimingPolicy, time_forward
    from suite.models.inputs import make_inputs
    from suite.models.registry import registry

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="distilbert-base-uncased")
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=60, help="calls per bare loop per round")
    ap.add_argument("--size", type=float, default=64, help="sequence length (the quick preset's: 64)")
    ap.add_argument("--processes", action="store_true", help="compare fresh processes instead (see above)")
    ap.add_argument("--bare-once", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare_once:
        return bare_process(args)
    if args.processes:
        return processes(args)

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    entry = registry()[args.model]
    model = entry.build(False).eval()
    inputs = make_inputs(entry.input_spec, 1, args.size, 0, "cpu")
    ids = inputs["input_ids"]
    print(f"{args.model}: inputs {', '.join(f'{k} {list(v.shape)} {v.dtype}' for k, v in inputs.items())}; "
          f"threads {torch.get_num_threads()}, interop {torch.get_num_interop_threads()}, "
          f"attention {model.config._attn_implementation}, mask all ones: {bool((inputs['attention_mask'] == 1).all())}")

    def with_mask():
        return model(**inputs)

    def ids_only():
        return model(input_ids=ids)

    # The quick preset's warm-up policy, but sampling exactly --iters calls after the warm-up.
    policy = TimingPolicy(warmup_max=20, warmup_max_s=5.0, min_iters=args.iters, max_iters=args.iters, min_time_s=0,
                          max_time_s=1e9)
    with torch.no_grad():
        for _ in range(10):  # one shared warm-up: every variant starts warm
            with_mask()
    results: dict[str, list[float]] = {k: [] for k in ("suite", "bare-im", "bare-ng", "bare-ids", "timer",
                                                        "suite-mean", "bare-ng-mean")}
    for r in range(args.rounds):
        with torch.inference_mode():
            summary = time_forward(with_mask, items_per_call=1, policy=policy, threads=args.threads).summary
            results["suite"].append(summary.median_ms)
            results["suite-mean"].append(summary.mean_ms)
            results["bare-im"].append(bare(with_mask, args.iters)[0])
        with torch.no_grad():
            med, mean = bare(with_mask, args.iters)
            results["bare-ng"].append(med)
            results["bare-ng-mean"].append(mean)
            results["bare-ids"].append(bare(ids_only, args.iters)[0])
        t = tb.Timer(stmt="with torch.no_grad(): f()", globals={"f": with_mask, "torch": torch},
                     num_threads=args.threads)
        results["timer"].append(t.blocked_autorange(min_run_time=args.iters * 0.03).median * 1e3)
        print(f"round {r + 1}: " + "  ".join(f"{k} {v[-1]:.2f}" for k, v in results.items()), flush=True)
    ref = statistics.median(results["suite"])
    print(f"\n{args.rounds} rounds; median of round medians (ms); median over rounds of the ratio to the suite's "
          "median of the same round (paired: drift between rounds cancels):")
    for k, v in results.items():
        ratios = [x / s for x, s in zip(v, results["suite"])]
        print(f"  {k:9s} {statistics.median(v):8.2f} ms   x{statistics.median(ratios):6.3f}  "
              f"(rounds: {min(ratios):.2f}-{max(ratios):.2f})")
    print(f"  (the suite's own: {ref:.2f} ms)")

if __name__ == "__main__":
    main()
