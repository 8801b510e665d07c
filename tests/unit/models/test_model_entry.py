"""suite.models.entry: a ModelEntry builds a torch module in eval mode, or says clearly what its
builder returned instead, and refuses to build an ONNX file or unpublished weights."""

from __future__ import annotations

import pytest
import torch

from suite.errors import BenchError
from suite.models.entry import ModelEntry, not_a_model
from suite.models.inputs import image_spec


def _entry(builder, **kw) -> ModelEntry:
    return ModelEntry(name="m", source="registry", modality="image", input_spec=image_spec(8), builder=builder, **kw)


def test_build_returns_the_module_in_eval_mode_and_passes_pretrained():
    seen = []

    def builder(pretrained: bool):
        seen.append(pretrained)
        return torch.nn.Dropout(0.5)

    model = _entry(builder).build(pretrained=True)
    assert isinstance(model, torch.nn.Dropout) and not model.training and seen == [True]


def test_a_builder_returning_no_module_is_named_with_what_it_returned():
    def make():
        return torch.nn.Linear(2, 2)

    with pytest.raises(BenchError, match=r"returned a function \(.*make\), not a torch.nn.Module"):
        _entry(lambda p: make).build()
    with pytest.raises(BenchError, match=r"returned an int \(3\)"):
        _entry(lambda p: 3).build()
    assert not_a_model(torch.nn.ReLU(), "x") is None
    long = not_a_model("y" * 100, "f")
    assert "a str ('" in long and "...)" in long


def test_onnx_files_and_unpublished_weights_are_refused():
    with pytest.raises(BenchError, match="is an ONNX file"):
        _entry(None).build()
    with pytest.raises(BenchError, match="has no published weights"):
        _entry(lambda p: torch.nn.ReLU(), pretrained_available=False).build(pretrained=True)
    assert isinstance(_entry(lambda p: torch.nn.ReLU(), pretrained_available=False).build(), torch.nn.ReLU)
