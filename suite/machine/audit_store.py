"""Where `bench audit` keeps its verdicts: one file per machine, thread count and library versions
(`$BENCH_AUDIT_DIR`, else ~/.cache/bench/audit), read back by every later run here at that thread
count (suite/run/runner.py puts it in the environment block). A file is data: read only when it is
a regular file of sane size that validates and says it is for this machine and thread count."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from suite.machine.environment import collect_environment, package_versions
from suite.results.schema import FairnessAudit

ENV_VAR = "BENCH_AUDIT_DIR"
MAX_FILE_BYTES = 4 * 2**20  # an audit is a few kB: anything larger is not one


def cache_key(threads: int) -> str:
    env = collect_environment()
    versions = package_versions()
    payload = {"host": env.hostname, "cpu": env.cpu_model, "machine": env.machine, "threads": threads,
               "torch": versions.get("torch"), "onnxruntime": versions.get("onnxruntime")}
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def cache_dir() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "bench", "audit")


def save(audit: FairnessAudit) -> Path | None:
    folder = cache_dir()
    path = folder / f"{audit.key}.json"
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(audit.model_dump_json(indent=1))
        os.replace(tmp, path)
    except OSError:
        return None  # a read-only home: the audit is printed, not kept
    return path


def load_for(threads: int) -> FairnessAudit | None:
    """The cached audit of this machine at `threads` with these library versions, if any: a
    regular file of sane size that validates, else nothing (an audit is never taken on trust)."""
    path = cache_dir() / f"{cache_key(threads)}.json"
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        audit = FairnessAudit.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return None
    return audit if audit.threads == threads and audit.key == path.stem else None
