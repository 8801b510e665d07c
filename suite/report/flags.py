"""Flags: reasons to read a number with care, attached to the numbers they qualify.

Each flag names the columns ("slots") it qualifies, so the tables can put it beside exactly
those numbers: a parity failure marks every number of that backend's case, estimated energy
marks only the energy figures, high variance only the latency figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise

from suite.report.format import fmt_ms, fmt_size
from suite.report.merge import Entry, ReportData

# A drop in latency smaller than this (relative) when the batch or input grows is read as
# noise, not as broken scaling: medians of two configurations often differ by a few percent.
NON_MONOTONIC_TOLERANCE = 0.05

# Slots a flag can qualify.
LATENCY = "latency"
ENERGY = "energy"
STATUS = "status"
RATIO = "ratio"
ALL_NUMBERS = frozenset({LATENCY, ENERGY, STATUS, RATIO})


@dataclass(frozen=True)
class Flag:
    kind: str  # high_variance | few_samples | non_monotonic | throttling | condition | case_note |
    #            estimated_energy | energy_quality |
    #            energy_missing | parity_failed | failed | skipped | comparison | interrupted
    code: str  # short tag for Markdown and CSV
    label: str  # words on the badge
    detail: str  # one or two sentences: what and why it matters
    severity: str  # "bad" (do not trust), "warn" (read with care), "info"
    slots: frozenset[str]

    def applies(self, slot: str | None) -> bool:
        return slot is not None and slot in self.slots


def compute_flags(data: ReportData) -> dict[str, list[Flag]]:
    """Flags per entry uid."""
    out: dict[str, list[Flag]] = {e.uid: list(case_flags(e)) for e in data.entries}
    for uid, flag in _non_monotonic(data.entries):
        out[uid].append(flag)
    return out


def case_flags(e: Entry) -> Iterable[Flag]:
    c = e.case
    if c.status == "failed":
        err = c.error
        msg = f"{err.kind}: {err.message}" if err is not None else "no error recorded"
        yield Flag("failed", "FAILED", "failed", f"The case failed ({msg}).", "bad", frozenset({STATUS}))
    elif c.status == "skipped":
        why = c.error.message if c.error is not None else "no reason recorded"
        yield Flag("skipped", "SKIPPED", "skipped", f"The case was skipped ({why}).", "info", frozenset({STATUS}))
    elif c.status == "parity_failed":
        detail = f"{e.backend} outputs differ from the reference backend"
        if c.parity is not None:
            p = c.parity
            detail = (f"{e.backend} outputs differ from {p.reference_backend}: max relative error "
                      f"{p.max_rel_error:.2g} > tolerance {p.tolerance:.2g}")
        elif c.error is not None:
            detail = c.error.message
        yield Flag("parity_failed", "PARITY", "parity failed",
                   f"{detail}. Its timings are of a model that computes something else: do not compare them.",
                   "bad", ALL_NUMBERS)
    s = e.summary
    if s is not None and s.warnings:
        # stats.quality_warnings: "few samples" alone is not variance; say which it is.
        noisy = [w for w in s.warnings if not w.startswith("few samples")]
        if noisy:
            yield Flag("high_variance", "VAR", "high variance", "; ".join(s.warnings) + ".", "warn",
                       frozenset({LATENCY}))
        else:
            yield Flag("few_samples", "FEW", "few samples", "; ".join(s.warnings) + ".", "warn",
                       frozenset({LATENCY}))
    yield from _condition_flags(e)
    en = c.energy
    if en is not None:
        if en.method == "estimated":
            how = "; ".join(en.assumptions) if en.assumptions else f"meter {en.meter}"
            yield Flag("estimated_energy", "EST", "estimated",
                       f"Energy is an estimate, not a measurement ({how}).", "warn", frozenset({ENERGY}))
        if en.quality_flags:
            yield Flag("energy_quality", "EQ", "energy quality", "; ".join(en.quality_flags) + ".", "warn",
                       frozenset({ENERGY}))
    elif c.energy_error is not None:
        yield Flag("energy_missing", "NOE", "no energy", f"Energy not measured: {c.energy_error.message}",
                   "info", frozenset({ENERGY}))
    if e.run.run.interrupted:
        yield Flag("interrupted", "INT", "run interrupted",
                   "The run was interrupted; this case finished, later ones may be missing.", "info",
                   frozenset({STATUS}))


# Words in suite.monitor's condition flags that mean the CPU (or GPU) ran below its clock:
# "thermal throttling: ...", "soft temperature limit (vcgencmd ...)", "under-voltage (...)",
# "CPU frequency capped: ...", "CPU clock low: ...", "CPU hot: ...", "GPU clock capped: ...".
_SLOWDOWN_WORDS = ("throttl", "thermal", "temperature", "under-voltage", "undervoltage", "frequency capped",
                   "clock capped", "clock low", "cpu hot")


def _condition_flags(e: Entry) -> Iterable[Flag]:
    c = e.case
    cond_texts = list(c.conditions.flags) if c.conditions is not None else []
    texts = list(dict.fromkeys([*cond_texts, *c.flags]))
    if c.conditions is not None:
        raw = c.conditions.throttled
        if raw and _throttled_bits(raw) and not any("throttl" in t.lower() for t in texts):
            texts.append(f"throttled (vcgencmd get_throttled={raw})")
            cond_texts.append(texts[-1])
    for t in texts:
        low = t.lower()
        if any(w in low for w in _SLOWDOWN_WORDS):
            yield Flag("throttling", "THROTTLE", "throttling",
                       f"{t}: the machine ran below full speed during the case; its latency is pessimistic.",
                       "warn", frozenset({LATENCY, ENERGY}))
        elif t in cond_texts:
            # swap, other processes, hypervisor steal, a power-mode change: the timing is suspect
            yield Flag("condition", "COND", "conditions", f"{t}.", "warn", frozenset({LATENCY}))
        else:
            yield Flag("case_note", "NOTE", "note", f"{t}.", "info", frozenset({STATUS}))


def _throttled_bits(raw: str) -> bool:
    try:
        return int(raw, 0) != 0
    except ValueError:
        return False


def _non_monotonic(entries: list[Entry]) -> Iterable[tuple[str, Flag]]:
    """Latency that falls while the batch (or the input) grows: the lab's 100x jumps."""
    from suite.stats import is_monotonic_increasing

    by_batch: dict[tuple, list[Entry]] = {}
    by_size: dict[tuple, list[Entry]] = {}
    for e in entries:
        if not e.has_latency:
            continue
        s = e.spec
        by_batch.setdefault((id(e.run), s.model, s.backend, s.size_axis, s.input_size, s.dtype, s.threads),
                            []).append(e)
        if s.input_size is not None:
            by_size.setdefault((id(e.run), s.model, s.backend, s.batch_size, s.size_axis, s.dtype, s.threads),
                               []).append(e)
    for series, axis in ((by_batch, "batch"), (by_size, "size")):
        for es in series.values():
            if len(es) < 2:
                continue
            es.sort(key=lambda x: x.spec.batch_size if axis == "batch" else x.spec.input_size)
            medians = [x.median_ms for x in es]
            if is_monotonic_increasing(medians, tolerance=NON_MONOTONIC_TOLERANCE):
                continue
            for prev, cur in pairwise(es):
                if cur.median_ms < prev.median_ms * (1 - NON_MONOTONIC_TOLERANCE):
                    if axis == "batch":
                        what = (f"batch {prev.spec.batch_size} \u2192 {cur.spec.batch_size}")
                    else:
                        what = (f"input {fmt_size(prev.spec.size_axis, prev.spec.input_size)} \u2192 "
                                f"{fmt_size(cur.spec.size_axis, cur.spec.input_size)}")
                    yield cur.uid, Flag(
                        "non_monotonic", "NONMONO", "non-monotonic",
                        f"Latency fell from {fmt_ms(prev.median_ms)} ms to {fmt_ms(cur.median_ms)} ms while the "
                        f"work grew ({what}). More work should not take less time: look for throttling, "
                        "swapping, a warm-up effect or another program on the machine.",
                        "warn", frozenset({LATENCY}))


def worst_severity(flags: Iterable[Flag]) -> str | None:
    order = {"bad": 3, "warn": 2, "info": 1}
    best = None
    for f in flags:
        if best is None or order[f.severity] > order[best]:
            best = f.severity
    return best
