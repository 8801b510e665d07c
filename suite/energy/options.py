"""Energy measurement options: a frozen value, no side effects. Environment variables are read
only when a path or command is resolved (BENCH_SYSFS_ROOT, BENCH_VCGENCMD), so tests and
containers can point the real reading code at another tree."""

from __future__ import annotations

import math
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from suite.errors import ConfigError

SYSFS_ROOT_ENV = "BENCH_SYSFS_ROOT"
VCGENCMD_ENV = "BENCH_VCGENCMD"


@dataclass(frozen=True)
class EnergyOptions:
    meter: str = "auto"  # auto | rapl | nvml | jetson | rpi5-pmic | estimate
    min_window_s: float = 2.0  # each energy window lasts max(this, 20 sensor periods)
    sample_hz: float = 10.0  # background sampling rate for power sensors
    sysfs_root: str | None = None  # None: $BENCH_SYSFS_ROOT or "/"
    vcgencmd: str | None = None  # None: $BENCH_VCGENCMD or `vcgencmd` on PATH
    region: str = "USA"  # grid region for carbon (ISO3 code, country name, USA/<state>, ...)
    intensity_g_per_kwh: float | None = None  # overrides the region's grid intensity
    baseline_every_s: float = 300.0  # re-measure the idle baseline when older than this

    def __post_init__(self) -> None:
        for name in ("min_window_s", "sample_hz", "baseline_every_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"energy option {name} must be a positive number, got {value!r}")
        if self.sample_hz > 1000:
            raise ConfigError(f"energy option sample_hz={self.sample_hz} is above 1000 Hz; "
                              "no supported sensor updates that fast")
        if self.intensity_g_per_kwh is not None:
            v = self.intensity_g_per_kwh
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"energy option intensity_g_per_kwh must be >= 0 g CO2eq/kWh, got {v!r}")


def resolve_root(configured: str | None) -> Path:
    """The directory that stands for `/` when reading /sys, /proc, /run and /etc: the configured
    value, else $BENCH_SYSFS_ROOT, else "/". Shared with suite.monitor."""
    return Path(configured or os.environ.get(SYSFS_ROOT_ENV) or "/")


def find_vcgencmd(configured: str | None) -> list[str] | None:
    """The vcgencmd command as an argv prefix (a configured value may carry arguments): the
    configured value, else $BENCH_VCGENCMD, else `vcgencmd` on PATH; None when there is none."""
    configured = configured or os.environ.get(VCGENCMD_ENV)
    if configured:
        return shlex.split(configured)
    found = shutil.which("vcgencmd")
    return [found] if found else None


def sysfs_root(opts: EnergyOptions) -> Path:
    """The directory that stands for `/` when reading /sys, /proc, /run and /etc."""
    return resolve_root(opts.sysfs_root)


def vcgencmd_command(opts: EnergyOptions) -> list[str]:
    """The vcgencmd command as an argv prefix; plain `vcgencmd` when none is found (running it
    then fails with a clear "not found")."""
    return find_vcgencmd(opts.vcgencmd) or ["vcgencmd"]
