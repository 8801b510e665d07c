"""Every registry entry builds with real (random) weights and runs one forward pass at a
small input size, through the same path `bench run` uses (inputs from the spec)."""

from __future__ import annotations

import pytest

from suite.models.inputs import call_model, make_inputs
from suite.models.registry import registry

SMALL = {"resolution": 32, "seq_len": 16, "audio_seconds": 0.2}


@pytest.mark.parametrize("name", sorted(registry()))
def test_entry_runs_one_forward(name):
    import torch

    entry = registry()[name]
    spec = entry.input_spec
    size = SMALL.get(spec.size_axis) if spec.size_axis else None
    if name == "longformer-base-4096":
        size = 512  # one attention window
    model = entry.build()
    inputs = make_inputs(spec, 2, size, seed=0)
    with torch.inference_mode():
        out = call_model(model, inputs)  # exactly as bench run calls it
    first = out if isinstance(out, torch.Tensor) else next(v for v in out.values() if isinstance(v, torch.Tensor))
    assert first.shape[0] == 2
    assert torch.isfinite(first).all()


def test_inputs_are_seeded():
    import torch

    spec = registry()["bert-base-uncased"].input_spec
    a, b = make_inputs(spec, 2, 16, seed=5), make_inputs(spec, 2, 16, seed=5)
    c = make_inputs(spec, 2, 16, seed=6)
    assert torch.equal(a["input_ids"], b["input_ids"])
    assert not torch.equal(a["input_ids"], c["input_ids"])
    assert int(a["input_ids"].max()) < 30522
