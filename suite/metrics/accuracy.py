"""Task metrics on real data: top-1/top-5 for classification, Dice and IoU for segmentation
masks, or the user's own evaluate(outputs, targets). Per-sample outcomes are kept (top-1
predictions), so that two backends scored on the same samples can be compared pairwise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from suite import stats
from suite.backends.parity import flatten_outputs, to_numpy
from suite.errors import CaseError
from suite.models.inputs import Array

if TYPE_CHECKING:
    import numpy.typing as npt

MASK_THRESHOLD = 0.5  # on probabilities; logits (outside [0, 1]) are thresholded at 0
FRACTIONS = ("top-1", "top-5", "dice", "iou")  # metrics that are fractions in [0, 1]


@dataclass
class Scored:
    """What a dataset pass scored: the headline metric and the others, with intervals."""

    metric: str
    value: float
    higher_is_better: bool
    ci: tuple[float, float] | None
    ci_method: str | None
    correct: int | None  # for proportions
    samples: int
    others: dict[str, float] = field(default_factory=dict)
    predictions: list[int] | None = None  # top-1 classes, in dataset order
    right: str | None = None  # "1"/"0" per sample: top-1 right or not


def logits_of(output: object) -> Array:
    """The first tensor of a model's output as a numpy array (logits, or a mask)."""
    flat = flatten_outputs(output)
    if not flat:
        raise CaseError("accuracy", "the model returned no tensor output to score")
    return to_numpy(flat[0])


def finite_outputs(outputs: npt.ArrayLike) -> Array:
    """`outputs` (one row per sample) when every value is finite; NaN or infinite outputs fail
    the accuracy, naming how many samples have them (argmax would score a NaN row as class 0)."""
    import numpy as np

    out = np.asarray(outputs)
    if out.dtype.kind not in "biuf":
        raise CaseError("accuracy", f"the model's outputs are {out.dtype}, not numbers")
    if out.dtype.kind == "f" and out.ndim >= 1:
        bad = ~np.isfinite(out).reshape(len(out), -1).all(axis=1)
        if bad.any():
            raise CaseError("accuracy", f"the model's outputs hold NaN or infinite values for {int(bad.sum())} of "
                            f"{len(out)} samples (the first: sample {int(np.flatnonzero(bad)[0])}); no accuracy is "
                            "scored from them. Check the weights, the normalisation (MEAN/STD) and the inputs")
    return out


def score_classification(logits: npt.ArrayLike, targets: npt.ArrayLike, level: float = 0.95) -> Scored:
    import numpy as np

    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(targets, dtype=np.int64)
    if z.ndim != 2 or z.shape[0] != y.shape[0]:
        raise CaseError("accuracy", f"classification needs one row of class scores per sample; got outputs of shape "
                        f"{list(z.shape)} for {y.shape[0]} samples")
    if y.size and (y.min() < 0 or y.max() >= z.shape[1]):
        outside = int(((y < 0) | (y >= z.shape[1])).sum())
        raise CaseError("accuracy", f"labels run from {int(y.min())} to {int(y.max())} but the model scores "
                        f"{z.shape[1]} classes (0..{z.shape[1] - 1}): {outside} of {y.size} labels are outside its "
                        "outputs, so the dataset's classes do not match the model's")
    top1 = z.argmax(axis=1)
    correct = int((top1 == y).sum())
    k = min(5, z.shape[1])
    topk = np.argpartition(-z, kth=k - 1, axis=1)[:, :k]
    correct5 = int((topk == y[:, None]).any(axis=1).sum())
    n = int(y.size)
    return Scored("top-1", correct / n, True, stats.wilson_interval(correct, n, level), "Wilson", correct, n,
                  {f"top-{k}": correct5 / n}, [int(p) for p in top1], "".join("1" if r else "0" for r in top1 == y))


def score_segmentation(outputs: npt.ArrayLike, masks: npt.ArrayLike, level: float = 0.95) -> Scored:
    import numpy as np

    out = np.asarray(outputs, dtype=np.float64)
    gt = np.asarray(masks) > 0
    out = out.reshape(out.shape[0], *out.shape[-2:]) if out.ndim == 4 and out.shape[1] == 1 else out
    gt = gt.reshape(gt.shape[0], *gt.shape[-2:]) if gt.ndim == 4 and gt.shape[1] == 1 else gt
    if out.shape != gt.shape:
        raise CaseError("accuracy", f"masks of shape {list(gt.shape)} cannot be scored against outputs of shape "
                        f"{list(out.shape)} (segmentation needs one single-channel mask per sample at the input size)")
    threshold = MASK_THRESHOLD if out.min() >= 0 and out.max() <= 1 else 0.0
    pred = out > threshold
    inter = (pred & gt).reshape(len(gt), -1).sum(axis=1)
    p_sum, g_sum = pred.reshape(len(gt), -1).sum(axis=1), gt.reshape(len(gt), -1).sum(axis=1)
    union = p_sum + g_sum - inter
    both_empty = (p_sum + g_sum) == 0
    dice = np.where(both_empty, 1.0, 2 * inter / np.maximum(p_sum + g_sum, 1))
    iou = np.where(both_empty, 1.0, inter / np.maximum(union, 1))
    return Scored("dice", float(dice.mean()), True, stats.bootstrap_mean_ci(dice, level), "bootstrap", None,
                  int(len(gt)), {"iou": float(iou.mean())})


def score_custom(evaluate: Callable[[list[object], object], object], outputs: list[object], targets: object) -> Scored:
    try:
        got = evaluate(outputs, targets)
    except Exception as exc:
        raise CaseError("accuracy", f"the model file's evaluate(outputs, targets) failed: {type(exc).__name__}: "
                        f"{exc}") from exc
    value = metric_number(got)
    name = getattr(evaluate, "metric_name", None) or "evaluate()"
    higher = bool(getattr(evaluate, "higher_is_better", True))
    return Scored(str(name), value, higher, None, None, None, len(outputs))


def metric_number(got: object) -> float:
    """What evaluate() returned, as a float: a real, finite number (a Python or numpy number, or a
    one-element array or tensor); a string, None, a bool, NaN or infinity is a CaseError."""
    import math
    import numbers

    value: Any = got  # duck-typed: a Python or numpy number, an array or a tensor
    if callable(getattr(value, "item", None)):  # a numpy number or array, a torch tensor
        size = value.numel() if callable(getattr(value, "numel", None)) else getattr(value, "size", None)
        if size == 1:
            value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise CaseError("accuracy", f"the model file's evaluate(outputs, targets) returned {_shown(got)}, not a "
                        "number: it must return one float (the metric)")
    number = float(value)
    if not math.isfinite(number):
        raise CaseError("accuracy", f"the model file's evaluate(outputs, targets) returned {number}: a metric must be "
                        "a finite number")
    return number


def _shown(value: object) -> str:
    text = repr(value)
    return (text[:60] + "...") if len(text) > 60 else f"{text} ({type(value).__name__})"
