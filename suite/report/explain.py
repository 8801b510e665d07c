"""What a model's numbers say, in sentences, where the stored data supports them (the report's
"What the numbers say" list per model). Pure functions over merged results; nothing is measured.

* roof: a case far below its device's roofline (suite.metrics.roofline), and which roof binds;
  with a profile, suite.report.profile_explain says where the time went instead;
* batching: where per-item latency stops falling with the batch size;
* a latency curve that falls as the batch grows (a forward pass cannot do that by itself), next to
  the condition flags (swap, throttling, contention, drift) of the cases at its ends.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from suite.report.badges import Flag, latency_drops
from suite.report.figures.common import timed
from suite.report.merge import Entry, ModelInfo
from suite.report.profile_explain import (
    FAR_BELOW_ROOF,  # one threshold for "far below its roof"
)
from suite.results.ceilings import case_roofs_implausible

BATCH_GAIN = 0.10  # per-item latency improving less than this from one batch size to the next: batching stops paying
CONDITION_KINDS = frozenset({"swap", "throttling", "contention", "power_mode_change", "cooldown_timeout", "drift",
                             "process_spread", "periodic_outliers"})


Topic = Literal["roof", "batching", "non_monotonic"]


@dataclass(frozen=True)
class Explanation:
    """One sentence about a model's numbers, typed so a reader (or another explainer, such as
    suite.report.profile_explain's) can pick by topic and by the cases it is about."""

    topic: Topic
    text: str
    case_uids: tuple[str, ...] = ()  # the merged entries (Entry.uid) the sentence is about


def _series(entries: list[Entry]) -> dict[tuple[int, str, float | None, str | None], list[Entry]]:
    """Timed cases per (device, backend, input size, resize), sorted by batch size."""
    out: dict[tuple[int, str, float | None, str | None], list[Entry]] = defaultdict(list)
    for e in timed(entries):
        out[(id(e.device), e.backend, e.spec.input_size, e.spec.resize)].append(e)
    return {k: sorted(v, key=lambda e: e.spec.batch_size) for k, v in out.items()}


def _where(e: Entry, n_devices: int) -> str:
    size = "" if e.spec.input_size is None else f", {e.spec.size_axis or 'size'} {e.spec.input_size:g}"
    dev = f" on {e.device.label}" if n_devices > 1 else ""
    return f"{e.backend}{dev}{size}"


def roof_explanations(model: ModelInfo, n_devices: int = 1) -> list[Explanation]:
    out = []
    for series in _series(model.entries).values():
        e = series[-1]  # the largest batch: the best chance of reaching the roof
        r = e.case.roofline
        if r is None or r.fraction_of_roof is None or r.fraction_of_roof >= FAR_BELOW_ROOF or e.case.profile is not None:
            continue
        if r.attainable_flops_s is None or r.arithmetic_intensity is None:  # a file without them: nothing to say
            continue
        if case_roofs_implausible(e.case) is not None:  # flagged implausible_roof: nothing to explain
            continue
        bound = ("memory-bound (left of the ridge point: the bandwidth roof binds)" if r.bound == "memory"
                 else "compute-bound (right of the ridge point: the GEMM roof binds)")
        out.append(Explanation("roof", case_uids=(e.uid,), text=(
            f"{_where(e, n_devices)}: {r.fraction_of_roof:.0%} of its roof at batch {e.spec.batch_size} "
            f"({r.achieved_flops_s / 1e9:.3g} of {r.attainable_flops_s / 1e9:.3g} attainable GFLOP/s; intensity "
            f"{r.arithmetic_intensity:.3g} FLOP/byte, {bound}). The rest of the time goes to work the FLOP count "
            "does not see (small kernels, element-wise and normalisation operators, framework overhead); "
            "run with --profile to see which.")))
    return out


def batching_explanations(model: ModelInfo, n_devices: int = 1) -> list[Explanation]:
    out = []
    for series in _series(model.entries).values():
        if len(series) < 3:
            continue
        per_item = [(e.spec.batch_size, s.median_ms / e.spec.batch_size) for e in series
                    if (s := e.summary) is not None]  # all of them: the series are timed
        stop = None
        for (b0, p0), (b1, p1) in zip(per_item, per_item[1:]):
            if p1 > p0 * (1 - BATCH_GAIN):
                stop = (b0, p0, b1, p1)
                break
        first_b, first_p = per_item[0]
        where = _where(series[0], n_devices)
        if stop is None:
            last_b, last_p = per_item[-1]
            out.append(Explanation("batching", case_uids=tuple(x.uid for x in series), text=(
                f"{where}: per-item latency keeps falling up to the largest batch ({first_p:.3g} ms at batch "
                f"{first_b} to {last_p:.3g} ms at {last_b}): batching still pays at batch {last_b}.")))
        else:
            b0, p0, b1, p1 = stop
            if b0 == first_b:
                verdict = f"batching does not pay here: batch {b1} costs {p1:.3g} ms per item against {p0:.3g} ms at batch {b0}"
            else:
                then = (f"then rises (batch {b1}: {p1:.3g} ms)" if p1 > p0 else
                        f"then improves less than {BATCH_GAIN:.0%} (batch {b1}: {p1:.3g} ms)")
                verdict = (f"per-item latency falls from {first_p:.3g} ms at batch {first_b} to {p0:.3g} ms at batch "
                           f"{b0}, {then}: batching stops paying beyond batch {b0}")
            out.append(Explanation("batching", f"{where}: {verdict}.", tuple(x.uid for x in series)))
    return out


def non_monotonic_explanations(model: ModelInfo, flags: dict[str, list[Flag]], n_devices: int = 1) -> list[Explanation]:
    """The report's non_monotonic flags over the batch axis (suite.report.badges.latency_drops), with
    the condition flags of the two cases that may explain them."""
    out = []
    for a, b, axis in latency_drops(model.entries):
        if axis != "batch":
            continue
        reasons = sorted({f.label for e in (a, b) for f in flags.get(e.uid, []) if f.kind in CONDITION_KINDS})
        text = (f"{_where(a, n_devices)}: latency falls from {a.median_ms:.3g} ms at batch {a.spec.batch_size} to "
                f"{b.median_ms:.3g} ms at batch {b.spec.batch_size}, which more work per call cannot do by itself")
        if reasons:
            text += f"; these cases were flagged ({', '.join(reasons)}): the machine, not the model, moved"
        else:
            text += ("; no condition flag explains it (swap, throttling, other processes): re-run it "
                     "(bench verify) before drawing conclusions")
        out.append(Explanation("non_monotonic", text + ".", (a.uid, b.uid)))
    return out


def model_explanations(model: ModelInfo, flags: dict[str, list[Flag]], n_devices: int = 1) -> list[Explanation]:
    return [*non_monotonic_explanations(model, flags, n_devices), *roof_explanations(model, n_devices),
            *batching_explanations(model, n_devices)]
