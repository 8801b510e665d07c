"""Facts about the machine the suite runs on, read from files under an injectable root: the
board's name (device tree), whether it is an NVIDIA Tegra (Jetson), where `/` is for sysfs and
procfs readers (BENCH_SYSFS_ROOT) and where `vcgencmd` is (BENCH_VCGENCMD).

One reader per fact, shared by the energy meters, the monitor, the environment fingerprint and
the container platform choice. A leaf module: standard library only, no side effects; the
environment variables are read when a path or command is resolved, so tests and containers can
point the real reading code at another tree.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

SYSFS_ROOT_ENV = "BENCH_SYSFS_ROOT"
VCGENCMD_ENV = "BENCH_VCGENCMD"
TEGRA_RELEASE = "etc/nv_tegra_release"  # present on every L4T (Jetson) system


def resolve_root(configured: str | os.PathLike[str] | None = None) -> Path:
    """The directory that stands for `/` when reading /sys, /proc, /run and /etc: the configured
    value, else $BENCH_SYSFS_ROOT, else "/"."""
    return Path(configured or os.environ.get(SYSFS_ROOT_ENV) or "/")


def find_vcgencmd(configured: str | None = None) -> list[str] | None:
    """The Raspberry Pi firmware's vcgencmd as an argv prefix (a configured value may carry
    arguments): the configured value, else $BENCH_VCGENCMD, else `vcgencmd` on PATH; None when
    there is none (not a Raspberry Pi, or raspi-utils missing)."""
    configured = configured or os.environ.get(VCGENCMD_ENV)
    if configured:
        return shlex.split(configured)
    found = shutil.which("vcgencmd")
    return [found] if found else None


def read_text(path: Path) -> str | None:
    """A small sysfs/procfs file's text without NULs or surrounding newlines; None if unreadable."""
    try:
        return path.read_text(errors="replace").strip("\x00\n ")
    except OSError:
        return None


def device_model(root: str | os.PathLike[str] = "/") -> str | None:
    """The board's name from the device tree ('Raspberry Pi 5 Model B Rev 1.0'), if any."""
    for rel in ("proc/device-tree/model", "sys/firmware/devicetree/base/model"):
        try:
            raw = (Path(root) / rel).read_bytes()
        except OSError:
            continue
        return raw.rstrip(b"\x00\n").decode("utf-8", "replace").strip() or None
    return None


def is_raspberry_pi(root: str | os.PathLike[str] = "/") -> bool:
    return "raspberry pi" in (device_model(root) or "").lower()


def is_tegra(root: str | os.PathLike[str] = "/") -> bool:
    """An NVIDIA Jetson running L4T (recognised by /etc/nv_tegra_release)."""
    return (Path(root) / TEGRA_RELEASE).is_file()
