"""suite.results.comparisons: one backend against eager. The ratio is held against numpy's medians,
the p-value against scipy's Mann-Whitney U, the McNemar test of changed predictions against
scipy's exact binomial test of the discordant pairs."""

from __future__ import annotations

import numpy as np
import pytest
from report_builders import case
from scipy import stats as sps

from suite.results.comparisons import BASELINE, compare_pair, new_comparisons, pair_key
from suite.results.schema import AccuracyResult, ErrorInfo

RNG = np.random.default_rng(11)
BASE = list(RNG.lognormal(np.log(20.0), 0.05, 40))
CAND = list(RNG.lognormal(np.log(12.0), 0.05, 40))


def test_the_ratio_of_medians_its_ci_and_the_rank_test():
    comp = compare_pair(case("m", 1, BASE), case("m", 1, CAND, backend="ort"))
    assert comp.baseline_backend == BASELINE == "eager" and comp.candidate_backend == "ort"
    assert comp.ratio == pytest.approx(np.median(CAND) / np.median(BASE))
    assert comp.ci_low < comp.ratio < comp.ci_high < 1.0
    assert comp.p_value == pytest.approx(sps.mannwhitneyu(BASE, CAND, alternative="two-sided").pvalue)
    assert comp.significant and comp.flags == []


def test_overlapping_samples_are_not_significant():
    comp = compare_pair(case("m", 1, BASE), case("m", 1, list(reversed(BASE)), backend="ort"))
    assert comp.ratio == pytest.approx(1.0) and comp.ci_low <= 1.0 <= comp.ci_high and not comp.significant


def test_a_parity_failure_is_carried_on_the_comparison():
    bad = case("m", 1, CAND, backend="ort", status="parity_failed", error=ErrorInfo(kind="parity", message="x"))
    [f] = compare_pair(case("m", 1, BASE), bad).flags
    assert f.kind == "parity_failed" and "ratio" in f.metrics


def test_changed_predictions_and_mcnemar_by_scipy():
    truth = [i % 3 for i in range(60)]
    base_pred = list(truth)
    cand_pred = list(truth)
    for i in range(0, 12):  # the candidate gets 12 wrong that eager got right...
        cand_pred[i] = (truth[i] + 1) % 3
    for i in range(50, 53):  # ...and eager gets 3 wrong that the candidate got right
        base_pred[i] = (truth[i] + 1) % 3

    def acc(pred):
        right = "".join("1" if p == t else "0" for p, t in zip(pred, truth))
        return AccuracyResult(metric="top-1", value=right.count("1") / 60, dataset="digits", samples=60,
                              predictions=pred, right=right, dataset_hash="h")

    comp = compare_pair(case("m", 1, BASE, accuracy=acc(base_pred)), case("m", 1, CAND, backend="ort",
                                                                         accuracy=acc(cand_pred)))
    assert comp.accuracy_delta == pytest.approx((48 - 57) / 60)
    assert comp.changed_predictions == 15
    assert comp.mcnemar_p == pytest.approx(sps.binomtest(3, 15, 0.5).pvalue)


def test_new_comparisons_add_only_the_pairs_not_yet_stored():
    eager, ort = case("m", 1, BASE), case("m", 1, CAND, backend="ort")
    other_batch = case("m", 2, CAND, backend="ort")  # no eager case at batch 2: nothing to compare
    failed = case("m", 1, CAND, backend="eager-cl", status="failed", error=ErrorInfo(kind="crash", message="x"))
    first = new_comparisons([eager, ort, other_batch, failed], [])
    assert [(c.baseline_case, c.candidate_case) for c in first] == [(eager.id, ort.id)]
    assert new_comparisons([eager, ort], first) == []
    assert pair_key(eager.spec) == pair_key(ort.spec) != pair_key(other_batch.spec)
