"""A live progress bar for `bench run`, fed by the runner's progress callback."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
        self.task = None
        self.path: Path = Path()

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def on_event(self, event: str, data: dict[str, Any]) -> None:
        from rich.markup import escape

        if event == "start":
            self.path = Path(data["path"])
            done = data["total"] - data["todo"]
            self.task = self.progress.add_task("cases", total=data["total"], completed=done, current="")
            self.console.print(f"Results: {self.path}  ({data['todo']} case(s) to run)")
        elif event == "case_start":
            label = data["case"].label
            group = data.get("group") or []
            if len(group) > 1:
                label += " + " + " + ".join(s.backend for s in group[1:]) + " (interleaved)"
            if data.get("repeats", 1) > 1:
                label += f", process {data['repeat'] + 1}/{data['repeats']}"
            self.progress.update(self.task, current=label)
        elif event in ("peaks", "note"):
            self.console.print(data["message"])
        elif event == "baseline":
            self.progress.update(self.task, current=f"idle power baseline ({data['seconds']:g} s)")
        elif event == "case_end":
            r = data["result"]
            self.progress.advance(self.task)
            if r.status == "failed":
                self.console.print(f"[red]failed[/] {escape(r.spec.label)}: {escape(r.error.message.splitlines()[0][:200])}",
                                   markup=True)
            elif r.status == "parity_failed":
                self.console.print(f"[yellow]parity failed[/] {escape(r.spec.label)}: {escape(r.error.message)}",
                                   markup=True)
        elif event == "cooldown":
            self.progress.update(self.task, current=(
                f"cooling down: {data['temp_c']:.1f} °C > {data['target_c']:g} °C ({data['waited_s']:.0f}/{data['max_s']:g} s)"))
        elif event == "warning":
            self.console.print(f"[yellow]warning:[/] {escape(data['message'])}", markup=True)
        elif event == "end":
            self.progress.update(self.task, current="done")
