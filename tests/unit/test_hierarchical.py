"""The hierarchical (processes, then samples) bootstrap of the median against a simulated
two-level process whose variance is known, and the paired per-round ratios against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from suite.stats import (
    hierarchical_median_ci,
    median_ci,
    paired_ratio_ci,
    paired_round_ratios,
    split_runs,
)

MU, SIGMA_B, SIGMA_W, K, N = 10.0, 0.5, 1.0, 8, 40


def _simulate(rng):
    process_means = rng.normal(MU, SIGMA_B, K)  # each fresh process lands somewhere else
    return [rng.normal(m, SIGMA_W, N) for m in process_means]


def test_covers_the_true_median_as_often_as_it_claims_where_one_level_does_not():
    rng = np.random.default_rng(2026)
    sims, hits, one_level_hits, widths = 200, 0, 0, []
    for s in range(sims):
        groups = _simulate(rng)
        lo, hi = hierarchical_median_ci(groups, level=0.95, n_boot=800, seed=s)
        hits += lo <= MU <= hi
        widths.append(hi - lo)
        l1, h1 = median_ci(np.concatenate(groups), 0.95)
        one_level_hits += l1 <= MU <= h1
    # The percentile bootstrap with 8 groups undercovers slightly (known: ~0.92 here); a CI of
    # one process's samples, blind to the between-process variance, covers far less often.
    assert 0.88 <= hits / sims <= 0.99
    assert one_level_hits / sims < 0.75
    # Width against the hand derivation: the pooled median's sd is about
    # sqrt(sigma_b^2 / K + (pi / 2) sigma_w^2 / (K N)) (the sample median's efficiency pi/2).
    expected = 2 * sps.norm.ppf(0.975) * np.sqrt(SIGMA_B**2 / K + np.pi / 2 * SIGMA_W**2 / (K * N))
    assert np.mean(widths) == pytest.approx(expected, rel=0.15)


def test_one_group_is_the_ordinary_bootstrap_of_its_median():
    rng = np.random.default_rng(7)
    x = rng.lognormal(3.0, 0.3, 300)
    lo, hi = hierarchical_median_ci([x], level=0.95, n_boot=4000, seed=1)
    ref = sps.bootstrap((x,), np.median, confidence_level=0.95, n_resamples=4000, method="percentile",
                        random_state=np.random.default_rng(2)).confidence_interval
    assert lo == pytest.approx(ref.low, rel=0.01)
    assert hi == pytest.approx(ref.high, rel=0.01)


def test_groups_of_unequal_size_are_resampled_at_their_own_size():
    # One group of 3 samples at 100 and one of 300 at 1: a replicate that draws the small group
    # twice pools 6 samples at 100 (median 100); drawing it once with the large one gives a
    # median of 1 (303 samples, 300 of them 1). So the CI's upper end is 100 only if the
    # replicates {small, small} are there (a quarter of them): the 97.5% quantile.
    lo, hi = hierarchical_median_ci([[100.0] * 3, [1.0] * 300], level=0.95, n_boot=2000, seed=0)
    assert (lo, hi) == (1.0, 100.0)
    lo, hi = hierarchical_median_ci([[100.0] * 3, [1.0] * 300], level=0.5, n_boot=2000, seed=0)
    assert (lo, hi) == (1.0, 1.0)  # 25% + 50% of replicates hold the large group: the middle half is 1


def test_paired_ratios_and_their_ci_match_numpy():
    rng = np.random.default_rng(3)
    drift = np.linspace(1.0, 1.8, 12)  # the machine slows down 1.8x over the rounds
    base = [list(20 * d * rng.lognormal(0, 0.05, 3)) for d in drift]
    cand = [list(5 * d * rng.lognormal(0, 0.05, 3)) for d in drift]
    ratios = paired_round_ratios(base, cand)
    np.testing.assert_allclose(ratios, np.median(cand, axis=1) / np.median(base, axis=1))
    ratio, lo, hi = paired_ratio_ci([ratios[:6], ratios[6:]], seed=0)
    assert ratio == pytest.approx(float(np.median(ratios)))
    assert lo <= 0.25 <= hi and hi - lo < 0.05  # the drift cancels within each round
    assert split_runs([1, 2, 3, 4, 5], [2, 3]) == [[1.0, 2.0], [3.0, 4.0, 5.0]]
    with pytest.raises(ValueError):
        split_runs([1, 2], [3])


def test_the_process_t_interval_keeps_its_coverage_with_few_processes():
    """K = 3 processes whose speeds differ (sd 4%) around a true median of 10 ms: the t interval on
    their medians covers it ~95% of the time (scipy's t quantile, 2 df), where a percentile
    bootstrap over three processes cannot reach beyond the three medians it saw."""
    import numpy as np
    from scipy import stats as st

    from suite.stats import process_t_interval

    rng = np.random.default_rng(11)
    covered = 0
    trials = 2000
    for _ in range(trials):
        meds = 10.0 * (1 + rng.normal(0, 0.04, 3))
        lo, hi = process_t_interval(meds, float(np.median(meds)), 0.95)
        covered += lo <= 10.0 <= hi
    assert 0.90 <= covered / trials <= 0.99
    meds = [9.0, 10.0, 11.5]
    lo, hi = process_t_interval(meds, 10.0, 0.95)
    assert hi - 10.0 == pytest.approx(st.t.ppf(0.975, 2) * np.std(meds, ddof=1) / np.sqrt(3))
    assert process_t_interval([10.0], 10.0) == (10.0, 10.0)
