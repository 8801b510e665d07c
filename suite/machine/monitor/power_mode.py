"""Jetson power mode and GPU clock, from plain files (no root, no nvpmodel binary needed).

Power mode: /var/lib/nvpmodel/status holds the active mode as `pmode:0002` (written by
nvpmodel itself); /etc/nvpmodel.conf names the modes with lines such as
`< POWER_MODEL ID=2 NAME=MAXN_SUPER >`. The fastest mode is not always id 0.

GPU clock: the integrated GPU is a devfreq device, /sys/class/devfreq/<addr>.gpu (Nano,
Orin) or <addr>.ga10b / .gv11b / .gp10b, whose device/of_node/name is "gpu" or the GPU's
code name; cur_freq, max_freq (the ceiling in force) and available_frequencies are in Hz."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from suite.machine.host import is_tegra
from suite.machine.host import read_text as _read

STATUS_FILE = "var/lib/nvpmodel/status"
CONF_FILE = "etc/nvpmodel.conf"
DEVFREQ_DIR = "sys/class/devfreq"
GPU_NAMES = ("gpu", "ga10b", "gv11b", "gp10b", "gb10b", "gm20b")
_PMODE_RE = re.compile(r"pmode:0*(\d+)")
_MODEL_RE = re.compile(r"<\s*POWER_MODEL\s+ID=(\d+)\s+NAME=([A-Za-z0-9_]+)")


@dataclass(frozen=True)
class GpuClock:
    device: str
    cur_mhz: float | None
    cap_mhz: float | None  # max_freq: the ceiling in force
    hw_max_mhz: float | None  # the highest of available_frequencies


def is_jetson(root: Path) -> bool:
    return (root / CONF_FILE).is_file() or is_tegra(root)


def mode_names(root: Path) -> dict[int, str]:
    try:
        text = (root / CONF_FILE).read_text(errors="replace")
    except OSError:
        return {}
    return {int(i): name for i, name in _MODEL_RE.findall(text)}


def power_mode(root: Path, names: dict[int, str] | None = None) -> str | None:
    """The active power mode's name (e.g. "MAXN"), "mode 3" when the conf does not name it,
    None when this is not a Jetson or the status file is unreadable. `names`: mode_names(root),
    read once by a caller that asks repeatedly (the conf does not change while the suite runs)."""
    try:
        status = (root / STATUS_FILE).read_text(errors="replace")
    except OSError:
        return None
    m = _PMODE_RE.search(status)
    if m is None:
        return None
    mode_id = int(m.group(1))
    if names is None:
        names = mode_names(root)
    return names.get(mode_id, f"mode {mode_id}")


def find_gpu(root: Path) -> Path | None:
    base = root / DEVFREQ_DIR
    if not base.is_dir():
        return None
    for d in sorted(base.iterdir()):
        name = _read(d / "device/of_node/name") or d.name.rsplit(".", 1)[-1]
        if name.lower() in GPU_NAMES:
            return d
    return None


def gpu_clock(device: Path) -> GpuClock:
    avail = [_hz_to_mhz(x) for x in (_read(device / "available_frequencies") or "").split()]
    avail_mhz = [a for a in avail if a is not None]
    return GpuClock(
        device=device.name, cur_mhz=_hz_to_mhz(_read(device / "cur_freq")),
        cap_mhz=_hz_to_mhz(_read(device / "max_freq")), hw_max_mhz=max(avail_mhz) if avail_mhz else None,
    )


def _hz_to_mhz(text: str | None) -> float | None:
    try:
        return int(text) / 1e6 if text is not None else None
    except ValueError:
        return None
