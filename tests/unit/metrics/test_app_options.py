"""The [app] config section (suite/metrics/app_options.py): defaults and what it refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from suite.metrics.app_options import AppConfig


def test_cold_start_is_on_by_default() -> None:
    assert AppConfig().cold_start is True


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        AppConfig.model_validate({"cold_starts": False})
