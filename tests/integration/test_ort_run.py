"""eager vs ort vs ort-int8 through the real runner: failures become failed cases while the
run goes on, the cache is hit on a second run, parity failures are flagged in the results,
the comparisons and the terminal summary, and an .onnx file runs from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from suite.config.bench_config import validate_config
from suite.run.runner import RunOptions, run_benchmark

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "models"
TINY_BERT = ("hf:bert:num_hidden_layers=1,hidden_size=32,num_attention_heads=2,intermediate_size=37,"
             "vocab_size=100,max_position_embeddings=64")
FAST_TIMING = {"warmup_max": 3, "min_iters": 5, "min_time_s": 0, "max_time_s": 0.3}


def _config(tmp_path: Path, models: list[str], **extra):
    data = {
        "models": models, "backends": ["eager", "ort", "ort-int8"], "batch_sizes": [1, 2],
        "input_sizes": {"text": [8]}, "threads": 1, "timing": FAST_TIMING, "energy": {"enabled": False},
        "report": False, "output_dir": str(tmp_path / "out"), "ort": {"cache_dir": str(tmp_path / "cache")},
    }
    data.update(extra)
    return validate_config(data)


def _by(run) -> dict:
    return {(Path(c.spec.model).name if "/" in c.spec.model else c.spec.model, c.spec.backend, c.spec.batch_size): c
            for c in run.cases}


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory, onnx_dir):
    """One run in worker processes mixing a good model, both fixture failures and an .onnx file."""
    tmp = tmp_path_factory.mktemp("mixed")
    models = [str(FIXTURES / "unsupported_op.py"), str(FIXTURES / "export_fails.py"), TINY_BERT,
              str(onnx_dir / "tiny_mlp.onnx")]
    out = tmp / "results.json"
    run = run_benchmark(_config(tmp, models), RunOptions(output=out))
    return tmp, run, out


def test_failures_are_cases_and_the_run_completes(mixed_run):
    _, run, out = mixed_run
    # 3 torch models x 3 backends x 2 batches + the .onnx file x 2 ORT backends x 2 batches
    assert len(run.cases) == 3 * 3 * 2 + 2 * 2 and run.finished_at is not None and not run.interrupted
    cases = _by(run)
    for batch in (1, 2):
        assert cases[("unsupported_op.py", "eager", batch)].status == "ok"
        for backend in ("ort", "ort-int8"):
            bad = cases[("unsupported_op.py", backend, batch)]
            assert bad.status == "failed" and bad.error.kind == "unsupported"
            assert "bench_fixture.mystery" in bad.error.message and bad.latency is None
            forced = cases[("export_fails.py", backend, batch)]
            assert forced.status == "failed" and forced.error.kind == "export"
            assert "x.sum() > 0" in forced.error.message
        assert cases[("export_fails.py", "eager", batch)].status == "ok"
    # The doomed export ran once; later cases replay the cached failure.
    assert "cached failure" not in cases[("export_fails.py", "ort", 1)].error.message
    assert "cached failure" in cases[("export_fails.py", "ort", 2)].error.message
    saved = json.loads(out.read_text())
    assert len(saved["cases"]) == len(run.cases)


def test_good_model_has_parity_one_export_and_comparisons(mixed_run):
    _, run, _ = mixed_run
    cases = _by(run)
    ort1, ort2 = cases[(TINY_BERT, "ort", 1)], cases[(TINY_BERT, "ort", 2)]
    for c in (ort1, ort2):
        assert c.status == "ok" and c.parity.passed and c.parity.max_rel_error < 1e-4
        assert c.parity.outputs_compared == 2  # last_hidden_state and pooler_output
        assert c.latency.threads == 1 == c.spec.threads
    assert not ort1.export.cache_hit and ort2.export.cache_hit and ort1.export.path == ort2.export.path
    int8 = cases[(TINY_BERT, "ort-int8", 1)]
    assert int8.status == "ok" and int8.export.quantized and int8.parity.max_rel_error > ort1.parity.max_rel_error
    comps = {(k.model, k.candidate_backend, k.batch_size): k for k in run.comparisons}
    for backend in ("ort", "ort-int8"):
        for batch in (1, 2):
            k = comps[(TINY_BERT, backend, batch)]
            base, cand = cases[(TINY_BERT, "eager", batch)], cases[(TINY_BERT, backend, batch)]
            assert k.baseline_case == base.id and k.candidate_case == cand.id
            # Interleaved in one worker: the ratio is the median over rounds of each round's
            # candidate median / baseline median, recomputed here from the raw samples (numpy).
            assert k.ci_method and k.ci_method.startswith("paired rounds")
            assert base.latency.round_sizes and len(base.latency.round_sizes) == len(cand.latency.round_sizes)

            def rounds(lat):
                return np.split(np.asarray(lat.samples_ms), np.cumsum(lat.round_sizes)[:-1])

            per_round = [np.median(c) / np.median(b) for b, c in zip(rounds(base.latency), rounds(cand.latency))]
            assert k.ratio == pytest.approx(float(np.median(per_round)), rel=1e-9)
            # ... and it tells the same story as the ratio of the two medians: that one lies within
            # the rounds' spread (rounds cancel the machine's drift, the pooled medians do not, so a
            # fixed tolerance between the two fails whenever the VM changes speed mid-run), and both
            # say the same thing about which backend is faster when the interval excludes 1.
            overall = cand.latency.summary.median_ms / base.latency.summary.median_ms
            assert min(per_round) <= overall <= max(per_round)
            if k.ci_high < 1 or k.ci_low > 1:
                assert (overall < 1) == (k.ratio < 1)
            assert k.ci_low <= k.ratio <= k.ci_high and k.flags == []
    # Failed ORT cases have no latency, hence no comparison.
    assert not any(k.model.endswith(("unsupported_op.py", "export_fails.py")) for k in run.comparisons)


def test_onnx_file_runs_on_ort_only(mixed_run):
    _, run, _ = mixed_run
    cases = _by(run)
    assert ("tiny_mlp.onnx", "eager", 1) not in cases
    for backend in ("ort", "ort-int8"):
        for batch in (1, 2):
            c = cases[("tiny_mlp.onnx", backend, batch)]
            assert c.status == "ok" and c.export.exporter == "file" and c.spec.source == "onnx"
            assert c.spec.input_shapes == {"x": [batch, 4]}
    assert cases[("tiny_mlp.onnx", "ort", 1)].parity is None
    assert cases[("tiny_mlp.onnx", "ort-int8", 1)].parity.reference_backend == "ort"


def test_second_run_hits_the_cache(mixed_run):
    tmp, first, _ = mixed_run
    run = run_benchmark(_config(tmp, [TINY_BERT], backends=["ort", "ort-int8"], isolation="inline"),
                        RunOptions(output=tmp / "second.json"))
    before = _by(first)
    for c in run.cases:
        assert c.status == "ok" and c.export.cache_hit, c.spec.label
        assert c.export.path == before[(TINY_BERT, c.spec.backend, c.spec.batch_size)].export.path


def test_parity_failure_is_flagged_in_cases_comparisons_and_summary(tmp_path, capsys):
    from suite.cli.summary import print_summary

    cfg = _config(tmp_path, [TINY_BERT], backends=["eager", "ort"], batch_sizes=[1], isolation="inline",
                  parity_tolerance=1e-12)
    run = run_benchmark(cfg, RunOptions(output=tmp_path / "r.json"))
    ort_case = next(c for c in run.cases if c.spec.backend == "ort")
    assert ort_case.status == "parity_failed" and not ort_case.parity.passed
    assert ort_case.error.kind == "parity" and "not trustworthy" in ort_case.error.message
    assert ort_case.latency is not None  # measured, but flagged
    (comp,) = run.comparisons
    assert [f.kind for f in comp.flags] == ["parity_failed"] and comp.flags[0].metrics == ["ratio"]
    print_summary(run)
    out = capsys.readouterr().out
    assert "parity_failed" in out and "(parity failed)" in out


def test_cli_runs_an_onnx_file(onnx_dir, tmp_path):
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1", COLUMNS="200", BENCH_CACHE_DIR=str(tmp_path / "cache"))
    cfg = tmp_path / "fast.toml"
    cfg.write_text("[timing]\nwarmup_max = 3\nmin_iters = 5\nmin_time_s = 0\nmax_time_s = 0.3\n")
    res = subprocess.run([sys.executable, "-m", "suite", "run", "-c", str(cfg), "--model",
                          str(onnx_dir / "tiny_mlp.onnx"), "--backends", "ort", "--batch-sizes", "1,4",
                          "--no-energy", "--no-report", "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    (path,) = (tmp_path / "out").glob("results-*.json")
    doc = json.loads(path.read_text())
    assert [(c["spec"]["batch_size"], c["status"]) for c in doc["cases"]] == [(1, "ok"), (4, "ok")]
    assert doc["cases"][0]["spec"]["model"].endswith("tiny_mlp.onnx")
    assert "ok" in res.stdout and "failed" not in res.stdout
