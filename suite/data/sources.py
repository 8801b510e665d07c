"""Loading each kind of dataset. Nothing is downloaded: every source reads local files or what
an installed package ships."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from suite.data.dataset import Dataset, DatasetSpec, parse_dataset_spec, stratified_subset
from suite.errors import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
WNID = re.compile(r"^n\d{8}$")
IMAGENET_CLASSES = 1000
# Files that list the 1000 ImageNet WordNet ids in class-index order (ILSVRC devkit, Kaggle).
WNID_LISTS = ("LOC_synset_mapping.txt", "synset_words.txt", "imagenet_wnids.txt", "wnids.txt")

DIGITS_TEST_FRACTION = 0.4
DIGITS_SPLIT_SEED = 0


def load_dataset(spec: str | DatasetSpec, *, limit: int | None = None, seed: int = 0, split: str | None = None,
                 columns: dict[str, str] | None = None, user_module: Any = None) -> Dataset:
    s = parse_dataset_spec(spec) if isinstance(spec, str) else spec
    if s.kind == "digits":
        ds = digits(split or "test")
    elif s.kind == "imagefolder":
        ds = image_folder(Path(s.path or ""))
    elif s.kind == "npz":
        ds = npz(Path(s.path or ""))
    elif s.kind == "hf-disk":
        ds = hf_disk(Path(s.path or ""), split, columns or {})
    else:
        ds = from_user(user_module)
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"--limit must be at least 1, got {limit}")
        ds = stratified_subset(ds, limit, seed)
    if len(ds) == 0:
        raise ConfigError(f"Dataset {s} holds no samples")
    return ds


# --------------------------------------------------------------------------- digits


def digits_split() -> tuple[Any, Any]:
    """Indices of scikit-learn's digits into a training and a held-out evaluation split
    (stratified, seeded): the models trained here see only the first, accuracy uses only the second."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    y = load_digits().target
    train, test = train_test_split(np.arange(len(y)), test_size=DIGITS_TEST_FRACTION, stratify=y,
                                   random_state=DIGITS_SPLIT_SEED)
    return np.sort(train), np.sort(test)


def digits_arrays(split: str) -> tuple[Any, Any]:
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


def digits(split: str) -> Dataset:
    import numpy as np

    images, labels = digits_arrays(split)
    h = hashlib.sha256(np.ascontiguousarray(images).tobytes())
    h.update(labels.tobytes())
    return Dataset(DatasetSpec("digits"), "classification", list(images), labels, [str(i) for i in range(10)],
                   split, h.hexdigest(), notes=[f"scikit-learn load_digits, {split} split ({len(labels)} of 1797; "
                                                f"{DIGITS_TEST_FRACTION:.0%} held out, stratified, seed {DIGITS_SPLIT_SEED})"])


# --------------------------------------------------------------------------- image folders


def image_folder(root: Path) -> Dataset:
    if not root.is_dir():
        raise ConfigError(f"imagefolder:{root}: no such folder")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ConfigError(f"imagefolder:{root}: no class sub-folders (expected DIR/<class>/<image files>)")
    classes, index = _class_index(root, folders)
    samples, targets, listing = [], [], hashlib.sha256()
    for name in folders:
        files = sorted(f for f in (root / name).rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        for f in files:
            rel = f.relative_to(root).as_posix()
            samples.append(str(f))
            targets.append(index[name])
            listing.update(f"{rel}\0{f.stat().st_size}\n".encode())
    if not samples:
        raise ConfigError(f"imagefolder:{root}: no image files ({', '.join(IMAGE_SUFFIXES)}) in the class folders")
    import numpy as np

    return Dataset(DatasetSpec("imagefolder", str(root)), "classification", samples, np.asarray(targets), classes,
                   None, listing.hexdigest(), decode=_open_image)


def _open_image(path: str) -> Any:
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        return im.copy()


def _class_index(root: Path, folders: list[str]) -> tuple[list[str], dict[str, int]]:
    """Class names in index order and folder -> index: classes.txt when present, ImageNet's
    indices for WordNet-id folders, else sorted folder names (torchvision ImageFolder)."""
    listed = root / "classes.txt"
    if listed.is_file():
        classes = [ln.strip() for ln in listed.read_text(encoding="utf-8").splitlines() if ln.strip()]
        missing = [f for f in folders if f not in classes]
        if missing:
            raise ConfigError(f"{listed} does not list the folder(s) {', '.join(missing[:5])}")
        return classes, {c: i for i, c in enumerate(classes)}
    if all(WNID.match(f) for f in folders):
        wnids = _imagenet_wnids(root, folders)
        return wnids, {w: i for i, w in enumerate(wnids)}
    return folders, {f: i for i, f in enumerate(folders)}


def _imagenet_wnids(root: Path, folders: list[str]) -> list[str]:
    if len(folders) == IMAGENET_CLASSES:
        return folders  # ImageNet-1k's class index is the sorted order of its 1000 WordNet ids
    for where in (root, root.parent):
        for name in WNID_LISTS:
            f = where / name
            if f.is_file():
                ids = [ln.split()[0] for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
                if len(ids) == IMAGENET_CLASSES and all(WNID.match(i) for i in ids):
                    unknown = [x for x in folders if x not in ids]
                    if unknown:
                        raise ConfigError(f"{f} does not list the WordNet id folder(s) {', '.join(unknown[:5])}")
                    return ids
    raise ConfigError(
        f"imagefolder:{root} holds {len(folders)} WordNet-id folders, a subset of ImageNet's 1000: to map them to "
        f"the ImageNet class indices the zoo models predict, put the full list (one id per line, in class order, "
        f"e.g. the ILSVRC devkit's LOC_synset_mapping.txt) at {root / 'LOC_synset_mapping.txt'}, or a classes.txt "
        "naming the classes in the model's output order")


# --------------------------------------------------------------------------- npz


def npz(path: Path) -> Dataset:
    import numpy as np

    if not path.is_file():
        raise ConfigError(f"npz:{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f or "y" not in f:
                raise ConfigError(f"npz:{path} must hold arrays 'x' and 'y' (it holds {', '.join(f.files) or 'none'})")
            x, y = f["x"], f["y"]
    except ConfigError:
        raise
    except Exception as exc:  # not a zip, an object array (pickles are refused)
        raise ConfigError(f"npz:{path} cannot be read as a numpy .npz of plain arrays: {exc}") from None
    if len(x) != len(y):
        raise ConfigError(f"npz:{path}: x has {len(x)} samples, y {len(y)}")
    task = "segmentation" if y.ndim >= 3 else "classification"
    classes = [str(i) for i in range(int(y.max()) + 1)] if task == "classification" and y.size else None
    h = hashlib.sha256(Path(path).read_bytes())
    return Dataset(DatasetSpec("npz", str(path)), task, list(x), y.astype(np.int64) if task == "classification" else y,
                   classes, None, h.hexdigest())


# --------------------------------------------------------------------------- Hugging Face datasets on disk


def hf_disk(root: Path, split: str | None, columns: dict[str, str]) -> Dataset:
    try:
        import datasets
    except ImportError:
        from suite.errors import MissingDependencyError

        raise MissingDependencyError("datasets", "data", "hf-disk datasets") from None
    if not root.is_dir():
        raise ConfigError(f"hf-disk:{root}: no such folder")
    try:
        loaded = datasets.load_from_disk(str(root))
    except Exception as exc:
        raise ConfigError(f"hf-disk:{root} is not a dataset saved with save_to_disk: {exc}") from None
    if isinstance(loaded, datasets.DatasetDict):
        names = list(loaded)
        chosen = split or next((s for s in ("test", "validation", "val") if s in loaded), names[0])
        if chosen not in loaded:
            raise ConfigError(f"hf-disk:{root} has the splits {', '.join(names)}; '{chosen}' is not one of them")
        loaded, split = loaded[chosen], chosen
    label = columns.get("label", "label")
    if label not in loaded.column_names:
        raise ConfigError(f"hf-disk:{root} has no label column '{label}' (columns: {', '.join(loaded.column_names)}); "
                          "name it with [dataset] columns = {{label = \"...\"}}")
    image = columns.get("image", "image")
    import numpy as np

    targets = np.asarray(loaded[label])
    feature = loaded.features.get(label)
    classes = list(feature.names) if hasattr(feature, "names") else \
        ([str(i) for i in range(int(targets.max()) + 1)] if targets.ndim == 1 and targets.size else None)
    if image in loaded.column_names:
        samples = list(loaded[image])
    else:
        token_cols = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in loaded.column_names]
        if "input_ids" not in token_cols:
            raise ConfigError(f"hf-disk:{root} has neither an image column '{image}' nor pre-tokenised 'input_ids' "
                              f"(columns: {', '.join(loaded.column_names)})")
        cols = {c: loaded[c] for c in token_cols}
        samples = [{c: np.asarray(cols[c][i], dtype=np.int64) for c in token_cols} for i in range(len(loaded))]
    fingerprint = getattr(loaded, "_fingerprint", "") or ""
    h = hashlib.sha256(f"{fingerprint}\0{len(loaded)}\0{os.path.abspath(root)}".encode())
    task = "segmentation" if targets.ndim >= 3 else "classification"
    return Dataset(DatasetSpec("hf-disk", str(root)), task, samples, targets, classes, split, h.hexdigest())


# --------------------------------------------------------------------------- the user's own


def from_user(module: Any) -> Dataset:
    """The model file's `load_dataset()` -> (samples, targets) and optional `evaluate(outputs,
    targets) -> float`; without evaluate, targets are class indices scored by top-1."""
    if module is None or not hasattr(module, "load_dataset"):
        raise ConfigError("--dataset user needs a model file (-m file.py) that defines load_dataset()")
    got = module.load_dataset()
    if not (isinstance(got, tuple) and len(got) == 2):
        raise ConfigError(f"load_dataset() in {getattr(module, '__file__', 'the model file')} must return "
                          "(samples, targets)")
    samples, targets = got
    if len(samples) != len(targets):
        raise ConfigError(f"load_dataset() returned {len(samples)} samples and {len(targets)} targets")
    evaluate = getattr(module, "evaluate", None)
    import numpy as np

    h = hashlib.sha256(repr((len(samples), getattr(module, "__file__", ""))).encode())
    if evaluate is None:
        y = np.asarray(targets).astype(np.int64)
        return Dataset(DatasetSpec("user"), "classification", list(samples), y,
                       [str(i) for i in range(int(y.max()) + 1)], None, h.hexdigest())
    return Dataset(DatasetSpec("user"), "custom", list(samples), targets, None, None, h.hexdigest(), evaluate=evaluate)
