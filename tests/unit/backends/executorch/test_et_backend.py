"""suite.backends.executorch.et_backend through the one way a case gets a backend
(suite.backends.prepare.prepare_backend): a tiny CNN lowered for real, parity against eager, the
program's outputs equal to the model's, threads set on ExecuTorch's pool, the runtime's settings
recorded, a cache hit the second time, the audit's bare loop, its ETDump per-operator profile, and
configuration errors named."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from suite.backends import backend_info
from suite.backends.executorch.et_backend import ExecutorchOptions, bare, precheck, prepare
from suite.backends.executorch.pte_export import pte_key
from suite.backends.ort import cache
from suite.backends.prepare import prepare_backend
from suite.backends.protocol import PrepareRequest
from suite.errors import BenchError, CaseError
from suite.profiling import profile_case
from suite.models.inputs import InputSpec, TensorSpec
from suite.models.registry import ModelEntry
from suite.report.backend_style import STYLES

SPEC = InputSpec(modality="image", tensors=(TensorSpec("image", ("batch", 3, 8, 8)),))
ENTRY = ModelEntry(name="tiny-cnn", source="registry", modality="image", input_spec=SPEC, builder=None)


def _model() -> nn.Module:
    torch.manual_seed(3)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 5)).eval()


def _req(model, x, tmp_path, threads=1, device="cpu", **options) -> PrepareRequest:
    return PrepareRequest(model=model, entry=ENTRY, inputs={"image": x}, device=device, threads=threads,
                          options={"cache_dir": str(tmp_path), **options})


def test_prepared_program_computes_the_model_and_says_how_it_ran(tmp_path):
    model, x = _model(), torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        expected = model(x)
    backend = prepare_backend("executorch", _req(model, x, tmp_path, threads=2))
    try:
        assert backend.parity.passed and backend.parity.reference_backend == "eager"
        assert backend.parity.max_rel_error < 1e-5 and backend.parity.outputs_compared == 1
        torch.testing.assert_close(backend.run({"image": x})[0], expected)
        e = backend.export
        assert e.exporter == "executorch[xnnpack]" and e.providers == ["XnnpackBackend"] and not e.quantized
        assert not e.cache_hit and e.export_s > 0 and e.path.endswith("/model.pte")
        settings = backend.runtime_settings()
        assert settings.runtime.startswith("executorch 1.")
        assert settings.settings["threadpool threads (_unsafe_reset_threadpool)"] == "2 (pool reports 2)"
        assert settings.settings["portable kernels (outside the delegate)"] == "none" and backend.flags == []
    finally:
        backend.close()

    again = prepare(_req(model, x, tmp_path))  # the same program, from the cache, on one thread
    try:
        assert again.export.cache_hit and again.export.export_s == e.export_s and again.export.path == e.path
        assert again.runtime_settings().settings["threadpool threads (_unsafe_reset_threadpool)"] == "1 (pool reports 1)"
        call = bare(model, {"image": x}, 1, e.path)  # the audit's bare loop on the same program
        torch.testing.assert_close(call()[0], expected)
        prof = profile_case(again, {"image": x}, calls=4)  # ETDump on a second load of the program
        assert prof.profiler == "executorch etdump" and prof.calls == 4 and len(prof.call_wall_ms) == 4
        assert {o.family for o in prof.ops} >= {"conv", "matmul/gemm"}
        assert prof.op_time_ms == pytest.approx(sum(o.time_ms for o in prof.ops))
        # a call's operators cannot take longer than the call
        assert all(0 <= op <= wall for op, wall in zip(prof.call_op_ms, prof.call_wall_ms))  # (us-resolution counters)
    finally:
        again.close()


def test_a_remembered_failure_stops_the_case_before_any_forward(tmp_path):
    model, x = _model(), torch.randn(1, 3, 8, 8)
    key = pte_key(model, ENTRY, {"image": x})
    cache.store_failure(tmp_path, ENTRY.name, key.key, {"model": ENTRY.name}, "lower", "XNNPACK refused it")
    with pytest.raises(CaseError, match="XNNPACK refused it .*cached failure") as err:
        precheck(_req(model, x, tmp_path))
    assert err.value.kind == "lower"


def test_configuration_mistakes_are_named(tmp_path):
    model, x = _model(), torch.randn(1, 3, 8, 8)
    with pytest.raises(BenchError, match="executorch runs on the CPU .* asks for cuda"):
        prepare(_req(model, x, tmp_path, device="cuda"))
    with pytest.raises(BenchError, match="is an ONNX file: executorch runs torch models only"):
        prepare(PrepareRequest(model=None, entry=ENTRY, inputs={}, device="cpu", threads=1))
    with pytest.raises(BenchError, match="invalid executorch options"):
        prepare(_req(model, x, tmp_path, threads_per_core=2))
    with pytest.raises(BenchError, match="needs the case's .pte program"):
        bare(model, {"image": x}, 1, None)
    assert ExecutorchOptions().cache_dir is None


def test_the_table_row_names_what_the_backend_needs():
    info = backend_info("executorch")
    assert info.requires == ("torch", "executorch") and not info.runs_onnx_files and info.quiesce is None
    assert info.bare and info.precheck and info.options_key == "executorch" and "executorch" in STYLES
