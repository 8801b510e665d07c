"""A live progress bar for `bench run`, fed by the runner's progress events (suite.run.events)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import TaskID

    from suite.run.events import Event


class RunProgress:
    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from suite.cli.console import stderr_console

        self.console = stderr_console()
        self.progress = Progress(
            # markup=False: the current case's label is a model name, which is data
            TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("{task.fields[current]}", markup=False), console=self.console,
            transient=False,
        )
        self.task: TaskID | None = None
        self.path: Path = Path()

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.__exit__(exc_type, exc, tb)

    def _current(self, text: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, current=text)

    def on_event(self, event: Event) -> None:
        from rich.markup import escape

        from suite.run import events as ev

        match event:
            case ev.RunStarted(total=total, todo=todo, path=path):
                self.path = Path(path)
                self.task = self.progress.add_task("cases", total=total, completed=total - todo, current="")
                self.console.print(f"Results: {self.path}  ({todo} case(s) to run)")
            case ev.CaseStarted(case=case, group=group, repeat=repeat, repeats=repeats):
                label = case.label
                if len(group) > 1:
                    label += " + " + " + ".join(s.backend for s in group[1:]) + " (interleaved)"
                if repeats > 1:
                    label += f", process {repeat + 1}/{repeats}"
                self._current(label)
            case ev.PeaksNote(message=message) | ev.Note(message=message):
                self.console.print(message)
            case ev.BaselineWindow(seconds=seconds):
                self._current(f"idle power baseline ({seconds:g} s)")
            case ev.CaseEnded(result=r):
                if self.task is not None:
                    self.progress.advance(self.task)
                why = r.error.message if r.error is not None else ""
                if r.status == "failed":
                    self.console.print(f"[red]failed[/] {escape(r.spec.label)}: {escape((why.splitlines() or [''])[0][:200])}",
                                       markup=True)
                elif r.status == "parity_failed":
                    self.console.print(f"[yellow]parity failed[/] {escape(r.spec.label)}: {escape(why)}", markup=True)
            case ev.CoolingDown(temp_c=temp_c, target_c=target_c, waited_s=waited_s, max_s=max_s):
                self._current(f"cooling down: {temp_c:.1f} °C > {target_c:g} °C ({waited_s:.0f}/{max_s:g} s)")
            case ev.RunWarning(message=message):
                self.console.print(f"[yellow]warning:[/] {escape(message)}", markup=True)
            case ev.RunEnded():
                self._current("done")
            case _:
                pass
