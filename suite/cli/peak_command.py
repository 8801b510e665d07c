"""`bench peak`: this device's measured ceilings (the roofs of every case's roofline)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from suite.results.device import PeakFigure


def peak_cmd(
    threads: Annotated[Optional[int], typer.Option("--threads", "-t", min=1, max=1024, help="Threads (default: as bench run, the physical cores).")] = None,
    device: Annotated[str, typer.Option("--device", help="cpu, or cuda / cuda:N for a GPU.")] = "cpu",
    refresh: Annotated[bool, typer.Option("--refresh", help="Measure again instead of using the cached figures.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Measure sustained fp32 GEMM FLOP/s (torch and ONNX Runtime) and memory bandwidth (STREAM copy
    and triad) with the run's thread count; cached per machine, threads and library versions."""
    from rich.table import Table

    from suite.cli.console import stderr_console, stdout_console
    from suite.errors import BenchError
    from suite.machine.environment import default_threads
    from suite.metrics.peak_cache import cache_dir, peaks_in_worker
    from suite.plan.preflight import check_threads

    if device != "cpu" and not (device == "cuda" or (device.startswith("cuda:") and device[5:].isdigit())):
        raise BenchError(f"--device {device!r}: give cpu, cuda or cuda:N.")
    device = "cuda:0" if device == "cuda" else device
    n = threads or default_threads()
    check_threads(n)
    console = stdout_console()
    if not as_json:
        console.print(f"Device ceilings of {device} with {n} thread(s)" + (" (measuring, a few seconds)…" if refresh else "…"),
                      highlight=False)

    def refused(why: str) -> None:  # on stderr: --json's stdout stays one document
        stderr_console().print(f"Cached ceilings not used: {why}. Measuring again (a few seconds)…",
                               highlight=False, soft_wrap=True)

    try:
        peaks = peaks_in_worker(device, n, refresh=refresh, on_refused=refused)
    except RuntimeError as exc:
        raise BenchError(f"Could not measure the ceilings of {device}: {exc}") from None
    if as_json:
        typer.echo(peaks.model_dump_json(indent=2))
        return
    table = Table("ceiling", "best", "median call", "spread (IQR)", "how", box=None, header_style="bold")

    def median(fig: PeakFigure, unit: str) -> str:
        return "-" if fig.median_value is None else f"{fig.median_value / 1e9:,.1f} {unit}"
    for name, fig in peaks.gemm.items():
        table.add_row(f"GEMM {name}", f"{fig.value / 1e9:,.1f} GFLOP/s", median(fig, "GFLOP/s"), f"{fig.spread:.1%}",
                      fig.method)
    for name, fig in peaks.bandwidth.items():
        table.add_row(f"memory {name}", f"{fig.value / 1e9:,.1f} GB/s", median(fig, "GB/s"), f"{fig.spread:.1%}",
                      fig.method)
    console.print(table)
    ridge = peaks.gemm_flops_s / peaks.bandwidth_bytes_s if peaks.bandwidth_bytes_s else float("nan")
    how = f"from the cache in {cache_dir()}" if peaks.cached else f"measured in {peaks.duration_s:.1f} s"
    console.print(f"Roofs: compute {peaks.gemm_flops_s / 1e9:,.1f} GFLOP/s, memory {peaks.bandwidth_bytes_s / 1e9:,.1f} "
                  f"GB/s; ridge point {ridge:.1f} FLOP/byte ({how}, {peaks.measured_at:%Y-%m-%d %H:%M} UTC).",
                  highlight=False)


def register(app: typer.Typer) -> None:
    app.command("peak")(peak_cmd)
