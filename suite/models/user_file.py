"""A user's Python model file: learn what it declares without importing it in this process.

Planning a run needs a file's input spec (and to know that it imports at all), but importing a
user's file runs its code: a `sys.exit(0)` at import ended `bench run` silently with status 0,
a segfault killed it, a hang hung it forever. So the file is imported in a short-lived worker
process (suite.worker.run_isolated: the same forkserver the cases use, so it starts in
milliseconds), under a time limit, and the parent receives its findings as data: the factory's
name and the input spec. Whatever goes wrong there (an exception, an exit at import, a crash,
a hang, a factory that returns no torch module) becomes one BenchError naming the file and what
happened, before any case runs.

The worker also calls the factory, on the meta device (no weights are allocated), to check that
it returns a torch.nn.Module; a factory that cannot build on the meta device is left to the
case, where ModelEntry.build checks the same thing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from suite.errors import BenchError
from suite.models.entry import ModelEntry, not_a_model
from suite.models.inputs import InputSpec, TensorSpec, image_channels, image_spec
from suite.worker import run_isolated

DEFAULT_TIMEOUT_S = 300.0
FactoryKwargs = tuple[tuple[str, object], ...]  # (name, JSON value) pairs for a file's factory


@dataclass(frozen=True)
class FileModel:
    """What a probe learnt about a user's model file: enough to plan its cases and, in the
    worker, to build the model without looking the file over again."""

    path: str
    factory: str
    input_spec: InputSpec
    kwargs: FactoryKwargs = ()  # factory keyword arguments from the model spec
    mean: tuple[float, ...] | None = None  # the file's MEAN / STD: its images' normalisation
    std: tuple[float, ...] | None = None
    hooks: tuple[str, ...] = ()  # which of HOOKS the file defines (load_dataset, evaluate, preprocess)


FACTORY_NAMES = ("create_model", "build_model", "get_model", "model")
HOOKS = ("load_dataset", "evaluate", "preprocess")  # optional functions for --dataset (README)


def file_entry(spec: str, timeout_s: float | None = None) -> ModelEntry:
    """`path/to/model.py[:factory[:key=value,...]]`. The file may define INPUT_SPEC (an InputSpec)
    or INPUT_SHAPE (per-item shape; (C, H, W) is treated as an image with a resolution axis), and
    MEAN / STD (per channel) for its images; keyword arguments after the factory name are passed to
    it (`net.py:create_model:width=0.5`), so one file gives a family of model sizes.

    The file is not imported here: a worker process looks it over (probe_file, below) within
    `timeout_s`, and the model is imported and built where it is measured."""
    path_text, _, rest = spec.partition(".py:")
    path = Path(path_text if not rest else path_text + ".py")
    factory_name, _, kw_text = rest.partition(":")
    kwargs = parse_kwargs(kw_text, spec)
    if not path.is_file():
        raise BenchError(f"Model file {path} does not exist")
    found = probe_file(path, factory_name or None, DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s, kwargs)
    return entry_for_file(spec, found)


def parse_kwargs(text: str, spec: str) -> FactoryKwargs:
    """`width=0.5,depth=2` -> (("width", 0.5), ("depth", 2)): JSON values, else strings."""
    import json

    out: list[tuple[str, object]] = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip().isidentifier():
            raise BenchError(f"{spec}: factory argument '{item}' must look like name=value (e.g. width=0.5)")
        try:
            parsed: object = json.loads(value)
        except ValueError:
            parsed = value.strip()
        out.append((key.strip(), parsed))
    return tuple(out)


def entry_for_file(spec: str, found: FileModel) -> ModelEntry:
    """The entry of a user file from what a probe found (a suite.models.user_file.FileModel):
    no import, no second look; the builder imports the file in the process that builds."""
    path = Path(found.path)
    input_spec = found.input_spec
    extra: dict[str, Any] = {"file_model": found, "module_path": str(path)}
    if found.mean is not None and found.std is not None:
        extra.update(mean=found.mean, std=found.std)
    return ModelEntry(name=spec, source="file", modality=input_spec.modality, input_spec=input_spec,
                      builder=FileBuilder(str(path), found.factory, found.kwargs),
                      description=f"user model from {path.name}", path=str(path), extra=extra)


def file_module(entry: ModelEntry) -> ModuleType | None:
    """The user's module in this process (imported once): for load_dataset(), evaluate(),
    preprocess(). None for models that are not user files."""
    path = (getattr(entry, "extra", {}) or {}).get("module_path")
    if path is None:
        return None
    module = _MODULES.get(path)
    if module is None:
        module = _MODULES[path] = import_file(Path(path))
    return module


@dataclass(frozen=True)
class FileBuilder:
    """Builds a user file's model: imports the file (in this process, once) and calls its factory.
    A picklable value, so an entry holding it can travel to a worker."""

    path: str
    factory: str
    kwargs: FactoryKwargs = ()

    def __call__(self, pretrained: bool) -> object:
        path = Path(self.path)
        module = _MODULES.get(self.path)
        if module is None:
            module = _MODULES[self.path] = import_file(path)
        factory = getattr(module, self.factory, None)
        if not callable(factory):
            raise BenchError(f"Model file {path} no longer defines a factory {self.factory}()")
        kwargs = dict(self.kwargs)
        try:
            built: object = factory(pretrained=True, **kwargs) if pretrained else factory(**kwargs)
            return built
        except TypeError as exc:
            raise BenchError(f"{path}: factory {self.factory}() failed: {exc}") from None


_MODULES: dict[str, ModuleType] = {}  # user files imported in this process, by path


def import_file(path: Path) -> ModuleType:
    mod_name = f"bench_user_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise BenchError(f"Cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise BenchError(f"Importing {path} failed: {type(exc).__name__}: {exc}") from None
    return module


def file_input_spec(module: ModuleType, path: Path) -> InputSpec:
    spec = getattr(module, "INPUT_SPEC", None)
    if isinstance(spec, InputSpec):
        return spec
    if spec is not None:
        raise BenchError(f"{path}: INPUT_SPEC must be a suite.models.inputs.InputSpec")
    shape = getattr(module, "INPUT_SHAPE", (3, 224, 224))
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise BenchError(f"{path}: INPUT_SHAPE must be a tuple of ints, e.g. (3, 224, 224)") from None
    if len(shape) == 3 and shape[1] == shape[2]:
        # The declared size bounds the sweep, not the registry's 32-pixel floor: a model
        # declaring 8x8 digits runs at 8 (and up), as it says it does.
        return image_spec(shape[1], shape[0], min_size=min(32, shape[1]))
    return InputSpec(modality="other", tensors=(TensorSpec("x", ("batch",) + shape),))


# --------------------------------------------------------------------------- in the parent


def probe_file(path: Path, factory_name: str | None, timeout_s: float = DEFAULT_TIMEOUT_S,
               kwargs: FactoryKwargs = ()) -> FileModel:
    outcome = run_isolated(_probe, (str(path), factory_name, kwargs), timeout_s, name="bench-model-file")
    stage = "its import"
    for kind, payload in outcome.messages:
        if kind == "stage":
            stage = payload
        elif kind == "ok":
            return payload
        elif kind == "error":
            raise BenchError(payload)
    what = f"Model file {path}"
    if outcome.timed_out:
        raise BenchError(f"{what}: {stage} did not finish within {timeout_s:g} s (the case timeout, --case-timeout), "
                         "so it was stopped and nothing was run. A model file should only define things when "
                         "imported, and build its model when its factory is called.")
    code = outcome.exitcode
    hint = f" {SCRIPT_HINT}" if stage == "its import" and code is not None and code >= 0 else ""
    raise BenchError(f"{what} {describe_end(code)} during {stage}; nothing was run.{hint}")


SCRIPT_HINT = ('A model file is imported, not run: code that runs it as a script belongs under '
               '`if __name__ == "__main__":`.')


def describe_end(code: int | None) -> str:
    import signal

    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"crashed its process ({name}{', a fault in native code' if name in ('SIGSEGV', 'SIGBUS') else ''})"
    return f"ended its process with exit status {code}"


# --------------------------------------------------------------------------- in the worker


def _probe(send: Callable[[tuple[str, str | FileModel]], None], path_text: str, factory_name: str | None,
           kwargs: FactoryKwargs = ()) -> None:
    path = Path(path_text)
    send(("stage", "its import"))
    try:
        module = import_file(path)
    except BenchError as exc:
        send(("error", str(exc)))
        return
    except SystemExit as exc:
        send(("error", f"Model file {path} called sys.exit({exc.code!r}) while being imported; nothing was run. "
                       f"{SCRIPT_HINT}"))
        return
    names = (factory_name,) if factory_name else FACTORY_NAMES
    found = next((n for n in names if callable(getattr(module, n, None))), None)
    if found is None:
        want = factory_name or " / ".join(FACTORY_NAMES)
        send(("error", f"Model file {path} defines no factory function {want} (or name one: {path}:my_factory)"))
        return
    try:
        spec = file_input_spec(module, path)
    except BenchError as exc:
        send(("error", str(exc)))
        return
    try:
        mean, std = _normalisation(module, path, spec)
    except BenchError as exc:
        send(("error", str(exc)))
        return
    if kwargs:
        import inspect

        try:
            inspect.signature(getattr(module, found)).bind(**dict(kwargs))
        except TypeError as exc:
            send(("error", f"Model file {path}: its factory {found}() cannot take "
                           f"{', '.join(f'{k}={v!r}' for k, v in kwargs)}: {exc}"))
            return
        except ValueError:  # no signature to read (a builtin): let the call decide
            pass
    send(("stage", f"a call of its factory {found}()"))
    problem = _check_factory(lambda: getattr(module, found)(**dict(kwargs)), path, found)
    if problem:
        send(("error", problem))
        return
    hooks = tuple(h for h in HOOKS if callable(getattr(module, h, None)))
    send(("ok", FileModel(path=str(path), factory=found, input_spec=spec, kwargs=tuple(kwargs), mean=mean, std=std,
                          hooks=hooks)))


def _normalisation(module: ModuleType, path: Path,
                   spec: InputSpec) -> tuple[tuple[float, ...], tuple[float, ...]] | tuple[None, None]:
    """MEAN and STD as the file declares them: finite numbers, STD > 0, one per channel of the
    model's image input (a wrong length failed every case's dataset pass)."""
    import math

    declared: tuple[Any, Any] = getattr(module, "MEAN", None), getattr(module, "STD", None)  # anything: checked here
    if declared[0] is None and declared[1] is None:
        return None, None
    try:
        mean, std = tuple(float(m) for m in declared[0]), tuple(float(s) for s in declared[1])
    except (TypeError, ValueError):
        raise BenchError(f"{path}: MEAN and STD must both be sequences of numbers, one per image channel") from None
    if not all(math.isfinite(v) for v in (*mean, *std)):
        raise BenchError(f"{path}: MEAN {list(mean)} and STD {list(std)} must be finite numbers (a NaN makes every "
                         "normalised pixel NaN)")
    if len(mean) != len(std) or any(s <= 0 for s in std):
        raise BenchError(f"{path}: MEAN {list(mean)} and STD {list(std)} must have one entry per channel, STD > 0")
    if spec.size_axis == "resolution":
        channels = image_channels(spec)
        if len(mean) != channels:
            raise BenchError(f"{path}: MEAN {list(mean)} and STD {list(std)} have {len(mean)} entries, but the model "
                             f"takes {channels}-channel images (INPUT_SHAPE): give one per channel")
    return mean, std


def _check_factory(factory: Callable[[], object], path: Path, name: str) -> str | None:
    """Why the factory's product is no model (None when it is one, or when it cannot be built
    on the meta device: the case then builds it for real and checks it there)."""
    try:
        import torch
    except ImportError:
        return None
    try:
        with torch.device("meta"):
            model = factory()
    except SystemExit as exc:
        return f"Model file {path}: its factory {name}() called sys.exit({exc.code!r}); nothing was run."
    except Exception:
        return None
    return not_a_model(model, f"Model file {path}: its factory {name}()")
