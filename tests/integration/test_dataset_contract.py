"""Issue 23: no silently wrong accuracy. Every defect of the hostile pass over datasets, weights
and model files, through the installed `bench` as a user meets it: a problem with the user's
data or files is exit 2 and one paragraph before anything runs; a problem only the model reveals
keeps the case's timings, fails its accuracy with a typed flag and says so under the terminal
table; an accuracy that is reported equals scikit-learn's on arrays decoded here by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from console_script import installed_bench, script, script_env, usage_error
from PIL import Image
from sklearn.metrics import accuracy_score

from suite.models.digits import digits_arrays

X, Y = digits_arrays("test")  # 719 real held-out digits, float32 8 x 8 in [0, 1] (k/16), labels 0..9
FAST_TOML = "[timing]\nwarmup_min = 1\nwarmup_max = 3\nmin_iters = 5\nmin_time_s = 0\nmax_time_s = 0.2\n"
RUN = ["--no-energy", "--no-report", "--no-peaks", "--input-sizes", "image:8"]


def bench_run(tmp_path: Path, *args: str, out: str = "out", columns: int = 250, backends: str = "eager",
              batch: str = "1") -> subprocess.CompletedProcess:
    fast = tmp_path / "fast.toml"
    fast.write_text(FAST_TOML)
    return installed_bench("run", "-c", str(fast), "--backends", backends, "-b", batch, *RUN, *args,
                           "-o", str(tmp_path / out), timeout=600, columns=columns)


def results(tmp_path: Path, out: str = "out") -> dict:
    return json.loads(next((tmp_path / out).glob("results-*.json")).read_text())


def nothing_written(tmp_path: Path, out: str = "out") -> bool:
    return not list((tmp_path / out).glob("results-*.json"))


def independent_digits_predictions(x: np.ndarray) -> np.ndarray:
    """digits-cnn's top-1 on images decoded here, normalised with its training statistics: no
    suite code between the decoded pixels and the model."""
    from suite.models.digits import build, train_stats

    mean, std = train_stats()
    with torch.no_grad():
        return build("digits-cnn", False)((torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).unsqueeze(1)
                                           - mean) / std).argmax(1).numpy()


def write_folder(root: Path, n: int, how: str) -> Path:
    """The first `n` held-out digits as class folders, written as 8-bit PNG, 16-bit PNG or float TIFF."""
    for i in range(n):
        d = root / str(Y[i])
        d.mkdir(parents=True, exist_ok=True)
        if how == "u8":
            Image.fromarray((X[i] * 255).round().astype(np.uint8)).save(d / f"{i:04d}.png")
        elif how == "u16":
            Image.fromarray((X[i] * 65535).round().astype(np.uint16)).save(d / f"{i:04d}.png")
        else:
            Image.fromarray(X[i].astype(np.float32)).save(d / f"{i:04d}.tiff")
    return root


def decode_by_hand(path: Path) -> np.ndarray:
    """A grey image file to [0, 1] by its dtype, with Pillow and numpy only."""
    a = np.asarray(Image.open(path))
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0, np.dtype(np.float32): 1.0}[a.dtype]
    return a.astype(np.float64) / scale


# ----------------------------------------------------------------------------- item 1: bit depths


def test_16_bit_and_float_images_score_as_their_8_bit_copies_and_as_scikit_learn_says(tmp_path):
    from torchvision.datasets import ImageFolder

    n = 150
    values = {}
    for how in ("u8", "u16", "f32"):
        root = write_folder(tmp_path / how, n, how)
        res = bench_run(tmp_path, "-m", "digits-cnn", "--dataset", f"imagefolder:{root}", out=f"o-{how}")
        assert res.returncode == 0, res.stderr + res.stdout
        acc = results(tmp_path, f"o-{how}")["cases"][0]["accuracy"]
        # independent: torchvision's file order, Pillow + numpy decoding, the model called directly
        files = [Path(p) for p, _ in ImageFolder(str(root), loader=lambda p: p).samples]
        x = np.stack([decode_by_hand(f) for f in files])
        y = np.array([int(f.parent.name) for f in files])
        pred = independent_digits_predictions(x)
        assert acc["samples"] == n and acc["value"] == pytest.approx(accuracy_score(y, pred), abs=1e-12), how
        assert acc["predictions"] == pred.tolist(), how
        values[how] = acc["value"]
    # before issue 23: 16-bit clipped to 255 scored far lower, float TIFF near 10%
    assert values["u8"] == values["u16"] == values["f32"] > 0.9


# ----------------------------------------------------------------------------- item 2: NaN and inf


NAN_NET = """
import torch
from suite.models.digits import build_digits_cnn, train_stats, trained_state
INPUT_SHAPE = (1, 8, 8)
_m, _s = train_stats()
MEAN, STD = (_m,), (_s,)
def create_model():
    model = build_digits_cnn(16)
    state = trained_state(16)
    state["6.weight"] = state["6.weight"].clone()
    state["6.weight"][0, 0] = float("nan")   # a model whose own weights hold a NaN
    model.load_state_dict(state)
    return model
"""


def test_nan_outputs_fail_the_accuracy_loudly_and_fail_parity(tmp_path):
    net = tmp_path / "nan_net.py"
    net.write_text(NAN_NET)
    res = bench_run(tmp_path, "-m", str(net), "--dataset", "digits", "--limit", "40", backends="eager,ort")
    assert res.returncode == 0, res.stderr + res.stdout
    flat = " ".join(res.stdout.split())
    assert "FAILED (see" in flat and "Accuracy FAILED (the timings stand; flag accuracy_failed):" in flat
    assert "the model's outputs hold NaN or infinite values for 40 of 40 samples" in flat
    cases = {c["spec"]["backend"]: c for c in results(tmp_path)["cases"]}
    eager, ort = cases["eager"], cases["ort"]
    # eager: timings kept, no accuracy (NaN rows were scored as class 0: 10% instead of a failure)
    assert eager["status"] == "ok" and eager["latency"] is not None and eager["accuracy"] is None
    assert [f["kind"] for f in eager["flags"]].count("accuracy_failed") == 1
    # ORT: outputs agree NaN for NaN, which passed with max error 0.0 before issue 23
    assert ort["status"] == "parity_failed" and not ort["parity"]["passed"] and ort["parity"]["non_finite"] > 0
    assert "NaN or infinite" in ort["error"]["message"]


def test_nan_in_the_data_the_weights_or_the_normalisation_is_refused_before_the_run(tmp_path):
    from suite.models.digits import trained_state

    x = X[:30].copy()
    x[3, 2, 2] = np.nan
    np.savez(tmp_path / "nan.npz", x=x, y=Y[:30])
    flat = usage_error(bench_run(tmp_path, "-m", "digits-cnn", "--dataset", f"npz:{tmp_path / 'nan.npz'}"))
    assert "sample 3: a float32 image holds 1 NaN or infinite value(s)" in flat and nothing_written(tmp_path)
    state = trained_state(16)
    state["0.bias"] = state["0.bias"].clone()
    state["0.bias"][1] = float("inf")
    torch.save(state, tmp_path / "inf.pth")
    flat = usage_error(bench_run(tmp_path, "-m", "digits-cnn", "--weights", str(tmp_path / "inf.pth")))
    assert "hold NaN or infinite values in 1 tensor(s) (e.g. 0.bias)" in flat and nothing_written(tmp_path)
    net = tmp_path / "net.py"
    net.write_text("from suite.models.digits import build_digits_cnn\nINPUT_SHAPE = (1, 8, 8)\n"
                   "MEAN, STD = (float('nan'),), (1.0,)\ndef create_model():\n    return build_digits_cnn(4)\n")
    flat = usage_error(bench_run(tmp_path, "-m", str(net), "--dataset", "digits"))
    assert "MEAN [nan] and STD [1.0] must be finite numbers" in flat and nothing_written(tmp_path)


# ----------------------------------------------------------------------------- items 3, 6, 15, 22: npz


@pytest.mark.parametrize("x, y, needles", [
    (X[:40] * 255, Y[:40], ["sample 0: a float32 image holds values 0..", "outside [0, 1]", "nothing is rescaled"]),
    (X[:40] * 16, Y[:40], ["outside [0, 1]"]),
    ((X[:40] * 16).astype(np.int32), Y[:40], ["a sample of dtype int32 has no known value range"]),
    (X[:40], np.array(["a", "b"] * 20), ["'y' (the labels) holds strings ('a', 'b')"]),
    (X[:40], np.where(np.arange(40) == 5, np.nan, Y[:40]), ["'y' (the labels) holds 1 NaN or infinite label(s)",
                                                             "the first at sample 5"]),
    (X[:40], np.where(np.arange(40) == 7, -1, Y[:40]), ["negative labels (-1 at sample 7, 1 in all)"]),
    (X[:40], np.eye(10)[Y[:40]], ["shape [40, 10]", "one-hot? store y.argmax(axis=1)"]),
    (X[:40], Y[:40] + 0.5, ["fractional labels (", "nothing is truncated"]),
    (np.float32(1.0), np.int64(1), ["'x' is a single value (0-d)"]),
    (np.transpose(np.stack([X[:40]] * 3, axis=-1), (0, 3, 1, 2)), Y[:40], ["looks channels-first"]),
], ids=["float-0-255", "float-0-16", "int32", "string-labels", "nan-labels", "negative", "one-hot", "fractional",
        "0-d", "channels-first"])
def test_malformed_npz_is_one_paragraph_before_the_run(tmp_path, x, y, needles):
    np.savez(tmp_path / "d.npz", x=x, y=y)
    flat = usage_error(bench_run(tmp_path, "-m", "digits-cnn", "--dataset", f"npz:{tmp_path / 'd.npz'}"))
    for needle in needles:
        assert needle in flat, flat
    assert f"npz:{tmp_path / 'd.npz'}" in flat and nothing_written(tmp_path)


def test_labels_beyond_the_models_outputs_fail_the_accuracy_in_the_terminal(tmp_path):
    np.savez(tmp_path / "d.npz", x=X[:40], y=np.where(np.arange(40) < 4, 12, Y[:40]))
    res = bench_run(tmp_path, "-m", "digits-cnn", "--dataset", f"npz:{tmp_path / 'd.npz'}", batch="1,2")
    assert res.returncode == 0, res.stderr
    flat = " ".join(res.stdout.split())
    # the accuracy column was simply absent before issue 23: now every batch size says FAILED
    assert flat.count("FAILED (see") == 2
    assert "labels run from 0 to 12 but the model scores 10 classes (0..9): 4 of 40 labels" in flat
    for case in results(tmp_path)["cases"]:
        assert case["status"] == "ok" and case["latency"] and case["accuracy"] is None
        assert [f["kind"] for f in case["flags"]].count("accuracy_failed") == 1


# ----------------------------------------------------------------------------- item 4: padding


PAD_NET = """
import numpy as np
from suite.models.digits import digits_arrays
from suite.models.digits import build_digits_cnn
INPUT_SHAPE = (1, 8, 8)
def create_model():
    return build_digits_cnn(4)
def load_dataset():
    x, y = digits_arrays("test")
    return list(x[:10]), list(y[:10])
def evaluate(outputs, targets):
    # rows scored per target: 12 / 10 = 1.2 when the padding of the last batch was passed on
    return sum(int(o.shape[0]) for o in outputs) / len(targets)
evaluate.metric_name = "rows per target"
"""


def test_the_padding_of_the_last_batch_never_reaches_a_metric(tmp_path):
    net = tmp_path / "pad.py"
    net.write_text(PAD_NET)
    res = bench_run(tmp_path, "-m", str(net), "--dataset", "user", batch="4")
    assert res.returncode == 0, res.stderr + res.stdout
    acc = results(tmp_path)["cases"][0]["accuracy"]
    assert acc["metric"] == "rows per target" and acc["value"] == 1.0 and acc["samples"] == 10


# ----------------------------------------------------------------------------- items 15, 16: the one rule


def _user_net(evaluate: str = "", preprocess: str = "", load: str = "list(x[:20]), list(y[:20])") -> str:
    return ("import numpy as np\nimport torch\nfrom suite.models.digits import digits_arrays\n"
            "from suite.models.digits import build_digits_cnn\nINPUT_SHAPE = (1, 8, 8)\n"
            "def create_model():\n    return build_digits_cnn(4)\n"
            f"def load_dataset():\n    x, y = digits_arrays('test')\n    return {load}\n"
            + (f"def evaluate(outputs, targets):\n    {evaluate}\n" if evaluate else "")
            + (f"def preprocess(images, size, method):\n    {preprocess}\n" if preprocess else ""))


def test_failures_only_the_model_reveals_keep_the_timings_and_say_so_in_the_terminal(tmp_path):
    nets = {
        "raises": _user_net(evaluate="raise ValueError('my metric broke')"),
        "none": _user_net(evaluate="return None"),
        "text": _user_net(evaluate="return '0.93'"),
        "nan": _user_net(evaluate="return float('nan')"),
        "rgb": _user_net(preprocess="return torch.zeros(len(images), 3, size, size)"),
    }
    args = []
    for name, body in nets.items():
        (tmp_path / f"{name}.py").write_text(body)
        args += ["-m", str(tmp_path / f"{name}.py")]
    res = bench_run(tmp_path, *args, "--dataset", "user", columns=400)
    assert res.returncode == 0, res.stderr + res.stdout
    flat = " ".join(res.stdout.split())
    assert flat.count("FAILED (see") == 5, flat
    for needle in ("evaluate(outputs, targets) failed: ValueError: my metric broke",
                   "evaluate(outputs, targets) returned None (NoneType), not a number",
                   "evaluate(outputs, targets) returned '0.93' (str), not a number",
                   "evaluate(outputs, targets) returned nan: a metric must be a finite number",
                   "preprocess(images, 8, 'area') returned shape [1, 3, 8, 8] for 1 images; the model takes [1, 1, 8, 8]"):
        assert needle in flat, needle
    for case in results(tmp_path)["cases"]:
        assert case["status"] == "ok" and case["latency"] is not None and case["accuracy"] is None
        assert [f["kind"] for f in case["flags"]] .count("accuracy_failed") == 1


@pytest.mark.parametrize("body, needles", [
    (_user_net(load="1 / 0"), ["raised ZeroDivisionError: division by zero"]),
    (_user_net(load="[], []"), ["returned no samples"]),
    (_user_net(load="list(x[:20]), ['cat'] * 20"), ["the targets load_dataset() in", "holds strings ('cat')"]),
    (_user_net(load="list(x[:20]), list(y[:19])"), ["returned 20 samples and 19 targets"]),
    (_user_net(load="list((x[:20] * 255).astype(np.int32)), list(y[:20])"), ["sample 0: a sample of dtype int32 "
                                                                              "has no known value range"]),
    (_user_net(load="x[:20]") , ["must return (samples, targets), got ndarray"]),
], ids=["raises", "empty", "string-targets", "lengths", "int32-images", "not-a-pair"])
def test_dataset_user_is_checked_before_the_run(tmp_path, body, needles):
    net = tmp_path / "net.py"
    net.write_text(body)
    flat = usage_error(bench_run(tmp_path, "-m", str(net), "--dataset", "user"))
    for needle in needles:
        assert needle in flat, flat
    assert nothing_written(tmp_path)


def test_dataset_user_needs_model_files(tmp_path):
    net = tmp_path / "net.py"
    net.write_text(_user_net())
    flat = usage_error(bench_run(tmp_path, "-m", str(net), "-m", "digits-cnn", "--dataset", "user"))
    assert "digits-cnn is not a model file" in flat


# ----------------------------------------------------------------------------- item 17: MEAN / STD


def test_mean_and_std_of_the_wrong_length_are_refused_by_the_look_over(tmp_path):
    net = tmp_path / "net.py"
    net.write_text("from suite.models.digits import build_digits_cnn\nINPUT_SHAPE = (1, 8, 8)\n"
                   "MEAN, STD = (0.5, 0.5, 0.5), (0.2, 0.2, 0.2)\ndef create_model():\n    return build_digits_cnn(4)\n")
    flat = usage_error(bench_run(tmp_path, "-m", str(net), "--dataset", "digits"))
    assert "have 3 entries, but the model takes 1-channel images" in flat and nothing_written(tmp_path)


# ----------------------------------------------------------------------------- item 19: --weights


def test_weights_that_cannot_load_are_refused_before_the_run(tmp_path):
    from safetensors.torch import save_file

    from suite.models.digits import trained_state

    state = trained_state(16)
    torch.save({k + "_renamed": v for k, v in state.items()}, tmp_path / "keys.pth")
    torch.save({k: v[..., :1] if v.ndim else v for k, v in state.items()}, tmp_path / "shapes.pth")
    torch.save({"weights": state, "hook": os.system}, tmp_path / "pickle.pth")  # a pickle that names a callable
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "w.safetensors"))
    whole = (tmp_path / "w.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(whole[: len(whole) // 2])
    for name, needle in (("keys.pth", "missing 6 (e.g. 0.weight"), ("shapes.pth", "shape mismatch"),
                         ("pickle.pth", "Cannot read the weights in"), ("cut.safetensors", "Cannot read the weights in")):
        flat = usage_error(bench_run(tmp_path, "-m", "digits-cnn", "--weights", str(tmp_path / name)))
        assert needle in flat and str(tmp_path / name) in flat, (name, flat)
        assert nothing_written(tmp_path), name
    flat = usage_error(bench_run(tmp_path, "-m", "digits-cnn", "--weights", str(tmp_path)))
    assert "is a folder; give the state dict file in it" in flat


# ----------------------------------------------------------------------------- items 8, 9, 22, 25: folders


def test_image_folder_names_and_class_lists(tmp_path):
    root = write_folder(tmp_path / "f", 60, "u8")
    # item 8: a file name that is not UTF-8 is listed, hashed and scored like the others
    odd = os.fsdecode(bytes(root / "3") + b"/\xff\xfe-digit.png")
    Image.open(next((root / "3").glob("*.png"))).save(odd, format="PNG")
    res = bench_run(tmp_path, "-m", "digits-cnn", "--dataset", f"imagefolder:{root}")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert results(tmp_path)["cases"][0]["accuracy"]["samples"] == 61
    # item 25: a truncated PNG named (its non-UTF-8 name shown escaped), before the run
    Path(odd).write_bytes(Path(odd).read_bytes()[:40])
    flat = usage_error(bench_run(tmp_path, "-m", "digits-cnn", "--dataset", f"imagefolder:{root}", out="o2"))
    assert "\\xff\\xfe-digit.png" in flat and "cannot be decoded as an image" in flat
    Path(odd).unlink()
    # item 9: a class list that is not UTF-8
    (root / "classes.txt").write_bytes(b"0\n1\n2\n3\n4\n5\n6\n7\n8\n9\xe9\n")
    flat = usage_error(bench_run(tmp_path, "-m", "digits-cnn", "--dataset", f"imagefolder:{root}", out="o3"))
    assert "classes.txt is not UTF-8 text (byte 0xe9 at offset 19)" in flat
    # item 22: a class listed twice (the last one won)
    (root / "classes.txt").write_text("0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n3\n")
    flat = usage_error(bench_run(tmp_path, "-m", "digits-cnn", "--dataset", f"imagefolder:{root}", out="o4"))
    assert "names the class '3' twice (entries 4 and 11)" in flat


def test_a_dataset_declaring_other_classes_than_the_model_is_flagged(tmp_path):
    # item 22: 5 class folders against a 10-class model (10 against 1000 scored 0% with no word)
    root = tmp_path / "five"
    for i in range(80):
        if Y[i] < 5:
            (root / str(Y[i])).mkdir(parents=True, exist_ok=True)
            Image.fromarray((X[i] * 255).round().astype(np.uint8)).save(root / str(Y[i]) / f"{i}.png")
    res = bench_run(tmp_path, "-m", "digits-cnn", "--dataset", f"imagefolder:{root}")
    assert res.returncode == 0, res.stderr
    flat = " ".join(res.stdout.split())
    assert "Accuracy to read with care (flag classes_differ):" in flat
    assert "the dataset declares 5 classes (class folders) and the model scores 10" in flat
    case = results(tmp_path)["cases"][0]
    assert case["accuracy"]["value"] > 0.9 and [f["kind"] for f in case["flags"]].count("classes_differ") == 1


# ----------------------------------------------------------------------------- items 6, 21, 25: hf-disk


def test_hf_disk_splits_labels_and_messages(tmp_path):
    import datasets

    imgs = [Image.fromarray((X[i] * 255).round().astype(np.uint8)) for i in range(30)]
    feats = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=[str(i) for i in range(10)])})
    train = datasets.Dataset.from_dict({"image": imgs, "label": Y[:30].tolist()}, features=feats)
    datasets.DatasetDict({"train": train}).save_to_disk(str(tmp_path / "only-train"))
    # item 21: it was silently evaluated on train
    flat = usage_error(bench_run(tmp_path, "-m", "digits-cnn", "--dataset", f"hf-disk:{tmp_path / 'only-train'}"))
    assert "has only the split(s) train, none of them held out" in flat and '[dataset] split = "train"' in flat
    cfg = tmp_path / "train.toml"
    cfg.write_text(FAST_TOML + f'[dataset]\nspec = "hf-disk:{tmp_path / "only-train"}"\nsplit = "train"\n')
    res = installed_bench("run", "-c", str(cfg), "-m", "digits-cnn", "--backends", "eager", "-b", "1", *RUN,
                          "-o", str(tmp_path / "o-train"), timeout=600, columns=250)
    assert res.returncode == 0, res.stderr
    assert f"Accuracy on hf-disk:{tmp_path / 'only-train'}, split train: 30 samples." in " ".join(res.stdout.split())
    notes = results(tmp_path, "o-train")["cases"][0]["accuracy"]["dataset_notes"]
    assert any("not a held-out split" in n for n in notes)
    # item 6: string and NaN labels name the column
    for name, labels, needle in (("str", [str(v) for v in Y[:30]], "column 'label' holds strings"),
                                 ("nan", [float("nan")] + Y[1:30].astype(float).tolist(),
                                  "column 'label' holds 1 NaN or infinite label(s)")):
        datasets.Dataset.from_dict({"image": imgs, "label": labels}).save_to_disk(str(tmp_path / name))
        flat = usage_error(bench_run(tmp_path, "-m", "digits-cnn", "--dataset", f"hf-disk:{tmp_path / name}"))
        assert needle in flat, flat
    # item 25: an empty dataset, and the columns hint without doubled braces
    datasets.Dataset.from_dict({"image": [], "label": []}).save_to_disk(str(tmp_path / "empty"))
    assert "holds no rows" in usage_error(bench_run(tmp_path, "-m", "digits-cnn", "--dataset",
                                                    f"hf-disk:{tmp_path / 'empty'}"))
    datasets.Dataset.from_dict({"image": imgs, "stars": Y[:30].tolist()}).save_to_disk(str(tmp_path / "stars"))
    flat = usage_error(bench_run(tmp_path, "-m", "digits-cnn", "--dataset", f"hf-disk:{tmp_path / 'stars'}"))
    assert 'columns = {label = "..."}' in flat and "{{" not in flat


# ----------------------------------------------------------------------------- item 14: zip bomb


def _bomb(path: Path, rows: int, side: int) -> None:
    """An npz holding `rows` x side x side uint8 zeros (deflated to a few kB per MiB) and labels."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("x.npy", "w", force_zip64=True) as f:
            header = {"descr": "|u1", "fortran_order": False, "shape": (rows, side, side)}
            np.lib.format.write_array_header_1_0(f, header)
            block = bytes(side * side * 256)
            for _ in range(rows // 256):
                f.write(block)
        buf = __import__("io").BytesIO()
        np.save(buf, np.arange(rows, dtype=np.int64) % 10)
        zf.writestr("y.npy", buf.getvalue())


def _peak_rss(tmp_path: Path, dataset: Path, out: str) -> tuple[int, int]:
    """(peak RSS of the `bench` process in bytes, the case worker's peak as the results record it)."""
    fast = tmp_path / "fast.toml"
    fast.write_text(FAST_TOML)
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    res = subprocess.run([sys.executable, "-c", probe, str(script()), "run", "-c", str(fast), "-m", "digits-cnn",
                          "--backends", "eager", "-b", "1", *RUN, "--dataset", f"npz:{dataset}", "--limit", "2",
                          "-o", str(tmp_path / out)], capture_output=True, text=True, env=script_env(), timeout=600)
    rc, kib = res.stdout.split()[-2:]
    assert rc == "0", res.stdout + res.stderr
    return int(kib) * 1024, results(tmp_path, out)["cases"][0]["memory"]["rss_peak_bytes"]


def test_a_zip_bomb_with_limit_reads_only_the_rows_it_keeps(tmp_path):
    _bomb(tmp_path / "bomb.npz", 16384, 256)  # 1 GiB of zeros
    _bomb(tmp_path / "tiny.npz", 256, 256)  # 16 MiB
    assert (tmp_path / "bomb.npz").stat().st_size < 8 * 2**20
    bomb_parent, bomb_worker = _peak_rss(tmp_path, tmp_path / "bomb.npz", "o-bomb")
    tiny_parent, tiny_worker = _peak_rss(tmp_path, tmp_path / "tiny.npz", "o-tiny")
    # before issue 23: +1.26 GB in the parent and +3.7 GB in the worker for the bomb
    assert bomb_parent - tiny_parent < 256 * 2**20, (bomb_parent, tiny_parent)
    assert bomb_worker - tiny_worker < 256 * 2**20, (bomb_worker, tiny_worker)


def test_an_npz_larger_than_memory_is_refused_before_decompressing(tmp_path):
    from suite.data import loaders as sources

    _bomb(tmp_path / "b.npz", 4096, 256)  # 256 MiB uncompressed
    import psutil

    real = sources.NPZ_MEMORY_SHARE
    try:
        # as if this machine had 2 MiB free: the labels (32 KiB) fit, the images do not
        sources.NPZ_MEMORY_SHARE = 2**20 / psutil.virtual_memory().available
        with pytest.raises(sources.ConfigError, match=r"would take 0\.25 GiB of memory uncompressed \('x' \[4096, "
                                                      r"256, 256\] uint8 = 0\.25 GiB.*--limit N"):
            sources.npz(tmp_path / "b.npz")
    finally:
        sources.NPZ_MEMORY_SHARE = real
    # a member shorter than its header says: refused, not read past
    with zipfile.ZipFile(tmp_path / "short.npz", "w") as zf:
        buf = __import__("io").BytesIO()
        np.save(buf, np.zeros((10, 8, 8), np.float32))
        zf.writestr("x.npy", buf.getvalue()[:-100])
        buf = __import__("io").BytesIO()
        np.save(buf, np.zeros(10, np.int64))
        zf.writestr("y.npy", buf.getvalue())
    with pytest.raises(sources.ConfigError, match="'x' declares .* but holds .*truncated or damaged"):
        sources.npz(tmp_path / "short.npz")


# ----------------------------------------------------------------------------- item 25: other messages


def test_messages_name_the_flag_and_refuse_before_announcing(tmp_path):
    flat = usage_error(installed_bench("run", "-m", "digits-cnn", "--limit", "5", "-o", str(tmp_path / "o")))
    assert flat.startswith("error: --limit N evaluates a subset of the evaluation data") and "preset" not in flat
    base = Path(__file__).parents[1] / "fixtures" / "results" / "regression-base.json"
    res = installed_bench("verify", str(base), "--sample", "-1")
    assert "--sample must be at least 1 (got -1)" in usage_error(res) and "Re-running" not in res.stdout


def test_two_variants_of_one_long_path_stay_apart_in_a_narrow_terminal(tmp_path):
    deep = tmp_path / ("a-rather-long-folder-name-for-a-lab-group" * 2) / "models"
    deep.mkdir(parents=True)
    net = deep / "net.py"
    net.write_text("from suite.models.digits import build_digits_cnn\nINPUT_SHAPE = (1, 8, 8)\n"
                   "def create_model(width=4):\n    return build_digits_cnn(width)\n")
    res = bench_run(tmp_path, "-m", f"{net}:create_model:width=4", "-m", f"{net}:create_model:width=8", columns=120)
    assert res.returncode == 0, res.stderr
    # the model column, read down the table: before issue 23 both cells ended in the same "…"
    column = "".join(line.split("│")[1].strip() for line in res.stdout.splitlines() if line.count("│") > 2)
    assert column.count("create_model:width=4") == 1 and column.count("create_model:width=8") == 1, res.stdout
