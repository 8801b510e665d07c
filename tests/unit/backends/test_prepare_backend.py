"""suite.backends.prepare: every backend but the reference is checked against eager outputs
computed before it was prepared; the parity record's figures are held against numpy's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from suite.backends import BackendInfo
from suite.backends.prepare import parity_request, prepare_backend
from suite.backends.protocol import Calibration, PrepareRequest
from suite.models.inputs import image_spec
from suite.models.registry import ModelEntry

ENTRY = ModelEntry(name="convnet", source="registry", modality="image", input_spec=image_spec(10),
                   builder=lambda p: None)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def _req(tolerance: float = 1e-3) -> PrepareRequest:
    torch.manual_seed(4)
    return PrepareRequest(model=Net().eval(), entry=ENTRY, inputs={"x": torch.randn(2, 3, 10, 10)}, device="cpu",
                          threads=1, parity_tolerance=tolerance)


def test_the_reference_backend_is_not_checked_against_itself():
    backend = prepare_backend("eager", _req())
    assert backend.parity is None and backend.name == "eager"


def test_another_backend_gets_a_parity_record_whose_errors_numpy_confirms():
    req = _req()
    with torch.no_grad():
        ref = req.model(req.inputs["x"]).numpy().copy()
    backend = prepare_backend("eager-cl", req)
    try:
        [out] = backend.outputs(req.inputs)
        p = backend.parity
        assert p.reference_backend == "eager" and p.outputs_compared == 1 and p.tolerance == 1e-3
        assert p.max_abs_error == pytest.approx(float(np.abs(out - ref).max()), abs=1e-12)
        assert p.max_rel_error == pytest.approx(float(np.abs(out - ref).max() / np.abs(ref).max()), abs=1e-12)
        assert p.passed == (p.max_rel_error <= 1e-3) and p.passed
    finally:
        backend.close()


def test_a_backend_calibrated_on_the_dataset_is_checked_on_its_first_batch():
    timing, first, second = torch.zeros(2, 3, 10, 10), torch.ones(2, 3, 10, 10), torch.full((2, 3, 10, 10), 2.0)
    asked = []

    def batches(n):
        asked.append(n)
        yield {"x": first}
        yield {"x": second}

    cal = Calibration(source="digits (split test)", identity="i", size=5, batches=batches)
    req = PrepareRequest(model=Net(), entry=ENTRY, inputs={"x": timing}, device="cpu", threads=1, calibration=cal)
    checked, note = parity_request(BackendInfo("q8", "m:f", "s", calibrates=True), req)
    assert checked.inputs["x"] is first and checked.model is req.model and req.inputs["x"] is timing
    assert asked == [5] and note == ("q8: parity checked on the first batch of digits (split test), the data it was "
                                     "calibrated on (not on the seeded random inputs it is timed with)")
    assert parity_request(BackendInfo("ort", "m:f", "s"), req) == (req, None)  # only a calibrating backend
    no_data = PrepareRequest(model=Net(), entry=ENTRY, inputs={"x": timing}, device="cpu", threads=1)
    assert parity_request(BackendInfo("q8", "m:f", "s", calibrates=True), no_data) == (no_data, None)
