"""`bench run`: parse flags into a config, run it with a live progress bar, print a summary,
write the report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from suite.errors import BenchError, ConfigError


def _csv(text: str | None, cast: Any, flag: str) -> list[Any] | None:
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


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        config: Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML or YAML config file.")] = None,
        preset: Annotated[Optional[str], typer.Option(help="quick (default: a few minutes) or lab (the handout: all seed models).")] = None,
        model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Model to run (repeat): registry name, torchvision:<name>, hf:<type>[:k=v], file.py[:factory] or file.onnx.")] = None,
        backends: Annotated[Optional[str], typer.Option(help="Comma-separated: eager, ort, ort-int8.")] = None,
        batch_sizes: Annotated[Optional[str], typer.Option("--batch-sizes", "-b", help="Comma-separated batch sizes, e.g. 1,2,4.")] = None,
        input_sizes: Annotated[Optional[list[str]], typer.Option("--input-sizes", help="Sizes on each model's size axis (pixels, tokens, seconds): 224,448 for all, or image:224,448 / text:128 per modality (repeat).")] = None,
        threads: Annotated[Optional[int], typer.Option(help="Intra-op threads for torch and ORT (default: physical cores).")] = None,
        device: Annotated[Optional[str], typer.Option(help="cpu or cuda.")] = None,
        pretrained: Annotated[bool, typer.Option("--pretrained", help="Load published weights (needs network); default random weights.")] = False,
        no_energy: Annotated[bool, typer.Option("--no-energy", help="Skip the energy window.")] = False,
        region: Annotated[Optional[str], typer.Option(help="Grid region (ISO3 country code) for carbon, e.g. USA, FRA, DEU.")] = None,
        out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder for the results file and the report (default reports/).")] = None,
        inline: Annotated[bool, typer.Option("--inline", help="Run cases in this process (no worker isolation; for debugging).")] = False,
        no_report: Annotated[bool, typer.Option("--no-report", help="Do not render the HTML report at the end.")] = False,
    ) -> None:
        """Measure parameters, FLOPs, latency, memory (and energy) for each model x backend x batch x size."""
        from suite.config import build_config

        overrides: dict[str, Any] = {
            "backends": _csv(backends, str, "--backends"),
            "batch_sizes": _csv(batch_sizes, int, "--batch-sizes"),
            "input_sizes": parse_input_sizes(input_sizes),
            "threads": threads,
            "device": device,
            "output_dir": str(out) if out else None,
        }
        if model:
            overrides["models"] = [{"name": m, "pretrained": pretrained} for m in model]
        if inline:
            overrides["isolation"] = "inline"
        if no_report:
            overrides["report"] = False
        energy: dict[str, Any] = {}
        if no_energy:
            energy["enabled"] = False
        if region:
            energy["region"] = region
        if energy:
            overrides["energy"] = energy
        cfg = build_config(preset=preset, config_file=str(config) if config else None, overrides=overrides)
        if pretrained and not model:
            cfg = cfg.model_copy(update={"models": [m.model_copy(update={"pretrained": True}) for m in cfg.models]})
        execute_run(cfg)


def execute_run(cfg: Any, resume: Any = None, output: Path | None = None) -> None:
    from suite.cli.progress import RunProgress
    from suite.cli.summary import print_summary
    from suite.runner import RunOptions, run_benchmark

    out_dir = Path(cfg.output_dir)
    _check_writable(out_dir)
    with RunProgress() as progress:
        run = run_benchmark(cfg, RunOptions(output=output, command=sys.argv, progress=progress.on_event, resume=resume))
    print_summary(run)
    if cfg.report:
        _render(run, progress.path)


def _render(run: Any, results_path: Path) -> None:
    from suite.cli.console import stdout_console

    try:
        from suite.report.html import render_report
    except ImportError:
        return
    out = results_path.parent / "report.html"
    render_report([(results_path, run)], out)
    stdout_console().print(f"Report: [bold]{out}[/]")


def _check_writable(out_dir: Path) -> None:
    import os

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchError(f"Cannot create output folder {out_dir}: {exc.strerror or exc}. Choose another with -o.") from None
    if not os.access(out_dir, os.W_OK):
        raise BenchError(f"Output folder {out_dir} is not writable. Choose another with -o.")
