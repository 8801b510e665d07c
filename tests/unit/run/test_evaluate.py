"""suite/run/evaluation.py: the dataset pass, against references it cannot fake (a known sleep per call,
a constant model whose accuracy is the share of one label), and the link to other batch sizes."""

from __future__ import annotations

import time

import numpy as np
import pytest
from report_builders import case

from suite.backends.protocol import BackendBase
from suite.data import load_dataset
from suite.models.registry import registry
from suite.results.schema import CaseResult, CaseSpec, utc_now
from suite.run.evaluation import dataset_calibration, evaluate_dataset, link_accuracy

SLEEP_S = 0.02


class ConstantSlow(BackendBase):
    """Always answers class 0, and takes SLEEP_S per call."""

    def __init__(self):
        super().__init__()
        self.shapes: list[tuple[int, ...]] = []

    def run(self, inputs):
        import torch

        (x,) = inputs.values()
        self.shapes.append(tuple(x.shape))
        time.sleep(SLEEP_S)
        return torch.zeros(x.shape[0], 10)


def _spec(batch: int) -> CaseSpec:
    return CaseSpec(model="digits-cnn", source="registry", modality="image", backend="eager", batch_size=batch,
                    size_axis="resolution", input_size=8.0, threads=1, resize="area")


def test_the_pass_scores_times_and_pads_to_the_case_batch():
    ds = load_dataset("digits", limit=10, seed=0)
    backend = ConstantSlow()
    acc = evaluate_dataset(backend, registry()["digits-cnn"], ds, _spec(4))
    want = float(np.mean(np.asarray(ds.targets) == 0))
    assert acc.samples == 10 and acc.value == pytest.approx(want) and acc.correct == int(round(want * 10))
    # three calls of batch 4 (the last padded): the timed loop's shapes, never a smaller batch
    assert backend.shapes == [(4, 1, 8, 8)] * 3
    # each call sleeps SLEEP_S: per example at least 3 x SLEEP_S / 10 samples
    assert acc.per_example_ms >= 3 * SLEEP_S / 10 * 1e3
    assert acc.preprocess_per_example_ms > 0 and acc.eval_s >= 3 * SLEEP_S
    assert acc.predictions == [0] * 10 and acc.right == "".join("1" if t == 0 else "0" for t in ds.targets)


def test_other_batch_sizes_link_to_the_case_that_ran_the_pass():
    ds = load_dataset("digits", limit=10, seed=0)
    acc = evaluate_dataset(ConstantSlow(), registry()["digits-cnn"], ds, _spec(4))
    first = CaseResult(spec=_spec(4), id=_spec(4).case_id, status="ok", started_at=utc_now(), duration_s=1,
                       accuracy=acc)
    other = CaseResult(spec=_spec(8), id=_spec(8).case_id, status="ok", started_at=utc_now(), duration_s=1)
    assert link_accuracy(other, [first]).accuracy is None  # no timings: nothing to put beside
    timed = case("digits-cnn", 8, [1.0] * 20, resize="area")
    timed = timed.model_copy(update={"spec": _spec(8), "id": _spec(8).case_id})
    linked = link_accuracy(timed, [first]).accuracy
    assert linked.evaluated_in == first.id and linked.value == acc.value and linked.predictions is None


def test_calibration_batches_are_the_dataset_preprocessed_as_the_pass_sees_it():
    ds = load_dataset("digits", limit=10, seed=0)
    cal = dataset_calibration(registry()["digits-cnn"], ds, _spec(4))
    assert cal.size == 10 and cal.source == "digits (split test)" and len(cal.identity) == 16
    batches = list(cal.batches(6))  # 6 samples at batch 4: one full batch, one padded with its first sample
    assert [tuple(b["x"].shape) for b in batches] == [(4, 1, 8, 8)] * 2
    second = batches[1]["x"]
    assert (second[2] == second[0]).all() and (second[3] == second[0]).all() and not (second[1] == second[0]).all()

    class Keep(ConstantSlow):  # the pass's own inputs, to compare with
        def run(self, inputs):
            self.got = getattr(self, "got", []) + [inputs["x"].clone()]
            return super().run(inputs)

    keep = Keep()
    evaluate_dataset(keep, registry()["digits-cnn"], ds, _spec(4))
    assert (batches[0]["x"] == keep.got[0]).all() and (batches[1]["x"][:2] == keep.got[1][:2]).all()
    other = dataset_calibration(registry()["digits-cnn"], ds, _spec(4).model_copy(update={"resize": "nearest",
                                                                                           "input_size": 4.0}))
    assert other.identity != cal.identity
