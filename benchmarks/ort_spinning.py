"""What ORT's spinning pool costs ORT itself, and what it costs the work that follows it.

For one model (random weights, batch 1), three ORT sessions on the same ONNX file and thread count,
differing only in the spinning settings a deployment can choose:

  default            ORT's defaults (intra-op threads spin after each run)
  force_spinning_stop session.force_spinning_stop = 1 (spin inside a run, stop when it returns)
  allow_spinning=0   session.intra_op.allow_spinning = 0 (never spin: threads wake per call)

For each setting, measured in alternating rounds (settings in rotating order, so drift hits all):
  ORT back to back   the median of ORT calls in a row (what ORT alone costs)
  eager after ORT    one ORT call, then one eager call of the same model: the eager call's median
                     (what an app's other CPU work sees right after an ORT call)
A bare eager loop (no ORT call between) is timed in the same rounds as the reference.

    .venv/bin/python benchmarks/ort_spinning.py -m mobilenet_v3_small --threads 2 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

SETTINGS: dict[str, dict[str, str]] = {
    "default": {},
    "force_spinning_stop": {"session.force_spinning_stop": "1"},
    "allow_spinning=0": {"session.intra_op.allow_spinning": "0"},
}


def _session(path: str, threads: int, entries: dict[str, str]):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    for k, v in entries.items():
        so.add_session_config_entry(k, v)
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def _timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def main() -> None:
    import numpy as np
    import torch

    from suite.models.registry import registry

    ap = argparse.ArgumentParser()
    ap.add_argument("-m", "--model", default="mobilenet_v3_small")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=40, help="calls per block")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = registry()[args.model].build().eval()
    x = torch.randn(1, 3, 224, 224)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "m.onnx")
        torch.onnx.export(model, (x,), path, input_names=["x"], dynamo=False, opset_version=17)
        sessions = {name: _session(path, args.threads, e) for name, e in SETTINGS.items()}
        feed = {"x": x.numpy().astype(np.float32)}

        def eager() -> None:
            with torch.inference_mode():
                model(x)

        for s in sessions.values():  # warm up every path
            for _ in range(5):
                s.run(None, feed)
        for _ in range(5):
            eager()

        ort_alone: dict[str, list[float]] = {k: [] for k in SETTINGS}
        eager_after: dict[str, list[float]] = {k: [] for k in SETTINGS}
        eager_bare: list[float] = []
        names = list(SETTINGS)
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            eager_bare.append(statistics.median(_timed(eager, args.calls)))
            for name in order:
                s = sessions[name]
                ort_alone[name].append(statistics.median(_timed(lambda: s.run(None, feed), args.calls)))
                after = []
                for _ in range(args.calls):
                    s.run(None, feed)
                    t0 = time.perf_counter()
                    eager()
                    after.append((time.perf_counter() - t0) * 1e3)
                eager_after[name].append(statistics.median(after))
                time.sleep(0.1)  # let this session's pool go quiet before the next block

    def span(v: list[float]) -> str:
        return f"{statistics.median(v):7.2f} ms ({min(v):.2f}-{max(v):.2f})"

    print(f"{args.model}, batch 1, {args.threads} threads, {args.rounds} rounds x {args.calls} calls;"
          f" median of round medians (range over rounds)")
    print(f"  bare eager loop                 {span(eager_bare)}")
    base = statistics.median(ort_alone["default"])
    for name in names:
        cost = statistics.median(ort_alone[name]) / base
        print(f"  {name:20s} ORT back to back {span(ort_alone[name])}  x{cost:.2f} of default;"
              f"  eager after an ORT call {span(eager_after[name])}")


if __name__ == "__main__":
    main()
