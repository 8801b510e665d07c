"""Synthetic inputs from input specs, with torch and on an ONNX-Runtime-only install (numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from suite.models.inputs import (
    InputSpec,
    TensorSpec,
    forward_args,
    image_spec,
    make_inputs,
    make_numpy_inputs,
    text_spec,
)


def test_numpy_inputs_follow_the_spec_and_seed():
    spec = InputSpec(modality="multimodal", tensors=(
        TensorSpec("input_ids", ("batch", "seq_len"), "int64", "tokens", low=5, high=50),
        TensorSpec("attention_mask", ("batch", "seq_len"), "int64", "ones"),
        TensorSpec("feats", ("batch", "regions", 8)),
    ), size_axis="seq_len", default_size=12, fixed={"regions": 3})
    a = make_numpy_inputs(spec, 2, 7, seed=1)
    b = make_numpy_inputs(spec, 2, 7, seed=1)
    assert a["input_ids"].shape == (2, 7) and a["input_ids"].dtype == np.int64
    assert 5 <= a["input_ids"].min() and a["input_ids"].max() < 50
    assert (a["attention_mask"] == 1).all()
    assert a["feats"].shape == (2, 3, 8) and a["feats"].dtype == np.float32
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("spec, size", [(text_spec(1000, 16, 64, token_types=True), 16), (image_spec(), 32)])
def test_torch_inputs_are_the_numpy_ones(spec, size):
    """The same seed gives the same values with torch and on an ONNX-Runtime-only install."""
    t = make_inputs(spec, 3, size, seed=5)
    n = make_numpy_inputs(spec, 3, size, seed=5)
    for name in n:
        assert list(t[name].shape) == list(n[name].shape)
        assert str(t[name].dtype).removeprefix("torch.") == str(n[name].dtype)
        assert np.array_equal(t[name].numpy(), n[name])


def test_forward_args_positional_for_one_input():
    assert forward_args({"x": 1}) == ((1,), {})
    assert forward_args({"a": 1, "b": 2}) == ((), {"a": 1, "b": 2})
