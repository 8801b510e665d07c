"""A user's Python model file is looked over in a worker process, never imported by `bench run`
itself: whatever the file does at import (exit 0 or 3, crash, hang) or a factory that returns
no model is one paragraph and exit status 2, naming the file and what happened. Through the
console script, as a user meets them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

FAST = ["--no-energy", "--no-report", "--backends", "eager", "--batch-sizes", "1"]


def bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1", COLUMNS="300")
    return subprocess.run([sys.executable, "-m", "suite", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def one_paragraph(res: subprocess.CompletedProcess, *needles: str) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    text = res.stderr.strip()
    assert "Traceback" not in text and text.startswith("error: ") and "\n\n" not in text, text
    flat = " ".join(text.split())
    for needle in needles:
        assert needle in flat, flat
    return flat


MODEL = "import torch\ndef create_model():\n    return torch.nn.Linear(16, 4)\nINPUT_SHAPE = (16,)\n"


@pytest.mark.parametrize("name, body, needles", [
    ("exit0", "import sys\nsys.exit(0)\n", ["called sys.exit(0) while being imported", "nothing was run",
                                            'if __name__ == "__main__":']),
    ("exit3", "import sys\nsys.exit(3)\n", ["called sys.exit(3) while being imported"]),
    ("os_exit", "import os\nos._exit(5)\n", ["ended its process with exit status 5 during its import"]),
    ("segfault", "import ctypes\nctypes.string_at(0)\n", ["crashed its process (SIGSEGV", "during its import"]),
    ("raises", "raise RuntimeError('no GPU here')\n", ["Importing", "failed: RuntimeError: no GPU here"]),
    ("int_factory", "def create_model():\n    return 5\n", ["its factory create_model() returned an int (5)",
                                                           "not a torch.nn.Module"]),
    ("lambda_factory", "def create_model():\n    return lambda x: x\n",
     ["its factory create_model() returned a function (create_model.<locals>.<lambda>)", "not a torch.nn.Module"]),
    ("factory_exits", "import sys\ndef create_model():\n    sys.exit(0)\n",
     ["its factory create_model() called sys.exit(0)"]),
])
def test_a_misbehaving_model_file_is_one_paragraph_and_exit_2(tmp_path, name, body, needles):
    path = tmp_path / f"{name}.py"
    path.write_text(body)
    res = bench("run", "--model", str(path), "-o", str(tmp_path / "out"), *FAST)
    one_paragraph(res, f"{path}", *needles)
    assert not list((tmp_path / "out").glob("results-*.json"))


def test_a_hang_at_import_is_stopped_at_the_case_timeout(tmp_path):
    path = tmp_path / "hangs.py"
    path.write_text("import time\ntime.sleep(3600)\n")
    t0 = time.monotonic()
    res = bench("run", "--model", str(path), "--case-timeout", "3", "-o", str(tmp_path / "out"), *FAST, timeout=120)
    one_paragraph(res, f"Model file {path}: its import did not finish within 3 s", "--case-timeout",
                  "nothing was run")
    assert time.monotonic() - t0 < 60


def test_the_run_never_imports_the_file_and_each_case_imports_it_once(tmp_path):
    marker = tmp_path / "imports.txt"
    path = tmp_path / "counted.py"
    path.write_text(f"import os\nwith open({str(marker)!r}, 'a') as fh:\n    fh.write(f'{{os.getpid()}}\\n')\n" + MODEL)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'models = ["{path}"]\nbackends = ["eager"]\nbatch_sizes = [1, 2]\nreport = false\n'
                   "[timing]\nwarmup_max = 3\nmin_iters = 5\nmax_iters = 5\nmin_time_s = 0\n[energy]\nenabled = false\n")
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1")
    proc = subprocess.Popen([sys.executable, "-m", "suite", "run", "-c", str(cfg), "-o", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    pids = marker.read_text().split()
    assert str(proc.pid) not in pids  # never in the bench process itself
    assert len(pids) == 3 and len(set(pids)) == 3, pids  # the look at planning, then once per case
    (results,) = (tmp_path / "out").glob("results-*.json")
    assert [c["status"] for c in json.loads(results.read_text())["cases"]] == ["ok", "ok"]


def test_a_model_declaring_8x8_inputs_sweeps_from_its_declared_size(tmp_path):
    """Digits-sized models: the declared input shape bounds the sweep, not a fixed 32-pixel minimum."""
    from suite.config.bench_config import build_config
    from suite.errors import BenchError
    from suite.plan.sweep import plan_cases

    path = tmp_path / "digits.py"
    path.write_text("import torch\nINPUT_SHAPE = (1, 8, 8)\ndef create_model():\n"
                    "    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.AdaptiveAvgPool2d(1))\n")
    cfg = build_config(overrides={"models": [{"name": str(path)}], "backends": ["eager"], "batch_sizes": [1],
                                  "input_sizes": {"image": [8, 16]}})
    cases = plan_cases(cfg, 1)
    assert [c.spec.input_shapes["x"] for c in cases] == [[1, 1, 8, 8], [1, 1, 16, 16]]
    assert cases[0].file_model is not None and cases[0].file_model.factory == "create_model"
    small = build_config(overrides={"models": [{"name": str(path)}], "backends": ["eager"], "batch_sizes": [1],
                                    "input_sizes": {"image": [4]}})
    with pytest.raises(BenchError, match="minimum 8"):
        plan_cases(small, 1)


def test_an_empty_onnx_file_is_called_empty(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"")
    res = bench("run", "--model", str(path), "--backends", "ort", "-o", str(tmp_path / "out"), "--no-energy",
                "--no-report")
    one_paragraph(res, f"{path} is empty (0 bytes): not an ONNX model")
