"""suite.stats against independent references (numpy, scipy, hand-derived values)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from suite import stats


def test_summary_matches_numpy():
    rng = np.random.default_rng(1)
    xs = rng.lognormal(3, 0.1, size=200)
    s = stats.summarize(xs)
    assert s.n == 200
    assert s.mean == pytest.approx(xs.mean())
    assert s.std == pytest.approx(xs.std(ddof=1))
    assert s.median == pytest.approx(np.median(xs))
    assert s.p90 == pytest.approx(np.percentile(xs, 90))
    assert s.p99 == pytest.approx(np.percentile(xs, 99))
    assert s.iqr == pytest.approx(np.subtract(*np.percentile(xs, [75, 25])))
    assert s.min == xs.min() and s.max == xs.max()
    assert s.cv == pytest.approx(xs.std(ddof=1) / xs.mean())
    assert s.median_ci_low <= s.median <= s.median_ci_high


def test_median_ci_order_statistics_hand_derived():
    # n=10: P(B<=1)=11/1024=0.0107 <= 0.025 and P(B<=2)=56/1024=0.055 > 0.025,
    # so the 95% interval is [x_(2), x_(9)].
    xs = list(range(1, 11))
    assert stats.median_ci(xs, 0.95) == (2, 9)
    # n=5 has no 95% order-statistic interval: min..max
    assert stats.median_ci([5, 1, 3, 2, 4]) == (1, 5)


def test_median_ci_coverage_is_at_least_nominal():
    rng = np.random.default_rng(7)
    hits = 0
    trials = 400
    for _ in range(trials):
        xs = rng.exponential(1.0, size=30)
        lo, hi = stats.median_ci(xs, 0.95)
        hits += lo <= np.log(2) <= hi
    assert hits / trials >= 0.92


def test_quality_issues_are_typed_by_kind():
    assert stats.summarize([10.0] * 20).issues == ()
    noisy = stats.summarize([10, 10, 10, 30, 10, 10, 10, 10, 10, 10, 10, 10])
    # CV = std/mean computed by hand: one 30 among eleven 10s
    xs = np.array([10] * 11 + [30], dtype=float)
    assert [k for k, _ in noisy.issues] == ["high_variance", "outliers"]
    assert f"CV {xs.std(ddof=1) / xs.mean():.0%}" in noisy.issues[0][1]
    assert [k for k, _ in stats.summarize([1.0, 1.0]).issues] == ["few_samples"]
    # a wide IQR alone (CV under its threshold) is the same reason: the samples spread
    spread = stats.summarize([9.0, 11.0] * 10)
    assert [k for k, _ in spread.issues] == ["high_variance"] and "IQR 20%" in spread.issues[0][1]


def test_bootstrap_ratio_detects_known_ratio():
    rng = np.random.default_rng(3)
    a = rng.normal(100, 2, 100)
    b = rng.normal(70, 2, 100)
    ratio, lo, hi = stats.bootstrap_ratio_ci(a, b)
    assert ratio == pytest.approx(np.median(b) / np.median(a))
    assert lo < ratio < hi
    assert 0.66 < lo and hi < 0.74
    p = stats.mann_whitney_p(list(a), list(b))
    assert p == pytest.approx(sps.mannwhitneyu(a, b).pvalue)
    assert stats.is_significant(lo, hi, p)


def test_same_distribution_not_significant():
    rng = np.random.default_rng(4)
    a = rng.normal(50, 1, 60)
    b = rng.normal(50, 1, 60)
    _, lo, hi = stats.bootstrap_ratio_ci(a, b)
    assert lo < 1 < hi
    assert not stats.is_significant(lo, hi, stats.mann_whitney_p(list(a), list(b)))


def test_trapezoid_integrates_known_signal():
    t = [0, 1, 2, 3]
    p = [2, 2, 4, 4]  # 2 + 3 + 4 = 9 J
    assert stats.trapezoid(t, p) == pytest.approx(9.0)


def test_monotonic():
    assert stats.is_monotonic_increasing([1, 2, 2, 5])
    assert not stats.is_monotonic_increasing([1, 5, 2])
    assert stats.is_monotonic_increasing([10, 9.6], tolerance=0.05)
