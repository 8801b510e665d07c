"""The model registry: names, sources, input specs and published parameter counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.errors import BenchError, UnknownModelError
from suite.models import list_models, resolve_model
from suite.models.registry import registry

FIXTURES = Path(__file__).parents[2] / "fixtures" / "models"
HANDOUT_MODELS = {
    "resnet18", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_0", "vgg16", "unet", "bert-base-uncased",
    "albert-base-v2", "distilbert-base-uncased", "longformer-base-4096", "hubert-base", "wav2vec2-base", "logmel",
    "visualbert", "lxmert",
}


def test_every_handout_model_is_registered():
    assert HANDOUT_MODELS <= set(registry())


@pytest.mark.parametrize("name", sorted(HANDOUT_MODELS))
def test_parameter_count_matches_reference(name):
    import torch

    entry = registry()[name]
    with torch.device("meta"):
        model = entry.build()
    count = sum(p.numel() for p in model.parameters())
    if entry.reference_params is None:
        assert count > 0
    else:
        assert count == entry.reference_params


def test_torchvision_reference_counts_come_from_weights_meta():
    from torchvision.models import get_model_weights

    for name in ("resnet18", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_0", "vgg16"):
        assert registry()[name].reference_params == get_model_weights(name).DEFAULT.meta["num_params"]


def test_unknown_model_lists_closest_names():
    with pytest.raises(UnknownModelError) as err:
        resolve_model("resnet-18")
    assert "resnet18" in err.value.suggestions
    assert "Did you mean" in str(err.value)
    with pytest.raises(UnknownModelError) as err:
        resolve_model("torchvision:resnet19")
    assert "torchvision:resnet18" in err.value.suggestions


def test_wildcard_and_modality_filters():
    assert {e.name for e in list_models("*bert*")} >= {"bert-base-uncased", "albert-base-v2", "distilbert-base-uncased", "visualbert"}
    assert {e.name for e in list_models(modality="audio")} == {"hubert-base", "wav2vec2-base", "logmel"}


def test_input_specs_declare_sweepable_axes():
    reg = registry()
    assert reg["resnet18"].input_spec.sweepable == ("batch", "resolution")
    assert reg["bert-base-uncased"].input_spec.sweepable == ("batch", "seq_len")
    assert reg["hubert-base"].input_spec.shapes(2, 1.5) == {"input_values": [2, 24000]}
    assert reg["lxmert"].input_spec.shapes(3, 20)["visual_feats"] == [3, 36, 2048]


def test_torchvision_source_uses_crop_size():
    entry = resolve_model("torchvision:efficientnet_b3")
    assert entry.input_spec.default_size == 300
    assert entry.reference_params == 12_233_232


def test_transformers_source_with_overrides():
    import torch

    entry = resolve_model("hf:bert:num_hidden_layers=2,hidden_size=128,num_attention_heads=2,intermediate_size=256")
    assert entry.modality == "text"
    with torch.device("meta"):
        model = entry.build()
    assert len(model.encoder.layer) == 2
    with pytest.raises(BenchError, match="unknown config field"):
        resolve_model("hf:bert:not_a_field=3")
    with pytest.raises(UnknownModelError):
        resolve_model("hf:bertt")


def test_user_file_source():
    entry = resolve_model(str(FIXTURES / "tiny_user_model.py"))
    assert entry.source == "file"
    assert entry.input_spec.shapes(2, None) == {"x": [2, 3, 32, 32]}
    model = entry.build()
    assert sum(p.numel() for p in model.parameters()) == 3 * 8 * 9 + 8 + 8 * 10 + 10
    with pytest.raises(BenchError, match="no factory"):
        resolve_model(str(FIXTURES / "tiny_user_model.py") + ":nope")


def test_pretrained_without_network_fails_clearly(monkeypatch, tmp_path):
    # An empty torch hub cache and no network: the error must say so, never fall back to random.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BenchError, match="--pretrained"):
        registry()["squeezenet1_0"].build(pretrained=True)


def test_logmel_has_no_parameters_and_matches_stft():
    import torch

    from suite.models.inputs import make_inputs
    from suite.models.logmel import mel_filterbank

    entry = registry()["logmel"]
    model = entry.build()
    assert sum(p.numel() for p in model.parameters()) == 0
    x = make_inputs(entry.input_spec, 1, 0.5)["input_values"]
    spec = torch.stft(x, 400, 160, window=torch.hann_window(400), center=True, pad_mode="reflect",
                      return_complex=True).abs() ** 2
    ref = torch.log(spec.transpose(1, 2) @ mel_filterbank(201, 80, 16000) + 1e-6)
    assert torch.allclose(model(x), ref, atol=1e-3)


def test_size_constraints_are_checked():
    reg = registry()
    with pytest.raises(BenchError, match="multiple of 16"):
        reg["unet"].input_spec.check_size(100, "unet")
    reg["unet"].input_spec.check_size(96, "unet")
    with pytest.raises(BenchError, match="too large"):
        reg["bert-base-uncased"].input_spec.check_size(1024, "bert-base-uncased")
    with pytest.raises(BenchError, match="whole number"):
        reg["resnet18"].input_spec.check_size(64.5, "resnet18")


def test_register_beside_the_builder_and_resolve_from_the_package():
    import suite
    from suite.models import ModelEntry, register_model
    from suite.models.inputs import image_spec

    table = registry()
    before = dict(table)
    try:
        @suite.register_model(modality="image", input_spec=image_spec(32), description="a test model", tags=("t",))
        def tiny_test_model(pretrained: bool):
            raise AssertionError("not built here")

        entry = resolve_model("tiny_test_model")
        assert (entry.name, entry.source, entry.builder, entry.tags) == ("tiny_test_model", "registry", tiny_test_model, ("t",))
        register_model(ModelEntry(name="tiny-entry", source="registry", modality="image",
                                  input_spec=image_spec(32), builder=tiny_test_model))
        assert {e.name for e in list_models("tiny*")} == {"tiny_test_model", "tiny-entry"}
        with pytest.raises(ValueError, match="registered twice"):
            register_model(name="tiny-entry", modality="image", input_spec=image_spec(32))(tiny_test_model)
        with pytest.raises(TypeError):
            register_model("tiny-entry")
    finally:
        table.clear()
        table.update(before)
