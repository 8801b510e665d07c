"""suite.backends.executorch.pt2e_quantize: the calibration a case uses (the run's dataset, else seeded
synthetic inputs, and the note says which), and a real PT2E int8 program of a tiny model: it computes
the model to int8 precision, not exactly, and its cache key follows the calibration data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from suite.backends.executorch.pt2e_quantize import CALIBRATION_BATCHES, CALIBRATION_SAMPLES, plan_calibration
from suite.backends.executorch.pte_export import pte_key
from suite.backends.ort import cache
from suite.backends.prepare import prepare_backend
from suite.backends.protocol import Calibration, PrepareRequest
from suite.models.inputs import InputSpec, TensorSpec
from suite.models.registry import ModelEntry

SPEC = InputSpec(modality="other", tensors=(TensorSpec("x", ("batch", 12)),))
ENTRY = ModelEntry(name="tiny", source="registry", modality="other", input_spec=SPEC, builder=None)


def _model() -> nn.Module:
    torch.manual_seed(5)
    return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 4)).eval()


def test_without_a_dataset_seeded_synthetic_batches_of_the_case_shape_and_the_case_is_told():
    plan = plan_calibration("executorch-int8", ENTRY, {"x": torch.zeros(3, 12)}, None)
    batches = list(plan.batches())
    assert len(batches) == CALIBRATION_BATCHES and all(tuple(b["x"].shape) == (3, 12) for b in batches)
    assert all(torch.equal(a["x"], b["x"]) for a, b in zip(batches, plan.batches()))  # seeded
    assert not torch.equal(batches[0]["x"], batches[1]["x"])
    assert "seeded synthetic inputs (the run has no dataset)" in plan.note and "--dataset" in plan.note
    assert plan.fields["calibration"] == {"synthetic": CALIBRATION_BATCHES, "seed": 1000}


def test_with_a_dataset_its_first_samples_and_their_identity_in_the_key():
    data = [{"x": torch.full((3, 12), float(i))} for i in range(40)]
    asked = []

    def batches(n):
        asked.append(n)
        yield from data[: (n + 2) // 3]

    cal = Calibration(source="npz:/data/x.npz", identity="abc123", size=100, batches=batches)
    plan = plan_calibration("executorch-int8", ENTRY, {"x": torch.zeros(3, 12)}, cal)
    assert len(list(plan.batches())) == 22 and asked == [CALIBRATION_SAMPLES]
    assert plan.fields["calibration"] == {"dataset": "abc123", "samples": CALIBRATION_SAMPLES}
    assert f"the first {CALIBRATION_SAMPLES} samples of npz:/data/x.npz" in plan.note
    small = plan_calibration("executorch-int8", ENTRY, {"x": torch.zeros(3, 12)},
                             Calibration(source="s", identity="abc123", size=10, batches=batches))
    assert small.fields["calibration"]["samples"] == 10


def test_the_int8_backend_computes_the_model_to_int8_precision_and_says_how_it_was_calibrated(tmp_path):
    model, x = _model(), torch.randn(3, 12)
    req = PrepareRequest(model=model, entry=ENTRY, inputs={"x": x}, device="cpu", threads=1,
                         options={"cache_dir": str(tmp_path)})
    backend = prepare_backend("executorch-int8", req)
    try:
        assert backend.export.quantized and backend.parity.passed and backend.parity.tolerance == 0.1
        assert backend.name == "executorch-int8" and any("seeded synthetic inputs" in f for f in backend.flags)
        with torch.no_grad():
            want = model(x).numpy()
        [got] = backend.outputs({"x": x})
        rel = np.abs(got - want).max() / np.abs(want).max()
        assert 0 < rel < 0.1  # quantised (not the fp32 function), yet close to it
        assert rel == pytest.approx(backend.parity.max_rel_error, rel=1e-6)
    finally:
        backend.close()
    plan = plan_calibration("executorch-int8", ENTRY, {"x": x}, None)
    entry = cache.lookup(tmp_path, "tiny", pte_key(model, ENTRY, {"x": x}, plan.fields).key)
    assert entry is not None and entry.meta["delegated_nodes"] > 3  # quantize/dequantize pairs inside XNNPACK
    assert entry.meta["calibration"] == plan.note and entry.model_file == "model.pte"
    assert entry.meta["exporter"] == "executorch[xnnpack] int8"  # how `bench cache ls` tells it from fp32
