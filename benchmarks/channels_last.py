"""eager vs eager-cl (channels_last), through the suite's own backends, interleaved round by round
(not a test: run it, read the figures).

    .venv/bin/python benchmarks/channels_last.py [--models resnet18,mobilenet_v3_small] [--rounds 8] [--iters 60]
"""

from __future__ import annotations

import argparse
import statistics
import time


def median_ms(fn, n: int) -> float:
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        out.append(time.perf_counter_ns() - t0)
    return statistics.median(out) / 1e6


def main() -> None:
    import torch

    from suite.backends.prepare import prepare_backend
    from suite.backends.protocol import PrepareRequest
    from suite.machine.environment import default_threads
    from suite.models.inputs import make_inputs
    from suite.models.registry import registry

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="resnet18,mobilenet_v3_small")
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--iters", type=int, default=60)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.models.split(","):
        entry = registry()[name]
        prepared = {}
        for backend in ("eager", "eager-cl"):
            torch.manual_seed(0)
            model = entry.build(False).eval()
            inputs = make_inputs(entry.input_spec, 1, None, 0, "cpu")
            prepared[backend] = (prepare_backend(backend, PrepareRequest(model=model, entry=entry, inputs=inputs,
                                                                         device="cpu", threads=args.threads)), inputs)
        meds: dict[str, list[float]] = {b: [] for b in prepared}
        with torch.inference_mode():
            for b, (p, x) in prepared.items():
                for _ in range(10):
                    p.run(x)
            for _ in range(args.rounds):
                for b, (p, x) in prepared.items():
                    meds[b].append(median_ms(lambda: p.run(x), args.iters))
        ratios = [c / e for c, e in zip(meds["eager-cl"], meds["eager"])]
        print(f"{name} b=1, {args.threads} thread(s), {args.rounds} interleaved rounds: eager "
              f"{statistics.median(meds['eager']):.2f} ms, eager-cl {statistics.median(meds['eager-cl']):.2f} ms, "
              f"eager-cl / eager x{statistics.median(ratios):.3f} (rounds {min(ratios):.2f}-{max(ratios):.2f}); "
              f"parity {prepared['eager-cl'][0].parity.max_rel_error:.1e}")


if __name__ == "__main__":
    main()
