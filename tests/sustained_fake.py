"""A fake Raspberry Pi 4 that heats up under load (for the sustained-run tests): the cpufreq tree of
tests/fixtures/sysfs/cpufreq-rpi4 (cpu<N>/cpufreq links to policy0, as on the board) and the thermal
zone of thermal-rpi4-hot, copied into a temporary root; a thread writes the zone's temperature as it
climbs and, at a set moment, lowers scaling_max_freq and scaling_cur_freq as the firmware's cooling
device does, remembering the wall time it did so."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sysfs"
POLICY = "sys/devices/system/cpu/cpufreq/policy0"
ZONE = "sys/class/thermal/thermal_zone0"


def fake_pi(root: Path, temp_c: float = 50.0) -> Path:
    shutil.copytree(FIXTURES / "cpufreq-rpi4", root, symlinks=True)
    shutil.copytree(FIXTURES / "thermal-rpi4-hot" / "sys" / "class", root / "sys" / "class")
    (root / ZONE / "temp").write_text(f"{round(temp_c * 1000)}\n")
    return root


class Heater(threading.Thread):
    """From `start()`: the temperature climbs `rate_c_s` per second from `from_c`; at `drop_after_s`
    the clock cap drops from 1800 to `drop_to_mhz` (wall time in `dropped_at`)."""

    def __init__(self, root: Path, *, from_c: float = 50.0, rate_c_s: float = 10.0, drop_after_s: float = 1.0,
                 drop_to_mhz: int = 1200) -> None:
        super().__init__(daemon=True)
        self.root, self.from_c, self.rate, self.drop_after = root, from_c, rate_c_s, drop_after_s
        self.drop_khz = drop_to_mhz * 1000
        self.dropped_at: float | None = None
        self.halt = threading.Event()

    def run(self) -> None:
        t0 = time.time()
        while not self.halt.wait(0.01):
            elapsed = time.time() - t0
            write(self.root / ZONE / "temp", f"{round((self.from_c + self.rate * elapsed) * 1000)}\n")
            if self.dropped_at is None and elapsed >= self.drop_after:
                # the time before the writes: a reader can see the new cap only after it (taken after the
                # writes, a window ending in between saw the drop "before" it happened; a CI run caught it)
                at = time.time()
                for name in ("scaling_max_freq", "scaling_cur_freq"):
                    write(self.root / POLICY / name, f"{self.drop_khz}\n")
                self.dropped_at = at


def write(path: Path, text: str) -> None:
    """Whole or not at all, as a sysfs read never sees half a value."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
