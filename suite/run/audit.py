"""Is the comparison fair on this device? (`bench audit`)

For each backend of a small plan, over a few pairs in alternating order (interleaved, alone, bare;
then bare, alone, interleaved; ...), so that a machine drifting over minutes hits every mode alike:

* interleaved: the suite's default path, the backends of one model x batch in one worker, timed in
  alternating rounds (what `bench run` reports);
* alone: each backend in its own worker (`--no-interleave`);
* bare: a hand-written loop in a fresh Python process (suite/run/bare.py: a torch inference_mode loop,
  a plain ONNX Runtime session with ORT's defaults but the thread count).

It stores each case's median and peak RSS per pair (suite.results.schema.FairnessAudit); what they
say (ratios, spread, verdict) is derived in suite/results/fairness.py. The audit is cached per
machine, thread count and library versions, and every later `bench run` here at that thread count
carries it in its environment block, so the report shows it beside the device.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from suite.backends import backend_info
from suite.config.bench_config import BenchConfig, validate_config
from suite.errors import BenchError
from suite.machine.audit_store import cache_key
from suite.machine.core_latency import core_round_trip
from suite.results.schema import (
    AuditCase,
    CaseResult,
    FairnessAudit,
    RunResult,
    utc_now,
)
from suite.run.bare import BareSpec
from suite.run.events import AuditStep, Progress, ignore
from suite.run.runner import RunOptions, run_benchmark

DEFAULT_MODELS = ("mobilenet_v3_small", "resnet18")
DEFAULT_BACKENDS = ("eager", "ort")
MODES = ("interleaved", "alone", "bare")
METHOD = ("medians of the suite's interleaved path (one worker, alternating rounds), each backend alone in "
          "its own worker (--no-interleave), and a bare loop in a fresh process (suite/run/bare.py); the modes in "
          "alternating order per pair; peak RSS as each mode reports it")

@dataclass(frozen=True)
class AuditRequest:
    threads: int
    models: tuple[str, ...] = DEFAULT_MODELS
    backends: tuple[str, ...] = DEFAULT_BACKENDS
    batch_sizes: tuple[int, ...] = (1,)
    pairs: int = 3
    tolerance: float = 0.07
    min_time_s: float = 1.0
    seed: int = 0


def _config(req: AuditRequest, out: Path, interleave: bool, min_time_s: float) -> BenchConfig:
    return validate_config({
        "models": list(req.models), "backends": list(req.backends), "batch_sizes": list(req.batch_sizes),
        "threads": req.threads, "interleave": interleave, "report": False, "peaks": False, "seed": req.seed,
        "output_dir": str(out), "energy": {"enabled": False}, "app": {"cold_start": False},  # timing modes only
        "timing": {"min_time_s": min_time_s, "max_time_s": max(3.0 * min_time_s, 1.0)},
    })


def _measured(run: RunResult) -> dict[str, CaseResult]:
    out = {}
    for case in run.cases:
        if case.status != "ok" or case.latency is None:
            reason = case.error.message if case.error else case.status
            raise BenchError(f"The audit could not measure {case.spec.label}: {reason}. Fix that case (bench run "
                             f"-m {case.spec.model} --backends {case.spec.backend}) before auditing it.")
        out[case.id] = case
    return out


def _runner_mode(req: AuditRequest, out: Path, name: str, interleave: bool, min_time_s: float) -> dict[str, CaseResult]:
    run = run_benchmark(_config(req, out, interleave, min_time_s), RunOptions(output=out / f"{name}.json"))
    return _measured(run)


def bare_median(case: CaseResult, req: AuditRequest, timeout_s: float = 900.0) -> float | None:
    """The median of a bare loop in a fresh process (None: the backend declares no bare loop)."""
    if backend_info(case.spec.backend).bare is None:
        return None
    spec: BareSpec = {"model": case.spec.model, "backend": case.spec.backend, "batch_size": case.spec.batch_size,
                      "input_size": case.spec.input_size, "threads": case.spec.threads, "seed": req.seed,
                      "graph": case.export.path if case.export is not None else None,
                      "min_calls": 10, "min_s": req.min_time_s}
    env = {**os.environ, "ORT_DISABLE_TELEMETRY": "1"}
    proc = subprocess.run([sys.executable, "-m", "suite.run.bare", json.dumps(spec)], capture_output=True, text=True,
                          timeout=timeout_s, env=env, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = " ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise BenchError(f"The bare loop of {case.spec.label} failed (exit {proc.returncode}): {tail[-600:]}")
    samples: list[float] = json.loads(lines[-1])["samples_ms"]  # suite.run.bare's one JSON line
    return statistics.median(samples)


def run_audit(req: AuditRequest, out: Path, emit: Progress | None = None) -> FairnessAudit:
    """Measure the audit (minutes); nothing is cached here (see `save`)."""
    if req.pairs < 1:
        raise BenchError(f"--pairs {req.pairs}: an audit needs at least one pair.")
    tell = emit or ignore
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    tell(AuditStep("preparing: exports and a first pass of every case (not counted)"))
    first = _runner_mode(req, out, "prepare", interleave=False, min_time_s=0.1)
    trips: list[float] = []
    trip_method = ""

    def probe() -> None:
        nonlocal trip_method
        trip = core_round_trip()
        if trip is not None:
            trips.append(round(trip.ns, 1))
            trip_method = trip.method

    figures: dict[str, dict[str, list[float]]] = {cid: {m: [] for m in (*MODES, "i_rss", "a_rss")} for cid in first}
    for i in range(req.pairs):
        for mode in (MODES if i % 2 == 0 else MODES[::-1]):
            probe()
            tell(AuditStep(f"pair {i + 1}/{req.pairs}: {mode}" + (f" (cores' round trip {trips[-1]:.0f} ns)"
                                                                  if trips else "")))
            if mode == "bare":
                for cid, case in first.items():
                    median = bare_median(case, req)
                    if median is not None:
                        figures[cid]["bare"].append(median)
                continue
            cases = _runner_mode(req, out, f"p{i}-{mode}", interleave=mode == "interleaved", min_time_s=req.min_time_s)
            rss = "i_rss" if mode == "interleaved" else "a_rss"
            for cid, case in cases.items():
                figures[cid][mode].append(case.latency.summary.median_ms)  # type: ignore[union-attr]
                if case.memory is not None and case.memory.rss_peak_bytes is not None:
                    figures[cid][rss].append(case.memory.rss_peak_bytes)
    probe()
    audit_cases = [AuditCase(model=c.spec.model, backend=c.spec.backend, batch_size=c.spec.batch_size,
                             input_size=c.spec.input_size, interleaved_ms=f["interleaved"], alone_ms=f["alone"],
                             bare_ms=f["bare"], interleaved_rss_bytes=[int(x) for x in f["i_rss"]],
                             alone_rss_bytes=[int(x) for x in f["a_rss"]])
                   for cid, c in first.items() for f in [figures[cid]]]
    return FairnessAudit(measured_at=utc_now(), threads=req.threads, pairs=req.pairs, tolerance=req.tolerance,
                         duration_s=round(time.perf_counter() - t0, 3), key=cache_key(req.threads), method=METHOD,
                         cases=audit_cases, core_round_trip_ns=trips, core_round_trip_method=trip_method)
