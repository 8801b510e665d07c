"""suite.report.tables (the package): every table of a report built at once, one section per
model, and the files written in reading order with names that cannot collide."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.report.badges import compute_flags
from suite.report.merge import merge_results
from suite.report.tables import build_tables
from suite.results.io import load_results

FIX = Path(__file__).resolve().parents[3] / "fixtures" / "results"


@pytest.mark.parametrize("files, study, profiled", [
    (["rpi5.json", "jetson-orin.json"], False, False),
    (["lab2-study.json"], True, False),
    (["profiled-x86.json"], False, True),
])
def test_every_table_once_and_one_section_per_model(files, study, profiled):
    data = merge_results([(FIX / f, load_results(FIX / f)) for f in files])
    tables = build_tables(data, compute_flags(data))
    assert [s.model.name for s in tables.sections] == [m.name for m in data.models]
    for s in tables.sections:
        assert len(s.cases.rows) == len(s.model.entries)
        assert bool(s.profiles) == profiled
    assert (tables.study is not None) == study
    assert (tables.profile_ops is not None) == profiled == (tables.profile_nodes is not None)
    files_out = tables.files()
    names = [t.name for t in files_out]
    assert len(names) == len(set(names))  # each is written as <name>.csv and <name>.md
    assert names[:5] == ["devices", "runs", "models", "matrix", "comparisons"]
    assert names[-2:] == ["flags", "failures"] and "cases" in names
    assert len(tables.cases.rows) == len(data.entries)
