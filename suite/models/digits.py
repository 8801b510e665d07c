"""A small CNN for scikit-learn's 8x8 handwritten digits, with real weights and nothing to download.

The weights are trained on first use on the digits *training* split only (suite.data.loaders:
digits_split, seeded and stratified; the evaluation split is never seen), deterministically
(seeded, one thread, full-batch Adam), in about a second, and kept in the weights cache
(~/.cache/bench/weights, or $BENCH_WEIGHTS_DIR) under a name that covers everything the
training depends on. The network ends in adaptive pooling, so it runs at any resolution: a
lower one costs fewer FLOPs and, since it was trained at 8x8, loses accuracy - the trade-off
Lab 2 asks a group to measure.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from suite.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from torch import Tensor, nn

# The held-out split the study scores on; the models here train on the other part only.
DIGITS_TEST_FRACTION = 0.4
DIGITS_SPLIT_SEED = 0

def digits_split() -> tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]:
    """Indices of scikit-learn's digits into a training and a held-out evaluation split
    (stratified, seeded): the models trained here see only the first, accuracy uses only the second."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    y = load_digits().target
    train, test = train_test_split(np.arange(len(y)), test_size=DIGITS_TEST_FRACTION, stratify=y,
                                   random_state=DIGITS_SPLIT_SEED)
    return np.sort(train), np.sort(test)


def digits_arrays(split: str) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """(images N x 8 x 8 float32 in [0, 1], labels) of one split ("train", "test" or "all")."""
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)  # the pixel values are counts 0..16
    if split == "all":
        return images, d.target.astype(np.int64)
    train, test = digits_split()
    if split not in ("train", "test"):
        raise ConfigError(f"digits has the splits train, test and all; got '{split}'")
    idx = train if split == "train" else test
    return images[idx], d.target[idx].astype(np.int64)

class Training(TypedDict):
    epochs: int
    lr: float
    weight_decay: float
    seed: int
    version: int


TRAIN: Training = {"epochs": 150, "lr": 0.01, "weight_decay": 1e-4, "seed": 0, "version": 1}
WIDTHS = {"digits-cnn": 16, "digits-cnn-small": 4}
WEIGHTS_ENV = "BENCH_WEIGHTS_DIR"


def weights_dir() -> Path:
    return Path(os.environ.get(WEIGHTS_ENV) or Path.home() / ".cache" / "bench" / "weights")


def build_digits_cnn(width: int) -> nn.Sequential:
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        nn.Linear(2 * width * 4, 10),
    )


def train_stats() -> tuple[float, float]:
    """Mean and standard deviation of the training split's pixels: the model's normalisation."""
    x, _ = digits_arrays("train")
    return float(x.mean()), float(x.std())


def _key(width: int) -> str:
    import torch

    payload = {"width": width, **TRAIN, "split": [DIGITS_TEST_FRACTION, DIGITS_SPLIT_SEED],
               "torch": torch.__version__.split("+")[0]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def trained_state(width: int) -> dict[str, Tensor]:
    """The trained weights (from the cache, or trained now and cached)."""
    import torch

    path = weights_dir() / f"digits-cnn-w{width}-{_key(width)}.pt"
    if path.is_file():
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception:
            pass  # a torn or foreign file: train again and replace it
    state = train(width)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return state


def train(width: int) -> dict[str, Tensor]:
    import torch

    x, y = digits_arrays("train")
    mean, std = train_stats()
    xt = (torch.from_numpy(x).unsqueeze(1) - mean) / std
    yt = torch.from_numpy(y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same weights on every machine count
    try:
        with torch.random.fork_rng():
            torch.manual_seed(TRAIN["seed"])
            model = build_digits_cnn(width)
        opt = torch.optim.Adam(model.parameters(), lr=TRAIN["lr"], weight_decay=TRAIN["weight_decay"])
        model.train()
        for _ in range(TRAIN["epochs"]):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xt), yt)
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def build(name: str, pretrained: bool) -> nn.Module:
    """Trained weights by default: a digits model with random weights says nothing about accuracy.
    (`pretrained` is accepted and means the same.)"""
    model = build_digits_cnn(WIDTHS[name])
    model.load_state_dict(trained_state(WIDTHS[name]))
    return model.eval()


def normalisation() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) per channel that the digits models were trained with."""
    mean, std = train_stats()
    return (mean,), (std,)
