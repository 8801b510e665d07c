"""suite/plan/sweep.py: a config expanded into cases, validated before anything is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.config.bench_config import validate_config
from suite.errors import BenchError
from suite.plan.sweep import plan_cases

FLAT = str(Path(__file__).parents[2] / "fixtures" / "models" / "crash_tiny.py")  # INPUT_SHAPE (16,)
TINY = str(Path(__file__).parents[2] / "fixtures" / "models" / "tiny_user_model.py")  # INPUT_SHAPE (3, 32, 32)


def _plan(**data):
    return plan_cases(validate_config({"models": [TINY], **data}), threads=2)


def test_the_sweep_is_models_x_sizes_x_batches_x_backends_with_backends_adjacent():
    cases = _plan(backends=["eager", "ort", "torch-compile"], batch_sizes=[1, 4], input_sizes={"image": [32, 64]})
    assert len(cases) == 2 * 2 * 3
    keys = [(c.spec.input_size, c.spec.batch_size, c.spec.backend) for c in cases]
    # backends of one shape follow one another: drift hits every side of a comparison alike
    assert keys[:3] == [(32.0, 1, "eager"), (32.0, 1, "ort"), (32.0, 1, "torch-compile")]
    assert keys[3:6] == [(32.0, 4, "eager"), (32.0, 4, "ort"), (32.0, 4, "torch-compile")]
    assert {k[0] for k in keys[6:]} == {64.0}
    first = cases[0].spec
    assert first.input_shapes == {"x": [1, 3, 32, 32]} or list(first.input_shapes.values()) == [[1, 3, 32, 32]]
    assert first.threads == 2 and first.device == "cpu" and first.size_axis == "resolution"
    assert len({c.spec.case_id for c in cases}) == len(cases)


def test_per_model_batches_and_sizes_override_the_run():
    cases = plan_cases(validate_config({"models": [{"name": TINY, "batch_sizes": [2], "input_sizes": [48]}],
                                        "batch_sizes": [1, 8], "backends": ["eager"]}), threads=1)
    assert [(c.spec.batch_size, c.spec.input_size) for c in cases] == [(2, 48.0)]


def test_without_sizes_the_model_runs_at_its_declared_size():
    assert [c.spec.input_size for c in _plan(backends=["eager"])] == [32.0]


def test_impossible_batches_and_sizes_are_refused_before_anything_runs():
    with pytest.raises(BenchError, match="has no variable input size"):
        plan_cases(validate_config({"models": [{"name": FLAT, "input_sizes": [3]}], "backends": ["eager"]}), 1)
    with pytest.raises(BenchError):
        _plan(backends=["eager"], input_sizes={"image": [1]})


def test_unknown_models_are_refused_with_the_closest_names():
    with pytest.raises(BenchError, match="resnet18"):
        plan_cases(validate_config({"models": ["resnet-18"], "backends": ["eager"]}), 1)
