"""Drawing in forked workers: figures are independent, and drawing is nearly all of a large
report's render time, so they are drawn in forked processes when there are cores to spare and
fork is safe. The pool knows nothing of figures: it calls `job(i)` for each index."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

_FORKED_JOB: Callable[[int], object] | None = None  # what forked workers call (inherited, never pickled)


def map_forked(job: Callable[[int], T], costs: Sequence[float], workers: int) -> list[T] | None:
    """[job(0), job(1), ...] (one per cost) computed by `workers` forked processes, the most
    expensive first so that the cores stay busy; None where a pool cannot be had (the caller
    then calls the jobs itself). The results come back pickled; the job itself is not."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _FORKED_JOB
    _FORKED_JOB = job
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {i: pool.submit(_run_forked, i) for i in sorted(range(len(costs)), key=costs.__getitem__,
                                                                      reverse=True)}
            return [futures[i].result() for i in range(len(costs))]
    except (OSError, BrokenProcessPool):
        return None
    finally:
        _FORKED_JOB = None


def _run_forked(index: int):
    assert _FORKED_JOB is not None, "called outside map_forked"
    return _FORKED_JOB(index)


def usable_cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))  # a container's CPU set, not the host's
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def fork_is_safe() -> bool:
    """Fork only a process with no other threads (a lock held by one would never be released in
    the child) and no torch loaded (its thread pools do not survive a fork): in `bench report`,
    not at the end of a `bench run` with progress and monitor threads."""
    import multiprocessing
    import sys
    import threading

    return ("fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
            and "torch" not in sys.modules)
