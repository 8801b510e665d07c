"""The [app] config section (suite/metrics/app_options.py): defaults and what it refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from suite.metrics.app_options import AppConfig


def test_cold_start_is_on_by_default_and_bench_cold_start_0_turns_it_off(monkeypatch) -> None:
    monkeypatch.delenv("BENCH_COLD_START", raising=False)  # tests/conftest.py sets 0 for the suite's runs
    assert AppConfig().cold_start is True
    for value, on in (("0", False), ("off", False), ("1", True), ("yes", True), ("maybe", True)):
        monkeypatch.setenv("BENCH_COLD_START", value)
        assert AppConfig().cold_start is on, value  # 'maybe' is refused by bench run (tests/unit/cli)
    assert AppConfig.model_validate({"cold_start": True}).cold_start is True  # a config's value stands


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        AppConfig.model_validate({"cold_starts": False})


def test_durations_and_rates_as_the_issue_writes_them() -> None:
    from suite.metrics.app_options import parse_duration, parse_rate

    assert [parse_duration(t) for t in ("30s", "10m", "1.5h", "500ms", "90")] == [30, 600, 5400, 0.5, 90]
    assert [parse_rate(t) for t in ("30", "30/s", "30Hz", "2.5fps")] == [30, 30, 30, 2.5]
    for bad in ("10x", "0s", "-1m", "", "inf"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert AppConfig.model_validate({"sustain_s": "10m", "rate_hz": "30/s"}).sustain_s == 600


def test_a_temperature_limit_needs_a_sustained_run() -> None:
    with pytest.raises(ValidationError, match="--sustain"):
        AppConfig(temp_limit_c=80)
    assert AppConfig(temp_limit_c=80, sustain_s=60).extra_time_s() == 60
