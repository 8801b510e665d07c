"""suite/run/case.py: one case measured inline, on a model small enough to derive by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from suite.config.bench_config import validate_config
from suite.plan.sweep import plan_cases
from suite.run.case import run_case
from suite.run.case_parts import CaseContext

TINY = str(Path(__file__).parents[2] / "fixtures" / "models" / "tiny_user_model.py")
FAST = {"warmup_min": 1, "warmup_max": 3, "min_iters": 5, "min_time_s": 0, "max_time_s": 0.3}


def _case(tmp_path, **data):
    cfg = validate_config({"models": [TINY], "batch_sizes": [2], "isolation": "inline", "threads": 1,
                           "energy": {"enabled": False}, "timing": FAST, "output_dir": str(tmp_path), **data})
    return [run_case(p, CaseContext(config=cfg)) for p in plan_cases(cfg, threads=1)]


def test_an_eager_case_counts_by_hand_and_times_every_sample(tmp_path):
    (case,) = _case(tmp_path, backends=["eager"])
    assert case.status == "ok" and case.error is None
    # Conv2d(3, 8, 3): 8*3*3*3 + 8 = 224; Linear(8, 10): 80 + 10 = 90
    assert case.params.unique == 314 and case.params.trainable == 314 and case.params.param_bytes == 314 * 4
    # MACs for batch 2 at 32x32: conv 8*27 per output pixel x 1024 pixels, linear 80; x 2 items
    assert case.flops.macs == 2 * (8 * 27 * 32 * 32 + 80) and case.flops.flops == 2 * case.flops.macs
    lat = case.latency
    assert len(lat.samples_ms) >= 5 and lat.summary.n == len(lat.samples_ms)
    assert lat.summary.median_ms == pytest.approx(float(np.median(lat.samples_ms)))
    assert lat.summary.throughput_items_s == pytest.approx(2 / (lat.summary.median_ms / 1e3))
    assert case.memory.model_bytes == 314 * 4 and case.memory.rss_peak_bytes >= case.memory.rss_before_bytes
    assert case.parity is None and case.export is None
    assert all(f.kind in {"drift", "periodic_outliers", "few_samples", "warmup_unsettled", "ci_missed"}
               for f in case.flags)


def test_a_non_eager_case_goes_through_the_parity_step(tmp_path):
    eager, ort = _case(tmp_path, backends=["eager", "ort"], ort={"cache_dir": str(tmp_path / "cache")})
    assert ort.status == "ok" and ort.parity.passed and ort.parity.reference_backend == "eager"
    assert ort.export.exporter in ("dynamo", "torchscript") and ort.params.unique == eager.params.unique


def test_a_parity_failure_marks_the_case_and_keeps_its_numbers(tmp_path):
    (_, ort) = _case(tmp_path, backends=["eager", "ort"], parity_tolerance=1e-12,
                     ort={"cache_dir": str(tmp_path / "cache")})
    assert ort.status == "parity_failed" and ort.error.kind == "parity"
    assert "ort numbers for this case are not trustworthy" in ort.error.message
    assert ort.latency is not None and ort.parity.max_rel_error > 1e-12


def test_a_failure_inside_the_case_is_a_failed_case_not_an_exception(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("INPUT_SHAPE = (4,)\nimport torch\n"
                   "class M(torch.nn.Module):\n    def forward(self, x):\n        raise ValueError('boom')\n"
                   "def create_model():\n    return M()\n")
    with pytest.warns(RuntimeWarning, match="count_params: the forward pass failed"):
        (case,) = _case(tmp_path, models=[str(bad)], backends=["eager"])
    assert case.status == "failed" and case.latency is None
    assert case.error.kind in ("exception", "unsupported") and "boom" in case.error.message


def test_the_runs_dataset_is_loaded_once_per_case(tmp_path):
    """A calibrating backend (executorch-int8) reads the dataset before its timed loop and the dataset
    pass reads it after: one load serves both (an image folder is listed and hashed once)."""
    from suite.data import load_dataset
    from suite.errors import CaseError
    from suite.models.registry import registry
    from suite.run.case import CaseRun

    cfg = validate_config({"models": ["digits-cnn"], "backends": ["eager"], "isolation": "inline", "threads": 1,
                           "dataset": {"spec": "digits", "limit": 20}, "output_dir": str(tmp_path)})
    (planned,) = plan_cases(cfg, threads=1)
    run, entry = CaseRun(planned, CaseContext(config=cfg)), registry()["digits-cnn"]
    first = run.case_dataset(entry, cfg)
    assert run.case_dataset(entry, cfg) is first and len(first) == 20
    assert first.source_hash == load_dataset("digits", limit=20, seed=cfg.seed).source_hash
    none = validate_config({"models": ["digits-cnn"], "backends": ["eager"], "output_dir": str(tmp_path)})
    with pytest.raises(CaseError, match="the run has no dataset"):
        CaseRun(planned, CaseContext(config=none)).case_dataset(entry, none)


def test_an_int8_parity_failure_on_outputs_too_small_to_resolve_says_why(tmp_path):
    """Random-weight mobilenet_v3_small's logits span about ±2e-9: an int8 program outputs zeros and fails
    parity with a relative error of 1. The message says what the reference's scale was, measured here on
    the same seeded inputs by the model itself."""
    import torch

    from suite.models.inputs import make_inputs
    from suite.models.user_file import file_entry

    small = tmp_path / "small.py"
    small.write_text("import torch\nfrom torch import nn\nINPUT_SHAPE = (12,)\n"
                     "class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                     "        torch.manual_seed(0)\n        self.fc = nn.Linear(12, 4)\n"
                     "    def forward(self, x):\n        return self.fc(x) * 1e-9\n"
                     "def create_model():\n    return M().eval()\n")
    eager, q8 = _case(tmp_path, models=[str(small)], backends=["eager", "executorch-int8"],
                      executorch={"cache_dir": str(tmp_path / "cache")})
    assert eager.status == "ok" and q8.status == "parity_failed" and q8.parity.max_rel_error > 0.1
    entry = file_entry(str(small))
    x = make_inputs(entry.input_spec, 2, None, validate_config({"models": [str(small)]}).seed, "cpu")
    with torch.no_grad():
        scale = float(entry.build(False)(*x.values()).abs().max())
    assert scale < 1e-6 and f"outputs span only ±{scale:.1g}" in q8.error.message, (scale, q8.error.message)
    assert "--pretrained or --weights" in q8.error.message
    # an ordinary parity failure keeps the plain message
    (_, ort) = _case(tmp_path, backends=["eager", "ort"], parity_tolerance=1e-12, ort={"cache_dir": str(tmp_path / "c2")})
    assert ort.status == "parity_failed" and "outputs span only" not in ort.error.message
