"""Stop signals as an exception, so that a run saves what it has before it stops."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

# What signal.getsignal returns: a Python handler, SIG_DFL / SIG_IGN, or None (set outside Python).
Handler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None


class StopRequested(KeyboardInterrupt):
    """SIGINT, SIGTERM (what `docker stop` sends) or SIGHUP, turned into an exception so that a
    run saves what it has before it stops. A KeyboardInterrupt, so code that handles Ctrl-C
    handles all three; `exit_code` is the shell's 128 + signal number."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, the stop signals raise StopRequested in the main thread. A signal the
    process was started with ignored (nohup, a background job) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: FrameType | None) -> None:
        raise StopRequested(signum)

    previous = _install(_raise)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def stop_signals_deferred(act_after: bool = True) -> Iterator[list[int]]:
    """Within the block the stop signals are remembered instead of acted on, so that a save is
    never cut in half: a second Ctrl-C while the rescue save of the first is writing would
    otherwise lose the cases it was saving. After the block, the first signal remembered is
    acted on as its handler would have (unless `act_after` is False: the run is already
    stopping for another one). Yields the list of signals received."""
    pending: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return

    def _remember(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous = _install(_remember, skip_unknown=True)
    try:
        yield pending
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if pending and act_after:
        handler = previous[pending[0]]
        if callable(handler):
            handler(pending[0], None)  # raises StopRequested (or KeyboardInterrupt for Python's SIGINT)
        else:  # SIG_DFL: end the process as the signal would have
            os.kill(os.getpid(), pending[0])


def _install(handler: Callable[[int, FrameType | None], None], skip_unknown: bool = False) -> dict[int, Handler]:
    """`handler` for every stop signal this platform has, except those the process was started
    with ignored (nohup, a background job) - and, with `skip_unknown`, those whose handler was
    set outside Python. Returns the handlers it replaced."""
    previous: dict[int, Handler] = {}
    for name in STOP_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        current = signal.getsignal(sig)
        if current == signal.SIG_IGN or (skip_unknown and current is None):
            continue
        previous[sig] = current
        signal.signal(sig, handler)
    return previous
