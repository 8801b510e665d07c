"""Generic model sources: torchvision by name, transformers from a config, a user's Python
file (suite/models/user_file.py), an ONNX file. Each returns a ModelEntry; nothing heavy is
imported until build time."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from torch import Tensor, nn

from suite.errors import BenchError, UnknownModelError
from suite.models.entry import ModelEntry
from suite.models.inputs import audio_spec, image_spec, text_spec
from suite.models.onnx_spec import input_spec_from_onnx
from suite.models.user_file import file_entry  # noqa: F401  a user's .py file: looked over in a worker
from suite.models.weights import read_state_dict, require_cached

OFFLINE_HINT = ("Published weights could not be loaded from the local cache ({err}). Nothing is downloaded at "
                "run time: put the weights in the cache on a machine with network access, or run without "
                "--pretrained for random weights.")


def load_state_dict_url(url: str, what: str) -> dict[str, Tensor]:
    """Published weights from the local torch hub cache only (never the network)."""
    return read_state_dict(require_cached(url, what))


# --------------------------------------------------------------------------- torchvision


def build_torchvision(name: str, pretrained: bool) -> nn.Module:
    import torchvision

    kwargs: dict[str, bool] = {}
    if name == "googlenet":
        # Published GoogLeNet (6.6M) has no aux heads; weights=None would add them (13.0M).
        kwargs = {"aux_logits": False, "init_weights": False}
    elif name == "inception_v3":
        kwargs = {"init_weights": False}  # aux head kept (in the published count), skipped in eval
    if pretrained:
        weights = torchvision.models.get_model_weights(name).DEFAULT
        require_cached(weights.url, f"torchvision:{name}")  # torch.hub then reads the cached file (hash checked)
        try:
            return torchvision.models.get_model(name, weights=weights)
        except Exception as exc:
            raise BenchError(f"torchvision:{name}: " + OFFLINE_HINT.format(err=f"{type(exc).__name__}: {exc}")) from None
    return torchvision.models.get_model(name, weights=None, **kwargs)


def torchvision_entry(name: str) -> ModelEntry:
    import torchvision

    classifiers = torchvision.models.list_models(module=torchvision.models)
    if name not in classifiers:
        raise UnknownModelError(f"torchvision:{name}", [f"torchvision:{n}" for n in classifiers])
    crop = 224
    ref = None
    try:
        weights = torchvision.models.get_model_weights(name).DEFAULT
        crop = int(weights.transforms().crop_size[0])
        ref = int(weights.meta["num_params"])
    except Exception:
        pass
    return ModelEntry(
        name=f"torchvision:{name}", source="torchvision", modality="image", input_spec=image_spec(crop),
        builder=lambda pretrained: build_torchvision(name, pretrained),
        description=f"torchvision {name}", reference_params=ref,
    )


# --------------------------------------------------------------------------- transformers


def _transformers() -> ModuleType:
    """transformers, imported quietly. Where torchao is installed (the executorch extra brings it),
    transformers imports it, and torch logs a deprecation line about torchao's pytree registrations
    on stderr, twice per process, through the progress bar: not ours to fix, nothing a user can act
    on. That one logger is silenced (after torch's import, which sets its loggers up)."""
    import logging

    import torch  # noqa: F401  # torch's logging set up first, so the level below stays
    logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
    import transformers

    return transformers


def build_transformers(model_cls: str, config_cls: str, checkpoint: str | None,
                       config_kwargs: Mapping[str, object]) -> nn.Module:
    transformers = _transformers()

    if checkpoint:
        cls = getattr(transformers, model_cls)
        try:
            return cls.from_pretrained(checkpoint, local_files_only=True)
        except Exception as exc:
            from huggingface_hub.constants import HF_HUB_CACHE

            raise BenchError(
                f"{checkpoint}: --pretrained needs its files in the local Hugging Face cache ({HF_HUB_CACHE}), and "
                f"they are not there ({type(exc).__name__}). On a machine with network access run "
                f"`hf download {checkpoint}` (or `huggingface-cli download {checkpoint}`) and copy the cache folder "
                f"models--{checkpoint.replace('/', '--')} into {HF_HUB_CACHE}, or set HF_HOME to a folder that "
                "holds it; nothing is downloaded at run time.") from None
    config = getattr(transformers, config_cls)(**config_kwargs)
    return getattr(transformers, model_cls)(config)


_AUDIO_INPUT = "input_values"
_IMAGE_INPUT = "pixel_values"


def transformers_entry(spec: str, overrides: Mapping[str, object]) -> ModelEntry:
    """`hf:bert` or `hf:bert:num_hidden_layers=4,hidden_size=256` (overrides also from config)."""
    model_type, _, inline = spec.partition(":")
    kwargs = dict(overrides)
    for item in filter(None, inline.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise BenchError(f"hf:{spec}: override '{item}' must look like key=value")
        kwargs[key.strip()] = _parse_value(value.strip())
    transformers = _transformers()
    AutoConfig = transformers.AutoConfig

    known = sorted(transformers.CONFIG_MAPPING.keys())
    if model_type not in known:
        raise UnknownModelError(f"hf:{model_type}", [f"hf:{k}" for k in known])
    try:
        config = AutoConfig.for_model(model_type, **kwargs)
    except Exception as exc:
        raise BenchError(f"hf:{model_type}: invalid config override ({exc})") from None
    # PretrainedConfig accepts any keyword as an attribute: check names against a default
    # config so a typo is an error rather than a silently ignored setting.
    defaults = transformers.CONFIG_MAPPING[model_type]()
    bad = [k for k in kwargs if not hasattr(defaults, k)]
    if bad:
        raise BenchError(f"hf:{model_type}: unknown config field(s) {', '.join(bad)}")
    try:
        # transformers annotates its lazy mapping's values as tuples; they are model classes
        model_class = cast("type[nn.Module]", transformers.MODEL_MAPPING[type(config)])
    except KeyError:
        raise BenchError(f"hf:{model_type} has no base model class in transformers.AutoModel") from None
    main_input = getattr(model_class, "main_input_name", "input_ids")
    if main_input == _AUDIO_INPUT:
        input_spec = audio_spec(1.0)
    elif main_input == _IMAGE_INPUT:
        size = getattr(config, "image_size", 224)
        size = size[0] if isinstance(size, (list, tuple)) else int(size)
        channels = getattr(config, "num_channels", 3)
        input_spec = image_spec(size, channels, name=_IMAGE_INPUT)
    elif main_input == "input_ids" and hasattr(config, "vocab_size"):
        max_len = int(getattr(config, "max_position_embeddings", 512) or 512)
        input_spec = text_spec(int(config.vocab_size), min(128, max_len), max_len)
    else:
        raise BenchError(f"hf:{model_type}: its main input '{main_input}' has no synthetic input generator yet; "
                         "wrap it in a Python file with an INPUT_SPEC")
    label = f"hf:{spec}"

    def build(pretrained: bool) -> nn.Module:
        if pretrained:
            raise BenchError(f"{label}: --pretrained needs a checkpoint name; use a registry entry or a Python file")
        return model_class(config)

    return ModelEntry(name=label, source="transformers", modality=input_spec.modality, input_spec=input_spec,
                      builder=build, description=f"transformers {model_class.__name__} from config",
                      pretrained_available=False, extra={"config": kwargs})


def _parse_value(text: str) -> object:
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


# --------------------------------------------------------------------------- onnx file


def onnx_entry(path_text: str) -> ModelEntry:
    path = Path(path_text)
    if not path.is_file():
        raise BenchError(f"ONNX file {path} does not exist")

    spec = input_spec_from_onnx(path)
    return ModelEntry(name=os.fspath(path), source="onnx", modality=spec.modality, input_spec=spec,
                      builder=None, description=f"ONNX file {path.name}", path=os.fspath(path.resolve()),
                      pretrained_available=False)
