"""Backends by name. Registration lives here, in one place; modules import lazily."""

from __future__ import annotations

import importlib

from suite.backends.base import Prepared, PrepareRequest

# name -> "module:function" returning a Prepared
BACKENDS: dict[str, str] = {
    "eager": "suite.backends.eager:prepare",
    "ort": "suite.backends.onnxruntime:prepare",
    "ort-int8": "suite.backends.onnxruntime:prepare_int8",
}


def prepare_backend(name: str, req: PrepareRequest) -> Prepared:
    try:
        target = BACKENDS[name]
    except KeyError:
        from suite.errors import BenchError

        raise BenchError(f"Unknown backend '{name}'; available: {', '.join(BACKENDS)}") from None
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)(req)
