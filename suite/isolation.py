"""Run one case in its own worker process, with a timeout and an optional memory cap.

Workers come from a forkserver that has already imported torch (Linux; suite.processes), so
each case starts in milliseconds in a clean process whose crash, hang or memory blow-up cannot
take the run down; elsewhere they are spawned. A worker ignores Ctrl-C (the parent decides:
save, kill the worker, stop), dies with the forkserver when the run itself is killed, and may
have its memory capped (`worker_memory_limit_mb`).
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from suite.config import BenchConfig
from suite.measure import CaseContext, run_case
from suite.plan import PlannedCase
from suite.processes import exit_with_parent, kill_process, mp_context
from suite.results.schema import CaseResult, ErrorInfo, utc_now


def execute(planned: PlannedCase, ctx: CaseContext) -> CaseResult:
    if ctx.config.isolation == "inline":
        return run_case(planned, ctx)
    return run_in_worker(planned, ctx, ctx.config.case_timeout_s)


def _worker(conn: Any, planned: PlannedCase, ctx: CaseContext) -> None:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    # Ctrl-C reaches the whole process group. The parent decides what it means (save, kill
    # this worker, stop); a worker dying of it first would be recorded as a crashed case.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    try:
        if ctx.config.worker_memory_limit_mb is not None:
            limit_memory(ctx.config.worker_memory_limit_mb)
        result = run_case(planned, ctx)
        try:
            conn.send(result.model_dump_json())
        except OSError:  # the parent stopped (Ctrl-C, SIGTERM) while this case ran: nobody to tell
            pass
    finally:
        conn.close()


def run_in_worker(planned: PlannedCase, ctx: CaseContext, timeout_s: float) -> CaseResult:
    mpc = mp_context()
    parent, child = mpc.Pipe(duplex=False)
    proc = mpc.Process(target=_worker, args=(child, planned, ctx), name=f"bench-case-{planned.spec.case_id}")
    started = utc_now()
    t0 = time.perf_counter()
    payload = None
    try:
        # start() inside the try: a stop signal during it must still reach the kill below
        proc.start()
        child.close()
        if parent.poll(timeout_s):
            try:
                payload = parent.recv()
            except EOFError:
                payload = None
        else:
            kill_process(proc)
            return _failed(planned, started, t0, "timeout", f"case did not finish within {timeout_s:g} s (killed)")
        proc.join(timeout=30)
        if proc.is_alive():
            kill_process(proc)
    except BaseException:
        kill_process(proc)
        raise
    finally:
        parent.close()
        child.close()
    if payload is not None:
        return _explain_oom(CaseResult.model_validate_json(payload), ctx.config)
    code = proc.exitcode
    return _explain_oom(_failed(planned, started, t0, *describe_exit(code)), ctx.config)


def describe_exit(code: int | None) -> tuple[str, str]:
    import signal

    if code is not None and code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
        if sig == signal.SIGKILL:
            return "oom", f"worker killed by {name} (most likely the out-of-memory killer)"
        return "crash", f"worker died from {name}"
    return "crash", f"worker exited with status {code} without a result"


def _failed(planned: PlannedCase, started: Any, t0: float, kind: str, message: str) -> CaseResult:
    spec = planned.spec
    return CaseResult(spec=spec, id=spec.case_id, status="failed", error=ErrorInfo(kind=kind, message=message),
                      started_at=started, duration_s=time.perf_counter() - t0)


def limit_memory(extra_mb: int) -> int | None:
    """Cap the memory this process may still allocate at `extra_mb` above what it holds now.

    RLIMIT_DATA (Linux >= 4.7) counts heap and private anonymous mappings, where tensors live,
    but not the shared libraries mapped in (torch maps ~3 GB of address space before a model
    exists, which an RLIMIT_AS cap would have to allow for). Past the cap an allocation fails:
    torch raises "can't allocate memory", Python MemoryError, and the case is recorded as
    'oom' instead of the machine swapping to a halt. Returns the limit set, in bytes."""
    try:
        import resource
    except ImportError:
        return None
    from suite.metrics.memory import status_bytes

    current = status_bytes("VmData")
    if current is None:
        return None
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = current + extra_mb * 2**20
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return limit


def _explain_oom(result: CaseResult, config: BenchConfig) -> CaseResult:
    limit = config.worker_memory_limit_mb
    if limit is None or result.error is None or result.error.kind != "oom":
        return result
    error = result.error.model_copy(update={"message": (
        f"{result.error.message} (worker_memory_limit_mb = {limit}: the case may allocate at most "
        f"{limit} MB beyond the worker's starting footprint)")})
    return result.model_copy(update={"error": error})
