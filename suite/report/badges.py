"""Flags as the report shows them: badges beside the numbers they qualify.

The run stores typed flags (suite/results/flags.py: kind, severity, metrics, detail); the report
adds the ones its status implies (failed, skipped, parity failed, interrupted) and the ones only
a sweep shows (latency falling while the work grows). Each flag names the columns ("slots") it
qualifies: a parity failure marks every number of that backend's case, estimated energy only
the energy figures, high variance only the latency figures. The report reads kinds, never the
words of a detail, and shows one badge per kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from suite.report.format import fmt_ms, fmt_size
from suite.report.merge import Entry, ReportData
from suite.results.ceilings import above_roof, case_roofs_implausible
from suite.results.flags import kind_of
from suite.results.schema import Flag as StoredFlag
from suite.results.schema import RooflineResult
from suite.stats import is_monotonic_increasing

# A drop in latency smaller than this (relative) when the batch or input grows is read as
# noise, not as broken scaling: medians of two configurations often differ by a few percent.
NON_MONOTONIC_TOLERANCE = 0.05

# Slots a flag can qualify.
LATENCY = "latency"
ENERGY = "energy"
STATUS = "status"
RATIO = "ratio"
ROOF = "roof"  # the case's % of roof
ALL_NUMBERS = frozenset({LATENCY, ENERGY, STATUS, RATIO, ROOF})


@dataclass(frozen=True)
class Flag:
    kind: str  # a kind of suite/results/flags.py (stored by the run, or derived here from the status)
    code: str  # short tag for Markdown and CSV
    label: str  # words on the badge
    detail: str  # one or two sentences: what and why it matters
    severity: str  # "bad" (do not trust), "warn" (read with care), "info"
    slots: frozenset[str]

    def applies(self, slot: str | None) -> bool:
        return slot is not None and slot in self.slots


# Which report slots a stored flag's metrics reach ("case": every number of the case).
_SLOTS = {"latency": frozenset({LATENCY}), "energy": frozenset({ENERGY}), "ratio": frozenset({RATIO}),
          "case": ALL_NUMBERS, "memory": frozenset(), "accuracy": frozenset(), "roofline": frozenset({ROOF})}


def _derived(kind: str, detail: str, slots: frozenset[str] | None = None) -> Flag:
    k = kind_of(kind)
    return Flag(kind, k.code, k.label, detail, k.severity, slots if slots is not None else frozenset({STATUS}))


def from_stored(flags: Iterable[StoredFlag]) -> list[Flag]:
    """Stored flags as badges: one per kind (one reason, one badge), the details of several
    flags of one kind joined, reaching the slots of all their metrics."""
    by_kind: dict[str, list[StoredFlag]] = {}
    for f in flags:
        by_kind.setdefault(f.kind, []).append(f)
    out = []
    order = {"bad": 3, "warn": 2, "info": 1}
    for kind, fs in by_kind.items():
        k = kind_of(kind)
        details = list(dict.fromkeys(f.detail.rstrip(".") for f in fs))
        slots = frozenset().union(*(_SLOTS.get(m, frozenset()) for f in fs for m in f.metrics)) or frozenset({STATUS})
        severity = max((f.severity for f in fs), key=lambda s: order.get(s, 0))
        meaning = f" {k.explains}" if k.explains else ""
        out.append(Flag(kind, k.code, k.label, "; ".join(details) + "." + meaning, severity, slots))
    return out


def compute_flags(data: ReportData) -> dict[str, list[Flag]]:
    """Flags per entry uid."""
    out: dict[str, list[Flag]] = {e.uid: list(case_flags(e)) for e in data.entries}
    for uid, flag in _non_monotonic(data.entries):
        out[uid].append(flag)
    for uid, flag in _version_mismatch(data.entries):
        out[uid].append(flag)
    return out


# The libraries a cross-device comparison depends on (Environment.packages names).
VERSIONED_PACKAGES = ("torch", "onnxruntime", "transformers")


def _public_version(v: str) -> str:
    """2.14.1+cpu -> 2.14.1: a wheel index's build label is the same release of the library."""
    return v.split("+", 1)[0]


def _version_mismatch(entries: list[Entry]) -> Iterable[tuple[str, Flag]]:
    """A case whose matrix row holds another device that ran other library versions: the two
    devices' numbers side by side compare the libraries too. Only packages both runs recorded."""
    rows: dict[tuple, list[Entry]] = {}
    for e in entries:
        rows.setdefault(e.matrix_key, []).append(e)
    for es in rows.values():
        for e in es:
            mine = e.run.run.environment.packages
            diffs: list[str] = []
            for other in es:
                if other.device is e.device:
                    continue
                theirs = other.run.run.environment.packages
                for name in VERSIONED_PACKAGES:
                    a, b = mine.get(name), theirs.get(name)
                    if a is None or b is None or _public_version(a) == _public_version(b):
                        continue
                    text = f"{name} {_public_version(a)} here, {_public_version(b)} on {other.device.label}"
                    if text not in diffs:
                        diffs.append(text)
            if diffs:
                yield e.uid, _derived("version_mismatch", "Library versions differ across devices: "
                                      + "; ".join(diffs) + ".", frozenset({LATENCY, RATIO}))


def case_flags(e: Entry) -> Iterable[Flag]:
    """The case's status as a flag, then what the run stored (by kind, never by words)."""
    c = e.case
    if c.status == "failed":
        err = c.error
        msg = f"{err.kind}: {err.message}" if err is not None else "no error recorded"
        yield _derived("failed", f"The case failed ({msg}).")
    elif c.status == "skipped":
        why = c.error.message if c.error is not None else "no reason recorded"
        yield _derived("skipped", f"The case was skipped ({why}).")
    elif c.status == "parity_failed":
        detail = f"{e.backend} outputs differ from the reference backend"
        if c.parity is not None and c.parity.non_finite:
            detail = f"{e.backend} and {c.parity.reference_backend} outputs hold {c.parity.non_finite} NaN/inf values"
        elif c.parity is not None:
            p = c.parity
            detail = (f"{e.backend} outputs differ from {p.reference_backend}: max relative error "
                      f"{p.max_rel_error:.2g} > tolerance {p.tolerance:.2g}")
        elif c.error is not None:
            detail = c.error.message
        yield _derived("parity_failed", f"{detail}. Its timings are of a model that computes something else: "
                       "do not compare them.", ALL_NUMBERS)
    yield from from_stored(c.flags)
    if c.roofline is not None:
        yield from _roof_flags(e, c.roofline)
    if e.run.run.interrupted:
        yield _derived("interrupted", "The run was interrupted; this case finished, later ones may be missing.")


def _roof_flags(e: Entry, r: RooflineResult) -> Iterable[Flag]:
    """A case placed under ceilings its device could not have (a damaged cache or a hand-edited
    file), or above its roof (`r`, the case's roofline): its % of roof is not a fraction of what
    the device can do."""
    stored = {f.kind for f in e.case.flags}
    why = case_roofs_implausible(e.case)
    if why is not None and "implausible_roof" not in stored:
        yield _derived("implausible_roof", f"The case's roofline: {why}. {kind_of('implausible_roof').explains}",
                       frozenset({ROOF}))
    detail = above_roof(r)
    if detail is not None and "above_roof" not in stored:
        yield _derived("above_roof", f"{detail}. {kind_of('above_roof').explains}", frozenset({ROOF}))


def latency_drops(entries: list[Entry]) -> Iterable[tuple[Entry, Entry, str]]:
    """(smaller, larger, axis) pairs of one run's series where latency fell by more than
    NON_MONOTONIC_TOLERANCE while the batch ("batch") or the input ("size") grew."""
    # A series' points: (the batch or the input size, the entry, its median)
    by_batch: dict[tuple, list[tuple[float, Entry, float]]] = {}
    by_size: dict[tuple, list[tuple[float, Entry, float]]] = {}
    for e in entries:
        median = e.median_ms
        if not e.has_latency or median is None:  # has_latency: it has a median
            continue
        s = e.spec
        by_batch.setdefault((id(e.run), s.model, s.backend, s.size_axis, s.input_size, s.dtype, s.threads, s.resize),
                            []).append((s.batch_size, e, median))
        if s.input_size is not None:
            by_size.setdefault((id(e.run), s.model, s.backend, s.batch_size, s.size_axis, s.dtype, s.threads, s.resize),
                               []).append((s.input_size, e, median))
    for series, axis in ((by_batch, "batch"), (by_size, "size")):
        for points in series.values():
            if len(points) < 2:
                continue
            points.sort(key=lambda x: x[0])
            if is_monotonic_increasing([m for _, _, m in points], tolerance=NON_MONOTONIC_TOLERANCE):
                continue
            for (_, prev, prev_ms), (_, cur, cur_ms) in pairwise(points):
                if cur_ms < prev_ms * (1 - NON_MONOTONIC_TOLERANCE):
                    yield prev, cur, axis


def _non_monotonic(entries: list[Entry]) -> Iterable[tuple[str, Flag]]:
    """Latency that falls while the batch (or the input) grows: the lab's 100x jumps."""
    for prev, cur, axis in latency_drops(entries):
        if axis == "batch":
            what = (f"batch {prev.spec.batch_size} \u2192 {cur.spec.batch_size}")
        else:
            what = (f"input {fmt_size(prev.spec.size_axis, prev.spec.input_size)} \u2192 "
                    f"{fmt_size(cur.spec.size_axis, cur.spec.input_size)}")
        yield cur.uid, _derived(
            "non_monotonic",
            f"Latency fell from {fmt_ms(prev.median_ms)} ms to {fmt_ms(cur.median_ms)} ms while the "
            f"work grew ({what}). More work should not take less time: look for throttling, "
            "swapping, a warm-up effect or another program on the machine.",
            frozenset({LATENCY}))


def worst_severity(flags: Iterable[Flag]) -> str | None:
    order = {"bad": 3, "warn": 2, "info": 1}
    best = None
    for f in flags:
        if best is None or order[f.severity] > order[best]:
            best = f.severity
    return best
