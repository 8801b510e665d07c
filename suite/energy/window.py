"""Energy per inference: run the (already warmed-up) forward pass in a loop for one window while
the meter reads, then divide; subtract an idle baseline, measured with the same meter over the
same window length, to get the dynamic (net) energy beside the gross."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from suite.energy.meter import Clock, Meter, MeterError, WindowReading
from suite.energy.options import EnergyConfig
from suite.energy.select import select_meter
from suite.results.flags import flag
from suite.results.schema import EnergyResult, Flag

RECOMMENDED_MIN_WINDOW_S = 2.0  # below this a window is flagged short, whatever the sensor
MIN_SENSOR_PERIODS = 20  # a window spans at least this many sensor updates
DRIFT_THRESHOLD = 0.20  # an idle baseline that moved more than this since the last one is flagged
_IDLE_POLL_S = 0.05


def window_s(meter: Meter, opts: EnergyConfig) -> float:
    """How long one energy window lasts with this meter: max(min_window_s, 20 sensor periods)."""
    return max(opts.min_window_s, MIN_SENSOR_PERIODS * meter.period_s)


@dataclass(frozen=True)
class IdleBaseline:
    """Idle power measured with one meter; the runner keeps it in a BaselineSchedule."""

    meter: str
    power_w: float
    window_s: float
    measured_at: float  # time.monotonic() when measured
    previous_power_w: float | None = None  # the baseline this one replaced
    flags: tuple[Flag, ...] = ()

    def age_s(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.measured_at


def baseline_drift(previous_w: float, current_w: float) -> float:
    """Relative change of idle power between two baselines (0.25 = moved by 25%)."""
    if previous_w <= 0:
        return 0.0 if current_w == previous_w else float("inf")
    return abs(current_w - previous_w) / previous_w


def baseline_drifted(previous_w: float, current_w: float, threshold: float = DRIFT_THRESHOLD) -> bool:
    return baseline_drift(previous_w, current_w) > threshold


class BaselineSchedule:
    """The runner's idle baseline and when to measure it again.

    Due before the first case, then whenever the last *attempt* is `baseline_every_s` old. A
    failed attempt counts as one: a meter that cannot measure idle power is tried again after
    baseline_every_s, not before every case (each try costs a window and fails the same way);
    meanwhile the previous baseline stays in use and energy results flag it once it is old.
    The meter is selected for each attempt and closed after (NVML shutdown, jtop disconnect)."""

    def __init__(self, opts: EnergyConfig, *, select: Callable[[EnergyConfig], Meter] | None = None,
                 measure: Callable[..., IdleBaseline] | None = None, monotonic: Clock = time.monotonic):
        self.opts = opts
        self.baseline: IdleBaseline | None = None
        self._select = select or select_meter
        self._measure = measure or measure_idle
        self._monotonic = monotonic
        self._last_attempt: float | None = None

    def due(self) -> bool:
        return self._last_attempt is None or self._monotonic() - self._last_attempt >= self.opts.baseline_every_s

    def measure(self, on_window: Callable[[float], None] | None = None) -> IdleBaseline:
        """Measure now, due or not; `on_window(seconds)` is called once the meter is chosen.
        Raises what selecting or measuring raises (MeterUnavailable, MeterError) and keeps the
        previous baseline; either way the attempt counts for `due`."""
        try:
            meter = self._select(self.opts)
            try:
                if on_window is not None:
                    on_window(window_s(meter, self.opts))
                self.baseline = self._measure(meter, self.opts, previous=self.baseline)
            finally:
                meter.close()
        finally:
            self._last_attempt = self._monotonic()
        return self.baseline


def measure_idle(meter: Meter, opts: EnergyConfig, previous: IdleBaseline | None = None, *,
                 clock: Clock = time.perf_counter, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Clock = time.monotonic) -> IdleBaseline:
    """Idle power over one window of the same length as the cases'. Pass the previous baseline
    when re-measuring: a change over DRIFT_THRESHOLD is flagged, and carried into every energy
    result that uses this baseline. Raises MeterError if the meter fails."""
    length = window_s(meter, opts)
    meter.start()
    try:
        t0 = clock()
        while (left := length - (clock() - t0)) > 0 and meter.failure() is None:
            sleep(min(_IDLE_POLL_S, left))
    except BaseException:
        with suppress(Exception):
            meter.stop()
        raise
    reading = meter.stop()
    power = reading.energy_j / reading.duration_s
    flags: list[Flag] = []
    prev_w = None
    if previous is not None and previous.meter == meter.name:
        prev_w = previous.power_w
        if baseline_drifted(prev_w, power):
            flags.append(flag("energy_baseline", f"idle baseline drifted {baseline_drift(prev_w, power):.0%} "
                                                 f"({prev_w:.3g} W -> {power:.3g} W) since it was last measured"))
    if reading.duration_s < RECOMMENDED_MIN_WINDOW_S:
        flags.append(flag("energy_baseline", f"idle baseline window short ({reading.duration_s:.2f} s < "
                                             f"{RECOMMENDED_MIN_WINDOW_S:g} s)"))
    return IdleBaseline(meter=meter.name, power_w=power, window_s=reading.duration_s, measured_at=monotonic(),
                        previous_power_w=prev_w, flags=tuple(flags))


def measure_energy(fn: Callable[[], None], items_per_call: int, meter: Meter, opts: EnergyConfig,
                   baseline: IdleBaseline | None = None, *, clock: Clock = time.perf_counter,
                   monotonic: Clock = time.monotonic) -> tuple[EnergyResult, list[Flag]]:
    """Loop `fn` (one forward pass) for one energy window and report joules per inference and per
    item, gross and (with a baseline from the same meter) net of idle power, and the flags that
    qualify those figures (suite/results/flags.py).

    Raises MeterError when the meter fails during the window; an exception from `fn` propagates."""
    if items_per_call < 1:
        raise ValueError("items_per_call must be at least 1")
    length = window_s(meter, opts)
    calls = 0
    meter.start()
    try:
        t0 = clock()
        while True:
            fn()
            calls += 1
            if clock() - t0 >= length or meter.failure() is not None:
                break
    except BaseException:
        with suppress(Exception):
            meter.stop()
        raise
    reading = meter.stop()
    return energy_result(reading, meter, calls, items_per_call, baseline, opts, now=monotonic())


def energy_result(reading: WindowReading, meter: Meter, calls: int, items_per_call: int,
                  baseline: IdleBaseline | None, opts: EnergyConfig,
                  now: float | None = None) -> tuple[EnergyResult, list[Flag]]:
    """Per-inference figures and quality flags from one window's reading."""
    if reading.duration_s <= 0:
        raise MeterError(f"{meter.name}: the window has no duration")
    items = calls * items_per_call
    gross = reading.energy_j
    flags: list[Flag] = []
    assumptions = list(meter.assumptions)

    if meter.method == "estimated":
        flags.append(flag("energy_estimated", f"energy estimated by meter '{meter.name}', not measured"
                                              + (f" ({'; '.join(assumptions)})" if assumptions else "")))
    if reading.duration_s < RECOMMENDED_MIN_WINDOW_S:
        flags.append(flag("energy_window", f"short window: {reading.duration_s:.2f} s < "
                                           f"{RECOMMENDED_MIN_WINDOW_S:g} s recommended"))
    if reading.samples is not None:
        if reading.samples < MIN_SENSOR_PERIODS:
            flags.append(flag("energy_window", f"few power samples ({reading.samples} < {MIN_SENSOR_PERIODS})"))
        if meter.sample_hz and reading.sample_rate_hz is not None and reading.sample_rate_hz < 0.5 * meter.sample_hz:
            flags.append(flag("energy_window", f"sampling ran at {reading.sample_rate_hz:.1f} Hz, below the requested "
                                               f"{meter.sample_hz:g} Hz (slow sensor reads)"))

    idle_w = net_inf = net_item = None
    if baseline is not None:
        if baseline.meter != meter.name:
            flags.append(flag("energy_baseline", f"idle baseline from meter '{baseline.meter}' ignored (energy from "
                                                 f"'{meter.name}')"))
        else:
            idle_w = baseline.power_w
            net = gross - idle_w * reading.duration_s
            net_inf, net_item = net / calls, net / items
            assumptions.append(f"net = gross - idle power ({idle_w:.3g} W, measured over {baseline.window_s:.2f} s "
                               "with the same meter) x window")
            flags.extend(baseline.flags)
            age = baseline.age_s(now)
            if age > 2 * opts.baseline_every_s:
                flags.append(flag("energy_baseline", f"idle baseline is {age:.0f} s old (re-measure every "
                                                     f"{opts.baseline_every_s:g} s)"))
            if net <= 0:
                flags.append(flag("energy_noise", "net energy not above idle: the dynamic energy is within the "
                                                  "meter's noise"))

    return EnergyResult(
        meter=meter.name,
        method=meter.method,
        sample_rate_hz=reading.sample_rate_hz,
        window_s=reading.duration_s,
        inferences=calls,
        items=items,
        gross_j=gross,
        idle_power_w=idle_w,
        mean_power_w=gross / reading.duration_s,
        gross_j_per_inference=gross / calls,
        net_j_per_inference=net_inf,
        gross_j_per_item=gross / items,
        net_j_per_item=net_item,
        rails_w=dict(reading.rails_w),
        assumptions=assumptions,
    ), flags
