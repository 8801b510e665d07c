"""`--repeats K`: one case (or one interleaved group) measured in K fresh worker processes, as
pyperf does, merged into one CaseResult per case: every sample kept (which process each came
from in `process_sizes`), one median per process, and the median's CI from the hierarchical
bootstrap (processes, then samples; suite.stats.hierarchical_median_ci), so that it covers what
a re-run in a new process would give and not only this process's moment.

The energy window, the profile and the dataset pass run in the first process only; later
processes time the forward pass and nothing else.
"""

from __future__ import annotations

import statistics

from suite import stats
from suite.metrics.latency import TimingPolicy, latency_flags, summarize_latency
from suite.results.flags import unique
from suite.results.schema import CaseResult, LatencyResult

ONE_PROCESS = "order statistics, one process"


def hierarchical_method(k: int) -> str:
    return (f"hierarchical bootstrap: {k} processes x samples, widened to the process medians' "
            f"t interval (t, {k - 1} df)")


def merge_latency(parts: list[LatencyResult], items_per_call: int, policy: TimingPolicy) -> LatencyResult:
    """The K processes' timed loops as one result with the combined CI."""
    first = parts[0]
    if len(parts) == 1:
        return first.model_copy(update={"summary": first.summary.model_copy(update={"ci_method": ONE_PROCESS})})
    groups = [p.samples_ms for p in parts]
    samples = [x for g in groups for x in g]
    summary = summarize_latency(samples, items_per_call, policy.ci_level)
    lo, hi = stats.hierarchical_median_ci(groups, policy.ci_level)
    # the bootstrap is too narrow with few processes: widened to the processes' t interval
    t_lo, t_hi = stats.process_t_interval([statistics.median(g) for g in groups], summary.median_ms, policy.ci_level)
    lo, hi = min(lo, t_lo), max(hi, t_hi)
    summary = summary.model_copy(update={"median_ci_low_ms": max(0.0, min(lo, summary.median_ms)),
                                         "median_ci_high_ms": max(hi, summary.median_ms),
                                         "ci_method": hierarchical_method(len(parts))})
    rounds = None
    if all(p.round_sizes for p in parts):
        rounds = [r for p in parts for r in p.round_sizes or []]
    reasons = {p.stop_reason for p in parts}
    return first.model_copy(update={
        "samples_ms": samples, "summary": summary, "repeats": len(parts),
        "process_medians_ms": [statistics.median(g) for g in groups], "process_sizes": [len(g) for g in groups],
        "round_sizes": rounds, "warmup_settled": all(p.warmup_settled for p in parts),
        "stop_reason": "ci_target" if reasons == {"ci_target"} else sorted(r for r in reasons if r != "ci_target")[0],
    })


def merge_repeats(per_process: list[CaseResult], policy: TimingPolicy) -> CaseResult:
    """One case's K results (process order) as one. A process that failed fails the case (its
    error, saying which process); otherwise the first process's result with the pooled latency,
    the latency flags of the pooled samples, each phase summed over the processes, and the later
    processes' wall time as the phase `repeats` (inside those sums)."""
    first = per_process[0]
    k = len(per_process)
    for i, r in enumerate(per_process):
        if r.status == "failed":
            if k == 1 or r.error is None:
                return r
            error = r.error.model_copy(update={"message": f"{r.error.message} (worker process {i + 1} of {k})"})
            return r.model_copy(update={"error": error})
    latencies = [r.latency for r in per_process if r.latency is not None]
    if len(latencies) < k:  # a process without a timed loop: nothing to pool
        return first
    latency = merge_latency(latencies, first.spec.batch_size, policy)
    flags = [*first.flags, *latency_flags(latency, policy)] if k > 1 else first.flags
    later = per_process[1:]
    phases: dict[str, float] = {}
    for r in per_process:  # each phase summed over the processes
        for key, seconds in (r.phases_s or {}).items():
            phases[key] = round(phases.get(key, 0.0) + seconds, 6)
    if later:  # the later processes' wall time (already inside the sums above)
        phases["repeats"] = round(sum(r.duration_s + (r.phases_s or {}).get("worker_start", 0.0) for r in later), 6)
    return first.model_copy(update={
        "latency": latency, "flags": unique(flags), "phases_s": phases or None,
        "duration_s": sum(r.duration_s for r in per_process),
    })
