"""suite.run.audit: the pieces of `bench audit` that need no minutes of timing (the whole audit
runs through the installed command in tests/integration/test_audit.py): the configuration each
mode runs, the refusal of a case that could not be measured, and the bare loop's median from a
real fresh process on the committed tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.errors import BenchError
from suite.results.schema import CaseResult, CaseSpec, ErrorInfo, utc_now
from suite.run.audit import (
    DEFAULT_BACKENDS,
    DEFAULT_MODELS,
    MODES,
    AuditRequest,
    _config,
    _measured,
    bare_median,
    run_audit,
)

TINY = str(Path(__file__).resolve().parents[2] / "fixtures" / "models" / "tiny_user_model.py")


def test_each_mode_runs_the_plan_quietly_with_its_interleaving(tmp_path):
    req = AuditRequest(threads=2, models=(TINY,), batch_sizes=(1, 4), min_time_s=0.5)
    for interleave in (True, False):
        cfg = _config(req, tmp_path, interleave, min_time_s=0.5)
        assert cfg.interleave is interleave and cfg.threads == 2 and cfg.batch_sizes == [1, 4]
        assert cfg.energy.enabled is False and cfg.report is False and cfg.peaks is False
        assert cfg.timing.min_time_s == 0.5 and cfg.timing.max_time_s == 1.5  # 3 x min, at least 1 s
        assert cfg.output_dir == str(tmp_path)
    assert _config(req, tmp_path, True, min_time_s=0.1).timing.max_time_s == 1.0
    assert MODES == ("interleaved", "alone", "bare") and DEFAULT_BACKENDS[0] == "eager"
    assert DEFAULT_MODELS == ("mobilenet_v3_small", "resnet18")


def _case(status="ok", **kw) -> CaseResult:
    spec = CaseSpec(model=TINY, source="file", modality="image", backend="eager", batch_size=1,
                    size_axis="resolution", input_size=32.0, threads=1)
    return CaseResult(spec=spec, id=spec.case_id, status=status, started_at=utc_now(), duration_s=1.0, **kw)


def test_a_case_the_audit_could_not_measure_stops_it_with_the_fix():
    from report_builders import run

    failed = _case("failed", error=ErrorInfo(kind="crash", message="worker died from SIGABRT"))
    with pytest.raises(BenchError, match=r"could not measure .*worker died from SIGABRT\. Fix that case \(bench run "
                                         r"-m .*tiny_user_model.py --backends eager\)"):
        _measured(run([failed]))


def test_the_bare_median_comes_from_a_fresh_process(tmp_path):
    median = bare_median(_case(), AuditRequest(threads=1, min_time_s=0.05))
    assert median is not None and 0 < median < 1000


def test_an_audit_needs_a_pair(tmp_path):
    with pytest.raises(BenchError, match="needs at least one pair"):
        run_audit(AuditRequest(threads=1, pairs=0), tmp_path)
