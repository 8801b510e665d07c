"""Run one case in its own worker process, with a timeout and an optional memory cap.

Workers come from a forkserver that has already imported torch (Linux; suite.worker), so
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

from suite.config.bench_config import BenchConfig
from suite.metrics.memory import status_bytes
from suite.plan.sweep import PlannedCase
from suite.results.flags import flag, unique
from suite.results.schema import CaseResult, ErrorInfo, MemoryStats, utc_now
from suite.run.case import CaseContext, memory_alone, run_group
from suite.worker import exit_with_parent, kill_process, mp_context, run_isolated


def execute(planned: PlannedCase, ctx: CaseContext) -> CaseResult:
    return execute_group([planned], ctx)[0]


def execute_group(group: list[PlannedCase], ctx: CaseContext) -> list[CaseResult]:
    """The cases of `group` (one case, or the backends of one model x batch x size, interleaved)
    in one worker process; their results in group order. A worker that crashes, hangs or runs
    out of memory fails every case of its group with that error."""
    if ctx.config.isolation == "inline":
        results = run_group(group, ctx)
        if len(group) > 1:
            results = [_no_memory(r, "isolation = inline: the interleaved group shared the run's process, whose peak "
                                     "memory is no one backend's") for r in results]
        return results
    results = run_in_worker(group, ctx, ctx.config.case_timeout_s * len(group))
    if len(group) > 1 and ctx.repeat == 0:
        # The group's worker held every backend at once: each one's memory comes from a worker of its own.
        results = [with_memory_alone(r, p, ctx) for r, p in zip(results, group)]
    return results


def with_memory_alone(result: CaseResult, planned: PlannedCase, ctx: CaseContext) -> CaseResult:
    """`result` with its backend's peak memory measured alone (suite.run.case.memory_alone) in a
    worker of its own, within the case timeout; a failure to measure leaves memory empty and says why."""
    if result.status == "failed":
        return result
    t0 = time.perf_counter()
    out = run_isolated(_memory_worker, (planned, ctx), ctx.config.case_timeout_s,
                       name=f"bench-memory-{planned.spec.case_id}")
    phases = {**(result.phases_s or {}), "memory": round(time.perf_counter() - t0, 6)}
    result = result.model_copy(update={"phases_s": phases})
    kind, payload = out.messages[-1] if out.messages else (None, None)
    if kind == "ok":
        return result.model_copy(update={"memory": MemoryStats.model_validate_json(payload)})
    if kind == "error":
        why = payload
    elif out.timed_out:
        why = f"its worker did not finish within {ctx.config.case_timeout_s:g} s (killed)"
    else:
        why = describe_exit(out.exitcode)[1]
    return _no_memory(result, f"peak memory not measured alone: {why}")


def _no_memory(result: CaseResult, why: str) -> CaseResult:
    return result.model_copy(update={"memory": None, "flags": unique([*result.flags, flag("memory_failed", why)])})


def _memory_worker(send: Any, planned: PlannedCase, ctx: CaseContext) -> None:
    if ctx.config.worker_memory_limit_mb is not None:
        limit_memory(ctx.config.worker_memory_limit_mb)
    got = memory_alone(planned, ctx)
    if isinstance(got, ErrorInfo):
        send(("error", f"{got.kind}: {got.message}"))
    else:
        send(("ok", got.model_dump_json()))


def _worker(conn: Any, group: list[PlannedCase], ctx: CaseContext) -> None:
    entered = time.time()
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    # Ctrl-C reaches the whole process group. The parent decides what it means (save, kill
    # this worker, stop); a worker dying of it first would be recorded as a crashed case.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()
    try:
        if ctx.config.worker_memory_limit_mb is not None:
            limit_memory(ctx.config.worker_memory_limit_mb)
        if ctx.meter_probe is not None:
            ctx.meter_probe.install()  # the run's meter, probed once in the parent
        results = run_group(group, ctx)
        try:
            conn.send((entered, [r.model_dump_json() for r in results]))
        except OSError:  # the parent stopped (Ctrl-C, SIGTERM) while this case ran: nobody to tell
            pass
    finally:
        conn.close()


def run_in_worker(group: list[PlannedCase], ctx: CaseContext, timeout_s: float) -> list[CaseResult]:
    mpc = mp_context()
    parent, child = mpc.Pipe(duplex=False)
    first = group[0].spec
    name = f"bench-case-{first.case_id}" + (f"-group{len(group)}" if len(group) > 1 else "")
    proc = mpc.Process(target=_worker, args=(child, group, ctx), name=name)
    started = utc_now()
    t0 = time.perf_counter()
    wall0 = time.time()
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
            return _failed_group(group, started, t0, "timeout", f"case did not finish within {timeout_s:g} s (killed)")
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
        entered, results = payload
        start_s = max(0.0, entered - wall0)
        out = []
        for raw in results:
            r = CaseResult.model_validate_json(raw)
            phases = {"worker_start": round(start_s, 6), **(r.phases_s or {})}
            out.append(_explain_oom(r.model_copy(update={"phases_s": phases}), ctx.config))
        return out
    code = proc.exitcode
    return [_explain_oom(r, ctx.config) for r in _failed_group(group, started, t0, *describe_exit(code))]


def _failed_group(group: list[PlannedCase], started: Any, t0: float, kind: str, message: str) -> list[CaseResult]:
    if len(group) > 1:
        message += (f" (the worker ran {', '.join(p.spec.backend for p in group)} interleaved: every case of the "
                    "group fails with it; --no-interleave runs each in its own worker)")
    return [_failed(p, started, t0, kind, message) for p in group]


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
