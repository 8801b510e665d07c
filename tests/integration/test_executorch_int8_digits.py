"""executorch-int8 in the Lab 2 study, on real handwritten digits: calibrated on the run's dataset (the
case says so), its accuracy equal to scikit-learn's on its predictions, those predictions equal to the
.pte program run directly by the ExecuTorch runtime on images preprocessed here by hand, and its
accuracy change and McNemar p against eager computed independently from the two cases' predictions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score

from suite.config.bench_config import validate_config
from suite.models.digits import digits_arrays, train_stats
from suite.run.runner import RunOptions, run_benchmark

FAST = {"warmup_min": 1, "warmup_max": 3, "min_iters": 5, "min_time_s": 0, "max_time_s": 0.2}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("et-int8")
    cfg = validate_config({
        "models": ["digits-cnn"], "backends": ["eager", "executorch-int8"], "batch_sizes": [1],
        "input_sizes": {"image": [8]}, "dataset": {"spec": "digits"}, "energy": {"enabled": False},
        "monitor": {"enabled": False}, "timing": FAST, "threads": 1, "output_dir": str(out), "report": False,
        "executorch": {"cache_dir": str(out / "cache")},
    })
    return run_benchmark(cfg, RunOptions(output=out / "r.json"))


def _case(run, backend):
    return next(c for c in run.cases if c.spec.backend == backend)


def test_int8_accuracy_is_the_programs_own_and_scored_independently(study):
    from suite.backends.executorch.et_backend import load_program

    case = _case(study, "executorch-int8")
    assert case.status == "ok" and case.export.quantized and case.parity.passed and case.parity.tolerance == 0.1
    notes = [f.detail for f in case.flags if f.kind == "backend_note"]
    assert any("int8 calibrated on the first 64 samples of digits (split test)" in n for n in notes)
    # checked on the data it was calibrated on, not on the random timing inputs its ranges would clip
    assert any("parity checked on the first batch of digits (split test)" in n for n in notes)
    assert case.parity.max_rel_error < 0.1
    x, y = digits_arrays("test")
    acc = case.accuracy
    assert acc.samples == len(y) == 719 and acc.value == pytest.approx(accuracy_score(y, acc.predictions), abs=1e-12)
    # the program itself, run here on the images normalised by hand: the same predictions
    mean, std = train_stats()
    _, method = load_program(case.export.path, 1)
    pred = [int(method.execute([((torch.from_numpy(img[None, None]) - mean) / std).float()])[0].argmax())
            for img in x]
    assert acc.predictions == pred
    assert acc.value > 0.85  # int8 keeps the digits model useful


def test_accuracy_change_and_mcnemar_against_eager(study):
    eager, int8 = _case(study, "eager").accuracy, _case(study, "executorch-int8").accuracy
    comp = next(k for k in study.comparisons if k.candidate_backend == "executorch-int8")
    b = sum(e == "1" and i == "0" for e, i in zip(eager.right, int8.right))
    c = sum(e == "0" and i == "1" for e, i in zip(eager.right, int8.right))
    assert comp.accuracy_delta == pytest.approx(int8.value - eager.value)
    assert comp.changed_predictions == sum(p != q for p, q in zip(eager.predictions, int8.predictions))
    assert comp.mcnemar_p == pytest.approx(1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue)
    assert np.isfinite(comp.ratio) and comp.ci_low <= comp.ratio <= comp.ci_high

