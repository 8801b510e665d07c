"""Purpose-built failing models, each run in its own worker: one aborts (SIGABRT, as a
segfaulting kernel would die), one allocates until its memory-limited worker runs out, one
hangs past the timeout, one raises. Each failure is recorded as that case's (kind and
message) and the cases after it still run."""

from __future__ import annotations

import time
from pathlib import Path

import psutil

from suite.config.bench_config import validate_config
from suite.results.io import load_results
from suite.run.events import CaseEnded, Event
from suite.run.runner import RunOptions, run_benchmark

MODELS = Path(__file__).parent.parent / "fixtures" / "models"
TIMEOUT_S = 15.0


def test_each_failure_is_recorded_and_the_run_goes_on(tmp_path):
    names = ["crash_tiny", "crash_abort", "crash_alloc", "crash_sleep", "crash_raise", "crash_tiny"]
    models = [str(MODELS / f"{n}.py") for n in names]
    models[-1] += ":create_model"  # the same file again under another name: a distinct case
    cfg = validate_config({
        "models": models, "backends": ["eager"], "threads": 1, "case_timeout_s": TIMEOUT_S,
        "worker_memory_limit_mb": 512, "output_dir": str(tmp_path), "report": False,
        "timing": {"warmup_min": 1, "warmup_max": 2, "min_iters": 3, "min_time_s": 0, "max_time_s": 0.2},
        "energy": {"enabled": False},
    })
    out = tmp_path / "results.json"
    before = psutil.virtual_memory().available
    events: list[Event] = []
    t0 = time.monotonic()
    run = run_benchmark(cfg, RunOptions(output=out, progress=events.append))
    elapsed = time.monotonic() - t0

    by_model = {Path(c.spec.model.split(":")[0]).stem + (":f" if c.spec.model.endswith(":create_model") else ""): c
                for c in run.cases}
    assert list(by_model) == ["crash_tiny", "crash_abort", "crash_alloc", "crash_sleep", "crash_raise", "crash_tiny:f"]

    abort = by_model["crash_abort"]
    assert (abort.status, abort.error.kind) == ("failed", "crash")
    assert abort.error.message == "worker died from SIGABRT"

    alloc = by_model["crash_alloc"]
    assert (alloc.status, alloc.error.kind) == ("failed", "oom")
    assert "allocate memory" in alloc.error.message and "worker_memory_limit_mb = 512" in alloc.error.message

    sleep = by_model["crash_sleep"]
    assert (sleep.status, sleep.error.kind) == ("failed", "timeout")
    assert sleep.error.message == f"case did not finish within {TIMEOUT_S:g} s (killed)"
    assert TIMEOUT_S <= sleep.duration_s < TIMEOUT_S + 10

    raised = by_model["crash_raise"]
    assert (raised.status, raised.error.kind) == ("failed", "exception")
    assert raised.error.message == "ValueError: crash_raise: this model always fails"
    assert "Traceback" in raised.error.traceback

    for key in ("crash_tiny", "crash_tiny:f"):  # before and after the failures: measured
        ok = by_model[key]
        assert ok.status == "ok" and ok.error is None
        assert ok.params.unique == 16 * 32 + 32 + 32 * 4 + 4  # Linear(16,32) + Linear(32,4)
        assert ok.latency.summary.median_ms > 0

    # every case got the conditions it ran under, failures included
    assert all(c.conditions is not None for c in run.cases)
    # the file on disk is the run, case by case, and marked finished
    saved = load_results(out)
    assert [c.id for c in saved.cases] == [c.id for c in run.cases] and saved.finished_at is not None
    assert sum(isinstance(e, CaseEnded) for e in events) == 6
    # no worker left behind (the hung one was killed), and the hog gave its memory back
    helpers = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")  # live for the whole session
    assert not [p for p in psutil.Process().children(recursive=True)
                if p.status() != psutil.STATUS_ZOMBIE and not any(h in " ".join(p.cmdline()) for h in helpers)]
    assert psutil.virtual_memory().available > before - 2**30
    assert elapsed < TIMEOUT_S + 60
