"""Parameter counts for an .onnx file, read from its initializers (no torch model exists).

An ONNX graph does not say which constants were parameters and which were buffers or shape
constants, so the rule is by type: floating-point and 8-bit initializers are weights
(`unique`); 16/32/64-bit integer and bool initializers (shapes, indices, axes) are reported
as `buffers`. BatchNorm statistics, where a graph keeps them, are float and count as weights.
The count is what the file holds, after its exporter's rewrites: the dynamo exporter folds
BatchNorm into the preceding Conv, so torchvision's ResNet-18 (11,689,512 parameters)
exports as 11,679,912 weights (its 9,600 BN scales and shifts are gone). Quantised graphs
count their int8/uint8 weights. Nothing in a graph is trainable, so `trainable` is 0 and
`frozen` is the whole count.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from suite.errors import BenchError, MissingDependencyError
from suite.results.schema import ParamStats

if TYPE_CHECKING:
    import onnx

# onnx.TensorProto data types -> (name, bytes per element)
_TYPES = {1: ("float32", 4), 2: ("uint8", 1), 3: ("int8", 1), 4: ("uint16", 2), 5: ("int16", 2), 6: ("int32", 4),
          7: ("int64", 8), 9: ("bool", 1), 10: ("float16", 2), 11: ("float64", 8), 12: ("uint32", 4),
          13: ("uint64", 8), 16: ("bfloat16", 2)}
_WEIGHT_TYPES = {"float32", "float16", "bfloat16", "float64", "int8", "uint8"}


def onnx_param_stats(path: str | Path) -> ParamStats:
    """Counts from the initializers' declared shapes (external data is never loaded)."""
    try:
        import onnx
    except ImportError:
        raise MissingDependencyError("onnx", purpose="counting an ONNX model's parameters") from None
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise BenchError(f"{path} is not a readable ONNX model: {exc}") from None
    weights = consts = weight_bytes = const_bytes = 0
    by_dtype: dict[str, int] = {}
    for init in _all_initializers(model.graph):
        dtype, size = _TYPES.get(init.data_type, (f"onnx_type_{init.data_type}", 0))
        numel = 1
        for d in init.dims:
            numel *= int(d)
        nbytes = numel * size
        by_dtype[dtype] = by_dtype.get(dtype, 0) + nbytes
        if dtype in _WEIGHT_TYPES:
            weights, weight_bytes = weights + numel, weight_bytes + nbytes
        else:
            consts, const_bytes = consts + numel, const_bytes + nbytes
    return ParamStats(unique=weights, trainable=0, frozen=weights, buffers=consts, param_bytes=weight_bytes,
                      buffer_bytes=const_bytes, bytes_by_dtype=dict(sorted(by_dtype.items())))


def _all_initializers(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    """Initializers of the graph and of subgraphs (If/Loop bodies), each counted once."""
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.g is not None and attr.HasField("g"):
                yield from _all_initializers(attr.g)
            for g in attr.graphs:
                yield from _all_initializers(g)
