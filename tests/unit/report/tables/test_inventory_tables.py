"""suite.report.tables.inventory: what ran where. Each row is held against the committed results
files read with the json module: one device per machine, each run's case counts by status, and
each model's parameters and MACs per item."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suite.report.merge import merge_results
from suite.report.tables.inventory import (
    NOT_AUDITED,
    devices_table,
    models_table,
    runs_table,
)
from suite.results.io import load_results

FIX = Path(__file__).resolve().parents[3] / "fixtures" / "results"
FILES = ["laptop-x86.json", "rpi5.json", "jetson-orin.json"]


@pytest.fixture(scope="module")
def data():
    return merge_results([(FIX / f, load_results(FIX / f)) for f in FILES])


def raw(name: str) -> dict:
    return json.loads((FIX / name).read_text())


def test_one_device_row_per_machine_with_its_environment(data):
    table = devices_table(data)
    rows = {r.data.hostname: r.data for r in table.rows}
    assert len(table.rows) == 3
    for name in FILES:
        env = raw(name)["environment"]
        row = rows[env["hostname"]]
        assert row.cpu == env["cpu_model"] and row.ram_bytes == env.get("ram_bytes")
        assert row.cores == f"{env.get('cores_physical') or '?'} / {env.get('cores_logical') or '?'}"
        assert row.torch == env["packages"].get("torch") and row.platform == env.get("platform", "x86")
        assert (row.executorch, row.openvino) == (env["packages"].get("executorch"), env["packages"].get("openvino"))
        assert row.cases == len(raw(name)["cases"]) and row.runs == 1 and row.fairness == NOT_AUDITED


def test_each_run_counts_its_cases_by_status(data):
    rows = {r.data.source: r.data for r in runs_table(data).rows}
    for name in FILES:
        doc = raw(name)
        row = rows[str(FIX / name)]
        statuses = [c["status"] for c in doc["cases"]]
        assert (row.cases, row.ok, row.failed, row.parity_failed) == (
            len(statuses), statuses.count("ok"), statuses.count("failed"), statuses.count("parity_failed"))
        assert row.run_id == doc["run_id"] and row.command == (" ".join(doc.get("command", [])) or None)
    assert sum(r.failed for r in rows.values()) > 0 and sum(r.parity_failed for r in rows.values()) > 0


def test_each_models_parameters_and_macs_per_item(data):
    cases = [c for name in FILES for c in raw(name)["cases"]]
    table = models_table(data)
    assert [r.data.model for r in table.rows] == sorted({c["spec"]["model"] for c in cases}, key=str.lower)
    for r in table.rows:
        mine = [c for c in cases if c["spec"]["model"] == r.data.model]
        assert r.data.cases == len(mine) and r.data.cases_ok == sum(c["status"] == "ok" for c in mine)
        assert r.data.devices == len({name for name in FILES for c in raw(name)["cases"]
                                      if c["spec"]["model"] == r.data.model})
        assert r.data.params_unique == next(c["params"]["unique"] for c in mine if c.get("params"))
        counted = [c for c in mine if c.get("flops") and c["flops"]["flops_per_item"] == r.data.flops_per_item]
        assert counted, r.data.model
        fl, batch = counted[0]["flops"], counted[0]["spec"]["batch_size"]
        assert fl["flops_per_item"] * batch == fl["flops"]  # per item: the batch's count / its size
        assert r.data.macs_per_item == round(fl["macs"] / batch)


def test_the_on_device_runtimes_a_device_ran_are_shown(tmp_path):
    doc = raw("rpi5.json")
    doc["environment"]["packages"].update({"executorch": "1.5.1", "openvino": "2026.4.1"})
    (tmp_path / "rpi5.json").write_text(json.dumps(doc))
    [row] = devices_table(merge_results([(tmp_path / "rpi5.json", load_results(tmp_path / "rpi5.json"))])).rows
    assert (row.data.executorch, row.data.openvino) == ("1.5.1", "2026.4.1")
