"""suite.plan.preflight: what is checked before anything runs. A --weights file is loaded into its
model in a real worker (the tiny model file's own network, or another one's weights); the dataset
is read and decoded as each model takes it (real digits, saved here as an npz); a missing optional
package is named with the extra that brings it (a child Python where onnxruntime cannot import);
too many threads are refused by hand's arithmetic."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from console_script import blocker, installed_bench, script_env, usage_error

from suite.config.bench_config import validate_config
from suite.errors import BenchError, ConfigError
from suite.plan.preflight import (
    THREADS_PER_CORE_MAX,
    check_dataset,
    check_threads,
    check_weights,
)
from suite.plan.sweep import plan_cases

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "models"
TINY = str(FIX / "tiny_user_model.py")
REPO = Path(__file__).resolve().parents[3]


def _cases(tmp_path, model: dict | str, **config):
    cfg = validate_config({"models": [model], "backends": ["eager"], "batch_sizes": [1], "threads": 1,
                           "energy": {"enabled": False}, "output_dir": str(tmp_path), **config})
    return cfg, plan_cases(cfg, threads=1)


def test_weights_that_fit_pass_and_another_networks_are_refused_before_the_run(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_for_weights", TINY)
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    torch.save(tiny.create_model().state_dict(), tmp_path / "good.pt")
    torch.save(torch.nn.Linear(3, 3).state_dict(), tmp_path / "other.pt")
    cfg, cases = _cases(tmp_path, {"name": TINY, "weights": str(tmp_path / "good.pt")})
    check_weights(cases, timeout_s=120)
    cfg, cases = _cases(tmp_path, {"name": TINY, "weights": str(tmp_path / "other.pt")})
    with pytest.raises(BenchError, match=r"The weights in .*other.pt do not fit the model: missing 4"):
        check_weights(cases, timeout_s=120)


def test_a_dataset_sample_that_breaks_the_contract_stops_the_run_by_name(tmp_path):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.repeat((d.images[:40] / 16.0).astype(np.float32)[:, :, :, None], 3, axis=3)  # N x H x W x 3
    np.savez(tmp_path / "ok.npz", x=x, y=d.target[:40])
    cfg, cases = _cases(tmp_path, TINY, dataset={"spec": f"npz:{tmp_path / 'ok.npz'}"})
    check_dataset(cfg, cases)
    x[17, 2, 2, 0] = np.inf
    np.savez(tmp_path / "bad.npz", x=x, y=d.target[:40])
    cfg, cases = _cases(tmp_path, TINY, dataset={"spec": f"npz:{tmp_path / 'bad.npz'}"})
    with pytest.raises(BenchError, match=r"sample 17"):
        check_dataset(cfg, cases)


def test_a_missing_optional_package_is_named_with_its_extra(tmp_path):
    code = textwrap.dedent(f"""
        from suite.config.bench_config import validate_config
        from suite.plan.preflight import check_dependencies
        from suite.errors import BenchError
        cfg = validate_config({{"models": ["{FIX / 'tiny_user_model.py'}"], "backends": ["eager", "ort"]}})
        try:
            check_dependencies(cfg)
        except BenchError as exc:
            print(exc)
        """)
    env = script_env(blocker(tmp_path, "onnxruntime"))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert res.stdout.strip() == ("The optional dependency 'onnxruntime' is not installed (needed for the ort backend). "
                                  "Install it with: pip install 'bench-suite[ort]'"), res.stderr


def test_threads_far_above_the_cores_are_refused():
    check_threads(8, logical_cores=2)  # 4 per core: still a deliberate experiment
    with pytest.raises(ConfigError, match=rf"threads = 9 is more than {THREADS_PER_CORE_MAX} x this machine's 2 "
                                          r"logical cores \(8\).*--threads 8 or fewer"):
        check_threads(9, logical_cores=2)
    check_threads(THREADS_PER_CORE_MAX * (os.cpu_count() or 1))


def test_each_backend_shows_its_runtimes_versions_as_the_package_metadata_has_them():
    from importlib import metadata

    from suite.plan.preflight import backend_runtimes, installed_version

    rows = {name: (versions, status) for name, versions, status in backend_runtimes()}
    assert rows["executorch"] == (f"torch {metadata.version('torch')}, executorch {metadata.version('executorch')}",
                                  "ready")
    assert rows["openvino"][0].startswith(f"openvino {metadata.version('openvino')}, onnx ")
    assert rows["ort"] == (f"onnxruntime {metadata.version('onnxruntime')}, onnx {metadata.version('onnx')}", "ready")
    assert installed_version("no_such_runtime_module") is None


def test_a_run_asking_for_a_runtime_that_is_not_installed_names_its_extra(tmp_path):
    res = installed_bench("run", "-m", "digits-cnn", "--backends", "eager,executorch", "-o", str(tmp_path / "o"),
                          env_extra=blocker(tmp_path, "executorch"))
    assert usage_error(res) == ("error: The optional dependency 'executorch' is not installed (needed for the "
                                "executorch backend). Install it with: pip install 'bench-suite[executorch]'")
