"""Cold start (suite/run/cold_start.py, its fresh process suite/run/cold_process.py): each step's time
and memory checked against an independent `python -c` that times the same steps by hand in a fresh
process, the two launched alternately (ratios with generous bounds, never absolute times)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

import suite.run.cold_process  # noqa: F401  the child module (run below as `python -m`)
from suite.results.schema import ColdStart
from suite.run.cold_start import ColdSpec, run_child

MODEL = "digits-cnn-small"  # 666 parameters: the steps are the runtime's, not the model's

# The reference: the same steps typed out in a fresh interpreter, reading VmRSS by hand.
REFERENCE = """
import json, sys, time
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
t = time.perf_counter()
import {runtime}
imp = time.perf_counter() - t
rss_import = rss()
{load}
"""
EAGER_LOAD = """
from suite.models.registry import resolve_model
from suite.models.inputs import make_inputs
entry = resolve_model('{model}')
x = make_inputs(entry.input_spec, 1, None, 0)
torch.set_num_threads(1)
t = time.perf_counter()
model = entry.build(False).eval()
load = time.perf_counter() - t
t = time.perf_counter()
with torch.inference_mode():
    model(*x.values())
first = time.perf_counter() - t
print(json.dumps([imp, load, first, rss_import]))
"""
ORT_LOAD = """
from suite.models.registry import resolve_model
from suite.models.inputs import make_numpy_inputs
entry = resolve_model('{model}')
x = make_numpy_inputs(entry.input_spec, 1, None, 0)
t = time.perf_counter()
so = onnxruntime.SessionOptions(); so.intra_op_num_threads = 1
s = onnxruntime.InferenceSession('{graph}', so, providers=['CPUExecutionProvider'])
load = time.perf_counter() - t
t = time.perf_counter()
s.run(None, {{i.name: x[i.name] for i in s.get_inputs()}})
first = time.perf_counter() - t
print(json.dumps([imp, load, first, rss_import]))
"""


def reference(runtime: str, load: str) -> list[float]:
    code = REFERENCE.format(runtime=runtime, load=load)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                         env={**os.environ, "ORT_DISABLE_TELEMETRY": "1"})
    return [float(v) for v in json.loads(out.stdout.strip().splitlines()[-1])]


def spec(backend: str, runtime: str, graph: str | None) -> ColdSpec:
    return {"backend": backend, "model": MODEL, "batch_size": 1, "input_size": None, "threads": 1, "seed": 0,
            "graph": graph, "imported": [runtime], "launched_at": 0.0}


def close(ours: float, theirs: float, floor_s: float) -> bool:
    """Within a factor of 3, or both below `floor_s` (milliseconds steps are scheduler noise here)."""
    if max(ours, theirs) < floor_s:
        return True
    return theirs / 3 <= ours <= 3 * theirs


def compare(backend: str, runtime: str, load: str, graph: str | None) -> tuple[list[ColdStart], list[list[float]]]:
    ours, theirs = [], []
    for _ in range(2):  # alternately, so that a machine drifting hits both alike
        theirs.append(reference(runtime, load))
        ours.append(run_child(spec(backend, runtime, graph), timeout_s=120))
    return ours, theirs


def check_steps(ours: list[ColdStart], theirs: list[list[float]]) -> None:
    for i, (name, floor) in enumerate((("import_s", 0.05), ("load_s", 0.03), ("first_call_s", 0.03))):
        mine = statistics.median(getattr(c, name) for c in ours)
        ref = statistics.median(t[i] for t in theirs)
        assert close(mine, ref, floor), (name, mine, ref)
    rss = statistics.median(c.rss_after_import_bytes or 0 for c in ours)
    ref_rss = statistics.median(t[3] for t in theirs)
    assert 0.8 <= rss / ref_rss <= 1.25, (rss, ref_rss)  # the same modules loaded: the same resident pages
    for c in ours:
        assert c.rss_after_import_bytes <= c.rss_after_load_bytes <= c.rss_peak_bytes  # type: ignore[operator]
        assert c.warm_calls == 5 and c.warm_call_ms is not None
        assert c.process_start_s is not None and c.process_start_s > 0
        assert c.to_first_result_s == pytest.approx(c.import_s + c.load_s + c.first_call_s)


def test_eager_cold_start_agrees_with_a_hand_timed_fresh_process() -> None:
    ours, theirs = compare("eager", "torch", EAGER_LOAD.format(model=MODEL), None)
    check_steps(ours, theirs)
    assert all(c.imported == ["torch"] for c in ours)
    # torch's import is the start-up: far more than building a 666-parameter CNN and calling it
    assert all(c.import_s > 5 * (c.load_s + c.first_call_s) for c in ours)


def test_ort_cold_start_loads_the_graph_without_torch(tmp_path: Path) -> None:
    import torch

    from suite.models.inputs import make_inputs
    from suite.models.registry import resolve_model

    entry = resolve_model(MODEL)
    model = entry.build(False).eval()
    x = make_inputs(entry.input_spec, 1, None, 0)
    graph = tmp_path / "m.onnx"
    torch.onnx.export(model, tuple(x.values()), str(graph), input_names=list(x), dynamo=False)
    ours, theirs = compare("ort", "onnxruntime", ORT_LOAD.format(model=MODEL, graph=graph), str(graph))
    check_steps(ours, theirs)
    # onnxruntime without torch: a fraction of eager's resident memory after the import
    assert all((c.rss_after_import_bytes or 0) < 300 * 2**20 for c in ours)


def test_a_failing_cold_start_says_why() -> None:
    with pytest.raises(RuntimeError, match="exited with status"):
        run_child(spec("ort", "onnxruntime", "/nonexistent/model.onnx"), timeout_s=60)


def test_a_case_gets_its_cold_start_or_a_flag_saying_why_not() -> None:
    from suite.results.schema import CaseResult, CaseSpec, utc_now
    from suite.run.cold_start import with_cold_start

    spec = CaseSpec(model=MODEL, source="registry", modality="image", backend="eager", batch_size=1, threads=1)
    ok = CaseResult(spec=spec, id=spec.case_id, status="ok", started_at=utc_now(), duration_s=1.0)
    got = with_cold_start(ok, seed=0, timeout_s=120)
    assert got.cold_start is not None and got.cold_start.imported == ["torch"]
    assert got.phases_s is not None and got.phases_s["cold_start"] >= got.cold_start.to_first_result_s
    failed = ok.model_copy(update={"status": "failed"})
    assert with_cold_start(failed, seed=0, timeout_s=120) is failed  # a failed case is not started again
    broken = ok.model_copy(update={"spec": spec.model_copy(update={"backend": "ort"}), "id": spec.model_copy(
        update={"backend": "ort"}).case_id})  # ort without its graph file: the child cannot load one
    out = with_cold_start(broken, seed=0, timeout_s=120)
    assert out.cold_start is None and [f.kind for f in out.flags] == ["cold_start_failed"]
