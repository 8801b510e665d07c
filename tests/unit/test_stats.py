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
    assert [k for k, _ in stats.summarize([1.0, 1.0]).issues] == ["few_samples"]
    # a wide spread alone is no reason (the CI says how precise the median is): steady noise of
    # CV ~30% with one stray slow sample raises nothing
    rng = np.random.default_rng(5)
    noisy = rng.lognormal(np.log(10), 0.3, 400)
    noisy[17] = 80.0
    s = stats.summarize(noisy)
    assert s.cv > 0.25 and s.issues == ()
    assert s.outliers.severe >= 1


def test_a_drifting_median_is_an_issue():
    rng = np.random.default_rng(6)
    steady = rng.normal(10.0, 0.5, 200)
    assert stats.drift(steady) is None
    drifting = steady + np.linspace(0.0, 2.0, 200)  # the machine slows down by 20% over the loop
    a, b = stats.drift(drifting)
    assert a == pytest.approx(np.median(drifting[:100])) and b == pytest.approx(np.median(drifting[100:]))
    kinds = [k for k, _ in stats.summarize(drifting).issues]
    assert kinds == ["drift"]
    assert stats.drift(drifting[:11]) is None  # too short to tell


def test_periodic_outliers_are_an_issue_isolated_ones_are_not():
    xs = np.full(200, 10.0) + np.tile([0.0, 0.1, -0.1, 0.05], 50)
    isolated = xs.copy()
    isolated[[13, 40, 130]] = 30.0
    assert [k for k, _ in stats.summarize(isolated).issues] == []
    periodic = xs.copy()
    periodic[5::25] = 30.0  # a 25-sample tick
    s = stats.summarize(periodic)
    assert [k for k, _ in s.issues] == ["periodic_outliers"] and "every ~25 samples" in s.issues[0][1]
    assert stats.periodic_period(list(range(5, 200, 25)), 200) == 25
    assert stats.periodic_period([3, 4, 5, 6], 10) is None  # a burst is not a period
    assert stats.periodic_period([19, 47, 49, 51, 52], 66) is None  # nor a cluster (seen in a quick run)
    assert stats.periodic_period([0, 10, 20], 30) is None  # too few to call it periodic
    assert stats.periodic_period([0, 10, 20, 30], 200) is None  # only in the first sixth of the loop


def test_tukey_counts_match_hand_fences():
    rng = np.random.default_rng(8)
    xs = np.concatenate([rng.normal(10, 1, 300), [17.0, 18.0, 30.0, 40.0, 2.0]])
    q1, q3 = np.percentile(xs, [25, 75])
    iqr = q3 - q1
    far = np.maximum(q1 - xs, xs - q3)
    o = stats.tukey_outliers(xs)
    assert o.severe == int((far > 3 * iqr).sum()) >= 2
    assert o.mild == int(((far > 1.5 * iqr) & (far <= 3 * iqr)).sum())
    assert list(o.high_at) == [int(i) for i in np.flatnonzero(xs > q3 + 1.5 * iqr)]
    lat = stats.summarize(xs)
    assert (lat.outliers.mild, lat.outliers.severe) == (o.mild, o.severe)


def _order_statistic_bounds(n: int, q: float, level: float) -> tuple[int | None, int | None]:
    """0-based indices of the order-statistic bounds, by walking scipy's binomial CDF."""
    half = (1 - level) / 2
    cdf = [sps.binom.cdf(k, n, q) for k in range(n + 1)]
    low = max((k for k in range(n + 1) if cdf[k] <= half), default=None)
    high = min(k for k in range(n + 1) if cdf[k] >= 1 - half)
    return low, (high if high < n else None)


@pytest.mark.parametrize("n,q", [(20, 0.9), (20, 0.99), (50, 0.9), (100, 0.9), (400, 0.99), (1000, 0.99),
                                 (37, 0.5), (10, 0.5)])
def test_quantile_ci_matches_scipy_binomial_quantiles(n, q):
    rng = np.random.default_rng(n)
    xs = rng.exponential(1.0, n)
    srt = np.sort(xs)
    lo_i, hi_i = _order_statistic_bounds(n, q, 0.95)
    lo, hi = stats.quantile_ci(xs, q, 0.95)
    assert lo == (None if lo_i is None else srt[lo_i])
    assert hi == (None if hi_i is None else srt[hi_i])
    if lo_i is not None and hi_i is not None:
        # coverage P(l <= B <= u - 1), B ~ Binomial(n, q), is at least the level
        assert sps.binom.cdf(hi_i, n, q) - sps.binom.cdf(lo_i, n, q) >= 0.95
    if q == 0.5 and n >= 6:
        assert (lo, hi) == stats.median_ci(xs, 0.95)


def test_twenty_samples_cannot_bound_a_p99():
    lo, hi = stats.quantile_ci(np.arange(1.0, 21.0), 0.99)
    assert hi is None and lo is not None
    # the upper bound exists from n = ceil(log(0.025) / log(0.99)) = 368 samples on
    n = int(np.ceil(np.log(0.025) / np.log(0.99)))
    assert stats.quantile_ci(np.arange(float(n)), 0.99)[1] is not None
    assert stats.quantile_ci(np.arange(float(n - 1)), 0.99)[1] is None


def test_quantile_ci_coverage_is_at_least_nominal():
    rng = np.random.default_rng(9)
    true_p90 = -np.log(0.1)  # exponential(1)
    hits = sum(lo <= true_p90 <= hi for lo, hi in (stats.quantile_ci(rng.exponential(1.0, 200), 0.9)
                                                   for _ in range(400)))
    assert hits / 400 >= 0.92


def test_early_stopping_counts_are_loadgens():
    # LoadGen prints "Processed at least 64 queries" for a p90 single stream (t = 1, 99% confidence)
    assert stats.early_stopping_min_samples(0.9) == 64
    for q in (0.9, 0.99):
        n = stats.early_stopping_min_samples(q)
        # with 1 sample over the figure among n, the odds that the true q-quantile is above it:
        # P(Binomial(n, 1 - q) <= 1), at most 1% at n and more than 1% at n - 1
        assert sps.binom.cdf(1, n, 1 - q) <= 0.01 < sps.binom.cdf(1, n - 1, 1 - q)
    assert stats.early_stopping_min_samples(0.99) == 662
    assert stats.summarize([1.0] * 20).p99_min_samples == 662


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


def test_monotonic():
    assert stats.is_monotonic_increasing([1, 2, 2, 5])
    assert not stats.is_monotonic_increasing([1, 5, 2])
    assert stats.is_monotonic_increasing([10, 9.6], tolerance=0.05)
