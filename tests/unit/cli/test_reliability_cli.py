"""Bad input to `bench run`, as a user types it: each gets one paragraph on stderr saying
what is wrong and what to do, exit status 2, and no traceback (unless --debug)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from console_script import blocker, installed_bench

from suite.results.schema import SCHEMA_VERSION

FIX = Path(__file__).parents[2] / "fixtures"
BAD = FIX / "results" / "bad"
FAST = ["--no-energy", "--no-report"]


def bench(*args: str, env_extra: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1", COLUMNS="300", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "suite", *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=cwd)


def assert_one_paragraph(res: subprocess.CompletedProcess, *needles: str) -> str:
    assert res.returncode == 2, (res.returncode, res.stderr)
    text = res.stderr.strip()
    assert "Traceback" not in text, text
    assert text.startswith("error: "), text
    assert "\n\n" not in text  # one paragraph (long lines may wrap, never break into sections)
    flat = " ".join(text.split())
    for needle in needles:
        assert needle in flat, flat
    return flat



def test_unknown_model(tmp_path):
    res = bench("run", "--model", "resnet-18", "-o", str(tmp_path), *FAST)
    assert_one_paragraph(res, "Unknown model 'resnet-18'", "Did you mean", "resnet18", "bench models")
    assert not list(tmp_path.glob("results-*.json"))


def test_malformed_config_file(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('models = ["resnet18"\nthreads = 2\n')
    assert_one_paragraph(bench("run", "-c", str(cfg), "-o", str(tmp_path), *FAST), f"{cfg} is not valid TOML", "line")


@pytest.mark.parametrize("body, needles", [
    ('models = ["resnet18"]\n[timing]\nmin_time_s = 5\nmax_time_s = 1\n', ["'timing'", "max_time_s (1.0) is below timing.min_time_s (5.0)"]),
    ('models = ["resnet18"]\nisolation = "inline"\nworker_memory_limit_mb = 512\n', ["worker_memory_limit_mb needs isolation = 'process'"]),
    ('models = ["resnet18"]\ncase_timeout_s = inf\n', ["'case_timeout_s'", "finite number"]),
    ('models = ["resnet18"]\nbatchsizes = [1]\n', ["'batchsizes': unknown field; allowed:", "batch_sizes"]),
])
def test_contradictory_or_invalid_config(tmp_path, body, needles):
    cfg = tmp_path / "c.toml"
    cfg.write_text(body)
    assert_one_paragraph(bench("run", "-c", str(cfg), "-o", str(tmp_path), *FAST), f"Invalid configuration in {cfg}", *needles)


@pytest.mark.parametrize("flag, needles", [
    ("--batch-sizes=0", ["'batch_sizes'", "batch sizes must be >= 1, got [0]"]),
    ("--batch-sizes=1,x", ["--batch-sizes takes a comma-separated list"]),
    ("--batch-sizes=-4", ["batch sizes must be >= 1, got [-4]"]),
])
def test_batch_size_the_model_cannot_take(tmp_path, flag, needles):
    assert_one_paragraph(bench("run", "--model", "resnet18", flag, "-o", str(tmp_path), *FAST), *needles)


def test_batch_size_a_fixed_batch_graph_cannot_take(tmp_path, onnx_dir):
    model = str(onnx_dir / "static_batch.onnx")
    res = bench("run", "--model", model, "--backends", "ort", "--batch-sizes", "1,4", "-o", str(tmp_path), *FAST)
    assert_one_paragraph(res, f"Model '{model}' takes batch size 1 only", "dimension 0 of input 'x' at 1",
                         "batch size 4 was asked for", "--batch-sizes 1", "batch_sizes = [1]")
    assert not list(tmp_path.glob("results-*.json"))  # refused before anything ran


def test_unwritable_output_folder(tmp_path):
    blocker_file = tmp_path / "a-file"
    blocker_file.write_text("not a folder")
    res = bench("run", "--model", "resnet18", "--backends", "eager", "-o", str(blocker_file / "out"), *FAST)
    assert_one_paragraph(res, f"Cannot create output folder {blocker_file / 'out'}", "Choose another with -o")


def test_missing_backend_dependency_names_the_extra(tmp_path):
    res = bench("run", "--model", "resnet18", "--backends", "eager,ort", "-o", str(tmp_path / "o"), *FAST,
                env_extra=blocker(tmp_path, "onnxruntime"))
    assert_one_paragraph(res, "The optional dependency 'onnxruntime' is not installed (needed for the ort backend)",
                         "pip install 'bench-suite[ort]'")
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").glob("results-*.json"))


def test_missing_model_dependency_names_the_extra(tmp_path):
    res = bench("run", "--model", "hf:bert", "--backends", "eager", "-o", str(tmp_path / "o"), *FAST,
                env_extra=blocker(tmp_path, "transformers"))
    assert_one_paragraph(res, "'transformers' is not installed", "pip install 'bench-suite[torch]'")


@pytest.mark.parametrize("name, needles", [
    ("truncated.json", ["truncated"]),
    ("foreign.json", ["not a bench results file"]),
    ("newer.json", [f"schema version 99 is newer than this suite understands ({SCHEMA_VERSION})", "pip install -U bench-suite"]),
])
def test_bad_results_file_to_resume(name, needles):
    res = bench("run", "--resume", str(BAD / name))
    assert_one_paragraph(res, f"Cannot read results file {BAD / name}:", *needles)


def test_binary_and_missing_results_files(tmp_path):
    blob = tmp_path / "results-x.json"
    blob.write_bytes(bytes(range(256)) * 4)
    assert_one_paragraph(bench("run", "--resume", str(blob)), "not UTF-8")
    assert_one_paragraph(bench("run", "--resume", str(tmp_path / "gone")), "Nothing to resume", "no such file or folder")


def test_existing_results_file_is_not_overwritten(tmp_path):
    target = tmp_path / "mine.json"
    target.write_text('{"keep": "me"}')
    res = bench("run", "--model", "resnet18", "--backends", "eager", "-o", str(target), *FAST)
    assert_one_paragraph(res, f"{target} already exists. Pass --force to overwrite it")
    assert target.read_text() == '{"keep": "me"}'


def test_debug_shows_the_traceback(tmp_path):
    res = bench("--debug", "run", "--model", "resnet-18", "-o", str(tmp_path), *FAST)
    assert res.returncode != 0
    assert "Traceback (most recent call last)" in res.stderr and "UnknownModelError" in res.stderr




def test_unknown_meter_through_the_installed_console_script(tmp_path):
    """`bench run --meter` as installed (the `bench` entry point next to this Python), before any
    case runs: one paragraph naming the choices and the closest names, exit status 2."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('models = ["resnet18"]\n[energy]\nmeter = "rpi5"\n')  # --meter overrides the file
    res = installed_bench("run", "-c", str(cfg), "--meter", "rapll", "-o", str(tmp_path), "--no-report",
                          cwd=tmp_path, timeout=120)
    flat = assert_one_paragraph(res, "--meter: Unknown energy meter 'rapll'", "Did you mean: rapl",
                                "Choose one of: auto, rapl, nvml, jetson, rpi5-pmic, estimate")
    assert "aliases: rpi5" in flat
    assert not list(tmp_path.glob("results-*.json"))


def test_unknown_meter_in_a_config_file_is_refused_before_running(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('models = ["resnet18"]\n[energy]\nmeter = "nvidai"\n')
    assert_one_paragraph(bench("run", "-c", str(cfg), "-o", str(tmp_path), "--no-report"),
                         f"Invalid configuration in {cfg}", "'energy.meter'", "Unknown energy meter 'nvidai'",
                         "Did you mean: nvidia", "Choose one of: auto, rapl")


def test_meter_flag_reaches_the_config(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import suite.cli.run_command
    import suite.run.resume_target
    from suite.cli import app

    seen = []
    monkeypatch.setattr(suite.cli.run_command, "execute_run", lambda cfg, **kw: seen.append(cfg))
    monkeypatch.setattr(suite.run.resume_target, "new_run_output", lambda cfg, out, force: tmp_path / "r.json")
    res = CliRunner().invoke(app, ["run", "-m", "resnet18", "--meter", "RPi5", "--region", "FRA", "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert seen[0].energy.meter == "RPi5" and seen[0].energy.region == "FRA"  # stored as typed; an alias of rpi5-pmic


# ----------------------------------------------------------------------------- through the installed script


def installed(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`bench ...` through the console script installed next to this Python, as a shell runs it."""
    return installed_bench(*args, cwd=cwd, timeout=timeout)


@pytest.mark.parametrize("name, body", [
    ("latin1.toml", 'models = ["r\xe9snet18"]\n'.encode("latin-1")),
    ("utf16.yaml", "models: [resnet18]\n".encode("utf-16")),
])
def test_config_file_that_is_not_utf8(tmp_path, name, body):
    cfg = tmp_path / name
    cfg.write_bytes(body)
    assert_one_paragraph(installed("run", "-c", str(cfg), "-o", str(tmp_path / "o"), *FAST),
                         f"Config file {cfg} is not UTF-8 text", "save it as UTF-8")
    assert not (tmp_path / "o").exists()


def test_duplicate_yaml_keys_are_refused(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("models: [resnet18]\nthreads: 2\nbackends: [eager]\nthreads: 4\n")
    assert_one_paragraph(installed("run", "-c", str(cfg), "-o", str(tmp_path / "o"), *FAST),
                         f"Config file {cfg} is not valid: key 'threads' is given twice", "line 4", "Remove one")
    nested = tmp_path / "n.yaml"
    nested.write_text("models: [resnet18]\ntiming:\n  min_iters: 5\n  min_iters: 50\n")
    assert_one_paragraph(installed("run", "-c", str(nested), "-o", str(tmp_path / "o"), *FAST),
                         "key 'min_iters' is given twice")


def test_a_flag_error_is_attributed_to_the_flags_not_the_preset(tmp_path):
    flat = assert_one_paragraph(installed("run", "-m", "resnet18", "--case-timeout", "-1", "-o", str(tmp_path), *FAST),
                                "Invalid configuration in the command-line flags: 'case_timeout_s'")
    assert "preset" not in flat
    cfg = tmp_path / "c.toml"
    cfg.write_text('models = ["resnet18"]\ncooldown_temp_c = -3\n')
    assert_one_paragraph(installed("run", "-c", str(cfg), "--case-timeout", "-1", "-o", str(tmp_path), *FAST),
                         f"Invalid configuration in the command-line flags and {cfg}: 'case_timeout_s'",
                         "'cooldown_temp_c'")


def _doctored(tmp_path: Path, how: str) -> Path:
    """regression-base.json (a valid file) with one impossible value, left unfinished so that
    --resume would take it."""
    import json

    doc = json.loads((FIX / "results" / "regression-base.json").read_text())
    doc["finished_at"] = None
    cases = doc["cases"]
    if how == "negative median":
        cases[1]["latency"]["summary"]["median_ms"] = -5.0
    elif how == "negative sample":
        cases[1]["latency"]["samples_ms"][3] = -0.5
    elif how == "duplicate case":
        cases.append(cases[2])
    elif how == "mismatched id":
        cases[1]["id"] = cases[0]["id"]
    path = tmp_path / "results-doctored.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("how, needles", [
    ("negative median", ["field 'cases.1.latency.summary.median_ms'", "greater than or equal to 0"]),
    ("negative sample", ["field 'cases.1.latency.samples_ms.3'", "greater than or equal to 0"]),
    ("duplicate case", ["cases.2 and cases.8 are the same case", "a run measures each case once"]),
    ("mismatched id", ["field 'cases.1'", "does not match its spec"]),
])
def test_impossible_values_are_refused_on_load_naming_file_and_field(tmp_path, how, needles):
    path = _doctored(tmp_path, how)
    assert_one_paragraph(installed("run", "--resume", str(path), cwd=tmp_path), f"Cannot read results file {path}:",
                         *needles)
    assert_one_paragraph(installed("compare", str(path), str(FIX / "results" / "regression-cand.json"), cwd=tmp_path),
                         f"Cannot read results file {path}:", *needles)
    res = installed("report", str(path), str(FIX / "results" / "regression-cand.json"), "-o",
                    str(tmp_path / "r" / "report.html"), "--no-figures", "-f", "md", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    flat = " ".join(res.stderr.split())
    assert f"skipped {path}:" in flat and all(n in flat for n in needles), flat
    assert "-5.00" not in (tmp_path / "r" / "report.md").read_text()
