"""`bench audit`: is the suite's comparison fair on this device? Each backend's interleaved median
against the backend alone in its own worker and a bare loop in a fresh process, over alternating
pairs; prints the ratios with their spread and a verdict, and keeps the audit for later runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from rich.console import Console, JustifyMethod

    from suite.results.device import FairnessAudit


def audit_cmd(
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Model to audit (repeat; default mobilenet_v3_small and resnet18).")] = None,
    backends: Annotated[str, typer.Option(help="Comma-separated backends to audit, the reference (eager) first.")] = "eager,ort",
    batch_sizes: Annotated[str, typer.Option("--batch-sizes", "-b", help="Comma-separated batch sizes.")] = "1",
    threads: Annotated[Optional[int], typer.Option(min=1, max=1024, help="Threads (default: as bench run, the physical cores).")] = None,
    pairs: Annotated[int, typer.Option(min=1, max=50, help="Alternating pairs (interleaved, alone, bare; then reversed).")] = 3,
    tolerance: Annotated[float, typer.Option(min=0.001, max=0.5, help="Largest relative departure still called fair.")] = 0.07,
    min_time: Annotated[float, typer.Option("--min-time", min=0.1, max=60, help="Seconds each backend is timed per mode and pair.")] = 1.0,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Keep the audit's results files in this folder (default: a temporary folder, removed).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the audit as JSON.")] = False,
) -> None:
    """Time each backend three ways in alternation (the suite's interleaved path, alone in its own
    worker, a bare loop in a fresh process) and say whether sharing a worker changes its figures."""
    import tempfile

    from suite.cli.console import stderr_console, stdout_console
    from suite.cli.run_command import _csv
    from suite.machine.audit_store import cache_dir, save
    from suite.machine.environment import default_threads
    from suite.plan.preflight import check_threads
    from suite.run.audit import DEFAULT_MODELS, AuditRequest, run_audit
    from suite.run.events import AuditStep, Event

    n = threads or default_threads()
    check_threads(n)
    req = AuditRequest(threads=n, models=tuple(model or DEFAULT_MODELS),
                       backends=tuple(_csv(backends, str, "--backends") or ()),
                       batch_sizes=tuple(_csv(batch_sizes, int, "--batch-sizes") or (1,)), pairs=pairs,
                       tolerance=tolerance, min_time_s=min_time)
    err = stderr_console()
    err.print(f"Fairness audit, {n} thread(s), {pairs} pair(s): {', '.join(req.models)} x "
              f"{', '.join(req.backends)} (a few minutes)…", highlight=False)

    def emit(event: Event) -> None:
        if isinstance(event, AuditStep):
            err.print(f"  {event.message}", highlight=False)

    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        audit = run_audit(req, out if out is not None else Path(tmp), emit)
    kept = save(audit)
    if as_json:
        typer.echo(audit.model_dump_json(indent=2))
        return
    _print(stdout_console(), audit, kept if kept is not None else cache_dir())


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_cmd)


COLOURS = {"fair": "green", "not fair": "red", "inconclusive": "yellow"}


def _print(console: Console, audit: FairnessAudit, kept: Path) -> None:
    from rich.table import Table
    from rich.text import Text

    from suite.results.fairness import cores_moved, judge

    verdict = judge(audit)
    table = Table(title=f"interleaved / alone / bare loop, median over {audit.pairs} pair(s) [range]")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("case", "left"), ("interleaved ms", "right"), ("alone ms", "right"), ("bare ms", "right"),
        ("interleaved/alone", "right"), ("interleaved/bare", "right"), ("alone/bare", "right"),
        ("peak RSS int./alone", "right"), ("verdict", "left"),
    )
    for col, justify in columns:
        table.add_column(col, justify=justify)

    def med(values: list[float]) -> str:
        import statistics

        return f"{statistics.median(values):.3g}" if values else "-"
    for v in verdict.cases:
        c = v.case
        table.add_row(f"{c.model} b{c.batch_size} {c.backend}", med(c.interleaved_ms), med(c.alone_ms),
                      med(c.bare_ms), *(r.text() if r is not None else "-" for r in
                                        (v.vs_alone, v.vs_bare, v.alone_vs_bare, v.memory)),
                      Text(v.verdict, style=COLOURS[v.verdict]))
    console.print(table)
    for p in verdict.comparisons:
        console.print(f"{p.model} b{p.batch_size}: {p.backend}/{p.reference} ratio interleaved / alone "
                      f"{p.interleaved_vs_alone.text()} ({p.verdict})", highlight=False)
    if audit.core_round_trip_ns:
        moved = " (moved: see below)" if cores_moved(audit) else ""
        console.print(f"Cores' round trip before each mode and after the last, ns: "
                      f"{', '.join(f'{t:.0f}' for t in audit.core_round_trip_ns)}{moved}", highlight=False)
    for v in verdict.cases:
        if v.verdict != "fair":
            console.print(f"{v.case.backend} {v.case.model}: {v.reason}", highlight=False)
    console.print(Text(verdict.summary, style=f"bold {COLOURS[verdict.verdict]}"))
    console.print(f"Kept in {kept}: every later bench run here at {audit.threads} thread(s) carries it in its "
                  "environment, and the report shows it beside the device.", highlight=False)
