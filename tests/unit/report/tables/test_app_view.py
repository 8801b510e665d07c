"""The cold-start table (suite/report/tables/app_view.py): each case's stored steps, their sum and the
first call against the case's warm median, in the HTML, Markdown and CSV alike."""

from __future__ import annotations

import csv
import io

from suite.report.merge import merge_results
from suite.report.tables.app_view import cold_start_table
from suite.results.schema import ColdStart
from tests.report_builders import case, run, steady


def cold(import_s: float, load_s: float, first_s: float) -> ColdStart:
    return ColdStart(method="test", imported=["torch"], import_s=import_s, load_s=load_s, first_call_s=first_s,
                     rss_after_load_bytes=700 * 2**20, rss_after_first_call_bytes=720 * 2**20)


def test_rows_sum_the_steps_and_set_the_first_call_against_the_warm_median() -> None:
    data = merge_results([run([case("resnet18", 1, steady(4.0), cold_start=cold(1.5, 0.25, 0.04)),
                               case("resnet18", 1, steady(2.0), backend="ort", cold_start=cold(0.12, 0.03, 0.01)),
                               case("resnet18", 4, steady(9.0))])])
    table = cold_start_table(data)
    assert table is not None
    rows = [r.data for r in table.rows]
    assert len(rows) == 2  # the case without a cold start has no row
    eager, ort = rows
    assert eager.to_first_result_ms == 1500 + 250 + 40
    assert eager.first_vs_warm == 40 / 4.0  # warm median: the stored samples' median (4.0 ms)
    assert ort.to_first_result_ms == 120 + 30 + 10 and ort.first_vs_warm == 10 / 2.0
    parsed = list(csv.DictReader(io.StringIO(table.to_csv())))
    assert float(parsed[0]["to_first_result_ms"]) == 1790.0
    assert "| 1,790 |" in table.to_markdown(2)


def test_no_cold_start_no_table() -> None:
    assert cold_start_table(merge_results([run([case("resnet18", 1, steady(4.0))])])) is None
