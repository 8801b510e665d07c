"""From paths on disk to a report: load (files and folders), keep going past bad files, render."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from suite.errors import BenchError, ResultsFileError
from suite.report.html import (
    DEFAULT_TITLE,
    REPORT_FORMATS,
    ReportOutput,
    check_formats,
    render_report,
)
from suite.results.io import load_many
from suite.results.schema import RunResult


@dataclass(frozen=True)
class Duplicate:
    """A file holding a run another given file holds too (its run id): read once."""

    path: Path  # the file left out
    kept: Path  # the file the run is read from
    run_id: str
    cases: tuple[int, int]  # (left out, kept): the kept file is the one with the most cases

    @property
    def reason(self) -> str:
        more = f"; {self.kept.name} holds more of its cases ({self.cases[1]} vs {self.cases[0]})" \
            if self.cases[1] > self.cases[0] else ""
        return f"the same run ({self.run_id}) as {self.kept}, which is read instead{more}"


@dataclass
class BuildOutcome:
    output: ReportOutput | None  # None when no file could be read
    loaded: list[Path] = field(default_factory=list)
    bad: list[ResultsFileError] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)


def one_per_run(good: list[tuple[Path, RunResult]]) -> tuple[list[tuple[Path, RunResult]], list[Duplicate]]:
    """Each run once, by run id: a folder and a file in it, a path given twice under two
    spellings, or a copy of a results file would count its cases twice and repeat its
    comparison rows. Of two files of one run (an interrupted copy and the resumed file), the
    one with the most cases is read; on a tie, the first given."""
    kept: dict[str, int] = {}
    out: list[tuple[Path, RunResult]] = []
    dupes: list[Duplicate] = []
    for path, run in good:
        i = kept.get(run.run_id)
        if i is None:
            kept[run.run_id] = len(out)
            out.append((path, run))
            continue
        other_path, other = out[i]
        if len(run.cases) > len(other.cases):
            out[i] = (path, run)
            dupes.append(Duplicate(other_path, path, run.run_id, (len(other.cases), len(run.cases))))
        else:
            dupes.append(Duplicate(path, other_path, run.run_id, (len(run.cases), len(other.cases))))
    return out, dupes


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
    paths = list(paths)
    fmts = check_formats(formats)  # fail on a bad --format before reading anything
    good, bad = load_many(paths)
    if not good and not bad:
        raise NoResultsError("No results files found in: " + ", ".join(str(p) for p in paths)
                             + " (expected .json files written by `bench run`).")
    if not good:
        reasons = "; ".join(f"{b.path}: {b.reason}" for b in bad)
        raise NoResultsError(f"None of the results files could be read ({reasons}).")
    good, dupes = one_per_run(good)
    output = render_report(good, Path(out), formats=fmts, figures=figures, bad_files=bad, title=title)
    return BuildOutcome(output=output, loaded=[p for p, _ in good], bad=bad, duplicates=dupes)
