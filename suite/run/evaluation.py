"""One pass over an evaluation dataset through a prepared backend: the task metric, and the
time per example the handout asks for, with preprocessing timed apart.

Batches are the case's batch size; the last one is padded (with copies of its first sample,
whose outputs are dropped) so that every backend sees the shapes it was prepared for (a
torch.compile graph or a fixed-batch ONNX graph would otherwise recompile or refuse). Accuracy
does not depend on the batch size: the runner has one case per model x backend x input size x
resize method run the pass (`PlannedCase.evaluates`) and links the others to it.
"""

from __future__ import annotations

import time
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from suite.backends.protocol import Calibration, Prepared
from suite.data.dataset import Dataset
from suite.data.preprocess import Preprocessing, model_preprocessing, preprocess
from suite.errors import BenchError, CaseError
from suite.metrics import accuracy as acc
from suite.models.entry import ModelEntry
from suite.models.user_file import file_module
from suite.results.flags import flag
from suite.results.schema import AccuracyResult, CaseResult, CaseSpec, Flag

if TYPE_CHECKING:
    import torch

    from suite.models.inputs import Inputs


@runtime_checkable
class _Rows(Protocol):
    """A tensor or an array: a shape, a dtype, and rows to slice."""

    shape: Sequence[int]
    dtype: object

    def __getitem__(self, rows: slice) -> object: ...


def evaluate_dataset(prepared: Prepared, entry: ModelEntry, dataset: Dataset, spec: CaseSpec, *, device: str = "cpu",
                     level: float = 0.95, warnings: list[Flag] | None = None) -> AccuracyResult:
    """Run `dataset` through `prepared` (inside its context) and score it. What only the model can
    reveal (non-finite outputs, labels beyond its classes, a metric that is no number) is a
    CaseError("accuracy"); a doubt that leaves the figure standing (the dataset declares another
    number of classes than the model scores) is appended to `warnings` as a flag."""
    import numpy as np


    batch = spec.batch_size
    n = len(dataset)
    prep = _preprocessing(entry, spec, dataset)
    names = [t.name for t in entry.input_spec.tensors]
    outputs: list[Any] = []  # arrays to score, or for a custom task what the model gives its evaluate()
    model_s = prep_s = 0.0
    t_all = time.perf_counter()
    for start in range(0, n, batch):
        idx = list(range(start, min(start + batch, n)))
        real = len(idx)
        idx += [idx[0]] * (batch - real)  # pad: the same shapes as the timed loop
        t0 = time.perf_counter()
        inputs = _inputs(dataset, idx, prep, names, spec, device)
        t1 = time.perf_counter()
        out = _host(prepared.run(inputs))
        # The padding's outputs are dropped here: no metric ever sees them.
        got = first_rows(out, real, batch) if dataset.task == "custom" else acc.logits_of(out)[:real]
        t2 = time.perf_counter()
        prep_s += t1 - t0
        model_s += t2 - t1
        outputs.append(got)
    eval_s = time.perf_counter() - t_all
    if dataset.task == "classification":
        logits = acc.finite_outputs(np.concatenate(outputs))
        if warnings is not None:
            warnings.extend(class_count_flags(dataset, logits.shape[1] if logits.ndim == 2 else None))
        scored = acc.score_classification(logits, dataset.targets, level)
    elif dataset.task == "segmentation":
        scored = acc.score_segmentation(acc.finite_outputs(np.concatenate(outputs)), dataset.targets, level)
    elif dataset.evaluate is not None:
        scored = acc.score_custom(dataset.evaluate, outputs, dataset.targets)
    else:
        raise CaseError("accuracy", f"{dataset.spec}: a custom task without an evaluate() to score it")
    if scored.metric in acc.FRACTIONS and not 0.0 <= scored.value <= 1.0:
        raise CaseError("accuracy", f"{scored.metric} came out as {scored.value}, outside [0, 1]: not a result")
    return AccuracyResult(
        metric=scored.metric, value=scored.value, dataset=str(dataset.spec), split=dataset.split, samples=n,
        higher_is_better=scored.higher_is_better,
        ci_low=scored.ci[0] if scored.ci else None, ci_high=scored.ci[1] if scored.ci else None,
        ci_level=level if scored.ci else None, ci_method=scored.ci_method, correct=scored.correct,
        others=scored.others, dataset_hash=dataset.source_hash, dataset_total=dataset.total or n,
        dataset_notes=list(dataset.notes), resize=spec.resize,
        preprocessing=prep.describe() if prep is not None else "the dataset's samples as given",
        predictions=scored.predictions, right=scored.right, eval_batch_size=batch, eval_s=round(eval_s, 4),
        per_example_ms=model_s / n * 1e3, preprocess_per_example_ms=prep_s / n * 1e3,
    )


def first_rows(out: object, real: int, batch: int) -> object:
    """A model's output for a padded batch without the padding: every tensor or array whose
    first axis is the batch keeps its first `real` rows, through tuples, lists and dicts."""
    if real == batch:
        return out
    if isinstance(out, _Rows):
        return out[:real] if len(out.shape) and out.shape[0] == batch else out
    if isinstance(out, Mapping):
        return {k: first_rows(v, real, batch) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return type(out)(first_rows(v, real, batch) for v in out)
    return out


def class_count_flags(dataset: Dataset, outputs: int | None) -> list[Flag]:
    """A warning when the dataset declares a different number of classes than the model scores
    (10 class folders against a 1000-class model scored 0% with no word why)."""
    declared = len(dataset.classes) if dataset.classes is not None and dataset.class_source else None
    if declared is None or outputs is None or declared == outputs:
        return []
    return [flag("classes_differ", f"the dataset declares {declared} classes ({dataset.class_source}) and the model "
                 f"scores {outputs}: a label k is counted right only when the model's top class is its output k, so "
                 "unless the model was trained on these classes in this order the accuracy says nothing "
                 "(classes.txt sets the dataset's order)")]


def dataset_calibration(entry: ModelEntry, dataset: Dataset, spec: CaseSpec, device: str = "cpu") -> Calibration:
    """The dataset as calibration data (suite.backends.protocol.Calibration): its samples in order,
    preprocessed exactly as the dataset pass preprocesses them, in batches of the case's batch size."""
    prep = _preprocessing(entry, spec, dataset)
    names = [t.name for t in entry.input_spec.tensors]
    batch = spec.batch_size
    how = prep.describe() if prep is not None else "as stored"

    def batches(n: int) -> Iterator[Inputs]:
        n = min(n, len(dataset))
        for start in range(0, n, batch):
            idx = list(range(start, min(start + batch, n)))
            idx += [idx[0]] * (batch - len(idx))  # the case's shapes, as in the dataset pass
            yield _inputs(dataset, idx, prep, names, spec, device)

    identity = hashlib.sha256(f"{dataset.source_hash}|{dataset.split}|{how}|{spec.input_size}".encode()).hexdigest()
    split = f" (split {dataset.split})" if dataset.split else ""
    return Calibration(source=f"{dataset.spec}{split}", identity=identity[:16], size=len(dataset), batches=batches)


def _preprocessing(entry: ModelEntry, spec: CaseSpec, dataset: Dataset) -> Preprocessing | _OwnPreprocessing | None:
    if not _is_image_task(entry, dataset):
        return None
    if spec.input_size is None:
        raise CaseError("accuracy", f"model '{entry.name}' has no resolution axis to resize images to")
    prep = model_preprocessing(entry, int(spec.input_size), spec.resize or "area")
    own = getattr(file_module(entry), "preprocess", None)
    return _OwnPreprocessing(own, prep) if callable(own) else prep


class _OwnPreprocessing:
    """A model file's own preprocess(images, size, method) -> N x C x H x W tensor."""

    def __init__(self, fn: Callable[..., object], prep: Preprocessing):
        self.fn, self.prep = fn, prep

    def describe(self) -> str:
        return f"the model file's preprocess(images, size={self.prep.size}, method={self.prep.method!r})"


def _is_image_task(entry: ModelEntry, dataset: Dataset) -> bool:
    return entry.input_spec.size_axis == "resolution" and not isinstance(dataset.sample(0), dict)


def _inputs(dataset: Dataset, idx: list[int], prep: Preprocessing | _OwnPreprocessing | None, names: list[str],
            spec: CaseSpec, device: str) -> Inputs:
    import numpy as np
    import torch


    try:
        samples = [dataset.sample(i) for i in idx]
        if prep is not None:
            x = _preprocess(samples, prep)
            return {names[0]: x.to(device) if device != "cpu" else x}
    except BenchError as exc:  # a file changed since the check before the run
        raise CaseError("accuracy", f"{dataset.spec}: samples {idx[0]}..{idx[-1]}: {exc}") from None
    if isinstance(samples[0], dict):  # pre-tokenised text: pad or cut to the case's length
        length = int(spec.input_size) if spec.input_size is not None else max(len(s["input_ids"]) for s in samples)
        out: dict[str, torch.Tensor] = {}
        for name in names:
            rows = []
            for s in samples:
                v = np.asarray(s.get(name, np.ones_like(s["input_ids"]) if name == "attention_mask"
                                     else np.zeros_like(s["input_ids"])), dtype=np.int64)[:length]
                rows.append(np.pad(v, (0, length - len(v))))
            out[name] = torch.from_numpy(np.stack(rows)).to(device)
        return out
    x = torch.as_tensor(np.stack([np.asarray(s, dtype=np.float32) for s in samples]))
    return {names[0]: x.to(device)}


def _preprocess(samples: list[object], prep: Preprocessing | _OwnPreprocessing) -> torch.Tensor:
    if isinstance(prep, _OwnPreprocessing):
        import torch

        try:
            x = torch.as_tensor(prep.fn(samples, prep.prep.size, prep.prep.method))
        except Exception as exc:
            raise CaseError("accuracy", f"the model file's preprocess() failed: {type(exc).__name__}: {exc}") from exc
        want = (len(samples), prep.prep.channels, prep.prep.size, prep.prep.size)
        if tuple(x.shape) != want:
            raise CaseError("accuracy", f"the model file's preprocess(images, {prep.prep.size}, {prep.prep.method!r}) "
                            f"returned shape {list(x.shape)} for {len(samples)} images; the model takes "
                            f"{list(want)} (N x C x size x size)")
        if x.is_floating_point() and not bool(torch.isfinite(x).all()):
            raise CaseError("accuracy", "the model file's preprocess() returned NaN or infinite values")
        return x

    images: torch.Tensor = preprocess(samples, prep)  # N x C x size x size float32
    return images


def _host(out: object) -> object:
    """ORT with IO binding returns a binding; everything else returns outputs."""
    if hasattr(out, "copy_outputs_to_cpu"):
        return out.copy_outputs_to_cpu()
    return out


def link_accuracy(result: CaseResult, done: list[CaseResult]) -> CaseResult:
    """A case of another batch size gets the accuracy its model x backend x size x resize
    already has (the pass ran once), marked with the id of the case that ran it; when that pass
    failed, the same accuracy_failed flag, so that every case of the group says so."""
    if result.accuracy is not None or result.latency is None:
        return result
    s = result.spec
    key = (s.model, s.backend, s.device, s.input_size, s.resize, s.dtype)
    for c in done:
        cs = c.spec
        if (cs.model, cs.backend, cs.device, cs.input_size, cs.resize, cs.dtype) != key:
            continue
        if c.accuracy is not None and c.accuracy.evaluated_in is None:
            linked = c.accuracy.model_copy(update={"evaluated_in": c.id, "predictions": None, "right": None})
            return result.model_copy(update={"accuracy": linked})
        failed = [f for f in c.flags if f.kind == "accuracy_failed" and f.kind not in {g.kind for g in result.flags}]
        if failed:
            return result.model_copy(update={"flags": [*result.flags, *failed]})
    return result
