"""Execution provider choice, session options and ORT error classification.

Provider choice is a pure function of the device, what the installed onnxruntime offers
(`get_available_providers()`), and what the user asked for, so every machine in the fleet
(a Jetson with TensorRT and CUDA, a Pi build with XNNPACK) is checked here with the lists
those builds report. Session options are checked on the real onnxruntime.
"""

from __future__ import annotations

import onnxruntime as ort
import pytest

from suite.backends.ort.providers import (
    CPU,
    CUDA,
    TENSORRT,
    XNNPACK,
    choose_providers,
    classify_session_error,
    create_session,
    provider_options,
    session_options,
)
from suite.errors import BenchError, CaseError

STOCK_WHEEL = ["AzureExecutionProvider", CPU]  # what `pip install onnxruntime` offers on x86 and arm64
JETSON = [TENSORRT, CUDA, CPU]
XNNPACK_BUILD = [XNNPACK, CPU]


def test_stock_wheel_on_cpu_uses_cpu_only_never_azure():
    assert choose_providers("cpu", STOCK_WHEEL) == [CPU]


def test_the_real_installed_onnxruntime_gives_a_cpu_choice():
    chosen = choose_providers("cpu", ort.get_available_providers())
    assert chosen[-1] == CPU and "AzureExecutionProvider" not in chosen


def test_jetson_on_cuda_prefers_tensorrt_then_cuda_then_cpu():
    assert choose_providers("cuda", JETSON) == [TENSORRT, CUDA, CPU]
    assert choose_providers("cuda:0", [CUDA, CPU]) == [CUDA, CPU]


def test_jetson_on_cpu_device_stays_on_cpu():
    assert choose_providers("cpu", JETSON) == [CPU]


def test_xnnpack_build_uses_xnnpack_with_cpu_fallback():
    assert choose_providers("cpu", XNNPACK_BUILD) == [XNNPACK, CPU]


def test_cuda_device_without_a_gpu_provider_is_a_clear_error():
    with pytest.raises(BenchError, match="no GPU provider.*onnxruntime-gpu"):
        choose_providers("cuda", STOCK_WHEEL)


def test_requested_providers_are_checked_and_cpu_is_appended():
    assert choose_providers("cuda", JETSON, ["cuda"]) == [CUDA, CPU]
    assert choose_providers("cpu", JETSON, ["CPUExecutionProvider"]) == [CPU]
    with pytest.raises(BenchError, match=r"TensorrtExecutionProvider are not available.*offers: AzureExecutionProvider"):
        choose_providers("cpu", STOCK_WHEEL, ["tensorrt"])
    with pytest.raises(BenchError, match="names no GPU provider"):
        choose_providers("cuda", JETSON, ["cpu"])


def test_provider_options_carry_device_threads_and_engine_cache(tmp_path):
    assert provider_options(CUDA, "cuda:1", 4, tmp_path) == {"device_id": 1}
    trt = provider_options(TENSORRT, "cuda", 4, tmp_path)
    assert trt["device_id"] == 0 and trt["trt_engine_cache_enable"] is True
    assert trt["trt_engine_cache_path"] == str(tmp_path / "tensorrt")
    assert provider_options(XNNPACK, "cpu", 3, tmp_path) == {"intra_op_num_threads": 3}
    assert provider_options(CPU, "cpu", 3, tmp_path) == {}


@pytest.mark.parametrize(("level", "expected"), [
    ("disable", ort.GraphOptimizationLevel.ORT_DISABLE_ALL), ("basic", ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
    ("extended", ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED), ("all", ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
])
def test_session_options_match_torch_threading(level, expected):
    so = session_options(3, level, [CPU])
    assert so.intra_op_num_threads == 3  # the case's torch threads
    assert so.inter_op_num_threads == 1
    assert so.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert so.graph_optimization_level == expected
    with pytest.raises(RuntimeError, match="does not have configuration"):
        so.get_session_config_entry("session.intra_op.allow_spinning")  # ORT's default (spinning on) stands


def test_xnnpack_turns_ort_spinning_off():
    so = session_options(2, "all", [XNNPACK, CPU])
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_unknown_optimization_level_is_a_clear_error():
    with pytest.raises(BenchError, match="optimization_level 'fast'"):
        session_options(1, "fast", [CPU])


def test_a_real_session_keeps_the_threads_it_was_given(onnx_dir, tmp_path):
    session = create_session(onnx_dir / "tiny_mlp.onnx", 2, "all", "cpu", None, tmp_path)
    assert session.get_providers() == [CPU]
    assert session.get_session_options().intra_op_num_threads == 2
    assert session.get_session_options().inter_op_num_threads == 1


def test_unknown_operator_is_classified_unsupported(onnx_dir, tmp_path):
    with pytest.raises(CaseError) as err:
        create_session(onnx_dir / "unsupported_op.onnx", 1, "all", "cpu", None, tmp_path)
    assert err.value.kind == "unsupported"
    assert "com.bench.fixture:Frobnicate" in str(err.value)


def test_a_file_that_is_not_onnx_is_a_session_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(CaseError) as err:
        create_session(bad, 1, "all", "cpu", None, tmp_path)
    assert err.value.kind == "session" and "bad.onnx" in str(err.value)


def test_classify_keeps_messages_short():
    err = classify_session_error(RuntimeError("x" * 5000), "running")
    assert err.kind == "session" and len(str(err)) < 1000
