"""A sustained run: the forward pass back to back for minutes, recorded in windows (issue 22).

Each window (`window_s`, e.g. 1 s) holds the median of its calls and, read once at its end by the
caller's `sense` (sysfs reads, microseconds; a meter read), the machine's state: temperature, clock,
throttle state, power. Between two calls nothing else runs, except that read at a window's end.
Windows sit on a fixed grid (k x window_s from the start): a window ends with the first call that ends
at or after its boundary. The run stops at its duration, or early when `sense` says why (a temperature
limit reached).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]  # seconds


@dataclass(frozen=True)
class Sensed:
    """What the machine said at the end of a window."""

    temp_c: float | None = None
    clock_mhz: float | None = None
    cap_mhz: float | None = None
    throttled: str | None = None  # why it throttles (suite.machine.monitor.throttle_state); None: it does not
    power_w: float | None = None  # over the window, where a meter measures
    stop: str | None = None  # why the run must stop now (a temperature limit reached); None: go on


@dataclass(frozen=True)
class Window:
    start_s: float  # from the run's start
    end_s: float
    calls: int
    median_ms: float
    sensed: Sensed


@dataclass
class SustainedCalls:
    windows: list[Window] = field(default_factory=list)
    stopped: str | None = None  # why it stopped before its duration; None: it ran it all
    started_unix: float = 0.0  # time.time() at the run's start (the windows' zero)

    @property
    def ran_s(self) -> float:
        return self.windows[-1].end_s if self.windows else 0.0


def sustained_calls(fn: Callable[[], object], duration_s: float, window_s: float, sense: Callable[[float], Sensed],
                    *, clock: Clock = time.perf_counter) -> SustainedCalls:
    """Call `fn` back to back for `duration_s`, in windows of `window_s`; `sense(window seconds)` is
    called at each window's end (its `stop` ends the run there)."""
    if duration_s <= 0 or window_s <= 0:
        raise ValueError("a sustained run needs a positive duration and window")
    out = SustainedCalls(started_unix=time.time())
    t0 = clock()
    start = t0
    k = 0
    while start - t0 < duration_s:
        k += 1
        end_at = t0 + min(k * window_s, duration_s)  # on a fixed grid: a window's overrun does not shift the next
        if start >= end_at:  # a call longer than a window overran this one too: it is part of the last
            continue
        samples: list[float] = []
        now = start
        while now < end_at or not samples:  # every window holds at least one call
            a = clock()
            fn()
            now = clock()
            samples.append((now - a) * 1e3)
        sensed = sense(now - start)
        out.windows.append(Window(start - t0, now - t0, len(samples), statistics.median(samples), sensed))
        if sensed.stop is not None:
            out.stopped = sensed.stop
            break
        start = now
    return out


def spans(ran_s: float, window_s: float, burst_s: float = 10.0, sustained_s: float = 60.0) -> tuple[float, float]:
    """(burst, sustained) spans for a run of `ran_s`: the first 10 s and the last minute; a short run's
    burst is its first quarter and its sustained part the rest; at least one window each."""
    burst = max(window_s, min(burst_s, ran_s / 4))
    return burst, max(window_s, min(sustained_s, ran_s - burst))
