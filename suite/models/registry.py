"""Model registry: a dict, a decorator and wildcard listing (after timm).

Heavy dependencies are imported when an entry is *built*, never when the registry is
imported. Names resolve as:
    resnet18                 a registry entry (see zoo.py)
    torchvision:<name>       any torchvision classification model
    hf:<model_type>[:k=v,..] any transformers architecture from its config, with overrides
    path/to/file.py[:fn]     a user's Python file exposing a factory
    path/to/model.onnx       an ONNX file (ONNX Runtime backends only)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from suite.errors import BenchError, UnknownModelError
from suite.inputs import InputSpec

Builder = Callable[[bool], Any]  # pretrained -> torch.nn.Module


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
    extra: dict[str, Any] = field(default_factory=dict)

    def build(self, pretrained: bool = False):
        if self.builder is None:
            raise BenchError(f"Model '{self.name}' is an ONNX file: it runs on the ort backends only")
        if pretrained and not self.pretrained_available:
            raise BenchError(f"Model '{self.name}' has no published weights to load; run it without --pretrained")
        model = self.builder(pretrained)
        model.eval()
        return model


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(entry: ModelEntry) -> ModelEntry:
    if entry.name in _REGISTRY:
        raise ValueError(f"model '{entry.name}' registered twice")
    _REGISTRY[entry.name] = entry
    return entry


def registry() -> dict[str, ModelEntry]:
    from suite.models import zoo

    zoo.ensure_registered()
    return _REGISTRY


def list_models(pattern: str = "*", modality: str | None = None, source: str | None = None) -> list[ModelEntry]:
    out = []
    for name, entry in sorted(registry().items()):
        if not fnmatch.fnmatch(name, pattern):
            continue
        if modality and entry.modality != modality:
            continue
        if source and entry.source != source:
            continue
        out.append(entry)
    return out


def resolve_model(name: str, overrides: dict[str, Any] | None = None) -> ModelEntry:
    """Turn what the user typed into a ModelEntry (building nothing yet)."""
    from suite.models import sources

    entries = registry()
    if name in entries:
        if overrides:
            raise BenchError(f"Config overrides apply to hf: models only, not to registry entry '{name}'")
        return entries[name]
    lowered = name.lower()
    if lowered.startswith("torchvision:"):
        return sources.torchvision_entry(name.split(":", 1)[1])
    if lowered.startswith(("hf:", "transformers:")):
        return sources.transformers_entry(name.split(":", 1)[1], overrides or {})
    if lowered.endswith(".onnx"):
        return sources.onnx_entry(name)
    if ".py" in lowered and (lowered.endswith(".py") or ".py:" in lowered):
        return sources.file_entry(name)
    raise UnknownModelError(name, list(entries))
