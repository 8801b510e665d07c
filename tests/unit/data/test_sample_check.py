"""suite.data.check: every sample checked once before the run, as each model will take it. Real
data (scikit-learn's digits, PNG files written from them) passes; one broken sample is named
by index and file, whatever its position."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from suite.data.check import ANNOUNCE_ABOVE, DataUse, check_samples, sample_name
from suite.data.dataset import Dataset, DatasetSpec
from suite.data.decode import ContractError


def _digits(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    d = load_digits()
    return (d.images[:n] / 16.0).astype(np.float32), d.target[:n]


def _ds(samples, targets=None, kind="npz", decode=None) -> Dataset:
    return Dataset(spec=DatasetSpec(kind, "x.npz"), task="classification", samples=samples,
                   targets=targets if targets is not None else np.zeros(len(samples), int), decode=decode)


def test_real_digits_pass_for_grey_and_colour_models_and_as_numbers():
    x, y = _digits()
    check_samples(_ds(list(x), y), [DataUse("grey", 1), DataUse("rgb", 3), DataUse("raw", None)])


def test_a_nan_pixel_is_named_by_sample_index():
    x, y = _digits()
    x[37, 4, 4] = np.nan
    with pytest.raises(ContractError, match=r"x.npz: sample 37"):
        check_samples(_ds(list(x), y), [DataUse("grey", 1)])
    with pytest.raises(ContractError, match=r"sample 37: holds 1 NaN or infinite value"):
        check_samples(_ds(list(x), y), [DataUse("raw", None)])


def test_samples_given_as_they_are_must_share_one_shape():
    x, _ = _digits(5)
    samples = list(x) + [np.zeros((9, 8), np.float32)]
    with pytest.raises(ContractError, match=r"sample 5: has shape \[9, 8\], sample 0 \[8, 8\]"):
        check_samples(_ds(samples), [DataUse("raw", None)])
    with pytest.raises(ContractError, match=r"sample 0: is <U|is str|not numbers"):
        check_samples(_ds([np.array(["a", "b"])]), [DataUse("raw", None)])


def test_a_model_with_its_own_preprocess_takes_samples_as_they_are():
    check_samples(_ds([{"tokens": "anything"}, "text"]), [DataUse("own", None, own_preprocess=True)])


def test_an_image_file_that_does_not_decode_is_named_by_its_file(tmp_path):
    """An image folder written from real digits, one file broken, read by the suite's own loader."""
    from PIL import Image

    from suite.data.loaders import load_dataset

    x, y = _digits(6)
    for i, (img, label) in enumerate(zip(x, y)):
        (tmp_path / str(label)).mkdir(exist_ok=True)
        Image.fromarray((img * 255).astype(np.uint8)).save(tmp_path / str(label) / f"{i}.png")
    ds = load_dataset(f"imagefolder:{tmp_path}")
    check_samples(ds, [DataUse("m", 3), DataUse("g", 1)])
    broken = ds.samples[4]
    with open(broken, "r+b") as fh:
        fh.truncate(20)
    assert sample_name(ds, 4) == f"sample 4 ({broken})"
    with pytest.raises(ContractError, match=rf"sample 4 \({broken}\): cannot be decoded as an image"):
        check_samples(ds, [DataUse("m", 3)])


def test_a_long_check_is_announced_and_a_short_one_is_not():
    notes: list[str] = []
    x, _ = _digits(10)
    check_samples(_ds(list(x)), [DataUse("m", 1)], note=notes.append)
    assert notes == []
    many = [x[0]] * (ANNOUNCE_ABOVE + 1)
    check_samples(_ds(many), [DataUse("m", None)], note=notes.append)
    assert notes == [f"checking the {ANNOUNCE_ABOVE + 1} samples of npz:x.npz before the run (each decoded once)"]
