"""A results file's latency summary is checked against its samples on load (issue 23): whatever
samples a run stores, the summary it derives from them passes (no file the suite wrote is ever
refused), and a summary changed afterwards is refused, naming the figure."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suite.metrics.latency import TimingPolicy, summarize_latency
from suite.results.schema import LatencyResult
from suite.run.repeats import merge_latency

samples = st.lists(st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False),
                   min_size=1, max_size=300)


def latency(xs: list[float], **summary_changes) -> dict:
    summary = summarize_latency(xs, 1, 0.95).model_dump()
    summary.update(summary_changes)
    return {"cold_ms": xs[0], "warmup_ms": [], "samples_ms": xs, "warmup_settled": True, "stop_reason": "max_iters",
            "threads": 1, "summary": summary}


@settings(max_examples=300, deadline=None)
@given(samples, st.sampled_from([1, 2, 3]))
def test_the_summary_a_run_derives_always_passes(xs, repeats):
    """One process, or `repeats` processes merged (the pooled summary with the combined CI)."""
    parts = [LatencyResult.model_validate(latency(xs[i::repeats] or xs)) for i in range(repeats)]
    merged = merge_latency(parts, 1, TimingPolicy())
    LatencyResult.model_validate_json(merged.model_dump_json())  # as a results file is read


@pytest.mark.parametrize("field, value, words", [
    ("median_ms", 1e308, "latency.summary.median_ms (1e+308 ms) is not the median of its 40 samples"),
    ("min_ms", 0.0, "latency.summary.min_ms (0 ms) is not the min of its 40 samples"),
    ("max_ms", 99.0, "is not the max of its 40 samples"),
    ("n", 41, "latency.summary.n is 41, but the case stores 40 samples"),
    ("p99_ms", 1e6, "latency.summary.p99_ms (1e+06 ms) lies outside its 40 samples"),
    ("mean_ms", 0.5, "latency.summary.mean_ms (0.5 ms) lies outside its 40 samples"),
    ("median_ci_high_ms", 1.0, "does not hold its median"),
])
def test_a_summary_changed_after_the_run_is_refused(field, value, words):
    xs = [10.0 + 0.01 * i for i in range(40)]
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        LatencyResult.model_validate(latency(xs, **{field: value}))
