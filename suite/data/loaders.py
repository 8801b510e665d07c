"""Loading each kind of dataset. Nothing is downloaded: every source reads local files or what
an installed package ships."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

from suite.data.dataset import (
    Dataset,
    DatasetSpec,
    parse_dataset_spec,
    shown,
    stratified_subset,
)
from suite.data.decode import ContractError, check_masks, class_indices
from suite.errors import ConfigError, MissingDependencyError
from suite.models.digits import (
    DIGITS_SPLIT_SEED,
    DIGITS_TEST_FRACTION,
    digits_arrays,
)

if TYPE_CHECKING:
    import zipfile

    import numpy as np
    import numpy.typing as npt
    from PIL import Image

    from suite.models.inputs import Array

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
WNID = re.compile(r"^n\d{8}$")
IMAGENET_CLASSES = 1000
# Files that list the 1000 ImageNet WordNet ids in class-index order (ILSVRC devkit, Kaggle).
WNID_LISTS = ("LOC_synset_mapping.txt", "synset_words.txt", "imagenet_wnids.txt", "wnids.txt")


def load_dataset(spec: str | DatasetSpec, *, limit: int | None = None, seed: int = 0, split: str | None = None,
                 columns: dict[str, str] | None = None, user_module: ModuleType | None = None) -> Dataset:
    """The dataset a spec names, its labels checked against the contract (suite/data/decode.py);
    with `limit`, the seeded subset (an npz reads only the rows it keeps)."""
    s = parse_dataset_spec(spec) if isinstance(spec, str) else spec
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {limit}")
    if s.kind == "digits":
        ds = digits(split or "test")
    elif s.kind == "imagefolder":
        ds = image_folder(Path(s.path or ""))
    elif s.kind == "npz":
        ds = npz(Path(s.path or ""), limit, seed)
    elif s.kind == "hf-disk":
        ds = hf_disk(Path(s.path or ""), split, columns or {})
    else:
        ds = from_user(user_module)
    if len(ds) == 0:
        raise ConfigError(f"Dataset {s} holds no samples")
    if limit is not None:
        ds = stratified_subset(ds, limit, seed)
    return ds


# --------------------------------------------------------------------------- digits


def digits(split: str) -> Dataset:
    import numpy as np

    images, labels = digits_arrays(split)
    h = hashlib.sha256(np.ascontiguousarray(images).tobytes())
    h.update(labels.tobytes())
    note = (f"scikit-learn load_digits, {split} split ({len(labels)} of 1797; {DIGITS_TEST_FRACTION:.0%} held out, "
            f"stratified, seed {DIGITS_SPLIT_SEED})")
    return Dataset(DatasetSpec("digits"), "classification", list(images), labels, [str(i) for i in range(10)],
                   split, h.hexdigest(), notes=[note], class_source="the ten digits")


# --------------------------------------------------------------------------- image folders


def image_folder(root: Path) -> Dataset:
    if not root.is_dir():
        raise ConfigError(f"imagefolder:{shown(root)}: no such folder")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ConfigError(f"imagefolder:{shown(root)}: no class sub-folders (expected DIR/<class>/<image files>)")
    classes, index, source = _class_index(root, folders)
    samples, targets, listing = [], [], hashlib.sha256()
    for name in folders:
        files = sorted(f for f in (root / name).rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        for f in files:
            samples.append(str(f))
            targets.append(index[name])
            # File names are bytes on Linux: one that is not UTF-8 is hashed as it is.
            listing.update(os.fsencode(f.relative_to(root).as_posix()) + f"\0{f.stat().st_size}\n".encode())
    if not samples:
        raise ConfigError(f"imagefolder:{shown(root)}: no image files ({', '.join(IMAGE_SUFFIXES)}) in the class "
                          "folders")
    import numpy as np

    return Dataset(DatasetSpec("imagefolder", str(root)), "classification", samples, np.asarray(targets), classes,
                   None, listing.hexdigest(), decode=_open_image, class_source=source)


def _open_image(path: str) -> Image.Image:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except Exception as exc:  # truncated, corrupt, not an image, a decompression bomb
        raise ContractError(f"cannot be decoded as an image: {type(exc).__name__}: {exc}") from None


def _class_index(root: Path, folders: list[str]) -> tuple[list[str], dict[str, int], str]:
    """Class names in index order, folder -> index, and where the order comes from: classes.txt
    when present, ImageNet's indices for WordNet-id folders, else sorted folder names
    (torchvision ImageFolder)."""
    listed = root / "classes.txt"
    if listed.is_file():
        classes = [ln.strip() for ln in read_text_lines(listed) if ln.strip()]
        seen: dict[str, int] = {}
        for i, c in enumerate(classes):
            if c in seen:
                raise ConfigError(f"{shown(listed)} names the class '{shown(c)}' twice (entries {seen[c] + 1} and "
                                  f"{i + 1}): each class once, in the model's output order")
            seen[c] = i
        missing = [f for f in folders if f not in seen]
        if missing:
            raise ConfigError(f"{shown(listed)} does not list the folder(s) {', '.join(shown(m) for m in missing[:5])}")
        return classes, seen, "classes.txt"
    if all(WNID.match(f) for f in folders):
        wnids = _imagenet_wnids(root, folders)
        return wnids, {w: i for i, w in enumerate(wnids)}, "ImageNet's WordNet ids"
    return folders, {f: i for i, f in enumerate(folders)}, "class folders"


def read_text_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file (a byte-order mark is allowed), or a ConfigError naming the
    file and the first byte that is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown(path)} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): "
                          "save it as UTF-8") from None


def _imagenet_wnids(root: Path, folders: list[str]) -> list[str]:
    if len(folders) == IMAGENET_CLASSES:
        return folders  # ImageNet-1k's class index is the sorted order of its 1000 WordNet ids
    for where in (root, root.parent):
        for name in WNID_LISTS:
            f = where / name
            if f.is_file():
                ids = [ln.split()[0] for ln in read_text_lines(f) if ln.strip()]
                if len(ids) == IMAGENET_CLASSES and all(WNID.match(i) for i in ids):
                    unknown = [x for x in folders if x not in ids]
                    if unknown:
                        raise ConfigError(f"{shown(f)} does not list the WordNet id folder(s) "
                                          f"{', '.join(unknown[:5])}")
                    return ids
    raise ConfigError(
        f"imagefolder:{shown(root)} holds {len(folders)} WordNet-id folders, a subset of ImageNet's 1000: to map "
        f"them to the ImageNet class indices the zoo models predict, put the full list (one id per line, in class order, "
        f"e.g. the ILSVRC devkit's LOC_synset_mapping.txt) at {shown(root / 'LOC_synset_mapping.txt')}, or a "
        "classes.txt naming the classes in the model's output order")


# --------------------------------------------------------------------------- npz


# Arrays an npz may unpack into memory: at most this share of the memory available when it is read.
NPZ_MEMORY_SHARE = 0.5


@dataclass(frozen=True)
class _Member:
    """One .npy array inside an .npz, from its header only (nothing decompressed beyond it)."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[np.generic]
    fortran: bool
    offset: int  # where the data starts in the member's uncompressed bytes

    @property
    def nbytes(self) -> int:
        import math

        return math.prod(self.shape) * self.dtype.itemsize


def npz(path: Path, limit: int | None = None, seed: int = 0) -> Dataset:
    """Arrays `x` and `y` of a numpy .npz (a zip of .npy files). Each array's size is read
    from its header and checked against the zip's own record and the memory available before
    anything is decompressed (a 1 MB file can hold 1 GiB of zeros); with `limit`, `y` is read
    first, the subset drawn, and only the rows of `x` it keeps are kept."""
    import zipfile

    where = f"npz:{shown(path)}"
    if path.is_dir():
        raise ConfigError(f"{where} is a folder, not a .npz file")
    if not path.is_file():
        raise ConfigError(f"{where}: no such file")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ConfigError(f"{where} is not a .npz (a zip of .npy arrays, as numpy.savez writes): {exc}") from None
    with zf:
        infos = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
        if "x" not in infos or "y" not in infos:
            raise ConfigError(f"{where} must hold arrays 'x' and 'y' (it holds {', '.join(sorted(infos)) or 'none'})")
        xm, ym = (_npy_member(zf, infos[k], where) for k in ("x", "y"))
        for m in (xm, ym):
            if not m.shape:
                raise ConfigError(f"{where}: '{m.name}' is a single value (0-d), not an array with one entry per "
                                  "sample")
        if xm.shape[0] != ym.shape[0]:
            raise ConfigError(f"{where}: x has {xm.shape[0]} samples, y {ym.shape[0]}")
        n = xm.shape[0]
        _check_memory(where, [ym], ym.nbytes)
        y = _read_rows(zf, infos["y"], ym, None, where)
        task = "segmentation" if y.ndim >= 3 else "classification"
        if task == "classification":
            y = class_indices(y, f"{where} 'y' (the labels)")
            classes = [str(i) for i in range(int(y.max()) + 1)] if y.size else None
        else:
            check_masks(y, f"{where} 'y' (the masks)")
            classes = None
        h = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        ds = Dataset(DatasetSpec("npz", str(path)), task, list(range(n)), y, classes, None, h.hexdigest())
        keep = None
        if limit is not None and limit < n:
            ds = stratified_subset(ds, limit, seed)
            keep = [int(i) for i in ds.samples]
        row_bytes = xm.nbytes // n if n else 0
        whole = keep is None or xm.fortran  # a Fortran-ordered array is read whole, then cut
        _check_memory(where, [xm, ym], ym.nbytes + (xm.nbytes if whole or keep is None else row_bytes * len(keep)))
        x = _read_rows(zf, infos["x"], xm, keep, where)
    ds.samples = list(x)  # checked against the model that takes them before the run (suite.plan.preflight)
    return ds


def _npy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> _Member:
    import numpy as np

    name = info.filename[:-4]
    try:
        with zf.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read(fh)
            offset = fh.tell()
    except Exception as exc:  # not a .npy, a header numpy cannot parse, a damaged zip
        raise ConfigError(f"{where}: '{name}' is not a numpy array file: {type(exc).__name__}: {exc}") from None
    if dtype.hasobject:
        raise ConfigError(f"{where}: '{name}' holds Python objects, which would need a pickle to read (refused); "
                          "save plain numeric arrays")
    m = _Member(name, tuple(int(d) for d in shape), dtype, bool(fortran), offset)
    if info.file_size < offset + m.nbytes:
        raise ConfigError(f"{where}: '{name}' declares {list(m.shape)} {dtype} ({m.nbytes:,} bytes) but holds "
                          f"{max(info.file_size - offset, 0):,}: the file is truncated or damaged")
    return m


def _check_memory(where: str, members: list[_Member], need: int) -> None:
    import psutil

    available = int(psutil.virtual_memory().available)
    if need > NPZ_MEMORY_SHARE * available:
        sizes = ", ".join(f"'{m.name}' {list(m.shape)} {m.dtype} = {m.nbytes / 2**30:.2f} GiB" for m in members)
        raise ConfigError(f"{where} would take {need / 2**30:.2f} GiB of memory uncompressed ({sizes}), more than "
                          f"half of what this machine has available ({available / 2**30:.2f} GiB): evaluate a "
                          "subset with --limit N (only its rows are read)")


def _read_rows(zf: zipfile.ZipFile, info: zipfile.ZipInfo, m: _Member, keep: list[int] | None, where: str) -> Array:
    """The whole array, or only the rows `keep` (sorted), streamed from the zip member."""
    import numpy as np

    n = m.shape[0]
    row = m.nbytes // n if n else 0
    try:
        with zf.open(info) as fh:
            fh.seek(m.offset)
            if keep is None or m.fortran:
                buf = bytearray(m.nbytes)
                got = cast("zipfile.ZipExtFile", fh).readinto(buf)  # typeshed: IO[bytes]
                if got != m.nbytes:
                    raise ConfigError(f"{where}: '{m.name}' ends after {got:,} of its {m.nbytes:,} bytes")
                arr = np.frombuffer(buf, dtype=m.dtype).reshape(m.shape, order="F" if m.fortran else "C")
                return arr if keep is None else arr[keep]
            out = np.empty((len(keep), *m.shape[1:]), dtype=m.dtype)
            for j, i in enumerate(keep):
                fh.seek(m.offset + i * row)
                chunk = fh.read(row)
                if len(chunk) != row:
                    raise ConfigError(f"{where}: '{m.name}' ends before its row {i}")
                out[j] = np.frombuffer(chunk, dtype=m.dtype).reshape(m.shape[1:])
            return out
    except ConfigError:
        raise
    except Exception as exc:  # a CRC error, a damaged stream
        raise ConfigError(f"{where}: '{m.name}' cannot be read: {type(exc).__name__}: {exc}") from None


# --------------------------------------------------------------------------- Hugging Face datasets on disk


def hf_disk(root: Path, split: str | None, columns: dict[str, str]) -> Dataset:
    try:
        import datasets
    except ImportError:
        raise MissingDependencyError("datasets", "data", "hf-disk datasets") from None
    where = f"hf-disk:{shown(root)}"
    if not root.is_dir():
        raise ConfigError(f"{where}: no such folder")
    try:
        loaded = datasets.load_from_disk(str(root))
    except Exception as exc:
        if _saved_empty(root):  # datasets cannot load a dataset saved with no rows ("list index out of range")
            raise ConfigError(f"{where} holds no rows (it was saved empty)") from None
        raise ConfigError(f"{where} is not a dataset saved with save_to_disk: {exc}") from None
    notes = []
    if isinstance(loaded, datasets.DatasetDict):
        names = list(loaded)
        if not names:
            raise ConfigError(f"{where} is a DatasetDict with no splits: nothing to evaluate")
        chosen = split or next((s for s in HELD_OUT_SPLITS if s in loaded), None)
        if chosen is None:
            raise ConfigError(f"{where} has only the split(s) {', '.join(names)}, none of them held out "
                              f"({', '.join(HELD_OUT_SPLITS)}): accuracy on the data a model was trained on says "
                              f"little. To evaluate on one anyway, name it: [dataset] split = \"{names[0]}\"")
        if chosen not in loaded:
            raise ConfigError(f"{where} has the splits {', '.join(names)}; '{chosen}' is not one of them")
        loaded, split = loaded[chosen], chosen
        notes.append(f"split '{chosen}' of {', '.join(names)}" + ("" if chosen in HELD_OUT_SPLITS else
                                                                 " (named by the configuration; not a held-out split)"))
    if len(loaded) == 0:
        raise ConfigError(f"{where}{f' split {split!r}' if split else ''} holds no rows")
    label = columns.get("label", "label")
    if label not in loaded.column_names:
        raise ConfigError(f"{where} has no label column '{label}' (columns: {', '.join(loaded.column_names)}); "
                          'name it with [dataset] columns = {label = "..."}')
    image = columns.get("image", "image")
    import numpy as np

    column = f"{where} column '{label}'"
    try:
        targets = np.asarray(loaded[label])
    except Exception as exc:  # ragged lists
        raise ContractError(f"{column} cannot be read as labels or masks: {exc}") from None
    task = "segmentation" if targets.ndim >= 3 else "classification"
    feature = loaded.features.get(label)
    if task == "classification":
        targets = class_indices(targets, column)
        classes = list(feature.names) if hasattr(feature, "names") else \
            [str(i) for i in range(int(targets.max()) + 1)]
    else:
        check_masks(targets, column)
        classes = None
    if image in loaded.column_names:
        samples = list(loaded[image])
    else:
        token_cols = [c for c in ("input_ids", "attention_mask", "token_type_ids") if c in loaded.column_names]
        if "input_ids" not in token_cols:
            raise ConfigError(f"{where} has neither an image column '{image}' nor pre-tokenised 'input_ids' "
                              f"(columns: {', '.join(loaded.column_names)})")
        cols = {c: loaded[c] for c in token_cols}
        samples = [{c: _token_row(cols[c][i], f"{where} column '{c}', row {i}") for c in token_cols}
                   for i in range(len(loaded))]
    fingerprint = getattr(loaded, "_fingerprint", "") or ""
    h = hashlib.sha256(f"{fingerprint}\0{len(loaded)}\0{os.path.abspath(root)}".encode())
    source = f"the ClassLabel of column '{label}'" if hasattr(feature, "names") else None
    return Dataset(DatasetSpec("hf-disk", str(root)), task, samples, targets, classes, split, h.hexdigest(),
                   notes=notes, class_source=source)


HELD_OUT_SPLITS = ("test", "validation", "val")


def _saved_empty(root: Path) -> bool:
    """Whether save_to_disk wrote `root` with no data files at all (an empty Dataset)."""
    import json

    try:
        state = json.loads((root / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and state.get("_data_files") == []


def _token_row(values: object, where: str) -> npt.NDArray[np.int64]:
    """One row of token ids (or a mask) as int64, or a ContractError naming the row."""
    import numpy as np

    try:
        a = np.asarray(values)
    except Exception as exc:
        raise ContractError(f"{where} is not a list of token ids: {exc}") from None
    if a.ndim != 1 or a.dtype.kind not in "iub":
        raise ContractError(f"{where} must be a list of integer token ids, got {a.dtype} of shape {list(a.shape)}")
    return a.astype(np.int64)


# --------------------------------------------------------------------------- the user's own


def from_user(module: ModuleType | None) -> Dataset:
    """The model file's `load_dataset()` -> (samples, targets) and optional `evaluate(outputs,
    targets) -> float`; without evaluate, targets are class indices scored by top-1."""
    if module is None or not hasattr(module, "load_dataset"):
        raise ConfigError("--dataset user needs a model file (-m file.py) that defines load_dataset()")
    where = f"load_dataset() in {shown(getattr(module, '__file__', 'the model file'))}"
    try:
        got = module.load_dataset()
    except Exception as exc:
        raise ConfigError(f"{where} raised {type(exc).__name__}: {' '.join(str(exc).split())[:300]}") from None
    if not (isinstance(got, tuple) and len(got) == 2):
        raise ConfigError(f"{where} must return (samples, targets), got {type(got).__name__}")
    samples, targets = got
    try:
        counts = len(samples), len(targets)
    except TypeError:
        raise ConfigError(f"{where} must return sequences with a length (lists or arrays), got "
                          f"{type(samples).__name__} and {type(targets).__name__}") from None
    if counts[0] != counts[1]:
        raise ConfigError(f"{where} returned {counts[0]} samples and {counts[1]} targets")
    if counts[0] == 0:
        raise ConfigError(f"{where} returned no samples")
    evaluate = getattr(module, "evaluate", None)
    h = hashlib.sha256(repr((counts[0], getattr(module, "__file__", ""))).encode())
    if evaluate is None:
        y = class_indices(targets, f"the targets {where} returned (without evaluate(), class indices)")
        return Dataset(DatasetSpec("user"), "classification", list(samples), y,
                       [str(i) for i in range(int(y.max()) + 1)], None, h.hexdigest())
    if not callable(evaluate):
        raise ConfigError(f"evaluate in {shown(getattr(module, '__file__', 'the model file'))} is not a function")
    return Dataset(DatasetSpec("user"), "custom", list(samples), targets, None, None, h.hexdigest(), evaluate=evaluate)
