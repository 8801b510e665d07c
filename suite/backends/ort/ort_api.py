"""What the suite calls on ONNX Runtime's objects, as Protocols: onnxruntime ships no type
information, so its session, IO binding, node descriptions and session options are typed here,
by the members the suite uses (the names and signatures of onnxruntime's Python API)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from suite.models.inputs import Array


class NodeArg(Protocol):
    """A graph input or output as `InferenceSession.get_inputs()` describes it."""

    @property
    def name(self) -> str: ...
    @property
    def shape(self) -> Sequence[int | str | None]: ...  # a dimension's size, its symbolic name, or unknown
    @property
    def type(self) -> str: ...  # e.g. "tensor(float)"


class IOBinding(Protocol):
    def bind_input(self, name: str, device_type: str, device_id: int, element_type: object,
                   shape: Sequence[int], buffer_ptr: int) -> None: ...
    def bind_cpu_input(self, name: str, arr_on_cpu: Array) -> None: ...
    def bind_output(self, name: str, device_type: str = ..., device_id: int = ..., element_type: object = ...,
                    shape: Sequence[int] | None = ..., buffer_ptr: int | None = ...) -> None: ...
    def copy_outputs_to_cpu(self) -> list[Array]: ...


class Session(Protocol):
    """`onnxruntime.InferenceSession`."""

    def get_inputs(self) -> Sequence[NodeArg]: ...
    def get_outputs(self) -> Sequence[NodeArg]: ...
    def get_providers(self) -> list[str]: ...
    def get_provider_options(self) -> Mapping[str, Mapping[str, str]]: ...
    def run(self, output_names: Sequence[str] | None, input_feed: Mapping[str, object]) -> list[Array]: ...
    def io_binding(self) -> IOBinding: ...
    def run_with_iobinding(self, iobinding: IOBinding) -> None: ...
    def end_profiling(self) -> str: ...  # the trace file's path


class SessionOptions(Protocol):
    """`onnxruntime.SessionOptions`: the settings the suite makes."""

    intra_op_num_threads: int
    inter_op_num_threads: int
    execution_mode: object  # an onnxruntime.ExecutionMode
    graph_optimization_level: object  # an onnxruntime.GraphOptimizationLevel
    log_severity_level: int
    enable_profiling: bool
    profile_file_prefix: str

    def add_session_config_entry(self, key: str, value: str) -> None: ...
