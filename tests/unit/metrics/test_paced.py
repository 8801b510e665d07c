"""The paced loop (suite/metrics/paced.py): real clocks at two rates (the achieved period from the
stored starts within 2% of the target on this loaded machine), and a fake clock for the exact
bookkeeping of late calls and idle gaps."""

from __future__ import annotations

import time

import pytest

from suite.metrics.paced import frames_for, paced_calls
from suite.results.schema import PacedResult


def work() -> None:
    """About a fifth of a millisecond of real work: far shorter than either period."""
    t = time.perf_counter()
    while time.perf_counter() - t < 2e-4:
        pass


def stored(rate: float, frames: int) -> PacedResult:
    calls = paced_calls(work, 1 / rate, frames)
    return PacedResult(method="test", rate_hz=rate, period_ms=1e3 / rate, starts_ms=calls.starts_ms,
                       samples_ms=calls.samples_ms, missed=calls.missed, idle_gaps=calls.idle_gaps, median_ms=0,
                       median_ci_low_ms=0, median_ci_high_ms=0, p99_ms=0)


@pytest.mark.parametrize("rate", [50.0, 20.0])
def test_the_achieved_period_holds_the_target_at_two_rates(rate: float) -> None:
    frames = 30
    p = stored(rate, frames)
    achieved = p.achieved_period_ms
    assert achieved is not None and abs(achieved / p.period_ms - 1) < 0.02, (achieved, p.period_ms)
    # what the stored starts say about their own precision, and that it is honest
    bound = p.period_error_bound_ms
    assert bound is not None and abs(achieved - p.period_ms) <= bound + 1e-9
    # the gaps the loop counted are the ones its timestamps show: the previous call ended before the frame arrived
    ends = [s + d for s, d in zip(p.starts_ms, p.samples_ms)]
    shown = sum(1 for k in range(1, frames) if ends[k - 1] < k * p.period_ms)
    assert abs(p.idle_gaps - shown) <= 1 and p.idle_gaps >= (frames - 1) * 0.8
    assert len(p.idle_ms) == frames - 1


class FakeTime:
    def __init__(self) -> None:
        self.t = 50.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def test_late_calls_miss_their_deadline_and_the_next_one_starts_at_once() -> None:
    fake = FakeTime()
    durations = iter([0.01, 0.15, 0.01, 0.01, 0.25, 0.01])  # period 0.1 s: calls 2 and 5 overrun it

    def call() -> None:
        fake.t += next(durations)

    out = paced_calls(call, 0.1, 6, clock=fake.clock, sleep=fake.sleep, whole_periods=True)
    assert out.missed == 3  # calls 2 and 5 overran; call 6's frame arrived at 0.5 s, it ended at 0.66 s
    assert out.starts_ms == pytest.approx([0, 100, 250, 300, 400, 650])
    assert out.idle_gaps == 3  # before calls 2, 4 and 5; calls 3 and 6 started when the late call ended
    assert fake.t - 50.0 == pytest.approx(0.66)  # the last call ended past its period: nothing left to idle
    assert out.busy_s == pytest.approx(0.44)


def test_whole_periods_idle_through_the_last_frame() -> None:
    fake = FakeTime()

    def call() -> None:
        fake.t += 0.02

    out = paced_calls(call, 0.1, 4, clock=fake.clock, sleep=fake.sleep, whole_periods=True)
    assert fake.t - 50.0 == pytest.approx(0.4) and out.missed == 0 and out.idle_gaps == 3


def test_frames_for_a_window() -> None:
    assert frames_for(30, 2.0, 10) == 60 and frames_for(1, 2.0, 10) == 10
    with pytest.raises(ValueError):
        paced_calls(work, 0.0, 3)
