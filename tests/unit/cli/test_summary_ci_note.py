"""The terminal summary says what a one-process CI covers, and stays quiet once --repeats pooled
several processes (whose CI covers re-runs: README, measured with benchmarks/rigor.py)."""

from __future__ import annotations

from pathlib import Path

from suite.cli.summary import print_summary
from suite.results.io import load_results

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "results" / "laptop-x86.json"


def _with_repeats(run, k: int):
    cases = []
    for c in run.cases:
        if c.latency is not None:
            c = c.model_copy(update={"latency": c.latency.model_copy(update={"repeats": k})})
        cases.append(c)
    return run.model_copy(update={"cases": cases})


def test_one_process_ci_is_called_that_and_points_at_repeats(capsys):
    run = load_results(FIXTURE)
    assert any(c.latency is not None for c in run.cases)
    print_summary(_with_repeats(run, 1))
    out = " ".join(capsys.readouterr().out.split())
    assert "from this process's samples only" in out and "--repeats 3" in out


def test_no_note_when_every_case_pooled_several_processes(capsys):
    print_summary(_with_repeats(load_results(FIXTURE), 3))
    assert "samples only" not in capsys.readouterr().out
