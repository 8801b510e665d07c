"""The measurement method: integration of sampled power, windows, idle subtraction, drift,
quality flags, meter failure mid-window, meter selection, and the estimate path end to end."""

from __future__ import annotations

import itertools
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from suite.config.bench_config import validate_config
from suite.energy import (
    BaselineSchedule,
    IdleBaseline,
    MeterError,
    MeterUnavailable,
    PowerTrace,
    baseline_drift,
    baseline_drifted,
    canonical_meter_name,
    carbon_for,
    describe_meters,
    integrate_trace,
    jetson,
    measure_energy,
    measure_idle,
    probe_meter,
    rapl,
    select_meter,
    window_s,
)
from suite.energy.meter import PowerReading
from suite.energy.options import EnergyConfig
from suite.errors import BenchError, ConfigError
from suite.run.events import BaselineWindow, CaseStarted, Event, RunWarning

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sysfs"


class FakeClock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def trace_of(points):
    trace = PowerTrace()
    for t, w in points:
        trace.append(t, PowerReading(total_w=w, rails_w={"a": w / 2, "b": w / 2}))
    return trace


# ----------------------------------------------------------------------------- integration


def test_trapezoid_integrates_known_signal():
    from suite.energy.meter import trapezoid

    assert trapezoid([0, 1, 2, 3], [2, 2, 4, 4]) == pytest.approx(9.0)  # 2 + 3 + 4 J


def test_trapezoid_integration_of_a_known_trace():
    # 2 W for 1 s, a 1 s ramp to 6 W, 6 W for 1 s: 2 + 4 + 6 = 12 J.
    reading = integrate_trace(trace_of([(0.0, 2.0), (1.0, 2.0), (2.0, 6.0), (3.0, 6.0)]))
    assert reading.energy_j == pytest.approx(12.0)
    assert reading.duration_s == pytest.approx(3.0)
    assert reading.rails_w == pytest.approx({"a": 2.0, "b": 2.0})  # 6 J each over 3 s
    assert reading.samples == 4 and reading.sample_rate_hz == pytest.approx(1.0)


def test_interval_integration_treats_samples_as_means_since_the_previous():
    # Samples report the mean power of the interval that ends at them: 0.5 s at 4 W, 1.5 s at 2 W.
    reading = integrate_trace(trace_of([(10.0, 99.0), (10.5, 4.0), (12.0, 2.0)]), rule="interval")
    assert reading.energy_j == pytest.approx(0.5 * 4 + 1.5 * 2)


def test_one_sample_is_not_a_window():
    with pytest.raises(MeterError, match="1 power sample"):
        integrate_trace(trace_of([(0.0, 5.0)]))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_sampling_thread_integrates_a_changing_sensor(tmp_path):
    # A fake INA238 whose power1_input a thread switches from 2 W to 8 W mid-window.
    root = tmp_path / "ina238"
    shutil.copytree(FIXTURES / "ina238", root)
    power_file = root / "sys/bus/i2c/devices/2-0044/hwmon/hwmon4/power1_input"
    _write_atomic(power_file, "2000000\n")
    meter = jetson.probe(EnergyConfig(sysfs_root=str(root), sample_hz=100))
    switched = {}

    def writer():
        time.sleep(0.4)
        switched["before"] = time.perf_counter()
        _write_atomic(power_file, "8000000\n")
        switched["after"] = time.perf_counter()

    meter.start()
    th = threading.Thread(target=writer)
    th.start()
    th.join()
    time.sleep(0.4)
    reading = meter.stop()
    times = meter._sampler._trace.times_s
    first, last = times[0], times[-1]

    def true_energy(t_switch: float) -> float:
        return 2.0 * (t_switch - first) + 8.0 * (last - t_switch)

    # The switch happened between "before" and "after"; the trapezoid across the step is off by
    # at most 3 W x the gap between the two samples around it (10 ms on a quiet machine).
    max_gap = max(b - a for a, b in itertools.pairwise(times))
    low, high = true_energy(switched["after"]), true_energy(switched["before"])
    assert low - 3.0 * max_gap - 1e-6 <= reading.energy_j <= high + 3.0 * max_gap + 1e-6
    assert reading.duration_s == pytest.approx(last - first)
    assert reading.rails_w["VIN"] == pytest.approx(reading.energy_j / reading.duration_s)
    assert reading.samples == len(times) > 20


# ----------------------------------------------------------------------------- windows and baselines


def _counter_setup(tmp_path):
    root = tmp_path / "rapl"
    shutil.copytree(FIXTURES / "rapl_laptop", root)
    counter = root / "sys/class/powercap/intel-rapl:0/energy_uj"
    clock = FakeClock()
    meter = rapl.probe(EnergyConfig(sysfs_root=str(root)), clock=clock)
    state = {"uj": int(counter.read_text())}

    def burn(watts: float, seconds: float) -> None:
        state["uj"] += round(watts * seconds * 1e6)
        counter.write_text(f"{state['uj']}\n")
        clock.t += seconds

    return meter, clock, burn


def details(flags) -> list[str]:
    return [f.detail for f in flags]


def test_idle_subtraction_gives_gross_and_net_per_inference_and_item(tmp_path):
    meter, clock, burn = _counter_setup(tmp_path)
    opts = EnergyConfig(min_window_s=2.0)
    # Idle: 5 W while "sleeping" through the window.
    baseline = measure_idle(meter, opts, clock=clock, sleep=lambda s: burn(5.0, s), monotonic=clock)
    assert baseline.power_w == pytest.approx(5.0)
    assert baseline.window_s == pytest.approx(2.0)
    assert baseline.flags == ()
    # Each forward pass: 0.1 s at 12 W = 1.2 J gross, 0.7 J above idle; 4 items per call.
    result, flags = measure_energy(lambda: burn(12.0, 0.1), 4, meter, opts, baseline, clock=clock, monotonic=clock)
    assert result.inferences == 20 and result.items == 80
    assert result.window_s == pytest.approx(2.0)
    assert result.gross_j == pytest.approx(24.0)
    assert result.mean_power_w == pytest.approx(12.0)
    assert result.idle_power_w == pytest.approx(5.0)
    assert result.gross_j_per_inference == pytest.approx(1.2)
    assert result.net_j_per_inference == pytest.approx(0.7)
    assert result.gross_j_per_item == pytest.approx(0.3)
    assert result.net_j_per_item == pytest.approx(0.175)
    assert result.meter == "rapl" and result.method == "counter" and result.sample_rate_hz is None
    assert flags == []
    assert any(a.startswith("net = gross - idle power") for a in result.assumptions)


def test_window_is_at_least_twenty_sensor_periods(tmp_path):
    meter, _clock, _burn = _counter_setup(tmp_path)
    assert window_s(meter, EnergyConfig(min_window_s=2.0)) == pytest.approx(2.0)
    slow = jetson.probe(EnergyConfig(sysfs_root=str(FIXTURES / "ina238"), sample_hz=1.0))
    assert window_s(slow, EnergyConfig(min_window_s=2.0, sample_hz=1.0)) == pytest.approx(20.0)


def test_short_window_and_drifted_baseline_are_flagged(tmp_path):
    meter, clock, burn = _counter_setup(tmp_path)
    opts = EnergyConfig(min_window_s=0.5)
    first = measure_idle(meter, opts, clock=clock, sleep=lambda s: burn(5.0, s), monotonic=clock)
    assert any("idle baseline window short" in f for f in details(first.flags))
    second = measure_idle(meter, opts, previous=first, clock=clock, sleep=lambda s: burn(6.5, s), monotonic=clock)
    assert second.previous_power_w == pytest.approx(5.0)
    assert any("drifted 30%" in f for f in details(second.flags))
    result, flags = measure_energy(lambda: burn(6.0, 0.1), 1, meter, opts, second, clock=clock, monotonic=clock)
    assert any(f.startswith("short window: 0.50 s") for f in details(flags))
    assert any("drifted 30%" in f for f in details(flags))
    assert {f.kind for f in flags} == {"energy_window", "energy_baseline", "energy_noise"}
    # 6 W under a 6.5 W idle: net is negative and says so.
    assert result.net_j_per_inference == pytest.approx(-0.05)
    assert any("net energy not above idle" in f for f in details(flags))


def test_drift_helpers():
    assert baseline_drift(10.0, 12.5) == pytest.approx(0.25)
    assert baseline_drifted(10.0, 12.5) and not baseline_drifted(10.0, 11.5)


class _StubMeter:
    name = "stub"
    period_s = 0.01

    def __init__(self, log: list[str]):
        self.log = log

    def close(self) -> None:
        self.log.append("close")


def test_baseline_schedule_measures_first_then_every_baseline_every_s():
    now = [1000.0]
    log: list[str] = []

    def measure(meter, opts, previous=None):
        log.append("measure")
        return IdleBaseline(meter=meter.name, power_w=5.0 if previous is None else 6.0, window_s=0.5,
                            measured_at=now[0], previous_power_w=previous and previous.power_w)

    sched = BaselineSchedule(EnergyConfig(baseline_every_s=300, min_window_s=0.5),
                             select=lambda opts: _StubMeter(log), measure=measure, monotonic=lambda: now[0])
    assert sched.due() and sched.baseline is None
    windows: list[float] = []
    first = sched.measure(on_window=windows.append)
    assert windows == [0.5] and log == ["measure", "close"] and sched.baseline is first
    now[0] = 1299.0
    assert not sched.due()
    now[0] = 1300.0
    assert sched.due()
    second = sched.measure()
    assert second.previous_power_w == 5.0 and sched.baseline is second  # drift is judged against the last one


def test_a_failing_meter_is_not_retried_before_every_case():
    now = [0.0]
    tries: list[float] = []

    def select(opts):
        tries.append(now[0])
        raise MeterUnavailable("rapl", "no RAPL package zones.", "modprobe intel_rapl_msr")

    sched = BaselineSchedule(EnergyConfig(baseline_every_s=300), select=select, monotonic=lambda: now[0])
    previous = IdleBaseline(meter="rapl", power_w=5.0, window_s=2.0, measured_at=-10.0)
    sched.baseline = previous
    for case_start in (0.0, 5.0, 120.0, 299.0, 300.0, 301.0):  # the runner asks before each case
        now[0] = case_start
        if sched.due():
            with pytest.raises(MeterUnavailable):
                sched.measure()
    assert tries == [0.0, 300.0]
    assert sched.baseline is previous  # a failure keeps the last good baseline

    def select_failing_mid_window(opts):
        tries.append(now[0])
        return _StubMeter([])

    def measure(meter, opts, previous=None):
        raise MeterError("stub: the sensor vanished")

    tries.clear()
    sched = BaselineSchedule(EnergyConfig(baseline_every_s=300), select=select_failing_mid_window, measure=measure,
                             monotonic=lambda: now[0])
    for case_start in (0.0, 1.0, 2.0):
        now[0] = case_start
        if sched.due():
            with pytest.raises(MeterError):
                sched.measure()
    assert tries == [0.0] and sched.baseline is None


def test_baseline_from_another_meter_is_not_subtracted(tmp_path):
    meter, clock, burn = _counter_setup(tmp_path)
    other = IdleBaseline(meter="estimate", power_w=5.0, window_s=2.0, measured_at=clock())
    result, flags = measure_energy(lambda: burn(10.0, 0.5), 1, meter, EnergyConfig(), other, clock=clock, monotonic=clock)
    assert result.net_j_per_inference is None and result.idle_power_w is None
    assert any("baseline from meter 'estimate' ignored" in f for f in details(flags))


def test_meter_disappearing_mid_window_stops_the_loop_and_raises(tmp_path):
    root = tmp_path / "orin"
    shutil.copytree(FIXTURES / "jetson_orin_nano_jp5", root)
    meter = jetson.probe(EnergyConfig(sysfs_root=str(root), sample_hz=50))
    victim = root / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1/in1_input"
    calls = {"n": 0}

    def forward():
        calls["n"] += 1
        if calls["n"] == 3:
            victim.unlink()
        time.sleep(0.02)

    t0 = time.perf_counter()
    with pytest.raises(MeterError, match="in1_input"):
        measure_energy(forward, 1, meter, EnergyConfig(min_window_s=5.0, sample_hz=50))
    assert time.perf_counter() - t0 < 2.0  # gave up early instead of finishing the 5 s window


def test_exception_in_forward_stops_the_sampler(tmp_path):
    meter = jetson.probe(EnergyConfig(sysfs_root=str(FIXTURES / "ina238"), sample_hz=50))

    def broken():
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        measure_energy(broken, 1, meter, EnergyConfig(min_window_s=0.3))
    assert not any(t.name == "bench-power-sampler" for t in threading.enumerate())


# ----------------------------------------------------------------------------- options and selection


def test_options_reject_nonsense():
    for bad, field in (({"sample_hz": 0}, "sample_hz"), ({"sample_hz": 5000}, "sample_hz"),
                       ({"min_window_s": -1}, "min_window_s"), ({"intensity_g_per_kwh": -5}, "intensity"),
                       ({"baseline_every_s": float("inf")}, "baseline_every_s"), ({"meter": "rapll"}, "meter")):
        with pytest.raises(ValidationError, match=field):
            EnergyConfig(**bad)
        with pytest.raises(ConfigError, match=f"'energy.{field}"):
            validate_config({"models": ["resnet18"], "energy": bad})
    assert EnergyConfig(intensity_g_per_kwh=0).intensity_g_per_kwh == 0  # a fully renewable supply


def test_meter_names_are_checked_with_the_config():
    # Aliases and any case pass, and are stored as typed (results files keep the config).
    for name in ("auto", "RAPL", "rpi5", "rpi5-pmic", "jtop", "codecarbon", " nvml "):
        assert validate_config({"models": ["resnet18"], "energy": {"meter": name}}).energy.meter == name
    with pytest.raises(ConfigError) as err:
        validate_config({"models": ["resnet18"], "energy": {"meter": "rapll"}})
    text = str(err.value)
    assert "Unknown energy meter 'rapll'. Did you mean: rapl" in text
    assert "Choose one of: auto, rapl, nvml, jetson, rpi5-pmic, estimate" in text and "\n" not in text
    assert canonical_meter_name("Rpi5") == "rpi5-pmic" and canonical_meter_name("auto") == "auto"
    with pytest.raises(ConfigError, match="Did you mean: jetson"):
        canonical_meter_name("jetsn")


def test_auto_prefers_rapl_then_falls_back(tmp_path):
    meter = select_meter(EnergyConfig(sysfs_root=str(FIXTURES / "rapl_xeon_2socket"), vcgencmd="/nonexistent"))
    assert meter.name == "rapl"
    meter = select_meter(EnergyConfig(sysfs_root=str(FIXTURES / "jetson_nano_jp4"), vcgencmd="/nonexistent"))
    assert meter.name in ("nvml", "jetson")  # nvml only on a machine with an NVIDIA driver


def test_named_unusable_meter_is_a_bench_error_with_the_fix():
    with pytest.raises(BenchError, match="'jetson' energy meter is not usable here.*Nano 2GB.*Fix:"):
        select_meter(EnergyConfig(meter="jetson", sysfs_root=str(FIXTURES / "jetson_nano_2gb")))
    with pytest.raises(ConfigError, match="Unknown energy meter 'rapll'. Did you mean: rapl"):
        probe_meter("rapll", EnergyConfig())


def test_describe_meters_lists_all_with_reasons(monkeypatch):
    monkeypatch.setenv("BENCH_SYSFS_ROOT", str(FIXTURES / "jetson_orin_nano_jp5"))
    monkeypatch.setenv("BENCH_VCGENCMD", str(FIXTURES / "rpi4/vcgencmd"))
    statuses = {s.name: s for s in describe_meters(EnergyConfig())}
    assert list(statuses) == ["rapl", "nvml", "jetson", "rpi5-pmic", "estimate"]
    assert statuses["jetson"].usable and "VDD_IN" in statuses["jetson"].reason
    assert not statuses["rapl"].usable and "Fix:" in statuses["rapl"].reason
    assert not statuses["rpi5-pmic"].usable and "Pi 4" in statuses["rpi5-pmic"].reason
    assert statuses["estimate"].usable and statuses["estimate"].method == "estimated"


def test_meter_table_rows(monkeypatch):
    from suite.cli.energy_env import METER_TABLE_COLUMNS, meter_table

    monkeypatch.setenv("BENCH_SYSFS_ROOT", str(FIXTURES / "rapl_laptop"))
    monkeypatch.setenv("BENCH_VCGENCMD", str(FIXTURES / "rpi5/vcgencmd"))
    rows = meter_table()
    assert all(tuple(r) == METER_TABLE_COLUMNS for r in rows)
    by_name = {r["meter"]: r for r in rows}
    assert by_name["rapl"]["usable"] == "yes (auto)"
    assert by_name["rpi5-pmic"]["usable"] == "yes"
    assert by_name["jetson"]["usable"] == "no"
    rows = meter_table(EnergyConfig(meter="rpi5", sysfs_root=str(FIXTURES / "rapl_laptop")))
    assert {r["meter"]: r["usable"] for r in rows}["rpi5-pmic"] == "yes (selected)"


# ----------------------------------------------------------------------------- estimate, end to end


def _ram_w_by_hand(total_gb: float) -> float | None:
    # codecarbon 3.x on x86: 5 W per DIMM, 2 DIMMs up to 16 GB, 4 DIMMs up to 32 GB.
    if total_gb <= 16:
        return 10.0
    if total_gb <= 32:
        return 20.0
    return None


class _ConstantPart:
    """A stand-in for a codecarbon hardware object (CPU, RAM) that always draws the same power."""

    def __init__(self, part: str, watts: float):
        self.chip_part = part
        self.watts = watts
        self.starts = 0
        self.durations: list[float] = []

    def start(self) -> None:
        self.starts += 1

    def measure_power_and_energy(self, last_duration: float):
        from types import SimpleNamespace

        self.durations.append(last_duration)
        return SimpleNamespace(W=self.watts), SimpleNamespace(kWh=self.watts * last_duration / 3.6e6)


def test_estimate_energy_is_the_model_power_times_the_window():
    from suite.energy import estimate

    parts = [_ConstantPart("CPU", 12.5), _ConstantPart("RAM", 3.0)]
    setup = estimate.CodecarbonSetup(version="test", hardware=parts, conf={})
    ticks = itertools.count(0.0, 1.0)  # every clock read advances 1 s
    # 0.01 Hz: the background thread never samples, only start() and stop() do (deterministic).
    meter = estimate.probe(EnergyConfig(sample_hz=0.01), clock=lambda: next(ticks), setup=setup)
    assert meter.name == "estimate" and meter.method == "estimated"
    meter.start()
    reading = meter.stop()
    meter.close()
    # start() samples at (0+1)/2 s, stop() at (2+3)/2 s: a 2 s window.
    assert reading.duration_s == 2.0
    assert reading.energy_j == pytest.approx((12.5 + 3.0) * 2.0)
    assert reading.rails_w == pytest.approx({"cpu": 12.5, "ram": 3.0})
    assert [p.starts for p in parts] == [1, 1]  # each window resets the parts' reference point
    assert all(len(p.durations) == 2 for p in parts)


def test_estimate_end_to_end_on_a_real_torch_forward():
    import platform

    import psutil
    import torch

    opts = EnergyConfig(meter="estimate", min_window_s=0.3, sample_hz=40, region="FRA")
    meter = select_meter(opts)
    assert meter.name == "estimate" and meter.method == "estimated"
    model = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)).eval()
    x = torch.randn(8, 256)

    def forward():
        with torch.inference_mode():
            model(x)

    forward()  # warm-up
    baseline = measure_idle(meter, opts)
    result, flags = measure_energy(forward, 8, meter, opts, baseline)
    assert result.method == "estimated" and result.meter == "estimate"
    assert result.assumptions[0].startswith("ESTIMATE, not a measurement: codecarbon")
    assert any("TDP" in a for a in result.assumptions)
    assert result.gross_j > 0 and result.gross_j_per_item == pytest.approx(result.gross_j_per_inference / 8)
    assert result.inferences >= 1 and result.items == 8 * result.inferences
    # 40 Hz: the window is 20 sensor periods = 0.5 s (more if the machine is busy), flagged short (< 2 s).
    assert 0.5 <= result.window_s < 2.0
    assert any(f.startswith("short window") for f in details(flags))
    assert flags[0].kind == "energy_estimated" and flags[0].metrics == ["energy"]
    assert result.mean_power_w == pytest.approx(sum(result.rails_w.values()), rel=1e-6)
    ram = _ram_w_by_hand(psutil.virtual_memory().total / 1024**3)
    if ram is not None and platform.machine() in ("x86_64", "AMD64"):
        assert result.rails_w["ram"] == pytest.approx(ram)
    carbon = carbon_for(result, opts)
    assert carbon.region == "FRA" and carbon.g_per_inference > 0
    assert carbon.g_per_inference == pytest.approx(result.gross_j_per_inference / 3.6e6 * carbon.intensity_g_per_kwh)
    assert "ESTIMATED" in carbon.source


def test_auto_on_a_machine_without_sensors_is_the_labelled_estimate(tmp_path, no_nvidia_driver):
    meter = select_meter(EnergyConfig(sysfs_root=str(tmp_path), vcgencmd="/nonexistent/vcgencmd"))
    assert meter.name == "estimate" and meter.method == "estimated"


def test_unavailable_is_a_bench_error():
    assert issubclass(MeterUnavailable, BenchError)
    assert not issubclass(MeterError, BenchError)


# ----------------------------------------------------------------------------- the runner's schedule

TINY = str(Path(__file__).resolve().parents[2] / "fixtures" / "models" / "crash_tiny.py")


def _run_with_energy(tmp_path: Path, **energy):
    from suite.run.runner import RunOptions, run_benchmark

    cfg = validate_config({
        "models": [TINY], "backends": ["eager"], "batch_sizes": [1, 2, 3], "threads": 1, "isolation": "inline",
        "output_dir": str(tmp_path / "out"), "report": False, "monitor": {"enabled": False},
        "timing": {"warmup_min": 1, "warmup_max": 2, "min_iters": 3, "min_time_s": 0, "max_time_s": 0.05},
        "energy": {"meter": "rapl", "min_window_s": 0.05, **energy},
    })
    events: list[Event] = []
    run = run_benchmark(cfg, RunOptions(output=tmp_path / "r.json", progress=events.append))
    return run, [type(e) for e in events], [e.message for e in events if isinstance(e, RunWarning)]


def test_runner_measures_the_baseline_once_per_interval(tmp_path):
    root = str(FIXTURES / "rapl_laptop")
    run, events, _ = _run_with_energy(tmp_path, sysfs_root=root)
    assert events.count(BaselineWindow) == 1 and events.index(BaselineWindow) < events.index(CaseStarted)
    assert all(c.energy is not None and c.energy.idle_power_w is not None for c in run.cases)
    _, events, _ = _run_with_energy(tmp_path, sysfs_root=root, baseline_every_s=1e-6)
    assert events.count(BaselineWindow) == 3  # due before every case


def test_runner_does_not_retry_a_failing_meter_before_every_case(tmp_path):
    run, events, warnings = _run_with_energy(tmp_path, sysfs_root=str(tmp_path / "no-powercap"))
    failures = [w for w in warnings if w.startswith("idle baseline not measured")]
    assert len(failures) == 1 and "'rapl' energy meter is not usable here: no RAPL package zones" in failures[0]
    assert BaselineWindow not in events
    assert [c.status for c in run.cases] == ["ok"] * 3  # energy failed; the cases stand
    assert all([f.kind for f in c.flags if f.kind.startswith("energy")] == ["energy_failed"] for c in run.cases)
