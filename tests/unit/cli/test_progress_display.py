"""suite.cli.progress: the live progress of `bench run`, fed the runner's real event records
(CaseSpec and CaseResult) and printed by rich to a captured stderr."""

from __future__ import annotations

from pathlib import Path

from report_builders import case

from suite.cli.progress import RunProgress
from suite.results.io import load_results
from suite.results.schema import ErrorInfo
from suite.run.events import BaselineWindow, CaseEnded, CaseStarted, CoolingDown, RunEnded, RunStarted, RunWarning

RUN = load_results(Path(__file__).resolve().parents[2] / "fixtures" / "results" / "laptop-x86.json")


def test_a_run_prints_its_file_its_failures_and_its_warnings(capsys, tmp_path):
    ok = case("resnet18", 1, [10.0, 11.0, 12.0])
    failed = case("mobilenet_v2", 1, [1.0, 1.0, 1.0], status="failed",
                  error=ErrorInfo(kind="crash", message="worker died from SIGABRT\nsecond line"))
    parity = case("mobilenet_v2", 1, [1.0, 1.0, 1.0], backend="ort", status="parity_failed",
                  error=ErrorInfo(kind="parity", message="max rel error 0.2 > 0.001"))
    with RunProgress() as progress:
        progress.on_event(RunStarted(total=4, todo=3, path=tmp_path / "results.json", run=RUN))
        progress.on_event(CaseStarted(index=0, case=ok.spec, group=(ok.spec, parity.spec), repeat=0, repeats=2))
        assert progress.progress.tasks[0].fields["current"] == (
            f"{ok.spec.label} + ort (interleaved), process 1/2")
        for i, r in enumerate((ok, failed, parity)):
            progress.on_event(CaseEnded(index=i, result=r))
        progress.on_event(RunWarning(message="swap [in use]"))
        progress.on_event(RunEnded(path=tmp_path / "results.json", run=RUN))
        task = progress.progress.tasks[0]
        assert (task.completed, task.total) == (4, 4)  # one case was done before, three now
    err = capsys.readouterr().err
    assert f"Results: {tmp_path / 'results.json'}  (3 case(s) to run)" in err
    assert f"failed {failed.spec.label}: worker died from SIGABRT" in err and "second line" not in err
    assert f"parity failed {parity.spec.label}: max rel error 0.2 > 0.001" in err
    assert "warning: swap [in use]" in err


def test_cooldown_and_baseline_show_in_the_current_column():
    with RunProgress() as progress:
        progress.on_event(RunStarted(total=1, todo=1, path=Path("r.json"), run=RUN))
        progress.on_event(CoolingDown(temp_c=81.26, target_c=60, waited_s=12.4, max_s=600))
        assert progress.progress.tasks[0].fields["current"] == "cooling down: 81.3 °C > 60 °C (12/600 s)"
        progress.on_event(BaselineWindow(seconds=2.0))
        assert progress.progress.tasks[0].fields["current"] == "idle power baseline (2 s)"
