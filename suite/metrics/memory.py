"""Peak resident memory during a case.

On Linux the kernel keeps the peak itself (VmHWM): it is reset on entry (writing 5 to
/proc/self/clear_refs) and read on exit, with no thread waking up during the timed loop.
Elsewhere, or where the reset is refused, a background thread samples RSS (psutil)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from suite.worker import status_bytes

if TYPE_CHECKING:
    from torch import nn


class PeakRSS:
    """Context manager: this process's peak RSS between entry and exit (`before`, `peak`, `method`)."""

    def __init__(self, interval_s: float = 0.01) -> None:
        import psutil

        self._proc = psutil.Process()
        self.interval_s = interval_s
        self.before = self._proc.memory_info().rss
        self.peak = self.before
        self.method = "psutil sampling"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self) -> None:
        rss = self._proc.memory_info().rss
        if rss > self.peak:
            self.peak = rss

    def __enter__(self) -> PeakRSS:
        if _reset_peak():
            self.method = "kernel high-water mark (VmHWM)"
        else:
            self._thread = threading.Thread(target=self._loop, name="bench-rss", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        else:
            hwm = status_bytes("VmHWM")
            if hwm is not None:
                self.peak = max(self.peak, hwm)
        self.sample()


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux >= 4.0); False where refused."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return status_bytes("VmHWM") is not None


def model_bytes(model: nn.Module | None) -> int:
    if model is None:
        return 0
    return sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))
