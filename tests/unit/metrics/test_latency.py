"""The timed loop, driven by an injectable fake clock so its policy is tested exactly."""

from __future__ import annotations

import statistics
import time

import pytest

from suite.metrics.latency import TimingPolicy, latency_flags, time_forward


class FakeClock:
    """Each fn() call advances time by the next duration in a script (ms)."""

    def __init__(self, durations_ms):
        self.now = 0
        self.durations = iter(durations_ms)

    def __call__(self):
        return self.now

    def fn(self):
        self.now += int(next(self.durations) * 1e6)


def test_cold_call_and_warmup_are_separate_from_samples():
    durations = [500.0] + [50.0, 30.0] + [10.0] * 10_000
    clock = FakeClock(durations)
    policy = TimingPolicy(warmup_min=3, settle_window=3, min_iters=10, min_time_s=0, max_time_s=100, ci_target=0.02)
    res = time_forward(clock.fn, items_per_call=4, policy=policy, threads=1, clock=clock)
    assert res.cold_ms == pytest.approx(500.0)
    assert res.warmup_ms[:2] == [50.0, 30.0]
    assert res.warmup_settled
    assert all(s == pytest.approx(10.0) for s in res.samples_ms)
    assert res.summary.median_ms == pytest.approx(10.0)
    assert res.summary.throughput_items_s == pytest.approx(400.0)
    assert res.stop_reason == "ci_target"
    assert len(res.samples_ms) == 10  # constant samples meet the CI target at once


def test_min_time_extends_beyond_min_iters():
    clock = FakeClock([1.0] * 100_000)
    policy = TimingPolicy(warmup_min=0, warmup_max=0, min_iters=5, min_time_s=0.5, max_time_s=10)
    res = time_forward(clock.fn, items_per_call=1, policy=policy, threads=1, clock=clock)
    assert len(res.samples_ms) == 500  # 0.5 s of 1 ms calls


def test_noisy_samples_hit_time_cap_with_warning():
    import itertools

    pattern = itertools.cycle([10.0, 20.0, 5.0, 40.0])
    clock = FakeClock(pattern)
    policy = TimingPolicy(warmup_min=0, warmup_max=0, min_iters=10, min_time_s=0, max_time_s=2.0, ci_target=0.001)
    res = time_forward(clock.fn, items_per_call=1, policy=policy, threads=1, clock=clock)
    assert res.stop_reason == "time_cap"
    kinds = [f.kind for f in latency_flags(res, policy)]
    assert kinds == ["ci_missed"]  # the spread itself is no reason: the CI it leaves too wide is
    assert "not reached within 2 s" in latency_flags(res, policy)[0].detail
    assert sum(res.samples_ms) == pytest.approx(2000, abs=40)


def test_warmup_cap_reports_unsettled():
    import itertools

    clock = FakeClock(itertools.count(10.0, 10.0))  # keeps slowing down: never settles
    policy = TimingPolicy(warmup_min=2, warmup_max=8, settle_window=2, settle_tol=0.01, min_iters=10,
                          min_time_s=0, max_time_s=1)
    res = time_forward(clock.fn, items_per_call=1, policy=policy, threads=1, clock=clock)
    assert not res.warmup_settled
    assert len(res.warmup_ms) == 8


def test_real_timer_agrees_with_sleep():
    """Against an independent reference: time.sleep of 20 ms is timed as >= 20 ms, and
    not much more (the harness adds microseconds, not milliseconds)."""
    policy = TimingPolicy(warmup_min=1, warmup_max=2, min_iters=10, min_time_s=0, max_time_s=2)
    res = time_forward(lambda: time.sleep(0.02), items_per_call=1, policy=policy, threads=1)
    assert 20.0 <= res.summary.min_ms
    assert res.summary.median_ms < 20.0 * 1.5


def test_a_steady_timer_raises_no_latency_flag():
    clock = FakeClock([10.0] * 1000)
    policy = TimingPolicy(warmup_min=3, warmup_max=10, min_iters=10, min_time_s=0, max_time_s=1.0)
    res = time_forward(clock.fn, items_per_call=1, policy=policy, threads=1, clock=clock)
    assert res.warmup_settled and latency_flags(res, policy) == []


def _noisy_timer(step_at: int = 0, slower: float = 1.0, seed: int = 0) -> FakeClock:
    """Samples around 10 ms with a CV of ~15% (what 2 threads on 2 shared vCPUs look like),
    `slower` times slower from call `step_at` on (another job starts on the machine)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    level = np.concatenate([np.ones(step_at), np.full(100_000, slower)])
    return FakeClock(10.0 * level * rng.lognormal(0.0, 0.15, level.size))


def test_a_quiet_steady_noisy_timer_raises_no_flag_a_drifting_one_does():
    policy = TimingPolicy(warmup_min=3, warmup_max=10, settle_window=3, settle_tol=0.5, min_iters=10,
                          min_time_s=0, max_time_s=30.0)
    clock = _noisy_timer()
    quiet = time_forward(clock.fn, items_per_call=1, policy=policy, threads=2, clock=clock)
    assert quiet.stop_reason == "ci_target" and quiet.summary.cv > 0.10  # the old "high variance"
    assert latency_flags(quiet, policy) == []
    clock = _noisy_timer(step_at=150, slower=1.3)  # the machine slows down by 30% during the loop
    drifting = time_forward(clock.fn, items_per_call=1, policy=policy, threads=2, clock=clock)
    (f,) = latency_flags(drifting, policy)
    assert f.kind == "drift"
    half = len(drifting.samples_ms) // 2
    first, second = statistics.median(drifting.samples_ms[:half]), statistics.median(drifting.samples_ms[half:])
    assert f"from {first:.3g} to {second:.3g} ms" in f.detail and second > 1.1 * first


def _with_processes(res, medians):
    return res.model_copy(update={"process_medians_ms": medians})


def test_process_medians_outside_the_ci_are_flagged():
    clock = FakeClock([10.0, 10.2, 9.8, 10.1, 9.9] * 400)
    policy = TimingPolicy(warmup_min=0, warmup_max=0, min_iters=50, min_time_s=0, max_time_s=5)
    res = time_forward(clock.fn, items_per_call=1, policy=policy, threads=1, clock=clock)
    lo, hi = res.summary.median_ci_low_ms, res.summary.median_ci_high_ms
    assert latency_flags(_with_processes(res, [lo, hi, res.summary.median_ms]), policy) == []
    assert latency_flags(_with_processes(res, [10.0]), policy) == []  # one process: nothing to compare
    (f,) = latency_flags(_with_processes(res, [10.0, 11.5, 9.0]), policy)
    assert f.kind == "process_spread" and f.detail.startswith("2 of 3 worker processes")


def test_summary_carries_tail_cis_and_outlier_counts():
    import numpy as np

    from suite import stats

    durations = [10.0 + 0.01 * (i % 7) for i in range(2000)]
    durations[100] = 50.0
    clock = FakeClock(durations)
    policy = TimingPolicy(warmup_min=0, warmup_max=0, min_iters=500, min_time_s=0, max_time_s=100, ci_target=0.5)
    s = time_forward(clock.fn, items_per_call=1, policy=policy, threads=1, clock=clock).summary
    assert s.n == 500
    xs = np.sort(durations[:500])
    lo, hi = stats.quantile_ci(xs, 0.99)
    assert (s.p99_ci_low_ms, s.p99_ci_high_ms) == (lo, hi) and hi is not None
    assert s.p90_ci_low_ms <= s.p90_ms <= s.p90_ci_high_ms
    assert s.p99_min_samples == 662 and (s.outliers_mild, s.outliers_severe) == (0, 1)
