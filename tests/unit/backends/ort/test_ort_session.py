"""suite.backends.ort.session: a real ONNX Runtime session as a backend. Feeds are made once and
cast only where the graph declares another type; shapes the graph fixes are checked up front;
the bare loop's plain session computes the same outputs."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from suite.backends.ort.session import OrtBackend, bare, check_input_shapes, host_feeds
from suite.errors import BenchError, CaseError


def _session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def test_feeds_are_zero_copy_views_of_float_tensors_and_casts_where_the_graph_says(onnx_dir):
    session = _session(onnx_dir / "tiny_mlp.onnx")
    x = torch.randn(2, 4)
    feeds = host_feeds(session, {"x": x})
    assert np.shares_memory(feeds["x"], x.numpy())
    as_double = host_feeds(session, {"x": x.double()})  # the graph declares float
    assert as_double["x"].dtype == np.float32 and np.allclose(as_double["x"], x.numpy())


def test_a_backend_run_feeds_once_and_returns_the_sessions_outputs(onnx_dir, onnx_fixture_generator):
    session = _session(onnx_dir / "tiny_mlp.onnx")
    backend = OrtBackend("ort", session, "cpu", io_binding=True, time_host_copies=False)
    inputs = {"x": torch.randn(3, 4)}
    [y] = backend.outputs(inputs)
    first_feeds = backend._feeds
    backend.run(inputs)
    assert backend._feeds is first_feeds  # the same dict: no conversion inside the timed loop
    g = onnx_fixture_generator
    h = np.maximum(inputs["x"].numpy() @ np.array(g.W1, np.float32) + np.array(g.B1, np.float32), 0)
    np.testing.assert_allclose(y, h @ np.array(g.W2, np.float32) + np.array(g.B2, np.float32), rtol=1e-5, atol=1e-6)
    assert not backend.synchronized and backend.flags == []
    with pytest.raises(CaseError):
        backend.profiled_twin("p")  # made without a way to recreate its session
    backend.close()
    assert backend.session is None


def test_shapes_the_graph_fixes_are_checked_before_the_first_run(onnx_dir):
    static = _session(onnx_dir / "static_batch.onnx")
    check_input_shapes(static, {"x": np.zeros((1, 4), np.float32)}, "static")
    with pytest.raises(BenchError, match="dimension 0 is fixed at 1 in the graph but this case needs 4"):
        check_input_shapes(static, {"x": np.zeros((4, 4), np.float32)}, "static")
    with pytest.raises(BenchError, match="rank 2 in the graph"):
        check_input_shapes(static, {"x": np.zeros((1, 4, 1), np.float32)}, "static")
    with pytest.raises(CaseError, match="needs input 'x'"):
        check_input_shapes(static, {"tokens": np.zeros((1, 4), np.float32)}, "static")


def test_the_bare_session_computes_what_the_backend_computes(onnx_dir):
    inputs = {"x": torch.randn(2, 4)}
    call = bare(None, inputs, 1, str(onnx_dir / "tiny_mlp.onnx"))
    backend = OrtBackend("ort", _session(onnx_dir / "tiny_mlp.onnx"), "cpu", io_binding=True, time_host_copies=False)
    np.testing.assert_array_equal(call()[0], backend.outputs(inputs)[0])
    with pytest.raises(BenchError, match="needs the case's ONNX file"):
        bare(None, inputs, 1, None)
