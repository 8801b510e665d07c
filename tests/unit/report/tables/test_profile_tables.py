"""suite.report.tables.profile: where the time went. On the committed profiled run (resnet18 and
mobilenet_v3_small, eager and ORT), every figure of the side-by-side tables is a sum over the
operators stored in the file, read here with the json module."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from suite.report.merge import merge_results
from suite.report.tables.profile import (
    FAMILIES,
    profile_groups,
    profile_nodes_table,
    profile_ops_table,
)
from suite.results.io import load_results

FIX = Path(__file__).resolve().parents[3] / "fixtures" / "results" / "profiled-x86.json"


@pytest.fixture(scope="module")
def data():
    return merge_results([(FIX, load_results(FIX))])


@pytest.fixture(scope="module")
def raw():
    return json.loads(FIX.read_text())["cases"]


def test_each_family_row_sums_the_stored_operators_per_backend(data, raw):
    for model in data.models:
        [group] = profile_groups(model.entries, model.anchor)
        assert group.title.startswith(f"Where the time went: {model.name} on ")
        by_backend = {c["spec"]["backend"]: c["profile"]["ops"] for c in raw if c["spec"]["model"] == model.name}
        sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for backend, ops in by_backend.items():
            for o in ops:
                sums[o["family"]][backend] += o["time_ms"]
        rows = {r.data.family: r.data for r in group.table.rows}
        assert list(rows) == [f for f in FAMILIES if f in sums]  # the families in their fixed order
        for family, per_backend in sums.items():
            for backend, ms in per_backend.items():
                assert rows[family].cells[backend].time_ms == pytest.approx(ms)
            missing = sorted(set(by_backend) - set(per_backend))
            if "eager" in per_backend and family not in ("conv", "matmul/gemm", "other") and missing:
                assert rows[family].fused_away == ", ".join(missing)


def test_batch_norm_is_fused_away_in_ort_for_resnet18(data):
    model = next(m for m in data.models if m.name == "resnet18")
    [group] = profile_groups(model.entries, model.anchor)
    norm = next(r.data for r in group.table.rows if r.data.family == "norm")
    assert set(norm.cells) == {"eager"} and norm.fused_away == "ort"
    assert "aten::batch_norm \u00d720" in norm.cells["eager"].ops


def test_the_flat_tables_hold_every_operator_and_node_in_order(data, raw):
    ops = profile_ops_table(data)
    assert len(ops.rows) == sum(len(c["profile"]["ops"]) for c in raw if c.get("profile"))
    nodes = profile_nodes_table(data)
    expected = [(c["spec"]["model"], c["spec"]["backend"], i, n["name"]) for c in raw if c.get("profile")
                for i, n in enumerate(c["profile"]["top_nodes"], start=1)]
    assert sorted((r.data.model, r.data.backend, r.data.rank, r.data.node) for r in nodes.rows) == sorted(expected)


def test_no_profile_no_tables():
    from report_builders import case, run

    data = merge_results([run([case("m", 1, [1.0, 1.1, 1.2])])])
    assert profile_ops_table(data) is None and profile_nodes_table(data) is None
    assert profile_groups(data.entries, "m") == []
