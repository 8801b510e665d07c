"""`bench compare`: a known injected regression is found; the same data shows no change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from console_script import installed_bench
from scipy import stats as scipy_stats
from typer.testing import CliRunner

from suite.errors import BenchError
from suite.report.compare import case_key, compare_files, compare_runs, key_label
from suite.results.io import load_results

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "results"
BASE, CAND, RERUN = FIX / "regression-base.json", FIX / "regression-cand.json", FIX / "regression-rerun.json"


def _samples(path: Path, model: str, backend: str, batch: int) -> np.ndarray:
    doc = json.loads(path.read_text(encoding="utf-8"))
    (c,) = [c for c in doc["cases"] if c["spec"]["model"] == model and c["spec"]["backend"] == backend
            and c["spec"]["batch_size"] == batch]
    return np.asarray(c["latency"]["samples_ms"])


def test_injected_regression_is_detected_and_nothing_else():
    res = compare_files(BASE, CAND)
    assert len(res.changes) == 8
    (reg,) = res.regressions
    assert reg.label == "resnet18 · ort · batch 1 · resolution=224"
    b, c = _samples(BASE, "resnet18", "ort", 1), _samples(CAND, "resnet18", "ort", 1)
    assert reg.baseline == pytest.approx(np.median(b)) and reg.candidate == pytest.approx(np.median(c))
    assert reg.ratio == pytest.approx(np.median(c) / np.median(b))
    assert reg.change == pytest.approx(0.30, abs=0.03)  # injected: 30% slower
    assert reg.ci_low > 1.05 and reg.ci_low <= reg.ratio <= reg.ci_high
    assert reg.p_value < 1e-6 and reg.significant
    # against an independent reference, not suite.stats
    assert reg.p_value == pytest.approx(scipy_stats.mannwhitneyu(b, c, alternative="two-sided").pvalue, rel=1e-12)
    assert all(c.verdict == "no significant change" for c in res.changes if c is not reg)
    assert res.changes[0] is reg  # regressions first


def test_the_same_data_twice_is_no_change():
    res = compare_files(BASE, BASE)
    assert all(c.ratio == 1.0 and c.p_value == 1.0 and not c.significant for c in res.changes)
    assert {c.verdict for c in res.changes} == {"no significant change"}


def test_a_rerun_from_the_same_distribution_is_no_regression():
    res = compare_files(BASE, RERUN)
    assert res.regressions == [] and res.improvements == []
    assert all(abs(c.change) < 0.05 for c in res.changes)


def test_energy_regression_follows_the_per_inference_energy():
    res = compare_files(BASE, CAND, metric="energy")
    (reg,) = res.regressions
    assert reg.label == "resnet18 · ort · batch 1 · resolution=224"
    doc_b, doc_c = (json.loads(p.read_text()) for p in (BASE, CAND))

    def net(doc):
        (c,) = [c for c in doc["cases"] if c["spec"]["model"] == "resnet18" and c["spec"]["backend"] == "ort"
                and c["spec"]["batch_size"] == 1]
        return c["energy"]["net_j_per_inference"]

    assert reg.unit == "J"
    assert reg.baseline == pytest.approx(net(doc_b)) and reg.candidate == pytest.approx(net(doc_c))
    assert reg.ratio == pytest.approx(net(doc_c) / net(doc_b))
    assert reg.ci_low <= reg.ratio <= reg.ci_high


def test_energy_interval_is_the_latency_interval_rescaled():
    """One case a side: the energy samples are each side's latency samples times a constant
    (E / median(t)), and the bootstrap draws the same indices, so the energy CI relative to its
    ratio is the latency CI relative to the latency ratio."""
    for other in (CAND, RERUN):
        lat = {c.key: c for c in compare_files(BASE, other).changes}
        en = {c.key: c for c in compare_files(BASE, other, metric="energy").changes}
        assert lat.keys() == en.keys() and len(en) == 8
        for key, e in en.items():
            t = lat[key]
            assert e.ratio is not None and t.ratio is not None
            assert e.ci_low / e.ratio == pytest.approx(t.ci_low / t.ratio, rel=1e-9), key
            assert e.ci_high / e.ratio == pytest.approx(t.ci_high / t.ratio, rel=1e-9), key


def test_energy_obtained_differently_is_not_compared():
    base = load_results(BASE)
    cand = load_results(BASE)
    cases = [c.model_copy(update={"energy": c.energy.model_copy(update={"method": "estimated", "meter": "estimate"})})
             for c in cand.cases]
    res = compare_runs(base, cand.model_copy(update={"cases": cases}), metric="energy")
    assert {c.verdict for c in res.changes} == {"not comparable"}
    assert "counter vs estimated" in res.changes[0].notes[-1]
    assert res.regressions == []


def test_failed_cases_and_unmatched_cases():
    base = load_results(BASE)
    cand = load_results(CAND)
    first = cand.cases[0]
    failed = first.model_copy(update={"status": "failed", "latency": None})
    extra = first.model_copy(update={"spec": first.spec.model_copy(update={"batch_size": 64})})
    res = compare_runs(base, cand.model_copy(update={"cases": [failed, extra] + cand.cases[1:]}))
    nc = [c for c in res.changes if c.verdict == "not comparable"]
    assert len(nc) == 1 and "candidate has no timings (failed" in nc[0].notes[-1]
    assert first.spec.model == "resnet18" and first.spec.backend == "eager"
    assert res.only_in_candidate == ["resnet18 · eager · batch 64 · resolution=224"]


def test_different_machines_are_warned_about():
    base = load_results(BASE)
    cand = load_results(CAND)
    cand = cand.model_copy(update={"environment": cand.environment.model_copy(update={"hostname": "other"})})
    assert "different machines" in compare_runs(base, cand).warnings[0]


def test_an_emulated_side_is_warned_about(tmp_path):
    """Same machine (no hardware warning), but one side ran under qemu-user: said, with the evidence,
    in the library result and in what the installed `bench compare` prints."""
    base = load_results(BASE)
    why = "aarch64 code run by /usr/bin/qemu-aarch64-static"
    cand = load_results(CAND)
    cand = cand.model_copy(update={"environment": cand.environment.model_copy(update={"emulation": why})})
    assert compare_runs(base, base).warnings == []
    (warning,) = compare_runs(base, cand, baseline_name="native.json", candidate_name="emulated.json").warnings
    assert warning.startswith(f"emulated.json ({why}) ran under CPU emulation") and "native.json" not in warning
    path = tmp_path / "emulated.json"
    path.write_text(cand.model_dump_json(), encoding="utf-8")
    res = _installed("compare", str(BASE), str(path))
    assert "warning:" in res.stdout and "ran under CPU emulation" in " ".join(res.stdout.split()), res.stdout


def test_bad_arguments_are_bench_errors():
    base = load_results(BASE)
    with pytest.raises(BenchError, match="Unknown metric"):
        compare_runs(base, base, metric="watts")
    with pytest.raises(BenchError, match="threshold"):
        compare_runs(base, base, threshold=-0.1)
    empty = base.model_copy(update={"cases": []})
    with pytest.raises(BenchError, match="holds no measured case"):  # nothing to hold a candidate to
        compare_runs(empty, base)


def test_a_candidate_without_the_baselines_cases_fails_the_gate():
    """The README's gate: a case the baseline measured and the candidate lacks is exit 1, also
    when it lacks all of them (an empty candidate: its run stopped before its first case)."""
    base = load_results(BASE)
    measured = sorted(key_label(case_key(c)) for c in base.cases if c.status == "ok")
    other = base.model_copy(update={"cases": [c.model_copy(update={"spec": c.spec.model_copy(update={"model": "x"})})
                                              for c in base.cases]})
    for cand, why in ((base.model_copy(update={"cases": []}), "holds no case at all"),
                      (other, "are these the two files you meant?")):
        res = compare_runs(base, cand, baseline_name="b", candidate_name="c")
        assert res.gate_failed and not res.changes and sorted(res.missing) == measured
        assert any("b and c have no case in common" in w and why in w for w in res.warnings), res.warnings


# ----------------------------------------------------------------------------- CLI


def test_cli_exit_status_gates_ci(report_cli):
    runner = CliRunner()
    r = runner.invoke(report_cli, ["compare", str(BASE), str(CAND)])
    assert r.exit_code == 1, r.output
    assert "regression" in r.output and "+30" in r.output
    assert "1 significant regression(s) beyond 5%" in r.output
    r = runner.invoke(report_cli, ["compare", str(BASE), str(RERUN)])
    assert r.exit_code == 0, r.output
    assert "0 significant regression(s)" in r.output
    # a threshold above the injected 30% lets it through
    r = runner.invoke(report_cli, ["compare", str(BASE), str(CAND), "--threshold", "0.5"])
    assert r.exit_code == 0, r.output
    assert "within threshold" in r.output
    r = runner.invoke(report_cli, ["compare", str(BASE), str(CAND), "--metric", "energy"])
    assert r.exit_code == 1, r.output


def test_cli_bad_input_exits_2_without_traceback(report_cli):
    runner = CliRunner()
    for args in (["compare", str(BASE), str(FIX / "bad" / "truncated.json")],
                 ["compare", str(BASE), str(FIX / "nope.json")],
                 ["compare", str(BASE), str(CAND), "--metric", "watts"]):
        r = runner.invoke(report_cli, args)
        assert r.exit_code == 2, (args, r.output)
        assert "Traceback" not in r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)


def test_exit_status_survives_the_real_bench_entry_point():
    """Through suite.cli.main (app(standalone_mode=False)), as the installed `bench` runs it."""
    import subprocess

    code = (
        "import sys, suite.cli as c\n"
        "from suite.cli import report_commands as report\n"
        "if 'compare' not in [cmd.name for cmd in c.app.registered_commands]:\n"
        "    report.register(c.app)\n"
        "sys.argv = ['bench'] + sys.argv[1:]\n"
        "c.main()\n"
    )
    for args, want in (([str(BASE), str(CAND)], 1), ([str(BASE), str(RERUN)], 0),
                       ([str(BASE), str(FIX / "bad" / "newer.json")], 2)):
        r = subprocess.run([sys.executable, "-c", code, "compare", *args], capture_output=True, text=True,
                           timeout=120, check=False, env={**os.environ, "COLUMNS": "200"})
        assert r.returncode == want, (args, r.stdout[-2000:], r.stderr[-2000:])
        assert "Traceback" not in r.stderr


def _installed(*args: str) -> subprocess.CompletedProcess:
    return installed_bench(*args, timeout=120)


def _edited(tmp_path: Path, source: Path, name: str, edit) -> Path:
    doc = json.loads(source.read_text(encoding="utf-8"))
    edit(doc)
    out = tmp_path / name
    out.write_text(json.dumps(doc), encoding="utf-8")
    return out


def _fail_all(doc: dict) -> None:
    for c in doc["cases"]:
        c.update(status="failed", latency=None, energy=None, carbon=None, memory=None,
                 error={"kind": "crash", "message": "worker died (SIGSEGV)"})
    doc["comparisons"] = []


def test_a_candidate_whose_every_case_failed_fails_the_gate(tmp_path):
    cand = _edited(tmp_path, CAND, "all-failed.json", _fail_all)
    res = compare_files(BASE, cand)
    assert res.regressions == [] and len(res.failed) == 8 and res.gate_failed
    r = _installed("compare", str(BASE), str(cand))
    assert r.returncode == 1, (r.stdout, r.stderr)
    flat = " ".join(r.stdout.split())
    assert "Failed in the candidate (8), measured in the baseline:" in flat
    assert "resnet18 · ort · batch 1 · resolution=224 (failed: worker died (SIGSEGV))" in flat
    assert "The gate fails: 0 baseline case(s) missing, 8 failed." in flat


def test_a_candidate_missing_baseline_cases_fails_the_gate(tmp_path):
    cand = _edited(tmp_path, RERUN, "half.json", lambda d: d.update(cases=d["cases"][:5], comparisons=[]))
    r = _installed("compare", str(BASE), str(cand))
    assert r.returncode == 1, (r.stdout, r.stderr)
    flat = " ".join(r.stdout.split())
    assert "Missing from the candidate (3), measured in the baseline:" in flat
    assert "0 significant regression(s)" in flat and "The gate fails: 3 baseline case(s) missing, 0 failed." in flat
    # the other way round, extra cases in the candidate are fine: nothing the baseline measured is lost
    assert _installed("compare", str(cand), str(RERUN)).returncode == 0


def test_energy_without_energy_data_is_bad_input(tmp_path):
    def no_energy(doc):
        for c in doc["cases"]:
            c.update(energy=None, carbon=None)

    cand = _edited(tmp_path, RERUN, "no-energy.json", no_energy)
    r = _installed("compare", str(BASE), str(cand), "--metric", "energy")
    assert r.returncode == 2, (r.stdout, r.stderr)
    flat = " ".join(r.stderr.split())
    assert flat.startswith("error: ") and f"{cand} holds no energy figure" in flat and "Traceback" not in r.stderr
    assert _installed("compare", str(BASE), str(cand)).returncode == 0  # latency is still there to compare


def test_comparisons_added_case_by_case_are_those_of_the_whole_run():
    """The runner adds only the pairs each finished case completes; the result is what comparing
    the whole run at once gives, and no pair is bootstrapped twice."""
    from suite.results.comparisons import new_comparisons

    cases = load_results(FIX / "laptop-x86.json").cases
    whole = new_comparisons(cases, [])
    assert whole
    built: list = []
    for i in range(1, len(cases) + 1):
        added = new_comparisons(cases[:i], built)
        assert len(added) <= 1  # a finished case completes at most one pair here (one candidate backend)
        built += added
    assert built == whole
    assert new_comparisons(cases, built) == []
