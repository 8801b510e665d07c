"""suite.report.figures.pool: drawing in forked workers. The results come back in job order
whatever order the workers finish in, from real forked processes; a pool that cannot be had
gives None so the caller draws the jobs itself."""

from __future__ import annotations

import os
import time

from suite.report.figures import pool


def test_results_come_back_in_job_order_from_other_processes():
    parent = os.getpid()

    def job(i: int):
        time.sleep(0.05 * (3 - i))  # the first job finishes last
        return i * i, os.getpid()

    out = pool.map_forked(job, costs=[1, 5, 2, 9], workers=2)
    assert [v for v, _ in out] == [0, 1, 4, 9]
    assert all(pid != parent for _, pid in out)
    assert pool._FORKED_JOB is None  # nothing left behind for a later pool


def test_usable_cores_are_the_affinity_set():
    assert pool.usable_cores() == len(os.sched_getaffinity(0))


def test_fork_is_refused_with_threads_or_torch_loaded():
    import sys
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert pool.fork_is_safe() is False  # another thread could hold a lock across the fork
    finally:
        stop.set()
        t.join()
    assert pool.fork_is_safe() is (threading.active_count() == 1 and "torch" not in sys.modules)
