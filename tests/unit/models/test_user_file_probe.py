"""suite.models.user_file: a user's model file looked over in a worker process, never imported
by the planner. The committed tiny model gives its declared spec and a factory that builds the
same network; a file's mistakes come back as one error naming the file."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch

from suite.errors import BenchError
from suite.models.user_file import describe_end, file_entry, parse_kwargs

TINY = Path(__file__).resolve().parents[2] / "fixtures" / "models" / "tiny_user_model.py"


def test_the_tiny_model_files_declared_spec_and_factory():
    entry = file_entry(str(TINY), timeout_s=120)
    found = entry.extra["file_model"]
    assert found.factory == "create_model" and found.hooks == () and found.mean is None
    spec = entry.input_spec
    assert spec.modality == "image" and spec.default_size == 32 and spec.size_axis == "resolution"
    model = entry.build()
    # the network the file declares: conv 3->8 (3x3) and linear 8->10
    assert sum(p.numel() for p in model.parameters()) == 3 * 8 * 9 + 8 + 8 * 10 + 10
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 10)


def test_factory_arguments_reach_the_factory_and_bad_ones_are_refused(tmp_path):
    path = tmp_path / "widths.py"
    path.write_text("import torch\nINPUT_SHAPE = (4,)\n"
                    "def build_model(width=2):\n    return torch.nn.Linear(4, width)\n")
    entry = file_entry(f"{path}:build_model:width=5", timeout_s=120)
    assert entry.build().out_features == 5 and entry.input_spec.modality == "other"
    with pytest.raises(BenchError, match=r"cannot take depth=3"):
        file_entry(f"{path}:build_model:depth=3", timeout_s=120)
    assert parse_kwargs("width=0.5, act=gelu ,n=2", "s") == (("width", 0.5), ("act", "gelu"), ("n", 2))
    with pytest.raises(BenchError, match="must look like name=value"):
        parse_kwargs("0x=1", "s")


@pytest.mark.parametrize("body, words", [
    ("import sys\nsys.exit(0)\n", "called sys.exit(0) while being imported"),
    ("def helper():\n    pass\n", "defines no factory function"),
    ("import torch\nMEAN = (0.5,)\nSTD = (0.0,)\ndef create_model():\n    return torch.nn.ReLU()\n", "STD > 0"),
    ("def create_model():\n    return 42\n", "returned an int (42), not a torch.nn.Module"),
])
def test_a_files_mistake_is_one_error_naming_the_file(tmp_path, body, words):
    path = tmp_path / "student.py"
    path.write_text(body)
    with pytest.raises(BenchError) as err:
        file_entry(str(path), timeout_s=120)
    assert words in str(err.value) and str(path) in str(err.value)


def test_how_a_worker_ended_is_said_in_words():
    assert describe_end(-signal.SIGSEGV) == "crashed its process (SIGSEGV, a fault in native code)"
    assert describe_end(-signal.SIGKILL) == "crashed its process (SIGKILL)"
    assert describe_end(3) == "ended its process with exit status 3"
