"""suite.backends.ort.ort_backend: the ort and ort-int8 backends prepared from a user's .onnx file
(no export), their outputs held against numpy's evaluation of the fixture's fixed weights, the
export record, the int8 fallback reference, and the refusals before anything runs."""

from __future__ import annotations

import numpy as np
import pytest

from suite.backends.ort import ort_backend
from suite.backends.ort.providers import CPU
from suite.backends.protocol import PrepareRequest
from suite.errors import BenchError
from suite.models.generic import onnx_entry
from suite.models.inputs import make_inputs


def numpy_mlp(gen, x: np.ndarray) -> np.ndarray:
    """tiny_mlp.onnx by hand: Gemm -> Relu -> Gemm, from the generator's own weight lists."""
    h = np.maximum(x @ np.array(gen.W1, np.float32) + np.array(gen.B1, np.float32), 0)
    return h @ np.array(gen.W2, np.float32) + np.array(gen.B2, np.float32)


def _req(path, tmp_path, batch=3, **options) -> PrepareRequest:
    entry = onnx_entry(str(path))
    inputs = make_inputs(entry.input_spec, batch, None, seed=5)
    return PrepareRequest(model=None, entry=entry, inputs=inputs, device="cpu", threads=1,
                          options={"cache_dir": str(tmp_path / "cache"), **options})


def test_an_onnx_file_runs_as_is_and_computes_its_graph(onnx_dir, onnx_fixture_generator, tmp_path):
    req = _req(onnx_dir / "tiny_mlp.onnx", tmp_path)
    backend = ort_backend.prepare(req)
    try:
        [y] = backend.outputs(req.inputs)
        np.testing.assert_allclose(y, numpy_mlp(onnx_fixture_generator, req.inputs["x"].numpy()), rtol=1e-5, atol=1e-6)
        e = backend.export
        assert e.exporter == "file" and e.opset == 17 and e.providers == [CPU] and not e.quantized
        assert e.path == str(onnx_dir / "tiny_mlp.onnx") and e.export_s is None and not e.cache_hit
        so = backend.session.get_session_options()
        assert so.intra_op_num_threads == 1 and so.inter_op_num_threads == 1
        assert backend.settings.settings["graph_optimization_level"] == "ORT_ENABLE_ALL"
    finally:
        backend.close()


def test_int8_checks_against_the_fp32_file_on_ort(onnx_dir, onnx_fixture_generator, tmp_path):
    req = _req(onnx_dir / "tiny_mlp.onnx", tmp_path)
    backend = ort_backend.prepare_int8(req)
    try:
        assert backend.name == "ort-int8" and backend.export.quantized
        assert backend.parity_tolerance(1e-3) == pytest.approx(0.10)
        who, [fp32] = backend.fallback_reference(req.inputs)
        assert who == "ort"
        np.testing.assert_allclose(fp32, numpy_mlp(onnx_fixture_generator, req.inputs["x"].numpy()), rtol=1e-5,
                                   atol=1e-6)
        [y8] = backend.outputs(req.inputs)
        assert np.abs(y8 - fp32).max() / np.abs(fp32).max() < 0.10
    finally:
        backend.close()


def test_a_graph_with_a_fixed_batch_refuses_another_batch_by_name(onnx_dir, tmp_path):
    with pytest.raises(BenchError, match="dimension 0 is fixed at 1 in the graph but this case needs 3"):
        ort_backend.prepare(_req(onnx_dir / "static_batch.onnx", tmp_path, batch=3))


def test_options_and_providers_are_refused_before_anything_runs(onnx_dir, tmp_path):
    with pytest.raises(BenchError, match="invalid ort options"):
        ort_backend.prepare(_req(onnx_dir / "tiny_mlp.onnx", tmp_path, optimisation="all"))
    with pytest.raises(BenchError):
        ort_backend.precheck(_req(onnx_dir / "tiny_mlp.onnx", tmp_path, providers=["NoSuchExecutionProvider"]))
    ort_backend.precheck(_req(onnx_dir / "tiny_mlp.onnx", tmp_path))  # a file and CPU: nothing to refuse


def test_a_file_that_is_not_onnx_is_named(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a protobuf")
    from suite.models.registry import ModelEntry

    entry = ModelEntry(name="model.onnx", source="onnx", modality="image", input_spec=None, builder=None,
                       path=str(bad))
    req = PrepareRequest(model=None, entry=entry, inputs={}, device="cpu", threads=1, options={"cache_dir": str(tmp_path)})
    with pytest.raises(BenchError, match="model.onnx is not a readable ONNX model"):
        ort_backend.prepare(req)
