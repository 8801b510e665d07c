"""suite.machine.audit_store: where `bench audit` keeps its verdicts. A saved audit comes back for
this machine and thread count only; anything else in the folder (another key, a huge file, a
folder, a file that does not validate) is never taken on trust."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from suite.machine import audit_store
from suite.results.schema import AuditCase, FairnessAudit


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(audit_store.ENV_VAR, str(tmp_path / "audits"))
    return tmp_path / "audits"


def _audit(threads: int, key: str | None = None) -> FairnessAudit:
    case = AuditCase(model="m", backend="eager", batch_size=1, interleaved_ms=[1.0], alone_ms=[1.01], bare_ms=[0.99])
    return FairnessAudit(measured_at=datetime(2026, 1, 1, tzinfo=timezone.utc), threads=threads, pairs=1,
                         tolerance=0.07, duration_s=3.0, key=key if key is not None else audit_store.cache_key(threads),
                         method="test", cases=[case])


def test_a_saved_audit_comes_back_for_its_thread_count_only(store):
    audit = _audit(2)
    path = audit_store.save(audit)
    assert path == store / f"{audit.key}.json"
    assert [p.name for p in store.iterdir()] == [path.name]  # no temporary left
    assert audit_store.load_for(2) == audit
    assert audit_store.load_for(3) is None


def test_the_key_names_the_machine_threads_and_library_versions():
    from suite.machine.environment import package_versions

    a, b = audit_store.cache_key(1), audit_store.cache_key(2)
    assert a != b and len(a) == 16 and a == audit_store.cache_key(1)
    assert package_versions().get("torch")  # the versions the key covers are known here


def test_files_that_are_not_this_machines_audit_are_ignored(store):
    good = _audit(2)
    path = audit_store.save(good)
    # a file renamed onto this machine's key but made for another key
    path.write_text(_audit(2, key="0" * 16).model_dump_json())
    assert audit_store.load_for(2) is None
    # not JSON, a folder, an oversized file
    path.write_text("{ not json")
    assert audit_store.load_for(2) is None
    path.unlink()
    path.mkdir()
    assert audit_store.load_for(2) is None
    path.rmdir()
    with open(path, "wb") as fh:
        fh.truncate(audit_store.MAX_FILE_BYTES + 1)
    assert audit_store.load_for(2) is None


def test_an_unwritable_place_keeps_nothing_and_raises_nothing(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(audit_store.ENV_VAR, str(blocker / "audits"))
    assert audit_store.save(_audit(1)) is None


def test_the_default_place_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv(audit_store.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert audit_store.cache_dir() == tmp_path / "bench" / "audit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert str(audit_store.cache_dir()) == os.path.join(os.path.expanduser("~"), ".cache", "bench", "audit")
