"""suite.energy.window: joules per inference from one window, gross and net of idle power. A
counter meter (suite.energy.meter.CounterMeter, the class every counter sensor uses) reads a
counter that rises at a known power on a clock the test advances, so every figure has a hand
derivation: 12 W for 2 s is 24 J over 16 calls."""

from __future__ import annotations

import math

import pytest

from suite.energy.meter import CounterMeter
from suite.energy.options import EnergyConfig
from suite.energy.window import (
    DRIFT_THRESHOLD,
    BaselineSchedule,
    IdleBaseline,
    baseline_drift,
    measure_energy,
    measure_idle,
    window_s,
)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


def _meter(clock: Clock, watts: float, period_s: float = 0.01) -> CounterMeter:
    return CounterMeter("fake", lambda: {"package-0": watts * clock.t}, period_s=period_s, clock=clock)


def test_gross_and_net_energy_per_inference_and_per_item_by_hand():
    clock = Clock()
    baseline = IdleBaseline("fake", power_w=4.0, window_s=2.0, measured_at=0.0)
    energy, flags = measure_energy(lambda: clock.advance(0.125), 4, _meter(clock, 12.0), EnergyConfig(min_window_s=2.0),
                                   baseline, clock=clock, monotonic=lambda: 10.0)
    assert (energy.inferences, energy.items, energy.window_s) == (16, 64, 2.0)
    assert energy.gross_j == pytest.approx(24.0) and energy.mean_power_w == pytest.approx(12.0)
    assert energy.gross_j_per_inference == pytest.approx(24 / 16) and energy.gross_j_per_item == pytest.approx(24 / 64)
    # net: 24 J - 4 W x 2 s = 16 J
    assert energy.net_j_per_inference == pytest.approx(1.0) and energy.net_j_per_item == pytest.approx(0.25)
    assert energy.idle_power_w == 4.0 and energy.rails_w == {"package-0": pytest.approx(12.0)}
    assert flags == []


def test_a_short_window_a_noisy_net_an_old_or_foreign_baseline_are_flagged():
    clock = Clock()
    old = IdleBaseline("fake", power_w=20.0, window_s=2.0, measured_at=0.0)
    opts = EnergyConfig(min_window_s=0.5, baseline_every_s=100.0)
    _, flags = measure_energy(lambda: clock.advance(0.125), 1, _meter(clock, 12.0), opts, old, clock=clock,
                              monotonic=lambda: 250.0)
    kinds = {f.kind: f.detail for f in flags}
    assert "short window: 0.50 s < 2 s recommended" == kinds["energy_window"]
    assert "within the meter's noise" in kinds["energy_noise"]  # 12 W measured, 20 W idle
    assert "idle baseline is 250 s old" in kinds["energy_baseline"]
    clock = Clock()
    energy, flags = measure_energy(lambda: clock.advance(0.125), 1, _meter(clock, 12.0), opts,
                                   IdleBaseline("rapl", 4.0, 2.0, 0.0), clock=clock, monotonic=lambda: 1.0)
    assert energy.net_j_per_inference is None
    assert any("idle baseline from meter 'rapl' ignored" in f.detail for f in flags)


def test_a_window_spans_twenty_sensor_periods_at_least():
    clock = Clock()
    assert window_s(_meter(clock, 1.0, period_s=0.5), EnergyConfig(min_window_s=2.0)) == 10.0
    assert window_s(_meter(clock, 1.0, period_s=0.01), EnergyConfig(min_window_s=2.0)) == 2.0
    with pytest.raises(ValueError):
        measure_energy(lambda: None, 0, _meter(clock, 1.0), EnergyConfig())


def test_idle_power_and_its_drift_since_the_last_baseline():
    clock = Clock()
    idle = measure_idle(_meter(clock, 4.0), EnergyConfig(min_window_s=2.0),
                        previous=IdleBaseline("fake", 3.0, 2.0, 0.0), clock=clock, sleep=clock.advance,
                        monotonic=lambda: 5.0)
    assert idle.power_w == pytest.approx(4.0) and idle.window_s == pytest.approx(2.0)
    assert idle.previous_power_w == 3.0 and idle.measured_at == 5.0
    [f] = idle.flags
    assert f.kind == "energy_baseline" and "drifted 33% (3 W -> 4 W)" in f.detail
    assert baseline_drift(3.0, 4.0) == pytest.approx(1 / 3) and 1 / 3 > DRIFT_THRESHOLD
    assert baseline_drift(0.0, 0.0) == 0.0 and math.isinf(baseline_drift(0.0, 1.0))


def test_the_schedule_counts_a_failed_attempt_and_keeps_the_last_baseline():
    now = Clock()
    attempts = []

    def select(opts):
        attempts.append(now.t)
        if len(attempts) == 2:
            raise RuntimeError("meter gone")
        return _meter(Clock(), 1.0)

    def measure(meter, opts, previous=None):
        return IdleBaseline(meter.name, 2.0 + len(attempts), 2.0, now.t, previous.power_w if previous else None)

    sched = BaselineSchedule(EnergyConfig(baseline_every_s=60.0), select=select, measure=measure, monotonic=now)
    assert sched.due()
    first = sched.measure()
    assert first.power_w == 3.0 and not sched.due()
    now.advance(59.0)
    assert not sched.due()
    now.advance(1.0)
    assert sched.due()
    with pytest.raises(RuntimeError):
        sched.measure()
    assert sched.baseline is first and not sched.due()  # the failed try counts as the attempt
    now.advance(60.0)
    assert sched.measure().previous_power_w == 3.0 and attempts == [0.0, 60.0, 120.0]
