"""Every sample a run will evaluate, checked once before the run against the dataset contract
(suite/data/decode.py) as each model will take it: decoded to its channels when the suite
preprocesses its images, as numbers otherwise. A problem found here is the user's data, so it
is a ConfigError (exit 2) naming the dataset and the sample, before any case runs; the cases
then only meet problems that need the model (suite/run/evaluation.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from suite.data.dataset import Dataset, shown
from suite.data.decode import ContractError, image_to_float
from suite.models.inputs import Array

# Above this many samples the check says what it is doing (decoding each image once takes a while).
ANNOUNCE_ABOVE = 2000


@dataclass(frozen=True)
class DataUse:
    """How one model takes the samples."""

    model: str
    channels: int | None  # the suite decodes each sample to an image of this many channels
    own_preprocess: bool = False  # the model file's preprocess() takes the samples as they are


def check_samples(ds: Dataset, uses: Sequence[DataUse], note: Callable[[str], None] | None = None) -> None:
    """Decode every sample for every way it is used; the first one that does not fit is a
    ContractError naming the dataset, the sample and the problem."""
    channels = sorted({u.channels for u in uses if u.channels is not None and not u.own_preprocess})
    as_numbers = any(u.channels is None and not u.own_preprocess for u in uses)
    if not channels and not as_numbers:
        return
    if note is not None and len(ds) > ANNOUNCE_ABOVE:
        note(f"checking the {len(ds)} samples of {shown(ds.spec)} before the run (each decoded once)")
    first_shape = None
    for i in range(len(ds)):
        where = sample_name(ds, i)
        try:
            sample = ds.sample(i)
            for c in channels:
                image_to_float(sample, c)
            if as_numbers and not isinstance(sample, dict):
                arr = _numbers(sample)
                first_shape = arr.shape if first_shape is None else first_shape
                if arr.shape != first_shape:
                    raise ContractError(f"has shape {list(arr.shape)}, sample 0 {list(first_shape)}: samples given "
                                        "to a model as they are must all have one shape")
        except ContractError as exc:
            raise ContractError(f"{shown(ds.spec)}: {where}: {exc}") from None


def sample_name(ds: Dataset, i: int) -> str:
    """How an error names sample `i`: its index, and its file when it has one."""
    s = ds.samples[i]
    return f"sample {i} ({shown(s)})" if isinstance(s, str) else f"sample {i}"


def _numbers(sample: object) -> Array:
    import numpy as np

    try:
        arr = np.asarray(sample)
    except Exception as exc:
        raise ContractError(f"cannot be read as an array of numbers ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise ContractError(f"is {arr.dtype}, not numbers")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ContractError(f"holds {int((~np.isfinite(arr)).sum())} NaN or infinite value(s)")
    return arr
