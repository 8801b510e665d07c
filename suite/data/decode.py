"""The dataset contract: images to float32 in [0, 1] by their real mode and bit depth, and
labels to class indices. What does not fit is refused with the mode, dtype or value named;
nothing is clipped or rescaled silently (a 16-bit image clipped to 8 bits scored 56.7% where
its 8-bit copy scored 96.7%).

Images (Pillow: files of an image folder, hf-disk image columns, a model file's samples):

    1, L, P, LA, PA, RGB, RGBA, RGBX, CMYK, YCbCr, HSV, LAB   8 bits: value / 255 (Pillow converts
                                   palettes and colour spaces; alpha is dropped, not composited)
    I;16, I;16L, I;16B, I;16N       16-bit grey: value / 65535
    I                               32-bit integer: from a 16-bit PNG or TIFF, value / 65535; an
                                    8-bit TIFF, value / 255; any other is refused (no known range)
    F                               32-bit float: as stored, if every value is finite and in [0, 1]

Arrays (npz `x`, array columns, a model file's samples): H x W or H x W x C (C = 1, 3 or 4; the
4th channel is alpha and dropped), of

    uint8                           value / 255
    bool                            0 or 1
    float16, float32, float64       as stored, if every value is finite and in [0, 1]

Other integer arrays (uint16, int32, ...) are refused: an array does not say its range (a
uint16 array may hold 12-bit camera values). Convert them to floats in [0, 1] or to uint8.

Labels (classification): one class index per sample, integers >= 0 (floats only when whole
numbers); strings, NaN, negative, fractional or one-hot labels are refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, cast

from suite.errors import ConfigError
from suite.models.inputs import Array

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from PIL import Image

FloatImage: TypeAlias = "npt.NDArray[np.float32]"  # H x W x C, values in [0, 1]

# Float values this far outside [0, 1] are rounding, and clipped; anything beyond is refused.
FLOAT_SLACK = 1e-6
EIGHT_BIT_MODES = ("1", "L", "P", "LA", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "HSV", "LAB")
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
CONTRACT = ("images must be 8-bit or 16-bit (PNG, TIFF, JPEG, ...), float images with values in [0, 1], or "
            "arrays of uint8 or of floats in [0, 1] (README: the dataset contract)")


class ContractError(ConfigError):
    """A sample or label outside the dataset contract; the caller adds where it is."""


def image_to_float(image: object, channels: int) -> FloatImage:
    """A Pillow image or an array as a float32 array H x W x `channels` in [0, 1]."""
    arr = pil_to_float(cast("Image.Image", image), channels) if hasattr(image, "mode") and hasattr(image, "getbands") \
        else array_to_float(image)
    return to_channels(arr, channels)


def pil_to_float(im: Image.Image, channels: int = 3) -> FloatImage:
    """A Pillow image as float32 H x W x C in [0, 1], by its mode (8-bit modes converted by
    Pillow to grey or RGB as `channels` asks, as torchvision's loaders do)."""
    import numpy as np

    mode = im.mode
    if mode in EIGHT_BIT_MODES:
        target = "L" if channels == 1 else "RGB"
        try:
            try:
                converted = im.convert(target)
            except ValueError:  # LAB converts to RGB only
                converted = im.convert("RGB").convert(target)
            arr = np.asarray(converted)
        except (ValueError, OSError) as exc:
            raise ContractError(f"a {mode} image cannot be converted to {target} ({exc})") from None
        return _hwc(arr.astype(np.float32) / 255.0)
    if mode in SIXTEEN_BIT_MODES:
        return _hwc(np.asarray(im).astype(np.float32) / 65535.0)
    if mode == "I":
        bits = _declared_bits(im)
        if bits not in (8, 16):
            raise ContractError(f"a 32-bit integer image (Pillow mode I{_bits_text(bits)}) has no known value "
                                f"range; save it as 8- or 16-bit, or as floats in [0, 1]. The contract: {CONTRACT}")
        arr = np.asarray(im).astype(np.float64)
        top = 2 ** bits - 1
        if arr.size and (arr.min() < 0 or arr.max() > top):
            raise ContractError(f"a {bits}-bit image (Pillow mode I) holds values {arr.min():g}..{arr.max():g}, "
                                f"outside 0..{top}")
        return _hwc((arr / top).astype(np.float32))
    if mode == "F":
        return _hwc(check_float_range(np.asarray(im), "a float image (Pillow mode F)"))
    raise ContractError(f"Pillow image mode {mode} is not supported; {CONTRACT}")


def _declared_bits(im: Image.Image) -> int | None:
    """Bits per sample a mode-I image's file declares: a PNG has at most 16; a TIFF says."""
    if getattr(im, "format", None) == "PNG":
        return 16
    tags = getattr(im, "tag_v2", None)
    if tags is not None:
        bits, fmt = tags.get(258), tags.get(339)  # BitsPerSample, SampleFormat (1 = unsigned)
        bits = bits[0] if isinstance(bits, tuple) and bits else bits
        fmt = fmt[0] if isinstance(fmt, tuple) and fmt else fmt
        if fmt in (None, 1) and isinstance(bits, int):
            return bits
    return None


def _bits_text(bits: int | None) -> str:
    return f", {bits} bits per sample" if bits else ""


def array_to_float(image: object) -> FloatImage:
    """An array H x W or H x W x C as float32 H x W x C in [0, 1], by its dtype."""
    import numpy as np

    try:
        arr = np.asarray(image)
    except Exception as exc:  # ragged lists, objects
        raise ContractError(f"a sample of type {type(image).__name__} is not an image ({exc})") from None
    kind = arr.dtype.kind
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif kind == "b":
        arr = arr.astype(np.float32)
    elif kind == "f":
        arr = check_float_range(arr, f"a {arr.dtype} image")
    else:
        raise ContractError(_dtype_refusal(arr.dtype, f"a sample of dtype {arr.dtype}"))
    return _hwc(arr)


def _dtype_refusal(dtype: np.dtype[np.generic], what: str) -> str:
    if dtype.kind in "iu":
        return (f"{what} has no known value range (uint8 is 0..255; {dtype} may hold anything): convert the "
                "images to floats in [0, 1] or to uint8")
    return f"{what} is not an image; {CONTRACT}"


def check_float_range(arr: npt.ArrayLike, what: str) -> FloatImage:
    """`arr` as float32 if finite and in [0, 1] (within rounding), else a ContractError."""
    import numpy as np

    a = np.asarray(arr)
    finite = np.isfinite(a)
    if not finite.all():
        bad = int((~finite).sum())
        raise ContractError(f"{what} holds {bad} NaN or infinite value(s): refused (a NaN pixel makes the model "
                            "output NaN, scored as a wrong class)")
    if a.size:
        low, high = float(a.min()), float(a.max())
        if low < -FLOAT_SLACK or high > 1 + FLOAT_SLACK:
            raise ContractError(f"{what} holds values {low:g}..{high:g}, outside [0, 1]; float images must be in "
                                "[0, 1], and nothing is rescaled for you: divide by the scale they were stored on "
                                "(e.g. 255), or store uint8")
    return np.clip(a.astype(np.float32, copy=False), 0.0, 1.0)


def _hwc(arr: FloatImage) -> FloatImage:
    if arr.ndim == 2:
        return arr[:, :, None]
    if arr.ndim == 3 and arr.shape[2] in (1, 3, 4):
        return arr
    shape = list(arr.shape)
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4):
        raise ContractError(f"an image of shape {shape} looks channels-first (C x H x W); the contract is "
                            "H x W or H x W x C (e.g. x.transpose(0, 2, 3, 1) for a whole N x C x H x W array)")
    raise ContractError(f"an image must be H x W or H x W x C with C = 1, 3 or 4; got shape {shape}")


def to_channels(arr: FloatImage, channels: int) -> FloatImage:
    """H x W x C float (C = 1, 3 or 4) to H x W x `channels` (1: grey, 3: RGB)."""
    import numpy as np

    c = arr.shape[2]
    if c == 4:
        arr, c = arr[:, :, :3], 3  # alpha dropped
    if c == channels:
        return arr
    if c == 1 and channels == 3:
        return np.repeat(arr, 3, axis=2)
    if c == 3 and channels == 1:
        # ITU-R 601 luma, as Pillow's convert("L")
        return (arr @ np.array([0.299, 0.587, 0.114], dtype=np.float32))[:, :, None]
    raise ContractError(f"cannot decode an image with {c} channels to {channels}")


def check_images(x: Array, what: str) -> None:
    """A whole stacked N x H x W (x C) array against the array contract at once (fast for an npz)."""
    import numpy as np

    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[3] not in (1, 3, 4)):
        if x.ndim == 4 and x.shape[1] in (1, 3, 4):
            raise ContractError(f"{what} has shape {list(x.shape)}: channels first (N x C x H x W); the contract is "
                                "N x H x W or N x H x W x C: store x.transpose(0, 2, 3, 1)")
        raise ContractError(f"{what} has shape {list(x.shape)}; images are N x H x W or N x H x W x C (C = 1, 3 or 4)")
    kind = x.dtype.kind
    if x.dtype == np.uint8 or kind == "b":
        return
    if kind != "f":
        raise ContractError(_dtype_refusal(x.dtype, f"{what} ({x.dtype})"))
    check_float_range(x, what)


def class_indices(y: object, what: str) -> npt.NDArray[np.int64]:
    """Labels as an int64 array of class indices, or a ContractError naming `what` and the problem."""
    import numpy as np

    try:
        a = np.asarray(y)
    except Exception as exc:
        raise ContractError(f"{what} cannot be read as one label per sample ({exc})") from None
    if a.ndim == 0:
        raise ContractError(f"{what} is a single value, not one label per sample")
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        hint = (" (one-hot? store y.argmax(axis=1))" if a.ndim == 2 else "")
        raise ContractError(f"{what} has shape {list(a.shape)}; classification needs one class index per sample, "
                            f"shape [N]{hint}")
    kind = a.dtype.kind
    if kind in "USO":
        examples = ", ".join(repr(v) for v in list(dict.fromkeys(a.tolist()))[:3])
        raise ContractError(f"{what} holds {'strings' if kind in 'US' else 'objects'} ({examples}), not class "
                            "indices: give integers 0..K-1 in the model's output order (an image folder maps "
                            "names to indices with classes.txt)")
    if kind == "b":
        return a.astype(np.int64)
    if kind == "f":
        finite = np.isfinite(a)
        if not finite.all():
            first = int(np.flatnonzero(~finite)[0])
            raise ContractError(f"{what} holds {int((~finite).sum())} NaN or infinite label(s) (the first at sample "
                                f"{first})")
        frac = a != np.round(a)
        if frac.any():
            first = int(np.flatnonzero(frac)[0])
            raise ContractError(f"{what} holds fractional labels ({a[first]:g} at sample {first}): class indices are "
                                "whole numbers, nothing is truncated for you")
    elif kind not in "iu":
        raise ContractError(f"{what} of dtype {a.dtype} are not class indices")
    if a.size and a.min() < 0:
        first = int(np.flatnonzero(a < 0)[0])
        raise ContractError(f"{what} holds negative labels ({a[first]:g} at sample {first}, {int((a < 0).sum())} in "
                            "all): class indices run from 0")
    return a.astype(np.int64)


def check_masks(y: Array, what: str) -> None:
    """Segmentation masks (N x H x W, N x 1 x H x W): numbers or booleans, finite."""
    import numpy as np

    kind = y.dtype.kind
    if kind not in "biuf":
        raise ContractError(f"{what} of dtype {y.dtype} are not masks (numbers or booleans, > 0 marks the object)")
    if kind == "f" and not np.isfinite(y).all():
        raise ContractError(f"{what} hold {int((~np.isfinite(y)).sum())} NaN or infinite value(s)")
