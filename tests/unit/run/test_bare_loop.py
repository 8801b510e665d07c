"""suite.run.bare: the hand-written reference loop of `bench audit`. Its timing loop is checked on
a function that sleeps a known time (every sample at least that long, the warm-up and the sample
counts as asked), and its entry point on the committed tiny model."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from suite.run.bare import WARMUP_CALLS, WARMUP_S, main, time_loop

TINY = str(Path(__file__).resolve().parents[2] / "fixtures" / "models" / "tiny_user_model.py")


def test_every_sample_times_one_call_after_the_warmup():
    calls = []

    def fn():
        calls.append(time.perf_counter())
        time.sleep(0.002)

    t0 = time.perf_counter()
    warm, samples = time_loop(fn, min_calls=15, min_s=0.05)
    assert warm >= WARMUP_CALLS and calls[warm - 1] - t0 >= WARMUP_S - 0.01  # both warm-up bounds met
    assert len(samples) >= 15 and sum(samples) >= 50 * 0.9  # at least min_s of timed calls (ms)
    assert len(calls) == warm + len(samples)
    assert min(samples) >= 2.0  # time.sleep(0.002) sleeps at least 2 ms


def test_the_count_floor_holds_when_calls_are_slow():
    _, samples = time_loop(lambda: time.sleep(0.02), min_calls=3, min_s=0.0)
    assert len(samples) == 3


def test_the_entry_point_times_the_registry_model_on_the_seeded_inputs():
    before = torch.get_num_threads()
    try:
        out = main({"model": TINY, "backend": "eager", "batch_size": 2, "input_size": 32, "threads": 1,
                    "min_calls": 5, "min_s": 0.0})
    finally:
        torch.set_num_threads(before)
    assert set(out) == {"warmup_calls", "samples_ms"} and len(out["samples_ms"]) >= 5
    assert all(s > 0 for s in out["samples_ms"])


def test_a_backend_without_a_bare_loop_is_refused(monkeypatch):
    import dataclasses

    from suite.backends import backend_info

    without = dataclasses.replace(backend_info("eager"), bare=None)  # as a plugin that declares none
    monkeypatch.setattr("suite.run.bare.backend_info", lambda name: without)
    with pytest.raises(SystemExit, match="declares no bare loop"):
        main({"model": TINY, "backend": "eager", "batch_size": 1, "threads": 1})
