"""suite.models.onnx_spec: the input spec read from an ONNX graph's declared inputs, on graphs
written here with onnx.helper and one exported by torch. The inputs the suite makes from the spec
are fed to a real ONNX Runtime session, which accepts them."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, save

from suite.errors import BenchError
from suite.models.inputs import make_inputs
from suite.models.onnx_spec import DEFAULT_FREE_DIM, input_spec_from_onnx


def _graph(path, inputs, nodes, output):
    graph = helper.make_graph(nodes, "g", inputs, [output])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


def test_a_text_graph_gets_a_seq_len_axis_token_ids_ones_and_zeros(tmp_path):
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])
    types = helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "sequence"])
    out = helper.make_tensor_value_info("y", TensorProto.INT64, ["batch", "sequence"])
    nodes = [helper.make_node("Add", ["input_ids", "attention_mask"], ["s"]),
             helper.make_node("Add", ["s", "token_type_ids"], ["y"])]
    path = _graph(tmp_path / "text.onnx", [ids, mask, types], nodes, out)
    spec = input_spec_from_onnx(path)
    assert (spec.modality, spec.size_axis, spec.default_size) == ("text", "seq_len", 128)
    assert [(t.name, t.kind) for t in spec.tensors] == [("input_ids", "tokens"), ("attention_mask", "ones"),
                                                       ("token_type_ids", "zeros")]
    inputs = make_inputs(spec, 2, 16, seed=0)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    [y] = session.run(None, {k: v.numpy() for k, v in inputs.items()})
    ids_np = inputs["input_ids"].numpy()
    assert y.shape == (2, 16) and np.array_equal(y, ids_np + 1) and ids_np.max() < 1000


def test_a_torch_export_with_dynamic_height_and_width_is_an_image(tmp_path):
    import torch

    model = torch.nn.Conv2d(3, 4, 3, padding=1).eval()
    path = tmp_path / "conv.onnx"
    torch.onnx.export(model, (torch.randn(1, 3, 32, 32),), str(path), input_names=["pixels"], dynamo=False,
                      dynamic_axes={"pixels": {0: "n", 2: "h", 3: "w"}})
    spec = input_spec_from_onnx(path)
    assert (spec.modality, spec.size_axis, spec.fixed_batch) == ("image", "resolution", None)
    assert spec.tensors[0].shape == ("batch", 3, "resolution", "resolution")
    inputs = make_inputs(spec, 2, 40, seed=1)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    [y] = session.run(None, {"pixels": inputs["pixels"].numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(y, model(inputs["pixels"]).numpy(), rtol=1e-4, atol=1e-5)


def test_a_free_dimension_of_no_known_meaning_is_fixed_where_it_shows(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, "k"])
    path = _graph(tmp_path / "free.onnx", [x], [helper.make_node("Relu", ["x"], ["y"])],
                  helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3, "k"]))
    spec = input_spec_from_onnx(path)
    assert spec.tensors[0].shape == ("batch", 3, "x_dim2") and spec.fixed == {"x_dim2": DEFAULT_FREE_DIM}
    assert spec.size_axis is None and spec.modality == "other"


def test_files_that_are_not_models_are_named(tmp_path):
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(BenchError, match="is empty \\(0 bytes\\)"):
        input_spec_from_onnx(tmp_path / "empty.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01\x02")
    with pytest.raises(BenchError, match="not (a readable ONNX model|an ONNX model)"):
        input_spec_from_onnx(tmp_path / "junk.onnx")
