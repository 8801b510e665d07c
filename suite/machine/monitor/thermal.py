"""CPU temperature from the kernel's thermal zones.

Layout: /sys/class/thermal/thermal_zone<N>/type (e.g. "cpu-thermal" on a Raspberry Pi,
"CPU-therm" on a Jetson Nano, "x86_pkg_temp" on Intel) and .../temp in millidegrees Celsius.
A zone whose sensor is off answers reads with an error: it is skipped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

THERMAL_DIR = "sys/class/thermal"
# Zone types that measure the CPU (or the SoC it is part of). Other zones (wifi, battery,
# chipset, ACPI board sensors) say little about the cores doing the work.
CPU_ZONE_RE = re.compile(r"cpu|x86_pkg_temp|soc", re.IGNORECASE)
FALLBACK_ZONE_RE = re.compile(r"^acpitz$", re.IGNORECASE)


@dataclass(frozen=True)
class Zone:
    name: str  # thermal_zone0
    type: str  # cpu-thermal
    temp_c: float


def read_zones(root: Path) -> list[Zone]:
    base = root / THERMAL_DIR
    zones = []
    for d in sorted(base.glob("thermal_zone*"), key=lambda p: _index(p.name)):
        try:
            kind = (d / "type").read_text().strip()
            milli = int((d / "temp").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        zones.append(Zone(d.name, kind, milli / 1000.0))
    return zones


def cpu_zones(zones: list[Zone]) -> list[Zone]:
    cpu = [z for z in zones if CPU_ZONE_RE.search(z.type)]
    return cpu or [z for z in zones if FALLBACK_ZONE_RE.search(z.type)]


def cpu_temp_c(root: Path) -> float | None:
    """The hottest CPU zone in degrees Celsius, or None when there is no CPU sensor."""
    zones = cpu_zones(read_zones(root))
    return max(z.temp_c for z in zones) if zones else None


def _index(name: str) -> int:
    digits = name.rsplit("zone", 1)[-1]
    return int(digits) if digits.isdigit() else 1 << 30
