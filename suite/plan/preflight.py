"""Before anything runs: name the missing optional dependency (and the extra that brings it)
instead of failing every case, plan the cases with the same translation of import errors, and
check what the user gave beside the configuration (weights files, the dataset)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from suite.backends import backend_info
from suite.backends import backends as backend_table
from suite.config.bench_config import BenchConfig
from suite.data.check import DataUse, check_samples
from suite.data.dataset import DatasetConfig, DatasetSpec, parse_dataset_spec
from suite.data.loaders import load_dataset
from suite.data.preprocess import image_channels
from suite.errors import BenchError, ConfigError, MissingDependencyError
from suite.models.user_file import FileModel, describe_end, import_file
from suite.models.weights import check_weights_file, load_weights
from suite.plan.sweep import PlannedCase, plan_cases
from suite.version import distribution_version
from suite.worker import IsolatedOutcome, run_isolated

Send = Callable[[object], None]  # a worker check's message to the parent (suite.worker.run_isolated)


def importable(module: str) -> bool:
    return importlib.util.find_spec(module.split(".")[0]) is not None


# Import name -> (package to install, extra of bench-suite that brings it).
OPTIONAL_MODULES: dict[str, tuple[str, str]] = {
    "torch": ("torch", "torch"), "torchvision": ("torchvision", "torch"),
    "transformers": ("transformers", "torch"), "onnxscript": ("onnxscript", "torch"),
    "onnx": ("onnx", "ort"), "onnxruntime": ("onnxruntime", "ort"),
    "codecarbon": ("codecarbon", "energy"), "pynvml": ("nvidia-ml-py", "energy"),
    "docker": ("docker", "fleet"), "jtop": ("jetson-stats", "jetson"),
    "executorch": ("executorch", "executorch"), "openvino": ("openvino", "openvino"),
}


# Import names whose distribution has another name on some platforms (the Jetson image's GPU build).
_DISTRIBUTIONS = {"onnxruntime": ("onnxruntime", "onnxruntime-gpu")}


def installed_version(module: str) -> str | None:
    """The installed version of the distribution behind an import name (None: not installed)."""
    package = OPTIONAL_MODULES.get(module, (module, None))[0]
    return next((v for dist in _DISTRIBUTIONS.get(module, (package,)) if (v := distribution_version(dist))), None)


def backend_runtimes() -> list[tuple[str, str, str]]:
    """(backend, its runtimes' versions, "ready" or what to install) for every backend of the table:
    what `bench env` shows. Reads package metadata only: nothing heavy is imported."""
    rows = []
    for info in backend_table().values():
        versions, missing = [], []
        for module in info.requires:
            version = installed_version(module) if importable(module) else None
            if version is None:
                missing.append(module)
            else:
                versions.append(f"{OPTIONAL_MODULES.get(module, (module, None))[0]} {version}")
        extras = sorted({OPTIONAL_MODULES[m][1] for m in missing if m in OPTIONAL_MODULES})
        how = f": pip install 'bench-suite[{','.join(extras)}]'" if extras else ""
        rows.append((info.name, ", ".join(versions) or "-",
                     "ready" if not missing else f"not installed ({', '.join(missing)}){how}"))
    return rows


def check_dependencies(config: BenchConfig) -> None:
    """Name the missing extra before anything runs, instead of failing every case."""
    # .onnx files run on ONNX Runtime alone (the slim container image has no torch).
    needed = {}
    if any(not m.name.lower().endswith(".onnx") for m in config.models):
        needed["torch"] = "measuring PyTorch models"

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


def check_inputs(config: BenchConfig, cases: list[PlannedCase], note: Callable[[str], None] | None = None) -> None:
    """What the user gave beside the configuration, before anything runs: each --weights file
    loads into its model, and the dataset fits the contract as each model takes it. Either one
    failing is the user's to fix: exit 2, nothing run (README: accuracy, the rule)."""
    check_weights(cases, config.case_timeout_s)
    check_dataset(config, cases, note)


def check_weights(cases: list[PlannedCase], timeout_s: float) -> None:
    """Each --weights file read (weights_only) and loaded strictly into its model, in a worker
    (a user's model file is never imported here): wrong keys or shapes, a refused pickle, a
    truncated file or NaN weights stop the run instead of failing every case."""
    seen: set[tuple[str, str]] = set()
    for planned in cases:
        c = planned.choice
        if not c.weights or (c.name, c.weights) in seen:
            continue
        seen.add((c.name, c.weights))
        what = f"--weights {c.weights} for '{c.name}'"
        _unless_ok(run_isolated(_weights_fit, (planned, c.weights), timeout_s, name="bench-weights"), what, timeout_s)


def _weights_fit(send: Send, planned: PlannedCase, weights: str) -> None:
    c = planned.choice
    try:
        model = planned.entry().build(c.pretrained)
    except Exception:  # a model that does not build fails its cases, which say why
        send(("ok", "model not built"))
        return
    try:
        load_weights(model, check_weights_file(weights, c.name))
    except BenchError as exc:
        send(("error", str(exc)))
        return
    send(("ok", "loaded"))


def check_dataset(config: BenchConfig, cases: list[PlannedCase], note: Callable[[str], None] | None = None) -> None:
    """The dataset, read and every sample the run evaluates decoded once as each model takes
    it, before anything runs: a problem with the data is a usage error (exit 2) naming the
    sample, not a failure in every case. `--dataset user` is read in a worker, from each
    model file's load_dataset(). What the check remarks on goes to `note`."""
    if config.dataset is None:
        return
    d = config.dataset
    spec = parse_dataset_spec(d.spec)
    uses = _data_uses(cases)
    if spec.kind == "user":
        _check_user_datasets(config, d, uses)
        return
    ds = load_dataset(spec, limit=d.limit, seed=config.seed, split=d.split, columns=d.columns)
    check_samples(ds, [u for u, _ in uses.values()], note)


def _data_uses(cases: list[PlannedCase]) -> dict[str, tuple[DataUse, FileModel | None]]:
    """Per evaluating model: how it takes the samples (suite.data.check.DataUse), and its
    file's look-over (None for a model that is not a file)."""
    out: dict[str, tuple[DataUse, FileModel | None]] = {}
    for planned in cases:
        name = planned.choice.name
        if not planned.evaluates or name in out:
            continue
        spec = planned.entry().input_spec
        found = planned.file_model
        own = found is not None and "preprocess" in getattr(found, "hooks", ())
        channels = image_channels(spec) if spec.size_axis == "resolution" else None
        out[name] = (DataUse(name, channels, own), found)
    return out


def _check_user_datasets(config: BenchConfig, d: DatasetConfig, uses: dict[str, tuple[DataUse, FileModel | None]]
                         ) -> None:
    files = {name: (use, found) for name, (use, found) in uses.items() if found is not None}
    not_files = [name for name in uses if name not in files]
    if not_files:
        raise ConfigError(f"--dataset user reads the model file's load_dataset(), and {', '.join(not_files)} "
                          f"{'is' if len(not_files) == 1 else 'are'} not a model file (-m file.py): give model files "
                          "only, or another --dataset")
    for name, (use, found) in files.items():
        if "load_dataset" not in getattr(found, "hooks", ("load_dataset",)):
            raise ConfigError(f"--dataset user reads load_dataset() from {found.path}, which does not define it")
        outcome = run_isolated(_user_dataset, (found.path, d.limit, config.seed, use), config.case_timeout_s,
                               name="bench-dataset")
        _unless_ok(outcome, f"--dataset user: load_dataset() in {found.path}", config.case_timeout_s)


def _user_dataset(send: Send, path: str, limit: int | None, seed: int, use: DataUse) -> None:
    from pathlib import Path

    try:
        ds = load_dataset(DatasetSpec("user"), limit=limit, seed=seed, user_module=import_file(Path(path)))
        check_samples(ds, [use])
    except BenchError as exc:
        send(("error", str(exc)))
        return
    except Exception as exc:  # the user's samples broke the check itself
        send(("error", f"--dataset user: the samples load_dataset() in {path} returned cannot be checked: "
                       f"{type(exc).__name__}: {exc}"))
        return
    send(("ok", len(ds)))


def _unless_ok(outcome: IsolatedOutcome, what: str, timeout_s: float) -> None:
    """A worker check's verdict as a BenchError, unless it said ok."""
    for message in outcome.messages:
        if message[0] == "ok":
            return
        if message[0] == "error":
            raise BenchError(message[1])
    if outcome.timed_out:
        raise BenchError(f"{what}: the check before the run did not finish within {timeout_s:g} s (--case-timeout); "
                         "nothing was run")
    raise BenchError(f"{what}: the check before the run {describe_end(outcome.exitcode)}; nothing was run")
