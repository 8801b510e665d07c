"""The paced step of a case (suite/run/app_steps.py): the paced window's figures, the flag for missed
deadlines, and the comparison with the case's back-to-back samples."""

from __future__ import annotations

import statistics
import time

from suite.config.bench_config import validate_config
from suite.metrics.latency import TimingPolicy, time_forward
from suite.run.app_steps import paced_step
from suite.run.case_parts import CaseContext


def ctx() -> CaseContext:
    return CaseContext(config=validate_config({"models": ["digits-cnn-small"], "energy": {"enabled": False},
                                               "app": {"paced_window_s": 0.5}}))


def spin(seconds: float) -> None:
    t = time.perf_counter()
    while time.perf_counter() - t < seconds:
        pass


def test_a_slow_call_misses_its_deadlines_and_says_so() -> None:
    result, flags = paced_step(lambda: spin(0.03), ctx(), None, rate_hz=50.0)  # 30 ms calls, 20 ms period
    assert len(result.starts_ms) == 25 and result.missed >= 20
    assert [f.kind for f in flags] == ["missed_deadlines"]
    assert result.idle_gaps <= 2 and result.vs_back_to_back is None and result.energy is None


def test_a_fast_call_idles_between_frames_and_is_set_against_back_to_back() -> None:
    back = time_forward(lambda: spin(0.001), items_per_call=1, policy=TimingPolicy(min_time_s=0.1, max_time_s=0.2),
                        threads=1)
    result, flags = paced_step(lambda: spin(0.001), ctx(), back, rate_hz=40.0)
    assert flags == [] and result.missed == 0 and result.idle_gaps >= 15
    assert result.median_ms == statistics.median(result.samples_ms)
    assert result.vs_back_to_back is not None and result.vs_back_to_back_ci is not None
    assert result.vs_back_to_back == result.median_ms / statistics.median(back.samples_ms)
    lo, hi = result.vs_back_to_back_ci
    assert lo <= result.vs_back_to_back <= hi
