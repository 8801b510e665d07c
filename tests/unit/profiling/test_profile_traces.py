"""suite/profiling: operator families, the torch and ORT trace readers (on a recorded CPU trace, a
CUDA trace laid out like torch's, and a real ORT trace), FLOPs from node shapes, per-forward figures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from suite.profiling import build_profile, eager_op_flops, profile_for_case
from suite.profiling.families import FAMILIES, op_family
from suite.profiling.traces import (
    CALL_MARK,
    GENERATED,
    UNATTRIBUTED,
    DELEGATE_OVERHEAD,
    node_flops,
    parse_etdump_events,
    parse_op_events,
    parse_ort_trace,
    parse_torch_trace,
)
from suite.results.schema import FlopStats, ProfileResult

FIX = Path(__file__).parents[2] / "fixtures" / "profiles"


@pytest.mark.parametrize(("op", "family"), [
    ("aten::conv2d", "conv"), ("Conv", "conv"), ("FusedConv", "conv"), ("Conv (NCHWc)", "conv"),
    ("aten::linear", "matmul/gemm"), ("Gemm", "matmul/gemm"), ("MatMul", "matmul/gemm"),
    ("aten::relu_", "activation"), ("aten::relu", "activation"), ("Relu", "activation"), ("Clip", "activation"),
    ("aten::batch_norm", "norm"), ("BatchNormalization", "norm"), ("LayerNormalization", "norm"),
    ("aten::max_pool2d", "pooling"), ("MaxPool (NCHWc)", "pooling"), ("GlobalAveragePool", "pooling"),
    ("ReduceMean", "pooling"), ("aten::mean", "pooling"),
    ("aten::add_", "elementwise"), ("Add", "elementwise"), ("aten::flatten", "memory/layout"),
    ("Reshape", "memory/layout"), ("ReorderOutput", "memory/layout"), ("aten::copy_", "memory/layout"),
    ("SomethingNew", "other"), ("mkldnn::_convolution_pointwise", "conv"), (GENERATED, "other"),
    (UNATTRIBUTED, "other"),
    # ExecuTorch: XNNPACK's operators by name, portable kernels by their aten name
    ("Convolution (NHWC, F32) IGEMM", "conv"), ("Fully Connected (NC, F32) GEMM", "matmul/gemm"),
    ("Transpose (ND, X32)", "memory/layout"), ("Static Reshape (NC)", "memory/layout"), ("Mean (ND) Reduce2", "pooling"),
    ("Add (ND)", "elementwise"), ("Clamp (NC)", "activation"), ("native_call_cumsum.out", "elementwise"),
    ("native_call_max_pool2d_with_indices.out", "pooling"), (DELEGATE_OVERHEAD, "other"),
    # OpenVINO's node types (with the kernel it chose)
    ("FullyConnected (gemm_mlas_f32)", "matmul/gemm"), ("Convolution (brgconv_avx512_f32)", "conv"),
    ("Reorder (jit_uni_f32)", "memory/layout"), ("ReduceMean (jit_avx512_f32)", "pooling"), ("MVN (jit_f32)", "norm"),
])
def test_eager_and_ort_names_share_a_family(op, family):
    assert op_family(op) == family and family in FAMILIES


def _independent_top_level(trace):
    """Top-level operators by brute force: a cpu_op inside a call range and inside no other cpu_op."""
    ev = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    marks = sorted((e for e in ev if e["name"] == CALL_MARK), key=lambda e: e["ts"])
    ops = [e for e in ev if e.get("cat") == "cpu_op"]
    within = lambda a, b: b["ts"] <= a["ts"] and a["ts"] + a["dur"] <= b["ts"] + b["dur"] and a is not b  # noqa: E731
    per_call = []
    for m in marks:
        tops = [o for o in ops if within(o, m) and not any(within(o, p) for p in ops)]
        per_call.append(tops)
    return per_call


def test_a_recorded_cpu_trace_gives_top_level_ops_and_their_time():
    trace = json.loads((FIX / "torch_cpu_tiny.json").read_text())
    parsed = parse_torch_trace(trace)
    tops = _independent_top_level(trace)
    assert parsed.calls == 2 and parsed.time_kind == "cpu"
    # The tiny model: Conv2d, ReLU, AdaptiveAvgPool2d, Flatten, Linear, once each per call.
    for name in ("aten::conv2d", "aten::relu", "aten::adaptive_avg_pool2d", "aten::flatten", "aten::linear"):
        assert parsed.op_calls[name] == 2
    expected: dict[str, float] = {}
    for call in tops:
        for o in call:
            expected[o["name"]] = expected.get(o["name"], 0.0) + o["dur"]
    assert parsed.op_us == pytest.approx(expected)
    assert parsed.call_us == pytest.approx([sum(o["dur"] for o in call) for call in tops])
    # The unmarked first call (the profiler's slow start) is not counted.
    assert sum(parsed.op_calls.values()) == sum(len(c) for c in tops)
    # Call sites carry the first input's shape.
    assert any(n.startswith("aten::conv2d #1 2x3x32x32") for n in parsed.node_us)


def test_a_cuda_trace_counts_device_time_of_the_kernels_each_op_launched():
    parsed = parse_torch_trace(json.loads((FIX / "torch_cuda_laid_out.json").read_text()))
    assert parsed.time_kind == "cuda" and parsed.calls == 2
    # By hand from the fixture: conv2d one 50 us kernel, relu_ 10 us, linear 20 + 2 us (the 2 us one
    # runs after its call range closes and still belongs to the linear that launched it).
    assert parsed.op_us == pytest.approx({"aten::conv2d": 100.0, "aten::relu_": 20.0, "aten::linear": 44.0})
    assert parsed.op_calls == {"aten::conv2d": 2, "aten::relu_": 2, "aten::linear": 2}
    assert parsed.call_us == pytest.approx([82.0, 82.0])
    prof = build_profile(parsed, profiler="torch.profiler", walls_ms=[0.3, 0.3], window_s=0.01)
    assert prof.time_kind == "cuda" and prof.op_time_ms == pytest.approx(0.082)
    assert prof.call_op_ms == pytest.approx([0.082, 0.082]) and prof.call_wall_ms == [0.3, 0.3]
    assert [o.op for o in prof.ops] == ["aten::conv2d", "aten::linear", "aten::relu_"]
    assert prof.ops[0].calls == 1 and prof.ops[0].time_ms == pytest.approx(0.05)


def test_a_kernel_whose_operator_is_not_in_the_trace_is_counted_apart():
    trace = json.loads((FIX / "torch_cuda_laid_out.json").read_text())
    first = min(e["ts"] for e in trace["traceEvents"] if e.get("name") == CALL_MARK)
    trace["traceEvents"].append({"ph": "X", "cat": "kernel", "name": "void copy_kernel", "pid": 0, "tid": 7,
                                 "ts": first + 200.0, "dur": 7.0, "args": {"External id": 9999, "correlation": 1}})
    parsed = parse_torch_trace(trace)
    assert parsed.op_us[UNATTRIBUTED] == 7.0 and UNATTRIBUTED not in parsed.op_calls
    assert parsed.call_us == pytest.approx([89.0, 82.0])


def test_a_compiled_region_is_looked_through_and_its_own_time_is_generated_code():
    ev = [{"ph": "X", "cat": "user_annotation", "name": CALL_MARK, "tid": 1, "ts": 0.0, "dur": 100.0},
          {"ph": "X", "cat": "cpu_op", "name": "Torch-Compiled Region: 0/0", "tid": 1, "ts": 1.0, "dur": 90.0},
          {"ph": "X", "cat": "cpu_op", "name": "aten::mkldnn_convolution", "tid": 1, "ts": 5.0, "dur": 30.0},
          {"ph": "X", "cat": "cpu_op", "name": "aten::empty", "tid": 1, "ts": 6.0, "dur": 1.0},
          {"ph": "X", "cat": "cpu_op", "name": "aten::addmm", "tid": 1, "ts": 50.0, "dur": 10.0}]
    parsed = parse_torch_trace({"traceEvents": ev})
    assert parsed.op_us == pytest.approx({"aten::mkldnn_convolution": 30.0, "aten::addmm": 10.0, GENERATED: 50.0})
    assert parsed.call_us == pytest.approx([90.0])


def _ort_trace(tmp_path, level="ORT_ENABLE_ALL", runs=3):
    """A real ONNX Runtime profile of the tiny model (conv 3->8 3x3 pad 1, relu, pool, linear 8->10)."""
    from importlib.util import module_from_spec, spec_from_file_location

    import onnxruntime as ort
    import torch

    spec = spec_from_file_location("tiny_user_model", FIX.parent / "models" / "tiny_user_model.py")
    tiny = module_from_spec(spec)
    spec.loader.exec_module(tiny)
    torch.manual_seed(0)
    model = tiny.create_model().eval()
    path = tmp_path / "tiny.onnx"
    torch.onnx.export(model, (torch.randn(2, 3, 32, 32),), str(path), dynamo=False, input_names=["x"])
    so = ort.SessionOptions()
    so.enable_profiling, so.profile_file_prefix = True, str(tmp_path / "p")
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    for _ in range(runs):
        sess.run(None, {"x": np.zeros((2, 3, 32, 32), np.float32)})
    return json.loads(Path(sess.end_profiling()).read_text())


def test_a_real_ort_trace_gives_op_time_calls_and_flops(tmp_path):
    events = _ort_trace(tmp_path, "ORT_ENABLE_BASIC")
    parsed = parse_ort_trace(events)
    assert parsed.calls == 3
    kernels = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    by_op: dict[str, float] = {}
    for e in kernels:
        by_op[e["args"]["op_name"]] = by_op.get(e["args"]["op_name"], 0.0) + e["dur"]
    assert parsed.op_us == pytest.approx(by_op)
    assert parsed.op_calls["Conv"] == 3 and parsed.op_calls["Gemm"] == 3
    # By hand, per run at batch 2: conv 2 x (2*8*32*32 outputs) x (3*3*3); linear 2 x 2*10 x 8.
    assert parsed.op_flops["Conv"] == 3 * 2 * (2 * 8 * 32 * 32) * 27
    assert parsed.op_flops["Gemm"] == 3 * 2 * (2 * 10) * 8
    runs = [e for e in events if e.get("name") == "model_run"]
    assert sum(parsed.call_us) <= sum(r["dur"] for r in runs)


def test_etdump_events_by_hand():
    # As ExecuTorch's Inspector gives them (ms per profiled call), in execution order: two XNNPACK
    # operators in a delegate call, a portable kernel in its OPERATOR_CALL, the method around all.
    raw = [("Convolution (NHWC, F32) IGEMM #1", [0.030, 0.020]), ("Transpose (ND, X32) #1", [0.004, 0.006]),
           ("DELEGATE_CALL", [0.040, 0.030]), ("native_call_cumsum.out", [0.002, 0.001]),
           ("OPERATOR_CALL", [0.003, 0.002]), ("Transpose (ND, X32) #2", [0.001, 0.001]),
           ("DELEGATE_CALL", [0.0005, 0.002]), ("Method::execute", [0.050, 0.040])]
    events = [(name, name, times) for name, times in raw]
    parsed = parse_etdump_events(events, calls=2)
    assert parsed.calls == 2 and parsed.op_calls == {"Convolution (NHWC, F32) IGEMM": 2, "Transpose (ND, X32)": 4,
                                                     DELEGATE_OVERHEAD: 4, "native_call_cumsum.out": 2}
    assert parsed.op_us["Convolution (NHWC, F32) IGEMM"] == pytest.approx(50.0)
    assert parsed.op_us["Transpose (ND, X32)"] == pytest.approx(12.0)
    # each delegate call beyond its operators: 40-34 and 30-26 (first), 0.5-1 -> 0 and 2-1 (second), in us
    assert parsed.op_us[DELEGATE_OVERHEAD] == pytest.approx(6 + 4 + 0 + 1)
    assert parsed.node_us == pytest.approx({"Convolution (NHWC, F32) IGEMM #1": 50.0, "Transpose (ND, X32) #1": 10.0,
                                            DELEGATE_OVERHEAD: 11.0, "native_call_cumsum.out": 3.0,
                                            "Transpose (ND, X32) #2": 2.0})
    assert parsed.call_us == pytest.approx([30 + 4 + 6 + 2 + 1 + 0, 20 + 6 + 4 + 1 + 1 + 1])


def test_per_node_counters_by_hand():
    events = [("Convolution (brgconv)", "conv1", [0.059, 0.037]), ("Reorder (jit)", "in", [0.016, 0.009]),
              ("Convolution (brgconv)", "conv2", [0.010, 0.011])]
    parsed = parse_op_events(events, calls=2)
    assert parsed.op_calls == {"Convolution (brgconv)": 4, "Reorder (jit)": 2}
    assert parsed.op_us == pytest.approx({"Convolution (brgconv)": 117.0, "Reorder (jit)": 25.0})
    assert parsed.node_us == pytest.approx({"conv1": 96.0, "in": 25.0, "conv2": 21.0})
    assert parsed.call_us == pytest.approx([85.0, 57.0])


def test_operators_that_ran_concurrently_are_said_to_have():
    parsed = parse_op_events([("MatMul", "left", [1.0, 1.0]), ("MatMul", "right", [1.0, 1.0])], calls=2)
    overlapped = build_profile(parsed, profiler="openvino perf counters", walls_ms=[1.2, 1.2], window_s=0.1)
    assert overlapped.op_time_ms == pytest.approx(2.0) and "ran some of them concurrently" in overlapped.note
    assert build_profile(parsed, profiler="openvino perf counters", walls_ms=[2.5, 2.5], window_s=0.1).note is None


def test_node_flops_by_hand():
    conv = {"input_type_shape": [{"float": [1, 64, 56, 56]}, {"float": [128, 64, 3, 3]}, {"float": [128]}],
            "output_type_shape": [{"float": [1, 128, 28, 28]}]}
    assert node_flops("FusedConv", conv) == 2 * 128 * 28 * 28 * 64 * 9
    dw = {"input_type_shape": [{"float": [1, 32, 56, 56]}, {"float": [32, 1, 3, 3]}],
          "output_type_shape": [{"float": [1, 32, 56, 56]}]}
    assert node_flops("Conv (NCHWc)", dw) == 2 * 32 * 56 * 56 * 9  # depthwise: groups show in the weight
    gemm = {"input_type_shape": [{"float": [4, 512]}, {"float": [1000, 512]}], "output_type_shape": [{"float": [4, 1000]}]}
    assert node_flops("Gemm", gemm) == 2 * 4 * 1000 * 512
    assert node_flops("ConvInteger", conv) == node_flops("Conv", conv)  # int8: the same multiply-adds
    mm = {"input_type_shape": [{"float": [2, 12, 128, 64]}, {"float": [2, 12, 64, 128]}],
          "output_type_shape": [{"float": [2, 12, 128, 128]}]}
    assert node_flops("MatMul", mm) == 2 * math.prod([2, 12, 128, 128]) * 64
    assert node_flops("Relu", {"input_type_shape": [{"float": [1, 3]}], "output_type_shape": [{"float": [1, 3]}]}) is None
    assert node_flops("Conv", {}) is None


def test_per_forward_figures_shares_and_eager_flops():
    parsed = parse_torch_trace(json.loads((FIX / "torch_cpu_tiny.json").read_text()))
    flops = FlopStats(macs=10, flops=20, flops_per_item=10,
                      by_operator={"aten.convolution": 884736, "aten.addmm": 320})
    prof = build_profile(parsed, profiler="torch.profiler", walls_ms=[1.0, 3.0], window_s=0.5, top_nodes=3, flops=flops)
    assert prof.calls == 2 and prof.wall_ms == 2.0 and prof.call_wall_ms == [1.0, 3.0]
    assert prof.call_op_ms == pytest.approx([us / 1e3 for us in parsed.call_us])
    assert prof.op_time_ms == pytest.approx(sum(parsed.op_us.values()) / 2 / 1e3)
    assert sum(o.share for o in prof.ops) == pytest.approx(1.0)
    by = {o.op: o for o in prof.ops}
    assert by["aten::conv2d"].flops == 884736 and by["aten::linear"].flops == 320 and by["aten::relu"].flops is None
    assert by["aten::conv2d"].calls == 1 and by["aten::conv2d"].family == "conv"
    assert len(prof.top_nodes) == 3 and prof.note is None
    assert eager_op_flops({"aten.mm": 5, "aten.bmm": 7}, {"aten::matmul": 1}) == {"aten::matmul": 12}
    # Round trip through the schema, as a results file holds it.
    assert ProfileResult.model_validate_json(prof.model_dump_json()) == prof


def test_a_backend_without_a_profiler_hook_is_flagged_not_failed():
    class Plugin:
        name = "tvm"

    prof, flags = profile_for_case(Plugin(), {}, type("O", (), {"calls": 2, "top_nodes": 3})(), None)
    assert prof is None and [f.kind for f in flags] == ["profile_failed"]
    assert "backend tvm has no profiler hook" in flags[0].detail
