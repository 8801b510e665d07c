"""Derive an input spec from an ONNX graph's declared inputs.

Fixed dimensions are kept; the first symbolic dimension of every input is the batch; a 4-D
float input with symbolic height and width gets a `resolution` size axis; other symbolic
dimensions of integer inputs (token ids) get a `seq_len` axis; anything else symbolic is
fixed at a default the user can see in the case's recorded shapes.
"""

from __future__ import annotations

from pathlib import Path

from suite.errors import BenchError
from suite.inputs import InputSpec, TensorSpec

_ONNX_DTYPES = {1: "float32", 10: "float16", 11: "float64", 6: "int32", 7: "int64", 9: "bool", 2: "uint8", 3: "int8"}
DEFAULT_FREE_DIM = 1


def input_spec_from_onnx(path: Path) -> InputSpec:
    try:
        import onnx
    except ImportError:
        from suite.errors import MissingDependencyError

        raise MissingDependencyError("onnx", "ort", "reading .onnx models") from None
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise BenchError(f"{path} is not a readable ONNX model: {exc}") from None
    initializers = {i.name for i in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in initializers]
    if not graph_inputs:
        raise BenchError(f"{path} declares no graph inputs")
    tensors = []
    size_axis = None
    default_size = None
    fixed: dict[str, int] = {}
    modality = "other"
    for inp in graph_inputs:
        ttype = inp.type.tensor_type
        dtype = _ONNX_DTYPES.get(ttype.elem_type)
        if dtype is None:
            raise BenchError(f"{path}: input '{inp.name}' has an unsupported element type {ttype.elem_type}")
        dims = list(ttype.shape.dim)
        shape: list[int | str] = []
        for i, d in enumerate(dims):
            if d.HasField("dim_value") and d.dim_value > 0:
                shape.append(int(d.dim_value))
            elif i == 0:
                shape.append("batch")
            elif len(dims) == 4 and i in (2, 3) and dtype.startswith("float"):
                shape.append("resolution")
                size_axis, default_size, modality = "resolution", 224, "image"
            elif dtype.startswith("int") and i == 1:
                shape.append("seq_len")
                size_axis, default_size, modality = "seq_len", 128, "text"
            else:
                name = f"{inp.name}_dim{i}"
                fixed[name] = DEFAULT_FREE_DIM
                shape.append(name)
        if len(dims) == 4 and dtype.startswith("float") and modality == "other":
            modality = "image"
        kind = "normal"
        high = None
        if dtype.startswith("int"):
            kind, high = ("ones", None) if "mask" in inp.name else ("tokens", 1000)
        tensors.append(TensorSpec(inp.name, tuple(shape), dtype if dtype != "bool" else "bool", kind, high=high))
    if size_axis is None and any(isinstance(d, int) for t in tensors for d in t.shape[2:4]) and modality == "image":
        pass
    return InputSpec(modality=modality, tensors=tuple(tensors), size_axis=size_axis, default_size=default_size,
                     fixed=fixed, min_size=1)
