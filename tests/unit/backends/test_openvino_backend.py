"""suite.backends.openvino_backend on real OpenVINO: the very ONNX export ORT runs (ORT then hits the
cache), parity against eager, the outputs equal to the torch model's, the threads, latency hint and fp32
precision it set read back from the compiled model; its per-node profile; an .onnx file checked against numpy's evaluation of
its weights and against ORT; the audit's bare loop; configuration errors named."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from suite.backends import backend_info
from suite.backends.openvino_backend import bare, precheck, prepare
from suite.backends.ort import ort_backend
from suite.backends.prepare import prepare_backend
from suite.backends.protocol import PrepareRequest
from suite.errors import BenchError
from suite.models.generic import onnx_entry
from suite.models.inputs import InputSpec, TensorSpec, make_inputs
from suite.models.registry import ModelEntry
from suite.profiling import profile_case
from suite.report.backend_style import STYLES

# Two inputs, fed by name: the graph's input names must meet the case's tensors.
SPEC = InputSpec(modality="other", tensors=(TensorSpec("a", ("batch", 6)), TensorSpec("b", ("batch", 3))))
ENTRY = ModelEntry(name="two-inputs", source="registry", modality="other", input_spec=SPEC, builder=None)


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.left, self.right = nn.Linear(6, 4), nn.Linear(3, 4)

    def forward(self, a, b):
        return torch.tanh(self.left(a)) * self.right(b)


def _model() -> nn.Module:
    torch.manual_seed(4)
    return TwoInputs().eval()


def test_openvino_runs_the_onnx_export_ort_runs_and_computes_the_model(tmp_path):
    model, inputs = _model(), {"a": torch.randn(2, 6), "b": torch.randn(2, 3)}
    with torch.no_grad():
        expected = model(**inputs).numpy()
    req = PrepareRequest(model=model, entry=ENTRY, inputs=inputs, device="cpu", threads=2,
                         options={"cache_dir": str(tmp_path)})
    backend = prepare_backend("openvino", req)
    try:
        assert backend.parity.passed and backend.parity.reference_backend == "eager"
        assert backend.parity.max_rel_error < 1e-5
        [got] = backend.outputs(req.inputs)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        e = backend.export
        assert e.exporter == "dynamo" and e.providers == ["OpenVINO CPU"] and not e.cache_hit and e.export_s > 0
        s = backend.runtime_settings().settings
        assert (s["INFERENCE_NUM_THREADS"], s["PERFORMANCE_HINT"]) == ("2", "LATENCY")
        assert "float32" in s["INFERENCE_PRECISION_HINT"] and s["NUM_STREAMS"].endswith("(plugin default)")
        assert backend.runtime_settings().runtime.startswith("openvino 20")
        np.testing.assert_allclose(bare(model, req.inputs, 1, e.path)()[0], expected, rtol=1e-5, atol=1e-6)
        prof = profile_case(backend, req.inputs, calls=3)  # performance counters on a second compiled model
        assert prof.profiler == "openvino perf counters" and prof.calls == 3 and "matmul/gemm" in {o.family for o in prof.ops}
        assert prof.op_time_ms == pytest.approx(sum(o.time_ms for o in prof.ops))
        # the two branches may run concurrently on 2 threads: then the summed operator time passes the wall
        concurrent = prof.op_time_ms > 1.05 * prof.wall_ms
        assert concurrent == ("ran some of them concurrently" in (prof.note or ""))
    finally:
        backend.close()
    ort = ort_backend.prepare(req)  # the same file from the same cache
    try:
        assert ort.export.cache_hit and ort.export.path == e.path
    finally:
        ort.close()


def test_an_onnx_file_runs_as_is_and_is_checked_against_ort(onnx_dir, onnx_fixture_generator, tmp_path):
    gen, path = onnx_fixture_generator, onnx_dir / "tiny_mlp.onnx"
    entry = onnx_entry(str(path))
    inputs = make_inputs(entry.input_spec, 3, None, seed=5)
    backend = prepare_backend("openvino", PrepareRequest(model=None, entry=entry, inputs=inputs, device="cpu",
                                                         threads=1, options={"cache_dir": str(tmp_path)}))
    try:
        assert backend.parity.passed and backend.parity.reference_backend == "ort"
        assert backend.export.exporter == "file" and backend.export.path == str(path)
        [got] = backend.outputs(inputs)
        x = inputs["x"].numpy()  # the graph by hand: Gemm -> Relu -> Gemm with the generator's weights
        h = np.maximum(x @ np.array(gen.W1, np.float32) + np.array(gen.B1, np.float32), 0)
        np.testing.assert_allclose(got, h @ np.array(gen.W2, np.float32) + np.array(gen.B2, np.float32),
                                   rtol=1e-5, atol=1e-6)
    finally:
        backend.close()


def test_configuration_mistakes_are_named(tmp_path):
    req = PrepareRequest(model=_model(), entry=ENTRY, inputs={"a": torch.zeros(1, 6), "b": torch.zeros(1, 3)},
                         device="cuda", threads=1)
    with pytest.raises(BenchError, match="openvino runs on the CPU here .* asks for cuda"):
        precheck(req)
    with pytest.raises(BenchError, match="needs the case's ONNX file"):
        bare(None, {}, 1, None)
    info = backend_info("openvino")
    assert info.runs_onnx_files and info.options_key == "ort" and info.quiesce is None and "openvino" in STYLES
