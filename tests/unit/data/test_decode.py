"""The dataset contract (suite/data/decode.py) on real handwritten digits written in every image
mode and bit depth Pillow produces: each decodes to its 8-bit copy's values (within the 8-bit
step), or is refused with its mode, dtype or range named. Labels likewise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from suite.data.decode import ContractError, class_indices, image_to_float
from suite.data.loaders import _open_image
from suite.models.digits import digits_arrays

X, Y = digits_arrays("test")
DIGIT = X[0]  # float32 8 x 8 in [0, 1]: values k/16


def _saved(tmp_path: Path, im: Image.Image, name: str) -> Image.Image:
    path = tmp_path / name
    im.save(path)
    return _open_image(str(path))


def _grey_ways(tmp_path: Path) -> dict[str, Image.Image]:
    """One digit in every grey-capable mode, written to a file and read back as a user's folder would."""
    u8 = (DIGIT * 255).round().astype(np.uint8)
    u16 = (DIGIT * 65535).round().astype(np.uint16)
    L = Image.fromarray(u8)
    return {
        "L png": _saved(tmp_path, L, "l.png"),
        "RGB png": _saved(tmp_path, L.convert("RGB"), "rgb.png"),
        "RGBA png": _saved(tmp_path, L.convert("RGBA"), "rgba.png"),
        "LA png": _saved(tmp_path, L.convert("LA"), "la.png"),
        "P png": _saved(tmp_path, L.convert("P"), "p.png"),
        "I;16 png": _saved(tmp_path, Image.fromarray(u16), "i16.png"),
        "I;16 tiff": _saved(tmp_path, Image.fromarray(u16), "i16.tiff"),
        "F tiff": _saved(tmp_path, Image.fromarray(DIGIT.astype(np.float32)), "f.tiff"),
        "1 png": None,  # bilevel: checked on its own values below
    }


def test_every_grey_mode_decodes_to_the_8_bit_copy(tmp_path):
    ways = {k: v for k, v in _grey_ways(tmp_path).items() if v is not None}
    bilevel = _saved(tmp_path, Image.fromarray(DIGIT > 0.5), "one.png")
    assert bilevel.mode == "1" and np.array_equal(image_to_float(bilevel, 1)[:, :, 0], (DIGIT > 0.5).astype(np.float32))
    assert {im.mode for im in ways.values()} >= {"L", "RGB", "RGBA", "LA", "P", "I;16", "F"}
    for name, im in ways.items():
        for channels in (1, 3):
            got = image_to_float(im, channels)
            assert got.shape == (8, 8, channels) and got.dtype == np.float32, name
            # Before issue 23 the 16-bit image was clipped to 255 (all white) and the float one to 0.
            assert np.abs(got - DIGIT[:, :, None]).max() <= 0.5 / 255 + 1e-6, (name, channels)


def test_mode_I_by_the_bit_depth_its_file_declares(tmp_path):
    i32 = (DIGIT * 65535).round().astype(np.int32)
    sixteen = Image.fromarray(i32)  # mode I; written as a 32-bit TIFF
    path = tmp_path / "i32.tiff"
    sixteen.save(path)
    with pytest.raises(ContractError, match=r"32-bit integer image \(Pillow mode I[^)]*\) has no known value "
                                            r"range"):
        image_to_float(_open_image(str(path)), 1)
    # a 16-bit PNG read as mode I (older Pillow, or converted) is read on its 16-bit scale
    png = _open_image(str(_saved_path(tmp_path, Image.fromarray((DIGIT * 65535).round().astype(np.uint16)))))
    as_i = png.convert("I")
    as_i.format = "PNG"
    assert np.abs(image_to_float(as_i, 1)[:, :, 0] - DIGIT).max() < 1e-4


def _saved_path(tmp_path: Path, im: Image.Image) -> Path:
    path = tmp_path / "p16.png"
    im.save(path)
    return path


@pytest.mark.parametrize("values, needle", [
    (DIGIT * 255, r"values 0\.\.[\d.]+, outside \[0, 1\].*divide by the scale they were stored on"),
    (DIGIT * 16, r"values 0\.\.[\d.]+, outside \[0, 1\]"),
    (np.where(DIGIT > 0.5, np.nan, DIGIT), r"holds \d+ NaN or infinite value"),
])
def test_float_images_outside_the_unit_range_or_not_finite_are_refused(tmp_path, values, needle):
    arr = values.astype(np.float32)
    with pytest.raises(ContractError, match=needle):
        image_to_float(arr, 1)
    im = _saved(tmp_path, Image.fromarray(arr), "f.tiff")
    with pytest.raises(ContractError, match=needle):
        image_to_float(im, 1)


@pytest.mark.parametrize("arr, needle", [
    ((DIGIT * 255).astype(np.int32), "int32 has no known value range"),
    ((DIGIT * 65535).astype(np.uint16), "uint16 has no known value range"),
    (np.stack([DIGIT] * 3), r"looks channels-first \(C x H x W\)"),
    (np.zeros((8, 8, 2), np.float32), r"H x W x C with C = 1, 3 or 4"),
    (np.array(["a"]), "is not an image"),
])
def test_arrays_without_a_known_range_or_layout_are_refused(arr, needle):
    with pytest.raises(ContractError, match=needle):
        image_to_float(arr, 1)


def test_arrays_in_the_contract():
    assert np.array_equal(image_to_float((DIGIT * 255).round().astype(np.uint8), 1)[:, :, 0],
                          (DIGIT * 255).round().astype(np.float32) / 255)
    assert image_to_float(DIGIT > 0.5, 3).shape == (8, 8, 3)
    rgba = np.dstack([DIGIT, DIGIT, DIGIT, np.ones_like(DIGIT)])
    assert np.allclose(image_to_float(rgba, 1)[:, :, 0], DIGIT, atol=1e-6)  # alpha dropped, luma of grey = grey
    assert image_to_float(np.float64(1) + 1e-9 * DIGIT, 1).max() == 1.0  # rounding above 1 is clipped


def test_unsupported_pillow_modes_are_named(tmp_path):
    with pytest.raises(ContractError, match="Pillow image mode La is not supported"):
        image_to_float(Image.new("La", (4, 4)), 1)


def test_a_truncated_png_is_named_when_opened(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray((DIGIT * 255).astype(np.uint8)).resize((64, 64)).save(path)
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(ContractError, match="cannot be decoded as an image"):
        _open_image(str(path))


@pytest.mark.parametrize("labels, needle", [
    (np.array(["cat", "dog"]), r"holds strings \('cat', 'dog'\)"),
    (np.array([0.0, np.nan]), r"1 NaN or infinite label\(s\) \(the first at sample 1\)"),
    (np.array([1, -1, 2]), r"negative labels \(-1 at sample 1, 1 in all\)"),
    (np.array([0.0, 2.5]), r"fractional labels \(2\.5 at sample 1\)"),
    (np.eye(3), r"shape \[3, 3\].*one-hot\? store y\.argmax\(axis=1\)"),
    (np.array(3), "is a single value"),
    (np.array([None, 1], dtype=object), "holds objects"),
])
def test_malformed_labels_are_refused_naming_the_problem(labels, needle):
    with pytest.raises(ContractError, match=needle):
        class_indices(labels, "y")


def test_labels_in_the_contract():
    assert class_indices(np.array([0.0, 3.0]), "y").tolist() == [0, 3]
    assert class_indices(np.array([[1], [2]]), "y").tolist() == [1, 2]
    assert class_indices([True, False], "y").tolist() == [1, 0]
    assert class_indices(Y.astype(np.uint8), "y").dtype == np.int64
