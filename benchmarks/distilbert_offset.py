"""Why is the suite's distilbert median below a bare loop's? (issue 13, item 8; not a test: run it,
read the figures.)

One process, one model (distilbert-base-uncased as the registry builds it, batch 1, seq 64 as in the quick preset,
random weights), the very input tensors of the suite's case. Each round times, in turn:

  suite      the suite's timed loop (time_forward) on the backend's call: inference_mode, ids + mask
  bare-im    a bare perf_counter_ns loop, the same call under inference_mode (ids + mask)
  bare-ng    the same bare loop under no_grad, ids + mask   (what optimum-benchmark and a hand loop do)
  bare-ids   the same bare loop under no_grad, input_ids only (no attention mask)
  timer      torch.utils.benchmark.Timer.blocked_autorange, no_grad, ids + mask

The variants are interleaved round by round, so drift of the machine hits them all alike; the
figure per variant is the median of its round medians, and its ratio to `suite`. Differences
between bare-im and bare-ng isolate inference_mode; bare-ng vs bare-ids the attention mask;
suite vs bare-im the harness (warm-up policy, sample count).

    .venv/bin/python benchmarks/distilbert_offset.py [--threads N] [--rounds 5] [--iters 60]
"""

from __future__ import annotations

import argparse
import statistics
import time


def bare(fn, n: int) -> float:
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        out.append(time.perf_counter_ns() - t0)
    return statistics.median(out) / 1e6


def main() -> None:
    import torch
    from torch.utils import benchmark as tb

    from suite.config import TimingPolicy
    from suite.environment import default_threads
    from suite.inputs import make_inputs
    from suite.metrics.latency import time_forward
    from suite.models.registry import registry

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="distilbert-base-uncased")
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=60, help="calls per bare loop per round")
    ap.add_argument("--size", type=float, default=64, help="sequence length (the quick preset's: 64)")
    args = ap.parse_args()

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
    results: dict[str, list[float]] = {k: [] for k in ("suite", "bare-im", "bare-ng", "bare-ids", "timer")}
    for r in range(args.rounds):
        with torch.inference_mode():
            results["suite"].append(time_forward(with_mask, items_per_call=1, policy=policy,
                                                 threads=args.threads).summary.median_ms)
            results["bare-im"].append(bare(with_mask, args.iters))
        with torch.no_grad():
            results["bare-ng"].append(bare(with_mask, args.iters))
            results["bare-ids"].append(bare(ids_only, args.iters))
        t = tb.Timer(stmt="with torch.no_grad(): f()", globals={"f": with_mask, "torch": torch},
                     num_threads=args.threads)
        results["timer"].append(t.blocked_autorange(min_run_time=args.iters * 0.03).median * 1e3)
        print(f"round {r + 1}: " + "  ".join(f"{k} {v[-1]:.2f}" for k, v in results.items()), flush=True)
    ref = statistics.median(results["suite"])
    print(f"\nmedian of {args.rounds} round medians (ms), and / suite:")
    for k, v in results.items():
        m = statistics.median(v)
        print(f"  {k:9s} {m:8.2f} ms   {m / ref:6.3f}")


if __name__ == "__main__":
    main()
