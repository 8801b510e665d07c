"""Render merged results as one self-contained HTML page, plus Markdown, CSV and figure files.

    render_report(results, Path("reports/report.html"))

writes, next to the HTML:
    report.md                    every table and figure, for lab write-ups
    report-tables/<name>.csv|md  each table on its own (CSV: raw values, full precision)
    report-figures/<id>.png|svg  each figure

The page loads nothing: styles, script and figures are inline, and a Content-Security-Policy
allows only the page's own script and style (by hash) and data: images, so even a string that
escaped autoescaping could neither run nor fetch anything. Every string from a results file is
data: Jinja2 autoescaping is on and nothing from a results file is marked safe.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from suite import stats
from suite.errors import ConfigError, ResultsFileError
from suite.report.badges import compute_flags
from suite.report.figures import FigureOut, build_figures
from suite.report.files import make_folder, write_file
from suite.report.format import fmt_count, fmt_ratio, fmt_size, neutralize
from suite.report.merge import ReportData, merge_results
from suite.report.study_points import FIGURE_IDS
from suite.report.table import FlagMap, md_escape
from suite.report.tables import ReportTables, build_tables
from suite.report.tables.tradeoffs import study_intro, study_markdown
from suite.results.schema import Comparison, RunResult
from suite.version import __version__

if TYPE_CHECKING:
    from jinja2 import Environment

FigLinks = dict[str, tuple[str, str]]  # figure id -> (PNG, SVG) paths relative to the page

REPORT_FORMATS = ("html", "md", "csv")
DEFAULT_TITLE = "Inference benchmark report"
_TEMPLATES = Path(__file__).with_name("templates")


@dataclass
class ReportOutput:
    """What render_report wrote."""

    html: Path | None = None
    markdown: Path | None = None
    tables: list[Path] = field(default_factory=list)  # <stem>-tables/*.csv and *.md
    figures: list[Path] = field(default_factory=list)  # <stem>-figures/*.png and *.svg
    html_bytes: int = 0
    runs: int = 0
    devices: int = 0
    cases: int = 0

    def paths(self) -> list[Path]:
        return [p for p in (self.html, self.markdown) if p is not None] + self.tables + self.figures


def output_paths(out: str | Path) -> tuple[Path, Path, Path, Path]:
    """(html, markdown, tables folder, figures folder) for an -o value (a file or a folder)."""
    out = Path(out)
    if out.is_dir() or out.suffix == "":
        out = out / "report.html"
    elif out.suffix.lower() not in (".html", ".htm"):
        out = out.with_suffix(".html")
    # Folders are named after the page so that two reports in one folder never share figures.
    return out, out.with_suffix(".md"), out.with_name(f"{out.stem}-tables"), out.with_name(f"{out.stem}-figures")


def check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    out = []
    for f in formats:
        f = f.strip().lower()
        if f not in REPORT_FORMATS:
            raise ConfigError(f"Unknown report format '{f}': choose from {', '.join(REPORT_FORMATS)}.")
        if f not in out:
            out.append(f)
    if not out:
        raise ConfigError(f"No report format given: choose from {', '.join(REPORT_FORMATS)}.")
    return tuple(out)


def render_report(
    results: Sequence[tuple[Path, RunResult]] | Sequence[RunResult],
    out_html: str | Path,
    formats: Iterable[str] = REPORT_FORMATS,
    figures: bool = True,
    *,
    bad_files: Iterable[ResultsFileError] = (),
    title: str = DEFAULT_TITLE,
    generated_at: datetime | None = None,
) -> ReportOutput:
    """Merge results (from one or many devices) and write the report files. Returns what was written."""
    fmts = check_formats(formats)
    html_path, md_path, tables_dir, figures_dir = output_paths(out_html)
    make_folder(html_path.parent)  # an unwritable place fails now, before the figures are drawn
    data = merge_results(results, bad_files)
    flags = compute_flags(data)
    tables = build_tables(data, flags)
    figs: list[FigureOut] = []
    if figures:
        figs = build_figures(data, flags)
    generated_at = generated_at or datetime.now(timezone.utc)
    out = ReportOutput(runs=len(data.runs), devices=len(data.devices), cases=len(data.entries))

    # Every file is written whole or not at all (suite.report.files); a failure names the file.
    fig_links: FigLinks = {}
    if figs:
        make_folder(figures_dir)
        for f in figs:
            png, svg = figures_dir / f"{f.id}.png", figures_dir / f"{f.id}.svg"
            write_file(png, f.png)
            write_file(svg, f.svg)
            out.figures += [png, svg]
            fig_links[f.id] = (f"{figures_dir.name}/{png.name}", f"{figures_dir.name}/{svg.name}")
    if "csv" in fmts or "md" in fmts:
        make_folder(tables_dir)
        for t in tables.files():
            if "csv" in fmts:
                p = tables_dir / f"{t.name}.csv"
                write_file(p, t.to_csv())
                out.tables.append(p)
            if "md" in fmts:
                p = tables_dir / f"{t.name}.md"
                write_file(p, t.to_markdown())
                out.tables.append(p)
    if "md" in fmts:
        write_file(md_path, _markdown(data, tables, figs, fig_links, title, generated_at))
        out.markdown = md_path
    if "html" in fmts:
        text = render_html(data, flags, tables, figs, fig_links, title=title, generated_at=generated_at)
        write_file(html_path, text)
        out.html = html_path
        out.html_bytes = len(text.encode("utf-8"))
    return out


# ----------------------------------------------------------------------------- HTML

EMULATED_NOTE = ("These devices ran under CPU emulation (e.g. qemu-user running arm64 code on an x86 machine). "
                 "Their timings and energy measure the emulator, not the device: every one of their numbers "
                 "carries the 'emulated' flag and none should be compared with a native device's.")


def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined
    from markupsafe import Markup


    def finalize(value: object) -> object:
        # Autoescaping stops markup; control and bidi characters (U+202E) would still reorder or
        # hide what the page shows, so every string from the data is neutralised too.
        return neutralize(value) if isinstance(value, str) and not isinstance(value, Markup) else value

    env = Environment(loader=FileSystemLoader(str(_TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, finalize=finalize)
    env.filters["count_fmt"] = fmt_count
    env.filters["size_fmt"] = lambda v, axis=None: fmt_size(axis, v)
    return env


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def render_html(data: ReportData, flags: FlagMap, tables: ReportTables, figs: list[FigureOut], fig_links: FigLinks,
                *, title: str, generated_at: datetime) -> str:
    from markupsafe import Markup


    css = (_TEMPLATES / "report.css").read_text(encoding="utf-8")
    js = (_TEMPLATES / "report.js").read_text(encoding="utf-8")
    csp = (f"default-src 'none'; img-src data:; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           "base-uri 'none'; form-action 'none'")
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=title, generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC"), version=__version__,
        data=data, t=tables, cards=_cards(data, flags), emulated_note=EMULATED_NOTE,
        figures=_shown([f for f in figs if f.id not in FIGURE_IDS], fig_links),
        study_figures=_shown([f for f in figs if f.id in FIGURE_IDS], fig_links),
        study_intro=study_intro(tables.study.study) if tables.study is not None else "",
        # Our own files, not results data: the only strings marked safe.
        css=Markup(css), js=Markup(js), csp=csp,
    )


def _shown(figs: list[FigureOut], fig_links: FigLinks) -> list[dict[str, object]]:
    """What the template shows of each figure: the SVG inline (a data: URI), its files, its size in pixels."""
    out: list[dict[str, object]] = []
    for f in figs:
        uri = "data:image/svg+xml;base64," + base64.b64encode(f.svg).decode("ascii")
        png, svg = fig_links.get(f.id, (None, None))
        out.append({"fig": f, "uri": uri, "png": png, "svg": svg,
                    "width": round(f.width_in * 96), "height": round(f.height_in * 96)})
    return out


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    detail: str
    tone: str = ""  # "", "good", "warn", "bad"


def _cards(data: ReportData, flags: FlagMap) -> list[Card]:
    cases = data.entries
    n_ok = sum(e.status == "ok" for e in cases)
    n_failed = sum(e.status == "failed" for e in cases)
    n_parity = sum(e.status == "parity_failed" for e in cases)
    all_flags = [f for fl in flags.values() for f in fl]
    n_bad = sum(f.severity == "bad" for f in all_flags)
    n_warn = sum(f.severity == "warn" for f in all_flags)
    cards = [
        Card("Devices", str(len(data.devices)), ", ".join(d.label for d in data.devices)),
        Card("Models", str(len(data.models)), f"{len(data.runs)} results file{'s' if len(data.runs) != 1 else ''}"),
        Card("Cases", str(len(cases)), f"{n_ok} ok \u00b7 {n_failed} failed \u00b7 {n_parity} parity failed",
             "bad" if n_failed or n_parity else "good"),
        Card("Flags", str(n_bad + n_warn), f"{n_bad} do not trust \u00b7 {n_warn} read with care",
             "bad" if n_bad else ("warn" if n_warn else "good")),
    ]
    # One card per device and backend: the typical speed-up, from comparisons whose candidate
    # passed the parity check (a wrong model's speed is no speed-up).
    for d in data.devices:
        by_backend: dict[str, list[Comparison]] = {}
        for cv in data.comparisons:
            if cv.device is d and cv.candidate is not None and cv.candidate.status == "ok":
                by_backend.setdefault(cv.comparison.candidate_backend, []).append(cv.comparison)
        for backend, comps in sorted(by_backend.items()):
            med = stats.percentile([c.ratio for c in comps], 50)
            faster = sum(c.significant and c.ratio < 1 for c in comps)
            slower = sum(c.significant and c.ratio > 1 for c in comps)
            cards.append(Card(f"{backend} vs {comps[0].baseline_backend} on {d.label}", fmt_ratio(med),
                              f"median ratio over {len(comps)} cases: {faster} significantly faster, "
                              f"{slower} slower", "good" if med < 1 else "warn"))
    return cards


# ----------------------------------------------------------------------------- Markdown


def _markdown(data: ReportData, tables: ReportTables, figs: list[FigureOut], fig_links: FigLinks, title: str,
              generated_at: datetime) -> str:
    summary = (f"Generated {generated_at.strftime('%Y-%m-%d %H:%M UTC')} from {len(data.runs)} results file(s): "
               f"{len(data.devices)} device(s), {len(data.models)} model(s), {len(data.entries)} case(s).")
    out = [f"# {md_escape(title)}", "", summary, ""]
    if data.bad_files:
        out += ["## Files that could not be read", ""]
        out += [f"- `{md_escape(b.path)}`: {md_escape(b.reason)}" for b in data.bad_files]
        out.append("")
    if data.emulated_devices:
        out += ["## Emulated runs: not representative", "", EMULATED_NOTE, ""]
        out += [f"- {md_escape(d.label)}: {md_escape(d.env.emulation or '')}" for d in data.emulated_devices]
        out.append("")
    for t in (tables.devices, tables.runs, tables.models, tables.matrix, tables.comparisons, *tables.app_tables()):
        out.append(t.to_markdown(2))
    if tables.study is not None:
        out += study_markdown(tables.study, [f for f in figs if f.id in FIGURE_IDS], fig_links)
    figs = [f for f in figs if f.id not in FIGURE_IDS]
    for s in tables.sections:
        m = s.model
        out.append(f"## {md_escape(m.name)}\n")
        p = m.params
        if p is not None:
            eff = f", effective {fmt_count(p.effective)} (each call of a shared layer counted)" if p.effective else ""
            out.append(f"Parameters: {fmt_count(p.unique)} unique{eff}.\n")
        fl = m.flops_per_item()
        if fl:
            parts = [f"{fmt_count(v)} at {fmt_size(m.size_axis, k)}" for k, v in fl.items()]
            out.append(f"FLOPs per item: {md_escape(', '.join(parts))}.\n")
        out.append(s.cases.to_markdown(3))
        if s.notes:
            out += ["What the numbers say:", ""] + [f"- {md_escape(n)}" for n in s.notes] + [""]
        for g in s.profiles:
            out.append(g.table.to_markdown(3))
            out += [f"- {md_escape(n)}" for n in g.notes] + ([""] if g.notes else [])
    if figs:
        out += ["## Figures", ""]
        for f in figs:
            png = fig_links.get(f.id, (None, None))[0]
            if png:
                out += [f"### {md_escape(f.title)}", "", f"![{md_escape(f.title)}]({png})", "", md_escape(f.caption), ""]
    for t in (tables.flags, tables.failures):
        out.append(t.to_markdown(2))
    return "\n".join(out)
