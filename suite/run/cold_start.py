"""Cold start: what an app's start-up costs, per backend (`case.cold_start`).

After a case is measured, a fresh Python process (suite/run/cold_process.py) does what an app does
once, each step timed with perf_counter and followed by a read of its resident memory (VmRSS;
VmHWM at the end):

1. import: the backend's runtime module (the first module its table row requires: torch,
   onnxruntime), first of all, before the suite or numpy is imported;
2. load: building the model (registry or file, random weights, with the imports the build does)
   for backends that run the torch model, or loading the case's graph file (an ORT session on the
   .onnx the case ran) -- through the backend's own plain call (its `bare` target, as `bench
   audit`'s bare loop);
3. first call: one forward pass on the case's seeded inputs (made, untimed, between 2 and 3);
then WARM_CALLS more calls, whose median says what the first one costs beyond a warm call.
`process_start_s` is the interpreter's start, from the parent's launch to the child's first line.
The page cache is warm (the run has loaded the same libraries): a first start after boot reads
them from storage and takes longer.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import TypedDict

from suite.backends import backend_info, load_target
from suite.models.inputs import Inputs, make_inputs, make_numpy_inputs
from suite.models.registry import resolve_model
from suite.results.flags import flag
from suite.results.schema import CaseResult, ColdStart
from suite.worker import status_bytes

WARM_CALLS = 5
METHOD = ("a fresh Python process (suite/run/cold_process.py): import = the runtime module, first of all; load = "
          "model build (random weights) or graph-file session load through the backend's plain call; first call = "
          "one forward on the case's inputs; perf_counter per step, VmRSS after each, VmHWM at the end; page cache "
          "warm")


class ColdSpec(TypedDict):
    """The child's one JSON argument."""

    backend: str
    model: str
    batch_size: int
    input_size: float | None
    threads: int
    seed: int
    graph: str | None  # the graph file the case ran (ORT), or None: the model is built
    imported: list[str]  # the import step's modules
    launched_at: float  # the parent's time.time() just before the launch


def _rss() -> int | None:
    return status_bytes("VmRSS")


def after_import(spec: ColdSpec, import_s: float, entered: float, rss_import: int | None) -> dict[str, object]:
    """The steps after the timed import (suite.run.cold_process), in the fresh process; the
    figures as ColdStart's fields."""
    info = backend_info(spec["backend"])
    if info.bare is None:
        raise SystemExit(f"backend {info.name} declares no plain call to start cold with")
    entry = resolve_model(spec["model"])  # a registry entry, or a file looked over: nothing built yet
    graph = spec["graph"]
    inputs: Inputs
    if graph is not None:  # the runtime loads the graph: no torch in this process
        inputs = make_numpy_inputs(entry.input_spec, spec["batch_size"], spec["input_size"], spec["seed"])
    else:
        inputs = make_inputs(entry.input_spec, spec["batch_size"], spec["input_size"], spec["seed"])
    t = time.perf_counter()
    model = None
    if graph is None:
        model = entry.build(False)
        model.eval()
    call = load_target(info.bare)(model, inputs, spec["threads"], graph)
    load_s = time.perf_counter() - t
    rss_load = _rss()
    t = time.perf_counter()
    call()
    first_s = time.perf_counter() - t
    rss_first, peak = _rss(), status_bytes("VmHWM")
    warm = []
    for _ in range(WARM_CALLS):
        t0 = time.perf_counter()
        call()
        warm.append((time.perf_counter() - t0) * 1e3)
    return {"method": METHOD, "imported": spec["imported"], "process_start_s": max(0.0, entered - spec["launched_at"]),
            "import_s": import_s, "load_s": load_s, "first_call_s": first_s,
            "warm_call_ms": statistics.median(warm), "warm_calls": len(warm), "rss_after_import_bytes": rss_import,
            "rss_after_load_bytes": rss_load, "rss_after_first_call_bytes": rss_first, "rss_peak_bytes": peak}


def spec_for(result: CaseResult, seed: int) -> ColdSpec:
    """The child's spec for a measured case: its graph file when the backend ran one."""
    spec = result.spec
    graph = result.export.path if result.export is not None and result.export.path else None
    return {"backend": spec.backend, "model": spec.model, "batch_size": spec.batch_size,
            "input_size": spec.input_size, "threads": spec.threads, "seed": seed, "graph": graph,
            "imported": list(backend_info(spec.backend).requires[:1]), "launched_at": time.time()}


def run_child(spec: ColdSpec, timeout_s: float) -> ColdStart:
    """Launch the fresh process and read its figures; RuntimeError (with the child's last words)
    when it fails or runs past `timeout_s`."""
    env = {**os.environ, "ORT_DISABLE_TELEMETRY": "1"}
    launch = dict(spec, launched_at=time.time())
    try:
        done = subprocess.run([sys.executable, "-m", "suite.run.cold_process", json.dumps(launch)], capture_output=True,
                              text=True, timeout=timeout_s, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the cold-start process ran past {timeout_s:g} s") from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the cold-start process exited with status {done.returncode}: {last[:500]}")
    return ColdStart.model_validate_json(lines[-1])


def with_cold_start(result: CaseResult, seed: int, timeout_s: float) -> CaseResult:
    """`result` with its cold start measured (an ok case only); a failure leaves it empty, saying why."""
    if result.status != "ok":
        return result
    if backend_info(result.spec.backend).bare is None:
        why = f"backend {result.spec.backend} declares no plain call (its table row's `bare`) to start cold with"
        return result.model_copy(update={"flags": [*result.flags, flag("cold_start_failed", why)]})
    t0 = time.perf_counter()
    phases = dict(result.phases_s or {})
    try:
        cold = run_child(spec_for(result, seed), timeout_s)
    except RuntimeError as exc:
        phases["cold_start"] = round(time.perf_counter() - t0, 6)
        return result.model_copy(update={"phases_s": phases,
                                         "flags": [*result.flags, flag("cold_start_failed", str(exc))]})
    phases["cold_start"] = round(time.perf_counter() - t0, 6)
    return result.model_copy(update={"cold_start": cold, "phases_s": phases})

