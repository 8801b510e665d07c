"""What `bench report` and `bench compare` are given, through the installed `bench` (issue 23): one
run given twice is read once, and says so; a summary that disagrees with its own samples is
refused; a candidate missing the baseline's cases fails the gate (exit 1), as the README says,
also when it holds no case at all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from console_script import installed_bench, usage_error

from suite.results.io import load_results, save_results

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "results"
BASE = FIXTURES / "regression-base.json"


def _case_rows(md: str) -> list[str]:
    """The Markdown report's per-model case rows (one per case and table it appears in)."""
    return [line for line in md.splitlines() if line.startswith("| Core i7")]


def test_one_run_given_twice_is_read_once_and_said(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(BASE, out / "results-a.json")
    # the same run, cut short: the copy an interrupted run left before it was resumed
    partial = load_results(BASE)
    partial.cases = partial.cases[:4]
    partial.comparisons = [c for c in partial.comparisons
                           if {c.baseline_case, c.candidate_case} <= {k.id for k in partial.cases}]
    save_results(partial, tmp_path / "partial.json")
    once = tmp_path / "once"
    res = installed_bench("report", "partial.json", "out", str(out / "results-a.json"), "-o", str(once),
                          "--format", "md", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Read 1 results file:" in res.stdout
    err = " ".join(res.stderr.split())
    # the folder and the file in it name one file (two spellings); the partial copy names the same run
    assert (f"read once partial.json: the same run (regression-1) as out/results-a.json, which is read instead; "
            "results-a.json holds more of its cases (8 vs 4)") in err, err
    assert f"read once {out / 'results-a.json'}: the same run (regression-1) as out/results-a.json" in err, err
    single = tmp_path / "single"
    assert installed_bench("report", str(BASE), "-o", str(single), "--format", "md").returncode == 0
    assert _case_rows((once / "report.md").read_text()) == _case_rows((single / "report.md").read_text())


def _tampered(tmp_path: Path) -> tuple[Path, str]:
    data = json.loads(BASE.read_text())
    case = data["cases"][2]
    case["latency"]["summary"]["median_ms"] = 1e308
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(data))
    return path, case["id"]


def test_a_summary_that_disagrees_with_its_samples_is_refused(tmp_path):
    path, _ = _tampered(tmp_path)
    expected = ("field 'cases.2.latency': Value error, latency.summary.median_ms (1e+308 ms) is not the median of "
                "its 40 samples")
    for args in (["report", str(path), "-o", str(tmp_path / "r")], ["compare", str(BASE), str(path)],
                 ["run", "--resume", str(path)]):
        text = usage_error(installed_bench(*args))
        assert expected in text and "changed after the run" in text, (args, text)


def test_a_candidate_without_the_baselines_cases_fails_the_gate(tmp_path):
    empty = load_results(BASE)
    empty.cases, empty.comparisons = [], []  # a run stopped before its first case finished
    save_results(empty, tmp_path / "empty.json")
    res = installed_bench("compare", str(BASE), str(tmp_path / "empty.json"))
    assert res.returncode == 1, (res.stdout, res.stderr)
    out = " ".join(res.stdout.split())
    assert "Missing from the candidate (8), measured in the baseline: resnet18 · eager · batch 1" in out
    assert "The gate fails: 8 baseline case(s) missing, 0 failed." in out
    assert "holds no case at all" in out and "Traceback" not in res.stderr
    # the other way round there is nothing to hold the candidate to: a usage error
    assert "holds no measured case" in usage_error(installed_bench("compare", str(tmp_path / "empty.json"),
                                                                   str(BASE)))
