"""Derive an input spec from an ONNX graph's declared inputs.

Dimension 0 of every input of rank >= 2 is the batch, symbolic or not (a graph exported with
a fixed batch of 1 runs batch 1, and other batch sizes are refused when the run is planned,
instead of silently running batch 1 under another label); a 4-D float input with symbolic height and
width gets a `resolution` size axis; a symbolic dimension 1 of an integer input (token ids)
gets a `seq_len` axis; a 2-D float input with a symbolic dimension 1 is a waveform
(`audio_seconds`, 16 kHz); anything else symbolic is fixed at a default the user can see in
the case's recorded shapes. Masks are all ones, token-type and position ids all zeros.
"""

from __future__ import annotations

from pathlib import Path

from suite.errors import BenchError, MissingDependencyError
from suite.models.inputs import InputSpec, TensorSpec

_ONNX_DTYPES = {1: "float32", 10: "float16", 11: "float64", 6: "int32", 7: "int64", 9: "bool", 2: "uint8", 3: "int8"}
DEFAULT_FREE_DIM = 1


def input_spec_from_onnx(path: Path) -> InputSpec:
    try:
        import onnx
    except ImportError:
        raise MissingDependencyError("onnx", "ort", "reading .onnx models") from None
    try:
        empty = path.stat().st_size == 0
    except OSError as exc:
        raise BenchError(f"{path} cannot be read: {exc.strerror or exc}") from None
    if empty:
        raise BenchError(f"{path} is empty (0 bytes): not an ONNX model. Export it again (an interrupted "
                         "export or copy leaves an empty file).")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise BenchError(f"{path} is not a readable ONNX model: {exc}") from None
    if not model.HasField("graph") or not model.graph.node:
        # protobuf parses many byte strings into an empty message: no graph means no model.
        raise BenchError(f"{path} is not an ONNX model: it holds no graph (no operators to run)")
    initializers = {i.name for i in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in initializers]
    if not graph_inputs:
        raise BenchError(f"{path} declares no graph inputs")
    tensors = []
    size_axis = None
    default_size: float | None = None
    fixed: dict[str, int] = {}
    fixed_batch: tuple[int, str] | None = None
    modality = "other"
    for inp in graph_inputs:
        ttype = inp.type.tensor_type
        dtype = _ONNX_DTYPES.get(ttype.elem_type)
        if dtype is None:
            raise BenchError(f"{path}: input '{inp.name}' has an unsupported element type {ttype.elem_type}")
        dims = list(ttype.shape.dim)
        shape: list[int | str] = []
        for i, d in enumerate(dims):
            if i == 0 and (len(dims) >= 2 or not (d.HasField("dim_value") and d.dim_value > 0)):
                shape.append("batch")
                if d.HasField("dim_value") and d.dim_value > 0 and fixed_batch is None:
                    fixed_batch = (int(d.dim_value), inp.name)
            elif d.HasField("dim_value") and d.dim_value > 0:
                shape.append(int(d.dim_value))
            elif len(dims) == 4 and i in (2, 3) and dtype.startswith("float"):
                shape.append("resolution")
                size_axis, default_size, modality = "resolution", 224, "image"
            elif dtype.startswith("int") and i == 1 and size_axis in (None, "seq_len"):
                shape.append("seq_len")
                size_axis, default_size, modality = "seq_len", 128, "text"
            elif len(dims) == 2 and i == 1 and dtype.startswith("float") and size_axis in (None, "audio_seconds"):
                shape.append("samples")
                size_axis, default_size, modality = "audio_seconds", 1.0, "audio"
            else:
                name = f"{inp.name}_dim{i}"
                fixed[name] = DEFAULT_FREE_DIM
                shape.append(name)
        if len(dims) == 4 and dtype.startswith("float") and modality == "other":
            modality = "image"
        kind = "normal"
        high = None
        if dtype.startswith("int"):
            lowered = inp.name.lower()
            if "mask" in lowered:
                kind = "ones"
            elif "token_type" in lowered or "position" in lowered:
                kind = "zeros"  # token-type / position tables are small: ids up to 1000 would overflow them
            else:
                kind, high = "tokens", 1000
        tensors.append(TensorSpec(inp.name, tuple(shape), dtype if dtype != "bool" else "bool", kind, high=high))
    min_size = 0.01 if size_axis == "audio_seconds" else 1
    return InputSpec(modality=modality, tensors=tuple(tensors), size_axis=size_axis, default_size=default_size,
                     fixed=fixed, min_size=min_size, fixed_batch=fixed_batch[0] if fixed_batch else None,
                     fixed_batch_input=fixed_batch[1] if fixed_batch else None)
