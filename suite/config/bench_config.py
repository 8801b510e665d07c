"""Typed, frozen benchmark configuration: presets < config file < command-line flags.

No side effects here: loading a config never builds a model, touches the network or changes
the environment. Every validation error names the field and the allowed values.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from suite.backends import backends, option_models
from suite.data.dataset import DatasetConfig
from suite.data.preprocess import RESIZE_METHODS
from suite.energy.options import EnergyConfig
from suite.errors import ConfigError, closest
from suite.machine.monitor.watch import MonitorConfig
from suite.metrics.app_options import AppConfig
from suite.metrics.latency import TimingPolicy
from suite.profiling import ProfileConfig

__all__ = ["BenchConfig", "ModelChoice", "build_config", "validate_config"]

PRESETS = ("quick", "lab", "lab2")
SIZE_KEYS = ("*", "image", "text", "audio", "multimodal", "other")


class Frozen(BaseModel):
    # No inf/NaN anywhere (TOML and YAML can write them): an infinite timeout or time cap
    # would hang a run, and NaN passes every `> 0` check by comparing False. Each package's own
    # section (TimingPolicy, EnergyConfig, MonitorConfig, ProfileConfig, DatasetConfig) says the same.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ModelChoice(Frozen):
    """One model to run: a registry name, torchvision:<name>, hf:<type>, a .py file or an .onnx file."""

    name: str = Field(min_length=1)
    pretrained: bool = False
    overrides: dict[str, Any] = Field(default_factory=dict, description="config overrides for hf: models")
    input_sizes: list[float] | None = None
    batch_sizes: list[int] | None = Field(default=None, description="this model's batch sizes, instead of the run's")
    weights: str | None = Field(default=None, description="a state dict to load: .pth/.pt (torch.load, weights_only) "
                                "or .safetensors")

    @field_validator("batch_sizes")
    @classmethod
    def _positive_batches(cls, v: list[int] | None) -> list[int] | None:
        return None if v is None else _batch_list(v)


def _batch_list(v: list[int]) -> list[int]:
    bad = [b for b in v if b < 1]
    if bad:
        raise ValueError(f"batch sizes must be >= 1, got {bad}")
    if not v:
        raise ValueError("batch sizes must not be empty")
    return sorted(dict.fromkeys(v))


class BenchConfig(Frozen):
    preset: str | None = None
    models: list[ModelChoice] = Field(min_length=1)
    backends: list[str] = Field(default_factory=lambda: ["eager", "ort"], min_length=1,
                                description="backend names from suite.backends (eager, eager-cl, ort, ort-int8, torch-compile, plugins)")
    batch_sizes: list[int] = Field(default_factory=lambda: [1], min_length=1)
    input_sizes: dict[str, list[float]] = Field(default_factory=dict, description="per modality ('*' for all): sizes on the model's size axis")
    threads: int | None = Field(default=None, ge=1, description="intra-op threads for torch and ORT (default: physical cores)")
    device: Literal["cpu", "cuda"] = "cpu"
    seed: int = 0
    parity_tolerance: float = Field(default=1e-3, gt=0, description="max relative error of ORT vs eager")
    case_timeout_s: float = Field(default=1800.0, gt=0)
    isolation: Literal["process", "inline"] = "process"
    repeats: int = Field(default=1, ge=1, le=100, description="fresh worker processes per case (or interleaved group); "
                         "the median's CI then combines within- and between-process variation")
    interleave: bool = Field(default=True, description="time the backends of one model x batch x size in alternating "
                             "rounds in one worker (false: each backend in its own worker, one after another)")
    cooldown_temp_c: float | None = Field(default=None, gt=0, lt=150, description="wait between cases until the CPU is below this (Celsius)")
    cooldown_max_s: float = Field(default=600.0, gt=0, description="longest cool-down wait before a case; the case is then flagged")
    worker_memory_limit_mb: int | None = Field(default=
        None, ge=16, description="memory a case may allocate above its worker's starting footprint (RLIMIT_DATA); "
        "beyond it the case fails as 'oom' instead of swapping the machine to a halt")
    dataset: DatasetConfig | None = None
    resize: list[str] = Field(default_factory=lambda: ["area"], min_length=1,
                              description="resize methods swept for image models on a dataset (suite/data/preprocess.py)")
    output_dir: str = "reports"
    report: bool = True
    peaks: bool = Field(default=True, description="measure the device's GEMM and memory-bandwidth ceilings once per run "
                        "(cached per machine) and place every case on its roofline")
    timing: TimingPolicy = Field(default_factory=TimingPolicy)
    energy: EnergyConfig = Field(default_factory=EnergyConfig)
    # Each backend's options, under its config section name ([ort], [torch_compile]): the
    # sections and their models come from the backend table (suite.backends).
    backend_options: dict[str, Any] = Field(default_factory=dict)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    profile: ProfileConfig = Field(default_factory=ProfileConfig)
    app: AppConfig = Field(default_factory=AppConfig)
    budget_s: float | None = Field(default=None, gt=0, description="wall-time budget: the timed loops shrink to fit "
                                   "(never below min_iters calls), else the run stops before the case that would "
                                   "pass it, listing the rest for --resume")

    @model_validator(mode="before")
    @classmethod
    def _collect_backend_options(cls, data: object) -> object:
        """[ort] and the other backends' sections are written at the top level of a config
        file; they are kept together under backend_options."""
        if not isinstance(data, dict):
            return data

        data = dict(data)
        raw = data.pop("backend_options", None)
        if raw is not None and not isinstance(raw, dict):
            return {**data, "backend_options": raw}  # for validation to name
        options = dict(raw or {})
        for key in option_models():
            if key in data:
                options[key] = data.pop(key)
        data["backend_options"] = options
        return data

    @field_validator("backend_options")
    @classmethod
    def _typed_backend_options(cls, v: dict[str, object]) -> dict[str, BaseModel]:
        models = option_models()
        unknown = [k for k in v if k not in models]
        if unknown:
            raise ValueError(f"unknown backend options section(s) {', '.join(unknown)}; known: {', '.join(models)}")
        out: dict[str, BaseModel] = {}
        problems: list[str] = []
        for key, model in models.items():
            raw = v.get(key) or {}
            try:
                out[key] = raw if isinstance(raw, model) else model.model_validate(raw)
            except ValidationError as exc:
                problems += error_lines(exc, model, prefix=key)
        if problems:
            raise ValueError("; ".join(problems))
        return out

    @field_validator("models", mode="before")
    @classmethod
    def _models_from_strings(cls, v: object) -> object:
        if isinstance(v, (list, tuple)):
            return [{"name": m} if isinstance(m, str) else m for m in v]
        return v

    @field_validator("batch_sizes")
    @classmethod
    def _positive_batches(cls, v: list[int]) -> list[int]:
        return _batch_list(v)

    @field_validator("dataset", mode="before")
    @classmethod
    def _dataset_from_string(cls, v: object) -> object:
        return {"spec": v} if isinstance(v, str) else v

    @field_validator("resize")
    @classmethod
    def _known_resize(cls, v: list[str]) -> list[str]:
        bad = [m for m in v if m not in RESIZE_METHODS]
        if bad:
            raise ValueError(f"unknown resize method(s) {', '.join(bad)}; choose from {', '.join(RESIZE_METHODS)}")
        return list(dict.fromkeys(v))

    @field_validator("backends")
    @classmethod
    def _known_backends(cls, v: list[str]) -> list[str]:
        known = backends()
        for name in v:
            if name not in known:
                hint = closest(name, list(known))
                raise ValueError(f"unknown backend '{name}'; choose from {', '.join(known)}"
                                 + (f" (did you mean {hint[0]}?)" if hint else ""))
        return list(dict.fromkeys(v))

    @field_validator("input_sizes")
    @classmethod
    def _size_keys(cls, v: dict[str, list[float]]) -> dict[str, list[float]]:
        for key, sizes in v.items():
            if key not in SIZE_KEYS:
                raise ValueError(f"input_sizes key '{key}' is not one of {', '.join(SIZE_KEYS)}")
            if not sizes or any(s <= 0 for s in sizes):
                raise ValueError(f"input_sizes.{key} must be a non-empty list of positive numbers")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> BenchConfig:
        if self.worker_memory_limit_mb is not None and self.isolation == "inline":
            raise ValueError("worker_memory_limit_mb needs isolation = 'process' (inline cases run in the "
                             "main process, which the limit would cap instead)")
        return self

    def options_for(self, section: str | None) -> BaseModel | None:
        """A backend's typed options (None for a backend without a config section)."""
        options: BaseModel | None = None if section is None else self.backend_options.get(section)
        return options

    def digest(self) -> str:
        """Identity of what is measured (not where results go, how the machine is watched, nor the
        profile window, which runs after every measured figure): for --resume checks."""
        # Fields added later leave the digest of a config that does not use them unchanged (a run
        # started before them still resumes); the budget changes what is measured only through the
        # timing policy it shrinks, which is part of the digest.
        added = {"budget_s"} | ({"app"} if self.app == AppConfig() else set())
        payload = self.model_dump(mode="json", exclude={"output_dir", "report", "monitor", "profile", "peaks", *added})
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- loading


def presets_dir() -> Path:
    return Path(__file__).parent / "presets"


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:  # Any: TOML/YAML as parsed, checked by BenchConfig
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read config file {p}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Config file {p} is not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#04x}); "
                          "save it as UTF-8") from None
    except ValueError as exc:  # a path with a NUL byte
        raise ConfigError(f"Cannot read config file {p!r}: {exc}") from None
    suffix = p.suffix.lower()
    try:
        if suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # Python 3.10 (tomli is installed there only)
                import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = _load_yaml(text)
        else:
            raise ConfigError(f"Config file {p} must end in .toml, .yaml or .yml")
    except ConfigError:
        raise
    except _DuplicateKey as exc:
        raise ConfigError(f"Config file {p} is not valid: {exc}; YAML would silently keep only the last value. "
                          "Remove one.") from None
    except Exception as exc:  # parser errors carry line numbers in their message
        # YAML's span several lines (a snippet and a caret): one paragraph, like every error.
        raise ConfigError(f"Config file {p} is not valid {suffix[1:].upper()}: {' '.join(str(exc).split())}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {p} must hold a table/mapping at the top level")
    return data


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int) -> None:
        self.key, self.line = key, line
        super().__init__(f"key {key!r} is given twice in one mapping (again on line {line})")


def _load_yaml(text: str) -> object:
    """yaml.safe_load, refusing a key given twice in one mapping: YAML's last-one-wins would
    silently drop the first value (TOML refuses duplicates by itself)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> object:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the constructor below names it
                continue
            if duplicate:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader subclass: safe


def preset_dict(name: str) -> dict[str, object]:
    if name not in PRESETS:
        hint = closest(name, PRESETS)
        raise ConfigError(f"Unknown preset '{name}'; choose one of {', '.join(PRESETS)}"
                          + (f" (did you mean {hint[0]}?)" if hint else ""))
    return read_config_file(presets_dir() / f"{name}.toml")


def deep_merge(base: Mapping[str, object], over: Mapping[str, object]) -> dict[str, object]:
    out = dict(base)
    for k, v in over.items():
        mine = out.get(k)
        if isinstance(v, dict) and isinstance(mine, dict) and k != "input_sizes":
            out[k] = deep_merge(mine, v)
        else:
            out[k] = v
    return out


def build_config(
    *, preset: str | None = None, config_file: str | None = None, overrides: Mapping[str, object] | None = None
) -> BenchConfig:
    """Merge preset < file < flags and validate. The default preset is `quick`."""
    data: dict[str, object] = {}
    file_data = read_config_file(config_file) if config_file else {}
    chosen = preset or file_data.get("preset") or (None if config_file else "quick")
    if chosen:
        data = preset_dict(chosen)
        data["preset"] = chosen
    data = deep_merge(data, file_data)
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    data = deep_merge(data, flags)
    try:
        return BenchConfig.model_validate(data)
    except ValidationError as exc:
        # Name the layer(s) that gave the bad fields: a flag's mistake is not the preset's.
        def layer(loc: tuple[int | str, ...]) -> str:
            if loc and _supplies(flags, loc):
                return "the command-line flags"
            if config_file and (not loc or not chosen or _supplies(file_data, loc)):
                return config_file
            return f"preset {chosen}" if chosen else "flags"

        layers = dict.fromkeys(layer(tuple(e["loc"])) for e in exc.errors()[:5])
        source = " and ".join(layers)
        raise ConfigError(format_validation_error(exc, source)) from None


def _supplies(layer: Mapping[str, object], loc: tuple[int | str, ...]) -> bool:
    """Whether `layer` (flags, a file) gave the value at the error location `loc`."""
    if loc[0] == "backend_options":  # [ort] and the like are written at the top level

        return any(key in layer for key in option_models())
    node: object = layer
    for part in loc:
        if not isinstance(node, dict):
            return True  # the layer gave a whole value (a list, a number) that holds the error
        if part not in node:
            return False
        node = node[part]
    return True


def validate_config(data: Mapping[str, object], source: str = "config") -> BenchConfig:
    try:
        return BenchConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = error_lines(exc)
    more = f" (+{exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return _one_line(f"Invalid configuration in {source}: " + "; ".join(lines) + more)


def error_lines(exc: ValidationError, root: type[BaseModel] | None = None, prefix: str | None = None) -> list[str]:
    """"'field': what is wrong" for the first five errors; fields are dotted paths from `root`
    (BenchConfig), shown under `prefix` (a backend's options section)."""
    lines = []
    for err in exc.errors()[:5]:
        loc = tuple(err["loc"])
        if loc == ("backend_options",) and err["type"] == "value_error":
            lines.append(str(err.get("ctx", {}).get("error", err["msg"])))  # already "'ort.x': ..." lines
            continue
        field = ".".join(str(p) for p in ((prefix,) if prefix else ()) + loc) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            model = _model_at(loc[:-1], root or BenchConfig)
            allowed = ", ".join(model.model_fields) if model else ""
            msg = f"unknown field{f'; allowed: {allowed}' if allowed else ''}"
        elif err["type"] == "literal_error":
            msg = f"{msg} (got {err.get('input')!r})"
        elif err["type"] == "value_error":
            msg = str(err.get("ctx", {}).get("error", msg))
        lines.append(f"'{field}': {msg}")
    return lines


def _one_line(text: str) -> str:
    """Escape control characters (a key or value holding a newline): the error stays one paragraph."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _model_at(path: tuple[int | str, ...], root: type[BaseModel]) -> type[BaseModel] | None:
    model: type[BaseModel] = root
    for part in path:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        ann = field.annotation
        sub = getattr(ann, "__args__", None)
        candidates = [ann] + list(sub or [])
        for c in candidates:
            if isinstance(c, type) and issubclass(c, BaseModel):
                model = c
                break
        else:
            return None
    return model


def sizes_for(config: BenchConfig, modality: str, model_sizes: list[float] | None) -> list[float] | None:
    """Input sizes for one model: its own list, else its modality's, else '*', else default."""
    if model_sizes:
        return model_sizes
    return config.input_sizes.get(modality) or config.input_sizes.get("*")
