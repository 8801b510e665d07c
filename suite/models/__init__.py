"""Models: what can be benchmarked and how to build it.

    from suite.models import ModelEntry, list_models, register_model, resolve_model

entry.py holds `ModelEntry` (a leaf); registry.py the registry, `register_model` and
`resolve_model`; sources.py the generic sources (torchvision, transformers, files); zoo.py the
seed models, each registered beside its builder. Importing this package imports zoo.py, so the
seed models are in the registry whichever `suite.models` module is imported first.
"""

from suite.models import zoo  # noqa: F401  registers the seed models (after the registry exists)
from suite.models.entry import Builder, ModelEntry
from suite.models.registry import list_models, register_model, resolve_model

# `registry()` (the whole dict) stays in suite.models.registry: re-exported here, the function
# would shadow the submodule of the same name as an attribute of this package.
__all__ = ["Builder", "ModelEntry", "list_models", "register_model", "resolve_model"]
