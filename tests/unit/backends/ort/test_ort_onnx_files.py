"""ONNX files as models: the committed fixtures, parameter counts from initializers, and the
input spec derived from a graph's declared inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from onnx import TensorProto, helper

from suite.backends.ort.graph_params import onnx_param_stats
from suite.config.bench_config import build_config
from suite.errors import BenchError
from suite.models.inputs import make_inputs
from suite.models.onnx_spec import input_spec_from_onnx
from suite.models.registry import resolve_model
from suite.plan.sweep import plan_cases


def test_fixture_files_are_valid_and_reproducible(onnx_dir, onnx_fixture_generator, tmp_path):
    import onnx

    for name in ("tiny_mlp.onnx", "static_batch.onnx"):
        onnx.checker.check_model(onnx.load(str(onnx_dir / name)))
    again = onnx_fixture_generator.write_fixtures(tmp_path)
    for name in ("tiny_mlp.onnx", "static_batch.onnx", "unsupported_op.onnx"):
        assert (again / name).read_bytes() == (onnx_dir / name).read_bytes()


# --------------------------------------------------------------------------- parameters


def test_tiny_mlp_counts_by_hand(onnx_dir):
    stats = onnx_param_stats(onnx_dir / "tiny_mlp.onnx")
    assert stats.unique == 4 * 3 + 3 + 3 * 2 + 2 == 23
    assert stats.buffers == 2  # the Reshape's int64 shape constant
    assert stats.param_bytes == 23 * 4 and stats.buffer_bytes == 2 * 8
    assert stats.bytes_by_dtype == {"float32": 92, "int64": 16}
    assert stats.trainable == 0 and stats.frozen == 23
    assert stats.effective is None and stats.uncalled is None


def test_exported_linear_stack_matches_torch_parameter_count(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU(), torch.nn.Linear(20, 5))
    path = tmp_path / "mlp.onnx"
    torch.onnx.export(model, (torch.randn(2, 10),), str(path), dynamo=False)
    assert onnx_param_stats(path).unique == sum(p.numel() for p in model.parameters()) == 10 * 20 + 20 + 20 * 5 + 5


def test_subgraph_initializers_are_counted(tmp_path):
    then_g = helper.make_graph([helper.make_node("Identity", ["w"], ["o"])], "then", [],
                               [helper.make_tensor_value_info("o", TensorProto.FLOAT, [5])],
                               [helper.make_tensor("w", TensorProto.FLOAT, [5], [1.0] * 5)])
    else_g = helper.make_graph([helper.make_node("Identity", ["v"], ["o2"])], "else", [],
                               [helper.make_tensor_value_info("o2", TensorProto.FLOAT, [5])],
                               [helper.make_tensor("v", TensorProto.FLOAT, [5], [2.0] * 5)])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5])])
    path = tmp_path / "if.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    assert onnx_param_stats(path).unique == 10


def test_unreadable_file_is_a_bench_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(BenchError, match="not a readable ONNX model"):
        onnx_param_stats(bad)


# --------------------------------------------------------------------------- input specs


def _model_file(tmp_path: Path, inputs: list) -> Path:
    nodes = [helper.make_node("Identity", [i.name], [f"out_{i.name}"]) for i in inputs]
    outputs = [helper.make_tensor_value_info(f"out_{i.name}", i.type.tensor_type.elem_type, None) for i in inputs]
    path = tmp_path / "m.onnx"
    path.write_bytes(helper.make_model(helper.make_graph(nodes, "g", inputs, outputs)).SerializeToString())
    return path


def test_onnx_file_resolves_to_an_ort_only_entry(onnx_dir):
    entry = resolve_model(str(onnx_dir / "tiny_mlp.onnx"))
    assert entry.source == "onnx" and entry.builder is None and entry.path.endswith("tiny_mlp.onnx")
    assert entry.input_spec.tensors[0].shape == ("batch", 4)
    with pytest.raises(BenchError, match="ort backends only"):
        entry.build()


def test_symbolic_image_dims_become_batch_and_resolution(tmp_path):
    path = _model_file(tmp_path, [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 3, "H", "W"])])
    spec = input_spec_from_onnx(path)
    assert spec.modality == "image" and spec.size_axis == "resolution"
    assert spec.shapes(2, 64) == {"pixels": [2, 3, 64, 64]}


def test_fixed_batch_of_one_is_still_the_batch_axis(onnx_dir):
    spec = input_spec_from_onnx(onnx_dir / "static_batch.onnx")
    assert spec.tensors[0].shape == ("batch", 4)
    assert (spec.fixed_batch, spec.fixed_batch_input) == (1, "x")
    assert spec.shapes(4, None) == {"x": [4, 4]}  # the backend refuses it too (see integration tests)
    assert input_spec_from_onnx(onnx_dir / "tiny_mlp.onnx").fixed_batch is None  # symbolic batch


def test_fixed_batch_graph_is_refused_other_batches_when_planned(onnx_dir):
    static, dynamic = str(onnx_dir / "static_batch.onnx"), str(onnx_dir / "tiny_mlp.onnx")
    config = build_config(overrides={"models": [static, dynamic], "backends": ["ort"], "batch_sizes": [1, 4]})
    with pytest.raises(BenchError, match=r"takes batch size 1 only.*batch size 4 was asked for"):
        plan_cases(config, threads=1)
    # Its own batch sizes in the config: the rest of the run keeps the sweep.
    config = build_config(overrides={"models": [{"name": static, "batch_sizes": [1]}, dynamic],
                                     "backends": ["ort"], "batch_sizes": [1, 4]})
    planned = [(c.spec.model, c.spec.batch_size) for c in plan_cases(config, threads=1)]
    assert planned == [(static, 1), (dynamic, 1), (dynamic, 4)]


def test_text_inputs_get_tokens_ones_and_zeros(tmp_path):
    path = _model_file(tmp_path, [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "sequence"]),
    ])
    spec = input_spec_from_onnx(path)
    assert spec.size_axis == "seq_len" and spec.modality == "text"
    x = make_inputs(spec, 2, 16, seed=0)
    assert list(x["input_ids"].shape) == [2, 16] and int(x["input_ids"].max()) < 1000
    assert bool((x["attention_mask"] == 1).all())
    assert bool((x["token_type_ids"] == 0).all())  # a type vocabulary of 2 cannot take ids up to 1000


def test_symbolic_waveform_becomes_audio_seconds(tmp_path):
    path = _model_file(tmp_path, [helper.make_tensor_value_info("input_values", TensorProto.FLOAT, ["b", "n"])])
    spec = input_spec_from_onnx(path)
    assert spec.modality == "audio" and spec.size_axis == "audio_seconds"
    assert spec.shapes(1, 0.5) == {"input_values": [1, 8000]}


def test_other_symbolic_dims_are_fixed_and_visible(tmp_path):
    path = _model_file(tmp_path, [helper.make_tensor_value_info("feats", TensorProto.FLOAT, ["b", 7, "k"])])
    spec = input_spec_from_onnx(path)
    assert spec.size_axis is None and spec.fixed == {"feats_dim2": 1}
    assert spec.shapes(3, None) == {"feats": [3, 7, 1]}


def test_own_input_sizes_for_a_model_without_a_size_axis_are_refused(onnx_dir):
    """Modality-wide sizes skip a model with no size axis; sizes given for that model itself are a
    mistake to report, not to drop silently."""
    model = str(onnx_dir / "tiny_mlp.onnx")
    config = build_config(overrides={"models": [model], "backends": ["ort"], "batch_sizes": [1],
                                     "input_sizes": {"*": [224]}})
    assert [c.spec.input_size for c in plan_cases(config, threads=1)] == [None]
    config = build_config(overrides={"models": [{"name": model, "input_sizes": [224]}], "backends": ["ort"]})
    with pytest.raises(BenchError, match="has no variable input size; remove the input_sizes given for it"):
        plan_cases(config, threads=1)
