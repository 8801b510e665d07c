"""The preprocessing contract, checked by hand on tiny images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from suite.data.preprocess import Preprocessing, as_float_image, preprocess, resize
from suite.errors import BenchError


def _img(a) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float32)[None, None]


def test_area_averages_the_pixels_each_target_pixel_covers():
    x = _img([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]])
    out = resize(x, 2, "area")[0, 0]
    assert out.tolist() == [[2.5, 4.5], [10.5, 12.5]]


def test_nearest_picks_source_pixels_and_bilinear_does_not_antialias():
    a = np.random.default_rng(0).random((8, 8))
    x = _img(a)
    near = resize(x, 2, "nearest")[0, 0].numpy()
    assert near[0, 0] == pytest.approx(a[2, 2]) and near[1, 1] == pytest.approx(a[6, 6])  # centres 1.5 -> exact 2
    bil = resize(x, 2, "bilinear")[0, 0].numpy()
    # at 4x, output (0, 0) samples source (1.5, 1.5): the mean of 4 pixels only, where area averages 16
    assert bil[0, 0] == pytest.approx(a[1:3, 1:3].mean(), rel=1e-5)
    assert resize(x, 2, "area")[0, 0, 0, 0].item() == pytest.approx(a[:4, :4].mean(), rel=1e-5)


def test_center_crop_keeps_the_aspect_and_takes_the_middle():
    x = torch.arange(20 * 40, dtype=torch.float32).reshape(1, 1, 20, 40)
    out = resize(x, 14, "center-crop")  # shorter side -> round(14 / 0.875) = 16, then the middle 14 x 14
    assert out.shape == (1, 1, 14, 14)
    scaled = torch.nn.functional.interpolate(x, size=(16, 32), mode="bilinear", align_corners=False, antialias=True)
    assert torch.allclose(out, scaled[..., 1:15, 9:23])


def test_decoding_channels_range_and_normalisation():
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 0, 0)
    grey = as_float_image(rgb, 1)
    assert grey.shape == (2, 2, 1) and grey[0, 0, 0] == pytest.approx(0.299)
    assert as_float_image(np.ones((3, 3), dtype=np.float32), 3).shape == (3, 3, 3)
    prep = Preprocessing(1, 2, "area", (0.5,), (0.25,))
    batch = preprocess([np.full((4, 4), 0.75, dtype=np.float32)], prep)
    assert batch.shape == (1, 1, 2, 2) and torch.allclose(batch, torch.full((1, 1, 2, 2), 1.0))


def test_bad_methods_and_normalisations_are_refused():
    with pytest.raises(BenchError, match="choose from area, bilinear, nearest, center-crop"):
        Preprocessing(1, 8, "bicubic", (0.0,), (1.0,))
    with pytest.raises(BenchError, match="do not fit 3 channel"):
        Preprocessing(3, 8, "area", (0.0,), (1.0,))
