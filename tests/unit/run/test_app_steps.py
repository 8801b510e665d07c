"""The app-like steps of a case (suite/run/app_steps.py): the paced window's figures, the flag for missed
deadlines and the comparison with back-to-back; the sustained run on a fake board and with a meter."""

from __future__ import annotations

import statistics
import time

import pytest

from suite.config.bench_config import validate_config
from suite.metrics.latency import TimingPolicy, time_forward
from suite.run.app_steps import paced_step
from suite.run.case_parts import CaseContext


def ctx() -> CaseContext:
    return CaseContext(config=validate_config({"models": ["digits-cnn-small"], "energy": {"enabled": False},
                                               "app": {"paced_window_s": 0.5}}))


def spin(seconds: float) -> None:
    t = time.perf_counter()
    while time.perf_counter() - t < seconds:
        pass


def test_a_slow_call_misses_its_deadlines_and_says_so() -> None:
    result, flags = paced_step(lambda: spin(0.03), ctx(), None, rate_hz=50.0)  # 30 ms calls, 20 ms period
    assert len(result.starts_ms) == 25 and result.missed >= 20
    assert [f.kind for f in flags] == ["missed_deadlines"]
    assert result.idle_gaps <= 2 and result.vs_back_to_back is None and result.energy is None


def test_a_fast_call_idles_between_frames_and_is_set_against_back_to_back() -> None:
    back = time_forward(lambda: spin(0.001), items_per_call=1, policy=TimingPolicy(min_time_s=0.1, max_time_s=0.2),
                        threads=1)
    result, flags = paced_step(lambda: spin(0.001), ctx(), back, rate_hz=40.0)
    assert flags == [] and result.missed == 0 and result.idle_gaps >= 15
    assert result.median_ms == statistics.median(result.samples_ms)
    assert result.vs_back_to_back is not None and result.vs_back_to_back_ci is not None
    assert result.vs_back_to_back == result.median_ms / statistics.median(back.samples_ms)
    lo, hi = result.vs_back_to_back_ci
    assert lo <= result.vs_back_to_back <= hi


READ_LAG_S = 0.01  # a window's end to its sensor read (sysfs files of the fake tree: well under 1 ms here)


def test_a_sustained_run_sees_the_fake_board_throttle_and_stops_at_the_limit(tmp_path) -> None:
    import torch

    from suite.models.inputs import make_inputs
    from suite.models.registry import resolve_model
    from suite.run.app_steps import sustained_step
    from tests.sustained_fake import Heater, fake_pi

    root = fake_pi(tmp_path / "pi")
    config = validate_config({"models": ["digits-cnn-small"], "energy": {"enabled": False},
                              "monitor": {"sysfs_root": str(root)},
                              "app": {"sustain_s": 6.0, "sustain_window_s": 0.25, "temp_limit_c": 75}})
    entry = resolve_model("digits-cnn-small")
    model, x = entry.build(False).eval(), make_inputs(entry.input_spec, 1, None, 0)
    heater = Heater(root, from_c=50, rate_c_s=10, drop_after_s=1.0)  # 75 C after 2.5 s; cap 1800 -> 1200 MHz at 1 s

    def call() -> object:
        with torch.inference_mode():
            return model(*x.values())

    heater.start()
    try:
        result, flags = sustained_step(call, CaseContext(config=config), duration_s=6.0)
    finally:
        heater.halt.set()
        heater.join()
    assert heater.dropped_at is not None
    dropped = heater.dropped_at - result.started_at.timestamp()  # when the fake's clock fell, in run time
    assert result.time_to_throttle_s is not None
    # within one window; the sensors are read just after a window's last call ends (its end_s), so a drop
    # landing in between (0.5 ms in one CI run) is seen by that window's read: allow that read's lag
    assert dropped - READ_LAG_S <= result.time_to_throttle_s <= dropped + result.window_s + 0.05
    w = next(w for w in result.windows if w.throttled)
    assert w.cpu_cap_mhz == 1200 and "1800 -> 1200" in (w.throttled or "")
    assert all(v.cpu_cap_mhz == 1800 and v.throttled is None for v in result.windows
               if v.end_s < dropped - READ_LAG_S)
    temps = [v.cpu_temp_c for v in result.windows]
    assert temps == sorted(temps)  # the board heats up window by window
    # stopped early at 75 C (~2.5 s into 6 s), at the first window that ended at or above it
    assert result.stopped_early is not None and "75" in result.stopped_early
    assert 2.0 <= result.ran_s <= 4.0 and (result.windows[-1].cpu_temp_c or 0) >= 75
    assert all((v.cpu_temp_c or 0) < 75 for v in result.windows[:-1])
    assert {f.kind for f in flags} == {"throttling", "stopped_early"}
    assert all(v.calls >= 1 and v.median_ms > 0 for v in result.windows)


def test_each_window_reads_the_power_of_a_meter_that_measures(tmp_path) -> None:
    import shutil
    import threading

    from suite.run.app_steps import sustained_step
    from tests.sustained_fake import FIXTURES, write

    root = tmp_path / "rapl"
    shutil.copytree(FIXTURES / "rapl_laptop", root)
    counter = root / "sys/class/powercap/intel-rapl:0/energy_uj"
    base, watts, halt = int(counter.read_text()), 12.0, threading.Event()

    def burn() -> None:  # the package counter advancing at 12 W, as the driver's would
        t0 = time.perf_counter()
        while not halt.wait(0.005):
            write(counter, f"{base + round(watts * (time.perf_counter() - t0) * 1e6)}\n")

    config = validate_config({"models": ["digits-cnn-small"], "energy": {"meter": "rapl", "sysfs_root": str(root)},
                              "app": {"sustain_s": 2.0, "sustain_window_s": 0.5}})
    writer = threading.Thread(target=burn, daemon=True)
    writer.start()
    try:
        result, _ = sustained_step(lambda: spin(0.002), CaseContext(config=config), duration_s=2.0)
    finally:
        halt.set()
        writer.join()
    assert result.power_meter == "rapl" and len(result.windows) == 4
    for w in result.windows:
        assert w.power_w == pytest.approx(watts, rel=0.1)  # the counter moves every 5 ms: 1% of a 0.5 s window
        assert w.j_per_inference == pytest.approx(w.power_w * (w.end_s - w.start_s) / w.calls)
