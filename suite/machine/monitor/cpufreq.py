"""CPU clocks and their caps from cpufreq.

Layout: /sys/devices/system/cpu/cpu<N>/cpufreq/ (often a link to ../cpufreq/policy<M>) with
scaling_cur_freq (the current clock), cpuinfo_max_freq (the hardware maximum) and
scaling_max_freq (the ceiling in force: lowered by thermal cooling devices, by a Jetson power
mode or by hand), all in kHz."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CPU_DIR = "sys/devices/system/cpu"


@dataclass(frozen=True)
class CpuFreq:
    cpu: int
    cur_mhz: float | None
    hw_max_mhz: float | None  # cpuinfo_max_freq
    cap_mhz: float | None  # scaling_max_freq


def read_cpufreq(root: Path) -> dict[int, CpuFreq]:
    out: dict[int, CpuFreq] = {}
    base = root / CPU_DIR
    for d in base.glob("cpu[0-9]*"):
        index = d.name[3:]
        if not index.isdigit() or not (d / "cpufreq").is_dir():
            continue
        f = d / "cpufreq"
        cur = _mhz(f / "scaling_cur_freq")
        if cur is None:
            cur = _mhz(f / "cpuinfo_cur_freq")
        out[int(index)] = CpuFreq(int(index), cur, _mhz(f / "cpuinfo_max_freq"), _mhz(f / "scaling_max_freq"))
    return dict(sorted(out.items()))


def _mhz(path: Path) -> float | None:
    try:
        return int(path.read_text().split()[0]) / 1000.0
    except (OSError, ValueError, IndexError):
        return None
