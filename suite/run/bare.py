"""A bare hand-written loop in a fresh process: the reference `bench audit` holds the suite's figures
against (`python -m suite.run.bare SPEC_JSON`, one JSON line out).

Only the model and its inputs come from the suite (the registry and the seeded input maker, so both
sides time the same function on the same tensors); the runtime object is each runtime's own plain
API with the case's thread count and nothing else (a backend's `bare` function, named in its table
row), and the loop is `perf_counter_ns` around each call: no warm-up detection, no CI, no rounds,
no settling, no worker machinery.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import TypedDict

from suite.backends import backend_info, load_target
from suite.models.inputs import make_inputs
from suite.models.registry import resolve_model

WARMUP_CALLS = 10
WARMUP_S = 0.5


class _Case(TypedDict):
    model: str
    backend: str
    batch_size: int
    threads: int


class BareSpec(_Case, total=False):
    """The one JSON argument: the case, and how long to time it."""

    input_size: float | None
    seed: int
    graph: str | None  # the ONNX file the suite's run exported (the ort backends time that same graph)
    min_calls: int
    min_s: float
    overrides: dict[str, object]  # an hf: model's config overrides


class BareResult(TypedDict):
    """The one JSON line out."""

    warmup_calls: int
    samples_ms: list[float]


def time_loop(fn: Callable[[], object], min_calls: int, min_s: float) -> tuple[int, list[float]]:
    """Warm up (WARMUP_CALLS and WARMUP_S at least), then time single calls until both `min_calls`
    and `min_s` are reached. Returns (warm-up calls, samples in ms)."""
    start = time.perf_counter()
    warm = 0
    while warm < WARMUP_CALLS or time.perf_counter() - start < WARMUP_S:
        fn()
        warm += 1
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < min_calls or time.perf_counter() - start < min_s:
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return warm, samples


def main(spec: BareSpec) -> BareResult:
    info = backend_info(spec["backend"])
    if info.bare is None:
        raise SystemExit(f"backend {info.name} declares no bare loop")
    entry = resolve_model(spec["model"], spec.get("overrides") or {})
    model = None
    if entry.builder is not None:
        import torch

        torch.manual_seed(spec.get("seed", 0))
        torch.set_num_threads(spec["threads"])
        model = entry.build(False).eval()
    inputs = make_inputs(entry.input_spec, spec["batch_size"], spec.get("input_size"), spec.get("seed", 0))
    call = load_target(info.bare)(model, inputs, spec["threads"], spec.get("graph"))
    warm, samples = time_loop(call, spec.get("min_calls", 10), spec.get("min_s", 1.0))
    return {"warmup_calls": warm, "samples_ms": samples}


if __name__ == "__main__":
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    print(json.dumps(main(json.loads(sys.argv[1]))))
