"""suite.backends.ort.ort_api: the Protocols that type onnxruntime's untyped objects name members
the real objects have. Each Protocol's members are checked on a real session, its IO binding, a
real node description and real session options (a Protocol member ORT lacks would type-check and
fail at run time)."""

from __future__ import annotations

import typing

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from suite.backends.ort import ort_api


def _members(proto: type) -> set[str]:
    names = set(getattr(proto, "__annotations__", {}))
    names |= {n for n, v in vars(proto).items() if not n.startswith("_") and (callable(v) or isinstance(v, property))}
    return names


@pytest.fixture(scope="module")
def session():
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("proto,make", [
    (ort_api.Session, lambda s: s),
    (ort_api.IOBinding, lambda s: s.io_binding()),
    (ort_api.NodeArg, lambda s: s.get_inputs()[0]),
    (ort_api.SessionOptions, lambda s: ort.SessionOptions()),
], ids=lambda p: getattr(p, "__name__", ""))
def test_every_protocol_member_exists_on_the_real_object(session, proto, make):
    real = make(session)
    members = _members(proto)
    assert members, proto
    missing = sorted(m for m in members if not hasattr(real, m))
    assert not missing, f"{type(real).__name__} has no {missing}"


def test_a_real_session_answers_as_the_protocol_says(session):
    s: ort_api.Session = session
    [arg] = s.get_inputs()
    assert (arg.name, list(arg.shape), arg.type) == ("x", ["batch", 3], "tensor(float)")
    x = np.array([[-1.0, 0.5, 2.0]], dtype=np.float32)
    [y] = s.run(None, {"x": x})
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert "CPUExecutionProvider" in s.get_providers()
    assert typing.get_type_hints(ort_api.SessionOptions)["intra_op_num_threads"] is int
