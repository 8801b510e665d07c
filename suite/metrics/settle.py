"""Between two backends' blocks of calls: wait until no other thread of this worker is running.

Runtimes keep worker threads busy after a call returns, to answer the next call sooner: ONNX
Runtime's intra-op pool spins about 1M pause iterations before it sleeps (45 ms measured after a
resnet18/mobilenet run at 2 threads on a 2-core x86 VM), libgomp's threads spin up to
GOMP_SPINCOUNT after a torch op (about 7 ms there), Intel OpenMP 200 ms (KMP_BLOCKTIME), and
XNNPACK's and OpenVINO's pools behave alike. Inside a backend's own block that is what its users
deploy; across a block boundary it steals the cores of the next backend's block (eager timed
interleaved with ORT at 2 threads ran x1.4-1.6 slower than alone; onnxruntime issue 13808).

So the interleaved rounds settle at every switch from one backend to another: first the backend's
own `quiesce()` (a runtime that can stop its pool says how), then this module waits until every
other thread of the process is asleep, reading each thread's state from /proc/self/task/*/stat
(R = running or runnable). Settling is outside the timed calls; how long it took is stored per
block (`latency.settle_ms`), and a thread still running at the cap is reported, never hidden.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_SETTLE_S = 0.5  # Intel OpenMP's 200 ms KMP_BLOCKTIME with room to spare
POLL_S = 0.0002
FALLBACK_WAIT_S = 0.06  # no /proc (not Linux): ORT's measured spin (45 ms) with room to spare
TASKS = "/proc/self/task"
METHOD = "waited until no other thread of the worker was running (/proc/self/task/*/stat)"
FALLBACK_METHOD = f"waited a fixed {FALLBACK_WAIT_S * 1e3:g} ms (thread states are not readable here)"


@dataclass(frozen=True)
class Settled:
    ms: float  # how long the wait took
    still_running: int  # threads still running at the cap (0: settled)


def running_threads(root: str = TASKS, exclude: int | None = None) -> int | None:
    """Threads of this process in state R (running or runnable) besides `exclude` (default: the
    calling thread); None where thread states cannot be read (no /proc)."""
    me = threading.get_native_id() if exclude is None else exclude
    try:
        tids = os.listdir(root)
    except OSError:
        return None
    running = 0
    for tid in tids:
        if tid == str(me):
            continue
        try:
            with open(f"{root}/{tid}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:  # the thread exited meanwhile
            continue
        # "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
        end = stat.rfind(b")")
        if end >= 0 and stat[end + 2:end + 3] == b"R":
            running += 1
    return running


def settle(max_s: float = MAX_SETTLE_S, *, poll_s: float = POLL_S,
           count: Callable[[], int | None] = running_threads,
           clock: Callable[[], float] = time.perf_counter, sleep: Callable[[float], None] = time.sleep) -> Settled:
    """Wait (at most `max_s`) until `count()` finds no other running thread."""
    t0 = clock()
    running = count()
    if running is None:
        sleep(FALLBACK_WAIT_S)
        return Settled(ms=(clock() - t0) * 1e3, still_running=0)
    while running:
        if clock() - t0 >= max_s:
            break
        sleep(poll_s)
        running = count()
    return Settled(ms=(clock() - t0) * 1e3, still_running=running or 0)


def method() -> str:
    """How `settle` waits on this machine, for the case's record."""
    return METHOD if running_threads() is not None else FALLBACK_METHOD
