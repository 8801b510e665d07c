"""Real weights without a network: a user's state dict (`--weights FILE`), and published weights
found in the local torch hub / Hugging Face caches (`--pretrained`), or a clear error that says
which file to put where."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from suite.errors import BenchError

if TYPE_CHECKING:
    from torch import Tensor, nn

    from suite.models.entry import ModelEntry

ModuleT = TypeVar("ModuleT", bound="nn.Module")

WEIGHT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors")


def check_weights_file(path_text: str, model: str) -> Path:
    path = Path(path_text)
    if path.is_dir():
        raise BenchError(f"--weights {path} for '{model}' is a folder; give the state dict file in it "
                         f"(ending in {', '.join(WEIGHT_SUFFIXES)})")
    if path.suffix.lower() not in WEIGHT_SUFFIXES:
        raise BenchError(f"--weights {path} for '{model}': expected a state dict file ending in "
                         f"{', '.join(WEIGHT_SUFFIXES)}")
    if not path.is_file():
        raise BenchError(f"--weights {path} for '{model}': no such file")
    return path


def read_state_dict(path: Path) -> dict[str, Tensor]:
    """The tensors of a .safetensors file, or of a torch.save'd state dict read with
    weights_only=True (a pickle that would run code is refused). A checkpoint that wraps the
    state dict ({"state_dict": ...} / {"model": ...}) is unwrapped."""
    import torch

    state: object  # whatever the file holds: checked below
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BenchError(f"Cannot read the weights in {path}: {type(exc).__name__}: {' '.join(str(exc).split())[:400]}"
                         ) from None
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(hasattr(v, "shape") for v in state.values()):
        raise BenchError(f"{path} does not hold a state dict (a mapping of parameter names to tensors)")
    return state


def load_weights(model: ModuleT, path: Path) -> ModuleT:
    """Load `path` into `model`, strictly: every parameter must be there with its shape."""
    state = read_state_dict(path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} {list(state[k].shape)} vs {list(own[k].shape)}" for k in own
             if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} (e.g. {', '.join(unexpected[:3])})")
        if wrong:
            parts.append(f"shape mismatch {len(wrong)} (e.g. {'; '.join(wrong[:2])})")
        raise BenchError(f"The weights in {path} do not fit the model: {'; '.join(parts)}. Check that the file "
                         "was saved from this architecture (model.state_dict()).")
    bad = non_finite_tensors(state)
    if bad:
        raise BenchError(f"The weights in {path} hold NaN or infinite values in {len(bad)} tensor(s) (e.g. "
                         f"{', '.join(bad[:3])}): every output would be NaN. Check the training run that saved them.")
    model.load_state_dict(state, strict=True)
    return model


def non_finite_tensors(state: Mapping[str, object]) -> list[str]:
    """Names of the floating-point tensors in `state` that hold a NaN or an infinity."""
    import torch

    return [k for k, v in state.items()
            if torch.is_tensor(v) and v.is_floating_point() and not bool(torch.isfinite(v).all())]


def hub_checkpoint(url: str) -> Path:
    """Where torch.hub keeps the file of `url` (TORCH_HOME, default ~/.cache/torch)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url.split("?")[0]).name


def require_cached(url: str, what: str) -> Path:
    """The local copy of a published weights file, or a BenchError naming the file and the place."""
    path = hub_checkpoint(url)
    if not path.is_file():
        raise BenchError(f"{what}: --pretrained needs the published weights, and they are not in the local cache. "
                         f"Download {url} on a machine with network access and put it at {path} (or set "
                         "TORCH_HOME to a folder whose hub/checkpoints/ holds it); nothing is downloaded at run time.")
    return path


def check_pretrained_cached(entry: ModelEntry) -> None:
    """Before anything runs: the published weights `--pretrained` needs are in the local cache,
    or a BenchError (exit 2) says which file to put where."""
    import importlib

    extra = getattr(entry, "extra", {}) or {}
    if extra.get("torchvision") or entry.source == "torchvision":
        import torchvision

        name = extra.get("torchvision") or entry.name.split(":", 1)[1]
        try:
            url = torchvision.models.get_model_weights(name).DEFAULT.url
        except Exception:
            raise BenchError(f"{entry.name} has no published torchvision weights; run it without --pretrained") from None
        require_cached(url, entry.name)
    elif isinstance(extra.get("weights_url"), str):
        module, _, attr = extra["weights_url"].partition(":")
        require_cached(getattr(importlib.import_module(module), attr), entry.name)
    elif extra.get("hf_checkpoint"):
        from huggingface_hub import try_to_load_from_cache
        from huggingface_hub.constants import HF_HUB_CACHE

        repo = extra["hf_checkpoint"]
        if not isinstance(try_to_load_from_cache(repo, "config.json"), str):
            raise BenchError(
                f"{entry.name}: --pretrained needs {repo} in the local Hugging Face cache ({HF_HUB_CACHE}), and it "
                f"is not there. On a machine with network access run `hf download {repo}` and copy the folder "
                f"models--{repo.replace('/', '--')} into {HF_HUB_CACHE} (or set HF_HOME); nothing is downloaded "
                "at run time.")
