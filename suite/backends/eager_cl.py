"""PyTorch eager in channels_last memory format: eager at its best for convolutional image models.

`eager` stays eager as the model comes (NCHW, contiguous), the reference every backend is
checked and compared against; `eager-cl` converts the model and its 4-D image inputs to
channels_last (NHWC in memory), which oneDNN's convolutions prefer on CPU (18-20% faster for
resnet18 and mobilenet_v3_small on a 2-core x86 VM, docs/NOTES). The inputs are converted once,
before the timed loop, as a pipeline that produces channels_last frames would hand them over.

A model with no 4-D floating-point input (text, audio) has nothing to convert: it runs as plain
eager and the case says so in a note, rather than posing as a variant it is not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from suite.backends.eager import EagerBackend
from suite.backends.eager import bare as eager_bare
from suite.backends.protocol import PrepareRequest
from suite.errors import BenchError
from suite.models.inputs import Inputs, InputValue

if TYPE_CHECKING:
    from torch import nn

NOT_IMAGE_NOTE = ("eager-cl: the model has no 4-D image input, so channels_last does not apply; it ran as plain "
                  "eager (the same numbers as the eager case)")


class ChannelsLastBackend(EagerBackend):
    name = "eager-cl"

    def __init__(self, req: PrepareRequest) -> None:
        super().__init__(req)
        torch = self._torch
        self.image_inputs = [k for k, v in req.inputs.items()
                             if isinstance(v, torch.Tensor) and v.dim() == 4 and v.is_floating_point()]
        self.channels_last = bool(self.image_inputs)
        self._source: Inputs | None = None
        self._converted: dict[str, InputValue] = {}
        if not self.channels_last:
            self.flags.append(NOT_IMAGE_NOTE)
            return
        self.model = self.model.to(memory_format=torch.channels_last)
        self._source, self._converted = req.inputs, self._convert(req.inputs)

    def _convert(self, inputs: Inputs) -> dict[str, InputValue]:
        import torch

        cl = torch.channels_last
        return {k: (v.contiguous(memory_format=cl) if k in self.image_inputs and torch.is_tensor(v) else v)
                for k, v in inputs.items()}

    def run(self, inputs: Inputs) -> object:
        if self.channels_last:
            # The case's own inputs were converted once; others (a dataset batch) are converted here.
            inputs = self._converted if inputs is self._source else self._convert(inputs)
        return super().run(inputs)


def bare(model: nn.Module, inputs: Inputs, threads: int, graph: str | None) -> Callable[[], object]:
    """A hand-written channels_last call (suite/run/bare.py): model and 4-D float inputs converted once."""
    import torch


    cl = torch.channels_last
    converted = {k: (v.contiguous(memory_format=cl) if torch.is_tensor(v) and v.dim() == 4 and v.is_floating_point()
                     else v) for k, v in inputs.items()}
    return eager_bare(model.to(memory_format=cl), converted, threads, graph)


def prepare(req: PrepareRequest) -> ChannelsLastBackend:
    if req.model is None:
        raise BenchError(f"model '{req.entry.name}' is an ONNX file: eager-cl runs torch models only")
    return ChannelsLastBackend(req)
