"""`bench verify RESULTS`: re-run a sample of a results file's cases here and say whether it
replicates (exit 0), does not (exit 1), or cannot be verified here (exit 2)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from rich.console import Console, JustifyMethod

    from suite.run.verify import VerifyReport


def verify_cmd(
    results: Annotated[Path, typer.Argument(help="The results file to verify (results-*.json).")],
    sample: Annotated[int, typer.Option("--sample", help="How many of its measured cases to re-run (a seeded draw).")] = 3,
    tolerance: Annotated[float, typer.Option("--tolerance", help="Largest relative change of a median that still replicates (MLPerf Mobile: 0.05).")] = 0.05,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Keep the re-run's results file in this folder (default: a temporary folder, removed).")] = None,
    trust_config: Annotated[bool, typer.Option("--trust-config", help="Run the model files and commands the file's saved configuration names (read the refusal message first: it lists them).")] = False,
) -> None:
    """Re-run a sample of a results file's cases on the same machine: is each new median inside the
    stored CI, and within the tolerance? Exit 1 when the file does not replicate."""
    import tempfile

    from suite.cli.console import stdout_console
    from suite.errors import BenchError
    from suite.run.verify import verify_results

    if not results.is_file():
        raise BenchError(f"No results file at {results}: give the results-*.json a run wrote.")
    if sample < 1:  # before anything is announced
        raise BenchError(f"--sample must be at least 1 (got {sample}).")
    console = stdout_console()
    console.print(f"Re-running {sample} case(s) of {results} on this machine…", highlight=False)
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        report = verify_results(results, sample=sample, tolerance=tolerance, trust_config=trust_config,
                                output_dir=out if out is not None else Path(tmp))
        _print(console, report, kept=out is not None)
    if not report.replicates:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)


def _print(console: Console, report: VerifyReport, kept: bool) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"run {report.run_id}: re-run here")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("case", "left"), ("stored median ms [CI]", "right"), ("new median ms", "right"), ("change", "right"),
        ("inside CI", "center"), ("within tol.", "center"),
    )
    for col, justify in columns:
        table.add_column(col, justify=justify)
    for v in report.verdicts:
        stored = f"{v.stored_median_ms:.3g} [{v.ci_low_ms:.3g}, {v.ci_high_ms:.3g}]"
        if v.new_median_ms is None:
            table.add_row(v.label, stored, v.error or "-", "-", "no", "no")
            continue
        table.add_row(v.label, stored, f"{v.new_median_ms:.3g}", f"{v.change:+.1%}",
                      "yes" if v.inside_ci else "no", Text("yes", "green") if v.within_tolerance else Text("no", "red"))
    console.print(table)
    n = len(report.verdicts)
    inside = sum(v.inside_ci for v in report.verdicts)
    within = sum(v.within_tolerance for v in report.verdicts)
    tol = report.verdicts[0].tolerance if report.verdicts else 0.05
    console.print(f"{within} of {n} within ±{tol:.0%}, {inside} of {n} inside the stored CI.", highlight=False)
    if kept and report.rerun_path is not None:
        console.print(f"Re-run saved in {report.rerun_path}", highlight=False)
    word = "[green]replicates[/]" if report.replicates else "[red]does not replicate[/]"
    console.print(f"The file {word} (every sampled median within ±{tol:.0%}: MLPerf Mobile's rule).", markup=True)
