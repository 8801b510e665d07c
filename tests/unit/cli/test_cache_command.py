"""suite.cli.cache_command: `bench cache ls|clear` on a real export cache folder written with the
cache's own store functions. The folder comes from --dir, else a config file's ort.cache_dir."""

from __future__ import annotations

from typer.testing import CliRunner

from suite.backends.ort import cache
from suite.cli import cache_command


def test_the_folder_comes_from_dir_then_the_config_file_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "env"))
    cfg = tmp_path / "bench.toml"
    cfg.write_text(f'[ort]\ncache_dir = "{tmp_path / "cfg"}"\n')
    assert cache_command.resolve_root(tmp_path / "dir", cfg) == tmp_path / "dir"
    assert cache_command.resolve_root(None, cfg) == tmp_path / "cfg"
    assert cache_command.resolve_root(None, None) == tmp_path / "env"


def test_ls_shows_a_remembered_failure_and_clear_failed_forgets_only_it(app_of, tmp_path):
    def export(folder):
        (folder / cache.MODEL_FILE).write_bytes(b"x" * 2048)
        return {"export_s": 2.5, "opset": 18}

    cache.store(tmp_path, "resnet18", "k1", {"model": "resnet18", "exporter": "dynamo"}, export)
    cache.store_failure(tmp_path, "longformer", "k2", {"model": "longformer"}, "export", "guard on seq_len failed")
    runner = CliRunner(env={"COLUMNS": "250"})
    res = runner.invoke(app_of(cache_command), ["cache", "ls", "--dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "2 entries" in res.output and "failed: export" in res.output
    assert "longformer" in res.output and "guard on seq_len failed" in res.output
    res = runner.invoke(app_of(cache_command), ["cache", "clear", "--failed", "--dir", str(tmp_path)])
    assert "Removed 1 entry" in res.output
    assert [e.model for e in cache.list_entries(tmp_path)] == ["resnet18"]
