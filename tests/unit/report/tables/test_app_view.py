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


def test_the_paced_table_reads_the_stored_starts_and_sets_energy_beside_back_to_back() -> None:
    from suite.report.tables.app_view import paced_table
    from suite.results.schema import EnergyResult, PacedEnergy, PacedResult

    paced = PacedResult(method="t", rate_hz=10, period_ms=100, starts_ms=[0.0, 100.5, 200.0, 301.5],
                        samples_ms=[2.0, 2.0, 3.0, 2.0], missed=0, idle_gaps=3, median_ms=2.0, median_ci_low_ms=2.0,
                        median_ci_high_ms=3.0, p99_ms=3.0, vs_back_to_back=2.0, vs_back_to_back_ci=(1.5, 2.5),
                        energy=PacedEnergy(meter="rapl", method="counter", window_s=2.0, frames=20, busy_s=0.05,
                                           gross_j=10.0, gross_j_per_frame=0.5, idle_power_w=4.0,
                                           idle_j_per_frame=0.39, active_j_per_frame=0.11))
    b2b = EnergyResult(meter="rapl", method="counter", window_s=1.0, inferences=100, items=100, gross_j=5.0,
                       mean_power_w=5.0, gross_j_per_inference=0.05, gross_j_per_item=0.05)
    data = merge_results([run([case("resnet18", 1, steady(1.0), paced=paced, energy=b2b)])])
    table = paced_table(data)
    assert table is not None
    row = table.rows[0].data
    assert row.achieved_period_ms == 301.5 / 3  # (last start - first start) / (calls - 1)
    assert row.period_error_ms == (1.5 - 0.0) / 3  # lags 0, 0.5, 0, 1.5 ms
    assert row.back_to_back_median_ms == 1.0 and row.j_per_frame == 0.5 and row.j_per_inference_back_to_back == 0.05
    assert "| 100 | 0.500 | 4 | 0 | 3 |" in table.to_markdown(2)  # achieved, ± bound, frames, missed, gaps



def sustained_data():
    """One case with a 6-window timeline that throttles at 4 s (shared with the figure's test)."""
    from datetime import datetime, timezone

    from suite.results.schema import SustainedResult, TimelineWindow

    windows = [TimelineWindow(start_s=i, end_s=i + 1, calls=100, median_ms=1.0 if i < 3 else 1.5,
                              cpu_temp_c=60 + 5 * i, cpu_clock_mhz=1800 if i < 3 else 1200,
                              throttled="cpu0 max 1800 -> 1200 MHz" if i >= 3 else None, power_w=5.0,
                              j_per_inference=0.05) for i in range(6)]
    sustained = SustainedResult(method="t", started_at=datetime(2026, 1, 1, tzinfo=timezone.utc), duration_s=6,
                                window_s=1, windows=windows, time_to_throttle_s=4.0, burst_s=1.5, sustained_s=4.5,
                                burst_median_ms=1.0, sustained_median_ms=1.5, ratio=1.5, ratio_ci=(1.5, 1.5))
    return merge_results([run([case("resnet18", 1, steady(1.0), sustained=sustained)])])


def test_the_sustained_table_reads_the_stored_timeline() -> None:
    from suite.report.tables.app_view import sustained_table

    table = sustained_table(sustained_data())
    assert table is not None
    row = table.rows[0].data
    assert (row.ran_s, row.windows, row.time_to_throttle_s) == (6, 6, 4.0)
    assert (row.temp_start_c, row.temp_max_c, row.clock_min_mhz) == (60, 85, 1200)
    assert row.ratio == 1.5 and row.j_per_inference_first == 0.05


def test_the_estimate_table_sets_actual_against_predicted_with_their_spread() -> None:
    from suite.report.tables.app_view import estimate_table
    from suite.results.schema import PlanEstimate

    def est(actual: float) -> PlanEstimate:
        return PlanEstimate(basis="policy bounds", predicted_s=10.0, predicted_sampling_s=5.0, actual_s=actual)

    data = merge_results([run([case("resnet18", b, steady(1.0), estimate=est(a))
                               for b, a in ((1, 5.0), (2, 10.0), (4, 20.0))])])
    table = estimate_table(data)
    assert table is not None
    assert [r.data.actual_over_predicted for r in table.rows] == [0.5, 1.0, 2.0]
    assert "median 1, middle half 0.75-1.5" in table.caption  # numpy's percentiles of 0.5, 1, 2


def test_the_cases_csv_carries_one_flat_row_of_the_app_figures() -> None:
    from suite.report.tables.cases import cases_table

    paced = paced_for_csv()
    data = merge_results([run([case("resnet18", 1, steady(1.0), cold_start=cold(1.5, 0.25, 0.05), paced=paced)])])
    row = next(csv.DictReader(io.StringIO(cases_table(data.entries, {}).to_csv())))
    assert float(row["cold_start_s"]) == 1.8 and float(row["paced_rate_hz"]) == 10 and row["paced_missed"] == "1"
    assert float(row["paced_median_ms"]) == 2.0 and row["sustained_ratio"] == "" and row["estimate_actual_s"] == ""


def paced_for_csv():  # a hand-built paced result: 10/s, one missed deadline
    from suite.results.schema import PacedResult

    return PacedResult(method="t", rate_hz=10, period_ms=100, starts_ms=[0.0, 100.0], samples_ms=[2.0, 120.0],
                       missed=1, idle_gaps=1, median_ms=2.0, median_ci_low_ms=2.0, median_ci_high_ms=120.0,
                       p99_ms=120.0)
