"""Throttle state per window (suite/machine/monitor/throttle_state.py): samples read by the real Monitor
from a fake Raspberry Pi 4 tree (cpufreq and thermal zone laid out as on the board), and the firmware's
get_throttled bits."""

from __future__ import annotations

import dataclasses

from suite.machine.monitor import Monitor
from suite.machine.monitor.throttle_state import clock_mhz, lowest_cap_mhz, throttle_state
from suite.machine.monitor.watch import MonitorConfig
from tests.sustained_fake import POLICY, fake_pi, write


def test_a_lowered_cap_is_throttling_and_an_unchanged_one_is_not(tmp_path) -> None:
    root = fake_pi(tmp_path / "pi")
    monitor = Monitor(MonitorConfig(sysfs_root=str(root), vcgencmd="/nonexistent/vcgencmd"))
    start = monitor.sample()
    assert throttle_state(start, monitor.sample()) is None
    assert clock_mhz(start) == 1800 and lowest_cap_mhz(start) == 1800
    for name in ("scaling_max_freq", "scaling_cur_freq"):
        write(root / POLICY / name, "1200000\n")
    now = monitor.sample()
    why = throttle_state(start, now)
    assert why is not None and "cpu0 max 1800 -> 1200 MHz" in why and "+2 cpus" in why  # 4 cores share policy0
    assert clock_mhz(now) == 1200 and lowest_cap_mhz(now) == 1200


def test_the_firmware_bits_say_throttled_without_a_cap_change(tmp_path) -> None:
    root = fake_pi(tmp_path / "pi")
    start = Monitor(MonitorConfig(sysfs_root=str(root), vcgencmd="/nonexistent/vcgencmd")).sample()
    soft_limit = dataclasses.replace(start, throttled=0x8)  # bit 3: soft temperature limit active
    assert throttle_state(start, soft_limit) == "get_throttled: soft temperature limit"
    since_boot_only = dataclasses.replace(start, throttled=0x80000)  # happened before: not now
    assert throttle_state(start, since_boot_only) is None
