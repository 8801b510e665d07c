"""suite.backends.torch_compile: the first call compiles, outside the timed loop, and its time is
the case's compile time; the compiled module computes the eager function; a refused backend name
or a bad option is a clear error. Compiled with torch.compile's "eager" backend (dynamo tracing,
no C++ toolchain) so the test stays quick; the inductor path runs in tests/integration."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from suite.backends.protocol import PrepareRequest
from suite.backends.torch_compile import CompileOptions, _short, prepare
from suite.errors import BenchError, CaseError
from suite.models.registry import ModelEntry

ENTRY = ModelEntry(name="mlp", source="registry", modality="tabular", input_spec=None, builder=lambda p: None)


def _model() -> nn.Module:
    torch.manual_seed(2)
    return nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 2)).eval()


def _req(model, x, **options) -> PrepareRequest:
    return PrepareRequest(model=model, entry=ENTRY, inputs={"input": x}, device="cpu", threads=1, options=options)


def test_prepare_compiles_on_a_first_call_and_records_its_time():
    torch._dynamo.reset()
    model, x = _model(), torch.randn(3, 6)
    with torch.no_grad():
        expected = model(x)
    backend = prepare(_req(model, x, backend="eager"))
    try:
        e = backend.export
        assert e.exporter == "torch.compile[eager]" and e.optimization_level == "default"
        assert e.export_s > 0 and e.providers == [f"torch {torch.__version__}"]
        with backend.context():
            torch.testing.assert_close(backend.run({"input": x}), expected)
        settings = backend.runtime_settings().settings
        assert settings["torch.compile"] == "backend=eager, mode=default, fullgraph=False, dynamic=False"
    finally:
        backend.close()


def test_an_unknown_compile_backend_is_a_compile_failure_of_the_case():
    with pytest.raises(CaseError) as err:
        prepare(_req(_model(), torch.randn(1, 6), backend="no-such-compiler"))
    assert err.value.kind == "compile" and "torch.compile refused its arguments" in str(err.value)


def test_bad_options_and_onnx_files_are_configuration_errors():
    with pytest.raises(BenchError, match="invalid torch_compile options"):
        prepare(_req(_model(), torch.randn(1, 6), mode="fastest"))
    with pytest.raises(BenchError, match="torch-compile runs torch models only"):
        prepare(PrepareRequest(model=None, entry=ENTRY, inputs={}, device="cpu", threads=1))
    assert CompileOptions().backend == "inductor" and CompileOptions().dynamic is False


def test_long_compiler_messages_are_shortened_to_one_line():
    msg = _short(RuntimeError("line one\n  line two " + "x" * 2000))
    assert msg.startswith("line one line two ") and len(msg) == 800 and msg.endswith("...")
