"""Conditions and cool-down through the real runner: a run on fake sysfs trees and a fake
vcgencmd records the conditions per case, puts their flags in the results file, and waits
for a hot CPU to cool before a case."""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

from suite.config.bench_config import validate_config
from suite.results.io import load_results
from suite.run.events import CaseStarted, CooldownEnded, CoolingDown, RunWarning
from suite.run.runner import RunOptions, run_benchmark

FIX = Path(__file__).parents[2] / "fixtures"
TINY = str(FIX / "models" / "crash_tiny.py")
FAST_TIMING = {"warmup_min": 1, "warmup_max": 2, "min_iters": 3, "min_time_s": 0, "max_time_s": 0.05}


def config(tmp_path: Path, **extra):
    data = {"models": [TINY], "backends": ["eager"], "batch_sizes": [1, 2], "threads": 1, "isolation": "inline",
            "output_dir": str(tmp_path / "out"), "report": False, "timing": FAST_TIMING, "energy": {"enabled": False}}
    data.update(extra)
    return validate_config(data)


def test_flags_reach_the_results_file(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(FIX / "sysfs" / "thermal-rpi4-hot", root, symlinks=True)
    shutil.copytree(FIX / "sysfs" / "cpufreq-rpi4", root, symlinks=True, dirs_exist_ok=True)
    cfg = config(tmp_path, monitor={"sysfs_root": str(root), "vcgencmd": f"{FIX / 'vcgencmd-throttled'} 0x50005"})
    events = []
    run = run_benchmark(cfg, RunOptions(output=tmp_path / "r.json", progress=events.append))
    saved = load_results(tmp_path / "r.json")
    assert [c.id for c in saved.cases] == [c.id for c in run.cases] and len(saved.cases) == 2
    for case in saved.cases:
        cond = case.conditions
        assert cond.cpu_temp_c_start == 84.254 and cond.throttled == "0x5"
        assert cond.cpu_freq_mhz_max == 1800.0
        expected = ["CPU hot: reached 84.3 °C (at or above 80 °C, where many boards lower their clocks)",
                    "under-voltage detected (vcgencmd get_throttled=0x50005)",
                    "throttling: CPU throttled by the firmware (vcgencmd get_throttled=0x50005)"]
        monitor_flags = [f for f in case.flags if f.kind == "throttling"]
        assert [f.detail for f in monitor_flags][:3] == expected
        # each reason once, on the case (v1 repeated them under conditions.flags)
        assert len({(f.kind, f.detail) for f in case.flags}) == len(case.flags)
    # under-voltage since boot was said once, before the first case
    warnings = [e.message for e in events if isinstance(e, RunWarning)]
    assert any("under-voltage has occurred since boot" in w for w in warnings)


def test_monitor_disabled_records_nothing(tmp_path):
    cfg = config(tmp_path, batch_sizes=[1], monitor={"enabled": False,
                                                     "sysfs_root": str(FIX / "sysfs" / "thermal-rpi4-hot")})
    run = run_benchmark(cfg, RunOptions(output=tmp_path / "r.json"))
    assert run.cases[0].conditions is None


def test_cooldown_waits_for_the_cpu(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(FIX / "sysfs" / "thermal-rpi4-hot", root)
    temp = root / "sys/class/thermal/thermal_zone0/temp"
    cfg = config(tmp_path, batch_sizes=[1], cooldown_temp_c=60, cooldown_max_s=30,
                 monitor={"sysfs_root": str(root)})
    events = []
    cooler = threading.Timer(2.5, lambda: temp.write_text("55000\n"))
    t0 = time.monotonic()
    cooler.start()
    try:
        run = run_benchmark(cfg, RunOptions(output=tmp_path / "r.json", progress=events.append))
    finally:
        cooler.cancel()
    names = [type(e) for e in events]
    # the wait happened before the case, and the case ran cool (no cool-down flag)
    assert names.index(CoolingDown) < names.index(CooldownEnded) < names.index(CaseStarted)
    first = next(e for e in events if isinstance(e, CoolingDown))
    assert first.temp_c == 84.254 and first.target_c == 60 and first.waited_s == 0
    end = next(e for e in events if isinstance(e, CooldownEnded))
    assert end.reached and 2.0 <= end.waited_s <= 10 and time.monotonic() - t0 >= 2.5
    case = run.cases[0]
    assert case.conditions.cpu_temp_c_start == 55.0
    assert not any(f.kind == "cooldown_timeout" for f in case.flags)


def test_cooldown_cap_flags_the_case(tmp_path):
    cfg = config(tmp_path, batch_sizes=[1], cooldown_temp_c=60, cooldown_max_s=0.5,
                 monitor={"sysfs_root": str(FIX / "sysfs" / "thermal-rpi4-hot")})
    run = run_benchmark(cfg, RunOptions(output=tmp_path / "r.json"))
    case = run.cases[0]
    (flag,) = [f for f in case.flags if f.kind == "cooldown_timeout"]
    assert re.fullmatch(r"cool-down: CPU still at 84\.3 °C after waiting [01] s \(the case started warm\)", flag.detail)
    assert flag.severity == "warn" and flag.metrics == ["latency", "energy"]


def test_cooldown_without_sensor_warns(tmp_path):
    cfg = config(tmp_path, batch_sizes=[1], cooldown_temp_c=60, monitor={"sysfs_root": str(tmp_path / "nothing")})
    events = []
    run_benchmark(cfg, RunOptions(output=tmp_path / "r.json", progress=events.append))
    warnings = [e.message for e in events if isinstance(e, RunWarning)]
    assert any("no CPU temperature sensor" in w and "without cool-down" in w for w in warnings)
    assert not any(isinstance(e, CoolingDown) for e in events)
