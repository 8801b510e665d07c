"""bench: measure how efficiently ML models run inference on edge devices.

Public API (heavy dependencies are imported lazily inside the functions that need them):
    suite.run(config)            run a benchmark config, return the RunResult
    suite.load_results(path)     load (and migrate) a results file
    suite.register_model(...)    add a model to the registry
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from suite.version import __version__

if TYPE_CHECKING:
    from suite.config.bench_config import BenchConfig
    from suite.models.registry import (
        register_model as register_model,  # its overloads, as they are
    )
    from suite.results.schema import RunResult
    from suite.run.runner import RunOptions

__all__ = ["__version__", "run", "load_results", "register_model"]


def run(config: BenchConfig, options: RunOptions | None = None) -> RunResult:
    from suite.run.runner import run_benchmark

    return run_benchmark(config, options)


def load_results(path: str | os.PathLike[str]) -> RunResult:
    from suite.results.io import load_results as _load

    return _load(path)


if not TYPE_CHECKING:

    def register_model(*args, **kwargs):
        from suite.models import register_model as _register

        return _register(*args, **kwargs)
