"""Results schema: round trip, migrations from old versions, clear errors for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suite.errors import ResultsFileError
from suite.results.io import load_results, parse_results, save_results
from suite.results.schema import SCHEMA_VERSION, RunResult, json_schema

FIXTURES = Path(__file__).parents[2] / "fixtures" / "results"


def _minimal_run() -> RunResult:
    from suite.machine.environment import collect_environment
    from suite.results.schema import utc_now

    return RunResult(suite_version="0.1.0", run_id="r1", created_at=utc_now(), environment=collect_environment())


def test_round_trip(tmp_path):
    run = _minimal_run()
    path = tmp_path / "r.json"
    save_results(run, path)
    assert load_results(path) == run
    doc = json.loads(path.read_text())
    assert doc["schema_version"] == SCHEMA_VERSION and doc["format"] == "bench-results"


def test_saved_file_is_readable_by_all_and_leaves_no_temporary(tmp_path):
    """A container writes results into a bind-mounted folder: the host user must read them."""
    import os
    import stat

    old = os.umask(0o077)
    try:
        save_results(_minimal_run(), tmp_path / "r.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_v0_fixture_migrates():
    run = load_results(FIXTURES / "v0" / "results-v0.json")
    assert run.schema_version == SCHEMA_VERSION
    assert len(run.cases) == 1
    assert run.cases[0].latency.summary.median_ms == pytest.approx(27.5)


def test_newer_version_refused(tmp_path):
    doc = json.loads(_minimal_run().model_dump_json())
    doc["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ResultsFileError, match="newer than this suite"):
        parse_results(json.dumps(doc), "x.json")


@pytest.mark.parametrize("text, reason", [
    ('{"format": "bench-results", "schema_version": 1, "run_id": ', "truncated"),
    ("[1, 2]", "not a bench results file"),
    ('{"name": "some other tool"}', "not a bench results file"),
    ("\x00\x01garbage", "not valid JSON"),
])
def test_bad_files_say_what_and_where(tmp_path, text, reason):
    p = tmp_path / "bad.json"
    p.write_text(text)
    with pytest.raises(ResultsFileError) as err:
        load_results(p)
    assert str(p) in str(err.value) and reason in str(err.value)


def test_invalid_field_is_named(tmp_path):
    doc = json.loads(_minimal_run().model_dump_json())
    doc["environment"]["cores_logical"] = "many"
    with pytest.raises(ResultsFileError, match="environment.cores_logical"):
        parse_results(json.dumps(doc), "x.json")


def test_json_schema_is_valid_json_schema():
    schema = json_schema()
    assert schema["title"].startswith("bench results")
    assert "CaseResult" in schema["$defs"] and "accuracy" in schema["$defs"]["CaseResult"]["properties"]
    assert "roofline" in schema["$defs"]["CaseResult"]["properties"]
