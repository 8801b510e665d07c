"""The app-like steps of a case, after its timed loop and energy window (issue 22): the forward pass
at a fixed rate (`--rate`), with its energy per frame where energy is measured."""

from __future__ import annotations

from collections.abc import Callable

from suite import energy, stats
from suite.energy.paced_window import measure_paced_energy
from suite.metrics.paced import frames_for, paced_calls
from suite.results.flags import flag
from suite.results.schema import Flag, LatencyResult, PacedEnergy, PacedResult
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
