"""suite/machine/core_latency.py: the cores' round trip, against its C reference
(benchmarks/core_round_trip.c, compiled here) measured right before and after it, and against two
processes sharing one CPU (every hop then waits for the scheduler: milliseconds, not nanoseconds)."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
from pathlib import Path

from suite.machine.core_latency import core_round_trip

C_SOURCE = Path(__file__).resolve().parents[3] / "benchmarks" / "core_round_trip.c"
TWO_CPUS = len(os.sched_getaffinity(0)) >= 2


def test_no_pinning_gives_no_figure(monkeypatch):
    monkeypatch.delattr(os, "sched_setaffinity")  # as on macOS
    assert core_round_trip() is None


def test_two_cpus_are_far_faster_than_one_shared_cpu():
    if not TWO_CPUS:  # one CPU: nothing to bounce between, and the probe says so
        assert core_round_trip() is None
        return
    first, second = sorted(os.sched_getaffinity(0))[:2]
    apart = core_round_trip((first, second))
    shared = core_round_trip((first, first), batches=3, hops=100)
    assert apart is not None and shared is not None
    assert apart.cpus == (first, second) and f"CPUs {first} and {second}" in apart.method
    assert 10 < apart.ns < 20_000 and shared.ns > 20 * apart.ns


def test_the_python_probe_follows_the_c_loop(tmp_path):
    if not TWO_CPUS:
        assert core_round_trip() is None
        return
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc is not None, "no C compiler (scripts/setup.sh's machine has gcc): the reference cannot be built"
    exe = tmp_path / "core_round_trip"
    subprocess.run([cc, "-O2", "-pthread", "-o", str(exe), str(C_SOURCE)], check=True)

    def c_loop() -> float:
        return float(subprocess.run([str(exe), "50000"], capture_output=True, text=True, check=True).stdout.split()[1])

    ratios = []
    for _ in range(9):  # the host can move the cores between two measurements: keep steady rounds only
        before = c_loop()
        trip = core_round_trip()
        after = c_loop()
        assert trip is not None
        if max(before, after) / min(before, after) < 1.3:
            ratios.append(trip.ns / ((before + after) / 2))
    assert len(ratios) >= 3, f"the C loop never held still: {ratios}"
    # 2026-12-04, this VM: 1.9-2.3x the C loop at 80-90 ns, 0.9-1.1x at 350-390 ns (the interpreter's own
    # loop counts for less when the line itself is slow)
    assert 0.7 < statistics.median(ratios) < 3.5, ratios
