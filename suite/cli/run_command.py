"""`bench run`: parse flags into a config, run it with a live progress bar, print a summary,
write the report. Ctrl-C / SIGTERM / SIGHUP stop it after saving and print how to resume
(exit status 128 + the signal: 130, 143, 129); see suite/run/resume_target.py for --resume and --force."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional, TypeVar

import typer

from suite.cli.run_flags import RunCommand
from suite.errors import BenchError, ConfigError

if TYPE_CHECKING:
    from rich.console import Console

    from suite.config.bench_config import BenchConfig
    from suite.results.schema import RunResult
    from suite.run.events import Event, Progress

T = TypeVar("T")


def _csv(text: str | None, cast: Callable[[str], T], flag: str) -> list[T] | None:
    if text is None:
        return None
    try:
        return [cast(x.strip()) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"{flag} takes a comma-separated list, e.g. {flag} 1,2,4 (got '{text}')") from None


def parse_input_sizes(values: list[str] | None) -> dict[str, list[float]] | None:
    """`224,448` applies to every model; `image:224,448` or `text=128` to one modality."""
    if not values:
        return None
    out: dict[str, list[float]] = {}
    for raw in values:
        key, sep, rest = raw.replace("=", ":").partition(":")
        if not sep:
            key, rest = "*", raw
        out[key.strip()] = _csv(rest, float, "--input-sizes") or []
    return out


def run_cmd(
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML or YAML config file.")] = None,
    preset: Annotated[Optional[str], typer.Option(help="quick (default: a few minutes) or lab (the handout: all seed models).")] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Model to run (repeat): registry name, torchvision:<name>, hf:<type>[:k=v], file.py[:factory] or file.onnx.")] = None,
    backends: Annotated[Optional[str], typer.Option()] = None,
    batch_sizes: Annotated[Optional[str], typer.Option("--batch-sizes", "-b", help="Comma-separated batch sizes, e.g. 1,2,4.")] = None,
    input_sizes: Annotated[Optional[list[str]], typer.Option("--input-sizes")] = None,
    threads: Annotated[Optional[int], typer.Option()] = None,
    device: Annotated[Optional[str], typer.Option(help="cpu or cuda.")] = None,
    pretrained: Annotated[bool, typer.Option("--pretrained", help="Load published weights (needs network); default random weights.")] = False,
    no_energy: Annotated[bool, typer.Option("--no-energy", help="Skip the energy window.")] = False,
    meter: Annotated[Optional[str], typer.Option("--meter")] = None,
    region: Annotated[Optional[str], typer.Option()] = None,
    vcgencmd: Annotated[Optional[str], typer.Option("--vcgencmd", help="The Raspberry Pi's vcgencmd command, with any arguments (power rails and throttling; default $BENCH_VCGENCMD, else vcgencmd on PATH). With --resume: names again the one the run was saved with.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder for the results file and the report (default reports/), or the results file itself (a path ending in .json).")] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue an interrupted run: its output folder (the newest unfinished run in it) or its results file. Runs only the cases not yet finished, with the saved configuration.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing -o FILE.json, or start a new run in a folder that holds an unfinished run of the same configuration.")] = False,
    trust_config: Annotated[bool, typer.Option("--trust-config", help="With --resume: run the model files and commands the results file's saved configuration names, without naming them again (read the refusal message first: it lists them).")] = False,
    case_timeout: Annotated[Optional[float], typer.Option("--case-timeout", help="Seconds before a hung case is killed and recorded as a timeout (default 1800).")] = None,
    cooldown: Annotated[Optional[float], typer.Option("--cooldown")] = None,
    exporter: Annotated[Optional[str], typer.Option(help="ONNX exporter for the ort backends: dynamo (default) or torchscript.")] = None,
    opset: Annotated[Optional[int], typer.Option(help="ONNX opset for the export (default: the exporter's).")] = None,
    inline: Annotated[bool, typer.Option("--inline", help="Run cases in this process (no worker isolation; for debugging).")] = False,
    repeats: Annotated[Optional[int], typer.Option("--repeats", min=1, max=100)] = None,
    no_interleave: Annotated[bool, typer.Option("--no-interleave")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not render the HTML report at the end.")] = False,
    no_peaks: Annotated[bool, typer.Option("--no-peaks")] = False,
    dataset: Annotated[Optional[str], typer.Option("--dataset")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit")] = None,
    resize: Annotated[Optional[str], typer.Option("--resize")] = None,
    profile: Annotated[bool, typer.Option("--profile", help="After each case's timed loop and energy window, profile a few calls per operator (torch.profiler for eager, ONNX Runtime's own profiler for ORT); the report lines eager and ORT up per model.")] = False,
    profile_calls: Annotated[Optional[int], typer.Option("--profile-calls")] = None,
    weights: Annotated[Optional[Path], typer.Option("--weights")] = None,
    no_cold_start: Annotated[bool, typer.Option("--no-cold-start")] = False,
    rate: Annotated[Optional[str], typer.Option("--rate")] = None,
    sustain: Annotated[Optional[str], typer.Option("--sustain")] = None,
    temp_limit: Annotated[Optional[str], typer.Option("--temp-limit")] = None,
    budget: Annotated[Optional[str], typer.Option("--budget")] = None,
) -> None:
    """Measure parameters, FLOPs, latency, memory (and energy) for each model x backend x batch x size."""
    # The flags without help= above take it from the configuration field they set (suite/cli/run_flags.py).
    from suite.config.bench_config import build_config

    overrides: dict[str, object] = {
        "backends": _csv(backends, str, "--backends"),
        "batch_sizes": _csv(batch_sizes, int, "--batch-sizes"),
        "input_sizes": parse_input_sizes(input_sizes),
        "threads": threads,
        "device": device,
        "output_dir": str(out.parent if out.suffix.lower() == ".json" else out) if out else None,
        "case_timeout_s": case_timeout,
        "cooldown_temp_c": cooldown,
    }
    if weights is not None and len(model or []) != 1:
        raise BenchError("--weights loads one state dict into one model: give exactly one -m MODEL with it "
                         "(or set weights per model in a config file's [[models]] tables)")
    if model:
        overrides["models"] = [{"name": m, "pretrained": pretrained,
                                **({"weights": str(weights)} if weights is not None else {})} for m in model]
    if dataset is not None or limit is not None:
        overrides["dataset"] = {k: v for k, v in (("spec", dataset), ("limit", limit)) if v is not None}
    if resize is not None:
        overrides["resize"] = _csv(resize, str, "--resize")
    if profile or profile_calls is not None:
        overrides["profile"] = {"enabled": True, **({"calls": profile_calls} if profile_calls is not None else {})}
    if inline:
        overrides["isolation"] = "inline"
    if repeats is not None:
        overrides["repeats"] = repeats
    if no_interleave:
        overrides["interleave"] = False
    if no_report:
        overrides["report"] = False
    if no_peaks:
        overrides["peaks"] = False
    app: dict[str, object] = {}
    if no_cold_start or _cold_start_off_by_env():
        app["cold_start"] = False
    if rate is not None:
        from suite.metrics.app_options import parse_rate

        app["rate_hz"] = _flag_value("--rate", rate, parse_rate)
    if sustain is not None:
        from suite.metrics.app_options import parse_duration

        app["sustain_s"] = _flag_value("--sustain", sustain, parse_duration)
    if temp_limit is not None:
        app["temp_limit_c"] = _flag_value("--temp-limit", temp_limit, _celsius)
    if app:
        overrides["app"] = app
    if budget is not None:
        from suite.metrics.app_options import parse_duration

        overrides["budget_s"] = _flag_value("--budget", budget, parse_duration)
    energy: dict[str, object] = {}
    if no_energy:
        energy["enabled"] = False
    if meter is not None:
        energy["meter"] = check_meter(meter)
    if region:
        energy["region"] = region
    if energy:
        overrides["energy"] = energy
    ort = {k: v for k, v in (("exporter", exporter), ("opset", opset)) if v is not None}
    if ort:
        overrides["ort"] = ort
    if resume is not None:
        from suite.run.resume_target import resume_locked

        with resume_locked(resume, preset=preset, config_file=str(config) if config else None,
                           overrides=overrides, out=out, vcgencmd=vcgencmd,
                           trust_config=trust_config) as (cfg, previous, path):
            if pretrained and not model:
                cfg = _all_pretrained(cfg)  # checked against the previous run by run_benchmark
            execute_run(cfg, resume=previous, output=path)
        return
    if trust_config:
        raise ConfigError("--trust-config goes with --resume (it accepts what a results file's saved "
                          "configuration runs); a new run runs what its own flags and config file name.")
    if vcgencmd:
        energy["vcgencmd"] = vcgencmd
        overrides["energy"] = energy
        overrides["monitor"] = {"vcgencmd": vcgencmd}
    from suite.run.resume_target import new_run_output

    if limit is not None and dataset is None:
        _check_limit_has_a_dataset(preset, config, overrides)
    cfg = build_config(preset=preset, config_file=str(config) if config else None, overrides=overrides)
    if pretrained and not model:
        cfg = _all_pretrained(cfg)
    execute_run(cfg, output=new_run_output(cfg, out, force))


def study_cmd(
    config: Annotated[Optional[Path], typer.Argument(help="TOML or YAML config with a dataset table (spec, limit), models (variants), input_sizes, resize methods and backends. Default: the lab2 preset.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder for the results file and the report (default reports/).")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Evaluate a seeded, stratified subset of at most this many samples.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing -o FILE.json.")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="Do not render the HTML report at the end.")] = False,
) -> None:
    """Accuracy vs efficiency (the Lab 2 study): model variants x input sizes x resize methods x backends on
    real data, one results file, one report. Without CONFIG: the lab2 preset (digits, offline)."""
    from suite.config.bench_config import build_config
    from suite.run.resume_target import new_run_output

    overrides: dict[str, object] = {"output_dir": str(out) if out else None}
    if limit is not None:
        overrides["dataset"] = {"limit": limit}
    if no_report:
        overrides["report"] = False
    cfg = build_config(preset=None if config else "lab2", config_file=str(config) if config else None,
                       overrides=overrides)
    if cfg.dataset is None:
        raise ConfigError(f"A study measures accuracy on real data: {config} needs a [dataset] section "
                          "(spec = \"digits\", \"imagefolder:DIR\", \"npz:FILE\", \"hf-disk:DIR\" or \"user\")")
    execute_run(cfg, output=new_run_output(cfg, out, force))


def register(app: typer.Typer) -> None:
    app.command("run", cls=RunCommand)(run_cmd)


def register_study(app: typer.Typer) -> None:
    app.command("study")(study_cmd)


def _check_limit_has_a_dataset(preset: str | None, config: Path | None, overrides: dict[str, object]) -> None:
    """--limit alone: refused as the flag's mistake (it was blamed on the preset's missing dataset)."""
    from suite.config.bench_config import build_config

    rest = {k: v for k, v in overrides.items() if k != "dataset"}
    base = build_config(preset=preset, config_file=str(config) if config else None, overrides=rest)
    if base.dataset is None:
        raise ConfigError("--limit N evaluates a subset of the evaluation data, and this run has none: give the data "
                          "with --dataset (digits, imagefolder:DIR, npz:FILE, hf-disk:DIR or user) or a [dataset] "
                          "table in the config file")


def _celsius(text: str) -> float:
    """A temperature limit in degrees Celsius: `85` or `85C`, above 0 and below 150."""
    try:
        value = float(text.strip().rstrip("cC").rstrip("°").strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a temperature: give degrees Celsius, e.g. 85") from None
    if not 0 < value < 150:
        raise ValueError(f"a CPU temperature limit is between 0 and 150 °C (got {text!r})")
    return value


def _flag_value(flag: str, text: str, parse: Callable[[str], float]) -> float:
    """A flag's value through its parser, refused as the flag's mistake (exit 2, one paragraph)."""
    try:
        return parse(text)
    except ValueError as exc:
        raise ConfigError(f"{flag}: {exc}") from None


def check_meter(name: str) -> str:
    """--meter's value, refused here with the choices (the config would refuse it too, but
    naming the field rather than the flag)."""
    from suite.energy.meters import canonical_meter_name

    try:
        canonical_meter_name(name)
    except ConfigError as exc:
        raise ConfigError(f"--meter: {exc}") from None
    return name


def _all_pretrained(cfg: BenchConfig) -> BenchConfig:
    return cfg.model_copy(update={"models": [m.model_copy(update={"pretrained": True}) for m in cfg.models]})


def execute_run(cfg: BenchConfig, resume: RunResult | None = None, output: Path | None = None) -> None:
    from suite.cli.progress import RunProgress
    from suite.cli.summary import print_summary
    from suite.run.interrupts import stop_on_signals
    from suite.run.runner import RunOptions, run_benchmark

    out_dir = Path(cfg.output_dir)
    _check_writable(out_dir)
    state = _RunState(cfg)
    try:
        # The summary and the report stay inside: a signal while they import and render is
        # answered like one during the run (what is saved, and what to do next).
        with stop_on_signals():
            with RunProgress() as progress:
                state.forward, state.console = progress.on_event, progress.console
                run = run_benchmark(cfg, RunOptions(output=output, command=sys.argv, progress=state, resume=resume))
            print_summary(run)
            if cfg.report:
                _render(run, progress.path)
    except KeyboardInterrupt as exc:  # StopRequested (SIGINT/SIGTERM/SIGHUP) is one
        import signal

        signum = getattr(exc, "signum", signal.SIGINT)
        _print_interrupted(state, signum)
        # SystemExit passes through click untouched, whichever way the command is invoked
        # (with standalone_mode=False click turns a typer.Exit into a return value).
        raise SystemExit(128 + signum) from None


class _RunState:
    """Passes the runner's progress events on to the progress bar, keeping what an
    interruption message needs: where the results are and how many cases there are."""

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.forward: Progress | None = None
        self.console: Console | None = None
        self.path: Path | None = None
        self.total = 0
        self.run: RunResult | None = None
        self.saved = 0  # cases in the results file as last saved: all an interruption may claim

    def __call__(self, event: Event) -> None:
        from suite.run.events import CoolingDown, RunStarted, Saved

        if isinstance(event, Saved):
            self.saved = event.cases
        elif isinstance(event, RunStarted):
            self.path, self.total, self.run = Path(event.path), event.total, event.run
        elif isinstance(event, CoolingDown) and event.waited_s == 0 and self.console is not None:
            self.console.print(f"cooling down: CPU at {event.temp_c:.1f} °C, waiting until it is below "
                               f"{event.target_c:g} °C (at most {event.max_s:g} s)", highlight=False)
        if self.forward is not None:
            self.forward(event)


def _print_interrupted(state: _RunState, signum: int) -> None:
    import signal

    from suite.cli.console import stderr_console
    from suite.run.resume import resume_command

    name = signal.Signals(signum).name
    console = stderr_console()
    if state.path is None or state.run is None:
        console.print(f"Interrupted ({name}) before the run started; no results file was written or changed.",
                      highlight=False)
        return
    if state.run.finished_at is not None:  # stamped and saved: the run is complete on disk
        import shlex

        console.print(f"Interrupted ({name}) after the run finished: all {state.saved} cases are saved in "
                      f"{state.path}. Write its report with: bench report {shlex.quote(str(state.path))}",
                      highlight=False, soft_wrap=True)
        return
    console.print(f"Interrupted ({name}): {state.saved} of {state.total} cases saved in {state.path}. "
                  f"Resume with: {resume_command(state.config, state.path)}", highlight=False, soft_wrap=True)


def _render(run: RunResult, results_path: Path) -> None:
    from suite.cli.console import stdout_console

    try:
        from suite.report.html import render_report
    except ImportError:
        return
    from rich.markup import escape

    out = results_path.parent / "report.html"
    try:
        render_report([(results_path, run)], out)
    except BenchError as exc:
        # The run is complete and saved: the report failing must not make it look lost.
        import shlex

        from suite.report.files import ReportWriteError

        why = f"{exc.path}: {exc.reason}" if isinstance(exc, ReportWriteError) else str(exc).rstrip(".")
        raise BenchError(f"The run finished and its results are saved in {results_path}, but the report could not "
                         f"be written ({why}). Write it elsewhere with: bench report "
                         f"{shlex.quote(str(results_path))} -o FOLDER") from None
    stdout_console().print(f"Report: [bold]{escape(str(out))}[/]", markup=True)


def _check_writable(out_dir: Path) -> None:
    """Refuse an output folder that cannot be created or written, without creating it: a run
    refused later (an unknown model, a bad size) must not leave an empty folder behind. The
    runner creates it when it writes the results file."""
    existing = out_dir
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise BenchError(f"Cannot create output folder {out_dir}: {os.strerror(errno.ENOTDIR)}. Choose another with -o.")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "is not writable" if existing == out_dir else f"cannot be created ({existing} is not writable)"
        raise BenchError(f"Output folder {out_dir} {what}. Choose another with -o.")


def _cold_start_off_by_env() -> bool:
    """BENCH_COLD_START=0 acts as --no-cold-start over a config file's value too (the config's
    default already follows it); a value that is neither 0 nor 1 is a usage error."""
    from suite.metrics.app_options import cold_start_env

    try:
        return cold_start_env() is False
    except ValueError as exc:
        raise BenchError(str(exc)) from None
