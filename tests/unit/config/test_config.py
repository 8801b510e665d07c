"""Config loading: presets < file < flags; invalid configs name the field and allowed values."""

from __future__ import annotations

import pytest

from suite.config.bench_config import build_config, validate_config
from suite.errors import ConfigError


def test_quick_is_the_default_preset():
    cfg = build_config()
    assert cfg.preset == "quick"
    assert [m.name for m in cfg.models]
    assert cfg.backends == ["eager", "ort"]


def test_lab_preset_has_every_seed_model():
    from suite.models import list_models

    cfg = build_config(preset="lab")
    # every model of the Lab 1 handouts; the digits CNNs trained here belong to the lab2 preset
    assert {m.name for m in cfg.models} == {e.name for e in list_models() if "lab2" not in e.tags}
    assert {m.name for m in build_config(preset="lab2").models} == {e.name for e in list_models() if "lab2" in e.tags}
    assert cfg.batch_sizes == [1, 2, 4, 8, 16, 32]
    assert all(len(v) == 2 for v in cfg.input_sizes.values())


def test_flags_override_file_and_preset(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('models = ["resnet18"]\nbatch_sizes = [2, 4]\n[timing]\nmax_time_s = 7\n')
    cfg = build_config(config_file=str(f), overrides={"batch_sizes": [8]})
    assert [m.name for m in cfg.models] == ["resnet18"]
    assert cfg.batch_sizes == [8]
    assert cfg.timing.max_time_s == 7
    assert cfg.timing.min_iters == 10  # untouched default


def test_yaml_config(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("models: [resnet18, {name: mobilenet_v2, input_sizes: [160]}]\nthreads: 2\n")
    cfg = build_config(config_file=str(f))
    assert cfg.models[1].input_sizes == [160.0]
    assert cfg.threads == 2


@pytest.mark.parametrize("data, field, hint", [
    ({"models": ["resnet18"], "backends": ["tensorrt-magic"]}, "backends", "choose from eager, eager-cl, ort, ort-int8, torch-compile"),
    ({"models": ["resnet18"], "backends": ["ort-int"]}, "backends", "did you mean ort-int8"),
    ({"models": ["resnet18"], "ort": {"exporter": "tvm"}}, "ort.exporter", "'dynamo' or 'torchscript'"),
    ({"models": ["resnet18"], "torch_compile": {"mod": "default"}}, "torch_compile.mod", "allowed: backend, mode"),
    ({"models": ["resnet18"], "batch_sizes": [0]}, "batch_sizes", ">= 1"),
    ({"models": ["resnet18"], "timing": {"min_iters": 0}}, "timing.min_iters", "greater than or equal to 1"),
    ({"models": ["resnet18"], "timing": {"bogus": 1}}, "timing.bogus", "allowed: warmup_min"),
    ({"models": ["resnet18"], "timing": {"min_time_s": 5, "max_time_s": 1}}, "timing", "max_time_s"),
    ({"models": []}, "models", "at least 1"),
    ({"models": ["resnet18"], "input_sizes": {"pictures": [224]}}, "input_sizes", "image"),
    ({"models": ["resnet18"], "device": "tpu"}, "device", "'cpu'"),
    ({"models": [{"name": "resnet18", "batch_sizes": [2, 0]}]}, "models.0.batch_sizes", ">= 1, got [0]"),
    ({"models": [{"name": "resnet18", "batch_sizes": []}]}, "models.0.batch_sizes", "must not be empty"),
])
def test_invalid_config_names_field(data, field, hint):
    with pytest.raises(ConfigError) as err:
        validate_config(data, source="test.toml")
    msg = str(err.value)
    assert f"'{field}" in msg and hint in msg and "test.toml" in msg


def test_malformed_toml_names_file_and_line(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('models = ["resnet18"\nthreads = 2\n')
    with pytest.raises(ConfigError, match=r"bad.toml is not valid TOML.*line"):
        build_config(config_file=str(f))


def test_unknown_preset_suggests():
    with pytest.raises(ConfigError, match="did you mean quick"):
        build_config(preset="quik")


def test_digest_ignores_output_location():
    a = build_config(overrides={"output_dir": "a"})
    b = build_config(overrides={"output_dir": "b"})
    c = build_config(overrides={"batch_sizes": [3]})
    assert a.digest() == b.digest() != c.digest()
