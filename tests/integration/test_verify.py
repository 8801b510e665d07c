"""`bench verify RESULTS` through the installed console script: a real run on this machine,
re-run under the trust rules of --resume, judged per case, with the exit status a CI job reads
(0 replicates, 1 does not, 2 cannot be verified here)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from console_script import installed_bench, usage_error

from suite.results.io import load_results
from suite.run.verify import Verdict

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "fixtures" / "models" / "crash_tiny.py"


def bench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return installed_bench(*args, cwd=cwd, timeout=300, columns=400)




@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("verify")
    cfg = tmp / "fast.toml"
    cfg.write_text('backends = ["eager"]\nthreads = 1\n[timing]\nwarmup_min = 1\nwarmup_max = 3\nmin_iters = 20\n'
                   "min_time_s = 0\nmax_time_s = 0.3\n[energy]\nenabled = false\n")
    out = tmp / "out"
    res = bench("run", "-c", str(cfg), "-m", str(TINY), "-b", "1,2", "-o", str(out), "--no-report", cwd=tmp)
    assert res.returncode == 0, res.stderr
    (path,) = out.glob("results-*.json")
    return path


def _doctored(path: Path, folder: Path, edit) -> Path:
    doc = json.loads(path.read_text())
    edit(doc)
    folder.mkdir(exist_ok=True)
    new = folder / path.name
    new.write_text(json.dumps(doc))
    return new


def test_a_file_naming_a_model_file_is_not_rerun_without_trust(finished_run):
    msg = usage_error(bench("verify", str(finished_run)))
    assert "imports the Python file" in msg and str(TINY) in msg and "--trust-config" in msg


def test_a_rerun_here_replicates_and_its_figures_are_the_rerun_files(finished_run, tmp_path):
    keep = tmp_path / "rerun"
    res = bench("verify", str(finished_run), "--trust-config", "--sample", "1", "--tolerance", "0.99", "-o", str(keep))
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert "replicates" in res.stdout and "does not" not in res.stdout
    (rerun_path,) = keep.glob("results-*.json")
    rerun, stored = load_results(rerun_path), load_results(finished_run)
    (case,) = rerun.cases  # only the sampled case ran
    before = next(c for c in stored.cases if c.id == case.id)
    new = float(np.median(case.latency.samples_ms))
    assert f"{new:.3g}" in res.stdout
    assert f"{new / float(np.median(before.latency.samples_ms)) - 1:+.1%}" in res.stdout
    assert "1 of 1 within ±99%" in res.stdout
    assert rerun.environment.cpu_model == stored.environment.cpu_model


def test_a_file_whose_medians_are_not_met_does_not_replicate(finished_run, tmp_path):
    def slower(doc):  # as if this machine had measured 10x slower: every figure of every case
        for c in doc["cases"]:
            lat = c["latency"]
            lat["samples_ms"] = [10 * x for x in lat["samples_ms"]]
            for k, v in lat["summary"].items():
                if k.endswith("_ms") and v is not None:
                    lat["summary"][k] = 10 * v

    path = _doctored(finished_run, tmp_path / "slow", slower)
    res = bench("verify", str(path), "--trust-config", "--sample", "5")
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert "does not replicate" in res.stdout and "0 of 2 within ±5%" in res.stdout
    assert "0 of 2 inside the stored CI" in res.stdout
    changes = [float(m) for m in re.findall(r"([-+]\d+\.\d)%", res.stdout)]
    assert len(changes) == 2 and all(-95 < c < -80 for c in changes)  # ~ -90%: a tenth of the stored figure


def test_another_machine_and_usage_errors_exit_2(finished_run, tmp_path):
    def elsewhere(doc):
        doc["environment"]["cpu_model"] = "Some Other CPU @ 9 GHz"

    msg = usage_error(bench("verify", str(_doctored(finished_run, tmp_path / "else", elsewhere)), "--trust-config"))
    assert "Cannot verify" in msg and "Some Other CPU" in msg and "machine that measured it" in msg
    assert "--sample must be at least 1" in usage_error(bench("verify", str(finished_run), "--sample", "0"))
    assert "--tolerance" in usage_error(bench("verify", str(finished_run), "--tolerance", "5"))
    assert "No results file" in usage_error(bench("verify", str(tmp_path / "missing.json")))


def _v(new: float | None, tol: float = 0.05) -> Verdict:
    return Verdict(case_id="x", label="m", stored_median_ms=10.0, ci_low_ms=9.8, ci_high_ms=10.3,
                   new_median_ms=new, tolerance=tol, error=None if new is not None else "failed: boom")


@pytest.mark.parametrize("new,inside,within", [
    (10.0, True, True), (10.3, True, True), (9.79, False, True), (10.5, False, True),  # 5.0% exactly
    (10.51, False, False), (9.49, False, False), (None, False, False)])
def test_replicability_verdicts(new, inside, within):
    v = _v(new)
    assert (v.inside_ci, v.within_tolerance, v.replicates) == (inside, within, within)
    if new is not None:
        assert v.change == pytest.approx(new / 10.0 - 1)
