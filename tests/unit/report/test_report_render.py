"""The report rendered from the committed fixtures: content, not just "it rendered".

Expected numbers are recomputed here from the raw JSON with numpy (not through suite.stats
or the report code), so a wrong median, ratio or unit in the report fails a test.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from report_builders import case, run, steady
from scipy import stats as scipy_stats

from suite.report.badges import compute_flags
from suite.report.build import NoResultsError, build_report_from_paths
from suite.report.figures import build_figures
from suite.report.format import fmt_count, fmt_ms
from suite.report.html import output_paths, render_report
from suite.report.merge import merge_results
from suite.results.io import load_results

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "results"
DEVICE_FILES = [FIX / "laptop-x86.json", FIX / "jetson-orin.json", FIX / "rpi5.json"]


def _raw(name: str) -> dict:
    return json.loads((FIX / name).read_text(encoding="utf-8"))


def _case(doc: dict, model: str, backend: str, batch: int, size: float | None = None) -> dict:
    hits = [c for c in doc["cases"] if c["spec"]["model"] == model and c["spec"]["backend"] == backend
            and c["spec"]["batch_size"] == batch and (size is None or c["spec"]["input_size"] == size)]
    assert len(hits) == 1, (model, backend, batch, size, len(hits))
    return hits[0]


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    outcome = build_report_from_paths([*DEVICE_FILES, FIX / "bad"], out)
    html = out.read_text(encoding="utf-8")
    return outcome, out, html


def _row(html: str, uid_fragment: str) -> str:
    """The <tr> of one case (by the text of its cells), for assertions on one row only."""
    rows = re.findall(r"<tr[^>]*>.*?</tr>", html, flags=re.DOTALL)
    hits = [r for r in rows if uid_fragment in r]
    assert hits, uid_fragment
    return hits[0]


# ----------------------------------------------------------------------------- files and bad input


def test_bad_files_are_named_with_their_reason_and_the_rest_renders(report):
    outcome, _, html = report
    bad = {Path(b.path).name: b.reason for b in outcome.bad}
    assert set(bad) == {"truncated.json", "foreign.json", "newer.json"}
    assert "truncated" in bad["truncated.json"]
    assert "not a bench results file" in bad["foreign.json"]
    assert "newer" in bad["newer.json"] and "99" in bad["newer.json"]
    assert len(outcome.loaded) == 3
    assert "3 files could not be read" in html
    for name, reason in bad.items():
        assert name in html
        assert reason.replace("'", "&#39;") in html


def test_outputs_are_written_beside_the_html(report):
    outcome, out, _ = report
    o = outcome.output
    assert o.html == out and o.markdown == out.with_suffix(".md")
    names = {p.name for p in o.tables}
    for t in ("devices", "runs", "models", "matrix", "comparisons", "cases", "flags", "failures"):
        assert f"{t}.csv" in names and f"{t}.md" in names
    assert all(p.parent == out.parent / "report-tables" for p in o.tables)
    figs = {p.name for p in o.figures}
    for fid in ("latency-vs-batch", "latency-per-item-vs-batch", "latency-vs-input-size", "first-iterations",
                "latency-distributions", "flops-vs-latency", "energy-vs-latency", "achieved-flops"):
        assert f"{fid}.png" in figs and f"{fid}.svg" in figs
    assert all(p.exists() and p.stat().st_size > 0 for p in o.paths())


def test_figures_are_valid_png_and_svg_and_not_blank(report):
    from PIL import Image

    outcome, _, html = report
    for p in outcome.output.figures:
        if p.suffix == ".png":
            im = Image.open(p).convert("L")
            lo, hi = im.getextrema()
            assert im.size[0] > 300 and hi - lo > 100, p  # ink on white, not a blank canvas
        else:
            root = ET.parse(p).getroot()
            assert root.tag.endswith("svg")
            # inlined in the page as a data: image (nothing in it can run or fetch)
            b64 = base64.b64encode(p.read_bytes()).decode()
            assert f"data:image/svg+xml;base64,{b64}" in html


def test_page_is_self_contained(report):
    _, _, html = report
    # nothing to fetch: no external src/href, no stylesheet links, no @import
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "<link rel=\"stylesheet\"" not in html and "@import" not in html
    for m in re.finditer(r'\bsrc="([^"]+)"', html):
        assert m.group(1).startswith("data:"), m.group(1)[:60]
    # one script, one style, both pinned by hash in the CSP
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    styles = re.findall(r"<style>(.*?)</style>", html, flags=re.DOTALL)
    assert len(scripts) == 1 and len(styles) == 1
    csp = unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))

    def sha(text: str) -> str:
        return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert f"script-src 'sha256-{sha(scripts[0])}'" in csp
    assert f"style-src 'sha256-{sha(styles[0])}'" in csp
    assert "default-src 'none'" in csp and "img-src data:" in csp


# ----------------------------------------------------------------------------- overview


def test_devices_table_lists_each_device_with_its_details(report):
    _, out, html = report
    rows = {r["hostname"]: r for r in _csv(out.parent / "report-tables" / "devices.csv")}
    assert set(rows) == {"lab-laptop", "orin-nano", "pi5-lab"}
    assert rows["orin-nano"]["device"] == "Jetson Orin Nano"  # "NVIDIA ... Developer Kit" shortened
    assert rows["orin-nano"]["power_mode"] == "15W"
    assert rows["orin-nano"]["accelerators"] == "Orin (nvgpu), 1024 CUDA cores"
    assert rows["pi5-lab"]["device"] == "Raspberry Pi 5 Model B"
    assert rows["lab-laptop"]["device"] == "Core i7-1165G7"
    assert int(rows["lab-laptop"]["ram_bytes"]) == 16 * 2**30
    assert rows["lab-laptop"]["torch"] == "2.14.1" and rows["lab-laptop"]["onnxruntime"] == "1.32.0"
    assert int(rows["lab-laptop"]["cases"]) == 42 and int(rows["pi5-lab"]["cases"]) == 40
    assert "16.0 GiB" in html  # 16 * 2**30 bytes
    assert "11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz" in html


def test_summary_cards_count_cases_and_typical_speedup(report):
    _, _, html = report
    # 42 + 40 + 40 cases; one failed (Pi, ALBERT ORT batch 8), one parity failure (Longformer ORT)
    assert re.search(r'card-label">Cases</div>\s*<div class="card-value">122</div>', html)
    assert "120 ok · 1 failed · 1 parity failed" in html
    # laptop: median over the stored ORT/eager ratios of cases that passed parity
    doc = _raw("laptop-x86.json")
    ok_ids = {c["id"] for c in doc["cases"] if c["status"] == "ok"}
    ratios = [c["ratio"] for c in doc["comparisons"] if c["candidate_case"] in ok_ids]
    assert len(ratios) == 20
    assert f"{np.median(ratios):.2f}×" in html.split("ort vs eager on Core i7-1165G7")[1][:200]


def test_models_table_parameters_and_flops(report):
    _, out, html = report
    rows = {r["model"]: r for r in _csv(out.parent / "report-tables" / "models.csv")}
    # published counts (NOTES.md): torchvision random init; ALBERT unique vs each call counted
    assert int(rows["resnet18"]["params_unique"]) == 11_689_512
    assert int(rows["albert-base-v2"]["params_unique"]) == 11_683_584
    assert int(rows["albert-base-v2"]["params_effective"]) == 89_650_176
    # FLOPs = 2 x MACs, per item at the reference size
    assert int(rows["resnet18"]["flops_per_item"]) == 2 * 1_814_073_344
    assert int(rows["resnet18"]["macs_per_item"]) == 1_814_073_344
    assert rows["resnet18"]["sizes"] == "160, 224"
    assert "11.69 M" in html and "89.65 M" in html
    assert fmt_count(11_689_512) == "11.69 M"


# ----------------------------------------------------------------------------- numbers


def _mcol(row: dict[str, str], device_index: int, suffix: str) -> str:
    """A matrix CSV cell by device index: columns are named d<i>_<device>_<backend>_<what>."""
    (key,) = [k for k in row if k.startswith(f"d{device_index}_") and k.endswith(f"_{suffix}")]
    return row[key]


def test_matrix_medians_and_ratios_match_the_samples(report):
    _, out, html = report
    rows = _csv(out.parent / "report-tables" / "matrix.csv")
    row = next(r for r in rows if r["model"] == "resnet18" and r["batch_size"] == "1" and r["input_size"] == "224.0")
    header = html.split('id="table-matrix"')[1].split("</thead>")[0]
    devices = re.findall(r'colspan="\d+" scope="colgroup">([^<]*)</th>', header)
    assert devices == ["", "Core i7-1165G7", "Jetson Orin Nano", "Raspberry Pi 5 Model B"]
    for i, name in enumerate(["laptop-x86.json", "jetson-orin.json", "rpi5.json"]):
        doc = _raw(name)
        eager = np.median(_case(doc, "resnet18", "eager", 1, 224)["latency"]["samples_ms"])
        ort = np.median(_case(doc, "resnet18", "ort", 1, 224)["latency"]["samples_ms"])
        assert float(_mcol(row, i, "eager_median_ms")) == pytest.approx(eager, rel=1e-12)
        assert float(_mcol(row, i, "ort_median_ms")) == pytest.approx(ort, rel=1e-12)
        assert float(_mcol(row, i, "ort_ratio")) == pytest.approx(ort / eager, rel=1e-9)
        assert _mcol(row, i, "ort_significant") == "true"  # ORT ~0.63x with 40 samples a side
    assert "d1_jetson_orin_nano_ort_median_ms" in row and "d2_raspberry_pi_5_model_b_eager_median_ms" in row
    # the HTML shows the same numbers, rounded
    laptop = _raw("laptop-x86.json")
    e = np.median(_case(laptop, "resnet18", "eager", 1, 224)["latency"]["samples_ms"])
    o = np.median(_case(laptop, "resnet18", "ort", 1, 224)["latency"]["samples_ms"])
    matrix_html = html.split('id="table-matrix"')[1].split("</table>")[0]
    assert f">{fmt_ms(e)}<" in matrix_html and f">{fmt_ms(o)}<" in matrix_html
    assert f"{o / e:.2f}× (sig.)" in matrix_html


def _check_comparisons_csv(rows: list[dict[str, str]], docs: dict[str, dict], origin: str) -> None:
    """Each comparisons.csv row against its two cases' raw samples: ratio of medians (numpy),
    Mann-Whitney p (scipy), a CI that brackets the ratio, and the significance rule."""
    assert rows
    for r in rows:
        doc = docs[r["device"]]
        size = float(r["input_size"]) if r["input_size"] else None
        a = np.asarray(_case(doc, r["model"], r["baseline"], int(r["batch_size"]), size)["latency"]["samples_ms"])
        b = np.asarray(_case(doc, r["model"], r["candidate"], int(r["batch_size"]), size)["latency"]["samples_ms"])
        ratio, lo, hi, p = (float(r[k]) for k in ("ratio", "ratio_ci_low", "ratio_ci_high", "p_value"))
        assert float(r["baseline_median_ms"]) == pytest.approx(np.median(a), rel=1e-12)
        assert float(r["candidate_median_ms"]) == pytest.approx(np.median(b), rel=1e-12)
        assert ratio == pytest.approx(np.median(b) / np.median(a), rel=1e-9), r
        assert p == pytest.approx(scipy_stats.mannwhitneyu(a, b, alternative="two-sided").pvalue, rel=1e-12), r
        assert lo <= ratio <= hi, r
        assert r["significant"] == ("true" if (lo > 1 or hi < 1) and p < 0.05 else "false"), r
        assert r["origin"] == origin


def test_comparisons_csv_matches_the_samples(report):
    _, out, _ = report
    rows = _csv(out.parent / "report-tables" / "comparisons.csv")
    labels = ["Core i7-1165G7", "Jetson Orin Nano", "Raspberry Pi 5 Model B"]
    docs = {label: _raw(f.name) for label, f in zip(labels, DEVICE_FILES)}
    assert {r["device"] for r in rows} == set(labels)
    assert len(rows) == sum(len(d["comparisons"]) for d in docs.values())
    _check_comparisons_csv(rows, docs, "stored")


def test_cases_csv_latency_energy_carbon_and_flops(report):
    _, out, _ = report
    rows = _csv(out.parent / "report-tables" / "cases.csv")
    doc = _raw("jetson-orin.json")
    c = _case(doc, "mobilenet_v2", "eager", 4, 224)
    r = next(r for r in rows if r["model"] == "mobilenet_v2" and r["device"] == "Jetson Orin Nano"
             and r["backend"] == "eager" and r["batch_size"] == "4")
    s = np.asarray(c["latency"]["samples_ms"])
    assert float(r["median_ms"]) == pytest.approx(np.median(s), rel=1e-12)
    assert float(r["p90_ms"]) == pytest.approx(np.percentile(s, 90), rel=1e-12)
    assert float(r["p99_ms"]) == pytest.approx(np.percentile(s, 99), rel=1e-12)
    assert int(r["samples"]) == len(s) == 40
    assert float(r["throughput_items_s"]) == pytest.approx(4 / (np.median(s) / 1000), rel=1e-9)
    # order-statistics CI of the median brackets it
    assert float(r["median_ci_ms_low"]) <= np.median(s) <= float(r["median_ci_ms_high"])
    # energy: sampled at 20 Hz on the Jetson; mean power 7.6 W, idle 4.3 W (fixture), per inference
    t_s = np.median(s) / 1000
    assert float(r["energy_gross_j"]) == pytest.approx(7.6 * t_s, rel=1e-9)
    assert float(r["energy_net_j"]) == pytest.approx((7.6 - 4.3) * t_s, rel=1e-9)
    assert r["energy_method"] == "sampled (jetson, 20.0 Hz)"
    # carbon: J -> kWh (/3.6e6) x 56 g/kWh (France) x 1e6 inferences
    assert float(r["carbon_g_per_million"]) == pytest.approx(7.6 * t_s / 3.6e6 * 56.0 * 1e6, rel=1e-9)
    # achieved FLOP/s: counted FLOPs of the batch / median time
    assert float(r["achieved_flops_s"]) == pytest.approx(2 * 300_774_272 * 4 / t_s, rel=1e-9)
    laptop = next(r for r in rows if r["device"] == "Core i7-1165G7" and r["energy_method"])
    assert laptop["energy_method"] == "counter (rapl)"


# ----------------------------------------------------------------------------- flags


def _flag_rows(out: Path) -> list[dict[str, str]]:
    return [r for r in _csv(out.parent / "report-tables" / "cases.csv") if r["flags"]]


def test_failed_case_shows_its_error(report):
    _, out, html = report
    failed = [r for r in _csv(out.parent / "report-tables" / "cases.csv") if r["status"] == "failed"]
    assert [(r["model"], r["device"], r["backend"], r["batch_size"]) for r in failed] == [
        ("albert-base-v2", "Raspberry Pi 5 Model B", "ort", "8")]
    assert failed[0]["median_ms"] == ""  # no number for a failed case
    assert "FAILED: The case failed (oom: worker killed by the kernel OOM killer" in failed[0]["flags"]
    fail_html = html.split('id="failures"')[1].split("</section>")[0]
    assert "albert-base-v2 · ort · batch 8 · 128 (seq_len)" in fail_html
    assert "worker killed by the kernel OOM killer (peak RSS 7.6 GiB of 7.9 GiB)" in fail_html


def test_parity_failure_is_flagged_wherever_the_ort_numbers_appear(report):
    _, out, html = report
    rows = _csv(out.parent / "report-tables" / "matrix.csv")
    lf = next(r for r in rows if r["model"] == "longformer-base-4096")
    assert _mcol(lf, 0, "ort_median_ms") != ""  # the timing is there ...
    assert "PARITY: ort outputs differ from eager: max relative error 0.031 > tolerance 0.0001" in lf["flags"]
    # ... and in the page it is struck through with a badge, in the matrix, the model's table
    # and the comparisons table
    matrix = html.split('id="table-matrix"')[1].split("</table>")[0]
    cell = re.search(r'<td class="([^"]*)"[^>]*><a href="#c\d+-\d+">[^<]*</a> <span class="flag flag-bad" '
                     r'title="ort outputs differ', matrix)
    assert cell and "struck" in cell.group(1) and "cell-bad" in cell.group(1)
    ratio_cell = re.search(r'<td class="([^"]*)"[^>]*title="[^"]*"><a[^>]*>[\d.]+× \((sig|n)\.[^<]*</a> '
                           r'<span class="flag flag-bad"[^>]*>parity failed', matrix)
    assert ratio_cell and "struck" in ratio_cell.group(1)
    section = html.split('id="model-longformer-base-4096')[1].split("</article>")[0]
    row = _row(section, ">ort<")
    assert 'class="status-parity_failed"' in row
    # coloured status, and a badge beside the median, the energy and the carbon figures
    assert "cell-bad" in row and row.count(">parity failed</span>") >= 4
    comps = html.split('id="table-comparisons"')[1].split("</table>")[0]
    assert ">parity failed</span>" in _row(comps, "longformer-base-4096")
    # the cards' typical speed-up leaves it out; the CSV cases row says so too
    case = next(r for r in _csv(out.parent / "report-tables" / "cases.csv")
                if r["model"] == "longformer-base-4096" and r["backend"] == "ort")
    assert case["status"] == "parity failed" and "PARITY" in case["flags"]


def test_a_stored_parity_flag_gives_way_to_the_case_parity_flag(tmp_path):
    """The runner's parity flag on a comparison is not shown twice beside the candidate's PARITY
    flag; any other flag on a comparison is shown, under its kind."""
    from suite.results.comparisons import parity_flag
    from suite.results.flags import flag

    run = load_results(DEVICE_FILES[0])
    other = flag("backend_note", "a stored note")
    comps = [c.model_copy(update={"flags": [parity_flag("eager")]}) if c.model == "longformer-base-4096"
             else c.model_copy(update={"flags": [other]}) if c.model == "resnet18" and c.batch_size == 1
             else c for c in run.comparisons]
    render_report([run.model_copy(update={"comparisons": comps})], tmp_path / "p.html", formats=["csv"],
                  figures=False)
    rows = _csv(tmp_path / "p-tables" / "comparisons.csv")
    lf = next(r for r in rows if r["model"] == "longformer-base-4096")
    assert lf["flags"].count("PARITY:") == 1 and "ort outputs differ from eager" in lf["flags"]
    noted = [r for r in rows if "NOTE: a stored note" in r["flags"]]
    assert noted and all(r["model"] == "resnet18" and r["batch_size"] == "1" for r in noted)


def test_estimated_energy_is_flagged_only_where_estimated(report):
    _, out, _ = report
    rows = _csv(out.parent / "report-tables" / "cases.csv")
    est = [r for r in rows if "EST:" in r["flags"]]
    assert est and {r["device"] for r in est} == {"Raspberry Pi 5 Model B"}
    assert all(r["energy_method"] == "estimated (estimate)" for r in est)
    # every Pi case with an energy figure is flagged; none of the measured ones are
    pi_with_energy = [r for r in rows if r["device"] == "Raspberry Pi 5 Model B" and r["energy_gross_j"]]
    assert len(est) == len(pi_with_energy) == 39


def test_non_monotonic_scaling_and_throttling(report):
    _, out, html = report
    rows = _csv(out.parent / "report-tables" / "cases.csv")
    nonmono = [r for r in rows if "NONMONO" in r["flags"]]
    # exactly one: the Pi's squeezenet eager at batch 8 runs faster than at (throttled) batch 4
    assert [(r["model"], r["device"], r["backend"], r["batch_size"]) for r in nonmono] == [
        ("squeezenet1_0", "Raspberry Pi 5 Model B", "eager", "8")]
    pi = _raw("rpi5.json")
    b4 = np.median(_case(pi, "squeezenet1_0", "eager", 4)["latency"]["samples_ms"])
    b8 = np.median(_case(pi, "squeezenet1_0", "eager", 8)["latency"]["samples_ms"])
    assert b8 < b4 * 0.95
    assert f"from {fmt_ms(b4)} ms to {fmt_ms(b8)} ms" in nonmono[0]["flags"]
    throttled = [r for r in rows if "THROTTLE" in r["flags"]]
    assert [(r["model"], r["batch_size"]) for r in throttled] == [("squeezenet1_0", "4")]
    assert ">throttling</span>" in html and ">non-monotonic</span>" in html


def test_high_variance_flag_matches_the_samples(report):
    _, out, _ = report
    rows = _csv(out.parent / "report-tables" / "cases.csv")
    var = [r for r in rows if "VAR:" in r["flags"]]
    assert [(r["model"], r["device"], r["backend"], r["batch_size"]) for r in var] == [
        ("mobilenet_v2", "Jetson Orin Nano", "ort", "1")]
    s = np.asarray(_case(_raw("jetson-orin.json"), "mobilenet_v2", "ort", 1)["latency"]["samples_ms"])
    cv = s.std(ddof=1) / s.mean()
    assert cv >= 0.10  # torch/pyperf's threshold
    assert f"CV {cv:.0%}" in var[0]["flags"]
    # every other case is below it
    for name in ("laptop-x86.json", "jetson-orin.json", "rpi5.json"):
        for c in _raw(name)["cases"]:
            if c.get("latency") and not (c["spec"]["model"] == "mobilenet_v2" and c["spec"]["backend"] == "ort"
                                         and c["spec"]["batch_size"] == 1 and name == "jetson-orin.json"):
                x = np.asarray(c["latency"]["samples_ms"])
                assert x.std(ddof=1) / x.mean() < 0.10


def test_flags_table_folds_identical_flags(report):
    _, out, _ = report
    rows = _csv(out.parent / "report-tables" / "flags.csv")
    est = [r for r in rows if r["flag"] == "estimated"]
    assert len(est) == 1 and est[0]["count"] == "39"
    assert [r["severity"] for r in rows][:2] == ["do not trust", "do not trust"]


# ----------------------------------------------------------------------------- Markdown


def test_markdown_report_for_lab_write_ups(report):
    _, out, _ = report
    md = out.with_suffix(".md").read_text(encoding="utf-8")
    assert md.startswith("# Inference benchmark report")
    assert "## Cross-hardware matrix" in md and "## resnet18" in md and "### Cases of resnet18" in md
    # the matrix's device groups survive in Markdown as column titles
    assert "| Jetson Orin Nano: ort (ms) | Jetson Orin Nano: ort/eager |" in md
    assert "![Latency vs batch size](report-figures/latency-vs-batch.png)" in md
    assert "⚠PARITY" in md and "⚠EST" in md and "⚠NONMONO" in md
    assert "Parameters: 11.68 M unique, effective 89.65 M" in md
    # a well-formed table: header, alignment row, body rows with as many cells
    table = md.split("## Devices")[1].split("\n\n")[2].splitlines()
    n = table[0].count(" | ")
    assert re.fullmatch(r"\|(---:?\|)+", table[1]) and all(line.count(" | ") == n for line in table[2:])


def test_formats_and_no_figures(tmp_path):
    res = render_report([load_results(DEVICE_FILES[0])], tmp_path / "only-md.html", formats=["md"], figures=False)
    assert res.html is None and res.markdown and res.markdown.exists()
    assert not (tmp_path / "only-md.html").exists()
    assert not (tmp_path / "only-md-figures").exists()
    assert {p.suffix for p in res.tables} == {".md"}
    res = render_report([load_results(DEVICE_FILES[0])], tmp_path / "h.html", formats=["html"], figures=False)
    assert res.html.exists() and res.markdown is None and res.tables == [] and res.figures == []
    assert "data:image/svg+xml" not in res.html.read_text(encoding="utf-8")


def test_output_paths():
    assert output_paths("reports/x.html") == (Path("reports/x.html"), Path("reports/x.md"),
                                              Path("reports/x-tables"), Path("reports/x-figures"))
    assert output_paths("reports")[0] == Path("reports/report.html")
    assert output_paths("reports/r.md")[0] == Path("reports/r.html")


def test_unknown_format_and_empty_input_are_clear_errors(tmp_path):
    from suite.errors import BenchError

    with pytest.raises(BenchError, match="Unknown report format 'pdf'"):
        build_report_from_paths(DEVICE_FILES, tmp_path / "r.html", formats=["pdf"])
    with pytest.raises(NoResultsError, match="None of the results files could be read"):
        build_report_from_paths([FIX / "bad"], tmp_path / "r.html")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoResultsError, match="No results files found"):
        build_report_from_paths([empty], tmp_path / "r.html")
    with pytest.raises(BenchError, match="Nothing to report"):
        render_report([], tmp_path / "r.html")


def test_title_and_the_fleet_merge_go_through_build_report_from_paths(tmp_path):
    from suite.containers.fleet import render_merged_report

    res = build_report_from_paths([FIX / "rpi5.json"], tmp_path / "t.html", formats=["html"], figures=False,
                                  title="Lab 3 report")
    assert "<title>Lab 3 report" in res.output.html.read_text(encoding="utf-8")
    html = render_merged_report([FIX / "rpi5.json", FIX / "bad" / "newer.json"], tmp_path / "fleet" / "report.html")
    assert html == tmp_path / "fleet" / "report.html"
    text = html.read_text(encoding="utf-8")
    assert "<title>Fleet benchmark report" in text and "newer.json" in text
    with pytest.raises(NoResultsError, match="None of the results files could be read"):
        render_merged_report([FIX / "bad" / "truncated.json"], tmp_path / "none" / "report.html")


# ----------------------------------------------------------------------------- hostile input


_TEMPLATE_TAGS = {"html", "head", "meta", "title", "link", "style", "body", "header", "div", "h1", "h2", "h3", "p",
                  "nav", "details", "summary", "ol", "li", "a", "main", "section", "ul", "code", "table", "thead",
                  "tr", "th", "button", "span", "tbody", "td", "article", "dl", "dt", "dd", "figure", "img",
                  "figcaption", "strong", "em", "footer", "script", "pre"}


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    P().feed(html)
    return found


def test_markup_in_a_results_file_renders_as_text(tmp_path):
    res = render_report([(FIX / "xss.json", load_results(FIX / "xss.json"))], tmp_path / "x.html")
    html = res.html.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == 1  # ours only
    tags = _tags(html)
    assert not [t for t in tags if any(name.startswith("on") for name, _ in t[1])]  # no event handler
    assert {t[0] for t in tags} <= _TEMPLATE_TAGS  # no <b>, <i>, <svg> or <img src=x> from the file
    assert [t for t in tags if t[0] == "img"] and all(dict(t[1])["src"].startswith("data:image/svg+xml;base64,")
                                                     for t in tags if t[0] == "img")
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # the CPU model, as text
    assert "&lt;img src=x onerror=alert(4)&gt; went wrong" in html  # the error message, as text
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in html  # the run id
    md = res.markdown.read_text(encoding="utf-8")
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    for svg in (p for p in res.figures if p.suffix == ".svg"):
        text = svg.read_text(encoding="utf-8")
        assert "<script" not in text
        ET.fromstring(text)  # still well-formed XML: the name went in escaped


def test_dollar_signs_and_pipes_in_names(tmp_path):
    run = load_results(DEVICE_FILES[0])
    cases = [c.model_copy(update={"spec": c.spec.model_copy(update={"model": "a$b|c=1"})})
             for c in run.cases if c.spec.model == "mobilenet_v2"]
    run = run.model_copy(update={"cases": cases, "comparisons": []})
    res = render_report([run], tmp_path / "d.html")  # a '$' must not start matplotlib mathtext
    md = res.markdown.read_text(encoding="utf-8")
    assert "a$b\\|c=1" in md
    html = res.html.read_text(encoding="utf-8")
    assert "a$b|c=1" in html
    # ORT/eager comparisons were not stored: the report derived them from the samples
    assert ">computed<" in html
    rows = _csv(tmp_path / "d-tables" / "comparisons.csv")
    pairs = {(c.spec.batch_size, c.spec.input_size) for c in cases if c.latency is not None}
    assert len(rows) == len(pairs) and {r["model"] for r in rows} == {"a$b|c=1"}
    _check_comparisons_csv(rows, {rows[0]["device"]: json.loads(run.model_dump_json())}, "computed")


def test_csv_cells_cannot_become_spreadsheet_formulas(tmp_path):
    run = load_results(DEVICE_FILES[0])
    cases = [c.model_copy(update={"spec": c.spec.model_copy(update={"model": "=HYPERLINK(\"x\")"})})
             for c in run.cases if c.spec.model == "mobilenet_v2"]
    render_report([run.model_copy(update={"cases": cases, "comparisons": []})], tmp_path / "c.html",
                  formats=["csv"], figures=False)
    rows = _csv(tmp_path / "c-tables" / "cases.csv")
    assert rows[0]["model"] == "'=HYPERLINK(\"x\")"
    assert float(rows[0]["median_ms"]) > 0  # numbers untouched


def test_a_model_at_its_default_size_and_at_explicit_ones_still_gets_its_figures():
    # A case without an input size (the model's default) beside sized ones stopped the figures
    # (None < 224 while sorting the sweep); the sweep draws the sized ones, and a model with one
    # size besides it has no sweep at all.
    def figures(sizes: list[float | None]) -> set[str]:
        data = merge_results([run([case("m", 1, steady(10.0 + i), size=s) for i, s in enumerate(sizes)])])
        return {f.id for f in build_figures(data, compute_flags(data), workers=1)}

    assert "latency-vs-input-size" in figures([224.0, None, 320.0])
    drawn = figures([224.0, None])
    assert "latency-vs-input-size" not in drawn and "latency-distributions" in drawn
