"""From paths on disk to a report: load (files and folders), keep going past bad files, render."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from suite.errors import BenchError, ResultsFileError
from suite.report.html import DEFAULT_TITLE, REPORT_FORMATS, ReportOutput, render_report


@dataclass
class BuildOutcome:
    output: ReportOutput | None  # None when no file could be read
    loaded: list[Path] = field(default_factory=list)
    bad: list[ResultsFileError] = field(default_factory=list)


class NoResultsError(BenchError):
    """None of the given paths held a readable results file."""


def build_report_from_paths(
    paths: Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    formats: Iterable[str] = REPORT_FORMATS,
    figures: bool = True,
    *,
    title: str = DEFAULT_TITLE,
) -> BuildOutcome:
    """Load every results file under `paths` and render the good ones into `out`.

    Bad files (corrupt, foreign, newer schema) are returned with their reason and also listed
    in the report; a NoResultsError is raised only when nothing could be read at all.
    """
    from suite.report.html import check_formats
    from suite.results.io import load_many

    paths = list(paths)
    fmts = check_formats(formats)  # fail on a bad --format before reading anything
    good, bad = load_many(paths)
    if not good and not bad:
        raise NoResultsError("No results files found in: " + ", ".join(str(p) for p in paths)
                             + " (expected .json files written by `bench run`).")
    if not good:
        reasons = "; ".join(f"{b.path}: {b.reason}" for b in bad)
        raise NoResultsError(f"None of the results files could be read ({reasons}).")
    output = render_report(good, Path(out), formats=fmts, figures=figures, bad_files=bad, title=title)
    return BuildOutcome(output=output, loaded=[p for p, _ in good], bad=bad)
