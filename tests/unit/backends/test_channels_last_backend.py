"""suite.backends.eager_cl: eager with the model and its 4-D float inputs in channels_last. The
outputs are eager's (checked against the model run as it comes), the inputs are converted once,
and a model without an image input says it ran as plain eager."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from suite.backends.eager_cl import NOT_IMAGE_NOTE, ChannelsLastBackend, bare, prepare
from suite.backends.protocol import PrepareRequest
from suite.errors import BenchError
from suite.models.registry import ModelEntry


def _conv() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3)).eval()


def _req(model, inputs) -> PrepareRequest:
    return PrepareRequest(model=model, entry=None, inputs=inputs, device="cpu", threads=1)


def test_image_inputs_run_channels_last_and_compute_what_eager_computes():
    model = _conv()
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        expected = model(x)  # before the backend converts the model in place
    req = _req(model, {"x": x})
    backend = prepare(req)
    assert backend.channels_last and backend.image_inputs == ["x"] and backend.flags == []
    assert backend.model[0].weight.is_contiguous(memory_format=torch.channels_last)
    converted = backend._converted["x"]
    assert converted.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous(
        memory_format=torch.channels_last)
    with backend.context():
        y = backend.run(req.inputs)  # the case's own inputs: converted once, at prepare
        other = torch.randn(1, 3, 12, 12)
        y_other = backend.run({"x": other})  # a dataset batch is converted on the way in
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        torch.testing.assert_close(y_other, _conv()(other), rtol=1e-5, atol=1e-6)
    assert backend.runtime_settings().runtime.startswith("torch ")


def test_a_model_without_a_4d_float_input_runs_as_plain_eager_and_says_so():
    model = nn.Embedding(10, 4).eval()
    tokens = torch.tensor([[1, 2, 3]])
    backend = ChannelsLastBackend(_req(model, {"input": tokens}))
    assert not backend.channels_last and backend.flags == [NOT_IMAGE_NOTE]
    with backend.context():
        assert torch.equal(backend.run({"input": tokens}), model(tokens))


def test_an_onnx_file_is_refused_by_name():
    entry = ModelEntry(name="net.onnx", source="onnx", modality="image", input_spec=None, builder=None)
    with pytest.raises(BenchError, match="net.onnx.*eager-cl runs torch models only"):
        prepare(PrepareRequest(model=None, entry=entry, inputs={}, device="cpu", threads=1))


def test_the_bare_loop_converts_once_and_computes_eagers_outputs():
    model = _conv()
    x = torch.randn(1, 3, 9, 9)
    with torch.no_grad():
        expected = model(x)
    before = torch.get_num_threads()
    try:
        call = bare(model, {"x": x}, 1, None)
        torch.testing.assert_close(call(), expected, rtol=1e-5, atol=1e-6)
    finally:
        torch.set_num_threads(before)
