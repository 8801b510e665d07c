"""The cross-device report flags comparisons between devices that ran other library versions (#15)."""

from __future__ import annotations

import csv
import re

from report_builders import case, env, run, steady

from suite.report.badges import compute_flags
from suite.report.merge import merge_results
from suite.results.io import load_results, save_results


def _device_run(host: str, cpu: str, packages: dict[str, str], eager_ms: float, ort_ms: float):
    e = env(host, cpu).model_copy(update={"packages": packages})
    return run([case("resnet18", 1, steady(eager_ms)), case("resnet18", 1, steady(ort_ms), backend="ort")], e)


def _kinds(data, flags) -> dict[tuple[str, str], list[str]]:
    return {(e.device.label, e.backend): [f.kind for f in flags[e.uid]] for e in data.entries}


def test_two_files_with_other_torch_versions_carry_the_flag_beside_the_cross_device_ratio(tmp_path):
    from suite.report.html import render_report

    a = _device_run("pi5", "Cortex-A76", {"torch": "2.14.1", "onnxruntime": "1.32.0", "transformers": "5.24.0"},
                    40.0, 20.0)
    b = _device_run("laptop", "Core i7-1165G7", {"torch": "2.9.1", "onnxruntime": "1.32.0",
                                                 "transformers": "5.24.0"}, 10.0, 6.0)
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for r, p in zip((a, b), paths):
        save_results(r, p)
    runs = [load_results(p) for p in paths]

    data = merge_results(runs)
    kinds = _kinds(data, compute_flags(data))
    assert len(data.devices) == 2
    assert all("version_mismatch" in k for k in kinds.values()), kinds

    render_report(runs, tmp_path / "report.html", formats=["html", "md", "csv"], figures=False)
    md = (tmp_path / "report-tables" / "matrix.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| resnet18")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    header_line = next(line for line in md.splitlines() if line.startswith("| Model"))
    header = [c.strip() for c in header_line.strip("|").split("|")]
    ratio_cells = {h: c for h, c in zip(header, cells) if h.endswith("ort/eager")}
    # Each device's ort/eager ratio (20/40 = 0.50 on the Pi, 6/10 = 0.60 on the laptop) with the badge beside it.
    assert len(ratio_cells) == 2, header
    for h, c in ratio_cells.items():
        assert "\u26a0VERS" in c, (h, c)
    assert sorted(re.match(r"[0-9.]+", c).group(0) for c in ratio_cells.values()) == ["0.50", "0.60"]
    assert "\u26a0VERS = library versions differ" in md

    rows_csv = list(csv.DictReader((tmp_path / "report-tables" / "matrix.csv").open()))
    assert len(rows_csv) == 1
    detail = rows_csv[0]["flags"]
    assert "VERS: Library versions differ across devices: torch 2.14.1 here, 2.9.1 on" in detail
    assert "torch 2.9.1 here, 2.14.1 on" in detail

    html = (tmp_path / "report.html").read_text()
    assert "library versions differ" in html
    assert "torch 2.14.1 here, 2.9.1 on" in html


def test_same_versions_a_build_label_or_an_unrecorded_package_raise_no_flag():
    base = {"torch": "2.14.1", "onnxruntime": "1.32.0", "transformers": "5.24.0"}
    same = merge_results([_device_run("pi5", "Cortex-A76", base, 40, 20),
                          _device_run("laptop", "i7", {**base, "torch": "2.14.1+cpu"}, 10, 6)])
    assert not any("version_mismatch" in k for k in _kinds(same, compute_flags(same)).values())
    # An ORT-only image records no torch: nothing to compare for torch.
    slim = merge_results([_device_run("pi5", "Cortex-A76", base, 40, 20),
                          _device_run("laptop", "i7", {"onnxruntime": "1.32.0"}, 10, 6)])
    assert not any("version_mismatch" in k for k in _kinds(slim, compute_flags(slim)).values())
    # onnxruntime differs: flagged, naming it; one device alone is never flagged.
    ort = merge_results([_device_run("pi5", "Cortex-A76", base, 40, 20),
                         _device_run("laptop", "i7", {**base, "onnxruntime": "1.31.0"}, 10, 6)])
    fl = compute_flags(ort)
    details = {f.detail for e in ort.entries for f in fl[e.uid] if f.kind == "version_mismatch"}
    assert len(details) == 2 and all("onnxruntime" in d and "torch" not in d for d in details)
    alone = merge_results([_device_run("pi5", "Cortex-A76", base, 40, 20)])
    assert not any("version_mismatch" in k for k in _kinds(alone, compute_flags(alone)).values())
