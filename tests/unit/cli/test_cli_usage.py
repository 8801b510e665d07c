"""Usage errors of the installed `bench` command (an unknown option or command, a value of the
wrong type, a missing argument): one paragraph on stderr, exit status 2, never a traceback.

`bench compare` gives status 1 to a regression, so in CI a typo that exited 1 would read as one.
These drive the console script the way a shell does; CliRunner would not see what `main()` does.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from console_script import installed_bench
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[3]
RESULTS = REPO / "tests" / "fixtures" / "results"


def bench(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return installed_bench(*args, cwd=cwd, timeout=timeout)


def one_paragraph(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    text = res.stderr.strip()
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    assert text.startswith("error: ") and "\n\n" not in text, text
    return " ".join(text.split())


@pytest.mark.parametrize("args, needles", [
    (["run", "--bogus-flag"], ["No such option: --bogus-flag", "bench run --help"]),
    (["run", "--threads", "abc"], ["'--threads'", "valid integer"]),
    (["nosuch"], ["No such command 'nosuch'", "bench --help"]),
    (["compare", str(RESULTS / "regression-base.json")], ["Missing argument 'candidate'"]),
    (["compare", "A", "B", "--threshold", "-1"], ["'--threshold'", "greater than or equal to 0"]),
    (["run", "--model"], ["'--model' requires an argument"]),
    (["run", "--repeats", "0"], ["'--repeats'", "greater than or equal to 1"]),
    (["report", "x.json", "--format"], ["'--format' requires an argument"]),
])
def test_usage_errors_exit_2_in_one_paragraph(tmp_path, args, needles):
    flat = one_paragraph(bench(*args, cwd=tmp_path))
    for needle in needles:
        assert needle in flat, flat


@pytest.mark.parametrize("args", [[], ["compare"], ["report"]])
def test_a_command_without_its_arguments_shows_its_help_and_exits_2(tmp_path, args):
    res = bench(*args, cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "Usage:" in res.stderr + res.stdout


def test_help_still_exits_0(tmp_path):
    for args in (["--help"], ["run", "--help"], ["compare", "--help"]):
        res = bench(*args, cwd=tmp_path)
        assert res.returncode == 0 and "Usage:" in res.stdout, (args, res.stderr)


# ----------------------------------------------------------------------------- property


# Tokens a person might type, valid and not. Every `run` gets `-o` under a regular file appended
# last, so even a valid combination is refused (exit 2) before any case is measured.
_OPTIONS = ["--threads", "--batch-sizes", "-b", "--model", "-m", "--backends", "--input-sizes", "--meter",
            "--device", "--case-timeout", "--cooldown", "--opset", "--exporter", "--resume", "--config", "-c",
            "--threshold", "-t", "--metric", "--alpha", "--format", "-f", "--no-energy", "--no-report",
            "--inline", "--force", "--pretrained", "--bogus", "-x", "--", "--help-me", "--debug-ish"]
_VALUES = ["abc", "-1", "0", "2", "1,2", "1,x", "nan", "inf", "1e999", "resnet-18", "resnet18", "eager", "ortt",
           "cuda", "cpu", "latency", "energy", "bogus", "/nonexistent/r.json", "", " ", "é", "\u202e",
           str(RESULTS / "regression-base.json"), str(RESULTS / "regression-cand.json"),
           str(RESULTS / "bad" / "truncated.json")]
_COMMANDS = ["run", "compare", "report", "nosuch", "schema", "cache"]

_token = st.one_of(st.sampled_from(_OPTIONS), st.sampled_from(_VALUES),
                   st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(_COMMANDS), args=st.lists(_token, max_size=5))
def test_generated_command_lines_never_trace_back(tmp_path, command, args):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    tail: list[str] = []
    if command == "run":
        tail = ["-o", str(blocker / "out"), "--no-report"]
    elif command == "report":
        tail = ["-o", str(blocker / "out" / "r.html")]
    elif command == "cache":  # `ls` only reads, and only a folder of this test
        args, tail = ["ls", *args], ["--dir", str(tmp_path / "cache")]
    res = bench(command, *args, *tail, cwd=tmp_path)
    out = res.stdout + res.stderr
    assert "Traceback (most recent call last)" not in out, (command, args, out)
    allowed = {0, 2} | ({1} if command == "compare" else set())
    assert res.returncode in allowed, (command, args, res.returncode, out)
    if res.returncode == 1:  # compare: only a gate that failed, and it says why
        assert "regression" in res.stdout or "missing" in res.stdout or "failed" in res.stdout, res.stdout


def test_a_bad_bench_cold_start_value_is_one_paragraph(tmp_path):
    res = installed_bench("run", "-m", "resnet18", "--no-peaks", cwd=tmp_path, env_extra={"BENCH_COLD_START": "maybe"})
    flat = one_paragraph(res)
    assert "BENCH_COLD_START='maybe' is neither 0 nor 1" in flat and "--no-cold-start" in flat, flat
