"""Energy per frame at a fixed rate (issue 22): the meter reads over whole frame periods of a paced
loop (suite.metrics.paced), so each frame's energy holds its call and the idle time after it, what
a battery or a power budget pays per frame. With the run's idle baseline (same meter) the frame's
energy splits exactly into its idle share (idle power x idle time per frame) and the rest (active)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress

from suite.energy.meter import Meter, MeterError
from suite.energy.options import EnergyConfig
from suite.energy.window import IdleBaseline, window_s
from suite.metrics.paced import Clock, Sleep, frames_for, paced_calls
from suite.results.schema import PacedEnergy

MIN_FRAMES = 5  # a window of fewer frames says little about the rate


def measure_paced_energy(fn: Callable[[], object], rate_hz: float, meter: Meter, opts: EnergyConfig,
                         baseline: IdleBaseline | None = None, *, clock: Clock = time.perf_counter,
                         sleep: Sleep = time.sleep) -> PacedEnergy:
    """One energy window of whole periods at `rate_hz` (at least the meter's window length, and
    MIN_FRAMES frames). Raises MeterError when the meter fails; an exception of `fn` propagates."""
    frames = frames_for(rate_hz, window_s(meter, opts), MIN_FRAMES)
    meter.start()
    try:
        calls = paced_calls(fn, 1.0 / rate_hz, frames, clock=clock, sleep=sleep, whole_periods=True)
    except BaseException:
        with suppress(Exception):
            meter.stop()
        raise
    reading = meter.stop()
    if reading.duration_s <= 0:
        raise MeterError(f"{meter.name}: the paced window has no duration")
    gross = reading.energy_j / frames
    assumptions = [*meter.assumptions, f"{frames} frames at {rate_hz:g}/s, the meter read over whole periods: each "
                                       "frame's energy holds its call and the idle time until the next frame"]
    idle_w = idle_j = active_j = None
    if baseline is not None and baseline.meter == meter.name:
        idle_w = baseline.power_w
        idle_s = max(0.0, reading.duration_s - calls.busy_s) / frames
        idle_j = idle_w * idle_s
        active_j = gross - idle_j
        assumptions.append(f"idle share = idle power ({idle_w:.3g} W, the run's baseline with the same meter) x "
                           "idle time per frame; active = the rest")
    return PacedEnergy(meter=meter.name, method=meter.method, window_s=reading.duration_s, frames=frames,
                       busy_s=calls.busy_s, gross_j=reading.energy_j, gross_j_per_frame=gross, idle_power_w=idle_w,
                       idle_j_per_frame=idle_j, active_j_per_frame=active_j, assumptions=assumptions)
