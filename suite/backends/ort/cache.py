"""The export cache: ONNX files on disk, keyed by everything that decides their content.

One entry is one folder `<root>/<model>-<key>/` holding `model.onnx` (plus `model.onnx.data`
when the exporter writes weights as external data), a `meta.json` that says what it is, and
quantised variants beside it. An export that failed is cached too (`meta.json` with
status "failed" and the error), so a sweep over ten batch sizes does not retry a
ten-second doomed export ten times; `bench cache clear` forgets it.

Entries are built in a temporary folder next to the final one and renamed into place, so a
reader never sees half an entry and two writers cannot corrupt each other.

Every file of an entry is recorded in its meta.json (size, mtime, SHA-256) and checked
before the entry is used (`verify`): a file whose size changed, or whose mtime changed and
whose hash no longer matches, makes the entry corrupt, and the export is rebuilt. The check
is a `stat` per file while the mtime is the recorded one; the hash is computed only when it
is not (a copied cache), once per process and file version. Entries written before files
were recorded have no way to be checked: they are rebuilt once, on first use.

A temporary folder is named after the process that made it (`.tmp-<pid>+<host>+...`): one
whose process is gone (an export killed by a timeout or SIGKILL) is removed the next time the
cache is used; one without an owner in its name after STALE_TMP_S.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from suite.errors import BenchError
from suite.results.io import atomic_write_text
from suite.results.safe_read import read_regular_text

ENV_VAR = "BENCH_CACHE_DIR"
META_FILE = "meta.json"
META_MAX_BYTES = 1024 * 1024  # an entry's record (meta.json, the int8 info) is a few kB; read no more
MODEL_FILE = "model.onnx"
# The file an entry serves, recorded in its meta.json as `model_file` (entries without one are ONNX
# exports): an ExecuTorch program shares the cache and its integrity checks (suite/backends/executorch).
MODEL_FILES = (MODEL_FILE, "model.pte")
_TMP_PREFIX = ".tmp-"
STALE_TMP_S = 3600.0


def cache_root(configured: str | os.PathLike[str] | None = None) -> Path:
    """Where exports live: the config's `ort.cache_dir`, else $BENCH_CACHE_DIR, else
    $XDG_CACHE_HOME/bench/onnx (~/.cache/bench/onnx)."""
    if configured:
        return Path(configured).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bench" / "onnx"


def digest(payload: object, length: int = 16) -> str:
    """Stable hash of a JSON-able payload (keys sorted, so dict order never matters)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _slug(name: str) -> str:
    """A readable folder prefix from a model name (paths and hf: specs included)."""
    base = os.path.basename(name.rstrip("/\\")) or name
    return (re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "model")[:48]


@dataclass
class CacheEntry:
    path: Path  # the entry folder
    # meta.json as read: JSON, whose fields its readers check (Any: the CLI's listing reads it loosely)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def model_file(self) -> str:
        """The file the entry serves: one of MODEL_FILES (a meta.json is data: any other name is
        refused, so that it can never point outside its folder)."""
        return model_file_of(self.meta)

    @property
    def model_path(self) -> Path:
        return self.path / self.model_file

    @property
    def failed(self) -> bool:
        return self.meta.get("status") == "failed"

    @property
    def model(self) -> str:
        return str(self.meta.get("model", "?"))

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    def files(self) -> list[str]:
        return sorted(p.name for p in self.path.iterdir() if p.is_file())

    @property
    def recorded(self) -> bool:
        """Whether meta.json records the entry's files (entries of older versions do not)."""
        return isinstance(self.meta.get("files"), dict)


def model_file_of(meta: Mapping[str, object]) -> str:
    name = meta.get("model_file", MODEL_FILE)
    return name if isinstance(name, str) and name in MODEL_FILES else MODEL_FILE


def entry_dir(root: Path, model_name: str, key: str) -> Path:
    return root / f"{_slug(model_name)}-{key}"


def lookup(root: Path, model_name: str, key: str) -> CacheEntry | None:
    """The complete entry for `key`, or None. A folder without a readable meta.json is not
    an entry (it cannot come from `store`, which writes meta.json before the rename)."""
    path = entry_dir(root, model_name, key)
    meta = _read_meta(path)
    if meta is None or meta.get("key") != key:
        return None
    if meta.get("status") == "ok" and not (path / model_file_of(meta)).is_file():
        return None
    return CacheEntry(path, meta)


# --------------------------------------------------------------------------- integrity

_HASHED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, per process


class FileRecord(TypedDict):
    size: int
    mtime_ns: int
    sha256: str


def file_record(path: Path) -> FileRecord:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": file_sha256(path, st)}


def file_sha256(path: Path, st: os.stat_result | None = None) -> str:
    st = st or path.stat()
    memo = (str(path), st.st_size, st.st_mtime_ns)
    if memo not in _HASHED:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
        _HASHED[memo] = h.hexdigest()
    return _HASHED[memo]


def record_files(folder: Path, names: list[str]) -> dict[str, FileRecord]:
    return {n: file_record(folder / n) for n in names}


def check_files(folder: Path, records: Mapping[str, object]) -> str | None:
    """What is wrong with the files `records` describes (None when nothing is): a file missing,
    of another size, or with another mtime and another content."""
    for name, rec in sorted(records.items()):
        path = folder / name
        try:
            st = path.stat()
        except OSError:
            return f"{name} is missing"
        if not isinstance(rec, dict) or st.st_size != rec.get("size"):
            want = rec.get("size") if isinstance(rec, dict) else "?"
            return f"{name} is {st.st_size} bytes, {want} when it was written"
        if st.st_mtime_ns == rec.get("mtime_ns"):
            continue  # untouched since it was written: the recorded hash stands
        try:
            digest_now = file_sha256(path, st)
        except OSError as exc:
            return f"{name} cannot be read ({exc.strerror or exc})"
        if digest_now != rec.get("sha256"):
            return f"{name} no longer has the content it was written with (SHA-256 differs)"
    return None


def verify(entry: CacheEntry) -> str | None:
    """Why a successful entry cannot be used as it is (None when it can)."""
    if entry.failed:
        return None
    if not entry.recorded:
        return "it was written by an older version that did not record its files' hashes"
    if entry.model_file not in entry.meta["files"]:
        return f"{entry.model_file} is not among its recorded files"
    return check_files(entry.path, entry.meta["files"])


def discard(entry: CacheEntry) -> None:
    """Remove an entry (renamed away first, so a reader never sees it half deleted)."""
    doomed = entry.path.with_name(f"{_tmp_prefix()}old-{entry.path.name}")
    try:
        os.replace(entry.path, doomed)
    except OSError:
        return  # already replaced or removed by another process
    shutil.rmtree(doomed, ignore_errors=True)


def _read_meta(path: Path) -> dict[str, object] | None:
    try:
        meta = json.loads(read_regular_text(path / META_FILE, META_MAX_BYTES))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def store(root: Path, model_name: str, key: str, meta: Mapping[str, object],
          build: Callable[[Path], Mapping[str, object]]) -> CacheEntry:
    """Build an entry with `build(tmp_folder)` (which writes the model file `meta` names, by
    default model.onnx, there and returns extra meta) and move it into place. If `build` raises, nothing is left behind."""
    def fill(tmp: Path) -> dict[str, object]:
        extra = build(tmp)
        names = sorted(p.name for p in tmp.iterdir() if p.is_file() and p.name != META_FILE)
        return {**meta, **extra, "status": "ok", "files": record_files(tmp, names)}

    _store(root, model_name, key, fill)
    entry = lookup(root, model_name, key)
    if entry is None:  # pragma: no cover - only if someone deletes it between rename and read
        raise BenchError(f"export cache entry {model_name}/{key} vanished right after it was written")
    return entry


def store_failure(root: Path, model_name: str, key: str, meta: Mapping[str, object], kind: str,
                  message: str) -> CacheEntry:
    """Remember a failed export under `key` (an entry with meta.json only, status "failed")."""
    final = _store(root, model_name, key,
                   lambda _tmp: {**meta, "status": "failed", "error": {"kind": kind, "message": message}})
    return CacheEntry(final, _read_meta(final) or {})


def _store(root: Path, model_name: str, key: str, fill: Callable[[Path], Mapping[str, object]]) -> Path:
    """Fill a temporary folder (`fill` writes its files and returns its meta), write its
    meta.json and rename it into place; returns the entry folder."""
    final = entry_dir(root, model_name, key)
    tmp = _make_tmp(root, final.name)
    try:
        write_json(tmp / META_FILE, {**fill(tmp), "key": key, "created_at": now()})
        _publish(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _tmp_prefix() -> str:
    """`.tmp-<pid>+<host>+`: who made a temporary folder, so that another process can tell
    when it was abandoned (see clean_leftovers)."""
    host = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:64]
    return f"{_TMP_PREFIX}{os.getpid()}+{host}+"


_OWNER = re.compile(re.escape(_TMP_PREFIX) + r"(\d+)\+([A-Za-z0-9._-]*)\+")


def _abandoned(path: Path, now_s: float) -> bool:
    """A leftover temporary folder or file whose writer is gone: its process no longer runs on
    this host, or (owner unknown, another host's, or a pid reused) it is older than STALE_TMP_S."""
    m = _OWNER.match(path.name)
    if m and m.group(2) == re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname())[:64]:
        pid = int(m.group(1))
        if pid != os.getpid():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            except OSError:
                pass  # alive, another user's
    try:
        return path.lstat().st_mtime < now_s - STALE_TMP_S
    except OSError:
        return False


def leftovers(folder: Path) -> list[Path]:
    """Temporary folders and files left in `folder` by interrupted writes."""
    try:
        return sorted(p for p in folder.iterdir() if p.name.startswith(_TMP_PREFIX))
    except OSError:
        return []


_CLEANED: set[str] = set()


def clean_leftovers(folder: Path, once: bool = True) -> list[Path]:
    """Remove what interrupted writes left in `folder` (once per process and folder when
    `once`); returns what was removed."""
    if once and str(folder) in _CLEANED:
        return []
    _CLEANED.add(str(folder))
    now_s = time.time()
    removed = []
    for path in leftovers(folder):
        if _abandoned(path, now_s):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
            removed.append(path)
    return removed


def _make_tmp(root: Path, name: str) -> Path:
    try:
        root.mkdir(parents=True, exist_ok=True)
        clean_leftovers(root)
        tmp = Path(tempfile.mkdtemp(prefix=f"{_tmp_prefix()}{name}-", dir=root))
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache from other users
        return tmp
    except OSError as exc:
        raise BenchError(f"Cannot write to the ONNX export cache {root}: {exc.strerror or exc}. "
                         f"Choose another folder with ort.cache_dir or ${ENV_VAR}.") from None


def _publish(tmp: Path, final: Path) -> None:
    """Rename the finished folder into place, replacing an older (e.g. failed) entry."""
    if final.exists():
        old = final.with_name(f"{_tmp_prefix()}old-{final.name}")
        try:
            os.replace(final, old)
        except OSError:
            return  # another process is replacing it right now; its entry is as good as ours
        shutil.rmtree(old, ignore_errors=True)
    try:
        os.replace(tmp, final)
    except OSError:
        if not final.exists():
            raise


def write_file_atomic(target: Path, build: Callable[[Path], None]) -> None:
    """Write one file (e.g. a quantised model) via a temporary folder in the target's folder.

    `build` writes under the final file name, so files it puts beside it (a quantiser's
    `<name>.data` external weights) are named after, and referenced by, the published name.
    Those are moved into place first and the main file last: once `target` exists, so does
    everything it refers to. If `build` raises, nothing is left behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target.parent)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f"{_tmp_prefix()}{target.name}-", dir=target.parent))
    try:
        out = tmp_dir / target.name
        build(out)
        for side in sorted(tmp_dir.iterdir()):
            if side != out and side.is_file():
                os.replace(side, target.parent / side.name)
        os.replace(out, target)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def write_json(path: Path, data: Mapping[str, object]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


# --------------------------------------------------------------------------- listing


def iter_entries(root: Path) -> Iterator[CacheEntry]:
    if not root.is_dir():
        return
    for path in sorted(root.iterdir()):
        if not path.is_dir() or path.name.startswith(_TMP_PREFIX):
            continue
        meta = _read_meta(path)
        if meta is not None and isinstance(meta.get("key"), str):
            yield CacheEntry(path, meta)


def list_entries(root: Path, pattern: str = "*") -> list[CacheEntry]:
    """Entries whose model name (or folder name) matches the wildcard `pattern`."""
    return [e for e in iter_entries(root) if _matches(e, pattern)]


def _matches(entry: CacheEntry, pattern: str) -> bool:
    return fnmatch.fnmatch(entry.model, pattern) or fnmatch.fnmatch(entry.path.name, pattern)


def clear_entries(root: Path, pattern: str = "*", failed_only: bool = False) -> list[CacheEntry]:
    """Delete matching entries (and leftovers of interrupted writes); returns what was removed."""
    removed = []
    for entry in list_entries(root, pattern):
        if failed_only and not entry.failed:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry)
    if pattern == "*" and not failed_only and root.is_dir():
        # Leftovers of interrupted writes; a fresh one of a live process belongs to a run in progress.
        clean_leftovers(root, once=False)
    return removed
