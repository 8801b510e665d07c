"""A damaged export-cache entry is found and rebuilt, not reused forever; what an interrupted
export leaves behind is shown by `bench cache ls` and removed by the next run.

Real exports of a small model (dynamo, external data), real files truncated and edited, a real
process killed with SIGKILL in the middle of an export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from torch import nn

from suite.backends.ort import cache
from suite.backends.ort.export import ensure_export
from suite.models.inputs import InputSpec, TensorSpec
from suite.models.registry import ModelEntry

FIX = Path(__file__).resolve().parents[3] / "fixtures"
SPEC = InputSpec(modality="other", tensors=(TensorSpec("x", ("batch", 16)),))


def _entry() -> ModelEntry:
    return ModelEntry(name="mlp", source="registry", modality="other", input_spec=SPEC, builder=None)


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4)).eval()


def _session_runs(path: Path) -> bool:
    import numpy as np
    import onnxruntime as ort

    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": np.zeros((3, 16), np.float32)})[0].shape == (3, 4)


def test_entries_record_their_files_and_a_truncated_weights_file_is_rebuilt(tmp_path):
    model = _model()
    first = ensure_export(model, _entry(), "dynamo", None, tmp_path)
    files = first.entry.meta["files"]
    assert set(files) == {"model.onnx", "model.onnx.data"} and all(len(r["sha256"]) == 64 for r in files.values())
    assert cache.verify(first.entry) is None

    data = first.entry.path / "model.onnx.data"
    with open(data, "r+b") as fh:  # what a full disk or a killed copy leaves
        fh.truncate(data.stat().st_size // 2)
    assert "model.onnx.data is" in cache.verify(cache.lookup(tmp_path, "mlp", first.entry.meta["key"]))

    again = ensure_export(model, _entry(), "dynamo", None, tmp_path)
    assert not again.cache_hit and "was rebuilt: model.onnx.data is" in again.note
    assert again.entry.path == first.entry.path and cache.verify(again.entry) is None
    assert _session_runs(again.path)
    third = ensure_export(model, _entry(), "dynamo", None, tmp_path)
    assert third.cache_hit and third.note is None


def test_same_size_edit_is_caught_by_the_hash_and_a_copied_cache_is_still_good(tmp_path):
    first = ensure_export(_model(), _entry(), "dynamo", None, tmp_path)
    data = first.entry.path / "model.onnx.data"
    # A copy (new mtime, same bytes) is fine: hashed once, matches.
    os.utime(data, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    assert cache.verify(first.entry) is None
    # Same size, other bytes (bit rot, an edit in place): the mtime moved, the hash tells.
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    assert "no longer has the content" in cache.verify(first.entry)


def test_entries_of_the_previous_version_are_rebuilt_once(tmp_path):
    model = _model()
    first = ensure_export(model, _entry(), "dynamo", None, tmp_path)
    meta_path = first.entry.path / cache.META_FILE
    meta = json.loads(meta_path.read_text())
    del meta["files"]  # what the previous version wrote
    meta_path.write_text(json.dumps(meta))
    legacy = cache.lookup(tmp_path, "mlp", meta["key"])
    assert not legacy.recorded and "older version" in cache.verify(legacy)
    again = ensure_export(model, _entry(), "dynamo", None, tmp_path)
    assert not again.cache_hit and "older version" in again.note and again.entry.recorded
    assert ensure_export(model, _entry(), "dynamo", None, tmp_path).cache_hit


_KILLED_EXPORT = """
import sys, time
from pathlib import Path
from suite.backends.ort import cache

def build(folder):
    print("building", flush=True)
    time.sleep(600)

cache.store(Path(sys.argv[1]), "slow", "k1", {"model": "slow"}, build)
"""


def test_a_sigkilled_export_leaves_a_folder_that_ls_shows_and_the_next_run_removes(tmp_path):
    model = _model()
    ensure_export(model, _entry(), "dynamo", None, tmp_path)  # an entry the next run finds
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path.cwd()), os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_EXPORT, str(tmp_path)], stdout=subprocess.PIPE, env=env,
                            text=True)
    assert proc.stdout.readline().strip() == "building"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = cache.leftovers(tmp_path)
    assert len(left) == 1 and left[0].is_dir()

    bench = [sys.executable, "-m", "suite", "cache"]
    ls = subprocess.run([*bench, "ls", "--dir", str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
    assert ls.returncode == 0 and "1 unfinished write left by an interrupted export" in " ".join(ls.stdout.split())

    # The next run cleans it (its process is gone), even when all it does is find its export in
    # the cache; a live writer's folder stays.
    live = tmp_path / f"{cache._tmp_prefix()}busy-x"
    live.mkdir()
    cache._CLEANED.discard(str(tmp_path))  # as in a new process
    assert ensure_export(model, _entry(), "dynamo", None, tmp_path).cache_hit
    assert cache.leftovers(tmp_path) == [live]


def test_bench_run_rebuilds_a_damaged_entry_and_says_so(tmp_path):
    """Through the console script: the second run finds the weights file truncated, exports
    again and records why; before, every ORT case failed with a bare session error."""
    model = str(FIX / "models" / "crash_tiny.py")
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1", BENCH_CACHE_DIR=str(tmp_path / "cache"))
    cfg = tmp_path / "fast.toml"
    cfg.write_text(f'models = ["{model}"]\nbackends = ["ort"]\nbatch_sizes = [1]\nreport = false\n'
                   "[timing]\nwarmup_max = 3\nmin_iters = 5\nmax_iters = 5\nmin_time_s = 0\n[energy]\nenabled = false\n")

    def run(out: str) -> dict:
        res = subprocess.run([sys.executable, "-m", "suite", "run", "-c", str(cfg), "-o", str(tmp_path / out)],
                             capture_output=True, text=True, env=env, timeout=300)
        assert res.returncode == 0, res.stderr
        (path,) = (tmp_path / out).glob("results-*.json")
        return json.loads(path.read_text())["cases"][0]

    first = run("one")
    assert first["status"] == "ok", first["error"]
    (entry,) = cache.list_entries(tmp_path / "cache")
    data = entry.path / "model.onnx.data"
    with open(data, "r+b") as fh:
        fh.truncate(10)
    second = run("two")
    assert second["status"] == "ok", second["error"]
    assert second["export"]["cache_hit"] is False
    notes = [f["detail"] for f in second["flags"] if f["kind"] == "backend_note"]
    assert any(f"export cache entry {entry.path.name} was rebuilt: model.onnx.data is 10 bytes" in n for n in notes), notes
    assert cache.verify(cache.list_entries(tmp_path / "cache")[0]) is None


@pytest.mark.parametrize("mb", [45])
def test_verification_cost_on_a_resnet18_sized_entry_is_small(tmp_path, mb):
    """The price of checking: a stat per file while the mtime is unchanged, a SHA-256 pass when not
    (~45 MB is resnet18's weights file). Printed for the record; bounded loosely."""
    folder = tmp_path / "e"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"m" * 1000)
    (folder / "model.onnx.data").write_bytes(os.urandom(mb << 20))
    records = cache.record_files(folder, ["model.onnx", "model.onnx.data"])
    t0 = time.perf_counter()
    for _ in range(100):
        assert cache.check_files(folder, records) is None
    fast_ms = (time.perf_counter() - t0) * 10
    cache._HASHED.clear()
    data = folder / "model.onnx.data"
    os.utime(data, ns=(time.time_ns(), time.time_ns() + 1))
    t0 = time.perf_counter()
    assert cache.check_files(folder, records) is None
    hash_ms = (time.perf_counter() - t0) * 1000
    print(f"verify {mb} MB entry: stat path {fast_ms:.3f} ms, hash path {hash_ms:.1f} ms")
    assert fast_ms < 5 and hash_ms < 5000
