"""Input specs and synthetic, seeded inputs: no dataset is needed to time a model.

A spec lists the tensors a model takes, with shapes written in named axes ("batch",
"resolution", "seq_len", "samples", ...). A sweep varies the batch and the model's one
size axis; everything else is fixed by the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias, Union

from suite.errors import BenchError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from torch import Tensor, nn

Array: TypeAlias = "npt.NDArray[np.generic]"  # a numpy array of any dtype
# One model input: a torch tensor, or a numpy array (ONNX Runtime's feeds; an install without torch).
InputValue: TypeAlias = Union["Tensor", Array]
TorchInputs: TypeAlias = "dict[str, Tensor]"
ArrayInputs: TypeAlias = "dict[str, Array]"
# A case's inputs by name, as its model is called with them (forward_args): what backends take.
Inputs: TypeAlias = Mapping[str, InputValue]

# Size axes and the unit a user types for them.
SIZE_AXES = {"resolution": "pixels", "seq_len": "tokens", "audio_seconds": "seconds"}


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int | str, ...]
    dtype: str = "float32"
    # normal: N(0,1); uniform: U(0,1); tokens: ints in [low, high); ones: all 1 (masks); zeros
    kind: str = "normal"
    low: int = 0
    high: int | None = None


@dataclass(frozen=True)
class InputSpec:
    modality: str  # image | text | audio | multimodal | other
    tensors: tuple[TensorSpec, ...]
    size_axis: str | None = None  # resolution | seq_len | audio_seconds
    default_size: float | None = None
    fixed: dict[str, int] = field(default_factory=dict)  # other named axes, e.g. regions=36
    sample_rate: int = 16_000  # for audio_seconds -> samples
    min_size: float | None = None
    max_size: float | None = None
    size_multiple: int | None = None
    # The one batch size a graph declares (an .onnx exported with a fixed dimension 0), else None.
    fixed_batch: int | None = None
    fixed_batch_input: str | None = None

    @property
    def sweepable(self) -> tuple[str, ...]:
        return ("batch",) + ((self.size_axis,) if self.size_axis else ())

    def axis_values(self, batch: int, size: float | None) -> dict[str, int]:
        values: dict[str, int] = {"batch": batch, **self.fixed}
        if self.size_axis:
            s = self.default_size if size is None else size
            if s is None:
                raise BenchError(f"No input size given for axis {self.size_axis}")
            if self.size_axis == "audio_seconds":
                values["samples"] = int(round(float(s) * self.sample_rate))
            else:
                values[self.size_axis] = int(s)
        return values

    def check_batch(self, batch: int, model: str) -> None:
        if self.fixed_batch is not None and batch != self.fixed_batch:
            raise BenchError(
                f"Model '{model}' takes batch size {self.fixed_batch} only: its graph fixes dimension 0 of input "
                f"'{self.fixed_batch_input}' at {self.fixed_batch}, and batch size {batch} was asked for. Run it with "
                f"--batch-sizes {self.fixed_batch}, give it its own batch sizes in the config "
                f"([[models]] name = ..., batch_sizes = [{self.fixed_batch}]), or export it with a dynamic batch axis.")

    def check_size(self, size: float | None, model: str) -> None:
        if size is None:
            return
        if self.size_axis is None:
            raise BenchError(f"Model '{model}' has no variable input size; remove the input_sizes given for it "
                             "in the config")
        unit = SIZE_AXES.get(self.size_axis, "")
        if self.min_size is not None and size < self.min_size:
            raise BenchError(f"Input size {size:g} {unit} is too small for '{model}' (minimum {self.min_size:g})")
        if self.max_size is not None and size > self.max_size:
            raise BenchError(f"Input size {size:g} {unit} is too large for '{model}' (maximum {self.max_size:g})")
        if self.size_axis != "audio_seconds" and float(size) != int(size):
            raise BenchError(f"Input size for '{model}' ({self.size_axis}) must be a whole number, got {size:g}")
        if self.size_multiple and int(size) % self.size_multiple:
            raise BenchError(f"Input size {size:g} {unit} does not suit '{model}': it must be a multiple of "
                             f"{self.size_multiple} (e.g. {int(size) // self.size_multiple * self.size_multiple or self.size_multiple})")

    def shapes(self, batch: int, size: float | None) -> dict[str, list[int]]:
        values = self.axis_values(batch, size)
        out = {}
        for t in self.tensors:
            dims = []
            for d in t.shape:
                if isinstance(d, str):
                    if d not in values:
                        raise BenchError(f"Input '{t.name}' uses axis '{d}' that the spec does not define")
                    dims.append(values[d])
                else:
                    dims.append(int(d))
            out[t.name] = dims
        return out


def image_spec(resolution: int = 224, channels: int = 3, name: str = "x", min_size: int = 32) -> InputSpec:
    return InputSpec(
        modality="image",
        tensors=(TensorSpec(name, ("batch", channels, "resolution", "resolution")),),
        size_axis="resolution",
        default_size=resolution,
        min_size=min_size,
    )


def text_spec(vocab_size: int, seq_len: int = 128, max_len: int = 512, token_types: bool = False,
              mask: bool = True) -> InputSpec:
    tensors = [TensorSpec("input_ids", ("batch", "seq_len"), "int64", "tokens", low=1000 if vocab_size > 2000 else 0, high=vocab_size)]
    if mask:
        tensors.append(TensorSpec("attention_mask", ("batch", "seq_len"), "int64", "ones"))
    if token_types:
        tensors.append(TensorSpec("token_type_ids", ("batch", "seq_len"), "int64", "zeros"))
    return InputSpec(modality="text", tensors=tuple(tensors), size_axis="seq_len", default_size=seq_len,
                     min_size=1, max_size=max_len)


def audio_spec(seconds: float = 1.0, name: str = "input_values", sample_rate: int = 16_000,
               min_seconds: float = 0.1) -> InputSpec:
    return InputSpec(modality="audio", tensors=(TensorSpec(name, ("batch", "samples")),),
                     size_axis="audio_seconds", default_size=seconds, sample_rate=sample_rate,
                     min_size=min_seconds)


def make_inputs(spec: InputSpec, batch: int, size: float | None, seed: int = 0,
                device: str = "cpu") -> TorchInputs | ArrayInputs:
    """Seeded synthetic tensors for one case: the same seed gives the same inputs everywhere,
    with or without torch (the values come from numpy either way).

    torch tensors when torch is installed; numpy arrays on an ONNX-Runtime-only install."""
    try:
        import torch
    except ImportError:
        if device != "cpu":
            raise BenchError(f"Inputs on device '{device}' need torch (pip install 'bench-suite[torch]')") from None
        return make_numpy_inputs(spec, batch, size, seed)
    arrays = make_numpy_inputs(spec, batch, size, seed)
    return {t.name: torch.from_numpy(arrays[t.name]).to(getattr(torch, t.dtype)).to(device) for t in spec.tensors}


def make_numpy_inputs(spec: InputSpec, batch: int, size: float | None, seed: int = 0) -> ArrayInputs:
    import numpy as np

    rng = np.random.default_rng(seed)
    shapes = spec.shapes(batch, size)
    out: ArrayInputs = {}
    for t in spec.tensors:
        shape = shapes[t.name]
        x: Array
        if t.kind == "tokens":
            high = t.high if t.high is not None else 100
            x = rng.integers(min(t.low, high - 1), high, size=shape)
        elif t.kind == "ones":
            x = np.ones(shape)
        elif t.kind == "zeros":
            x = np.zeros(shape)
        elif t.kind == "uniform":
            x = rng.random(shape, dtype=np.float32)
        else:
            x = rng.standard_normal(shape, dtype=np.float32)
        try:
            dtype = np.dtype(t.dtype)
        except TypeError:  # bfloat16 and other types numpy lacks: float32 here, torch casts
            dtype = np.dtype(np.float32)
        out[t.name] = x.astype(dtype, copy=False)
    return out


def meta_inputs(inputs: Inputs) -> dict[str, InputValue]:
    return {k: v.to("meta") if hasattr(v, "to") else v for k, v in inputs.items()}


def forward_args(inputs: Inputs) -> tuple[tuple[InputValue, ...], dict[str, InputValue]]:
    """How to call a model with its inputs: a lone tensor goes positionally (nn.Sequential
    and most vision models take `forward(x)` under any name), several go by keyword."""
    if len(inputs) == 1:
        return (next(iter(inputs.values())),), {}
    return (), dict(inputs)


def call_model(model: nn.Module, inputs: Inputs) -> object:
    """One forward of `model` on `inputs`; what it returns is the model's own (tensors, tuples,
    dicts, a transformers ModelOutput: suite.backends.parity.flatten_outputs reads them all)."""
    args, kwargs = forward_args(inputs)
    return model(*args, **kwargs)


def image_channels(spec: InputSpec) -> int:
    """The channels an image model's first input takes (N x C x H x W), 3 when it does not say."""
    shape: tuple[int | str, ...] = spec.tensors[0].shape if spec.tensors else ()
    return shape[1] if len(shape) == 4 and isinstance(shape[1], int) else 3
