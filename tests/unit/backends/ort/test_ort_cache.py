"""The export cache on disk and `bench cache ls|clear`, on real folders."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from suite.backends.ort import cache
from suite.cli import cache_command as cache_cli
from suite.errors import BenchError


def _fake_export(content: bytes = b"onnx-bytes"):
    def build(folder: Path) -> dict:
        (folder / cache.MODEL_FILE).write_bytes(content)
        (folder / (cache.MODEL_FILE + ".data")).write_bytes(b"w" * 100)
        return {"export_s": 1.5, "opset": 18}

    return build


# --------------------------------------------------------------------------- where


def test_root_precedence_config_then_env_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(cache.ENV_VAR, raising=False)
    assert cache.cache_root() == tmp_path / "xdg" / "bench" / "onnx"
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "env"))
    assert cache.cache_root() == tmp_path / "env"
    assert cache.cache_root(str(tmp_path / "cfg")) == tmp_path / "cfg"


def test_default_root_is_under_home_cache(monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv(cache.ENV_VAR, raising=False)
    assert cache.cache_root() == Path(os.path.expanduser("~")) / ".cache" / "bench" / "onnx"


def test_digest_ignores_key_order_and_sees_every_value():
    a = {"exporter": "dynamo", "opset": None, "model": {"name": "m", "weights": "ab"}}
    b = {"model": {"weights": "ab", "name": "m"}, "opset": None, "exporter": "dynamo"}
    assert cache.digest(a) == cache.digest(b)
    assert len(cache.digest(a)) == 16
    assert cache.digest(a) != cache.digest({**a, "opset": 18})
    assert cache.digest(a) != cache.digest({**a, "model": {"name": "m", "weights": "ac"}})


# --------------------------------------------------------------------------- store / lookup


def test_store_then_lookup_returns_the_same_files(tmp_path):
    assert cache.lookup(tmp_path, "resnet18", "k1") is None
    entry = cache.store(tmp_path, "resnet18", "k1", {"model": "resnet18", "exporter": "dynamo"}, _fake_export())
    assert entry.path.name == "resnet18-k1"
    assert entry.model_path.read_bytes() == b"onnx-bytes"
    again = cache.lookup(tmp_path, "resnet18", "k1")
    assert again is not None and again.path == entry.path
    assert again.meta["export_s"] == 1.5 and again.meta["opset"] == 18 and again.meta["status"] == "ok"
    assert not again.failed
    assert again.size_bytes() == len(b"onnx-bytes") + 100 + (entry.path / cache.META_FILE).stat().st_size
    # Nothing but the entry is left in the root.
    assert [p.name for p in tmp_path.iterdir()] == ["resnet18-k1"]


def test_a_failed_build_leaves_nothing_behind(tmp_path):
    def broken(folder: Path) -> dict:
        (folder / cache.MODEL_FILE).write_bytes(b"half")
        raise RuntimeError("exporter crashed")

    with pytest.raises(RuntimeError):
        cache.store(tmp_path, "m", "k", {"model": "m"}, broken)
    assert list(tmp_path.iterdir()) == []
    assert cache.lookup(tmp_path, "m", "k") is None


def test_folder_without_meta_or_model_is_not_an_entry(tmp_path):
    (tmp_path / "m-k").mkdir()
    assert cache.lookup(tmp_path, "m", "k") is None
    (tmp_path / "m-k" / cache.META_FILE).write_text(json.dumps({"key": "k", "status": "ok"}))
    assert cache.lookup(tmp_path, "m", "k") is None  # status ok but no model.onnx
    (tmp_path / "m-k" / cache.META_FILE).write_text("{not json")
    assert cache.lookup(tmp_path, "m", "k") is None


def test_failure_entries_are_remembered_and_replaced_by_a_later_success(tmp_path):
    cache.store_failure(tmp_path, "longformer", "k", {"model": "longformer", "exporter": "dynamo"}, "export", "guard failed")
    hit = cache.lookup(tmp_path, "longformer", "k")
    assert hit is not None and hit.failed
    assert hit.meta["error"] == {"kind": "export", "message": "guard failed"}
    cache.store(tmp_path, "longformer", "k", {"model": "longformer"}, _fake_export())
    hit = cache.lookup(tmp_path, "longformer", "k")
    assert hit is not None and not hit.failed and hit.model_path.is_file()


def test_unwritable_root_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(BenchError, match="Cannot write to the ONNX export cache"):
        cache.store(blocker / "sub", "m", "k", {}, _fake_export())


def test_entry_folder_names_are_readable_and_safe(tmp_path):
    assert cache.entry_dir(tmp_path, "hf:bert:num_hidden_layers=2", "k").name == "hf_bert_num_hidden_layers_2-k"
    assert cache.entry_dir(tmp_path, "/some/dir/my model.onnx", "k").name == "my_model.onnx-k"


def test_write_file_atomic_leaves_no_partial_file(tmp_path):
    target = tmp_path / "model.int8.onnx"

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        raise ValueError("quantiser failed")

    with pytest.raises(ValueError):
        cache.write_file_atomic(target, broken)
    assert list(tmp_path.iterdir()) == []
    cache.write_file_atomic(target, lambda tmp: tmp.write_bytes(b"int8"))
    assert target.read_bytes() == b"int8" and [p.name for p in tmp_path.iterdir()] == [target.name]


# --------------------------------------------------------------------------- listing / clearing


def _populate(root: Path) -> None:
    cache.store(root, "resnet18", "a1", {"model": "resnet18", "exporter": "dynamo"}, _fake_export())
    cache.store(root, "resnet50", "b2", {"model": "resnet50", "exporter": "torchscript"}, _fake_export())
    cache.store_failure(root, "longformer-base-4096", "c3", {"model": "longformer-base-4096", "exporter": "dynamo"},
                        "export", "data-dependent guard")


def test_list_and_clear_by_pattern_and_failures(tmp_path):
    _populate(tmp_path)
    assert [e.model for e in cache.list_entries(tmp_path)] == ["longformer-base-4096", "resnet18", "resnet50"]
    assert [e.model for e in cache.list_entries(tmp_path, "resnet*")] == ["resnet18", "resnet50"]
    removed = cache.clear_entries(tmp_path, failed_only=True)
    assert [e.model for e in removed] == ["longformer-base-4096"]
    removed = cache.clear_entries(tmp_path, "resnet5*")
    assert [e.model for e in removed] == ["resnet50"]
    assert [e.model for e in cache.list_entries(tmp_path)] == ["resnet18"]
    assert cache.list_entries(tmp_path / "missing") == []


def test_clear_all_removes_stale_leftovers_but_not_fresh_ones(tmp_path):
    _populate(tmp_path)
    stale, fresh = tmp_path / ".tmp-stale", tmp_path / ".tmp-fresh"
    stale.mkdir()
    fresh.mkdir()
    old = time.time() - cache.STALE_TMP_S - 10
    os.utime(stale, (old, old))
    cache.clear_entries(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-fresh"]


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    cache_cli.register(app)
    return app


def test_cli_ls_shows_entries_sizes_and_failures(app, tmp_path):
    _populate(tmp_path)
    res = CliRunner().invoke(app, ["cache", "ls", "--dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    out = res.output
    for text in ("resnet18", "resnet50", "torchscript", "failed: export", "3 entries", "data-dependent guard"):
        assert text in out
    one = CliRunner().invoke(app, ["cache", "ls", "resnet18", "--dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert "1 entry" in one.output and "resnet50" not in one.output


def test_cli_ls_empty_and_clear(app, tmp_path):
    res = CliRunner().invoke(app, ["cache", "ls", "--dir", str(tmp_path)])
    assert res.exit_code == 0 and "No cached exports" in res.output
    _populate(tmp_path)
    res = CliRunner().invoke(app, ["cache", "clear", "--failed", "--dir", str(tmp_path)])
    assert res.exit_code == 0 and "Removed 1 entry" in res.output
    res = CliRunner().invoke(app, ["cache", "clear", "--dir", str(tmp_path)])
    assert "Removed 2 entries" in res.output
    assert cache.list_entries(tmp_path) == []


def test_cli_reads_cache_dir_from_config_and_env(app, tmp_path, monkeypatch):
    cfg_root, env_root = tmp_path / "from-config", tmp_path / "from-env"
    cache.store(cfg_root, "cfgmodel", "k", {"model": "cfgmodel"}, _fake_export())
    cache.store(env_root, "envmodel", "k", {"model": "envmodel"}, _fake_export())
    cfg = tmp_path / "bench.toml"
    cfg.write_text(f'[ort]\ncache_dir = "{cfg_root}"\n')
    res = CliRunner().invoke(app, ["cache", "ls", "-c", str(cfg)], env={"COLUMNS": "200"})
    assert "cfgmodel" in res.output and "envmodel" not in res.output
    monkeypatch.setenv(cache.ENV_VAR, str(env_root))
    res = CliRunner().invoke(app, ["cache", "ls"], env={"COLUMNS": "200"})
    assert "envmodel" in res.output and "cfgmodel" not in res.output


def test_every_cache_command_has_help(app):
    wants = {"ls": ("List cached exports", "--dir", "--config"), "clear": ("--dir", "--config")}
    for cmd, needles in wants.items():
        res = CliRunner().invoke(app, ["cache", cmd, "--help"], env={"COLUMNS": "200"})
        assert res.exit_code == 0, res.output
        assert all(n in res.output for n in needles), (cmd, res.output)


def _folder_bytes(folder: Path) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(folder) for f in files)


def test_cli_clear_reports_the_bytes_it_freed(app, tmp_path):
    from suite.report.format import fmt_bytes

    cache.store(tmp_path, "big", "a1", {"model": "big"}, _fake_export(b"x" * (3 << 20)))
    cache.store(tmp_path, "small", "b2", {"model": "small"}, _fake_export(b"y" * (700 << 10)))
    cache.store_failure(tmp_path, "broken", "c3", {"model": "broken"}, "export", "guard failed")
    folders = {e.model: e.path for e in cache.list_entries(tmp_path)}
    sizes = {m: _folder_bytes(p) for m, p in folders.items()}
    assert sizes["big"] > 3 << 20 and sizes["small"] > 700 << 10 and 0 < sizes["broken"] < 4096

    res = CliRunner().invoke(app, ["cache", "clear", "--failed", "--dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and f"Removed 1 entry ({fmt_bytes(sizes['broken'])})" in res.output
    res = CliRunner().invoke(app, ["cache", "clear", "big", "--dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert f"Removed 1 entry ({fmt_bytes(sizes['big'])})" in res.output and not folders["big"].exists()
    res = CliRunner().invoke(app, ["cache", "clear", "--dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert f"Removed 1 entry ({fmt_bytes(sizes['small'])})" in res.output and fmt_bytes(sizes["small"]).endswith(" KiB")  # 700 KiB of model + meta.json
    assert cache.list_entries(tmp_path) == []
