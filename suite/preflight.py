"""Before anything runs: name the missing optional dependency (and the extra that brings it)
instead of failing every case, and plan the cases with the same translation of import errors."""

from __future__ import annotations

import importlib.util

from suite.config import BenchConfig
from suite.errors import ConfigError, MissingDependencyError
from suite.plan import PlannedCase, plan_cases


def importable(module: str) -> bool:
    return importlib.util.find_spec(module.split(".")[0]) is not None


# Import name -> (package to install, extra of bench-suite that brings it).
OPTIONAL_MODULES: dict[str, tuple[str, str]] = {
    "torch": ("torch", "torch"), "torchvision": ("torchvision", "torch"),
    "transformers": ("transformers", "torch"), "onnxscript": ("onnxscript", "torch"),
    "onnx": ("onnx", "ort"), "onnxruntime": ("onnxruntime", "ort"),
    "codecarbon": ("codecarbon", "energy"), "pynvml": ("nvidia-ml-py", "energy"),
    "docker": ("docker", "fleet"), "jtop": ("jetson-stats", "jetson"),
}


def check_dependencies(config: BenchConfig) -> None:
    """Name the missing extra before anything runs, instead of failing every case."""
    # .onnx files run on ONNX Runtime alone (the slim container image has no torch).
    needed = {}
    if any(not m.name.lower().endswith(".onnx") for m in config.models):
        needed["torch"] = "measuring PyTorch models"
    from suite.backends import backend_info

    for name in config.backends:
        for module in backend_info(name).requires:
            if module == "torch" and "torch" not in needed:
                continue  # an .onnx-only run does not need torch for a backend it skips
            needed.setdefault(module, f"the {name} backend")
    for module, purpose in needed.items():
        if not importable(module):
            package, extra = OPTIONAL_MODULES.get(module, (module, None))
            raise MissingDependencyError(package, extra, purpose)


# Oversubscribing the cores a few times over can be a deliberate experiment; thousands of threads
# only exhaust memory (each reserves a stack), and the case then fails as an unexplained OOM.
THREADS_PER_CORE_MAX = 4


def check_threads(threads: int, logical_cores: int | None = None) -> None:
    """Refuse a thread count far above what this machine can run at once."""
    import os

    cores = logical_cores or os.cpu_count() or 1
    limit = cores * THREADS_PER_CORE_MAX
    if threads > limit:
        raise ConfigError(f"threads = {threads} is more than {THREADS_PER_CORE_MAX} x this machine's {cores} logical "
                          f"cores ({limit}): each thread reserves memory and the case would fail out of memory "
                          f"before measuring anything. Use --threads {limit} or fewer ({cores}, one per core, is the usual "
                          "choice; the default is the physical cores).")


def plan_or_explain(config: BenchConfig, threads: int) -> list[PlannedCase]:
    try:
        return plan_cases(config, threads)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top not in OPTIONAL_MODULES:
            raise
        package, extra = OPTIONAL_MODULES[top]
        raise MissingDependencyError(package, extra, "the models in this configuration") from None


def check_dataset(config: BenchConfig) -> None:
    """A dataset that cannot be read is a usage error before anything runs, not a failure in
    every case. (Listing it is cheap: images are decoded in the cases.)"""
    if config.dataset is None:
        return
    from suite.data import load_dataset, parse_dataset_spec
    from suite.errors import ConfigError

    d = config.dataset
    spec = parse_dataset_spec(d.spec)
    if spec.kind == "user":
        if not any(".py" in m.name for m in config.models):
            raise ConfigError("--dataset user reads the model file's load_dataset(): give a model file (-m file.py)")
        return
    load_dataset(spec, limit=d.limit, seed=config.seed, split=d.split, columns=d.columns)
