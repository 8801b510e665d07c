"""Cool-down between cases: wait until the CPU is below a temperature, with a cap.

A board that is still hot from the previous case starts the next one throttled (a Pi 4
without a heatsink passes 80 C within minutes). Waiting costs time; the cap keeps a board
that never cools (a hot room, no airflow) from stalling the run, and the case is flagged."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

POLL_S = 2.0


@dataclass(frozen=True)
class CooldownResult:
    start_c: float
    end_c: float
    waited_s: float
    reached: bool

    @property
    def flag(self) -> str | None:
        if self.reached:
            return None
        return (f"cool-down: CPU still at {self.end_c:.1f} °C after waiting {self.waited_s:.0f} s "
                "(the case started warm)")


def wait_for_cooldown(read_temp_c: Callable[[], float | None], target_c: float, max_wait_s: float, *,
                      poll_s: float = POLL_S, sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.monotonic,
                      on_wait: Callable[[float, float], None] | None = None) -> CooldownResult | None:
    """Block until `read_temp_c()` < target_c or max_wait_s has passed. None when no wait was
    needed (already cool, or no sensor). `on_wait(temp_c, waited_s)` is called at each poll,
    the first time with waited_s == 0.0."""
    temp = read_temp_c()
    if temp is None or temp < target_c:
        return None
    start_temp, t0 = temp, clock()
    waited = 0.0  # exactly 0 at the first report: listeners announce the wait once on it
    while True:
        if on_wait is not None:
            on_wait(temp, waited)
        if waited >= max_wait_s:
            return CooldownResult(start_temp, temp, waited, reached=False)
        sleep(min(poll_s, max(max_wait_s - waited, 0.0)))
        now = read_temp_c()
        if now is None:  # the sensor went away: stop waiting for it
            return CooldownResult(start_temp, temp, clock() - t0, reached=False)
        temp = now
        waited = clock() - t0
        if temp < target_c:
            return CooldownResult(start_temp, temp, waited, reached=True)
