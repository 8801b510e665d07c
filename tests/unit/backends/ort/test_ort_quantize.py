"""Dynamic int8 quantisation into the cache: the published file and its external weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from suite.backends.ort import quantize
from suite.errors import CaseError


def _matmul_model(path: Path) -> np.ndarray:
    """y = x @ W with a 64x64 weight: large enough (4 KiB as int8) to be written as external data."""
    import onnx

    w = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 64])],
                              [numpy_helper.from_array(w, "W")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return w


def _locations(path: Path) -> set[str]:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {kv.value for init in model.graph.initializer if init.data_location == TensorProto.EXTERNAL
            for kv in init.external_data if kv.key == "location"}


def test_external_data_is_published_under_the_final_name(tmp_path, monkeypatch):
    import onnxruntime as ort

    src, folder = tmp_path / "src" / "model.onnx", tmp_path / "entry"
    src.parent.mkdir()
    folder.mkdir()
    w = _matmul_model(src)
    monkeypatch.setattr(quantize, "_EXTERNAL_DATA_ABOVE_BYTES", 0)

    q = quantize.quantize_in_folder(src, folder)
    assert not q.cache_hit and q.path == folder / quantize.int8_name()
    data = folder / (q.path.name + ".data")
    assert _locations(q.path) == {data.name} and data.is_file()
    assert sorted(p.name for p in folder.iterdir()) == sorted([q.path.name, data.name, q.path.with_suffix(".json").name])
    assert b".tmp-" not in q.path.read_bytes()

    # Loads from the cache folder alone, and computes (approximately) the fp32 function.
    x = np.random.default_rng(1).standard_normal((3, 64)).astype(np.float32)
    (y,) = ort.InferenceSession(str(q.path), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    ref = x @ w
    assert np.abs(y - ref).max() / np.abs(ref).max() < quantize.INT8_PARITY_TOLERANCE

    again = quantize.quantize_in_folder(src, folder)
    assert again.cache_hit and again.path == q.path

    # A cached model whose weights file is gone is not a hit: it is made again.
    data.unlink()
    redo = quantize.quantize_in_folder(src, folder)
    assert not redo.cache_hit and data.is_file() and _locations(redo.path) == {data.name}


def test_failed_quantisation_leaves_nothing_behind(tmp_path, monkeypatch):
    src, folder = tmp_path / "broken.onnx", tmp_path / "entry"
    src.write_bytes(b"not an onnx model" * 100)
    folder.mkdir()
    monkeypatch.setattr(quantize, "_EXTERNAL_DATA_ABOVE_BYTES", 0)
    with pytest.raises(CaseError):
        quantize.quantize_in_folder(src, folder)
    assert list(folder.iterdir()) == []
