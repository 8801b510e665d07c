"""suite.results.fields: the value kinds every stored record is built from, and the base model's
refusals (unknown fields, non-finite numbers), each checked on a record of its own."""

from __future__ import annotations

import json
import math
import re

import pytest
from pydantic import ValidationError

from suite.results.fields import (
    FORMAT_NAME,
    REFERENCE_BACKEND,
    SCHEMA_VERSION,
    Count,
    Flag,
    Ms,
    NonNegative,
    Rate,
    _Model,
)


class Record(_Model):
    ms: Ms = 0.0
    amount: NonNegative = 0.0
    count: Count = 0
    rate: Rate = 1.0


@pytest.mark.parametrize("field, bad", [("ms", -1e-9), ("amount", -0.5), ("count", -1), ("rate", 0.0), ("rate", -2.0)])
def test_a_value_outside_its_kind_is_refused_naming_the_field(field, bad):
    with pytest.raises(ValidationError) as err:
        Record(**{field: bad})
    assert err.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize("field, edge", [("ms", 0.0), ("amount", 0.0), ("count", 0), ("rate", 1e-300)])
def test_the_edge_of_each_kind_is_accepted(field, edge):
    assert getattr(Record(**{field: edge}), field) == edge


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused_even_where_the_kind_allows_any_size(bad):
    with pytest.raises(ValidationError):
        Record(amount=bad)
    # also from JSON text, which is how a results file arrives (1e309 overflows to inf)
    with pytest.raises(ValidationError):
        Record.model_validate_json('{"amount": 1e309}')


def test_an_unknown_field_is_refused_so_a_newer_file_is_never_half_read():
    with pytest.raises(ValidationError) as err:
        Record.model_validate_json(json.dumps({"ms": 1.0, "from_a_newer_suite": 3}))
    assert err.value.errors()[0]["type"] == "extra_forbidden"


def test_a_flag_needs_a_kind_and_at_least_one_known_metric():
    ok = Flag(kind="high_variance", severity="warn", metrics=["latency"], detail="CV 25%")
    assert ok.metrics == ["latency"]
    for bad in ({"kind": ""}, {"metrics": []}, {"metrics": ["speed"]}, {"severity": "fatal"}):
        with pytest.raises(ValidationError):
            Flag(**{"kind": "k", "severity": "warn", "metrics": ["latency"], "detail": "", **bad})


def test_the_format_version_is_the_newest_row_of_the_format_history():
    """results/history.md documents every version; the one the suite writes is its last row."""
    from pathlib import Path

    import suite.results

    history = (Path(suite.results.__file__).parent / "history.md").read_text(encoding="utf-8")
    rows = [int(m.group(1)) for m in re.finditer(r"^\| (\d+) \|", history, flags=re.M)]
    assert rows == list(range(len(rows))) and rows[-1] == SCHEMA_VERSION
    assert f'"format": "{FORMAT_NAME}"' in history
    assert REFERENCE_BACKEND == "eager"
