"""suite.models.generic: torchvision by name, transformers from a config, an ONNX file. Each
entry's figures are held against the library's own: torchvision's weights metadata, the
parameter count of the transformers model built directly, the ONNX graph's declared input."""

from __future__ import annotations

import pytest
import torch

from suite.errors import BenchError, UnknownModelError
from suite.models.generic import (
    _parse_value,
    onnx_entry,
    torchvision_entry,
    transformers_entry,
)


def test_a_torchvision_entry_carries_the_published_count_and_crop():
    import torchvision

    weights = torchvision.models.get_model_weights("efficientnet_b1").DEFAULT
    entry = torchvision_entry("efficientnet_b1")
    assert entry.reference_params == weights.meta["num_params"]
    assert entry.input_spec.default_size == weights.transforms().crop_size[0] == 240
    with torch.device("meta"):
        model = entry.build()
    assert sum(p.numel() for p in model.parameters()) == weights.meta["num_params"]
    with pytest.raises(UnknownModelError):
        torchvision_entry("resnet19")


def test_a_transformers_entry_builds_the_configured_model():
    from transformers import BertConfig, BertModel

    entry = transformers_entry("bert:num_hidden_layers=2,hidden_size=64,num_attention_heads=2,intermediate_size=96",
                               {"vocab_size": 500})
    model = entry.build()
    direct = BertModel(BertConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=2, intermediate_size=96,
                                  vocab_size=500))
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in direct.parameters())
    assert entry.modality == "text" and entry.input_spec.tensors[0].name == "input_ids"
    assert entry.extra["config"]["hidden_size"] == 64 and not entry.pretrained_available


@pytest.mark.parametrize("spec, words", [("bert:hidden_sise=64", "unknown config field"),
                                         ("bert:hidden_size", "must look like key=value"),
                                         ("bertt", "hf:bert")])
def test_a_bad_transformers_spec_is_named(spec, words):
    with pytest.raises(BenchError, match=words):
        transformers_entry(spec, {})


def test_an_onnx_entry_takes_its_input_from_the_graph(onnx_dir):
    entry = onnx_entry(str(onnx_dir / "tiny_mlp.onnx"))
    assert entry.builder is None and entry.source == "onnx" and entry.path == str((onnx_dir / "tiny_mlp.onnx").resolve())
    [tensor] = entry.input_spec.tensors
    assert tensor.name == "x" and len(tensor.shape) == 2 and tensor.shape[1] == 4
    with pytest.raises(BenchError, match="does not exist"):
        onnx_entry(str(onnx_dir / "missing.onnx"))


def test_override_values_are_json_where_they_parse():
    assert (_parse_value("4"), _parse_value("0.5"), _parse_value("true"), _parse_value("gelu")) == (4, 0.5, True, "gelu")


def test_building_a_transformers_model_prints_no_torch_deprecation_line():
    """With torchao installed (the executorch extra), building a transformers model imports it and
    torch logs a pytree deprecation line on stderr, through the run's progress bar; the build
    silences that one logger. In a fresh process: the line is logged once per process."""
    import importlib.util
    import subprocess
    import sys
    from pathlib import Path

    if importlib.util.find_spec("torchao") is None:
        pytest.fail("torchao is not installed: scripts/setup.sh installs the executorch extra that brings it")
    code = ("from suite.models.generic import transformers_entry\n"
            "transformers_entry('bert:num_hidden_layers=1,hidden_size=32,num_attention_heads=2,intermediate_size=37,"
            "vocab_size=100', {}).build(False)\n"
            "import sys; assert 'torchao' in sys.modules, 'the build no longer imports torchao'\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[3], check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "_pytree" not in res.stderr and "Enum subclass" not in res.stderr, res.stderr[-2000:]
