"""How long each case will take, before it runs, and what a time budget does to the plan (issue 22).

A case's wall time is its timed loop plus everything around it (worker start, build, export, parity,
energy window, cold start, the app-like windows). The timed loop runs at least `min_time_s` and
`min_iters` calls and at most `max_time_s`; one call's time comes, best first, from:

1. a previous result of the same case (its stored median and phases: "previous run");
2. the case's FLOPs and bytes (a previous result of the same model and size, scaled to the batch)
   under the device's measured ceilings, at ROOF_FRACTION of the roof ("roofline");
3. nothing: the timing policy's bounds alone ("policy bounds").
The phases around the loop come from the same previous result, else from FIXED_S (measured on a
2-core x86 VM). After a run, each case stores what was predicted beside its actual phases
(`case.estimate`), so the estimate can be judged.

With a budget: the sampling of every case shrinks by one factor (never below `min_iters` calls:
the statistics' minimum), and the cases whose loop would have run longer lose precision (named);
when the budget still does not hold the plan, the runner stops before the first case that would
pass it, saying which cases are left for `--resume`.
"""

from __future__ import annotations

from dataclasses import dataclass

from suite.config.bench_config import BenchConfig
from suite.metrics.latency import TimingPolicy
from suite.plan.sweep import PlannedCase
from suite.results.schema import CaseResult, DevicePeaks

ROOF_FRACTION = 0.2  # share of the roofline's attainable FLOP/s a case is assumed to reach
# Seconds per case around the timed loop when no previous result says better (2-core x86 VM, quick preset).
# An export found in the cache takes ~0.05 s, a new one seconds (resnet18 with dynamo: ~10 s): 6 s is
# neither; a previous run of the case holds its real one. The run's first worker also waits for the
# forkserver to import torch (FORKSERVER_S, once per run).
FIXED_S = {"worker_start": 0.1, "build": 0.3, "flops": 0.2, "prepare_export": 6.0, "prepare": 0.1,
           "warmup": 0.5, "memory": 0.5, "cold_start_torch": 1.5, "cold_start_graph": 0.4}
FORKSERVER_S = 2.4
GRAPH_BACKENDS = ("ort", "ort-int8")  # backends that export a graph file first (the export's cost)
MIN_SHRINK_S = 0.05  # the shrunk max_time_s never goes below this


@dataclass(frozen=True)
class CaseEstimate:
    case_id: str
    label: str
    call_s: float | None  # one call's predicted time (None: unknown)
    sampling_s: float  # the timed loop
    other_s: float  # everything else
    basis: str  # previous run | roofline | policy bounds

    @property
    def predicted_s(self) -> float:
        return self.sampling_s + self.other_s


def sampling_s(call_s: float | None, policy: TimingPolicy) -> float:
    """The timed loop's length: min_iters calls and min_time_s at least, max_time_s at most; a case
    whose call time is unknown is put at the middle of the two bounds."""
    if call_s is None:
        return (policy.min_time_s + policy.max_time_s) / 2
    floor = policy.min_iters * call_s  # the loop never stops before min_iters calls, whatever its cap
    return max(floor, min(policy.max_time_s, max(policy.min_time_s, floor)))


def warmup_s(call_s: float | None, policy: TimingPolicy) -> float:
    """The warm-up: the cold call and about two settle windows of calls, within warmup_max_s."""
    if call_s is None:
        return FIXED_S["warmup"]
    return min(policy.warmup_max_s, (1 + max(policy.warmup_min, 2 * policy.settle_window)) * call_s)


def _flops_per_item(known: list[CaseResult], planned: PlannedCase) -> tuple[float, float] | None:
    """(FLOPs, bytes moved) per item of the same model and size in a previous result."""
    s = planned.spec
    for c in known:
        if c.spec.model == s.model and c.spec.input_size == s.input_size and c.flops is not None:
            moved = c.roofline.bytes_moved if c.roofline is not None and c.roofline.bytes_moved else 0.0
            return c.flops.flops / c.spec.batch_size, moved / c.spec.batch_size
    return None


def _roofline_call_s(work: tuple[float, float], batch: int, peaks: DevicePeaks) -> float:
    flops, moved = work[0] * batch, work[1] * batch
    return max(flops / peaks.gemm_flops_s, moved / peaks.bandwidth_bytes_s) / ROOF_FRACTION


def _fixed_other_s(planned: PlannedCase, config: BenchConfig, call_s: float | None) -> float:
    backend = planned.spec.backend
    out = FIXED_S["worker_start"] + FIXED_S["build"] + FIXED_S["flops"] + warmup_s(call_s, config.timing)
    out += FIXED_S["prepare_export"] if backend in GRAPH_BACKENDS else FIXED_S["prepare"]
    if len(config.backends) > 1 and config.interleave:
        out += FIXED_S["memory"]
    if config.energy.enabled:
        out += config.energy.min_window_s + (call_s or 0.0)
    if config.app.cold_start:
        out += FIXED_S["cold_start_graph"] if backend in GRAPH_BACKENDS else FIXED_S["cold_start_torch"]
    return out + config.app.extra_time_s()


def estimate_case(planned: PlannedCase, config: BenchConfig, peaks: list[DevicePeaks],
                  known: list[CaseResult]) -> CaseEstimate:
    """One case's estimate; with `repeats` its timed loop runs once in each of its processes."""
    one = _estimate_once(planned, config, peaks, known)
    if config.repeats == 1:
        return one
    return CaseEstimate(one.case_id, one.label, one.call_s, one.sampling_s * config.repeats,
                        one.other_s + (config.repeats - 1) * FIXED_S["worker_start"], one.basis)


def _previous_loop_s(same: CaseResult, call_s: float, config: BenchConfig) -> float:
    """The timed loop of a case run before: it runs on past min_time_s until its CI target holds
    (or max_time_s), so its length is what it took last time (the `sampling` phase: an interleaved
    group's, as the case's actual time counts it), kept within what this run's policy allows."""
    loop = sampling_s(call_s, config.timing)
    before = (same.phases_s or {}).get("sampling")
    if not before:
        return loop
    sharing = len(config.backends) if config.interleave else 1
    return min(max(loop, before), config.timing.max_time_s * sharing * 1.25)  # 1.25: the rounds' settling


def _estimate_once(planned: PlannedCase, config: BenchConfig, peaks: list[DevicePeaks],
                   known: list[CaseResult]) -> CaseEstimate:
    s = planned.spec
    same = next((c for c in known if c.id == s.case_id and c.status == "ok" and c.latency is not None), None)
    if same is not None and same.latency is not None:
        call_s = same.latency.summary.median_ms / 1e3
        phases = dict(same.phases_s or {})
        for loop in ("sampling", "repeats", "paced", "sustained"):  # measured again under this run's settings
            phases.pop(loop, None)
        phases["worker_start"] = FIXED_S["worker_start"]  # its run's first one waited for the forkserver too
        other = sum(phases.values()) + config.app.extra_time_s()
        return CaseEstimate(s.case_id, s.label, call_s, _previous_loop_s(same, call_s, config), other, "previous run")
    work = _flops_per_item(known, planned)
    roof = next((p for p in peaks if p.device == s.device and (p.threads in (None, s.threads))), None)
    if work is not None and roof is not None and work[0] > 0:
        call_s = _roofline_call_s(work, s.batch_size, roof)
        return CaseEstimate(s.case_id, s.label, call_s, sampling_s(call_s, config.timing),
                            _fixed_other_s(planned, config, call_s), "roofline")
    return CaseEstimate(s.case_id, s.label, None, sampling_s(None, config.timing),
                        _fixed_other_s(planned, config, None), "policy bounds")


@dataclass(frozen=True)
class BudgetPlan:
    timing: TimingPolicy  # the policy the run uses (shrunk, or as configured)
    estimates: list[CaseEstimate]  # under that policy
    lose_precision: list[str]  # labels of the cases whose loop was cut short of what they would have run
    fits: bool  # the whole plan holds within the budget


def fit_budget(estimates: list[CaseEstimate], policy: TimingPolicy, budget_s: float) -> BudgetPlan:
    """Shrink every case's timed loop by one factor so that the plan holds within `budget_s` (never
    below `min_iters` calls nor MIN_SHRINK_S); say which cases lose precision, and whether it fits."""
    total = sum(e.predicted_s for e in estimates)
    if total <= budget_s:
        return BudgetPlan(policy, estimates, [], True)
    other = sum(e.other_s for e in estimates)
    loops = sum(e.sampling_s for e in estimates)
    factor = max(0.0, (budget_s - other) / loops) if loops > 0 else 0.0
    max_time = max(MIN_SHRINK_S, policy.max_time_s * factor)
    shrunk = policy.model_copy(update={"max_time_s": max_time, "min_time_s": min(policy.min_time_s * factor, max_time)})
    again = [CaseEstimate(e.case_id, e.label, e.call_s, sampling_s(e.call_s, shrunk), e.other_s, e.basis)
             for e in estimates]
    lose = [e.label for e, a in zip(estimates, again) if a.sampling_s < e.sampling_s]
    return BudgetPlan(shrunk, again, lose, sum(a.predicted_s for a in again) <= budget_s)
