"""The ort and ort-int8 backends end to end on real torch, real exports and real sessions:
parity, threads, the cache, options, .onnx files, IO binding and failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from suite.backends.ort import cache
from suite.backends.ort.providers import CPU, create_session
from suite.backends.ort.quantize import INT8_PARITY_TOLERANCE
from suite.backends.ort.session import DeviceBinding
from suite.backends.prepare import prepare_backend
from suite.backends.protocol import PrepareRequest
from suite.errors import BenchError, CaseError
from suite.models.inputs import InputSpec, TensorSpec, make_inputs
from suite.models.registry import ModelEntry, resolve_model


class SmallConvNet(nn.Module):
    """Conv -> ReLU -> pool -> Linear: enough for int8 to differ measurably from fp32."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean(dim=(2, 3)))


SPEC = InputSpec(modality="image", tensors=(TensorSpec("x", ("batch", 3, "resolution", "resolution")),),
                 size_axis="resolution", default_size=16, min_size=4)
ENTRY = ModelEntry(name="small-convnet", source="registry", modality="image", input_spec=SPEC, builder=None)


@pytest.fixture
def model() -> nn.Module:
    torch.manual_seed(0)
    return SmallConvNet().eval()


def _req(model, cache_dir: Path, batch: int = 2, size: int = 16, entry=ENTRY, threads: int = 2, **options):
    inputs = make_inputs(entry.input_spec, batch, size, seed=7)
    return PrepareRequest(model=model, entry=entry, inputs=inputs, device="cpu", threads=threads,
                          options={"cache_dir": str(cache_dir), **options}, parity_tolerance=1e-3)


def test_ort_matches_eager_and_records_what_it_did(model, tmp_path):
    req = _req(model, tmp_path)
    backend = prepare_backend("ort", req)
    try:
        assert backend.name == "ort" and backend.synchronized is False
        p = backend.parity
        assert p.passed and p.reference_backend == "eager" and p.outputs_compared == 1
        assert p.max_rel_error < 1e-5 and p.tolerance == 1e-3
        e = backend.export
        assert e.exporter == "dynamo" and e.opset >= 18 and e.providers == [CPU]
        assert not e.cache_hit and e.export_s > 0 and not e.quantized and e.optimization_level == "all"
        assert Path(e.path).is_file() and Path(e.path).is_relative_to(tmp_path)
        # The timed call computes the eager function on the case's inputs.
        with backend.context():
            (y,) = backend.run(req.inputs)
        with torch.no_grad():
            np.testing.assert_allclose(y, model(**req.inputs).numpy(), rtol=1e-4, atol=1e-6)
        # Same threads as torch, one inter-op thread.
        so = backend.session.get_session_options()
        assert so.intra_op_num_threads == 2 and so.inter_op_num_threads == 1
    finally:
        backend.close()


def test_second_prepare_hits_the_cache_at_another_batch(model, tmp_path):
    first = prepare_backend("ort", _req(model, tmp_path, batch=1, size=16))
    second = prepare_backend("ort", _req(model, tmp_path, batch=3, size=16, threads=1))
    assert not first.export.cache_hit and second.export.cache_hit
    assert second.export.path == first.export.path
    assert second.export.export_s == first.export.export_s
    assert second.parity.passed
    assert second.session.get_session_options().intra_op_num_threads == 1
    assert len(cache.list_entries(tmp_path)) == 1
    # Another input size is traced on its own (see suite/backends/ort/export.py for why).
    other = prepare_backend("ort", _req(model, tmp_path, batch=2, size=24))
    assert not other.export.cache_hit and other.export.path != first.export.path and other.parity.passed
    assert len(cache.list_entries(tmp_path)) == 2


def test_opset_exporter_and_level_options_are_used_and_recorded(model, tmp_path):
    b18 = prepare_backend("ort", _req(model, tmp_path, opset=18))
    ts = prepare_backend("ort", _req(model, tmp_path, exporter="torchscript", opset=17, optimization_level="disable"))
    assert b18.export.opset == 18 and b18.export.exporter == "dynamo" and b18.parity.passed
    assert ts.export.exporter == "torchscript" and ts.export.opset == 17 and ts.parity.passed
    assert ts.export.optimization_level == "disable"
    assert len({b18.export.path, ts.export.path}) == 2
    assert len(cache.list_entries(tmp_path)) == 2


def test_an_opset_the_exporter_cannot_reach_is_an_export_failure(model, tmp_path):
    """dynamo writes opset 18+ natively and converts down; when that fails it would silently
    keep its own opset: the case fails instead, saying so."""
    with pytest.raises(CaseError) as err:
        prepare_backend("ort", _req(model, tmp_path, opset=17))
    assert err.value.kind == "export" and "asked for opset 17" in str(err.value)


def test_int8_reports_its_larger_error_against_eager(model, tmp_path):
    fp32 = prepare_backend("ort", _req(model, tmp_path))
    int8 = prepare_backend("ort-int8", _req(model, tmp_path))
    assert int8.name == "ort-int8"
    assert int8.export.quantized and ".int8-" in int8.export.path
    assert Path(int8.export.path).parent == Path(fp32.export.path).parent  # beside its fp32 export
    assert int8.parity.reference_backend == "eager" and int8.parity.tolerance == INT8_PARITY_TOLERANCE
    assert fp32.parity.max_rel_error * 100 < int8.parity.max_rel_error < INT8_PARITY_TOLERANCE
    assert int8.parity.passed
    again = prepare_backend("ort-int8", _req(model, tmp_path, batch=1))
    assert again.export.cache_hit and again.export.path == int8.export.path


def test_parity_above_tolerance_is_recorded_not_raised(model, tmp_path):
    req = _req(model, tmp_path)
    req.parity_tolerance = 1e-12
    backend = prepare_backend("ort", req)
    assert not backend.parity.passed and backend.parity.max_rel_error > 1e-12


def test_bad_provider_request_is_a_bench_error(model, tmp_path):
    with pytest.raises(BenchError, match="not available"):
        prepare_backend("ort", _req(model, tmp_path, providers=["TensorrtExecutionProvider"]))


def test_device_binding_gives_the_same_outputs_as_run(onnx_dir, tmp_path):
    session = create_session(onnx_dir / "tiny_mlp.onnx", 1, "all", "cpu", None, tmp_path)
    x = torch.randn(3, 4)
    expected = session.run(None, {"x": x.numpy()})
    binding = DeviceBinding(session, "cpu")
    binding.bind({"x": x})
    binding.run()
    (got,) = binding.outputs_on_host()
    np.testing.assert_allclose(got, expected[0])


# --------------------------------------------------------------------------- .onnx files


def _mlp_by_hand(fx, x: np.ndarray) -> np.ndarray:
    h = np.maximum(x @ np.array(fx.W1) + np.array(fx.B1), 0)
    return h @ np.array(fx.W2) + np.array(fx.B2)


def _file_req(path: Path, batch: int, tmp_path: Path) -> PrepareRequest:
    entry = resolve_model(str(path))
    return PrepareRequest(model=None, entry=entry, inputs=make_inputs(entry.input_spec, batch, None, seed=3),
                          device="cpu", threads=1, options={"cache_dir": str(tmp_path)})


def test_onnx_file_runs_as_a_model(onnx_dir, onnx_fixture_generator, tmp_path):
    req = _file_req(onnx_dir / "tiny_mlp.onnx", 3, tmp_path)
    backend = prepare_backend("ort", req)
    assert backend.parity is None  # no eager model to compare with
    e = backend.export
    assert e.exporter == "file" and e.opset == 17 and e.path.endswith("tiny_mlp.onnx") and not e.cache_hit
    (y,) = backend.run(req.inputs)
    np.testing.assert_allclose(y, _mlp_by_hand(onnx_fixture_generator, req.inputs["x"].numpy()), rtol=1e-5, atol=1e-6)
    assert list(tmp_path.iterdir()) == []  # fp32 files are used in place, nothing cached


def test_onnx_file_int8_is_checked_against_fp32_ort(onnx_dir, tmp_path):
    backend = prepare_backend("ort-int8", _file_req(onnx_dir / "tiny_mlp.onnx", 2, tmp_path))
    p = backend.parity
    assert p.reference_backend == "ort" and p.passed and 0 < p.max_rel_error < INT8_PARITY_TOLERANCE
    assert backend.export.quantized and Path(backend.export.path).is_relative_to(tmp_path)


def test_static_batch_file_refuses_other_batches_clearly(onnx_dir, tmp_path):
    assert prepare_backend("ort", _file_req(onnx_dir / "static_batch.onnx", 1, tmp_path)).export.exporter == "file"
    with pytest.raises(BenchError, match="dimension 0 is fixed at 1 in the graph but this case needs 2"):
        prepare_backend("ort", _file_req(onnx_dir / "static_batch.onnx", 2, tmp_path))


def test_unsupported_operator_file_is_an_unsupported_case_error(onnx_dir, tmp_path):
    with pytest.raises(CaseError) as err:
        prepare_backend("ort", _file_req(onnx_dir / "unsupported_op.onnx", 1, tmp_path))
    assert err.value.kind == "unsupported" and "Frobnicate" in str(err.value)


# --------------------------------------------------------------------------- Longformer (small)

TINY_LONGFORMER = ("hf:longformer:num_hidden_layers=1,hidden_size=32,num_attention_heads=2,intermediate_size=37,"
                   "attention_window=8,vocab_size=100,max_position_embeddings=130,pad_token_id=1")


def test_small_longformer_dynamo_export_fails_with_the_reason(tmp_path):
    entry = resolve_model(TINY_LONGFORMER)
    torch.manual_seed(0)
    model = entry.build(False)
    with pytest.raises(CaseError) as err:
        prepare_backend("ort", _req(model, tmp_path, batch=1, size=16, entry=entry))
    assert err.value.kind == "export"
    assert "data-dependent" in str(err.value) and "modeling_longformer.py" in str(err.value)


def test_small_longformer_torchscript_graph_only_runs_its_traced_shape(tmp_path):
    """TorchScript exports Longformer, but bakes the traced shape in: any other shape fails
    (recorded as a session failure that says so), so its numbers are never reported."""
    entry = resolve_model(TINY_LONGFORMER)
    torch.manual_seed(0)
    model = entry.build(False)
    with pytest.raises(CaseError) as err:
        prepare_backend("ort", _req(model, tmp_path, batch=1, size=16, entry=entry, exporter="torchscript"))
    assert err.value.kind == "session"
    assert "exported by torchscript at batch 2, size 16" in str(err.value)


def test_a_cached_export_failure_fails_before_the_eager_forward_pass(tmp_path, monkeypatch):
    from suite.backends import parity
    from suite.backends.ort.export import case_size, export_key

    entry = resolve_model(str(Path(__file__).resolve().parents[1] / "fixtures" / "models" / "export_fails.py"))
    model = entry.build(False)
    req = _req(model, tmp_path, entry=entry, size=None)
    with pytest.raises(CaseError) as first:
        prepare_backend("ort", req)
    assert "cached failure" not in str(first.value)
    (failed,) = cache.list_entries(tmp_path)
    key = export_key(model, entry, "dynamo", None, case_size(entry.input_spec, req.inputs))
    assert failed.failed and failed.meta["key"] == key.key

    calls: list[int] = []
    real = parity.eager_outputs
    monkeypatch.setattr(parity, "eager_outputs", lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.raises(CaseError) as again:
        prepare_backend("ort", req)
    assert "cached failure" in str(again.value) and str(first.value) in str(again.value)
    assert calls == []  # the cached failure is raised before the reference forward pass
