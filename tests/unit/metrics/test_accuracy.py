"""Accuracy metrics and their intervals against independent references (scikit-learn, scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score, jaccard_score, top_k_accuracy_score

from suite import stats
from suite.errors import CaseError
from suite.metrics.accuracy import score_classification, score_segmentation
from suite.stats import paired_change


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (97, 100), (1760, 1797), (1, 3)])
def test_wilson_interval_matches_scipy(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = stats.wilson_interval(k, n, 0.95)
    assert lo == pytest.approx(ci.low, abs=1e-12) and hi == pytest.approx(ci.high, abs=1e-12)


@pytest.mark.parametrize("b,c", [(0, 0), (5, 0), (3, 9), (12, 12), (40, 25), (1, 60)])
def test_exact_mcnemar_matches_scipy_binomial_test(b, c):
    want = 1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue
    assert stats.mcnemar_exact_p(b, c) == pytest.approx(want, rel=1e-12)


def test_classification_scores_equal_scikit_learn():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(300, 10))
    y = rng.integers(0, 10, size=300)
    logits[np.arange(300)[:200], y[:200]] += 3  # two thirds made right
    s = score_classification(logits, y)
    assert s.metric == "top-1" and s.higher_is_better and s.samples == 300
    assert s.value == pytest.approx(accuracy_score(y, logits.argmax(1)))
    assert s.correct == int(round(s.value * 300))
    assert s.others["top-5"] == pytest.approx(top_k_accuracy_score(y, logits, k=5, labels=np.arange(10)))
    assert s.ci == stats.wilson_interval(s.correct, 300) and s.ci_method == "Wilson"
    assert s.predictions == [int(p) for p in logits.argmax(1)]
    assert s.right == "".join("1" if r else "0" for r in logits.argmax(1) == y)


def test_labels_beyond_the_models_classes_are_a_clear_error():
    with pytest.raises(CaseError, match=r"labels run from 1 to 12 but the model scores 10 classes \(0..9\): 1 of 2"):
        score_classification(np.zeros((2, 10)), np.array([1, 12]))
    # a negative label is named as such, not as "labels run up to 8" (issue 23, item 25)
    with pytest.raises(CaseError, match="labels run from -1 to 8"):
        score_classification(np.zeros((2, 10)), np.array([-1, 8]))


def test_segmentation_dice_and_iou_by_hand_and_against_scikit_learn():
    gt = np.zeros((3, 4, 4), dtype=np.int64)
    gt[0, :2, :2] = 1          # 4 pixels
    gt[1, :, :] = 1            # 16 pixels
    prob = np.zeros((3, 1, 4, 4))
    prob[0, 0, :2, :3] = 0.9   # 6 predicted, 4 overlap: dice 8/10, IoU 4/6
    prob[1, 0, :, :2] = 0.7    # 8 predicted, 8 overlap: dice 16/24, IoU 8/16
    # sample 2: both empty -> 1 and 1
    s = score_segmentation(prob, gt[:, None])
    assert s.metric == "dice" and s.value == pytest.approx((0.8 + 16 / 24 + 1.0) / 3)
    assert s.others["iou"] == pytest.approx((4 / 6 + 0.5 + 1.0) / 3)
    for i in range(2):
        assert jaccard_score(gt[i].ravel(), (prob[i, 0] > 0.5).ravel()) == pytest.approx([4 / 6, 0.5][i])
    lo, hi = s.ci
    assert lo <= s.value <= hi


def test_paired_change_counts_discordant_pairs():
    y = np.array([0, 1, 2, 3, 4, 5])
    a = [0, 1, 2, 3, 0, 0]  # right on 0-3
    b = [0, 1, 9, 3, 4, 0]  # right on 0, 1, 3, 4
    right = ["".join("1" if r else "0" for r in np.asarray(p) == y) for p in (a, b)]
    changed, only_a, only_b, p = paired_change(a, b, *right)
    assert (changed, only_a, only_b) == (2, 1, 1) and p == pytest.approx(binomtest(1, 2, 0.5).pvalue)
