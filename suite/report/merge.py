"""Merge results from many files (many devices, backends) into one view for the report.

A device is identified by its Environment's (hostname, cpu_model, device_model); a case's
place in the cross-hardware matrix by (model, batch size, size axis, input size) and backend.
Nothing here measures: it only reads results and, where a run stored no backend comparison,
derives one with `suite.stats` from the stored samples.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from suite.errors import BenchError, ResultsFileError
from suite.report.backend_style import BASELINE_BACKEND, backend_order
from suite.report.format import slug
from suite.results.comparisons import compare_pair, pair_key
from suite.results.schema import (
    CaseResult,
    CaseSpec,
    Comparison,
    Environment,
    LatencySummary,
    ParamStats,
    RunResult,
)


@dataclass(frozen=True)
class DeviceKey:
    hostname: str
    cpu_model: str
    device_model: str | None
    # An emulated run is never the same device as a native one on the same machine: its
    # numbers describe the emulator, and must not be merged with the host's own.
    emulated: bool = False

    @classmethod
    def of(cls, env: Environment) -> DeviceKey:
        return cls(env.hostname, env.cpu_model, env.device_model, bool(env.emulation))


@dataclass(eq=False)
class Device:
    key: DeviceKey
    label: str
    anchor: str
    env: Environment  # from the newest run on this device
    runs: list[RunRef] = field(default_factory=list)


@dataclass(eq=False)
class RunRef:
    index: int
    source: str  # the file name as given, or "run N" for in-memory results
    path: Path | None
    run: RunResult
    device: Device | None = None


# Rows of the matrix: one per (model, batch, size axis, input size, resize method).
MatrixKey = tuple[str, int, str | None, float | None, str | None]


@dataclass(eq=False)
class Entry:
    """One CaseResult in its context (which run, which device)."""

    uid: str  # unique, HTML-id safe
    case: CaseResult
    run: RunRef
    device: Device

    @property
    def spec(self) -> CaseSpec:
        return self.case.spec

    @property
    def model(self) -> str:
        return self.case.spec.model

    @property
    def backend(self) -> str:
        return self.case.spec.backend

    @property
    def status(self) -> str:
        return self.case.status

    @property
    def summary(self) -> LatencySummary | None:
        return self.case.latency.summary if self.case.latency is not None else None

    @property
    def median_ms(self) -> float | None:
        s = self.summary
        return s.median_ms if s is not None else None

    @property
    def samples_ms(self) -> list[float]:
        return list(self.case.latency.samples_ms) if self.case.latency is not None else []

    @property
    def has_latency(self) -> bool:
        return self.summary is not None and len(self.samples_ms) > 0

    @property
    def matrix_key(self) -> MatrixKey:
        s = self.case.spec
        return (s.model, s.batch_size, s.size_axis, s.input_size, s.resize)

    @property
    def energy_j(self) -> float | None:
        """Energy per inference: net of idle when known, else gross."""
        e = self.case.energy
        if e is None:
            return None
        return e.net_j_per_inference if e.net_j_per_inference is not None else e.gross_j_per_inference

    @property
    def achieved_flops_s(self) -> float | None:
        """Achieved FLOP/s: the stored roofline figure, else FLOPs of one forward / median time."""
        if self.case.roofline is not None:
            return self.case.roofline.achieved_flops_s
        if self.case.flops is None or self.median_ms is None or self.median_ms <= 0:
            return None
        return self.case.flops.flops / (self.median_ms / 1000.0)

    @property
    def label(self) -> str:
        return f"{self.device.label} \u00b7 {self.case.spec.label}"


@dataclass(eq=False)
class ComparisonView:
    comparison: Comparison
    run: RunRef
    device: Device
    baseline: Entry | None
    candidate: Entry | None
    computed: bool = False  # True: the run stored none, the report derived it from the samples


@dataclass(eq=False)
class ModelInfo:
    name: str
    anchor: str
    entries: list[Entry]

    @property
    def source(self) -> str:
        return self.entries[0].spec.source

    @property
    def modality(self) -> str:
        return self.entries[0].spec.modality

    @property
    def size_axis(self) -> str | None:
        axes = [e.spec.size_axis for e in self.entries if e.spec.size_axis]
        return axes[0] if axes else None

    @property
    def sizes(self) -> list[float | None]:
        vals = {e.spec.input_size for e in self.entries}
        return sorted(vals, key=lambda v: (v is None, v if v is not None else 0.0))

    @property
    def batches(self) -> list[int]:
        return sorted({e.spec.batch_size for e in self.entries})

    @property
    def backends(self) -> list[str]:
        return sorted({e.backend for e in self.entries}, key=backend_order)

    @property
    def params(self) -> ParamStats | None:
        for e in self.entries:
            if e.case.params is not None:
                return e.case.params
        return None

    def flops_per_item(self) -> dict[float | None, int]:
        """FLOPs of one item at each input size (the counter's figure at the case's batch / batch)."""
        out: dict[float | None, int] = {}
        for e in self.entries:
            if e.case.flops is not None and e.spec.input_size not in out:
                out[e.spec.input_size] = e.case.flops.flops_per_item
        return dict(sorted(out.items(), key=lambda kv: (kv[0] is None, kv[0] or 0.0)))

    @property
    def reference_size(self) -> float | None:
        """The input size most cases ran at (ties: the largest, usually the model's default)."""
        counts: dict[float | None, int] = {}
        for e in self.entries:
            counts[e.spec.input_size] = counts.get(e.spec.input_size, 0) + 1
        return max(counts, key=lambda v: (counts[v], v if v is not None else float("-inf")))

    @property
    def reference_batch(self) -> int:
        return self.batches[0]


@dataclass(eq=False)
class ReportData:
    runs: list[RunRef]
    devices: list[Device]
    entries: list[Entry]
    models: list[ModelInfo]
    comparisons: list[ComparisonView]
    bad_files: list[ResultsFileError] = field(default_factory=list)

    @property
    def emulated_devices(self) -> list[Device]:
        """Devices whose runs executed under CPU emulation: their numbers are not representative."""
        return [d for d in self.devices if d.key.emulated]

    def matrix(self) -> dict[MatrixKey, dict[tuple[int, str], list[Entry]]]:
        """Matrix key -> (device index, backend) -> entries (newest run first)."""
        dev_index = {id(d): i for i, d in enumerate(self.devices)}
        out: dict[MatrixKey, dict[tuple[int, str], list[Entry]]] = {}
        for e in self.entries:
            cell = out.setdefault(e.matrix_key, {}).setdefault((dev_index[id(e.device)], e.backend), [])
            cell.append(e)
        for cells in out.values():
            for lst in cells.values():
                lst.sort(key=lambda e: e.run.run.created_at, reverse=True)
        return dict(sorted(out.items(), key=lambda kv: _matrix_sort(kv[0])))

    def comparison_for(self, baseline: Entry | None, candidate: Entry | None) -> ComparisonView | None:
        for cv in self.comparisons:
            if cv.baseline is baseline and cv.candidate is candidate:
                return cv
        return None


def _matrix_sort(key: MatrixKey) -> tuple[str, str, str, float, str, int]:
    model, batch, axis, size, resize = key
    return (model.lower(), model, axis or "", size if size is not None else -1.0, resize or "", batch)


# ----------------------------------------------------------------------------- merging


def merge_results(
    results: Sequence[tuple[Path, RunResult]] | Sequence[RunResult],
    bad_files: Iterable[ResultsFileError] = (),
) -> ReportData:
    runs = _run_refs(results)
    if not runs:
        raise BenchError("Nothing to report: no results were given (or none could be read).")
    devices = _devices(runs)
    entries: list[Entry] = []
    for run in runs:
        assert run.device is not None
        for ci, case in enumerate(run.run.cases):
            entries.append(Entry(uid=f"c{run.index}-{ci}", case=case, run=run, device=run.device))
    entries.sort(key=lambda e: (e.model.lower(), e.model, e.spec.size_axis or "",
                                e.spec.input_size if e.spec.input_size is not None else -1.0,
                                e.spec.batch_size, e.device.label, backend_order(e.backend)))
    by_model: dict[str, list[Entry]] = {}
    for e in entries:
        by_model.setdefault(e.model, []).append(e)
    models = [ModelInfo(name=m, anchor=slug(m, "model-"), entries=es)
              for m, es in sorted(by_model.items(), key=lambda kv: (kv[0].lower(), kv[0]))]
    comparisons = _comparisons(runs, entries)
    return ReportData(runs=runs, devices=devices, entries=entries, models=models,
                      comparisons=comparisons, bad_files=list(bad_files))


def _run_refs(results: Iterable[tuple[Path, RunResult] | RunResult]) -> list[RunRef]:
    refs = []
    for i, item in enumerate(results):
        if isinstance(item, RunResult):
            refs.append(RunRef(index=i, source=f"run {i + 1} ({item.run_id})", path=None, run=item))
        else:
            path, run = item
            if not isinstance(run, RunResult):
                raise TypeError(f"expected (Path, RunResult), got {type(run).__name__}")
            refs.append(RunRef(index=i, source=str(path), path=Path(path), run=run))
    return refs


def _devices(runs: list[RunRef]) -> list[Device]:
    by_key: dict[DeviceKey, list[RunRef]] = {}
    for r in runs:
        by_key.setdefault(DeviceKey.of(r.run.environment), []).append(r)
    devices = []
    for key, rs in by_key.items():
        newest = max(rs, key=lambda r: r.run.created_at)
        label = short_device_name(newest.run.environment)
        if key.emulated:
            label = f"{label} ({newest.run.environment.machine}, emulated)"
        devices.append(Device(key=key, label=label, anchor="",
                              env=newest.run.environment, runs=rs))
    _make_labels_unique(devices)
    devices.sort(key=lambda d: d.label.lower())
    for i, d in enumerate(devices):
        d.anchor = f"device-{i + 1}"
        for r in d.runs:
            r.device = d
    return devices


def short_device_name(env: Environment) -> str:
    """A short human name: the board model (Pi, Jetson) when known, else the CPU's."""
    if env.device_model:
        name = re.sub(r"\s+Rev\s+[\w.]+$", "", env.device_model.strip())
        name = re.sub(r"^NVIDIA\s+", "", name)
        name = re.sub(r"\s+Developer Kit$", "", name)
        return name or env.hostname
    return short_cpu_name(env.cpu_model) or env.hostname


def short_cpu_name(cpu: str) -> str:
    s = re.sub(r"\((R|TM|tm|r)\)", "", cpu)
    s = re.sub(r"\s+@\s+[\d.]+\s*GHz", "", s)
    s = re.sub(r"\b(CPU|Processor|\d+(st|nd|rd|th) Gen|with Radeon Graphics|[\d]+-Core)\b", "", s)
    s = re.sub(r"^(Intel|AMD)\s+", "", s.strip())
    return re.sub(r"\s+", " ", s).strip()


def _make_labels_unique(devices: list[Device]) -> None:
    def dupes() -> dict[str, list[Device]]:
        seen: dict[str, list[Device]] = {}
        for d in devices:
            seen.setdefault(d.label, []).append(d)
        return {k: v for k, v in seen.items() if len(v) > 1}

    for ds in dupes().values():
        for d in ds:
            d.label = f"{d.label} ({d.key.hostname})"
    for ds in dupes().values():
        for n, d in enumerate(ds[1:], start=2):
            d.label = f"{d.label} #{n}"


# ----------------------------------------------------------------------------- comparisons


def _comparisons(runs: list[RunRef], entries: list[Entry]) -> list[ComparisonView]:
    by_case: dict[tuple[int, str], Entry] = {(e.run.index, e.case.id): e for e in entries}
    out: list[ComparisonView] = []
    stored_pairs: set[tuple[int, int]] = set()
    for run in runs:
        assert run.device is not None
        for comp in run.run.comparisons:
            base = by_case.get((run.index, comp.baseline_case))
            cand = by_case.get((run.index, comp.candidate_case))
            out.append(ComparisonView(comparison=comp, run=run, device=run.device, baseline=base, candidate=cand))
            if base is not None and cand is not None:
                stored_pairs.add((id(base), id(cand)))
    # Runs that stored no comparison for a baseline/other pair: derive it from the raw samples.
    groups: dict[tuple, dict[str, Entry]] = {}
    for e in entries:
        if not e.has_latency:
            continue
        groups.setdefault((e.run.index, *pair_key(e.spec)), {})[e.backend] = e
    for by_backend in groups.values():
        base = by_backend.get(BASELINE_BACKEND)
        if base is None:
            continue
        for backend, cand in by_backend.items():
            if backend == BASELINE_BACKEND or (id(base), id(cand)) in stored_pairs:
                continue
            out.append(ComparisonView(comparison=compare_pair(base.case, cand.case), run=base.run,
                                      device=base.device, baseline=base, candidate=cand, computed=True))
    return out
