"""The [profile] section: off by default, validated, and outside the run's identity (a profiled
re-run resumes an unprofiled one: the window runs after every measured figure)."""

from __future__ import annotations

import pytest

from suite.config.bench_config import build_config, validate_config
from suite.errors import ConfigError


def test_off_by_default_and_outside_the_digest():
    plain = validate_config({"models": ["resnet18"]})
    profiled = validate_config({"models": ["resnet18"], "profile": {"enabled": True, "calls": 3}})
    assert plain.profile.enabled is False and plain.profile.calls == 10 and plain.profile.top_nodes == 10
    assert profiled.profile.enabled and profiled.profile.calls == 3
    assert plain.digest() == profiled.digest()
    assert plain.digest() != validate_config({"models": ["resnet18"], "threads": 3}).digest()


def test_flags_override_the_file(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('models = ["resnet18"]\n[profile]\nenabled = false\ncalls = 7\n')
    built = build_config(config_file=str(cfg), overrides={"profile": {"enabled": True}})
    assert built.profile.enabled and built.profile.calls == 7


@pytest.mark.parametrize("bad", [{"calls": 0}, {"calls": 1001}, {"top_nodes": -1}, {"enable": True}])
def test_bad_values_are_refused_naming_the_field(bad):
    with pytest.raises(ConfigError, match="profile"):
        validate_config({"models": ["resnet18"], "profile": bad})
