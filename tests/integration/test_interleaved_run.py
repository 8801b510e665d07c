"""A real interleaved run (tiny BERT, eager + ORT, --repeats 2, energy on): each backend's case
holds its rounds and its two worker processes; the comparison's ratio and CI come from the paired
rounds, recomputed here from the stored samples with numpy; a worker that crashes fails its
group's cases with a clear error and the run goes on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st

from suite.config.bench_config import validate_config
from suite.results.comparisons import PAIRED
from suite.results.io import load_results
from suite.run.events import CaseEnded, CaseStarted
from suite.run.runner import RunOptions, run_benchmark

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "models"
TINY_BERT = ("hf:bert:num_hidden_layers=1,hidden_size=32,num_attention_heads=2,intermediate_size=37,"
             "vocab_size=100,max_position_embeddings=64")


def _hierarchical_reference(groups, level=0.95, n_boot=4000, seed=11):
    """A plain-loop two-level percentile bootstrap (processes, then items within each)."""
    rng = np.random.default_rng(seed)
    meds = []
    for _ in range(n_boot):
        picked = [groups[i] for i in rng.integers(0, len(groups), len(groups))]
        meds.append(np.median(np.concatenate([rng.choice(g, size=len(g), replace=True) for g in picked])))
    return np.quantile(meds, [(1 - level) / 2, (1 + level) / 2])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interleaved")
    cfg = validate_config({
        "models": [str(FIXTURES / "crash_abort.py"), TINY_BERT], "backends": ["eager", "ort"], "batch_sizes": [1],
        "input_sizes": {"text": [8]}, "threads": 1, "repeats": 2, "report": False, "output_dir": str(tmp),
        "timing": {"warmup_max": 5, "min_iters": 10, "min_time_s": 0.3, "max_time_s": 1.0},
        "energy": {"min_window_s": 0.2, "sample_hz": 20}, "ort": {"cache_dir": str(tmp / "cache")},
    })
    events = []
    out = tmp / "r.json"
    run = run_benchmark(cfg, RunOptions(output=out, progress=events.append))
    return run, load_results(out), events


def test_a_crashing_group_fails_both_its_cases_and_the_run_goes_on(run):
    result, saved, events = run
    crashed = [c for c in saved.cases if "crash_abort" in c.spec.model]
    assert [c.spec.backend for c in crashed] == ["eager", "ort"]
    for c in crashed:
        assert (c.status, c.error.kind) == ("failed", "crash")
        assert c.error.message.startswith("worker died from SIGABRT (the worker ran eager, ort interleaved")
    # one worker for the crashed group (no second process to crash again), two for the good one
    starts = [e for e in events if isinstance(e, CaseStarted)]
    assert [(len(d.group), d.repeat) for d in starts] == [(2, 0), (2, 0), (2, 1)]
    assert sum(isinstance(e, CaseEnded) for e in events) == 4


def test_each_case_holds_its_processes_and_rounds_and_a_combined_ci(run):
    _, saved, _ = run
    cases = {c.spec.backend: c for c in saved.cases if c.spec.model == TINY_BERT}
    for backend, c in cases.items():
        lat = c.latency
        assert c.status == "ok" and lat.repeats == 2 and len(lat.process_sizes) == 2
        assert sum(lat.process_sizes) == len(lat.samples_ms) == sum(lat.round_sizes)
        groups = [lat.samples_ms[:lat.process_sizes[0]], lat.samples_ms[lat.process_sizes[0]:]]
        assert lat.process_medians_ms == pytest.approx([float(np.median(g)) for g in groups])
        assert lat.summary.median_ms == pytest.approx(float(np.median(lat.samples_ms)))
        assert lat.summary.ci_method.startswith("hierarchical bootstrap: 2 processes x samples")
        lo, hi = _hierarchical_reference([np.asarray(g) for g in groups])
        # widened to the process medians' t interval (scipy's t quantile, 1 df for 2 processes)
        meds = np.asarray(lat.process_medians_ms)
        half = st.t.ppf(0.975, len(meds) - 1) * meds.std(ddof=1) / np.sqrt(len(meds))
        med = lat.summary.median_ms
        lo, hi = min(lo, med - half), max(hi, med + half)
        width = hi - lo
        assert lat.summary.median_ci_low_ms == pytest.approx(max(0.0, lo), abs=0.25 * width + 1e-6)
        assert lat.summary.median_ci_high_ms == pytest.approx(hi, abs=0.25 * width + 1e-6)
        assert lat.interleaved_with == [b for b in ("eager", "ort") if b != backend]
        # phases: the worker start, each step, the shared rounds, the energy window, the second process
        assert {"worker_start", "build", "flops", "prepare", "warmup", "sampling", "energy", "repeats"} <= set(c.phases_s)
        # (the worker's start, the later processes, and the memory and cold-start processes run outside the worker)
        outside = ("worker_start", "repeats", "memory", "cold_start")
        assert sum(v for k, v in c.phases_s.items() if k not in outside) <= c.duration_s
        # the meter was probed once in the runner and used in the worker
        assert c.energy is not None and c.energy.method == "estimated" and c.energy_error is None
    assert cases["eager"].phases_s["sampling"] == cases["ort"].phases_s["sampling"]


def test_the_ratio_ci_comes_from_the_paired_rounds(run):
    _, saved, _ = run
    cases = {c.spec.backend: c for c in saved.cases if c.spec.model == TINY_BERT}
    [comp] = saved.comparisons
    assert comp.ci_method == PAIRED
    per_process = []
    eager, ort = cases["eager"].latency, cases["ort"].latency
    assert len(eager.round_sizes) == len(ort.round_sizes)
    e_rounds = np.split(np.asarray(eager.samples_ms), np.cumsum(eager.round_sizes)[:-1])
    o_rounds = np.split(np.asarray(ort.samples_ms), np.cumsum(ort.round_sizes)[:-1])
    ratios = np.array([np.median(o) / np.median(e) for e, o in zip(e_rounds, o_rounds)])
    # which process each round ran in: rounds fill process_sizes in order
    ends = np.cumsum(eager.round_sizes)
    first_process = ends <= eager.process_sizes[0]
    per_process = [ratios[first_process], ratios[~first_process]]
    assert comp.paired_rounds == len(ratios)
    assert comp.ratio == pytest.approx(float(np.median(ratios)))
    lo, hi = _hierarchical_reference(per_process)
    width = hi - lo
    assert comp.ci_low == pytest.approx(lo, abs=0.25 * width + 1e-9)
    assert comp.ci_high == pytest.approx(hi, abs=0.25 * width + 1e-9)
    assert comp.ci_low <= comp.ratio <= comp.ci_high
