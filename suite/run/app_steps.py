"""The app-like steps of a case, after its timed loop and energy window (issue 22): the forward pass
at a fixed rate (`--rate`), with its energy per frame where energy is measured, and minutes of
sustained load (`--sustain`) as a timeline with the machine's sensors read window by window."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone

from suite import energy, stats
from suite.energy.meter import Meter
from suite.energy.paced_window import measure_paced_energy
from suite.machine.monitor import Monitor
from suite.machine.monitor.throttle_state import clock_mhz, lowest_cap_mhz, throttle_state
from suite.metrics.paced import frames_for, paced_calls
from suite.metrics.sustained import Sensed, SustainedCalls, spans, sustained_calls
from suite.results.flags import flag
from suite.results.schema import (
    Flag,
    LatencyResult,
    PacedEnergy,
    PacedResult,
    SustainedResult,
    TimelineWindow,
)
from suite.run.case_parts import CaseContext

MIN_PACED_FRAMES = 10
PACED_METHOD = ("frames arrive every period from one start (absolute deadlines); a call starts at its frame's "
                "arrival or when the previous call ends; the thread sleeps between calls; perf_counter around each "
                "call (suite/metrics/paced.py)")


def paced_step(call: Callable[[], object], ctx: CaseContext, back_to_back: LatencyResult | None,
               rate_hz: float) -> tuple[PacedResult, list[Flag]]:
    """The paced window, then (with energy on) the paced energy window; the flags they raise."""
    config = ctx.config
    frames = frames_for(rate_hz, config.app.paced_window_s, MIN_PACED_FRAMES)
    calls = paced_calls(call, 1.0 / rate_hz, frames)
    s = stats.summarize(calls.samples_ms, config.timing.ci_level)
    ratio = None
    if back_to_back is not None and back_to_back.samples_ms:
        r, lo, hi = stats.bootstrap_ratio_ci(back_to_back.samples_ms, calls.samples_ms, config.timing.ci_level)
        ratio = (r, (lo, hi))
    flags: list[Flag] = []
    if calls.missed:
        flags.append(flag("missed_deadlines", f"{calls.missed} of {frames} calls at {rate_hz:g}/s ended after their "
                                              f"frame's deadline (one period, {1e3 / rate_hz:.3g} ms, after it arrived)"))
    paced_energy = None
    if config.energy.enabled:
        paced_energy, more = _paced_energy(call, ctx, rate_hz)
        flags += more
    result = PacedResult(method=PACED_METHOD, rate_hz=rate_hz, period_ms=1e3 / rate_hz, starts_ms=calls.starts_ms,
                         samples_ms=calls.samples_ms, missed=calls.missed, idle_gaps=calls.idle_gaps, median_ms=s.median,
                         median_ci_low_ms=s.median_ci_low, median_ci_high_ms=s.median_ci_high, p99_ms=s.p99,
                         vs_back_to_back=ratio[0] if ratio else None, vs_back_to_back_ci=ratio[1] if ratio else None,
                         energy=paced_energy)
    return result, flags


def _paced_energy(call: Callable[[], object], ctx: CaseContext, rate_hz: float) -> tuple[PacedEnergy | None, list[Flag]]:
    meter = None
    try:
        meter = energy.select_meter(ctx.config.energy)
        return measure_paced_energy(call, rate_hz, meter, ctx.config.energy, ctx.idle_baseline), []
    except Exception as exc:  # the paced latency stands
        return None, [flag("energy_failed", f"energy per frame at {rate_hz:g}/s not measured: {type(exc).__name__}: {exc}")]
    finally:
        if meter is not None:
            meter.close()


SUSTAINED_METHOD = ("the forward pass back to back in windows; at each window's end the machine's sensors are read "
                    "once (thermal zones, cpufreq, vcgencmd get_throttled, Jetson GPU clock: suite/machine/monitor) and "
                    "the meter's window closed; throttled = a clock cap lowered since the start, or the firmware's "
                    "throttle bits (suite/metrics/sustained.py)")


def sustained_step(call: Callable[[], object], ctx: CaseContext, duration_s: float) -> tuple[SustainedResult, list[Flag]]:
    """The sustained run and what it says: time to first throttle, sustained/burst ratio, early stop."""
    app = ctx.config.app
    monitor = Monitor(ctx.config.monitor)
    flags: list[Flag] = []
    if app.temp_limit_c is not None and not monitor.has_temperature:
        flags.append(flag("stopped_early", f"temp_limit_c = {app.temp_limit_c:g} was set but this machine has no CPU "
                                           "temperature sensor: the sustained run could not be stopped at it",
                          severity="warn"))
    meter = _window_meter(ctx) if ctx.config.energy.enabled else None
    t0 = time.perf_counter()
    first = monitor.sample()

    def sense(_window: float) -> Sensed:
        now = monitor.sample()
        power = None
        if meter is not None:
            reading = meter.stop()
            power = reading.energy_j / reading.duration_s if reading.duration_s > 0 else None
            meter.start()
        stop = None
        limit, temp = app.temp_limit_c, now.cpu_temp_c
        if limit is not None and temp is not None and temp >= limit:
            stop = (f"stopped after {time.perf_counter() - t0:.1f} s of {duration_s:g} s: the CPU reached {temp:.1f} °C, "
                    f"at or above the limit of {limit:g} °C")
        return Sensed(temp_c=temp, clock_mhz=clock_mhz(now), cap_mhz=lowest_cap_mhz(now),
                      throttled=throttle_state(first, now), power_w=power, stop=stop)

    try:
        if meter is not None:
            meter.start()
        calls = sustained_calls(call, duration_s, app.sustain_window_s, sense)
    finally:
        if meter is not None:
            meter.close()
    started = datetime.fromtimestamp(calls.started_unix, timezone.utc)
    result = sustained_result(calls, started, duration_s, app.sustain_window_s, app.temp_limit_c,
                               meter.name if meter is not None else None)
    if result.time_to_throttle_s is not None:
        why = next(w.throttled for w in result.windows if w.throttled)
        flags.append(flag("throttling", f"sustained load: throttled after {result.time_to_throttle_s:.1f} s ({why})"))
    if calls.stopped:
        flags.append(flag("stopped_early", calls.stopped))
    return result, flags


def _window_meter(ctx: CaseContext) -> Meter | None:
    """The run's meter when it measures (an estimate is no power reading of this machine): None otherwise."""
    try:
        meter = energy.select_meter(ctx.config.energy)
    except Exception:
        return None
    if meter.method == "estimated":
        meter.close()
        return None
    return meter


def sustained_result(calls: SustainedCalls, started: datetime, duration_s: float, window_s: float,
                      temp_limit_c: float | None, meter: str | None) -> SustainedResult:
    windows = [TimelineWindow(start_s=w.start_s, end_s=w.end_s, calls=w.calls, median_ms=w.median_ms,
                              cpu_temp_c=w.sensed.temp_c, cpu_clock_mhz=w.sensed.clock_mhz, cpu_cap_mhz=w.sensed.cap_mhz,
                              throttled=w.sensed.throttled, power_w=w.sensed.power_w,
                              j_per_inference=(w.sensed.power_w * (w.end_s - w.start_s) / w.calls)
                              if w.sensed.power_w is not None else None)
               for w in calls.windows]
    ran = calls.ran_s
    burst_s, sustained_s = spans(ran, window_s)
    first = [w.median_ms for w in windows if w.end_s <= burst_s + 1e-9] or [windows[0].median_ms]
    last = [w.median_ms for w in windows if w.start_s >= ran - sustained_s - 1e-9] or [windows[-1].median_ms]
    ci = None
    if len(first) > 1 and len(last) > 1:
        ratio, lo, hi = stats.bootstrap_ratio_ci(first, last)
        ci = (lo, hi)
    else:
        ratio = statistics.median(last) / statistics.median(first)
    throttle = next((w.end_s for w in windows if w.throttled), None)
    return SustainedResult(method=SUSTAINED_METHOD, started_at=started, duration_s=duration_s, window_s=window_s,
                           windows=windows, stopped_early=calls.stopped, temp_limit_c=temp_limit_c, power_meter=meter,
                           time_to_throttle_s=throttle, burst_s=burst_s, sustained_s=sustained_s,
                           burst_median_ms=statistics.median(first), sustained_median_ms=statistics.median(last),
                           ratio=ratio, ratio_ci=ci)
