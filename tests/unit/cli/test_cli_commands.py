"""The CLI is thin: `bench run`'s flags take their help from the configuration fields they set
(one source for what a setting means), and every command is a plain function that can be
called without the command line."""

from __future__ import annotations

import inspect
import json

import pytest
import typer.main
from typer.testing import CliRunner

from suite.cli import app, info_commands, run_command, verify_command
from suite.cli.run_flags import RUN_FLAGS, config_field, flag_help
from suite.errors import BenchError, ConfigError

# `bench run` flags that set no configuration field: they say which run to continue and how.
NOT_CONFIG = {"config", "resume", "force", "trust_config"}


def _run_command():
    return typer.main.get_command(app).commands["run"]


def _flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def test_every_run_flag_that_sets_a_field_names_it():
    params = {p.name for p in _run_command().params} - {"help"}
    assert params - NOT_CONFIG == set(RUN_FLAGS)
    for name, flag in RUN_FLAGS.items():
        config_field(flag.path)  # KeyError: the table names a field the configuration does not have
    with pytest.raises(KeyError):
        config_field("energy.no_such_field")


def test_a_flag_says_what_it_sets_in_one_place():
    """A flag whose field has a description shows that description and declares no help of its
    own; a flag declares its own help only while its field has none."""
    declared = {p.name: p.help for p in _run_command().params}
    for name, flag in RUN_FLAGS.items():
        description = config_field(flag.path).description
        if description:
            assert declared[name] is None, f"--{name} rewords {flag.path}'s description"
            assert description[1:] in (flag_help(flag) or "")
        else:
            assert declared[name], f"--{name} has no help and {flag.path} no description"
            assert flag_help(flag) is None


def test_run_help_shows_the_field_descriptions():
    res = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    shown = _flat(res.output)
    described = {name: flag for name, flag in RUN_FLAGS.items() if config_field(flag.path).description}
    assert len(described) >= 10
    for name, flag in described.items():
        assert _flat(flag_help(flag)) in shown, name
    assert "Intra-op threads for torch and ORT (default: physical cores)." in shown
    assert ("Sets interleave = false (interleave: time the backends of one model x batch x size in alternating "
            "rounds in one worker") in shown


def test_commands_are_plain_functions(capsys, tmp_path, monkeypatch):
    from suite.results.schema import json_schema

    info_commands.schema_cmd()
    assert json.loads(capsys.readouterr().out) == json_schema()

    with pytest.raises(BenchError, match="No results file at"):
        verify_command.verify_cmd(tmp_path / "missing.json")

    # bench run as a call: its defaults are plain values, and the flags reach the configuration
    import suite.run.resume_target

    seen = []
    monkeypatch.setattr(run_command, "execute_run", lambda cfg, **kw: seen.append((cfg, kw)))
    monkeypatch.setattr(suite.run.resume_target, "new_run_output", lambda cfg, out, force: tmp_path / "r.json")
    run_command.run_cmd(model=["resnet18"], backends="eager", batch_sizes="1,2", meter="RPi5", no_peaks=True,
                        out=tmp_path)
    (cfg, kw), = seen
    assert [m.name for m in cfg.models] == ["resnet18"] and cfg.backends == ["eager"] and cfg.batch_sizes == [1, 2]
    assert cfg.energy.meter == "RPi5" and cfg.peaks is False and kw == {"output": tmp_path / "r.json"}
    with pytest.raises(ConfigError, match="--trust-config goes with --resume"):
        run_command.run_cmd(model=["resnet18"], trust_config=True)


def test_every_command_is_a_module_level_function():
    group = typer.main.get_command(app)
    commands = [cmd for cmd in group.commands.values() if not isinstance(cmd, typer.core.TyperGroup)]
    commands += [sub for cmd in group.commands.values() if isinstance(cmd, typer.core.TyperGroup)
                 for sub in cmd.commands.values()]
    assert len(commands) >= 14
    for cmd in commands:
        fn = inspect.unwrap(cmd.callback)
        assert "<locals>" not in fn.__qualname__, f"{cmd.name}: {fn.__qualname__}"
        assert getattr(inspect.getmodule(fn), fn.__name__) is fn


def test_bench_cold_start_env_acts_as_the_flag(tmp_path, monkeypatch):
    import suite.run.resume_target

    seen = []
    monkeypatch.setattr(run_command, "execute_run", lambda cfg, **kw: seen.append(cfg))
    monkeypatch.setattr(suite.run.resume_target, "new_run_output", lambda cfg, out, force: tmp_path / "r.json")
    for value, expected in (("0", False), ("off", False), ("1", True), ("", True)):
        monkeypatch.setenv("BENCH_COLD_START", value)
        run_command.run_cmd(model=["resnet18"], backends="eager", no_peaks=True, out=tmp_path)
        assert seen.pop().app.cold_start is expected, value
    monkeypatch.setenv("BENCH_COLD_START", "1")
    run_command.run_cmd(model=["resnet18"], backends="eager", no_peaks=True, no_cold_start=True, out=tmp_path)
    assert seen.pop().app.cold_start is False  # the flag wins over 1
