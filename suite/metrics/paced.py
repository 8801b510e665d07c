"""Paced calls: the forward pass at a fixed rate, as a camera app calls it (issue 22).

Frame k arrives at t0 + k x period (absolute deadlines: a late wake-up never shifts the frames
after it, so the achieved period does not drift on a loaded machine). Its call starts at its
arrival or, when the previous call is still running, the moment that call ends; between calls the
thread sleeps (time.sleep: the core is idle, no spinning). A call that ends after the next frame's
arrival missed its deadline (MLPerf SingleStream's view at a period; LiteRT's run delay).

Stored per call: its start (from the first frame's arrival) and its duration; the achieved period,
the idle gaps and the idle time are derived from those (suite.results.deployment.PacedResult).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]  # seconds
Sleep = Callable[[float], None]


@dataclass
class PacedCalls:
    """What a paced loop saw, in milliseconds from the first frame's arrival."""

    period_ms: float
    starts_ms: list[float] = field(default_factory=list)
    samples_ms: list[float] = field(default_factory=list)
    missed: int = 0  # calls that ended after their deadline (their frame's arrival + one period)
    idle_gaps: int = 0  # calls before which the thread slept (the previous call ended before this frame arrived)

    @property
    def busy_s(self) -> float:
        return sum(self.samples_ms) / 1e3


def paced_calls(fn: Callable[[], object], period_s: float, frames: int, *, clock: Clock = time.perf_counter,
                sleep: Sleep = time.sleep, whole_periods: bool = False) -> PacedCalls:
    """Call `fn` for `frames` frames arriving every `period_s` seconds (see the module's docstring).
    `whole_periods`: then idle through the last frame's period too, so that the loop spans
    `frames` whole periods (an energy window's frames each pay their idle time)."""
    if period_s <= 0 or frames < 1:
        raise ValueError("a paced loop needs a positive period and at least one frame")
    out = PacedCalls(period_ms=period_s * 1e3)
    t0 = clock()
    for k in range(frames):
        arrival = t0 + k * period_s
        if k > 0 and clock() < arrival:
            out.idle_gaps += 1
        _sleep_until(arrival, clock, sleep)
        start = clock()
        fn()
        end = clock()
        out.starts_ms.append((start - t0) * 1e3)
        out.samples_ms.append((end - start) * 1e3)
        if end > arrival + period_s:
            out.missed += 1
    if whole_periods:
        _sleep_until(t0 + frames * period_s, clock, sleep)
    return out


def _sleep_until(t: float, clock: Clock, sleep: Sleep) -> None:
    while (left := t - clock()) > 0:  # sleep returns early on a signal: sleep the rest
        sleep(left)


def frames_for(rate_hz: float, window_s: float, min_frames: int) -> int:
    """Frames in a paced window of `window_s` seconds at `rate_hz` (at least `min_frames`)."""
    return max(min_frames, round(rate_hz * window_s))
