"""bench: measure how efficiently ML models run inference on edge devices.

Public API (heavy dependencies are imported lazily inside the functions that need them):
    suite.run(config)            run a benchmark config, return the RunResult
    suite.load_results(path)     load (and migrate) a results file
    suite.register_model(...)    add a model to the registry
"""

from __future__ import annotations

from suite.version import __version__

__all__ = ["__version__", "run", "load_results", "register_model"]


def run(config, **kwargs):
    from suite.run.runner import run_benchmark

    return run_benchmark(config, **kwargs)


def load_results(path):
    from suite.results.io import load_results as _load

    return _load(path)


def register_model(*args, **kwargs):
    from suite.models import register_model as _register

    return _register(*args, **kwargs)
