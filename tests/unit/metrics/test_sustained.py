"""The sustained loop (suite/metrics/sustained.py) on a fake clock: windows, their medians, the spans
the sustained/burst ratio compares, and an early stop."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from suite.metrics.sustained import Sensed, spans, sustained_calls
from suite.run.app_steps import sustained_result


class Slowing:
    """A clock and a call that takes 1 ms for the first 10 s, then 2 ms (the board throttled)."""

    def __init__(self) -> None:
        self.t = 0.0

    def clock(self) -> float:
        return self.t

    def call(self) -> None:
        self.t += 0.001 if self.t < 10.0 else 0.002


def test_windows_and_the_sustained_over_burst_ratio() -> None:
    s = Slowing()
    calls = sustained_calls(s.call, 80.0, 1.0, lambda _w: Sensed(temp_c=60.0), clock=s.clock)
    assert len(calls.windows) == 80 and calls.stopped is None
    assert abs(calls.windows[0].calls - 1000) <= 1 and abs(calls.windows[-1].calls - 500) <= 1
    assert calls.windows[0].median_ms == pytest.approx(1.0) and calls.windows[-1].median_ms == pytest.approx(2.0)
    r = sustained_result(calls, datetime.now(timezone.utc), 80.0, 1.0, None, None)
    assert (r.burst_s, r.sustained_s) == (10.0, 60.0)  # ran 80 s: (10.0, 60.0)  # the first 10 s, the last minute
    assert r.burst_median_ms == pytest.approx(1.0) and r.sustained_median_ms == pytest.approx(2.0)
    assert r.ratio == pytest.approx(2.0) and r.ratio_ci == pytest.approx((2.0, 2.0))
    assert r.time_to_throttle_s is None  # the sensors never said so: a slower call alone is no throttle


def test_a_stop_ends_the_run_at_that_window() -> None:
    s = Slowing()
    said = iter([Sensed(), Sensed(), Sensed(stop="too hot")])
    calls = sustained_calls(s.call, 30.0, 1.0, lambda _w: next(said), clock=s.clock)
    assert len(calls.windows) == 3 and calls.stopped == "too hot" and calls.ran_s == pytest.approx(3.0, abs=0.002)


def test_short_runs_shorten_the_spans() -> None:
    assert spans(3.0, 0.25) == (0.75, 2.25) and spans(600.0, 1.0) == (10.0, 60.0)
    assert spans(0.5, 0.25) == (0.25, 0.25)
    with pytest.raises(ValueError):
        sustained_calls(lambda: None, 0, 1, lambda _w: Sensed())
