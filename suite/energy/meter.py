"""The meter protocol and the two ways of reading a sensor: a cumulative energy counter read at
the window's edges, or a power sensor sampled in a background thread and integrated over time.

Every meter module (rapl, nvml, jetson, rpi, estimate) builds one of these two from its own
reading function, so the window, wrap-around, threading and integration logic lives here once
and is tested once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypedDict, runtime_checkable

from suite.errors import BenchError

EnergyMethod = Literal["counter", "sampled", "estimated"]
Clock = Callable[[], float]


class ClockArg(TypedDict, total=False):
    clock: Clock


def clock_arg(clock: Clock | None) -> ClockArg:
    """A meter's `clock` keyword when a test gives one; none (the meter's own default) otherwise."""
    return {} if clock is None else {"clock": clock}


class MeterError(Exception):
    """A meter failed during a measurement window (a file vanished, a command died).

    Not a BenchError on purpose: the runner records it as that case's `energy_error` and the
    rest of the case (latency, memory, ...) stands."""


class MeterUnavailable(BenchError):
    """A meter cannot be used on this machine. The message says why and how to fix it."""

    def __init__(self, meter: str, reason: str, fix: str | None = None):
        self.meter = meter
        self.reason = reason
        self.fix = fix
        text = f"The '{meter}' energy meter is not usable here: {reason}"
        if fix:
            text += f" Fix: {fix}"
        super().__init__(text)

    @property
    def summary(self) -> str:
        return self.reason + (f" Fix: {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class PowerReading:
    """One instantaneous (or short-interval) power reading: the total and each rail, in watts."""

    total_w: float
    rails_w: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class WindowReading:
    """What a meter saw over one window, between start() and stop()."""

    energy_j: float
    duration_s: float
    rails_w: dict[str, float]  # mean power of each rail / domain over the window
    samples: int | None = None  # power samples taken (sampled meters only)
    sample_rate_hz: float | None = None  # achieved rate, not the requested one


@runtime_checkable
class Meter(Protocol):
    name: str  # rapl | nvml | jetson | rpi5-pmic | estimate
    method: EnergyMethod
    period_s: float  # the sensor's update period: windows last at least 20 of them
    sample_hz: float | None  # requested sampling rate (None for counters)
    assumptions: tuple[str, ...]
    detail: str  # one line for `bench env`: what was found

    def start(self) -> None: ...

    def stop(self) -> WindowReading: ...

    def failure(self) -> str | None: ...

    def close(self) -> None: ...


def describe_os_error(exc: BaseException, what: str) -> str:
    """One line for a failed read: which file or command, and why."""
    if isinstance(exc, FileNotFoundError):
        return f"{what} disappeared ({exc.filename or exc})"
    if isinstance(exc, PermissionError):
        return f"{what} is not readable ({exc.filename or exc}): permission denied"
    if isinstance(exc, ValueError):
        return f"{what} gave an unreadable value: {exc}"
    return f"{what} failed: {type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------------- counters


class CounterMeter:
    """A cumulative energy counter (joules), read at the window's edges.

    `read_j` returns every domain's cumulative energy in joules; `wrap_j` gives the value at
    which a domain's counter wraps to zero (None: never). One wrap per window is undone; windows
    are seconds long and the counters wrap after minutes at full power."""

    def __init__(
        self,
        name: str,
        read_j: Callable[[], dict[str, float]],
        *,
        wrap_j: Mapping[str, float | None] | None = None,
        period_s: float,
        assumptions: tuple[str, ...] = (),
        detail: str = "",
        method: EnergyMethod = "counter",
        clock: Clock = time.perf_counter,
        on_close: Callable[[], None] | None = None,
    ):
        self.name = name
        self.method = method
        self.period_s = period_s
        self.sample_hz = None
        self.assumptions = tuple(assumptions)
        self.detail = detail
        self._read_j = read_j
        self._wrap_j = dict(wrap_j or {})
        self._clock = clock
        self._on_close = on_close
        self._start: tuple[float, dict[str, float]] | None = None

    def _read(self) -> dict[str, float]:
        try:
            return self._read_j()
        except MeterError:
            raise
        except Exception as exc:
            raise MeterError(f"{self.name}: " + describe_os_error(exc, "energy counter")) from exc

    def start(self) -> None:
        values = self._read()
        self._start = (self._clock(), values)

    def stop(self) -> WindowReading:
        if self._start is None:
            raise RuntimeError("stop() before start()")
        t0, before = self._start
        self._start = None
        after = self._read()
        t1 = self._clock()
        duration = t1 - t0
        missing = sorted(set(before) - set(after))
        if missing:
            raise MeterError(f"{self.name}: domain(s) {', '.join(missing)} vanished during the window")
        deltas = {d: counter_delta(before[d], after[d], self._wrap_j.get(d)) for d in before}
        energy = sum(deltas.values())
        rails = {d: (j / duration if duration > 0 else 0.0) for d, j in deltas.items()}
        return WindowReading(energy_j=energy, duration_s=duration, rails_w=rails)

    def failure(self) -> str | None:
        return None  # counters are only read at the edges: a failure shows at stop()

    def close(self) -> None:
        if self._on_close is not None:
            self._on_close()
            self._on_close = None


def counter_delta(before: float, after: float, wrap: float | None) -> float:
    """Energy between two readings of a counter that wraps to zero at `wrap`."""
    if after >= before:
        return after - before
    if wrap is None or wrap <= 0:
        raise MeterError(f"energy counter went backwards ({before} -> {after}) and has no wrap value")
    return after + wrap - before


# ----------------------------------------------------------------------------- sampled power


@dataclass
class PowerTrace:
    times_s: list[float] = field(default_factory=list)
    totals_w: list[float] = field(default_factory=list)
    rails_w: dict[str, list[float]] = field(default_factory=dict)

    def append(self, t: float, reading: PowerReading) -> None:
        self.times_s.append(t)
        self.totals_w.append(float(reading.total_w))
        for rail, w in reading.rails_w.items():
            self.rails_w.setdefault(rail, []).append(float(w))


def trapezoid(times_s: list[float], values: list[float]) -> float:
    """Integral of a sampled signal over time (e.g. power in W -> energy in J)."""
    total = 0.0
    for i in range(1, len(times_s)):
        total += 0.5 * (values[i] + values[i - 1]) * (times_s[i] - times_s[i - 1])
    return total


IntegrationRule = Literal["trapezoid", "interval"]


def integrate_trace(trace: PowerTrace, rule: IntegrationRule = "trapezoid") -> WindowReading:
    """Energy of a power trace.

    "trapezoid": each sample is an instantaneous power (hwmon, PMIC, NVML).
    "interval": each sample is the mean power since the previous one (load-based estimates),
    so the energy is sum(P_i * (t_i - t_{i-1})) and the first sample only marks the start."""
    n = len(trace.times_s)
    if n < 2:
        raise MeterError(f"window too short for the sensor: {n} power sample(s), need at least 2")
    duration = trace.times_s[-1] - trace.times_s[0]
    if duration <= 0:
        raise MeterError("power samples carry no elapsed time")

    def energy(values: list[float]) -> float:
        if rule == "trapezoid":
            return trapezoid(trace.times_s, values)
        return sum(values[i] * (trace.times_s[i] - trace.times_s[i - 1]) for i in range(1, n))

    total = energy(trace.totals_w)
    rails = {r: energy(v) / duration for r, v in trace.rails_w.items() if len(v) == n}
    return WindowReading(energy_j=total, duration_s=duration, rails_w=rails, samples=n,
                         sample_rate_hz=(n - 1) / duration)


class PowerSampler:
    """Reads a power sensor in a background thread at a fixed rate.

    The first and last samples are taken synchronously in start() and stop(), so the trace spans
    the whole window and a sensor that is broken from the outset fails at once. A read that fails
    in the thread ends sampling; the error surfaces through failure() and stop()."""

    def __init__(self, read: Callable[[], PowerReading], hz: float, *, clock: Clock = time.perf_counter,
                 what: str = "power sensor"):
        if hz <= 0:
            raise ValueError("sample rate must be positive")
        self._read = read
        self._period_s = 1.0 / hz
        self._clock = clock
        self._what = what
        self._trace = PowerTrace()
        self._error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        # Timestamp the middle of the read: a command-based sensor (vcgencmd) takes milliseconds.
        t0 = self._clock()
        reading = self._read()
        t1 = self._clock()
        self._trace.append(0.5 * (t0 + t1), reading)

    def _sample_or_error(self) -> None:
        try:
            self._sample()
        except MeterError:
            raise
        except Exception as exc:
            raise MeterError(describe_os_error(exc, self._what)) from exc

    def start(self) -> None:
        self._trace = PowerTrace()
        self._error = None
        self._stop.clear()
        self._sample_or_error()
        self._thread = threading.Thread(target=self._run, name="bench-power-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_t = time.perf_counter() + self._period_s
        while True:
            delay = next_t - time.perf_counter()
            if delay > 0 and self._stop.wait(delay):
                return
            if self._stop.is_set():
                return
            try:
                self._sample_or_error()
            except MeterError as exc:
                self._error = str(exc)
                return
            # Keep the schedule, but after a slow read do not fire a burst to catch up.
            next_t = max(next_t + self._period_s, time.perf_counter())

    def _join(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def stop(self) -> PowerTrace:
        self._join()
        if self._error is not None:
            raise MeterError(self._error)
        self._sample_or_error()
        return self._trace

    def abort(self) -> None:
        self._join()

    def failure(self) -> str | None:
        return self._error


class SampledMeter:
    """A power sensor sampled in a background thread and integrated over the window."""

    def __init__(
        self,
        name: str,
        read_power: Callable[[], PowerReading],
        *,
        sample_hz: float,
        period_s: float | None = None,
        method: EnergyMethod = "sampled",
        rule: IntegrationRule = "trapezoid",
        assumptions: tuple[str, ...] = (),
        detail: str = "",
        clock: Clock = time.perf_counter,
        on_start: Callable[[], None] | None = None,
        on_close: Callable[[], None] | None = None,
    ):
        self.name = name
        self.method = method
        self.sample_hz = sample_hz
        self.period_s = period_s if period_s is not None else 1.0 / sample_hz
        self.assumptions = tuple(assumptions)
        self.detail = detail
        self._rule = rule
        self._on_start = on_start
        self._on_close = on_close
        self._sampler = PowerSampler(read_power, sample_hz, clock=clock, what=f"{name} sensor")

    def start(self) -> None:
        if self._on_start is not None:
            try:
                self._on_start()
            except Exception as exc:
                raise MeterError(f"{self.name}: could not start: {exc}") from exc
        self._sampler.start()

    def stop(self) -> WindowReading:
        return integrate_trace(self._sampler.stop(), self._rule)

    def failure(self) -> str | None:
        return self._sampler.failure()

    def close(self) -> None:
        self._sampler.abort()  # ends a window left open; a no-op otherwise
        if self._on_close is not None:
            self._on_close()
            self._on_close = None
