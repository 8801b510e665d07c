"""The device ceilings of a run: cached per machine, device, thread count and library versions
(`$BENCH_PEAKS_DIR`, else ~/.cache/bench/peaks), checked before they are believed
(suite/results/ceilings.py), measured in a worker (suite/metrics/peak.py's kernels) when the cache
has none or a bad one, and looked up once per run for every (device, threads) its cases use."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from suite.metrics.peak import cache_key, measure_peaks
from suite.results.ceilings import implausible, inconsistent, unusable
from suite.results.safe_read import read_regular_bytes
from suite.results.schema import DevicePeaks
from suite.worker import run_isolated

ENV_VAR = "BENCH_PEAKS_DIR"



def cache_dir() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "bench", "peaks")


CACHE_MAX_BYTES = 1024 * 1024  # a ceilings record is a few kB


def read_cache(device: str, threads: int) -> tuple[DevicePeaks | None, str | None]:
    """The cached ceilings of `device` with `threads`, when they can be believed
    (suite.results.ceilings); else None and why they cannot (None, None: nothing cached)."""
    from pydantic import ValidationError

    key = cache_key(device, threads)
    path = cache_dir() / f"{key}.json"
    try:
        raw = read_regular_bytes(path, CACHE_MAX_BYTES)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"{path}: {exc.strerror or exc}"
    try:
        peaks = DevicePeaks.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return None, f"{path} is not a ceilings record ({f'{where}: ' if where else ''}{first['msg']})"
    why = unusable(peaks, device, threads, key)
    if why is not None:
        return None, f"{path}: {why}"
    return peaks.model_copy(update={"cached": True}), None


def load_cached(device: str, threads: int) -> DevicePeaks | None:
    return read_cache(device, threads)[0]


def save_cached(peaks: DevicePeaks) -> None:
    folder = cache_dir()
    path = folder / f"{peaks.key}.json"
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(peaks.model_dump_json(indent=1))
        os.replace(tmp, path)  # replaces whatever was there, a FIFO or a symlink too (not its target)
    except OSError:
        pass  # a read-only home: measured again next time


def load_or_measure(device: str, threads: int, *, refresh: bool = False, budget_s: float = 3.0) -> DevicePeaks:
    if not refresh:
        cached = load_cached(device, threads)
        if cached is not None:
            return cached
    peaks = measure_peaks(device, threads, budget_s=budget_s)
    save_cached(peaks)
    return peaks


def _measure_in_worker(send: Callable[[tuple[str, str]], None], device: str, threads: int) -> None:
    try:
        send(("ok", measure_peaks(device, threads).model_dump_json()))
    except Exception as exc:  # a peak that cannot be measured leaves the roofline without roofs
        send(("error", f"{type(exc).__name__}: {exc}"))


def peaks_in_worker(device: str, threads: int, *, refresh: bool = False, timeout_s: float = 120.0,
                    on_refused: Callable[[str], None] | None = None) -> DevicePeaks:
    """The cached ceilings, or `measure_peaks` in a worker process (the parent of a run never
    imports torch), raising RuntimeError with the reason when it fails. A cache record that
    cannot be believed is measured again, and `on_refused` is told why."""
    if not refresh:
        cached, why = read_cache(device, threads)
        if cached is not None:
            return cached
        if why is not None and on_refused is not None:
            on_refused(why)
    out = run_isolated(_measure_in_worker, (device, threads), timeout_s, name="bench-peaks")
    for message in out.messages:
        if message[0] == "ok":
            peaks = DevicePeaks.model_validate_json(message[1])
            save_cached(peaks)  # here, not in the worker: the parent's cache folder is the one asked for
            return peaks
        if message[0] == "error":
            raise RuntimeError(message[1])
    raise RuntimeError("timed out" if out.timed_out else f"the worker exited ({out.exitcode})")


def peaks_for_run(stored: list[DevicePeaks], devices: set[tuple[str, int]], emit: Callable[[str, dict[str, str]], None]
                  ) -> list[DevicePeaks]:
    """The roofs of a run (suite.run.runner calls this once, before the first case): each (device,
    threads) the run's cases use, from what a resumed run stored, the per-machine cache, or
    measured now in a worker (a few seconds). A device whose ceilings cannot be measured is
    left out with a warning: its cases get intensities but no roofs."""
    out = []
    for p in stored:  # a resumed run's: its results file is data too
        why = implausible(p) or inconsistent(p)
        if why is None:
            out.append(p)
        else:
            emit("warning", {"message": f"the results file's ceilings of {p.device} are not used ({why}); "
                                        "measuring again"})
    have = {(p.device, p.threads) for p in out}
    for device, threads in sorted(devices):
        key = (device, None if device.startswith("cuda") else threads)
        if key in have:
            continue
        emit("peaks", {"message": f"device ceilings ({device}, {threads} threads): measuring or loading from cache..."})

        def refused(why: str) -> None:
            emit("warning", {"message": f"cached device ceilings not used: {why}; measuring again"})

        try:
            peaks = peaks_in_worker(device, threads, on_refused=refused)
        except Exception as exc:
            emit("warning", {"message": f"device ceilings not measured ({exc}); the roofline has no roofs"})
            continue
        how = "cached" if peaks.cached else f"measured in {peaks.duration_s:.1f} s"
        emit("peaks", {"message": f"device ceilings ({device}): GEMM {peaks.gemm_flops_s / 1e9:.1f} GFLOP/s, "
                                  f"bandwidth {peaks.bandwidth_bytes_s / 1e9:.1f} GB/s ({how}; bench peak)"})
        out.append(peaks)
        have.add(key)
    return out
