"""suite.results.observations: what a case observed. The latency record's summary must be the
summary of its samples; the check is held against numpy's figures of the same samples."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from suite.results.observations import (
    AccuracyResult,
    LatencyResult,
    LatencySummary,
    ParityResult,
    summary_disagreement,
)

RNG = np.random.default_rng(3)
SAMPLES = list(RNG.lognormal(mean=1.0, sigma=0.2, size=41))


def numpy_summary(samples: list[float], **override) -> LatencySummary:
    """The summary fields numpy gives for `samples` (CI: the 15th and 27th order statistics of 41)."""
    a = np.sort(np.asarray(samples))
    fields = dict(n=len(a), mean_ms=float(a.mean()), std_ms=float(a.std(ddof=1)), median_ms=float(np.median(a)),
                  median_ci_low_ms=float(a[14]), median_ci_high_ms=float(a[26]), ci_level=0.95,
                  iqr_ms=float(np.subtract(*np.percentile(a, [75, 25]))), p90_ms=float(np.percentile(a, 90)),
                  p99_ms=float(np.percentile(a, 99)), min_ms=float(a[0]), max_ms=float(a[-1]),
                  cv=float(a.std(ddof=1) / a.mean()), throughput_items_s=1e3 / float(np.median(a)))
    return LatencySummary(**{**fields, **override})


def _result(summary: LatencySummary, samples=SAMPLES) -> LatencyResult:
    return LatencyResult(cold_ms=9.0, warmup_ms=[3.0], samples_ms=samples, warmup_settled=True,
                         stop_reason="max_iters", threads=1, summary=summary)


def test_numpys_summary_of_the_samples_agrees():
    assert summary_disagreement(SAMPLES, numpy_summary(SAMPLES)) is None
    assert _result(numpy_summary(SAMPLES)).summary.n == 41


def test_the_suites_own_summary_agrees_with_numpy():
    from suite.metrics.latency import summarize_latency

    mine, ref = summarize_latency(SAMPLES, 1, 0.95), numpy_summary(SAMPLES)
    assert summary_disagreement(SAMPLES, mine) is None
    for name in ("median_ms", "min_ms", "max_ms", "mean_ms"):
        assert getattr(mine, name) == pytest.approx(getattr(ref, name), rel=1e-12)


@pytest.mark.parametrize("override, words", [
    ({"n": 40}, "latency.summary.n is 40, but the case stores 41 samples"),
    ({"median_ms": 1e308}, "latency.summary.median_ms"),
    ({"min_ms": 0.0}, "latency.summary.min_ms"),
    ({"p99_ms": 1e6}, "latency.summary.p99_ms"),
    ({"mean_ms": 0.001}, "lies outside its 41 samples"),
])
def test_a_summary_its_samples_contradict_is_named_and_the_record_refused(override, words):
    summary = numpy_summary(SAMPLES, **override)
    assert words in summary_disagreement(SAMPLES, summary)
    with pytest.raises(ValidationError, match="changed after the run|stores 41 samples"):
        _result(summary)


def test_a_median_ci_that_excludes_the_median_is_refused():
    med = float(np.median(SAMPLES))
    summary = numpy_summary(SAMPLES, median_ci_low_ms=med * 1.1, median_ci_high_ms=med * 1.2)
    assert "does not hold its median" in summary_disagreement(SAMPLES, summary)


def test_float_rounding_between_numpy_and_python_is_tolerated():
    med = float(np.median(SAMPLES))
    assert summary_disagreement(SAMPLES, numpy_summary(SAMPLES, median_ms=med * (1 + 1e-12))) is None


def test_parity_defaults_to_the_reference_backend_and_accuracy_answers_are_bits():
    p = ParityResult(max_abs_error=0.0, max_rel_error=0.0, tolerance=1e-3, passed=True)
    assert p.reference_backend == "eager" and p.non_finite == 0
    assert AccuracyResult(metric="top-1", value=0.5, dataset="digits", right="0110").right == "0110"
    with pytest.raises(ValidationError):
        AccuracyResult(metric="top-1", value=0.5, dataset="digits", right="01x")
