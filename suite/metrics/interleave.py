"""Interleaved timing: the backends of one model x batch x size, each prepared once and kept warm
in one worker, timed in alternating rounds (a block of calls per backend per round, the order
reversed every other round: A B, B A, A B, ...) so that the machine's drift hits every side of a
comparison alike. A comparison's CI then comes from the paired rounds (suite.stats.paired_ratio_ci).

Each backend gets its cold call and warm-up first (suite.metrics.latency), then the rounds run
until every backend's median CI is within the target (or a cap). A backend whose call raises is
dropped from the rounds with its error; the others go on. The clock is injectable for tests.

Sharing a worker must change nothing else: at every switch from one backend to another (before
each cold call and warm-up, and between two backends' blocks) the backend that just ran is
quiesced and the worker settles until no other thread runs (suite.metrics.settle), outside the
timed calls. Inside its own block each runtime keeps its defaults (ORT's spinning pool included).
A block then starts with one untimed call (calls under REWARM_BELOW_MS): after a switch the
backend's threads have slept and its caches cooled, which made the first call of a block 6-8%
slower than the rest (resnet18 at 2 threads; the same after an idle gap with no other backend),
a cost a back-to-back loop never pays. Longer calls pay it once in hundreds of milliseconds.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from suite import stats
from suite.metrics.latency import (
    Clock,
    TimingPolicy,
    _time_once,
    summarize_latency,
    warm_up,
)
from suite.metrics.settle import Settled, settle
from suite.results.schema import LatencyResult

MIN_ROUNDS = 10  # paired rounds at least: the fewest whose median ratio has a 95% CI worth reading
REWARM_BELOW_MS = 50.0  # calls shorter than this get one untimed call at the start of each block


@dataclass
class Timed:
    """One backend in the rounds: its forward call, the context it runs in, and what it yields."""

    name: str
    fn: Callable[[], Any]
    items_per_call: int
    threads: int
    synchronized: bool = False
    context: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
    quiesce: Callable[[], None] = lambda: None  # stop what its runtime leaves running after a call
    # filled by interleave():
    cold_ms: float = 0.0
    warmup_ms: list[float] = field(default_factory=list)
    settled: bool = False
    block: int = 1
    rewarm: int = 0  # untimed calls at the start of each block
    rounds: list[list[float]] = field(default_factory=list)
    error: BaseException | None = None
    warmup_s: float = 0.0
    settle_ms: list[float] = field(default_factory=list)  # after each of its blocks (0: its own block came next)
    unsettled: int = 0  # switches after which another thread still ran at the settle cap

    @property
    def samples(self) -> list[float]:
        return [x for r in self.rounds for x in r]


@dataclass
class Interleaved:
    results: dict[str, LatencyResult]  # backend -> its latency (round_sizes set)
    errors: dict[str, BaseException]  # backend -> what its call raised (dropped from the rounds)
    stop_reason: str
    sampling_s: float  # wall time of the rounds, all backends together (settling included)
    warmup_s: dict[str, float]
    unsettled: dict[str, int] = field(default_factory=dict)  # backend -> switches it left a thread running
    rewarm: dict[str, int] = field(default_factory=dict)  # backend -> untimed calls at the start of each block


def switch_from(t: Timed | None, settle_fn: Callable[[], Settled] = settle) -> Settled:
    """Hand the cores over after `t` (None: whatever ran before) : its runtime's own quiesce, then
    wait until no other thread of the worker runs. A thread still running at the cap counts
    against `t`."""
    if t is not None:
        t.quiesce()
    done = settle_fn()
    if t is not None and done.still_running:
        t.unsettled += 1
    return done


def block_size(median_ms: float, policy: TimingPolicy) -> int:
    """Calls per backend per round: rounds of about min_time_s / MIN_ROUNDS each, at least one call."""
    target_ms = max(policy.min_time_s, 0.1) / MIN_ROUNDS * 1e3
    return max(1, round(target_ms / median_ms)) if median_ms > 0 else 1


def interleave(timed: list[Timed], policy: TimingPolicy, clock: Clock = time.perf_counter_ns,
               settle_fn: Callable[[], Settled] = settle) -> Interleaved:
    errors: dict[str, BaseException] = {}
    warmup_s: dict[str, float] = {}
    live: list[Timed] = []
    previous: Timed | None = None  # before the first cold call: the parity checks ran every backend
    for t in timed:
        switch_from(previous, settle_fn)
        previous = t
        t0 = clock()
        try:
            with t.context():
                t.cold_ms = _time_once(t.fn, clock)
                t.warmup_ms, t.settled = warm_up(t.fn, policy, clock)
        except Exception as exc:  # noqa: BLE001 - this backend's case fails, the others go on
            errors[t.name] = exc
            continue
        finally:
            warmup_s[t.name] = (clock() - t0) / 1e9
        typical = statistics.median(t.warmup_ms[-policy.settle_window:]) if t.warmup_ms else t.cold_ms
        t.block = block_size(typical, policy)
        t.rewarm = 1 if typical < REWARM_BELOW_MS else 0
        live.append(t)
    if live and previous is not live[0]:
        switch_from(previous, settle_fn)
    start = clock()
    settling_ns = 0  # the budget counts timed blocks, not the waits and untimed calls between them
    reason = "ci_target"
    rounds = 0
    next_check = MIN_ROUNDS
    while live:
        order = list(live if rounds % 2 == 0 else live[::-1])
        for i, t in enumerate(order):
            block: list[float] = []
            failed = False
            try:
                with t.context():
                    r0 = clock()
                    for _ in range(t.rewarm):
                        t.fn()
                    settling_ns += clock() - r0
                    for _ in range(t.block):
                        block.append(_time_once(t.fn, clock))
            except Exception as exc:  # noqa: BLE001
                errors[t.name] = exc
                live.remove(t)
                failed = True
            waited_ms = 0.0
            if i + 1 < len(order):  # another backend's block follows (the next round starts with this one)
                s0 = clock()
                waited_ms = round(switch_from(t, settle_fn).ms, 3)
                settling_ns += clock() - s0
            if not failed:
                t.rounds.append(block)
                t.settle_ms.append(waited_ms)
        rounds += 1
        elapsed = (clock() - start - settling_ns) / 1e9
        if any(sum(len(r) for r in t.rounds) >= policy.max_iters for t in live):
            reason = "max_iters"
            break
        if elapsed >= policy.max_time_s * max(1, len(live)):
            reason = "time_cap"
            break
        enough = rounds >= MIN_ROUNDS and elapsed >= policy.min_time_s * len(live) and all(
            len(t.samples) >= policy.min_iters for t in live)
        if enough and rounds >= next_check:
            next_check = rounds + max(1, rounds // 10)
            if all(stats.ci_half_width_ratio(t.samples, policy.ci_level) <= policy.ci_target for t in live):
                break
    sampling_s = (clock() - start) / 1e9
    names = [t.name for t in timed]
    results = {}
    for t in timed:
        if t.name in errors or not t.rounds:
            continue
        samples = t.samples
        results[t.name] = LatencyResult(
            cold_ms=t.cold_ms, warmup_ms=t.warmup_ms, samples_ms=samples, warmup_settled=t.settled,
            stop_reason=reason, threads=t.threads, synchronized=t.synchronized,
            summary=summarize_latency(samples, t.items_per_call, policy.ci_level),
            round_sizes=[len(r) for r in t.rounds], interleaved_with=[n for n in names if n != t.name],
            settle_ms=t.settle_ms,
        )
    return Interleaved(results=results, errors=errors, stop_reason=reason, sampling_s=sampling_s, warmup_s=warmup_s,
                       unsettled={t.name: t.unsettled for t in timed if t.unsettled},
                       rewarm={t.name: t.rewarm for t in timed})

