"""What the suite knows about one model before building it: `ModelEntry`.

A leaf module (it imports only suite.errors), so the registry, the seed zoo and the generic
sources can all build entries without importing each other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from suite.errors import BenchError

if TYPE_CHECKING:
    from torch import nn

    from suite.models.inputs import InputSpec

# pretrained -> a torch.nn.Module; a user's factory may return anything, which build() checks
Builder = Callable[[bool], object]


@dataclass(frozen=True)
class ModelEntry:
    name: str
    source: str  # registry | torchvision | transformers | file | onnx
    modality: str
    input_spec: InputSpec
    builder: Builder | None  # None for onnx files
    description: str = ""
    reference_params: int | None = None  # independent reference for tests and `bench models`
    tags: tuple[str, ...] = ()
    path: str | None = None  # onnx / file sources
    pretrained_available: bool = True
    # source-specific facts by name (a plugin's entry may add its own): weights_url, normalisation, file_model...
    extra: dict[str, Any] = field(default_factory=dict)

    def build(self, pretrained: bool = False) -> nn.Module:
        if self.builder is None:
            raise BenchError(f"Model '{self.name}' is an ONNX file: it runs on the ort backends only")
        if pretrained and not self.pretrained_available:
            raise BenchError(f"Model '{self.name}' has no published weights to load; run it without --pretrained")
        model = self.builder(pretrained)
        problem = not_a_model(model, f"Model '{self.name}': its builder")
        if problem:
            raise BenchError(problem)
        module = cast("nn.Module", model)  # not_a_model found it is one
        module.eval()
        return module


def not_a_model(model: object, who: str) -> str | None:
    """A message when `model` is no torch.nn.Module (None when it is one)."""
    import torch

    if isinstance(model, torch.nn.Module):
        return None
    if callable(model) and hasattr(model, "__qualname__"):
        kind, shown = "a function", model.__qualname__
    else:
        name = type(model).__name__
        kind = f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"
        shown = repr(model)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return (f"{who} returned {kind} ({shown}), not a torch.nn.Module; the factory must build the model and "
            "return it (e.g. `return MyNet()`).")
