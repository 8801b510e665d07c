"""Flags and number formatting, on small hand-built results (merging: test_merge.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_builders import T0, case, run, steady

from suite.report.badges import compute_flags
from suite.report.format import fmt_bytes, fmt_count, fmt_ms, fmt_si, sig, slug
from suite.report.merge import merge_results
from suite.results.flags import flag
from suite.results.schema import (
    CaseResult,
    Conditions,
    EnergyResult,
    ErrorInfo,
    Flag,
    RunResult,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "results"


def flags_by_model_batch(r: RunResult) -> dict[tuple[str, int, str], list[str]]:
    data = merge_results([r])
    fl = compute_flags(data)
    return {(e.model, e.spec.batch_size, e.backend): [f.kind for f in fl[e.uid]] for e in data.entries}


def test_non_monotonic_needs_a_drop_beyond_the_tolerance():
    # 10 -> 20 -> 19.2 (-4%: noise) -> 36 -> 30 (-17%: flagged)
    r = run([case("m", 1, steady(10)), case("m", 2, steady(20)), case("m", 4, steady(19.2)),
             case("m", 8, steady(36)), case("m", 16, steady(30))])
    got = flags_by_model_batch(r)
    assert got[("m", 4, "eager")] == []
    assert got[("m", 16, "eager")] == ["non_monotonic"]
    assert all(got[("m", b, "eager")] == [] for b in (1, 2, 8))


def test_non_monotonic_along_input_size_and_per_backend():
    r = run([case("m", 1, steady(10), size=160.0), case("m", 1, steady(5), size=224.0),
             case("m", 1, steady(3), backend="ort", size=160.0), case("m", 1, steady(6), backend="ort", size=224.0)])
    data = merge_results([r])
    fl = compute_flags(data)
    flagged = [(e.backend, e.spec.input_size) for e in data.entries if any(f.kind == "non_monotonic" for f in fl[e.uid])]
    assert flagged == [("eager", 224.0)]


def test_variance_few_samples_throttling_conditions_energy_and_status():
    noisy = [10.0, 14.0] * 15  # CV ~ 17%
    est = EnergyResult(meter="estimate", method="estimated", window_s=1, inferences=10, items=10, gross_j=1,
                       mean_power_w=5, gross_j_per_inference=0.1, gross_j_per_item=0.1,
                       assumptions=["TDP model"])
    measured = est.model_copy(update={"meter": "rapl", "method": "counter", "assumptions": []})
    r = run([
        case("noisy", 1, noisy),
        case("few", 1, [10.0, 10.1, 9.9, 10.0]),
        case("swap", 1, steady(10), flags=[flag("swap", "swap activity: 120 MiB swapped in, 0 MiB out")]),
        # two slow-down reasons of one kind: one badge
        case("soft", 1, steady(10), conditions=Conditions(throttled="0x80008"), flags=[
            flag("throttling", "soft temperature limit (vcgencmd get_throttled=0x80008)"),
            flag("throttling", "CPU frequency capped: cpu0-3 limited to 1500 of 2400 MHz (scaling_max_freq)")]),
        case("note", 1, steady(10), flags=[flag("backend_note", "ort: io_binding off")]),
        case("est", 1, steady(10), energy=est, flags=[flag("energy_estimated", "no power sensor")]),
        case("meas", 1, steady(10), energy=measured),
        case("noe", 1, steady(10), energy_error=ErrorInfo(kind="energy", message="no RAPL"),
             flags=[flag("energy_failed", "no RAPL")]),
        CaseResult(spec=(dead := case("dead", 1, steady(1)).spec), id=dead.case_id, status="failed", started_at=T0,
                   duration_s=0,
                   error=ErrorInfo(kind="oom", message="killed")),
        case("wrong", 1, steady(10), backend="ort", status="parity_failed"),
        case("future", 1, steady(10), flags=[Flag(kind="gpu_ecc_errors", severity="bad", metrics=["latency"],
                                                  detail="a kind from a newer suite")]),
    ])
    got = {k[0]: v for k, v in flags_by_model_batch(r).items()}
    assert got["noisy"] == ["ci_missed"]  # not the spread itself: the CI it leaves wider than the target
    assert got["few"] == ["few_samples"]
    assert got["swap"] == ["swap"]
    assert got["soft"] == ["throttling"]
    assert got["note"] == ["backend_note"]
    assert got["est"] == ["energy_estimated"]
    assert got["meas"] == []
    assert got["noe"] == ["energy_failed"]
    assert got["dead"] == ["failed"]
    assert got["wrong"] == ["parity_failed"]
    assert got["future"] == ["gpu_ecc_errors"]  # kept and shown, under its own name


def _badges(r: RunResult) -> dict:
    """What the report shows of each flag, without the words of its detail."""
    data = merge_results([r])
    fl = compute_flags(data)
    return {e.uid: [(f.kind, f.code, f.label, f.severity, f.slots) for f in fl[e.uid]] for e in data.entries}


def test_rewording_a_message_changes_no_badge(tmp_path):
    """The report reads kinds: a monitor that words its messages differently leaves every badge,
    and the cases table's flag codes, as they were."""
    from suite.report.html import render_report
    from suite.results.io import load_results

    run_ = load_results(FIXTURES / "rpi5.json")
    reworded = run_.model_copy(update={"cases": [
        c.model_copy(update={"flags": [f.model_copy(update={"detail": "Das Gerät war zu heiß"}) for f in c.flags]})
        for c in run_.cases]})
    assert any(c.flags for c in run_.cases)
    assert _badges(run_) == _badges(reworded)
    out = {}
    for name, r in (("a", run_), ("b", reworded)):
        render_report([r], tmp_path / f"{name}.html", formats=["md"], figures=False)
        out[name] = (tmp_path / f"{name}-tables" / "cases.md").read_text()
    assert out["a"] == out["b"]


def test_flags_table_lists_each_reason_once(tmp_path):
    """v1 reports listed a reason as a flag and again as a note; one reason, one row now."""
    from suite.report.html import render_report
    from suite.results.io import load_results

    run_ = load_results(FIXTURES / "v1" / "quick-run-tiny-model.json")
    render_report([run_], tmp_path / "r.html", formats=["csv"], figures=False)
    import csv

    rows = list(csv.DictReader((tmp_path / "r-tables" / "flags.csv").open()))
    keys = [(r["flag"], r["device"], r["detail"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert not any(r["flag"] == "note" for r in rows)
    for c in run_.cases:
        kinds = [f.kind for f in c.flags]
        assert len(kinds) == len(set((f.kind, f.detail) for f in c.flags))


@pytest.mark.parametrize("value,expected", [
    (0, "0"), (1234.5, "1,234"), (123.45, "123"), (12.345, "12.3"), (1.2345, "1.23"), (0.012345, "0.0123"),
    (-5.5, "-5.50"),
])
def test_sig(value, expected):
    assert sig(value, 3) == expected


def test_units():
    assert fmt_si(0.0123, "J") == "12.3 mJ"
    assert fmt_si(4.56e9, "FLOP/s") == "4.56 GFLOP/s"
    assert fmt_si(2.5e-6, "J") == "2.50 \u00b5J"
    assert fmt_count(3_504_872) == "3.505 M"
    assert fmt_count(1_814_073_344) == "1.814 G"
    assert fmt_bytes(16 * 2**30) == "16.0 GiB"
    assert fmt_bytes(350 * 2**20) == "350 MiB"
    assert fmt_bytes(512) == "512 B"
    assert fmt_ms(None) == "\u2013"


def test_slug_is_safe_and_distinct():
    a, b = slug("<script>alert(1)</script>", "model-"), slug("script-alert-1-script", "model-")
    assert a != b
    assert all(ch.isalnum() or ch == "-" for ch in a)
