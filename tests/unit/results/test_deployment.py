"""The app-view records (suite/results/deployment.py) as a results file stores them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from suite.results.deployment import ColdStart


def test_cold_start_round_trips_and_sums_its_steps() -> None:
    c = ColdStart(method="m", import_s=1.0, load_s=0.5, first_call_s=0.25, rss_peak_bytes=10)
    assert ColdStart.model_validate_json(c.model_dump_json()) == c
    assert c.to_first_result_s == 1.75


def test_negative_times_are_refused() -> None:
    with pytest.raises(ValidationError):
        ColdStart(method="m", import_s=-1.0, load_s=0.5, first_call_s=0.25)
