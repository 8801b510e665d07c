"""Environment fingerprint read from fake roots laid out like a Raspberry Pi and a Jetson."""

from __future__ import annotations

from pathlib import Path

from suite.machine.environment import (
    collect_environment,
    cpu_model,
    detect_platform,
    in_container,
)


def _write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def test_raspberry_pi_layout(tmp_path):
    # /proc/cpuinfo on a Pi 5 (arm64) has no "model name"; the board is in the device tree,
    # NUL-terminated.
    _write(tmp_path, "proc/cpuinfo", "processor\t: 0\nBogoMIPS\t: 108.00\nCPU part\t: 0xd0b\n\nRevision\t: d04170\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n")
    _write(tmp_path, "proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.0\x00")
    _write(tmp_path, "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "ondemand\n")
    _write(tmp_path, "etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')
    env = collect_environment(tmp_path)
    assert env.device_model == "Raspberry Pi 5 Model B Rev 1.0"
    assert env.cpu_model == "Raspberry Pi 5 Model B Rev 1.0"
    assert env.governor == "ondemand"
    assert env.os == "Debian GNU/Linux 12 (bookworm)"
    assert detect_platform("aarch64", tmp_path) == "arm64"


def test_jetson_layout(tmp_path):
    _write(tmp_path, "etc/nv_tegra_release", "# R36 (release), REVISION: 3.0, GCID: 36923193, BOARD: generic, EABI: aarch64\n")
    _write(tmp_path, "proc/device-tree/model", "NVIDIA Jetson Orin Nano Developer Kit\x00")
    assert detect_platform("aarch64", tmp_path) == "l4t"
    assert detect_platform("x86_64", tmp_path) == "x86"
    env = collect_environment(tmp_path)
    assert env.device_model == "NVIDIA Jetson Orin Nano Developer Kit"
    assert "NVIDIA Tegra GPU" in env.accelerators


def test_x86_cpuinfo_and_container(tmp_path):
    _write(tmp_path, "proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i7-1185G7 @ 3.00GHz\n")
    assert cpu_model(tmp_path) == "Intel(R) Core(TM) i7-1185G7 @ 3.00GHz"
    assert not in_container(tmp_path)
    _write(tmp_path, ".dockerenv", "")
    assert in_container(tmp_path)


def test_real_machine():
    env = collect_environment()
    assert env.cores_logical >= 1 and env.ram_bytes > 0
    assert env.python.count(".") == 2
    assert "torch" in env.packages


def test_host_facts_from_a_fake_root(tmp_path, monkeypatch):
    from suite.machine import host

    assert host.device_model(tmp_path) is None and not host.is_tegra(tmp_path) and not host.is_raspberry_pi(tmp_path)
    _write(tmp_path, "proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.0\x00")
    _write(tmp_path, "etc/nv_tegra_release", "# R36 (release), REVISION: 2.0\n")
    assert host.device_model(tmp_path) == "Raspberry Pi 5 Model B Rev 1.0"
    assert host.is_raspberry_pi(tmp_path) and host.is_tegra(tmp_path)
    monkeypatch.setenv(host.SYSFS_ROOT_ENV, str(tmp_path))
    assert host.resolve_root(None) == tmp_path and host.resolve_root("/elsewhere") == Path("/elsewhere")
    monkeypatch.setenv(host.VCGENCMD_ENV, "/opt/vc/bin/vcgencmd --quiet")
    assert host.find_vcgencmd(None) == ["/opt/vc/bin/vcgencmd", "--quiet"]
    assert host.find_vcgencmd("sudo vcgencmd") == ["sudo", "vcgencmd"]
