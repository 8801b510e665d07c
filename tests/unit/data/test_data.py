"""Evaluation datasets, offline: scikit-learn's real digits, image folders built from them,
.npz files; the seeded stratified subset and the identity the results record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from suite.data import load_dataset, parse_dataset_spec
from suite.models.digits import digits_arrays, digits_split
from suite.errors import ConfigError


def test_digits_splits_are_disjoint_stratified_and_cover_the_set():
    from sklearn.datasets import load_digits

    y = load_digits().target
    train, test = digits_split()
    assert len(set(train) & set(test)) == 0 and len(train) + len(test) == 1797
    # every class keeps its share in the held-out split (stratified), within one sample
    for c in range(10):
        share = (y == c).mean() * len(test)
        assert abs((y[test] == c).sum() - share) <= 1
    x, labels = digits_arrays("test")
    assert x.shape == (len(test), 8, 8) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert (labels == y[test]).all()


def test_digits_dataset_identity_and_limit():
    ds = load_dataset("digits")
    assert ds.task == "classification" and ds.split == "test" and len(ds) == 719 and len(ds.source_hash) == 64
    sub = load_dataset("digits", limit=100, seed=3)
    again = load_dataset("digits", limit=100, seed=3)
    other = load_dataset("digits", limit=100, seed=4)
    assert len(sub) == 100 and sub.total == 719 and sub.source_hash == again.source_hash != other.source_hash
    counts = np.bincount(sub.targets, minlength=10)
    full = np.bincount(ds.targets, minlength=10) / len(ds) * 100
    assert np.all(np.abs(counts - full) <= 1)  # stratified: each class in its share
    assert "stratified" in sub.notes[-1]


def write_digit_folder(root: Path, n_per_class: int = 5, names=None) -> Path:
    """An ImageFolder of real handwritten digits as 8-bit PNGs (the test's own data)."""
    x, y = digits_arrays("test")
    names = names or [str(c) for c in range(10)]
    for c in range(10):
        d = root / names[c]
        d.mkdir(parents=True, exist_ok=True)
        for k, i in enumerate(np.flatnonzero(y == c)[:n_per_class]):
            Image.fromarray((x[i] * 255).round().astype(np.uint8), mode="L").save(d / f"{k}.png")
    return root


def test_image_folder_in_torchvision_order_and_decoded_like_the_arrays(tmp_path):
    from torchvision.datasets import ImageFolder

    root = write_digit_folder(tmp_path / "f")
    ds = load_dataset(f"imagefolder:{root}")
    ref = ImageFolder(str(root))
    assert ds.classes == ref.classes and list(ds.targets) == [t for _, t in ref.samples]
    assert ds.samples == [p for p, _ in ref.samples]
    img = np.asarray(ds.sample(0))
    x, y = digits_arrays("test")
    assert img.shape == (8, 8) and np.allclose(img / 255, x[np.flatnonzero(y == 0)[0]], atol=1 / 255)


def test_classes_txt_sets_the_index_order(tmp_path):
    root = write_digit_folder(tmp_path / "f", 2, names=[f"digit{c}" for c in range(10)])
    (root / "classes.txt").write_text("\n".join(f"digit{c}" for c in reversed(range(10))) + "\n")
    ds = load_dataset(f"imagefolder:{root}")
    assert ds.classes[0] == "digit9" and set(np.asarray(ds.targets)[:2]) == {9}  # folder digit0 is index 9


def test_wordnet_id_folders_need_the_imagenet_list_for_a_subset(tmp_path):
    wnids = [f"n{1440764 + i:08d}" for i in range(1000)]
    root = write_digit_folder(tmp_path / "val", 1, names=[wnids[i * 37] for i in range(10)])
    with pytest.raises(ConfigError, match="LOC_synset_mapping.txt"):
        load_dataset(f"imagefolder:{root}")
    (root / "LOC_synset_mapping.txt").write_text("".join(f"{w} some class\n" for w in wnids))
    ds = load_dataset(f"imagefolder:{root}")
    assert sorted(set(np.asarray(ds.targets))) == [i * 37 for i in range(10)]


def test_npz_classification_and_segmentation(tmp_path):
    x = np.random.default_rng(0).random((6, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "c.npz", x=x, y=np.array([0, 1, 2, 0, 1, 2]))
    np.savez(tmp_path / "s.npz", x=x, y=(x > 0.5).astype(np.uint8))
    assert load_dataset(f"npz:{tmp_path / 'c.npz'}").task == "classification"
    seg = load_dataset(f"npz:{tmp_path / 's.npz'}")
    assert seg.task == "segmentation" and seg.classes is None
    np.savez(tmp_path / "o.npz", x=np.array([object()], dtype=object), y=np.array([1]))
    with pytest.raises(ConfigError, match="holds Python objects, which would need a pickle"):
        load_dataset(f"npz:{tmp_path / 'o.npz'}")
    np.savez(tmp_path / "n.npz", images=x)
    with pytest.raises(ConfigError, match="must hold arrays 'x' and 'y'"):
        load_dataset(f"npz:{tmp_path / 'n.npz'}")


@pytest.mark.parametrize("text,msg", [("mnist", "Unknown dataset"), ("imagefolder", "needs a path"),
                                      ("digits:/x", "takes no path"), ("imagefolder:/no/such/dir", "no such folder")])
def test_bad_specs_are_config_errors(text, msg):
    with pytest.raises(ConfigError, match=msg):
        load_dataset(parse_dataset_spec(text)) if ":" in text and "no/such" in text else parse_dataset_spec(text)


def test_hf_disk_images_and_pretokenised_text(tmp_path):
    import datasets

    x, y = digits_arrays("test")
    imgs = [Image.fromarray((x[i] * 255).round().astype(np.uint8), mode="L") for i in range(20)]
    feats = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=[str(i) for i in range(10)])})
    d = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"image": imgs[:10], "label": y[:10].tolist()}, features=feats),
                              "test": datasets.Dataset.from_dict({"image": imgs[10:], "label": y[10:20].tolist()}, features=feats)})
    d.save_to_disk(str(tmp_path / "hf"))
    ds = load_dataset(f"hf-disk:{tmp_path / 'hf'}")
    assert ds.split == "test" and len(ds) == 10 and list(ds.targets) == y[10:20].tolist()
    assert ds.classes == [str(i) for i in range(10)]
    assert np.allclose(np.asarray(ds.sample(0).convert("L")) / 255, x[10], atol=1 / 255)
    text = datasets.Dataset.from_dict({"input_ids": [[101, 7, 102], [101, 9, 102]], "attention_mask": [[1, 1, 1]] * 2,
                                       "stars": [0, 1]})
    text.save_to_disk(str(tmp_path / "txt"))
    t = load_dataset(f"hf-disk:{tmp_path / 'txt'}", columns={"label": "stars"})
    assert t.samples[1]["input_ids"].tolist() == [101, 9, 102] and list(t.targets) == [0, 1]
    with pytest.raises(ConfigError, match="no label column 'label'"):
        load_dataset(f"hf-disk:{tmp_path / 'txt'}")


@pytest.mark.parametrize("fortran, compressed", [(False, False), (False, True), (True, True)])
def test_npz_with_a_limit_streams_exactly_the_rows_numpy_reads(tmp_path, fortran, compressed):
    x, y = digits_arrays("test")
    xs = np.asfortranarray(x[:200]) if fortran else x[:200]
    (np.savez_compressed if compressed else np.savez)(tmp_path / "d.npz", x=xs, y=y[:200])
    ds = load_dataset(f"npz:{tmp_path / 'd.npz'}", limit=30, seed=2)
    full = load_dataset(f"npz:{tmp_path / 'd.npz'}")
    ref = load_dataset("digits", limit=None)
    assert len(ds) == 30 and ds.total == 200 and "stratified" in ds.notes[-1]
    kept = [int(np.flatnonzero((np.asarray(full.samples) == s).all(axis=(1, 2)))[0]) for s in ds.samples]
    assert kept == sorted(kept) and all(np.array_equal(ds.samples[j], x[i]) for j, i in enumerate(kept))
    assert list(ds.targets) == [int(y[i]) for i in kept]
    assert all(np.array_equal(a, b) for a, b in zip(full.samples, ref.samples[:200]))
