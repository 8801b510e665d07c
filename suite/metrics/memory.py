"""Peak resident memory during a case, sampled in a background thread (psutil)."""

from __future__ import annotations

import threading
from typing import Any


class PeakRSS:
    """Context manager: samples this process's RSS every `interval_s` and keeps the peak."""

    def __init__(self, interval_s: float = 0.01):
        import psutil

        self._proc = psutil.Process()
        self.interval_s = interval_s
        self.before = self._proc.memory_info().rss
        self.peak = self.before
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
        self._thread = threading.Thread(target=self._loop, name="bench-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.sample()


def model_bytes(model: Any) -> int:
    if model is None:
        return 0
    return sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))
