"""suite.containers.platform: the image a machine needs and the mounts its meters need. Machines
are fake root trees laid out like the real files (/etc/nv_tegra_release, the device tree's model,
/dev/vcio, /usr/bin/vcgencmd, /sys/class/powercap)."""

from __future__ import annotations

import os

import pytest

from suite.containers.platform import (
    DEFAULT_VIDEO_GID,
    HOST_ROOT,
    PlatformError,
    detect_flavour,
    detect_platform,
    meter_access,
    platform_from_engine,
    platform_of,
)


def _pi(root):
    (root / "proc" / "device-tree").mkdir(parents=True)
    (root / "proc" / "device-tree" / "model").write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")
    return root


def test_architecture_and_board_decide_the_image(tmp_path):
    assert detect_platform(tmp_path, "x86_64") == detect_flavour(tmp_path, "AMD64") == "x86"
    assert detect_flavour(tmp_path, "aarch64") == "arm64"
    assert detect_flavour(_pi(tmp_path / "pi"), "aarch64") == "rpi" and platform_of("rpi") == "arm64"
    jetson = tmp_path / "jetson"
    (jetson / "etc").mkdir(parents=True)
    (jetson / "etc" / "nv_tegra_release").write_text("# R35 (release), REVISION: 4.1\n")
    assert detect_flavour(jetson, "aarch64") == "l4t"
    with pytest.raises(PlatformError, match="architecture 'armv7l'.*install the 64-bit one"):
        detect_platform(tmp_path, "armv7l")


def test_a_remote_engines_platform_comes_from_its_info():
    assert platform_from_engine({"Architecture": "x86_64"}) == "x86"
    assert platform_from_engine({"Architecture": "aarch64", "Runtimes": {"runc": {}}}) == "arm64"
    assert platform_from_engine({"Architecture": "aarch64", "Runtimes": {"nvidia": {}, "runc": {}}}) == "l4t"
    with pytest.raises(PlatformError, match="'s390x'"):
        platform_from_engine({"Architecture": "s390x"})


def test_x86_mounts_the_host_sysfs_under_host_root(tmp_path):
    (tmp_path / "sys" / "class" / "powercap").mkdir(parents=True)
    (tmp_path / "sys" / "devices" / "virtual").mkdir(parents=True)
    access = meter_access("x86", tmp_path)
    assert [(m.source, m.target, m.read_only) for m in access.mounts] == [
        ("/sys/class", f"{HOST_ROOT}/sys/class", True), ("/sys/devices/virtual", f"{HOST_ROOT}/sys/devices/virtual", True)]
    assert access.environment == {"BENCH_SYSFS_ROOT": HOST_ROOT} and access.notes == ()
    bare = meter_access("x86", tmp_path / "empty")
    assert bare.mounts == () and "no /sys/class/powercap" in bare.notes[0]


def test_a_pi_gets_vcio_with_its_group_and_vcgencmd(tmp_path):
    root = _pi(tmp_path)
    (root / "dev").mkdir()
    (root / "dev" / "vcio").write_text("")
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "vcgencmd").write_text("#!/bin/sh\n")
    access = meter_access("rpi", root)
    assert access.devices == ("/dev/vcio",) and [m.source for m in access.mounts] == ["/usr/bin/vcgencmd"]
    assert access.group_add == (str(os.stat(root / "dev" / "vcio").st_gid),) and access.notes == ()
    missing = meter_access("rpi", tmp_path / "nothing")
    assert missing.devices == () and missing.group_add == (str(DEFAULT_VIDEO_GID),) and len(missing.notes) == 2
    remote = meter_access("rpi", tmp_path / "nothing", check_host=False)  # a remote engine: ask for all
    assert remote.devices == ("/dev/vcio",) and remote.notes == ()


def test_a_jetson_runs_with_the_nvidia_runtime_and_the_jtop_socket(tmp_path):
    access = meter_access("l4t", tmp_path)
    assert access.runtime == "nvidia" and access.mounts == () and "start the jtop service" in access.notes[0]
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "jtop.sock").write_text("")
    access = meter_access("l4t", tmp_path)
    assert [m.target for m in access.mounts] == ["/run/jtop.sock"]
    assert access.environment["NVIDIA_VISIBLE_DEVICES"] == "all"
