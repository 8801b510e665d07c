"""What a run tells its caller while it goes: one small frozen dataclass per kind of event.

The runner never prints; it hands each event to the caller's `Progress` callback (the CLI's
progress bar renders them by type, suite/cli/progress.py). `bench audit` tells its steps the
same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from suite.results.schema import CaseResult, CaseSpec, RunResult


@dataclass(frozen=True)
class _Message:
    message: str


@dataclass(frozen=True)
class RunStarted:
    """The results file is locked and saved once: `todo` of the plan's `total` cases remain."""

    total: int
    todo: int
    path: Path
    run: RunResult


@dataclass(frozen=True)
class CaseStarted:
    """A worker process is about to run `group` (one case, or the backends interleaved with it);
    `repeat` counts from 0 to `repeats` - 1 (--repeats)."""

    index: int
    case: CaseSpec
    group: tuple[CaseSpec, ...]
    repeat: int
    repeats: int


@dataclass(frozen=True)
class CaseEnded:
    """A case's merged result, saved in the results file."""

    index: int
    result: CaseResult


@dataclass(frozen=True)
class Saved:
    """The results file now holds `cases` finished cases: all an interruption message may claim."""

    path: Path
    cases: int


class RunWarning(_Message):
    """Something the user should know that does not stop the run."""


class Note(_Message):
    """A remark about the run's inputs (e.g. what the dataset check found)."""


class PeaksNote(_Message):
    """The device ceilings being measured or loaded, and what they came out as."""


@dataclass(frozen=True)
class BaselineWindow:
    """An idle-power baseline window of `seconds` begins."""

    seconds: float


@dataclass(frozen=True)
class CoolingDown:
    """Waiting for the CPU to cool below `target_c` before the next case (waited_s = 0: the wait begins)."""

    temp_c: float
    target_c: float
    waited_s: float
    max_s: float


@dataclass(frozen=True)
class CooldownEnded:
    """The wait is over: the CPU `reached` the target, or `max_s` ran out."""

    temp_c: float
    target_c: float
    waited_s: float
    reached: bool


@dataclass(frozen=True)
class RunEnded:
    """The run is finished and saved in `path`."""

    path: Path
    run: RunResult


class AuditStep(_Message):
    """`bench audit` moves on to its next step."""


Event = Union[RunStarted, CaseStarted, CaseEnded, Saved, RunWarning, Note, PeaksNote, BaselineWindow, CoolingDown,
              CooldownEnded, RunEnded, AuditStep]
Progress = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The callback of a caller that wants no progress."""
