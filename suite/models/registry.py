"""Model registry: a dict, a decorator and wildcard listing (after timm).

Heavy dependencies are imported when an entry is *built*, never when the registry is
imported. Models register beside their builders (see zoo.py):

    @register_model(name="unet", modality="image", input_spec=UNET_SPEC, reference_params=7_763_041)
    def unet(pretrained: bool): ...

Importing any `suite.models` module runs the package's `__init__`, which imports zoo.py, so the
seed models are registered before anyone can look them up. Names resolve as:
    resnet18                 a registry entry (see zoo.py)
    torchvision:<name>       any torchvision classification model
    hf:<model_type>[:k=v,..] any transformers architecture from its config, with overrides
    path/to/file.py[:fn]     a user's Python file exposing a factory
    path/to/model.onnx       an ONNX file (ONNX Runtime backends only)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, overload

from suite.errors import BenchError, UnknownModelError
from suite.models import generic as sources
from suite.models.entry import Builder, ModelEntry
from suite.models.inputs import InputSpec

if TYPE_CHECKING:
    from typing_extensions import Required, Unpack

_REGISTRY: dict[str, ModelEntry] = {}


class EntryFields(TypedDict, total=False):
    """ModelEntry's fields but the builder: `register_model`'s keywords as a decorator."""

    name: str
    source: str
    modality: Required[str]
    input_spec: Required[InputSpec]
    description: str
    reference_params: int | None
    tags: tuple[str, ...]
    path: str | None
    pretrained_available: bool
    extra: dict[str, Any]


@overload
def register_model(entry: ModelEntry, /) -> ModelEntry: ...
@overload
def register_model(**fields: Unpack[EntryFields]) -> Callable[[Builder], Builder]: ...


def register_model(entry: ModelEntry | None = None, /, **fields: object) -> ModelEntry | Callable[[Builder], Builder]:
    """Add a model. Either pass a ModelEntry, or decorate its builder (`pretrained -> nn.Module`)
    with the entry's other fields as keywords; `name` defaults to the function's name and
    `source` to "registry". The decorator returns the builder unchanged."""
    if entry is not None:
        if fields or not isinstance(entry, ModelEntry):
            raise TypeError("register_model takes a ModelEntry, or the entry's fields as keywords (as a decorator)")
        return _add(entry)

    def decorate(builder: Builder) -> Builder:
        given: dict[str, Any] = {"name": builder.__name__, "source": "registry", **fields, "builder": builder}
        _add(ModelEntry(**given))
        return builder

    return decorate


def _add(entry: ModelEntry) -> ModelEntry:
    if entry.name in _REGISTRY:
        raise ValueError(f"model '{entry.name}' registered twice")
    _REGISTRY[entry.name] = entry
    return entry


def registry() -> dict[str, ModelEntry]:
    return _REGISTRY


def list_models(pattern: str = "*", modality: str | None = None, source: str | None = None) -> list[ModelEntry]:
    out = []
    for name, entry in sorted(_REGISTRY.items()):
        if not fnmatch.fnmatch(name, pattern):
            continue
        if modality and entry.modality != modality:
            continue
        if source and entry.source != source:
            continue
        out.append(entry)
    return out


def resolve_model(name: str, overrides: Mapping[str, object] | None = None, *, timeout_s: float | None = None) -> ModelEntry:
    """Turn what the user typed into a ModelEntry (building nothing yet). A user's Python file is
    looked over in a worker process, for at most `timeout_s` (see suite.models.user_file)."""
    if name in _REGISTRY:
        if overrides:
            raise BenchError(f"Config overrides apply to hf: models only, not to registry entry '{name}'")
        return _REGISTRY[name]
    lowered = name.lower()
    if lowered.startswith("torchvision:"):
        return sources.torchvision_entry(name.split(":", 1)[1])
    if lowered.startswith(("hf:", "transformers:")):
        return sources.transformers_entry(name.split(":", 1)[1], overrides or {})
    if lowered.endswith(".onnx"):
        return sources.onnx_entry(name)
    if is_python_file(name):
        return sources.file_entry(name, timeout_s)
    raise UnknownModelError(name, list(_REGISTRY))


def is_python_file(name: str) -> bool:
    """Whether `resolve_model(name)` imports a Python file (path.py or path.py:factory): the one
    kind of model name that runs code from a file, so a saved configuration naming one is not
    resumed without the person naming it again (suite/run/resume.py)."""
    lowered = name.lower()
    if name in _REGISTRY or lowered.startswith(("torchvision:", "hf:", "transformers:")) or lowered.endswith(".onnx"):
        return False
    return ".py" in lowered and (lowered.endswith(".py") or ".py:" in lowered)
