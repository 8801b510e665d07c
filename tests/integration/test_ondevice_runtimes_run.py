"""eager vs executorch vs openvino through the real runner (worker processes, interleaved): a model
torch.export cannot capture and one the lowering refuses are failed cases of their own kinds while the
run goes on; a good model has parity, a comparison with a CI, its runtime's settings and its program's
lowering (or export) time."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.config.bench_config import validate_config
from suite.run.runner import RunOptions, run_benchmark

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "models"
FAST_TIMING = {"warmup_max": 3, "min_iters": 5, "min_time_s": 0, "max_time_s": 0.3}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("et")
    models = [str(FIXTURES / "export_fails.py"), str(FIXTURES / "unsupported_op.py"),
              str(FIXTURES / "tiny_user_model.py")]
    cfg = validate_config({
        "models": models, "backends": ["eager", "executorch", "openvino"], "batch_sizes": [1], "threads": 1,
        "timing": FAST_TIMING, "energy": {"enabled": False}, "monitor": {"enabled": False}, "report": False,
        "output_dir": str(tmp / "out"), "executorch": {"cache_dir": str(tmp / "cache")},
        "ort": {"cache_dir": str(tmp / "cache")},
    })
    return run_benchmark(cfg, RunOptions(output=tmp / "r.json"))


def _case(run, model: str, backend: str):
    return next(c for c in run.cases if Path(c.spec.model).name == model and c.spec.backend == backend)


def test_failures_are_their_own_cases_and_the_run_goes_on(run):
    assert len(run.cases) == 9 and run.finished_at is not None and not run.interrupted
    for model in ("export_fails.py", "unsupported_op.py", "tiny_user_model.py"):
        assert _case(run, model, "eager").status == "ok"
    forced = _case(run, "export_fails.py", "executorch")
    assert forced.status == "failed" and forced.error.kind == "export" and forced.latency is None
    assert "torch.export failed" in forced.error.message and "x.sum() > 0" in forced.error.message
    custom = _case(run, "unsupported_op.py", "executorch")
    assert custom.status == "failed" and custom.error.kind == "lower"
    assert "bench_fixture::mystery" in custom.error.message and "\n" not in custom.error.message
    # openvino reads the ONNX export: it fails the way ORT's does, as its own case
    assert _case(run, "export_fails.py", "openvino").error.kind == "export"
    assert _case(run, "unsupported_op.py", "openvino").error.kind == "unsupported"


def test_a_good_model_has_parity_a_comparison_and_its_runtime(run):
    case = _case(run, "tiny_user_model.py", "executorch")
    assert case.status == "ok" and case.parity.passed and case.parity.max_rel_error < 1e-5
    assert case.export.exporter == "executorch[xnnpack]" and case.export.export_s > 0 and not case.export.cache_hit
    assert case.runtime.runtime.startswith("executorch ") and case.latency.threads == 1
    assert case.runtime.settings["threadpool threads (_unsafe_reset_threadpool)"] == "1 (pool reports 1)"
    ov = _case(run, "tiny_user_model.py", "openvino")
    assert ov.status == "ok" and ov.parity.passed and ov.parity.max_rel_error < 1e-5 and ov.export.exporter == "dynamo"
    assert ov.runtime.settings["INFERENCE_NUM_THREADS"] == "1" and ov.runtime.settings["PERFORMANCE_HINT"] == "LATENCY"
    for backend, c in (("executorch", case), ("openvino", ov)):
        comp = next(k for k in run.comparisons if k.candidate_backend == backend)
        assert comp.candidate_case == c.id and comp.ratio > 0 and comp.ci_low <= comp.ratio <= comp.ci_high
