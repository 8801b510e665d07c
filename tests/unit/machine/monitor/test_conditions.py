"""Machine conditions from fake sysfs trees and a fake vcgencmd, read by the real code.

Trees under tests/fixtures/sysfs/ (laid out as on the devices):
  thermal-rpi4-hot        Raspberry Pi 4, cpu-thermal at 84.254 C
  thermal-x86-laptop      seven zones; the CPU package is x86_pkg_temp (62 C); iwlwifi is off
  thermal-jetson-nano     six zones; CPU-therm 41.5 C; PMIC-Die reads a fixed 100 C
  cpufreq-rpi4            one policy shared by cpu0-3 through symlinks, 1800 MHz max
  cpufreq-jetson-nano-5w  nvpmodel mode 1 (5W): cpu0-1 capped at 918 of 1479 MHz, GPU at 640 of 921.6 MHz
tests/fixtures/vcgencmd-throttled VALUE answers `get_throttled` with VALUE (or @FILE's content).
Where a value must change while a case runs, the tree is copied and its files rewritten.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from suite.machine.monitor import (
    Monitor,
    Sample,
    load,
    power_mode,
    summarize,
    throttled,
    wait_for_cooldown,
)
from suite.machine.monitor.cpufreq import read_cpufreq
from suite.machine.monitor.thermal import cpu_temp_c, read_zones
from suite.machine.monitor.watch import Counters, MonitorConfig, cpu_list

FIX = Path(__file__).parents[3] / "fixtures"
SYSFS = FIX / "sysfs"
VCGENCMD = FIX / "vcgencmd-throttled"


def tree(tmp_path: Path, *names: str) -> Path:
    """A writable copy of one or more fixture trees merged into one root."""
    root = tmp_path / "root"
    for name in names:
        shutil.copytree(SYSFS / name, root, symlinks=True, dirs_exist_ok=True)
    return root


def monitor(root: Path | None = None, vcgencmd: str | None = None, **kw) -> Monitor:
    # No root: one that does not exist, i.e. no sensors at all. own_pids=[]: the fake trees
    # hold no /proc/<pid> entries for this process.
    return Monitor(MonitorConfig(sysfs_root=str(root) if root else str(FIX / "no-such-root"), vcgencmd=vcgencmd, **kw),
                   own_pids=lambda: [])


def seen(conditions, flags):
    """The conditions' fields beside the flags' details (`flags`) and kinds (`kinds`)."""
    return SimpleNamespace(**dict(conditions), flags=[f.detail for f in flags], kinds=[f.kind for f in flags])


def watch_once(m: Monitor, during=None, device: str = "cpu"):
    with m.watch(device) as w:
        if during is not None:
            during()
    return seen(w.conditions, w.flags)


# ----------------------------------------------------------------------------- temperature


@pytest.mark.parametrize("name, expected_c", [
    ("thermal-rpi4-hot", 84.254),
    ("thermal-x86-laptop", 62.0),  # x86_pkg_temp, not the chipset (55) nor ACPI (27.8)
    ("thermal-jetson-nano", 41.5),  # CPU-therm, not PMIC-Die's fixed 100
])
def test_cpu_temperature_picks_the_cpu_zone(name, expected_c):
    assert cpu_temp_c(SYSFS / name) == pytest.approx(expected_c)


def test_zone_without_reading_is_skipped_and_no_zones_is_none(tmp_path):
    zones = read_zones(SYSFS / "thermal-x86-laptop")
    assert [z.type for z in zones] == ["acpitz", "INT3400 Thermal", "SEN1", "B0D4", "x86_pkg_temp", "pch_cannonlake"]
    assert cpu_temp_c(tmp_path) is None


def test_hot_case_is_flagged(tmp_path):
    cond = watch_once(monitor(SYSFS / "thermal-rpi4-hot"))
    assert cond.cpu_temp_c_start == pytest.approx(84.254) and cond.cpu_temp_c_max == pytest.approx(84.254)
    assert cond.flags == ["CPU hot: reached 84.3 °C (at or above 80 °C, where many boards lower their clocks)"]
    cool = watch_once(monitor(SYSFS / "thermal-jetson-nano"))
    assert cool.cpu_temp_c_max == pytest.approx(41.5) and cool.flags == []


def test_temperature_max_is_taken_over_the_case(tmp_path):
    root = tree(tmp_path, "thermal-rpi4-hot")
    temp = root / "sys/class/thermal/thermal_zone0/temp"
    temp.write_text("55000\n")
    m = monitor(root, interval_s=0.05)

    def heat_up():
        temp.write_text("81500\n")
        time.sleep(0.3)  # the sampler thread sees it
        temp.write_text("60000\n")

    cond = watch_once(m, heat_up)
    assert cond.cpu_temp_c_start == 55.0 and cond.cpu_temp_c_max == 81.5
    assert any(f.startswith("CPU hot: reached 81.5 °C") for f in cond.flags)


# ----------------------------------------------------------------------------- cpufreq


def test_cpufreq_read_through_shared_policy_links():
    freqs = read_cpufreq(SYSFS / "cpufreq-rpi4")
    assert sorted(freqs) == [0, 1, 2, 3]
    assert {(f.cur_mhz, f.hw_max_mhz, f.cap_mhz) for f in freqs.values()} == {(1800.0, 1800.0, 1800.0)}


def test_max_freq_drop_during_case_is_thermal_throttling(tmp_path):
    root = tree(tmp_path, "cpufreq-rpi4")
    cap = root / "sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq"
    cond = watch_once(monitor(root), lambda: cap.write_text("1200000\n"))
    # one policy, four cores: one flag naming all of them
    assert cond.flags == ["thermal throttling: cpu0-3 max freq dropped from 1800 to 1200 MHz"]
    assert cond.cpu_freq_mhz_max == 1800.0


def test_capped_and_low_clock(tmp_path):
    root = tree(tmp_path, "cpufreq-rpi4")
    policy = root / "sys/devices/system/cpu/cpufreq/policy0"
    m = monitor(root)
    start = m.sample()
    (policy / "scaling_cur_freq").write_text("600000\n")
    during = [m.sample(), m.sample()]
    end = m.sample()
    cond = seen(*summarize(start, during, end, Counters(), Counters(), m.opts))
    # fastest core at 600 of 1800 MHz while the worker ran: 600 < 0.7 x 1800
    assert cond.cpu_freq_mhz_min == 600.0 and cond.cpu_freq_mhz_max == 600.0
    assert cond.flags == ["CPU clock low: the fastest core ran at a median 600 MHz of its 1800 MHz ceiling during "
                          "the case (power-saving governor or firmware throttling)"]
    (policy / "scaling_cur_freq").write_text("1400000\n")  # 1400 >= 0.7 x 1800 = 1260: fine
    cond = seen(*summarize(start, [m.sample()], end, Counters(), Counters(), m.opts))
    assert cond.flags == []


def test_cpu_list_ranges():
    assert cpu_list([0, 1, 2, 3]) == "cpu0-3"
    assert cpu_list([3, 0, 1, 6]) == "cpu0-1,3,6"
    assert cpu_list([5]) == "cpu5"


# ----------------------------------------------------------------------------- Jetson


def test_jetson_power_mode_and_caps():
    root = SYSFS / "cpufreq-jetson-nano-5w"
    assert power_mode.mode_names(root) == {0: "MAXN", 1: "5W"}
    assert power_mode.power_mode(root) == "5W"
    gpu = power_mode.gpu_clock(power_mode.find_gpu(root))
    assert (gpu.cur_mhz, gpu.cap_mhz, gpu.hw_max_mhz) == (640.0, 640.0, 921.6)
    cond = watch_once(monitor(root))
    assert cond.jetson_power_mode == "5W"
    assert cond.flags == ["CPU frequency capped: cpu0-1 limited to 918 of 1479 MHz (scaling_max_freq)"]
    # the GPU cap only matters to cases that run on the GPU
    gpu_cond = watch_once(monitor(root), device="cuda")
    assert "GPU clock capped: limited to 640 of 922 MHz (devfreq max_freq)" in gpu_cond.flags


def test_jetson_power_mode_change_is_flagged(tmp_path):
    root = tree(tmp_path, "cpufreq-jetson-nano-5w")
    status = root / "var/lib/nvpmodel/status"
    cond = watch_once(monitor(root), lambda: status.write_text("pmode:0000\n"))
    assert cond.jetson_power_mode == "5W"
    assert "Jetson power mode changed during the case: 5W -> MAXN" in cond.flags
    assert "power_mode_change" in cond.kinds
    status.write_text("pmode:0007\n")  # a mode the conf does not name
    assert power_mode.power_mode(root) == "mode 7"
    assert power_mode.power_mode(tmp_path) is None  # not a Jetson


# ----------------------------------------------------------------------------- vcgencmd get_throttled


def test_decode_get_throttled_bits():
    v = throttled.parse_get_throttled("throttled=0x50005\n")
    assert v == 0x50005 == (1 << 0) | (1 << 2) | (1 << 16) | (1 << 18)
    assert v & throttled.NOW_MASK == 0x5  # under-voltage and throttled now
    assert throttled.since_boot_conditions(v) == ["under-voltage", "throttled"]
    assert 0x80000 & throttled.NOW_MASK == 0 and throttled.since_boot_conditions(0x80000) == ["soft temperature limit"]
    assert throttled.parse_get_throttled("throttled=0x0") == 0
    with pytest.raises(throttled.ThrottledUnavailable):
        throttled.parse_get_throttled("VCHI initialization failed")


def test_under_voltage_now_is_flagged():
    cond = watch_once(monitor(vcgencmd=f"{VCGENCMD} 0x50005"))
    assert cond.throttled == "0x5"  # bits 0 and 2 now; the since-boot bits were already set at the start
    assert cond.flags == ["under-voltage detected (vcgencmd get_throttled=0x50005)",
                          "throttling: CPU throttled by the firmware (vcgencmd get_throttled=0x50005)"]


def test_throttling_that_started_during_the_case(tmp_path):
    state = tmp_path / "throttled"
    state.write_text("0x0")
    m = monitor(vcgencmd=f"{VCGENCMD} @{state}")
    # the soft limit came and went between samples: only its since-boot bit (19) tells
    cond = watch_once(m, lambda: state.write_text("0x80000"))
    assert cond.throttled == "0x80000"
    assert cond.flags == ["thermal throttling: soft temperature limit active (vcgencmd get_throttled=0x80000)"]


def test_since_boot_bits_from_before_the_run_are_not_blamed_on_the_case():
    m = monitor(vcgencmd=f"{VCGENCMD} 0x50000")
    cond = watch_once(m)
    assert cond.throttled == "0x0" and cond.flags == []
    (warning,) = m.startup_warnings()
    assert "get_throttled=0x50000" in warning and "under-voltage has occurred since boot" in warning
    assert monitor(vcgencmd=f"{VCGENCMD} 0x0").startup_warnings() == []


def test_vcgencmd_denied_or_absent_means_no_reading(monkeypatch):
    m = monitor(vcgencmd=str(FIX / "vcgencmd-throttled-denied"))
    assert m.throttled_at_start is None and m.sample().throttled is None
    assert watch_once(m).throttled is None
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("BENCH_VCGENCMD", raising=False)
    assert monitor().sample().throttled is None


def test_environment_variables_point_the_monitor(monkeypatch):
    monkeypatch.setenv("BENCH_SYSFS_ROOT", str(SYSFS / "thermal-rpi4-hot"))
    monkeypatch.setenv("BENCH_VCGENCMD", f"{VCGENCMD} 0x1")
    m = Monitor(own_pids=lambda: [])
    s = m.sample()
    assert s.cpu_temp_c == pytest.approx(84.254) and s.throttled == 1


# ----------------------------------------------------------------------------- swap and other processes


def _write_proc(root: Path, stat: str, vmstat: str, pids: dict[int, tuple[int, int, int, int]]) -> None:
    (root / "proc").mkdir(parents=True, exist_ok=True)
    (root / "proc/stat").write_text(stat)
    (root / "proc/vmstat").write_text(vmstat)
    for pid, (ut, st, cut, cst) in pids.items():
        (root / f"proc/{pid}").mkdir(exist_ok=True)
        # real layout: comm in parentheses may hold spaces and ')' ; utime is field 14
        fields = ["S", "1", str(pid), str(pid), "0", "-1", "4194304", "0", "0", "0", "0", str(ut), str(st), str(cut), str(cst)]
        (root / f"proc/{pid}/stat").write_text(f"{pid} (python3 (bench)) " + " ".join(fields + ["20", "0", "3"]) + "\n")


def test_swap_and_other_cpu_from_proc(tmp_path):
    root = tmp_path
    _write_proc(root, "cpu  1000 0 500 8000 10 0 0 0 0 0\ncpu0 500 0 250 4000 5 0 0 0 0 0\ncpu1 500 0 250 4000 5 0 0 0 0 0\n",
                "nr_free_pages 1000\npswpin 100\npswpout 50\n", {4242: (10, 5, 0, 0)})
    m = Monitor(MonitorConfig(sysfs_root=str(root)), own_pids=lambda: [4242])
    with m.watch() as w:
        _write_proc(root, "cpu  1400 0 600 8200 10 0 0 0 0 0\ncpu0 700 0 300 4100 5 0 0 0 0 0\ncpu1 700 0 300 4100 5 0 0 0 0 0\n",
                    "nr_free_pages 10\npswpin 30820\npswpout 50\n", {4242: (200, 50, 10, 5)})
    cond = seen(w.conditions, w.flags)
    page = load.page_size_bytes()
    # hand-derived: window 400 + 100 + 200 = 700 ticks; busy 500; ours (200+50+10+5) - (10+5) = 250
    assert cond.other_cpu_percent == pytest.approx(100 * 250 / 700, abs=0.05)
    assert cond.swap_in_bytes == (30820 - 100) * page and cond.swap_out_bytes == 0
    assert f"swap activity: {(30720 * page) / 2**20:.0f} MiB swapped in, 0 MiB out (memory ran short; timings include paging)" in cond.flags
    assert "other processes used 36% of the CPU (0.7 of 2 cores) during the case" in cond.flags
    assert cond.kinds == ["swap", "contention"]


def test_own_ticks_count_reaped_children_once():
    # pid 2 (a worker) ran 30 ticks before the window, finished inside it and was reaped by
    # pid 1 (the forkserver), whose cutime grew by its whole life (30 + 70)
    start = {1: 5, 2: 30}
    end = {1: 5 + 100, 3: 7}  # pid 3 started during the window
    assert load.own_ticks_delta(start, end) == 70 + 7


def test_other_processes_cpu_on_the_real_machine():
    """A busy process that is not ours shows up as other processes' CPU; our own children's
    time does not (it is counted as ours, reaped or not)."""
    m = Monitor(MonitorConfig(sysfs_root="/"))
    busy = "import time\nt = time.time()\nwhile time.time() - t < 3: pass\n"
    # a grandchild whose parent exits at once: reparented away from us, so not ours
    launcher = subprocess.run(["sh", "-c", f'{sys.executable} -c "{busy}" >/dev/null 2>&1 & echo $!'],
                              capture_output=True, text=True, check=True)
    stranger = int(launcher.stdout.strip())
    try:
        time.sleep(0.3)
        with m.watch() as w:
            time.sleep(2.0)
        cond = seen(w.conditions, w.flags)
        # one busy core of this machine's cores, whatever else runs beside it
        cores = os.cpu_count() or 1
        assert cond.other_cpu_percent >= 0.8 * 100 / cores
    finally:
        with contextlib.suppress(OSError):
            os.kill(stranger, 9)
    # our own busy child, started and reaped inside the window, is ours: it burns 1.0 s of
    # CPU time (not wall time, which a loaded machine would stretch)
    c0 = m.counters()
    subprocess.run([sys.executable, "-c", "import time\nwhile time.process_time() < 1.0: pass\n"], check=True)
    c1 = m.counters()
    own_s = load.own_ticks_delta(c0.own, c1.own) / os.sysconf("SC_CLK_TCK")
    assert 0.97 <= own_s <= 1.0 + 0.6  # + the interpreter's start-up


# ----------------------------------------------------------------------------- cool-down


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.now += s


def test_cooldown_waits_until_below_target():
    clock = FakeClock()
    temps = iter([75.0, 70.0, 64.0, 59.5])
    seen = []
    res = wait_for_cooldown(lambda: next(temps), 60.0, 600, poll_s=2.0, sleep=clock.sleep, clock=clock,
                            on_wait=lambda t, w: seen.append((t, w)))
    assert res.reached and res.start_c == 75.0 and res.end_c == 59.5 and res.waited_s == 6.0 and res.flag is None
    assert seen == [(75.0, 0.0), (70.0, 2.0), (64.0, 4.0)]


def test_cooldown_gives_up_at_the_cap_and_flags():
    clock = FakeClock()
    res = wait_for_cooldown(lambda: 72.0, 60.0, 5.0, poll_s=2.0, sleep=clock.sleep, clock=clock)
    assert not res.reached and res.waited_s == 5.0
    assert res.flag == "cool-down: CPU still at 72.0 °C after waiting 5 s (the case started warm)"


def test_no_wait_when_cool_or_no_sensor():
    assert wait_for_cooldown(lambda: 40.0, 60.0, 10) is None
    assert wait_for_cooldown(lambda: None, 60.0, 10) is None


def test_sample_without_any_sensor_is_empty(tmp_path):
    s = Monitor(MonitorConfig(sysfs_root=str(tmp_path)), own_pids=lambda: []).sample()
    assert isinstance(s, Sample)
    assert (s.cpu_temp_c, s.freqs, s.throttled, s.jetson_mode, s.gpu) == (None, {}, None, None, None)
