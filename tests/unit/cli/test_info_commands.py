"""suite.cli.info_commands: `bench models`, `bench env` and `bench schema`, run in-process through
a Typer app. The schema is the contract's own, the environment this machine's (hostname from the
platform module), the model list the registry's with the counts it records."""

from __future__ import annotations

import json
import platform
from importlib import metadata

from console_script import blocker, installed_bench
from typer.testing import CliRunner

from suite.cli import info_commands
from suite.results.schema import Environment, json_schema


def test_schema_prints_the_results_contract(app_of):
    res = CliRunner().invoke(app_of(info_commands), ["schema"])
    assert res.exit_code == 0 and json.loads(res.stdout) == json_schema()


def test_env_json_is_this_machines_environment(app_of):
    res = CliRunner().invoke(app_of(info_commands), ["env", "--json"])
    env = Environment.model_validate_json(res.stdout)
    assert env.hostname == platform.node() and env.machine == platform.machine()


def test_models_lists_the_matching_registry_entries_with_their_counts(app_of):
    res = CliRunner(env={"COLUMNS": "250"}).invoke(app_of(info_commands), ["models", "digits-*"])
    assert res.exit_code == 0, res.stdout
    assert "2 model(s)" in res.stdout and "digits-cnn-small" in res.stdout
    # built on the meta device: 6,090 and 666 parameters (suite.cli.summary.fmt_count: 6.09k, 666)
    assert "6.09k" in res.stdout and " 666 " in res.stdout
    res = CliRunner().invoke(app_of(info_commands), ["models", "no-such-*", "--no-count"])
    assert "0 model(s)" in res.stdout


def test_env_lists_each_backends_runtimes_and_what_a_missing_one_needs(tmp_path):
    res = installed_bench("env", env_extra=blocker(tmp_path, "executorch", "openvino"), columns=250)
    assert res.returncode == 0, res.stderr
    lines = {line.split("│")[1].strip(): line for line in res.stdout.splitlines() if line.count("│") == 4}
    assert "not installed (executorch): pip install 'bench-suite[executorch]'" in lines["executorch-int8"]
    assert "not installed (openvino): pip install 'bench-suite[openvino]'" in lines["openvino"]
    assert "ready" in lines["ort"] and f"torch {metadata.version('torch')}" in lines["eager"]

