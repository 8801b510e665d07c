"""How long one cache line takes to go from one CPU to another and back: the cost of every
synchronisation between a runtime's threads.

On a VM the host decides where the guest's virtual CPUs run, and can change it while they run. On
this project's 2-vCPU EPYC VM (2026-12-04) the round trip between CPU 0 and CPU 1 switched between
about 87 ns and 375 ns (a C loop, benchmarks/core_round_trip.c) for seconds to minutes at a time.
In the slow state mobilenet_v3_small's ONNX Runtime calls at 2 threads took 1.06 ms instead of
0.60 ms (122 operators, each split between the two threads and joined again: about 4 us more per
operator), while single-threaded calls did not slow down (0.91 against 0.94 ms). 87 ns is what two
cores sharing a cache take on such a CPU, 375 ns what cores further apart take: the likeliest
reading is the host running the two vCPUs on nearby or distant cores. A figure measured in one
state and compared with one from the other says nothing about the suite: `bench audit` probes
this before each mode and says so.

The probe is plain Python, so that it runs in every image without a compiler: two fresh
processes pinned to two CPUs bounce a counter in shared memory; the figure is the fastest batch's
mean round trip, interpreter included. Alternated with the C loop here (benchmarks/core_round_trip.py,
30 rounds): 162-193 ns while the C loop gave 82-104 ns, 348-403 ns while it gave 359-380 ns; the
probe alone sorted 29 of the 30 rounds' ORT figures into the two speeds.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from multiprocessing import get_context, shared_memory

METHOD = ("two fresh Python processes pinned to CPUs {a} and {b} bounce a counter in shared memory, "
          "{batches} batches of {hops} round trips; the fastest batch's mean (includes the interpreter's loop)")


@dataclass(frozen=True)
class RoundTrip:
    ns: float  # the fastest batch's mean round trip
    cpus: tuple[int, int]
    method: str


def _buf(shm: shared_memory.SharedMemory) -> memoryview:
    buf = shm.buf
    if buf is None:
        raise RuntimeError(f"shared memory {shm.name} is closed")
    return buf


def _pong(name: str, cpu: int, total: int) -> None:
    os.sched_setaffinity(0, {cpu})
    shm = shared_memory.SharedMemory(name=name)
    m = _buf(shm).cast("q")
    try:
        k = 1
        for _ in range(total):
            while m[0] != k:
                pass
            m[0] = k + 1
            k += 2
    finally:
        m.release()
        shm.close()


def _ping(name: str, cpu: int, batches: int, hops: int, result: shared_memory.SharedMemory) -> None:
    os.sched_setaffinity(0, {cpu})
    shm = shared_memory.SharedMemory(name=name)
    m = _buf(shm).cast("q")
    out = _buf(result).cast("d")
    try:
        k = 1
        for b in range(batches):
            t0 = time.perf_counter()
            for _ in range(hops):
                m[0] = k
                while m[0] != k + 1:
                    pass
                k += 2
            out[b] = (time.perf_counter() - t0) / hops * 1e9
    finally:
        m.release()
        out.release()
        shm.close()


def core_round_trip(cpus: tuple[int, int] | None = None, batches: int = 7, hops: int = 20000,
                    timeout_s: float = 30.0) -> RoundTrip | None:
    """The round trip between two CPUs (default: the first two this process may run on), or None
    with fewer than two CPUs, where a process cannot be pinned, or when the probe's processes fail.
    The caller's own affinity is not touched."""
    if not hasattr(os, "sched_setaffinity"):  # macOS, Windows: no pinning, no figure
        return None
    if cpus is None:
        allowed = sorted(os.sched_getaffinity(0))
        if len(allowed) < 2:
            return None
        cpus = (allowed[0], allowed[1])
    try:
        return _measure(cpus, batches, hops, timeout_s)
    except OSError:  # no /dev/shm, no processes left: an audit goes on without the figure
        return None


def _measure(cpus: tuple[int, int], batches: int, hops: int, timeout_s: float) -> RoundTrip | None:
    ctx = get_context("spawn")  # fresh processes: nothing of the caller's threads or imports
    line = shared_memory.SharedMemory(create=True, size=64)
    try:
        result = shared_memory.SharedMemory(create=True, size=8 * batches)
    except OSError:
        line.close()
        line.unlink()
        raise
    m = _buf(line).cast("q")
    m[0] = 0
    m.release()
    procs = [ctx.Process(target=_pong, args=(line.name, cpus[1], batches * hops), daemon=True),
             ctx.Process(target=_ping, args=(line.name, cpus[0], batches, hops, result), daemon=True)]
    try:
        for p in procs:
            p.start()
        deadline = time.monotonic() + timeout_s
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
        if any(p.is_alive() or p.exitcode != 0 for p in procs):
            return None
        view = _buf(result).cast("d")
        values = list(view)
        view.release()
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
        for shm in (line, result):
            shm.close()
            shm.unlink()
    # the first batch warms both processes up; the fastest of the rest is the floor of this state
    best = min(values[1:]) if len(values) > 1 else values[0]
    return RoundTrip(ns=best, cpus=cpus, method=METHOD.format(a=cpus[0], b=cpus[1], batches=batches, hops=hops))
