"""suite.backends.eager: the reference backend computes the model's own function, records torch's
thread settings as torch reports them, and its bare loop calls the same model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from suite.backends.eager import (
    THREAD_ENV,
    EagerBackend,
    bare,
    prepare,
    torch_backends_of,
    torch_runtime,
)
from suite.backends.protocol import PrepareRequest


def _req(model: nn.Module, inputs: dict) -> PrepareRequest:
    return PrepareRequest(model=model, entry=None, inputs=inputs, device="cpu", threads=1)


@pytest.fixture
def linear() -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(4, 3)


def test_run_computes_the_models_function_under_inference_mode(linear):
    x = torch.randn(5, 4)
    backend = prepare(_req(linear, {"x": x}))
    with backend.context():
        y = backend.run({"x": x})
        assert torch.is_inference_mode_enabled()
    assert torch.equal(y, x @ linear.weight.T + linear.bias)
    assert backend.name == "eager" and not backend.synchronized and backend.flags == []
    [out] = backend.outputs({"x": x})
    assert out.shape == (5, 3)
    backend.close()
    assert backend.model is None


def test_runtime_settings_are_torchs_own_figures(linear, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("KMP_BLOCKTIME", raising=False)
    rt = torch_runtime(torch)
    assert rt.runtime == f"torch {torch.__version__}"
    assert rt.settings["torch.set_num_threads"] == str(torch.get_num_threads())
    assert rt.settings["OMP_NUM_THREADS"] == "3"
    assert rt.settings["KMP_BLOCKTIME"] == "unset (runtime default)"
    assert set(THREAD_ENV) <= set(rt.settings)
    # the parallel backend is the one torch's own report names
    assert rt.settings["parallel backend"] in torch.__config__.parallel_info()


def test_torch_backends_are_recorded_for_torch_backends_only(linear):
    backend = EagerBackend(_req(linear, {"x": torch.zeros(1, 4)}))
    tb = torch_backends_of(backend)
    assert tb.num_threads == torch.get_num_threads() and tb.num_interop_threads == torch.get_num_interop_threads()
    assert tb.channels_last is False
    assert tb.mkldnn_enabled == bool(torch.backends.mkldnn.enabled and torch.backends.mkldnn.is_available())
    assert torch_backends_of(object()) is None


def test_the_bare_loop_calls_the_same_model_with_the_cases_threads(linear):
    before = torch.get_num_threads()
    try:
        x = torch.randn(2, 4)
        call = bare(linear, {"x": x}, 1, None)
        assert torch.get_num_threads() == 1
        with torch.no_grad():
            assert torch.equal(call(), linear(x))
    finally:
        torch.set_num_threads(before)
