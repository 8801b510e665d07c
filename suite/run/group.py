"""Run one case, or the interleaved group of one model x batch x size, in a worker process of its
own (suite.worker.run_isolated), and each interleaved case's memory alone in another.

Workers come from a forkserver that has already imported torch (Linux; suite.worker), so
each case starts in milliseconds in a clean process whose crash, hang or memory blow-up cannot
take the run down; elsewhere they are spawned. A worker ignores Ctrl-C (the parent decides:
save, kill the worker, stop), dies with the forkserver when the run itself is killed, and may
have its memory capped (`worker_memory_limit_mb`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from suite.config.bench_config import BenchConfig
from suite.plan.sweep import PlannedCase
from suite.results.flags import flag, unique
from suite.results.schema import CaseResult, ErrorInfo, MemoryStats, utc_now
from suite.run.case import memory_alone, run_group
from suite.run.case_parts import CaseContext
from suite.run.cold_start import with_cold_start
from suite.worker import run_isolated

Send = Callable[[object], None]  # a worker's message to the parent (suite.worker.run_isolated)


def execute_group(group: list[PlannedCase], ctx: CaseContext) -> list[CaseResult]:
    """The cases of `group` (one case, or the backends of one model x batch x size, interleaved)
    in one worker process; their results in group order. A worker that crashes, hangs or runs
    out of memory fails every case of its group with that error."""
    if ctx.config.isolation == "inline":
        results = run_group(group, ctx)
        if len(group) > 1:
            results = [_no_memory(r, "isolation = inline: the interleaved group shared the run's process, whose peak "
                                     "memory is no one backend's") for r in results]
        return _cold_starts(results, ctx)
    # the app-like windows (--rate, --sustain) run in the worker on top of the case's own time
    results = run_in_worker(group, ctx, (ctx.config.case_timeout_s + ctx.config.app.extra_time_s()) * len(group))
    if len(group) > 1 and ctx.repeat == 0:
        # The group's worker held every backend at once: each one's memory comes from a worker of its own.
        results = [with_memory_alone(r, p, ctx) for r, p in zip(results, group)]
    return _cold_starts(results, ctx)


def _cold_starts(results: list[CaseResult], ctx: CaseContext) -> list[CaseResult]:
    """Each case's cold start in a fresh process of its own, once per case (its first worker)."""
    if not ctx.config.app.cold_start or ctx.repeat > 0:
        return results
    return [with_cold_start(r, ctx.config.seed, ctx.config.case_timeout_s) for r in results]


def with_memory_alone(result: CaseResult, planned: PlannedCase, ctx: CaseContext) -> CaseResult:
    """`result` with its backend's peak memory measured alone (suite.run.case.memory_alone) in a
    worker of its own, within the case timeout; a failure to measure leaves memory empty and says why."""
    if result.status == "failed":
        return result
    t0 = time.perf_counter()
    out = run_isolated(_memory_worker, (planned, ctx), ctx.config.case_timeout_s,
                       name=f"bench-memory-{planned.spec.case_id}", memory_limit_mb=ctx.config.worker_memory_limit_mb)
    phases = {**(result.phases_s or {}), "memory": round(time.perf_counter() - t0, 6)}
    result = result.model_copy(update={"phases_s": phases})
    got = out.result  # ("ok", the MemoryStats as JSON) or ("error", why), from _memory_worker
    if got is not None and got[0] == "ok":
        return result.model_copy(update={"memory": MemoryStats.model_validate_json(got[1])})
    why = got[1] if got is not None else f"its worker {out.failure(ctx.config.case_timeout_s)[1]}"
    return _no_memory(result, f"peak memory not measured alone: {why}")


def _no_memory(result: CaseResult, why: str) -> CaseResult:
    return result.model_copy(update={"memory": None, "flags": unique([*result.flags, flag("memory_failed", why)])})


def _memory_worker(send: Send, planned: PlannedCase, ctx: CaseContext) -> None:
    got = memory_alone(planned, ctx)
    if isinstance(got, ErrorInfo):
        send(("error", f"{got.kind}: {got.message}"))
    else:
        send(("ok", got.model_dump_json()))


def _group_worker(send: Send, group: list[PlannedCase], ctx: CaseContext) -> None:
    if ctx.meter_probe is not None:
        ctx.meter_probe.install()  # the run's meter, probed once in the parent
    send(("ok", [r.model_dump_json() for r in run_group(group, ctx)]))


def run_in_worker(group: list[PlannedCase], ctx: CaseContext, timeout_s: float) -> list[CaseResult]:
    first = group[0].spec
    name = f"bench-case-{first.case_id}" + (f"-group{len(group)}" if len(group) > 1 else "")
    started = utc_now()
    t0 = time.perf_counter()
    out = run_isolated(_group_worker, (group, ctx), timeout_s, name=name,
                       memory_limit_mb=ctx.config.worker_memory_limit_mb)
    if out.result is not None and out.result[0] == "ok":
        results = []
        for raw in out.result[1]:
            r = CaseResult.model_validate_json(raw)
            phases = {"worker_start": round(out.entered_s or 0.0, 6), **(r.phases_s or {})}
            results.append(_explain_oom(r.model_copy(update={"phases_s": phases}), ctx.config))
        return results
    kind, message = out.failure(timeout_s)
    if kind == "timeout":
        message = f"case {message}"
    return [_explain_oom(r, ctx.config) for r in _failed_group(group, started, t0, kind, message)]


def _failed_group(group: list[PlannedCase], started: datetime, t0: float, kind: str, message: str) -> list[CaseResult]:
    if len(group) > 1:
        message += (f" (the worker ran {', '.join(p.spec.backend for p in group)} interleaved: every case of the "
                    "group fails with it; --no-interleave runs each in its own worker)")
    return [_failed(p, started, t0, kind, message) for p in group]



def _failed(planned: PlannedCase, started: datetime, t0: float, kind: str, message: str) -> CaseResult:
    spec = planned.spec
    return CaseResult(spec=spec, id=spec.case_id, status="failed", error=ErrorInfo(kind=kind, message=message),
                      started_at=started, duration_s=time.perf_counter() - t0)



def _explain_oom(result: CaseResult, config: BenchConfig) -> CaseResult:
    limit = config.worker_memory_limit_mb
    if limit is None or result.error is None or result.error.kind != "oom":
        return result
    error = result.error.model_copy(update={"message": (
        f"{result.error.message} (worker_memory_limit_mb = {limit}: the case may allocate at most "
        f"{limit} MB beyond the worker's starting footprint)")})
    return result.model_copy(update={"error": error})
