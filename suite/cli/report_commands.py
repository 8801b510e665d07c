"""`bench report` and `bench compare`: parse, call suite.report, print. No logic here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from suite.cli.console import print_error, stderr_console, stdout_console

if TYPE_CHECKING:
    from suite.report.compare import CompareResult

DEFAULT_OUTPUT = Path("reports/report.html")


def register(app: typer.Typer) -> None:
    app.command("report", help=REPORT_HELP, no_args_is_help=True)(report)
    app.command("compare", help=COMPARE_HELP, no_args_is_help=True)(compare)


REPORT_HELP = (
    "Merge results files from any number of devices and backends into one self-contained HTML page, "
    "plus Markdown and CSV tables and PNG/SVG figures beside it. Unreadable files are named and skipped."
)

COMPARE_HELP = (
    "Compare a candidate results file against a baseline, case by case: change in median latency (or "
    "energy) with a 95% bootstrap interval and a Mann-Whitney test. Exits 1 when a significant regression "
    "beyond the threshold is found, or a case the baseline measured is missing or failed in the candidate "
    "(use it to gate CI), 0 otherwise, 2 on bad input."
)


def report(
    results: Annotated[list[Path], typer.Argument(
        help="Results files (.json) or folders (searched recursively for .json files).", show_default=False)],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Path of the HTML page (a folder gets report.html). Markdown goes beside it, "
        "tables in <name>-tables/, figures in <name>-figures/.")] = DEFAULT_OUTPUT,
    formats: Annotated[list[str] | None, typer.Option(
        "--format", "-f", help="Output format: html, md or csv. Repeat for several; default: all three.",
        show_default=False)] = None,
    no_figures: Annotated[bool, typer.Option(
        "--no-figures", help="Skip the figures (faster; the tables are still complete).")] = False,
) -> None:
    from suite.errors import BenchError
    from suite.report.build import build_report_from_paths

    try:
        outcome = build_report_from_paths(results, output, formats=formats or ("html", "md", "csv"),
                                          figures=not no_figures)
    except BenchError as exc:
        print_error(str(exc))
        _exit(2)
    err = stderr_console()
    for bad in outcome.bad:
        err.print(f"[yellow]skipped[/] {_esc(str(bad.path))}: {_esc(bad.reason)}", markup=True, highlight=False,
                  soft_wrap=True)
    for dup in outcome.duplicates:
        err.print(f"[yellow]read once[/] {_esc(str(dup.path))}: {_esc(dup.reason)}", markup=True, highlight=False,
                  soft_wrap=True)
    out = outcome.output
    if out is None:  # nothing could be read: build_report_from_paths has said so
        return
    con = stdout_console()
    n = len(outcome.loaded)
    con.print(f"Read {n} results file{'s' if n != 1 else ''}: {out.devices} device(s), {out.cases} case(s).",
              highlight=False)
    if out.html is not None:
        con.print(f"HTML      {out.html} ({out.html_bytes / 2**20:.2f} MiB)", highlight=False)
    if out.markdown is not None:
        con.print(f"Markdown  {out.markdown}", highlight=False)
    if out.tables:
        csvs = sum(p.suffix == ".csv" for p in out.tables)
        mds = len(out.tables) - csvs
        con.print(f"Tables    {out.tables[0].parent}/ ({csvs} CSV, {mds} Markdown)", highlight=False)
    if out.figures:
        con.print(f"Figures   {out.figures[0].parent}/ ({len(out.figures) // 2} PNG + SVG)",
                  highlight=False)


def compare(
    baseline: Annotated[Path, typer.Argument(help="The reference results file (.json).", show_default=False)],
    candidate: Annotated[Path, typer.Argument(help="The results file to check against it.", show_default=False)],
    threshold: Annotated[float, typer.Option(
        "--threshold", "-t", min=0.0, help="Smallest relative slow-down that counts as a regression "
        "(0.05 = 5%).")] = 0.05,
    metric: Annotated[str, typer.Option(
        "--metric", "-m", help="What to compare: latency (median per call), paced (median per call at the "
        "run's --rate, idle between calls) or energy (per inference).")] = "latency",
    alpha: Annotated[float, typer.Option(
        "--alpha", min=0.0, max=1.0, help="Significance level of the Mann-Whitney test.")] = 0.05,
) -> None:
    from suite.errors import BenchError
    from suite.report.compare import compare_files

    try:
        res = compare_files(baseline, candidate, metric=metric.lower(), threshold=threshold, alpha=alpha)
    except BenchError as exc:
        print_error(str(exc))
        _exit(2)
    _print_compare(res)
    _exit(1 if res.gate_failed else 0)


def _exit(code: int) -> None:
    # SystemExit, not typer.Exit: under `app(standalone_mode=False)` (suite.cli.main) click turns
    # typer.Exit into a return value and the status would be lost; SystemExit always arrives.
    if code:
        raise SystemExit(code)


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


_STYLE = {"regression": "bold red", "improvement": "green", "within threshold": "yellow",
          "no significant change": "dim", "not comparable": "magenta"}


def _print_compare(res: CompareResult) -> None:
    from rich.table import Table
    from rich.text import Text

    from suite.report.format import fmt_p, fmt_si, sig

    con = stdout_console()
    unit = "J" if res.metric == "energy" else "ms"
    table = Table(title=f"{res.metric}: {res.candidate} vs {res.baseline}", title_justify="left",
                  show_lines=False, header_style="bold")
    table.add_column("Case", overflow="fold")
    table.add_column(f"Baseline ({unit})", justify="right")
    table.add_column(f"Candidate ({unit})", justify="right")
    table.add_column("Change", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("p", justify="right")
    table.add_column("Verdict")
    fmt = (lambda v: "-" if v is None else sig(v, 3)) if unit == "ms" else (lambda v: fmt_si(v, "J"))
    for c in res.changes:
        change = "-" if c.change is None else f"{c.change:+.1%}"
        ci = "-" if c.ci_low is None or c.ci_high is None else f"[{c.ci_low - 1:+.1%}, {c.ci_high - 1:+.1%}]"
        verdict = Text(c.verdict, style=_STYLE[c.verdict])
        if c.notes:
            verdict.append("\n" + "; ".join(c.notes), style="dim")
        table.add_row(Text(c.label), fmt(c.baseline), fmt(c.candidate), Text(change, style=_STYLE[c.verdict]),
                      ci, fmt_p(c.p_value), verdict)
    if res.changes:
        con.print(table)
    for w in res.warnings:
        con.print(Text("warning: " + w, style="yellow"))
    if res.only_in_baseline:
        con.print(Text(f"Only in the baseline ({len(res.only_in_baseline)}): " + ", ".join(res.only_in_baseline),
                       style="dim"))
    if res.only_in_candidate:
        con.print(Text(f"Only in the candidate ({len(res.only_in_candidate)}): " + ", ".join(res.only_in_candidate),
                       style="dim"))
    for what, cases in (("Missing from the candidate", res.missing), ("Failed in the candidate", res.failed)):
        if cases:
            con.print(Text(f"{what} ({len(cases)}), measured in the baseline: " + "; ".join(cases), style="bold red"))
    n_reg, n_imp = len(res.regressions), len(res.improvements)
    summary = (f"{len(res.changes)} case(s) compared: {n_reg} significant regression(s) beyond "
               f"{res.threshold:.0%}, {n_imp} improvement(s).")
    if res.missing or res.failed:
        summary += f" The gate fails: {len(res.missing)} baseline case(s) missing, {len(res.failed)} failed."
    con.print(Text(summary, style="bold red" if res.gate_failed else "bold green"))
