"""suite.machine.monitor.cooldown: wait below a temperature, with a cap. A scripted sensor and a
clock the sleeps advance give every figure by hand (2 s polls: 70, 65, 59 degrees -> 4 s)."""

from __future__ import annotations

from suite.machine.monitor.cooldown import POLL_S, CooldownResult, wait_for_cooldown


class Board:
    def __init__(self, temps):
        self.temps = list(temps)
        self.t = 0.0
        self.sleeps: list[float] = []

    def read(self):
        return self.temps.pop(0) if self.temps else None

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s

    def clock(self) -> float:
        return self.t


def _wait(board: Board, target: float = 60.0, cap: float = 600.0, **kw):
    return wait_for_cooldown(board.read, target, cap, sleep=board.sleep, clock=board.clock, **kw)


def test_no_wait_when_already_cool_or_without_a_sensor():
    assert _wait(Board([55.0])) is None
    assert _wait(Board([None])) is None


def test_waits_in_polls_until_below_the_target_and_reports_each_poll():
    board = Board([70.0, 65.0, 59.0])
    seen = []
    res = _wait(board, on_wait=lambda temp, waited: seen.append((temp, waited)))
    assert res == CooldownResult(start_c=70.0, end_c=59.0, waited_s=2 * POLL_S, reached=True)
    assert res.flag is None
    assert seen == [(70.0, 0.0), (65.0, POLL_S)]
    assert board.sleeps == [POLL_S, POLL_S]


def test_the_cap_ends_the_wait_and_flags_the_case():
    board = Board([80.0] * 10)
    res = _wait(board, cap=5.0)
    # polls of 2, 2, then the 1 s left: 5 s in all
    assert board.sleeps == [2.0, 2.0, 1.0]
    assert res == CooldownResult(start_c=80.0, end_c=80.0, waited_s=5.0, reached=False)
    assert res.flag == "cool-down: CPU still at 80.0 °C after waiting 5 s (the case started warm)"


def test_a_sensor_that_goes_away_stops_the_wait():
    board = Board([75.0, 72.0])
    res = _wait(board)
    assert res.reached is False and res.end_c == 72.0 and res.waited_s == 2 * POLL_S
