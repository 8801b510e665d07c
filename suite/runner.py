"""Run the planned cases, each in its own worker process with a timeout, saving the results
file after every case. Never prints: progress goes to a callback.

Workers come from a forkserver that has already imported torch (Linux), so each case
starts in milliseconds in a clean process whose crash, hang or memory blow-up cannot take
the run down; elsewhere they are spawned.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite import __version__
from suite.config import BenchConfig
from suite.errors import BenchError
from suite.measure import CaseContext, run_case
from suite.plan import PlannedCase, plan_cases
from suite.results.io import save_results
from suite.results.schema import CaseResult, ErrorInfo, RunResult, utc_now

Progress = Callable[[str, dict[str, Any]], None]
PRELOAD = ["torch", "torchvision", "suite.measure"]


@dataclass
class RunOptions:
    output: Path | None = None  # results file path
    command: list[str] = field(default_factory=list)
    progress: Progress | None = None
    resume: RunResult | None = None  # an interrupted run to continue


def results_path(out_dir: Path, run_id: str) -> Path:
    return out_dir / f"results-{run_id}.json"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def run_benchmark(config: BenchConfig, options: RunOptions | None = None) -> RunResult:
    from suite.comparisons import compute_comparisons
    from suite.environment import collect_environment, default_threads

    opts = options or RunOptions()
    emit = opts.progress or (lambda event, data: None)
    threads = config.threads or default_threads()
    cases = plan_cases(config, threads)
    if opts.resume is not None:
        run = opts.resume
        done = {c.id for c in run.cases}
        todo = [c for c in cases if c.spec.case_id not in done]
        run.interrupted = False
    else:
        run = RunResult(
            suite_version=__version__, run_id=new_run_id(), created_at=utc_now(), command=opts.command,
            config=config.model_dump(mode="json"), config_hash=config.digest(), environment=collect_environment(),
        )
        todo = cases
    path = opts.output or results_path(Path(config.output_dir), run.run_id)
    run.finished_at = None
    save_results(run, path)
    emit("start", {"total": len(cases), "todo": len(todo), "path": path, "run": run})

    ctx = CaseContext(config=config)
    baseline_at = -1e18
    try:
        for i, planned in enumerate(todo):
            if config.energy.enabled and time.monotonic() - baseline_at > config.energy.baseline_every_s:
                ctx.idle_baseline = _idle_baseline(config, ctx.idle_baseline, emit)
                baseline_at = time.monotonic()
            emit("case_start", {"index": i, "case": planned.spec})
            result = execute(planned, ctx)
            run.cases.append(result)
            run.comparisons = compute_comparisons(run.cases)
            save_results(run, path)
            emit("case_end", {"index": i, "result": result})
    except BaseException:
        run.interrupted = True
        run.comparisons = compute_comparisons(run.cases)
        save_results(run, path)
        raise
    run.finished_at = utc_now()
    save_results(run, path)
    emit("end", {"path": path, "run": run})
    return run


def _idle_baseline(config: BenchConfig, previous: Any, emit: Progress) -> Any:
    try:
        from suite import energy
        from suite.measure import energy_options

        opts = energy_options(config)
        emit("baseline", {"seconds": opts.min_window_s})
        baseline = energy.measure_idle(energy.select_meter(opts), opts)
        return baseline
    except Exception as exc:  # no baseline: energy is reported gross only
        emit("warning", {"message": f"idle baseline not measured: {exc}"})
        return previous


# --------------------------------------------------------------------------- isolation


def execute(planned: PlannedCase, ctx: CaseContext) -> CaseResult:
    if ctx.config.isolation == "inline":
        return run_case(planned, ctx)
    return run_in_worker(planned, ctx, ctx.config.case_timeout_s)


_CONTEXT: Any = None


def _mp_context() -> Any:
    global _CONTEXT
    if _CONTEXT is None:
        if sys.platform.startswith("linux"):
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload([m for m in PRELOAD if _importable(m)])
        else:
            ctx = mp.get_context("spawn")
        _CONTEXT = ctx
    return _CONTEXT


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module.split(".")[0]) is not None


def _worker(conn: Any, planned: PlannedCase, ctx: CaseContext) -> None:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        result = run_case(planned, ctx)
        conn.send(result.model_dump_json())
    finally:
        conn.close()


def run_in_worker(planned: PlannedCase, ctx: CaseContext, timeout_s: float) -> CaseResult:
    mpc = _mp_context()
    parent, child = mpc.Pipe(duplex=False)
    proc = mpc.Process(target=_worker, args=(child, planned, ctx), name=f"bench-case-{planned.spec.case_id}")
    started = utc_now()
    t0 = time.perf_counter()
    proc.start()
    child.close()
    payload = None
    try:
        if parent.poll(timeout_s):
            try:
                payload = parent.recv()
            except EOFError:
                payload = None
        else:
            _kill(proc)
            return _failed(planned, started, t0, "timeout", f"case did not finish within {timeout_s:g} s (killed)")
        proc.join(timeout=30)
        if proc.is_alive():
            _kill(proc)
    except BaseException:
        _kill(proc)
        raise
    finally:
        parent.close()
    if payload is not None:
        return CaseResult.model_validate_json(payload)
    code = proc.exitcode
    return _failed(planned, started, t0, *describe_exit(code))


def describe_exit(code: int | None) -> tuple[str, str]:
    import signal

    if code is not None and code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
        if sig == signal.SIGKILL:
            return "oom", f"worker killed by {name} (most likely the out-of-memory killer)"
        return "crash", f"worker died from {name}"
    return "crash", f"worker exited with status {code} without a result"


def _kill(proc: Any) -> None:
    if proc.is_alive():
        proc.kill()
    proc.join(timeout=10)


def _failed(planned: PlannedCase, started: Any, t0: float, kind: str, message: str) -> CaseResult:
    spec = planned.spec
    return CaseResult(spec=spec, id=spec.case_id, status="failed", error=ErrorInfo(kind=kind, message=message),
                      started_at=started, duration_s=time.perf_counter() - t0)


def check_resumable(previous: RunResult, config: BenchConfig) -> None:
    if previous.config_hash and previous.config_hash != config.digest():
        raise BenchError(
            f"Cannot resume run {previous.run_id}: its configuration differs from the one given now. "
            "Resume with the same flags and config file (or none: the saved configuration is used), "
            "or start a new run in another folder."
        )
