"""suite.data.dataset: the dataset spec's grammar, the seeded subset (its class shares held against
the full set's on real digits), the subset's identity, and printable file names."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from suite.data.dataset import (
    Dataset,
    DatasetConfig,
    DatasetSpec,
    parse_dataset_spec,
    shown,
    stratified_subset,
)
from suite.errors import ConfigError


@pytest.mark.parametrize("text, kind, path", [("digits", "digits", None), (" USER ", "user", None),
                                              ("imagefolder:/data/x", "imagefolder", "/data/x"),
                                              ("npz: a.npz ", "npz", "a.npz"), ("hf-disk:d:with:colons", "hf-disk",
                                                                               "d:with:colons")])
def test_the_spec_grammar(text, kind, path):
    spec = parse_dataset_spec(text)
    assert (spec.kind, spec.path) == (kind, path)
    assert str(spec) == (kind if path is None else f"{kind}:{path}")


@pytest.mark.parametrize("text, words", [("digit", "did you mean digits?"), ("npz:", "needs a path: npz:FILE"),
                                         ("imagefolder", "needs a path: imagefolder:DIR"),
                                         ("digits:foo", "takes no path")])
def test_a_bad_spec_says_what_to_write(text, words):
    with pytest.raises(ConfigError, match=words):
        parse_dataset_spec(text)
    with pytest.raises(ValueError):
        DatasetConfig(spec=text)


def _digits() -> Dataset:
    d = load_digits()
    return Dataset(spec=DatasetSpec("digits"), task="classification", samples=list(d.images), targets=d.target,
                   classes=[str(i) for i in range(10)], source_hash="abc")


def test_the_subset_keeps_each_class_in_its_share_and_dataset_order():
    full = _digits()
    sub = stratified_subset(full, 200, seed=3)
    assert len(sub) == 200 and sub.total == len(full) == 1797
    share = np.bincount(full.targets) / len(full)
    # stratified: each class's count within one of its share of 200 (scikit-learn's rounding)
    assert np.all(np.abs(np.bincount(sub.targets, minlength=10) - share * 200) <= 1)
    assert "stratified subset of 1797" in sub.notes[-1]
    # the samples are the full set's, in its order
    idx = [next(i for i, s in enumerate(full.samples) if s is x) for x in sub.samples]
    assert idx == sorted(idx) and all(full.targets[i] == t for i, t in zip(idx, sub.targets))


def test_the_subset_is_seeded_and_its_identity_names_the_samples_taken():
    full = _digits()
    a, b, c = stratified_subset(full, 50, 0), stratified_subset(full, 50, 0), stratified_subset(full, 50, 1)
    assert a.source_hash == b.source_hash != c.source_hash != full.source_hash
    assert stratified_subset(full, 5000, 0) is full


def test_a_task_without_classes_gets_a_random_subset_and_says_so():
    ds = Dataset(spec=DatasetSpec("user"), task="custom", samples=list(range(30)), targets=list(range(30)))
    sub = stratified_subset(ds, 7, seed=0)
    assert len(sub) == 7 and sub.samples == sub.targets and sub.samples == sorted(sub.samples)
    assert sub.notes == ["--limit 7: a seeded (seed 0) random subset of 30 (not stratified)"]


def test_a_file_name_that_is_not_utf8_prints_as_escapes():
    import os

    name = os.fsdecode(b"caf\xe9.png")  # a Latin-1 name on a UTF-8 system
    assert shown(name) == "caf\\xe9.png"
    assert shown("plain.png") == "plain.png"
