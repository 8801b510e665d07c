"""The terminal summary table at the end of `bench run`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console, JustifyMethod

    from suite.results.schema import AccuracyResult, CaseResult, Flag, RunResult


def fmt_count(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def fmt_accuracy(a: AccuracyResult | None) -> str:
    """'98.2% [96.9, 98.9] top-1' for fractions; the user's metric as it comes."""
    if a is None:
        return "-"
    from suite.metrics.accuracy import FRACTIONS

    if a.metric in FRACTIONS:
        ci = f" [{a.ci_low * 100:.1f}, {a.ci_high * 100:.1f}]" if a.ci_low is not None and a.ci_high is not None else ""
        return f"{a.value * 100:.1f}%{ci} {a.metric}"
    return f"{a.value:.4g} {a.metric}"


def accuracy_cell(c: CaseResult) -> str:
    if c.accuracy is not None:
        return fmt_accuracy(c.accuracy)
    return "FAILED (see below)" if _accuracy_flags(c, "accuracy_failed") else "-"


def _accuracy_flags(c: CaseResult, kind: str) -> list[Flag]:
    return [f for f in c.flags if f.kind == kind]


def _case_label(c: CaseResult) -> str:
    s = c.spec
    size = "" if s.input_size is None else f" {s.input_size:g}" + (f" {s.resize}" if s.resize else "")
    return f"{s.model} {s.backend}{size}"


def print_accuracy_notes(console: Console, run: RunResult) -> None:
    """Under the table: which data the accuracy is on (dataset, split, samples), and every
    accuracy that failed or needs care, with the reason, once per reason (README: the rule)."""
    from rich.markup import escape

    from suite.data.dataset import (
        shown,  # a path from a file name that is not UTF-8 must still print
    )

    seen: set[tuple[object, ...]] = set()
    for c in run.cases:
        a = c.accuracy
        if a is None or a.evaluated_in is not None:
            continue
        key = (a.dataset, a.split, a.samples, a.dataset_total)
        if key not in seen:
            seen.add(key)
            split = f", split {a.split}" if a.split else ""
            subset = f" of {a.dataset_total}" if a.dataset_total and a.dataset_total != a.samples else ""
            console.print(escape(shown(f"Accuracy on {a.dataset}{split}: {a.samples}{subset} samples.")),
                          highlight=False, soft_wrap=True)
    for kind, title in (("accuracy_failed", "Accuracy FAILED (the timings stand; flag accuracy_failed)"),
                        ("classes_differ", "Accuracy to read with care (flag classes_differ)")):
        reasons: dict[str, list[str]] = {}
        for c in run.cases:
            for f in _accuracy_flags(c, kind):
                reasons.setdefault(f.detail, []).append(_case_label(c))
        if not reasons:
            continue
        style = "bold red" if kind == "accuracy_failed" else "yellow"
        console.print(f"[{style}]{escape(title)}:[/]", highlight=False)
        for detail, labels in reasons.items():
            labels = list(dict.fromkeys(labels))
            who = ", ".join(labels[:3]) + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")
            console.print(escape(shown(f"  {who}: {detail}")), highlight=False, soft_wrap=True)


def print_summary(run: RunResult) -> None:
    from rich.table import Table

    from suite.cli.console import stdout_console

    table = Table(title=f"bench run {run.run_id}", show_lines=False)
    has_acc = any(c.accuracy is not None or _accuracy_flags(c, "accuracy_failed") for c in run.cases)
    cols: list[tuple[str, JustifyMethod]] = [("model", "left"), ("backend", "left"), ("batch", "right"), ("size", "right"),
            ("params", "right"), ("MACs", "right"), ("median ms [95% CI]", "right"), ("p90 ms", "right"),
            ("items/s", "right"), ("peak RSS", "right"), ("J/inf", "right")]
    if has_acc:
        cols.append(("accuracy [95% CI]", "right"))
    for col, just in [*cols, ("status", "left")]:
        # A long model name wraps instead of being cut: two variants of one file in a long folder
        # otherwise show as the same truncated prefix.
        table.add_column(col, justify=just, overflow="fold" if col == "model" else "ellipsis")
    for c in run.cases:
        s = c.spec
        lat = c.latency.summary if c.latency else None
        energy = "-"
        if c.energy is not None:
            val = c.energy.net_j_per_inference if c.energy.net_j_per_inference is not None else c.energy.gross_j_per_inference
            energy = f"{val:.3g}" + ("*" if c.energy.method == "estimated" else "")
        status = c.status if c.status != "failed" else f"failed: {c.error.kind if c.error else 'unknown'}"
        if any(f.kind == "emulated" for f in c.flags):
            status += " (EMULATED)"
        size = "-" if s.input_size is None else f"{s.input_size:g}" + (f" {s.resize}" if s.resize else "")
        extra = [accuracy_cell(c)] if has_acc else []
        table.add_row(
            s.model, s.backend, str(s.batch_size), size,
            fmt_count(c.params.unique) if c.params else "-",
            fmt_count(c.flops.macs) if c.flops else "-",
            f"{lat.median_ms:.2f} [{lat.median_ci_low_ms:.2f}, {lat.median_ci_high_ms:.2f}]" if lat else "-",
            f"{lat.p90_ms:.2f}" if lat else "-",
            f"{lat.throughput_items_s:.1f}" if lat else "-",
            f"{c.memory.rss_peak_bytes / 2**20:.0f} MiB" if c.memory and c.memory.rss_peak_bytes else "-",
            energy, *extra, status,
        )
    console = stdout_console()
    console.print(table)
    if run.environment.emulation:
        from rich.markup import escape

        console.print(f"[bold red]EMULATED:[/] this run executed under CPU emulation ({escape(run.environment.emulation)}). "
                      "Its timings measure the emulator, not a device: they are not representative and are "
                      "flagged 'emulated' in the results and the report.", markup=True, highlight=False,
                      soft_wrap=True)
    timed = [c.latency for c in run.cases if c.latency is not None]
    if timed and all(lat.repeats == 1 for lat in timed):
        console.print("95% CI: from this process's samples only. A re-run's median often falls outside it "
                      "(the machine drifts between processes); --repeats 3 gives a CI that covers re-runs "
                      "(README: 'Comparisons that survive a drifting machine').", highlight=False, soft_wrap=True)
    if any(c.energy is not None and c.energy.method == "estimated" for c in run.cases):
        console.print("* energy estimated from a model (no power sensor here), not measured")
    print_accuracy_notes(console, run)
    if run.comparisons:
        comp = Table(title=f"Each backend vs {run.comparisons[0].baseline_backend} (ratio of medians; < 1 means the backend is faster)")
        for col in ("model", "backend", "batch", "size", "ratio [95% CI]", "significant"):
            comp.add_column(col)
        for k in run.comparisons:
            flag = " (parity failed)" if any(f.kind == "parity_failed" for f in k.flags) else ""
            flag += " (EMULATED)" if any(f.kind == "emulated" for f in k.flags) else ""
            comp.add_row(k.model, k.candidate_backend, str(k.batch_size), "-" if k.input_size is None else f"{k.input_size:g}",
                         f"{k.ratio:.2f} [{k.ci_low:.2f}, {k.ci_high:.2f}]{flag}", "yes" if k.significant else "no")
        console.print(comp)
