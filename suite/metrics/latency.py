"""The timed loop: cold call, warm-up until steady, then adaptive sampling of the forward pass.

Each sample is one `fn()` call bracketed by two clock reads; the clock is injectable for
tests. Statistics come from suite.stats.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from suite import stats
from suite.results.flags import flag
from suite.results.schema import Flag, LatencyResult, LatencySummary


class TimingPolicy(BaseModel):
    """How long to warm up and how many samples to take (see metrics/latency.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # no inf/NaN: a NaN passes every `> 0` check

    warmup_min: int = Field(default=3, ge=0, description="warm-up iterations always run")
    warmup_max: int = Field(default=50, ge=0, description="warm-up iterations at most")
    warmup_max_s: float = Field(default=20.0, gt=0, description="warm-up time cap, seconds")
    settle_window: int = Field(default=5, ge=2, description="running-median window for 'settled'")
    settle_tol: float = Field(default=0.05, gt=0, lt=1, description="relative change of the running median that counts as settled")
    min_iters: int = Field(default=10, ge=1, description="timed iterations at least (the handout's k)")
    min_time_s: float = Field(default=1.0, ge=0, description="timed loop runs at least this long")
    max_time_s: float = Field(default=10.0, gt=0, description="timed loop stops after this long even if the CI target is not met")
    max_iters: int = Field(default=100_000, ge=1)
    ci_target: float = Field(default=0.02, gt=0, lt=1, description="stop when the median's CI half-width is within this fraction")
    ci_level: float = Field(default=0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _consistent(self) -> TimingPolicy:
        if self.warmup_max < self.warmup_min:
            raise ValueError(f"timing.warmup_max ({self.warmup_max}) is below timing.warmup_min ({self.warmup_min})")
        if self.max_time_s < self.min_time_s:
            raise ValueError(f"timing.max_time_s ({self.max_time_s}) is below timing.min_time_s ({self.min_time_s})")
        if self.max_iters < self.min_iters:
            raise ValueError(f"timing.max_iters ({self.max_iters}) is below timing.min_iters ({self.min_iters})")
        return self

Clock = Callable[[], int]  # nanoseconds

# A forward pass this slow (seconds) is warm after `warmup_min` calls: waiting for its running
# median to settle over `settle_window` calls would cost more than the timed loop itself (the lab
# preset's large batches: warm-up 0.75 of the sampling time).
SLOW_CALL_S = 1.0


def _time_once(fn: Callable[[], object], clock: Clock) -> float:
    t0 = clock()
    fn()
    return (clock() - t0) / 1e6


def warm_up(fn: Callable[[], object], policy: TimingPolicy, clock: Clock) -> tuple[list[float], bool]:
    """Run until `warmup_min` calls are done and the running median of the last
    `settle_window` samples moves by less than `settle_tol`, capped by count and time."""
    samples: list[float] = []
    start = clock()
    prev_median = None
    while len(samples) < policy.warmup_max:
        samples.append(_time_once(fn, clock))
        if len(samples) >= policy.warmup_min and min(samples[-2:]) >= SLOW_CALL_S * 1e3:
            return samples, True
        if len(samples) >= max(policy.warmup_min, policy.settle_window):
            med = statistics.median(samples[-policy.settle_window:])
            if prev_median is not None and abs(med - prev_median) <= policy.settle_tol * prev_median:
                return samples, True
            prev_median = med
        if (clock() - start) / 1e9 >= policy.warmup_max_s and len(samples) >= policy.warmup_min:
            return samples, False
    # Count cap reached without settling (warm-up switched off counts as settled).
    return samples, policy.warmup_max == 0


def sample(fn: Callable[[], object], policy: TimingPolicy, clock: Clock) -> tuple[list[float], str]:
    """At least `min_iters` samples and `min_time_s`; then extend until the median's CI
    half-width is within `ci_target`, or `max_time_s` / `max_iters` is reached."""
    samples: list[float] = []
    start = clock()
    next_check = policy.min_iters
    while True:
        samples.append(_time_once(fn, clock))
        n = len(samples)
        elapsed = (clock() - start) / 1e9
        if n >= policy.max_iters:
            return samples, "max_iters"
        if n < policy.min_iters or elapsed < policy.min_time_s:
            if elapsed >= policy.max_time_s and n >= policy.min_iters:
                return samples, "time_cap"
            continue
        if n >= next_check:
            # Checking costs a sort and a binomial quantile: do it at ~10% growth steps.
            next_check = n + max(1, n // 10)
            if stats.ci_half_width_ratio(samples, policy.ci_level) <= policy.ci_target:
                return samples, "ci_target"
        if elapsed >= policy.max_time_s:
            return samples, "time_cap"


def summarize_latency(samples_ms: list[float], items_per_call: int, level: float) -> LatencySummary:
    s = stats.summarize(samples_ms, level)
    out = s.outliers
    return LatencySummary(
        n=s.n, mean_ms=s.mean, std_ms=s.std, median_ms=s.median, median_ci_low_ms=s.median_ci_low,
        median_ci_high_ms=s.median_ci_high, ci_level=s.ci_level, iqr_ms=s.iqr, p90_ms=s.p90, p99_ms=s.p99,
        min_ms=s.min, max_ms=s.max, cv=s.cv, throughput_items_s=items_per_call / (s.median / 1e3) if s.median > 0 else 0.0,
        p90_ci_low_ms=s.p90_ci[0], p90_ci_high_ms=s.p90_ci[1], p99_ci_low_ms=s.p99_ci[0], p99_ci_high_ms=s.p99_ci[1],
        p99_min_samples=s.p99_min_samples, outliers_mild=out.mild if out else None,
        outliers_severe=out.severe if out else None,
    )


def latency_flags(result: LatencyResult, policy: TimingPolicy) -> list[Flag]:
    """Reasons the timed loop's figures cannot be trusted at the precision shown, from its stored
    samples alone: too few samples, a median that moved during the loop, periodic outliers
    (suite.stats.quality_issues), an unsettled warm-up, a CI target missed after the cap, and
    worker processes whose medians fall outside the CI. A wide spread alone flags nothing: the
    CI says how precise the median is. (The machine's state during the case -- throttling,
    swap, contention -- is flagged by suite.machine.monitor.)"""
    out = [flag(kind, detail) for kind, detail in stats.summarize(result.samples_ms, policy.ci_level).issues]
    if not result.warmup_settled and policy.warmup_max > 0:
        out.append(flag("warmup_unsettled", f"warm-up did not settle within its cap ({len(result.warmup_ms)} calls)"))
    summary = result.summary
    half = stats.ci_half_width_ratio(result.samples_ms, policy.ci_level)
    if result.stop_reason != "ci_target" and half > policy.ci_target:
        cap = f"{policy.max_time_s:g} s" if result.stop_reason == "time_cap" else f"{len(result.samples_ms)} samples"
        out.append(flag("ci_missed", f"CI target ±{policy.ci_target:.0%} not reached within {cap} "
                                     f"(±{half:.1%} at the cap)"))
    medians = result.process_medians_ms or []
    outside = [m for m in medians if not summary.median_ci_low_ms <= m <= summary.median_ci_high_ms]
    if len(medians) > 1 and outside:
        out.append(flag("process_spread", f"{len(outside)} of {len(medians)} worker processes had a median outside the "
                                          f"{summary.ci_level:.0%} CI [{summary.median_ci_low_ms:.3g}, "
                                          f"{summary.median_ci_high_ms:.3g}] ms (their medians: "
                                          f"{', '.join(f'{m:.3g}' for m in medians)} ms): a re-run moves more than "
                                          "the CI says"))
    return out


def time_forward(
    fn: Callable[[], object],
    *,
    items_per_call: int,
    policy: TimingPolicy,
    threads: int,
    synchronized: bool = False,
    clock: Clock = time.perf_counter_ns,
    phases: dict[str, float] | None = None,
) -> LatencyResult:
    """Time `fn` (one forward pass, already prepared) under `policy`; `phases` gets the seconds of
    the warm-up (with the cold call) and of the sampling."""
    t0 = clock()
    cold = _time_once(fn, clock)
    warm, settled = warm_up(fn, policy, clock)
    t1 = clock()
    samples, reason = sample(fn, policy, clock)
    if phases is not None:
        phases["warmup"] = (t1 - t0) / 1e9
        phases["sampling"] = (clock() - t1) / 1e9
    summary = summarize_latency(samples, items_per_call, policy.ci_level)
    return LatencyResult(
        cold_ms=cold, warmup_ms=warm, samples_ms=samples, warmup_settled=settled, stop_reason=reason,
        threads=threads, synchronized=synchronized, summary=summary,
    )
