"""Which image a machine needs, and what a container needs from the host for its meters.

Platforms are the three image families: `x86` (x86_64), `arm64` (64-bit ARM boards, Raspberry Pi
OS / Debian) and `l4t` (NVIDIA Jetson, recognised by /etc/nv_tegra_release). A Raspberry Pi is
the arm64 image plus the firmware interface behind `vcgencmd`; that flavour is called `rpi` here
and in compose.yaml (BENCH_PLATFORM=rpi).

`meter_access` is the single description of the mounts, devices, groups and runtime a container
needs for the energy meters on each flavour; compose.yaml states the same by hand, and
tests/docker checks that the two agree. Nothing here talks to Docker.
"""

from __future__ import annotations

import os
import platform as _platform
from dataclasses import dataclass, field
from pathlib import Path

from suite.errors import BenchError
from suite.machine.host import is_raspberry_pi, is_tegra

PLATFORMS = ("x86", "arm64", "l4t")
# What BENCH_PLATFORM / compose's `bench-<flavour>` services accept.
FLAVOURS = ("x86", "arm64", "rpi", "l4t")
VARIANTS = ("full", "ort")

# What stands for the host's `/` in x86 containers (BENCH_SYSFS_ROOT, read by suite.energy).
# Recent Docker engines mask /sys/devices/virtual/powercap (the RAPL counters) in every
# container, over any bind mount there; mounted under /host instead, /host/sys/class/powercap's
# relative links resolve into /host/sys/devices/virtual/powercap on every engine version.
HOST_ROOT = "/host"
# Debian and Raspberry Pi OS give the `video` group (owner of /dev/vcio) this fixed id.
DEFAULT_VIDEO_GID = 44


class PlatformError(BenchError):
    """This machine or a requested platform has no image."""


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class MeterAccess:
    """What `docker run` needs on one flavour so the suite's meters can read the hardware."""

    flavour: str
    mounts: tuple[Mount, ...] = ()
    devices: tuple[str, ...] = ()  # host path; mapped to the same path in the container
    group_add: tuple[str, ...] = ()
    runtime: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what is missing on this host, in words


def detect_platform(root: str | os.PathLike[str] = "/", machine: str | None = None) -> str:
    """x86 for x86_64; on aarch64, l4t when /etc/nv_tegra_release exists, else arm64."""
    arch = (machine or _platform.machine()).lower()
    if arch in ("x86_64", "amd64"):
        return "x86"
    if arch in ("aarch64", "arm64"):
        return "l4t" if is_tegra(root) else "arm64"
    raise PlatformError(
        f"No bench image for this machine's architecture '{arch}': images exist for x86_64 "
        "(Dockerfile.x86) and aarch64 (Dockerfile.arm64, Dockerfile.l4t on Jetson). On a 32-bit "
        "Raspberry Pi OS, install the 64-bit one."
    )


def detect_flavour(root: str | os.PathLike[str] = "/", machine: str | None = None) -> str:
    plat = detect_platform(root, machine)
    if plat == "arm64" and is_raspberry_pi(root):
        return "rpi"
    return plat


def platform_of(flavour: str) -> str:
    """The image family of a flavour: rpi runs the arm64 image."""
    check_flavour(flavour)
    return "arm64" if flavour == "rpi" else flavour


def check_flavour(flavour: str) -> str:
    if flavour not in FLAVOURS:
        raise PlatformError(f"Unknown platform '{flavour}': use one of {', '.join(FLAVOURS)}.")
    return flavour


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise PlatformError(
            f"Unknown image variant '{variant}': 'full' (PyTorch + ONNX Runtime) or 'ort' (ONNX Runtime only)."
        )
    return variant


def platform_from_engine(info: dict) -> str:
    """A Docker engine's platform from its `info` (Architecture, Runtimes): for remote hosts."""
    arch = str(info.get("Architecture", "")).lower()
    if arch in ("x86_64", "amd64"):
        return "x86"
    if arch in ("aarch64", "arm64"):
        return "l4t" if "nvidia" in (info.get("Runtimes") or {}) else "arm64"
    raise PlatformError(f"The Docker engine reports architecture '{arch}', which has no bench image.")


def _gid(path: Path, fallback: int | None) -> str | None:
    try:
        return str(path.stat().st_gid)
    except OSError:
        return None if fallback is None else str(fallback)


def meter_access(flavour: str, root: str | os.PathLike[str] = "/", *, check_host: bool = True) -> MeterAccess:
    """Mounts, devices, groups and runtime for the meters on `flavour`.

    With `check_host` (a local engine), paths missing under `root` are left out and named in
    `notes`, and group ids are read from the host's files. Without it (a remote engine, where
    this machine cannot look), everything is asked for and the engine refuses what is missing.
    """
    check_flavour(flavour)
    r = Path(root)

    def present(path: str) -> bool:
        return not check_host or (r / path.lstrip("/")).exists()

    if flavour == "x86":
        wanted = (Mount("/sys/class", f"{HOST_ROOT}/sys/class"),
                  Mount("/sys/devices/virtual", f"{HOST_ROOT}/sys/devices/virtual"))
        notes = []
        if check_host and not (r / "sys/class/powercap").exists():
            notes.append("no /sys/class/powercap on this host: no RAPL energy counters (a VM, or an old kernel)")
        return MeterAccess(
            flavour,
            mounts=tuple(m for m in wanted if present(m.source)),
            environment={"BENCH_SYSFS_ROOT": HOST_ROOT},
            notes=tuple(notes),
        )
    if flavour == "arm64":
        return MeterAccess(flavour)
    if flavour == "rpi":
        notes = []
        devices = ("/dev/vcio",) if present("/dev/vcio") else ()
        if not devices:
            notes.append("no /dev/vcio: vcgencmd cannot reach the firmware (power rails, throttling)")
        vcgencmd = "/usr/bin/vcgencmd"
        mounts: tuple[Mount, ...] = (Mount(vcgencmd, vcgencmd),) if present(vcgencmd) else ()
        if not mounts:
            notes.append("no /usr/bin/vcgencmd on the host (package raspi-utils)")
        gid = _gid(r / "dev/vcio", DEFAULT_VIDEO_GID) if check_host else str(DEFAULT_VIDEO_GID)
        return MeterAccess(flavour, mounts=mounts, devices=devices, group_add=(gid,) if gid else (), notes=tuple(notes))
    # l4t
    sock = "/run/jtop.sock"
    notes = []
    mounts = ()
    groups: tuple[str, ...] = ()
    if present(sock):
        mounts = (Mount(sock, sock),)
        gid = _gid(r / sock.lstrip("/"), None) if check_host else None
        groups = (gid,) if gid else ()
    else:
        notes.append("no /run/jtop.sock: start the jtop service (sudo systemctl enable --now jtop) for power readings")
    return MeterAccess(
        flavour,
        mounts=mounts,
        group_add=groups,
        runtime="nvidia",
        environment={"NVIDIA_VISIBLE_DEVICES": "all", "NVIDIA_DRIVER_CAPABILITIES": "all"},
        notes=tuple(notes),
    )
