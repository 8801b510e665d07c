"""suite.backends.ort.ort_options: the [ort] section, a frozen value; every optimisation level it
accepts is one ONNX Runtime itself knows (checked against onnxruntime.GraphOptimizationLevel by
opening a real session at each)."""

from __future__ import annotations

import typing

import pytest
from pydantic import ValidationError

from suite.backends.ort.ort_options import OrtOptions


def test_defaults_are_the_documented_ones():
    o = OrtOptions()
    assert (o.exporter, o.opset, o.optimization_level, o.providers, o.cache_dir) == ("dynamo", None, "all", None, None)
    assert o.io_binding is True and o.time_host_copies is False


@pytest.mark.parametrize("bad", [{"opset": 6}, {"exporter": "tf2onnx"}, {"optimization_level": "max"},
                                 {"io-binding": False}, {"providers": "CPUExecutionProvider"}])
def test_a_bad_value_or_unknown_key_is_refused(bad):
    with pytest.raises(ValidationError):
        OrtOptions(**bad)


def test_the_options_are_frozen():
    with pytest.raises(ValidationError):
        OrtOptions().opset = 18


def test_every_accepted_level_opens_a_real_session_at_that_level(onnx_dir, tmp_path):
    import onnxruntime as ort

    from suite.backends.ort.providers import OPT_LEVELS, create_session

    levels = typing.get_args(OrtOptions.model_fields["optimization_level"].annotation)
    assert set(levels) == set(OPT_LEVELS)
    for level in levels:
        session = create_session(onnx_dir / "tiny_mlp.onnx", 1, OrtOptions(optimization_level=level).optimization_level,
                                 "cpu", None, tmp_path)
        assert session.get_session_options().graph_optimization_level == getattr(
            ort.GraphOptimizationLevel, OPT_LEVELS[level])
