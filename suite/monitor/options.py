"""Monitor options: a frozen value, no side effects. The environment (BENCH_SYSFS_ROOT,
BENCH_VCGENCMD, the same variables the energy meters read) is consulted only when a path or
command is resolved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from suite.energy.options import find_vcgencmd, resolve_root


@dataclass(frozen=True)
class MonitorOptions:
    interval_s: float = 2.0  # background sampling period while a case runs
    # Flag a case whose CPU got this hot. None: 80 C on a Raspberry Pi (its firmware starts
    # throttling there), 95 C elsewhere (x86 and Jetson CPUs throttle near 100 C; a laptop at
    # 85 C under load is normal).
    hot_temp_c: float | None = None
    sysfs_root: str | None = None  # None: $BENCH_SYSFS_ROOT or "/"
    vcgencmd: str | None = None  # None: $BENCH_VCGENCMD or `vcgencmd` on PATH (absent: not a Pi)


def root_of(opts: MonitorOptions) -> Path:
    """The directory that stands for `/` when reading /sys, /proc and /etc."""
    return resolve_root(opts.sysfs_root)


def vcgencmd_argv(opts: MonitorOptions) -> list[str] | None:
    """The vcgencmd command as an argv prefix, or None when there is none (not a Raspberry Pi)."""
    return find_vcgencmd(opts.vcgencmd)
