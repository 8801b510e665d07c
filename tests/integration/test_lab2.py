"""The Lab 2 study on real data: accuracy through the suite equals an independent computation,
resize methods and backends are compared on the same samples, weights come from files or the
local cache only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from console_script import installed_bench, usage_error
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score

from suite.config.bench_config import validate_config
from suite.models.digits import digits_arrays
from suite.run.runner import RunOptions, run_benchmark

FAST = {"warmup_min": 1, "warmup_max": 3, "min_iters": 5, "min_time_s": 0, "max_time_s": 0.2}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab2")
    cfg = validate_config({
        "models": ["digits-cnn"], "backends": ["eager", "ort", "ort-int8"], "batch_sizes": [1, 7],
        "input_sizes": {"image": [8, 4]}, "resize": ["area", "nearest"], "dataset": {"spec": "digits"},
        "energy": {"enabled": False}, "monitor": {"enabled": False}, "timing": FAST, "threads": 1,
        "output_dir": str(out), "report": False, "ort": {"cache_dir": str(out / "onnx")},
    })
    return run_benchmark(cfg, RunOptions(output=out / "r.json"))


def independent_predictions(size: int, method: str) -> np.ndarray:
    """The digits model's top-1 on the held-out split, preprocessed here by hand: no suite code
    between the images and the model (area = mean of each 2x2 block, nearest = every other pixel)."""
    from suite.models.digits import build, train_stats

    x, _ = digits_arrays("test")
    if size == 4:
        x = x.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)) if method == "area" else x[:, 1::2, 1::2]
    mean, std = train_stats()
    model = build("digits-cnn", False)
    with torch.no_grad():
        return model((torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(1) - mean) / std).argmax(1).numpy()


def _case(run, backend, size, resize, batch=1):
    return next(c for c in run.cases if (c.spec.backend, c.spec.input_size, c.spec.resize, c.spec.batch_size)
                == (backend, size, resize, batch))


@pytest.mark.parametrize("size,method", [(8, "area"), (4, "area"), (4, "nearest")])
def test_accuracy_equals_an_independent_computation(study, size, method):
    _, y = digits_arrays("test")
    want = accuracy_score(y, independent_predictions(size, method))
    for backend in ("eager", "ort"):
        acc = _case(study, backend, float(size), method).accuracy
        assert acc.metric == "top-1" and acc.samples == len(y) == 719
        assert acc.value == pytest.approx(want, abs=1e-12), (backend, size, method)
        ci = binomtest(acc.correct, acc.samples).proportion_ci(method="wilson")
        assert (acc.ci_low, acc.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_two_resize_methods_differ_at_a_low_resolution_and_full_resolution_is_above_90_percent(study):
    area = _case(study, "eager", 4.0, "area").accuracy.value
    nearest = _case(study, "eager", 4.0, "nearest").accuracy.value
    full = _case(study, "eager", 8.0, "area").accuracy.value
    assert full > 0.9 and area < full and nearest < full and abs(area - nearest) > 0.05


def test_ort_matches_eager_and_int8_is_tested_against_it(study):
    for size, method in ((8.0, "area"), (4.0, "nearest")):
        eager, ort, int8 = (_case(study, b, size, method).accuracy for b in ("eager", "ort", "ort-int8"))
        assert ort.predictions == eager.predictions and ort.value == eager.value
        comp = next(k for k in study.comparisons if k.candidate_backend == "ort-int8" and k.batch_size == 1
                    and k.input_size == size and _case(study, "ort-int8", size, method).id == k.candidate_case)
        b = sum(e == "1" and i == "0" for e, i in zip(eager.right, int8.right))
        c = sum(e == "0" and i == "1" for e, i in zip(eager.right, int8.right))
        assert comp.accuracy_delta == pytest.approx(int8.value - eager.value)
        assert comp.changed_predictions == sum(p != q for p, q in zip(eager.predictions, int8.predictions))
        assert comp.mcnemar_p == pytest.approx(1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue)


def test_other_batch_sizes_link_to_the_one_dataset_pass(study):
    first, other = _case(study, "ort", 8.0, "area", 1), _case(study, "ort", 8.0, "area", 7)
    assert first.accuracy.evaluated_in is None and first.accuracy.eval_batch_size == 1
    assert other.accuracy.evaluated_in == first.id and other.accuracy.value == first.accuracy.value
    assert other.accuracy.predictions is None  # stored once
    assert first.accuracy.per_example_ms > 0 and first.accuracy.preprocess_per_example_ms > 0
    assert first.accuracy.dataset_hash and first.accuracy.resize == "area"
    assert "resized to 8x8 by area" in first.accuracy.preprocessing


# ----------------------------------------------------------------------------- through the CLI


def bench(*args: str, env_extra: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return installed_bench(*args, env_extra=env_extra, cwd=cwd, timeout=600, columns=200)


def _fast(tmp_path: Path) -> Path:
    cfg = tmp_path / "fast.toml"
    cfg.write_text("[timing]\nwarmup_min = 1\nwarmup_max = 3\nmin_iters = 5\nmin_time_s = 0\nmax_time_s = 0.2\n")
    return cfg


def test_weights_files_load_and_bad_ones_are_refused(tmp_path):
    from safetensors.torch import save_file

    from suite.models.digits import build

    state = build("digits-cnn", False).state_dict()
    torch.save(state, tmp_path / "w.pth")
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "w.safetensors"))
    net = tmp_path / "net.py"
    net.write_text("from suite.models.digits import build_digits_cnn\nINPUT_SHAPE = (1, 8, 8)\n"
                   "MEAN = (0.0,)\nSTD = (1.0,)\n"
                   "def create_model():\n    return build_digits_cnn(16)\n")
    for w in ("w.pth", "w.safetensors"):
        res = bench("run", "-c", str(_fast(tmp_path)), "-m", "digits-cnn", "--weights", str(tmp_path / w),
                    "--backends", "eager", "-b", "1", "--no-energy", "--no-report", "--dataset", "digits",
                    "-o", str(tmp_path / w.replace(".", "-")))
        assert res.returncode == 0, res.stderr + res.stdout
        data = json.loads(next((tmp_path / w.replace(".", "-")).glob("results-*.json")).read_text())
        assert data["cases"][0]["accuracy"]["value"] > 0.9
    res = bench("run", "-m", "digits-cnn", "--weights", str(tmp_path / "nope.pth"), "-o", str(tmp_path / "o3"))
    assert res.returncode == 2 and "no such file" in res.stderr and "Traceback" not in res.stderr
    torch.save({"conv.weight": torch.zeros(3)}, tmp_path / "bad.pth")
    res = bench("run", "-c", str(_fast(tmp_path)), "-m", "digits-cnn", "--weights", str(tmp_path / "bad.pth"),
                "--backends", "eager", "-b", "1", "--no-energy", "--no-report", "-o", str(tmp_path / "o4"))
    # issue 23: refused before the run (it was a failed case and exit 0)
    assert "do not fit the model" in usage_error(res)
    assert not list((tmp_path / "o4").glob("results-*.json"))


def test_pretrained_comes_from_the_local_cache_or_names_the_file(tmp_path):
    from suite.models.unet import UNET_WEIGHTS_URL, build_unet
    from suite.models.weights import hub_checkpoint

    env = {"TORCH_HOME": str(tmp_path / "torch"), "HF_HUB_OFFLINE": "1"}
    res = bench("run", "-m", "resnet18", "--pretrained", "--backends", "eager", "-b", "1", "--no-energy",
                "--no-report", "-c", str(_fast(tmp_path)), "-o", str(tmp_path / "o1"), env_extra=env)
    want = tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert str(want) in " ".join(res.stderr.split()) and "nothing is downloaded" in res.stderr
    assert not (tmp_path / "o1").exists() or not list((tmp_path / "o1").glob("results-*.json"))
    # the published UNet file, stood in for by a state dict of the same architecture, in the cache
    torch.manual_seed(5)
    unet = build_unet(3, 1, 32)
    os.environ["TORCH_HOME"] = env["TORCH_HOME"]
    try:
        path = hub_checkpoint(UNET_WEIGHTS_URL)
    finally:
        del os.environ["TORCH_HOME"]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(unet.state_dict(), path)
    from suite.models.registry import registry

    os.environ["TORCH_HOME"] = env["TORCH_HOME"]
    try:
        loaded = registry()["unet"].build(pretrained=True)
    finally:
        del os.environ["TORCH_HOME"]
    for k, v in unet.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)


NET = '''
"""A group's own model: one factory, two sizes, the digits weights trained by the suite."""
from suite.models.digits import build_digits_cnn, train_stats, trained_state

INPUT_SHAPE = (1, 8, 8)
_m, _s = train_stats()
MEAN, STD = (_m,), (_s,)


def create_model(width=16):
    model = build_digits_cnn(width)
    model.load_state_dict(trained_state(width))
    return model


def load_dataset():
    from suite.models.digits import digits_arrays

    x, y = digits_arrays("test")
    return list(x[:200]), y[:200]


def evaluate(outputs, targets):
    import numpy as np

    logits = np.concatenate([o.detach().numpy() if hasattr(o, "detach") else np.asarray(o) for o in outputs])
    return float((logits[: len(targets)].argmax(1) == np.asarray(targets)).mean())
'''


def test_a_groups_own_model_two_variants_and_an_image_folder(tmp_path):
    """The README's Lab 2 walk-through: a model file with a width argument, MEAN/STD, an image
    folder of real digits, two variants; accuracy equal to an independent computation."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
    try:
        from test_data import write_digit_folder
    finally:
        sys.path.pop(0)
    from PIL import Image

    from suite.models.digits import build_digits_cnn, train_stats, trained_state

    net = tmp_path / "net.py"
    net.write_text(NET)
    folder = write_digit_folder(tmp_path / "digits", 12)
    cfg = tmp_path / "study.toml"
    cfg.write_text(f'''
backends = ["eager", "ort"]
batch_sizes = [4]
resize = ["area"]
[dataset]
spec = "imagefolder:{folder}"
[input_sizes]
image = [8]
[[models]]
name = "{net}:create_model:width=16"
[[models]]
name = "{net}:create_model:width=4"
[timing]
warmup_min = 1
warmup_max = 3
min_iters = 5
min_time_s = 0
max_time_s = 0.2
[energy]
enabled = false
''')
    res = bench("study", str(cfg), "-o", str(tmp_path / "out"), "--no-report")
    assert res.returncode == 0, res.stderr + res.stdout
    data = json.loads(next((tmp_path / "out").glob("results-*.json")).read_text())
    by = {(c["spec"]["model"].rsplit("=", 1)[1], c["spec"]["backend"]): c for c in data["cases"]}
    assert by[("16", "eager")]["params"]["unique"] == 6090 and by[("4", "eager")]["params"]["unique"] == 666
    # independent: decode the PNGs, scale, normalise, run the same weights
    files = sorted(folder.rglob("*.png"), key=lambda p: (p.parent.name, p.name))
    x = np.stack([np.asarray(Image.open(f), dtype=np.float32) / 255 for f in files])
    y = np.array([int(f.parent.name) for f in files])
    mean, std = train_stats()
    for width in (16, 4):
        model = build_digits_cnn(width)
        model.load_state_dict(trained_state(width))
        with torch.no_grad():
            pred = model.eval()((torch.from_numpy(x).unsqueeze(1) - mean) / std).argmax(1).numpy()
        for backend in ("eager", "ort"):
            acc = by[(str(width), backend)]["accuracy"]
            assert acc["samples"] == 120 and acc["value"] == pytest.approx(accuracy_score(y, pred), abs=1e-12)


def test_the_model_files_own_dataset_and_metric(tmp_path):
    net = tmp_path / "net.py"
    net.write_text(NET)
    res = bench("run", "-c", str(_fast(tmp_path)), "-m", f"{net}:create_model:width=4", "--dataset", "user",
                "--backends", "eager", "-b", "16", "--no-energy", "--no-report", "-o", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr + res.stdout
    acc = json.loads(next((tmp_path / "o").glob("results-*.json")).read_text())["cases"][0]["accuracy"]
    assert acc["metric"] == "evaluate()" and acc["samples"] == 200 and 0.9 < acc["value"] <= 1
    res = bench("run", "-m", f"{net}:create_model:depth=3", "--backends", "eager", "-o", str(tmp_path / "o2"))
    assert res.returncode == 2 and "cannot take depth=3" in res.stderr and "Traceback" not in res.stderr
