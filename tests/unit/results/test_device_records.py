"""suite.results.device: what a results file records about the machine (environment, measured
ceilings, fairness audit), checked on records built here and on the committed fixtures."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from suite.results.device import (
    AuditCase,
    DevicePeaks,
    Environment,
    FairnessAudit,
    PeakFigure,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "results"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _peaks(**kw) -> DevicePeaks:
    fig = PeakFigure(value=5e10, median_value=4.5e10, spread=0.03, repeats=7, size=1024, method="torch.mm")
    return DevicePeaks(**{"device": "cpu", "threads": 2, "gemm_flops_s": 5e10, "gemm": {"torch.mm": fig},
                          "bandwidth_bytes_s": 1.2e10, "measured_at": T0, "duration_s": 3.5, **kw})


def test_ceilings_round_trip_through_json_unchanged():
    peaks = _peaks()
    assert DevicePeaks.model_validate_json(peaks.model_dump_json()) == peaks


@pytest.mark.parametrize("field", ["gemm_flops_s", "bandwidth_bytes_s"])
def test_a_roof_of_zero_is_refused_because_the_ridge_point_divides_by_it(field):
    with pytest.raises(ValidationError) as err:
        _peaks(**{field: 0.0})
    assert err.value.errors()[0]["loc"] == (field,)


def test_an_audit_tolerance_must_be_a_fraction_and_a_case_a_real_batch():
    for tolerance in (0.0, 1.0, -0.1):
        with pytest.raises(ValidationError):
            FairnessAudit(measured_at=T0, threads=1, pairs=1, tolerance=tolerance, duration_s=1.0, method="m")
    with pytest.raises(ValidationError):
        AuditCase(model="m", backend="eager", batch_size=0, interleaved_ms=[1.0], alone_ms=[1.0])
    with pytest.raises(ValidationError):
        AuditCase(model="m", backend="eager", batch_size=1, interleaved_ms=[-1.0], alone_ms=[1.0])


def test_an_environment_needs_only_the_identity_and_defaults_the_rest():
    env = Environment(hostname="pi", os="Linux", kernel="6.6", machine="aarch64", cpu_model="Cortex-A76")
    assert env.platform == "x86" and env.peaks == [] and env.fairness is None and not env.in_container
    with pytest.raises(ValidationError):
        Environment(hostname="pi", os="Linux", kernel="6.6", machine="aarch64")  # no cpu_model


@pytest.mark.parametrize("name", ["laptop-x86.json", "rpi5.json", "jetson-orin.json"])
def test_the_committed_fixtures_environment_blocks_validate_field_for_field(name):
    doc = json.loads((FIXTURES / name).read_text())
    env = Environment.model_validate(doc["environment"])
    assert env.hostname == doc["environment"]["hostname"]
    assert env.model_dump(mode="json", exclude_unset=True) == {k: v for k, v in doc["environment"].items()}
