"""The interleaving scheduler on an injected clock: fake forward passes whose cost is known and a
machine that slows down half-way. The rounds alternate (A B, B A, ...), each side keeps its
blocks, the paired per-round ratio is unmoved by the slow-down while the ratio of the two
sides' medians is not, a failing backend is dropped with its error, and phases add up."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from suite.metrics.interleave import MIN_ROUNDS, Timed, block_size, interleave
from suite.metrics.latency import TimingPolicy, time_forward, warm_up
from suite.stats import paired_round_ratios, split_runs

POLICY = TimingPolicy(warmup_min=3, warmup_max=10, min_iters=10, min_time_s=0.5, max_time_s=5.0, ci_target=0.02)


class Machine:
    """A clock in ns that forward passes advance; it slows down 2x after `slow_after_s`."""

    def __init__(self, slow_after_s: float = 1e9):
        self.now = 0
        self.slow_after_s = slow_after_s
        self.calls: list[str] = []

    def clock(self) -> int:
        return self.now

    def fn(self, name: str, ms: float):
        def run():
            factor = 2.0 if self.now / 1e9 >= self.slow_after_s else 1.0
            self.now += int(ms * factor * 1e6)
            self.calls.append(name)
        return run


def test_rounds_alternate_abba_in_blocks_and_the_pairing_cancels_a_slow_down():
    m = Machine(slow_after_s=0.9)
    timed = [Timed("eager", m.fn("eager", 20.0), 1, 2), Timed("ort", m.fn("ort", 5.0), 1, 2)]
    out = interleave(timed, POLICY, clock=m.clock)
    assert not out.errors and out.stop_reason == "ci_target"
    eager, ort = out.results["eager"], out.results["ort"]
    # blocks: rounds of min_time_s / MIN_ROUNDS = 50 ms each -> 2-3 calls of 20 ms, 10 of 5 ms
    assert block_size(20.0, POLICY) == round(50 / 20) and block_size(5.0, POLICY) == 10
    assert set(eager.round_sizes) == {2} and set(ort.round_sizes) == {10}
    assert len(eager.round_sizes) == len(ort.round_sizes) >= MIN_ROUNDS
    assert eager.interleaved_with == ["ort"] and ort.interleaved_with == ["eager"]
    # the call order after warm-up: eager x2, ort x10, then ort x10, eager x2, ..., each block led
    # by one untimed call (calls under REWARM_BELOW_MS)
    rounds = len(eager.round_sizes)
    timed_calls = m.calls[-(sum(eager.round_sizes) + sum(ort.round_sizes) + 2 * rounds):]
    expected = []
    for r in range(rounds):
        pair = [["eager"] * 3, ["ort"] * 11]
        expected += sum(pair if r % 2 == 0 else pair[::-1], [])
    assert timed_calls == expected
    # the machine slowed 2x during the rounds: the medians of each side moved, the paired ratios did not
    ratios = paired_round_ratios(split_runs(eager.samples_ms, eager.round_sizes),
                                 split_runs(ort.samples_ms, ort.round_sizes))
    slow = [x for x in eager.samples_ms if x > 30]
    assert slow, "the slow-down must fall inside the rounds for this test to mean something"
    pairs_straddling = sum(1 for r in ratios if abs(r - 0.25) > 1e-9)
    assert pairs_straddling <= 1  # only the round the slow-down started in
    assert statistics.median(ratios) == pytest.approx(0.25)
    assert np.all(np.asarray(eager.samples_ms) > 0) and out.sampling_s > 0
    assert out.warmup_s["eager"] == pytest.approx((eager.cold_ms + sum(eager.warmup_ms)) / 1e3)


def test_a_backend_that_raises_is_dropped_and_the_other_goes_on():
    m = Machine()
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        m.now += 5_000_000
        if calls["n"] > 20:
            raise RuntimeError("kernel died")

    timed = [Timed("eager", m.fn("eager", 10.0), 1, 1), Timed("ort", flaky, 1, 1)]
    out = interleave(timed, POLICY, clock=m.clock)
    assert isinstance(out.errors["ort"], RuntimeError) and "ort" not in out.results
    assert out.results["eager"].summary.n >= POLICY.min_iters


def test_time_cap_scales_with_the_backends_in_the_rounds():
    m = Machine()
    noise = np.random.default_rng(0)

    def noisy(name):
        def run():
            m.now += int(noise.lognormal(np.log(10e6), 0.8))
        return run

    timed = [Timed("a", noisy("a"), 1, 1), Timed("b", noisy("b"), 1, 1)]
    policy = TimingPolicy(warmup_min=1, warmup_max=2, min_iters=10, min_time_s=0.5, max_time_s=1.0, ci_target=0.001)
    out = interleave(timed, policy, clock=m.clock)
    assert out.stop_reason == "time_cap"
    timed_s = sum(sum(r.samples_ms) for r in out.results.values()) / 1e3
    assert 2.0 <= timed_s < 2.2  # max_time_s per backend in the rounds, untimed calls aside
    assert out.sampling_s > timed_s


def test_slow_forward_passes_warm_up_in_warmup_min_calls_and_phases_are_timed():
    m = Machine()
    samples, settled = warm_up(m.fn("big", 1500.0), POLICY, m.clock)
    assert len(samples) == POLICY.warmup_min and settled
    m2 = Machine()
    phases: dict[str, float] = {}
    res = time_forward(m2.fn("x", 10.0), items_per_call=1, policy=POLICY, threads=1, clock=m2.clock, phases=phases)
    assert phases["warmup"] == pytest.approx((res.cold_ms + sum(res.warmup_ms)) / 1e3)
    assert phases["sampling"] == pytest.approx(sum(res.samples_ms) / 1e3)


class Settler:
    """A fake settle: records each switch, advances the machine's clock by `wait_ms`, and can say a
    thread was still running."""

    def __init__(self, machine: Machine, wait_ms: float = 0.0, still_running: int = 0):
        from suite.metrics.settle import Settled

        self.m, self.wait_ms, self.still, self.Settled = machine, wait_ms, still_running, Settled
        self.at: list[int] = []  # index into machine.calls when each switch happened

    def __call__(self):
        self.at.append(len(self.m.calls))
        self.m.now += int(self.wait_ms * 1e6)
        return self.Settled(ms=self.wait_ms, still_running=self.still)


def test_every_switch_to_another_backend_settles_and_quiesces_and_nothing_else_does():
    m = Machine()
    settler = Settler(m, wait_ms=40.0)
    quiesced = []
    timed = [Timed("a", m.fn("a", 2.0), 1, 1, quiesce=lambda: quiesced.append("a")),
             Timed("b", m.fn("b", 5.0), 1, 1, quiesce=lambda: quiesced.append("b"))]
    out = interleave(timed, POLICY, clock=m.clock, settle_fn=settler)
    calls = m.calls
    switches = {i for i in range(1, len(calls)) if calls[i] != calls[i - 1]}
    # a settle right before every change of backend (and before the first cold call), never inside a block
    assert switches <= set(settler.at)
    assert set(settler.at) - switches == {0}
    for name in ("a", "b"):
        lat = out.results[name]
        assert len(lat.settle_ms) == len(lat.round_sizes)
    # rounds A B | B A | A B ...: A's block is followed by B's in even rounds, B's by A's in odd ones
    assert out.results["a"].settle_ms[0::2] == [40.0] * len(out.results["a"].settle_ms[0::2])
    assert set(out.results["a"].settle_ms[1::2]) <= {0.0}
    assert set(out.results["b"].settle_ms[0::2]) <= {0.0}
    # each switch after a backend's block quiesces that backend first
    assert quiesced.count("a") + quiesced.count("b") == len(settler.at) - 1
    assert out.unsettled == {}


def test_settling_does_not_eat_the_sampling_budget():
    def run(wait_ms):
        m = Machine()
        rng = np.random.default_rng(0)

        def noisy(name, ms):
            def call():
                m.now += int(ms * rng.uniform(0.5, 1.5) * 1e6)
                m.calls.append(name)
            return call
        timed = [Timed("a", noisy("a", 2.0), 1, 1), Timed("b", noisy("b", 5.0), 1, 1)]
        policy = POLICY.model_copy(update={"ci_target": 1e-6})  # never met: the time cap decides
        return interleave(timed, policy, clock=m.clock, settle_fn=Settler(m, wait_ms=wait_ms))
    quick, slow = run(0.0), run(200.0)
    assert quick.stop_reason == slow.stop_reason == "time_cap"
    assert [len(r.samples_ms) for r in quick.results.values()] == [len(r.samples_ms) for r in slow.results.values()]
    assert slow.sampling_s > quick.sampling_s


def test_a_thread_still_running_at_the_cap_is_counted_against_the_backend_before_it():
    m = Machine()
    timed = [Timed("a", m.fn("a", 2.0), 1, 1), Timed("b", m.fn("b", 5.0), 1, 1)]
    out = interleave(timed, POLICY, clock=m.clock, settle_fn=Settler(m, still_running=1))
    rounds = len(out.results["a"].round_sizes)
    # a's blocks end even rounds, b's odd ones; warm-up switches count too
    assert out.unsettled["a"] >= rounds // 2 and out.unsettled["b"] >= rounds // 2
