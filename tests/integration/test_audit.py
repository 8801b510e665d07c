"""`bench audit` through the installed command on a tiny model: the medians it stores are the
kept runs' own (recomputed from their samples), the bare loop times the same function (its
outputs equal eager's), the audit is cached and a later `bench run` here carries it into its
environment block and the report's devices table."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

import numpy as np
import pytest
from console_script import installed_bench

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "models"
TINY = str(FIXTURES / "tiny_user_model.py")


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit")
    env = {"BENCH_AUDIT_DIR": str(tmp / "audits"), "BENCH_CACHE_DIR": str(tmp / "cache")}
    res = installed_bench("audit", "-m", TINY, "--pairs", "2", "--min-time", "0.2", "--threads", "1",
                          "-o", str(tmp / "runs"), "--json", env_extra=env, timeout=900)
    assert res.returncode == 0, res.stderr + res.stdout
    return tmp, env, json.loads(res.stdout), res.stderr


def test_the_audit_stores_each_modes_median_and_memory_per_pair(audited):
    tmp, _, audit, progress = audited
    assert audit["threads"] == 1 and audit["pairs"] == 2 and audit["tolerance"] == 0.07
    assert [c["backend"] for c in audit["cases"]] == ["eager", "ort"]
    # alternating order: interleaved, alone, bare; then bare, alone, interleaved
    steps = [line.split(": ", 1)[1] for line in progress.splitlines() if line.strip().startswith("pair ")]
    assert [s.split(" (")[0] for s in steps] == ["interleaved", "alone", "bare", "bare", "alone", "interleaved"]
    # the cores' round trip before each mode and after the last, each shown as its mode starts
    trips = audit["core_round_trip_ns"]
    first, second = sorted(os.sched_getaffinity(0))[:2]
    assert len(trips) == 7 and all(t > 0 for t in trips)
    assert f"CPUs {first} and {second}" in audit["core_round_trip_method"]
    assert [s.split(" (")[1] for s in steps] == [f"cores' round trip {t:.0f} ns)" for t in trips[:6]]
    for c in audit["cases"]:
        assert len(c["interleaved_ms"]) == len(c["alone_ms"]) == len(c["bare_ms"]) == 2
        assert len(c["interleaved_rss_bytes"]) == len(c["alone_rss_bytes"]) == 2
        for pair in range(2):
            for mode, key in (("interleaved", "interleaved_ms"), ("alone", "alone_ms")):
                run = json.loads((tmp / "runs" / f"p{pair}-{mode}.json").read_text())
                [case] = [x for x in run["cases"] if x["spec"]["backend"] == c["backend"]]
                assert c[key][pair] == pytest.approx(float(np.median(case["latency"]["samples_ms"])))
                assert (case["latency"].get("interleaved_with") is not None) == (mode == "interleaved")
                assert case["memory"]["scope"] == ("alone" if mode == "interleaved" else "case")
        # the same tiny forward timed three ways: within an order of magnitude (a sanity bound;
        # the ratios and their verdict are what the audit is for)
        med = {k: statistics.median(c[k]) for k in ("interleaved_ms", "alone_ms", "bare_ms")}
        assert max(med.values()) / min(med.values()) < 10, med
    assert len(list((tmp / "audits").glob("*.json"))) == 1


def test_a_later_run_carries_the_audit_and_the_report_shows_it(audited):
    tmp, env, audit, _ = audited
    out = tmp / "later"
    res = installed_bench("run", "-m", TINY, "--backends", "eager", "--threads", "1", "--no-energy", "--no-peaks",
                          "-o", str(out), env_extra=env, timeout=600)
    assert res.returncode == 0, res.stderr + res.stdout
    run = json.loads(next(out.glob("results-*.json")).read_text())
    assert run["environment"]["fairness"] == audit
    html = (out / "report.html").read_text()
    assert "Fairness audit" in html and "(2 pairs, 1 thread(s)," in html
    # another thread count has no audit of its own
    res = installed_bench("run", "-m", TINY, "--backends", "eager", "--threads", "2", "--no-energy", "--no-peaks",
                          "-o", str(tmp / "two"), "--no-report", env_extra=env, timeout=600)
    assert res.returncode == 0, res.stderr + res.stdout
    assert json.loads(next((tmp / "two").glob("results-*.json")).read_text())["environment"]["fairness"] is None


def test_the_bare_loops_compute_what_eager_computes(onnx_dir, tmp_path):
    """The bare loop is a reference only if it times the same function: each built-in bare callable's
    output equals eager's on the same inputs (the ORT one on the suite's export of the model)."""
    import torch

    from suite.backends import backends, load_target
    from suite.backends.ort.export import case_size, ensure_export
    from suite.models.inputs import make_inputs
    from suite.models.registry import resolve_model

    entry = resolve_model("mobilenet_v3_small")
    torch.manual_seed(0)
    model = entry.build(False).eval()
    inputs = make_inputs(entry.input_spec, 1, 64, 0)
    with torch.inference_mode():
        want = model(inputs["input"] if "input" in inputs else next(iter(inputs.values()))).numpy()
    graph = ensure_export(model, entry, "dynamo", None, tmp_path, case_size(entry.input_spec, inputs)).path
    # ExecuTorch's bare loop runs the case's .pte (fp32 here: the int8 row's loop is the same call),
    # lowered before any bare loop runs (eager-cl's converts the model to channels-last in place)
    from suite.backends.executorch.pte_export import lower_to_pte

    program = tmp_path / "mobilenet_v3_small.pte"
    lower_to_pte(model, inputs, program)
    for info in backends().values():
        if info.bare is None:
            continue
        artefact = str(program if info.name.startswith("executorch") else graph)
        got = load_target(info.bare)(model, inputs, 1, artefact)()
        if isinstance(got, list):  # ORT, ExecuTorch: the outputs in order
            got = np.asarray(got[0])
        elif hasattr(got, "detach"):  # torch
            got = got.detach().numpy()
        else:  # OpenVINO's OVDict: outputs by port
            got = np.asarray(next(iter(got.values())))
        np.testing.assert_allclose(got, want, rtol=2e-3 if info.name == "ort-int8" else 1e-4, atol=1e-4,
                                   err_msg=info.name)
