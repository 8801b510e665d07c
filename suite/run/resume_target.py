"""What `bench run --resume OUT`, `-o` and `--force` mean for the results on disk.

- `--resume OUT` continues an unfinished run (one whose file has no `finished_at`: it was
  interrupted, killed, or the machine lost power). OUT is its results file, or the output
  folder: then the newest unfinished run in it. The saved configuration is used; flags and a
  config file given now may only restate it (a change is refused, naming the fields).
- Resuming never runs a program or imports a file that only the results file names (a model
  that is a Python file, a vcgencmd command): the command line must name it again (`-m FILE.py`,
  `--vcgencmd CMD`, a `-c` config file) or accept the file's with `--trust-config`
  (suite/run/resume.py).
- The results file is locked before it is read: a second `--resume` of a run that is going on
  is refused instead of measuring from a stale copy and overwriting the first one's cases.
- Existing results are never overwritten without `--force`. A new run writes a new file
  (its name holds the run id), so by default nothing is at risk, except:
  * `-o FILE.json` names the results file itself: if FILE.json exists, it is refused
    unless `--force` (which replaces it);
  * `-o DIR` when DIR holds an unfinished run with the same configuration and at least one
    finished case: that is nearly always a run the user meant to resume, so it is refused
    with the resume command; `--force` starts a new run beside it (the unfinished file is kept).
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterator
from pathlib import Path

from suite.config.bench_config import (
    BenchConfig,
    deep_merge,
    preset_dict,
    read_config_file,
    validate_config,
)
from suite.errors import BenchError, ConfigError, ResultsFileError
from suite.results.io import load_results
from suite.results.lock import results_lock
from suite.results.schema import RunResult
from suite.run.resume import (
    check_resumable,
    code_it_runs,
    refuse_unnamed_code,
    resume_command,
    unnamed_code,
)

RESULTS_GLOB = "results-*.json"


def unfinished_runs(folder: Path) -> tuple[list[tuple[Path, RunResult]], list[ResultsFileError]]:
    """Runs in `folder` (not its subfolders) whose results file was never marked finished,
    newest first, and the files that could not be read."""
    found: list[tuple[Path, RunResult]] = []
    bad: list[ResultsFileError] = []
    for p in sorted(folder.glob(RESULTS_GLOB)):
        try:
            run = load_results(p)
        except ResultsFileError as exc:
            bad.append(exc)
            continue
        if run.finished_at is None:
            found.append((p, run))
    found.sort(key=lambda pr: pr[1].created_at, reverse=True)
    return found, bad


def find_resumable(target: Path) -> tuple[Path, RunResult]:
    """The results file and run that `--resume target` means."""
    if target.is_dir():
        found, bad = unfinished_runs(target)
        if not found:
            unread = f" ({len(bad)} file(s) could not be read: {bad[0]})" if bad else ""
            raise BenchError(f"Nothing to resume in {target}: it holds no unfinished run{unread}. Give the "
                             "results file of the run to resume, or start a new run without --resume.")
        return found[0]
    if not target.exists():
        raise BenchError(f"Nothing to resume at {target}: no such file or folder. Give the output folder or the "
                         "results file of the interrupted run (the path printed when it stopped).")
    run = load_results(target)
    if run.finished_at is not None:
        raise BenchError(f"Run {run.run_id} in {target} already finished ({len(run.cases)} cases); nothing to "
                         "resume. Start a new run without --resume.")
    return target, run


@contextlib.contextmanager
def resume_locked(target: Path, *, preset: str | None, config_file: str | None, overrides: dict[str, object],
                  out: Path | None, vcgencmd: str | None = None,
                  trust_config: bool = False) -> Iterator[tuple[BenchConfig, RunResult, Path]]:
    """prepare_resume(target, ...), read and checked while holding the results file's lock,
    which stays held for the block (the run): a second `--resume` started meanwhile is refused
    instead of resuming from what it read before the first one saved."""
    if target.is_dir() or not target.exists():
        path = find_resumable(target)[0]  # a folder is read to choose; a missing path is refused here
    else:
        path = target  # a file is read only under its lock
    with results_lock(path):
        yield prepare_resume(path, preset=preset, config_file=config_file, overrides=overrides, out=out,
                             vcgencmd=vcgencmd, trust_config=trust_config)


def prepare_resume(target: Path, *, preset: str | None, config_file: str | None, overrides: dict[str, object],
                   out: Path | None, vcgencmd: str | None = None,
                   trust_config: bool = False) -> tuple[BenchConfig, RunResult, Path]:
    """(configuration, saved run, results file) for `bench run --resume target [flags]`."""
    path, run = find_resumable(target)
    source = f"{path} (the interrupted run's saved configuration)"
    try:
        saved = validate_config(run.config, source=source)
    except ConfigError as exc:
        raise BenchError(f"Cannot resume run {run.run_id}: {exc}. Start a new run instead.") from None
    if out is not None and out.resolve() not in (path.resolve(), path.parent.resolve()):
        raise ConfigError(f"--resume continues run {run.run_id} in its own file {path}; -o {out} cannot move it. "
                          "Drop -o (or give the same folder).")
    given = {k: v for k, v in overrides.items() if v is not None and k not in ("output_dir", "report")}
    # What this command line names: model files with -m or in a -c file, vcgencmd commands.
    named_models: list[str] = []
    named_commands: list[str] = [vcgencmd] if vcgencmd else []
    models = given.get("models")  # -m: [{"name": ..., "pretrained": ...}, ...]
    if isinstance(models, list) and models:
        names = [m["name"] for m in models]
        named_models += names
        if sorted(names) == sorted(m.name for m in saved.models) and (
                not any(m.get("pretrained") for m in models) or all(m.pretrained for m in saved.models)):
            del given["models"]  # restated: keep the saved choices (with their per-model options)
    file_data = read_config_file(config_file) if config_file else {}
    named_models += [m if isinstance(m, str) else str(m.get("name")) for m in file_data.get("models") or []
                     if isinstance(m, (str, dict))]
    for section in ("energy", "monitor"):
        part = file_data.get(section)
        if isinstance(part, dict) and isinstance(part.get("vcgencmd"), str):
            named_commands.append(part["vcgencmd"])
    cfg = saved
    if preset or config_file or given:
        data = saved.model_dump(mode="json")
        if preset:
            data = deep_merge(data, {**preset_dict(preset), "preset": preset})
        if config_file:
            data = deep_merge(data, {k: v for k, v in file_data.items() if k != "output_dir"})
        data = deep_merge(data, given)
        cfg = validate_config(data, source="the flags given with --resume")
        check_resumable(run, cfg)
    if vcgencmd and vcgencmd not in {value for field, value in code_it_runs(cfg) if not field.startswith("models")}:
        raise ConfigError(f"--vcgencmd {shlex.quote(vcgencmd)} is not the command run {run.run_id} used (it set none: "
                          "$BENCH_VCGENCMD or vcgencmd on PATH); a resumed run keeps its settings. Drop --vcgencmd.")
    if not trust_config:
        refuse_unnamed_code(run, cfg, path, unnamed_code(cfg, named_models, named_commands))
    update: dict[str, object] = {"output_dir": str(path.parent)}
    if overrides.get("report") is not None:
        update["report"] = overrides["report"]
    return cfg.model_copy(update=update), run, path


def new_run_output(cfg: BenchConfig, out: Path | None, force: bool) -> Path | None:
    """The results file a new run writes (None: a fresh results-<run id>.json in
    cfg.output_dir), after refusing to clobber existing results without --force."""
    if out is not None and out.suffix.lower() == ".json":
        if out.is_dir():
            raise BenchError(f"-o {out} is a folder whose name ends in .json; give a file name or another folder.")
        if out.exists() and not force:
            raise BenchError(f"{out} already exists. Pass --force to overwrite it, `bench run --resume {_q(out)}` "
                             "to continue it if it is unfinished, or give another -o.")
        return out
    folder = Path(cfg.output_dir)
    if force or not folder.is_dir():
        return None
    digest = cfg.digest()
    for path, run in unfinished_runs(folder)[0]:
        if not run.cases:  # stopped before its first case finished: nothing to lose by starting over
            continue
        try:
            same = validate_config(run.config).digest() == digest
        except ConfigError:
            continue
        if same:
            raise BenchError(
                f"{folder} holds an unfinished run with this configuration ({path.name}, {len(run.cases)} case(s) "
                f"saved). Continue it with: {resume_command(cfg, path)} -- or pass --force to start a new run "
                "beside it (the unfinished file is kept).")
    return None


def _q(path: Path) -> str:
    return shlex.quote(str(path))
