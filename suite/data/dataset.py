"""A dataset as the suite uses it: samples, targets, and what identifies them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from suite.errors import ConfigError, closest


class DatasetConfig(BaseModel):
    """Real evaluation data (`--dataset`, `[dataset]`): accuracy beside efficiency."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # no inf/NaN: a NaN passes every `> 0` check

    spec: str = Field(min_length=1, description="digits | imagefolder:DIR | npz:FILE | hf-disk:DIR | user")
    limit: int | None = Field(default=None, ge=1, description="a seeded, stratified subset of at most this many samples")
    split: str | None = Field(default=None, description="the split to evaluate (digits: test; hf-disk: test/validation)")
    columns: dict[str, str] = Field(default_factory=dict, description="hf-disk column names: image, label")

    @field_validator("spec")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        try:
            parse_dataset_spec(v)
        except ConfigError as exc:  # pydantic reports a ValueError under the field's name
            raise ValueError(str(exc)) from None
        return v

KINDS = ("digits", "imagefolder", "npz", "hf-disk", "user")
TASKS = ("classification", "segmentation", "custom")


def shown(path: object) -> str:
    """A path (or a name from one) as text that can be printed: a file name that is not UTF-8
    (bytes on Linux) shows its bytes as \\xNN instead of failing the print."""
    import os

    text = str(path)
    try:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeError:  # a surrogate that no file name decoded to
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class DatasetSpec:
    kind: str
    path: str | None = None

    def __str__(self) -> str:
        return self.kind if self.path is None else f"{self.kind}:{self.path}"


def parse_dataset_spec(text: str) -> DatasetSpec:
    """`digits`, `user`, `imagefolder:DIR`, `npz:FILE`, `hf-disk:DIR`."""
    kind, sep, path = text.strip().partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        hint = closest(kind, KINDS)
        raise ConfigError(f"Unknown dataset '{text}': use digits, user, imagefolder:DIR, npz:FILE or hf-disk:DIR"
                          + (f" (did you mean {hint[0]}?)" if hint else ""))
    if kind in ("digits", "user"):
        if sep and path:
            raise ConfigError(f"Dataset '{kind}' takes no path (got '{text}')")
        return DatasetSpec(kind)
    if not path.strip():
        raise ConfigError(f"Dataset '{kind}' needs a path: {kind}:{'FILE' if kind == 'npz' else 'DIR'}")
    return DatasetSpec(kind, path.strip())


@dataclass
class Dataset:
    spec: DatasetSpec
    task: str  # classification | segmentation | custom
    # per sample: an image array / PIL image / path, a dict of token arrays, or what a user's load_dataset returned
    samples: Sequence[Any]
    targets: Any  # class indices (N,), masks (N, H, W), or whatever the user's evaluate takes
    classes: list[str] | None = None
    split: str | None = None
    source_hash: str = ""  # sha256 of what the samples are (file list with sizes, or the bytes)
    total: int | None = None  # samples before --limit
    decode: Callable[[str], object] | None = None  # path -> image (imagefolder)
    evaluate: Callable[[list[object], object], object] | None = None  # the user's metric (outputs, targets)
    notes: list[str] = field(default_factory=list)
    # Where the class list comes from when the dataset declares one ("class folders", "classes.txt",
    # ...); None when it is only inferred from the labels (0..max), which says nothing about a model.
    class_source: str | None = None

    def __len__(self) -> int:
        return len(self.samples)

    def sample(self, i: int) -> Any:  # Any: what the dataset holds, a user's load_dataset() returns anything
        s = self.samples[i]
        return self.decode(s) if self.decode is not None else s

    def subset(self, indices: Sequence[int], note: str) -> Dataset:
        import numpy as np

        idx = list(indices)
        targets = self.targets[idx] if hasattr(self.targets, "shape") else [self.targets[i] for i in idx]
        h = hashlib.sha256(self.source_hash.encode())
        h.update(np.asarray(idx, dtype=np.int64).tobytes())
        return replace(self, samples=[self.samples[i] for i in idx], targets=targets, source_hash=h.hexdigest(),
                       total=self.total if self.total is not None else len(self), notes=[*self.notes, note])


def stratified_subset(ds: Dataset, limit: int, seed: int) -> Dataset:
    """At most `limit` samples, each class in its share (classification), drawn with `seed`;
    kept in dataset order so that batches are reproducible."""
    import numpy as np

    n = len(ds)
    if limit >= n:
        return ds
    note = f"--limit {limit}: a seeded (seed {seed})"
    if ds.task == "classification" and ds.classes is not None:
        from sklearn.model_selection import train_test_split

        y = np.asarray(ds.targets)
        counts = np.bincount(y) if y.size else np.array([])
        present = int((counts > 0).sum())
        if limit >= present and counts[counts > 0].min() >= 2:
            keep, _ = train_test_split(np.arange(n), train_size=limit, stratify=y, random_state=seed)
            return ds.subset(sorted(int(i) for i in keep), f"{note} stratified subset of {n}")
    keep = np.random.default_rng(seed).choice(n, size=limit, replace=False)
    return ds.subset(sorted(int(i) for i in keep), f"{note} random subset of {n} (not stratified)")
