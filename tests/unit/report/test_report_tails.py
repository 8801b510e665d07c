"""The p99 column: shown only from as many samples as a p99 claim needs (LoadGen's bound)."""

from __future__ import annotations

import numpy as np
from report_builders import case, run

from suite import stats
from suite.report.badges import compute_flags
from suite.report.format import fmt_ms
from suite.report.merge import merge_results
from suite.report.tables.cases import cases_table


def _cells(r):
    data = merge_results([r])
    t = cases_table(data.entries, compute_flags(data))
    keys = [c.key for c in t.html_columns]
    return {row.data.samples: dict(zip(keys, t.cells(row))) for row in t.rows}, t


def test_p99_is_blank_with_the_count_needed_below_loadgens_bound():
    rng = np.random.default_rng(2)
    few = list(rng.normal(10, 0.3, 30))
    many = list(rng.normal(10, 0.3, 700))
    cells, t = _cells(run([case("m", 1, few), case("m", 2, many)]))
    short, enough = cells[30]["p99_shown_ms"], cells[700]["p99_shown_ms"]
    assert short.text.startswith("\u2013") and "30 taken, 662 needed" in short.title
    assert fmt_ms(float(np.percentile(few, 99))) in short.title
    assert enough.text == fmt_ms(float(np.percentile(many, 99)))
    lo, hi = stats.quantile_ci(many, 0.99)
    assert f"[{fmt_ms(lo)}, {fmt_ms(hi)}]" in enough.title
    p90_lo, p90_hi = stats.quantile_ci(many, 0.9)
    assert f"[{fmt_ms(p90_lo)}, {fmt_ms(p90_hi)}]" in cells[700]["p90_ms"].title
    # 30 samples cannot bound a p90 from above (that takes 35: 0.9^35 < 2.5%)
    p90_lo, p90_hi = stats.quantile_ci(few, 0.9)
    assert p90_hi is None and f"[{fmt_ms(p90_lo)}, ? (too few samples beyond it)]" in cells[30]["p90_ms"].title
    # the CSV keeps the stored figure either way (it is data; the page decides what to claim)
    csv_rows = t.to_csv().splitlines()
    assert "p99_shown_ms" not in csv_rows[0] and "p99_ms" in csv_rows[0]


def test_torch_settings_show_on_the_backend_and_in_the_csv():
    from suite.results.schema import TorchBackends

    tb = TorchBackends(mkldnn_enabled=True, num_threads=2, num_interop_threads=1, channels_last=True)
    cells, t = _cells(run([case("m", 1, [10.0] * 30, backend="eager-cl", torch_backends=tb)]))
    assert cells[30]["backend"].title == "torch: mkldnn on, 2 threads, 1 interop, channels_last"
    header, row = t.to_csv().splitlines()[:2]
    assert "torch_settings" in header.split(",") and "mkldnn on, 2 threads, 1 interop, channels_last" in row
