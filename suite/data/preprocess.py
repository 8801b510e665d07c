"""Preprocessing as a stated contract, the same for every backend of a case.

An image is decoded to the model's channels (1: grey, 3: RGB), as float32 in [0, 1] by its
real mode and bit depth (the dataset contract: suite/data/decode.py), resized to the case's
resolution by the case's method, then normalised with the model's declared mean and standard
deviation:

    area         average over the source pixels each target pixel covers (antialiased; for an
                 upscale, where there is nothing to average, bilinear)
    bilinear     bilinear interpolation at the target pixel centres, no antialiasing (aliasing
                 shows when downscaling by more than 2x: that is the point of comparing it)
    nearest      the nearest source pixel (nearest-exact)
    center-crop  the shorter side scaled (bilinear, antialiased) to size / 0.875, then the
                 central size x size crop: torchvision's ImageNet evaluation transform

area, bilinear and nearest map the whole image to size x size (the aspect ratio is not kept);
center-crop keeps it and drops the borders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from suite.data.decode import FloatImage, image_to_float
from suite.errors import BenchError
from suite.models.entry import ModelEntry
from suite.models.inputs import image_channels

if TYPE_CHECKING:
    from torch import Tensor

RESIZE_METHODS = ("area", "bilinear", "nearest", "center-crop")
CROP_FRACTION = 0.875
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    channels: int
    size: int
    method: str
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.method not in RESIZE_METHODS:
            raise BenchError(f"Unknown resize method '{self.method}'; choose from {', '.join(RESIZE_METHODS)}")
        if self.channels not in (1, 3):
            raise BenchError(f"Images can be decoded to 1 or 3 channels, not {self.channels}")
        import math

        if not all(math.isfinite(v) for v in (*self.mean, *self.std)):
            raise BenchError(f"mean {list(self.mean)} / std {list(self.std)} must be finite numbers")
        if len(self.mean) != self.channels or len(self.std) != self.channels or any(s <= 0 for s in self.std):
            raise BenchError(f"mean {self.mean} / std {self.std} do not fit {self.channels} channel(s)")

    def describe(self) -> str:
        return (f"{self.channels}-channel float32 in [0,1], resized to {self.size}x{self.size} by {self.method}, "
                f"normalised with mean {list(self.mean)} and std {list(self.std)}")


def as_float_image(image: object, channels: int) -> FloatImage:
    """An image (a PIL image, or an array H x W or H x W x C) as a float32 array H x W x
    channels in [0, 1], by its real mode, bit depth or dtype; what does not fit the dataset
    contract (suite/data/decode.py) is refused, never clipped."""
    return image_to_float(image, channels)


def resize(batch: Tensor, size: int, method: str) -> Tensor:
    """N x C x H x W float tensor to N x C x size x size by `method` (see the module docstring)."""
    import torch.nn.functional as F

    h, w = batch.shape[-2:]
    if method == "area":
        if size <= h and size <= w:
            return F.interpolate(batch, size=(size, size), mode="area")
        return F.interpolate(batch, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    if method == "bilinear":
        return F.interpolate(batch, size=(size, size), mode="bilinear", align_corners=False, antialias=False)
    if method == "nearest":
        return F.interpolate(batch, size=(size, size), mode="nearest-exact")
    if method == "center-crop":
        scale = round(size / CROP_FRACTION) / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        scaled = F.interpolate(batch, size=(nh, nw), mode="bilinear", align_corners=False, antialias=True)
        top, left = (nh - size) // 2, (nw - size) // 2
        return scaled[..., top:top + size, left:left + size]
    raise BenchError(f"Unknown resize method '{method}'; choose from {', '.join(RESIZE_METHODS)}")


def preprocess(images: Sequence[object], prep: Preprocessing) -> Tensor:
    """Decoded, resized and normalised images as one N x C x size x size float32 tensor."""
    import torch

    out = []
    for img in images:
        arr = as_float_image(img, prep.channels)
        t = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()
        out.append(resize(t, prep.size, prep.method))
    batch = torch.cat(out).clamp_(0.0, 1.0)  # bilinear/area stay in range; clamp float noise
    mean = torch.tensor(prep.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(prep.std, dtype=torch.float32).view(1, -1, 1, 1)
    return (batch - mean) / std



def model_preprocessing(entry: ModelEntry, size: int, method: str) -> Preprocessing:
    """The preprocessing a model declares: its channels from its input spec, and its mean/std
    from (in this order) its registry entry (`extra["normalisation"]`, "module:function" ->
    (mean, std), or `extra["mean"]`/`extra["std"]`), a user file's MEAN/STD, or ImageNet's for
    3-channel models (the torchvision zoo); 1-channel models without a declaration get 0 / 1."""
    import importlib

    channels = image_channels(entry.input_spec)
    extra = getattr(entry, "extra", {}) or {}
    if isinstance(extra.get("normalisation"), str):
        module, _, func = extra["normalisation"].partition(":")
        mean, std = getattr(importlib.import_module(module), func)()
    elif "mean" in extra and "std" in extra:
        mean, std = tuple(extra["mean"]), tuple(extra["std"])
    elif channels == 3:
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    else:
        mean, std = (0.0,) * channels, (1.0,) * channels
    return Preprocessing(channels, int(size), method, tuple(float(m) for m in mean), tuple(float(s) for s in std))
