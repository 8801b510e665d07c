"""Compare two results files case by case: did the candidate get slower (or hungrier)?

For each case present in both files (matched on model, backend, batch size, input size, dtype
and device), the change is the ratio of medians candidate/baseline with a percentile-bootstrap
confidence interval and a Mann-Whitney U test, all from `suite.stats`. A regression is a change
that is significant (the interval excludes 1 and p < alpha) and larger than the threshold.

As a gate (`bench compare`'s exit status) the candidate also fails when a case the baseline
measured is missing from it or failed in it: a candidate whose every case crashed has no
regression to show, and must not pass for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeGuard

from suite import stats
from suite.errors import BenchError
from suite.report.format import fmt_num
from suite.results.io import load_results
from suite.results.schema import CaseResult, RunResult

Metric = Literal["latency", "energy", "paced"]
METRICS: tuple[Metric, ...] = ("latency", "energy", "paced")
DEFAULT_THRESHOLD = 0.05
DEFAULT_ALPHA = 0.05

Verdict = Literal["regression", "improvement", "within threshold", "no significant change", "not comparable"]

CaseKey = tuple[str, str, int, str | None, float | None, str, str]


def case_key(c: CaseResult) -> CaseKey:
    s = c.spec
    return (s.model, s.backend, s.batch_size, s.size_axis, s.input_size, s.dtype, s.device)


def key_label(k: CaseKey) -> str:
    model, backend, batch, axis, size, dtype, device = k
    parts = [model, backend, f"batch {batch}"]
    if size is not None:
        v = fmt_num(size)
        parts.append(f"{axis}={v}" if axis else f"size {v}")
    if dtype != "float32":
        parts.append(dtype)
    if device != "cpu":
        parts.append(device)
    return " \u00b7 ".join(parts)


@dataclass(frozen=True)
class CaseChange:
    key: CaseKey
    label: str
    metric: Metric
    unit: str  # "ms" or "J"
    baseline: float | None  # median (ms) or energy per inference (J)
    candidate: float | None
    ratio: float | None  # candidate / baseline
    ci_low: float | None
    ci_high: float | None
    ci_level: float
    p_value: float | None
    significant: bool
    verdict: Verdict
    notes: tuple[str, ...] = ()

    @property
    def change(self) -> float | None:
        """Relative change: +0.30 = 30% more time (or energy) than the baseline."""
        return None if self.ratio is None else self.ratio - 1.0


@dataclass
class CompareResult:
    baseline: str
    candidate: str
    metric: Metric
    threshold: float
    alpha: float
    changes: list[CaseChange]
    only_in_baseline: list[str] = field(default_factory=list)
    only_in_candidate: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Cases the baseline measured that the candidate lacks, or holds without a measurement
    # (failed, timed out, parity failed): "label (status: message)".
    missing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def gate_failed(self) -> bool:
        """What `bench compare` exits 1 for: a regression, or a baseline case missing or failed."""
        return bool(self.regressions or self.missing or self.failed)

    @property
    def regressions(self) -> list[CaseChange]:
        return [c for c in self.changes if c.verdict == "regression"]

    @property
    def improvements(self) -> list[CaseChange]:
        return [c for c in self.changes if c.verdict == "improvement"]


def compare_runs(
    baseline: RunResult,
    candidate: RunResult,
    *,
    metric: str = "latency",
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    level: float = 0.95,
    baseline_name: str = "baseline",
    candidate_name: str = "candidate",
) -> CompareResult:
    if not _is_metric(metric):
        raise BenchError(f"Unknown metric '{metric}': choose from {', '.join(METRICS)}.")
    if not (0.0 <= threshold < 10.0):
        raise BenchError(f"The threshold is a relative change (0.05 = 5%); got {threshold}.")
    if not (0.0 < alpha < 1.0):
        raise BenchError(f"alpha must be between 0 and 1; got {alpha}.")
    base = _group(baseline.cases)
    cand = _group(candidate.cases)
    common = [k for k in base if k in cand]
    if not any(_measured(cs) for cs in base.values()):
        # Nothing the gate could hold the candidate to (an empty or all-failed baseline). A
        # candidate lacking the baseline's cases, even all of them, is the gate's "missing" (exit 1).
        raise BenchError(
            f"{baseline_name} holds no measured case ({len(baseline.cases)} case(s), none with status ok): "
            "nothing to compare the candidate against. Give the results file of a run that measured its cases.")
    if metric == "paced":
        for name, run in ((baseline_name, baseline), (candidate_name, candidate)):
            if not any(c.paced is not None for c in run.cases):
                raise BenchError(f"{name} holds no paced calls (its run had no --rate); --metric paced has nothing "
                                 "to compare. Compare latency, or compare runs made with --rate.")
    if metric == "energy":
        for name, run in ((baseline_name, baseline), (candidate_name, candidate)):
            if run is candidate and not common:
                continue  # nothing of the candidate's is compared: its cases are missing, listed below
            if not any(c.energy is not None for c in run.cases):
                raise BenchError(f"{name} holds no energy figure (its run measured none: energy disabled, or no "
                                 "meter worked); --metric energy has nothing to compare. Compare latency, or "
                                 "compare runs made with energy enabled.")
    result = CompareResult(
        baseline=baseline_name, candidate=candidate_name, metric=metric, threshold=threshold, alpha=alpha,
        changes=[_change(k, base[k], cand[k], metric, threshold, alpha, level) for k in common],
        only_in_baseline=[key_label(k) for k in base if k not in cand],
        only_in_candidate=[key_label(k) for k in cand if k not in base],
        missing=[key_label(k) for k in base if k not in cand and _measured(base[k])],
        failed=[_failure(k, cand[k]) for k in common if _measured(base[k]) and not _measured(cand[k])],
    )
    if not common:
        result.warnings.append(
            f"{baseline_name} and {candidate_name} have no case in common (cases are matched on model, backend, batch "
            "size, input size, dtype and device)" + (f": {candidate_name} holds no case at all" if not candidate.cases
                                                     else "; are these the two files you meant?"))
    be, ce = baseline.environment, candidate.environment
    if (be.hostname, be.cpu_model, be.device_model) != (ce.hostname, ce.cpu_model, ce.device_model):
        result.warnings.append(
            f"The two files come from different machines ({be.hostname}: {be.cpu_model} vs {ce.hostname}: "
            f"{ce.cpu_model}): the changes mix the code change with the hardware difference.")
    emulated = [f"{name} ({env.emulation})" for name, env in ((baseline_name, be), (candidate_name, ce))
                if env.emulation]
    if emulated:
        result.warnings.append(
            f"{' and '.join(emulated)} ran under CPU emulation: its timings measure the emulator, not a device, "
            "and the changes say nothing about the code's speed on real hardware.")
    order = {"regression": 0, "improvement": 1, "within threshold": 2, "no significant change": 3,
             "not comparable": 4}
    result.changes.sort(key=lambda c: (order[c.verdict], -(c.change or 0.0), c.label))
    return result


def compare_files(baseline: str | Path, candidate: str | Path, *, metric: str = "latency",
                  threshold: float = DEFAULT_THRESHOLD, alpha: float = DEFAULT_ALPHA, level: float = 0.95) -> CompareResult:
    b, c = Path(baseline), Path(candidate)
    return compare_runs(load_results(b), load_results(c), baseline_name=str(b), candidate_name=str(c), metric=metric,
                        threshold=threshold, alpha=alpha, level=level)


# ----------------------------------------------------------------------------- internals


def _is_metric(name: str) -> TypeGuard[Metric]:
    return name in METRICS


def _group(cases: Sequence[CaseResult]) -> dict[CaseKey, list[CaseResult]]:
    out: dict[CaseKey, list[CaseResult]] = {}
    for c in cases:
        out.setdefault(case_key(c), []).append(c)
    return out


def _measured(cases: list[CaseResult]) -> bool:
    """Whether one of these repeats of a case finished with its measurement (status ok)."""
    return any(c.status == "ok" for c in cases)


def _failure(key: CaseKey, cases: list[CaseResult]) -> str:
    c = cases[0]
    why = f": {' '.join(c.error.message.split())[:120]}" if c.error is not None else ""
    return f"{key_label(key)} ({c.status}{why})"


# A case that has timings, with them.
Timed = tuple[CaseResult, list[float]]


def _timed(cases: list[CaseResult], metric: Metric = "latency") -> list[Timed]:
    if metric == "paced":  # the calls at the fixed rate (--rate), idle between them
        return [(c, c.paced.samples_ms) for c in cases if c.paced is not None and c.paced.samples_ms]
    return [(c, c.latency.samples_ms) for c in cases if c.latency is not None and c.latency.samples_ms]


def _latency_samples(timed: list[Timed]) -> list[float]:
    # Repeats of one configuration in one file (an interleaved run) are pooled.
    return [v for _, samples in timed for v in samples]


def _energy_samples(timed: list[Timed], net: bool) -> tuple[list[float], float] | None:
    """Per-inference energy samples, derived from the latency samples at the case's power.

    A meter gives one energy figure per case, not one per call, so there is nothing to
    bootstrap directly. Assuming constant power over the case, the energy of call i is
    E x t_i / median(t): the median of these is exactly the measured E, and their spread is the
    timing spread. Power noise is therefore not in the interval (it is usually the smaller
    part for counters; for estimates there is none to add).
    """
    out: list[float] = []
    for c, t in timed:
        e = c.energy
        if e is None:
            return None
        value = e.net_j_per_inference if net else e.gross_j_per_inference
        if value is None:
            return None
        med = stats.percentile(t, 50)
        out += [value * x / med for x in t]
    if not out:
        return None
    return out, stats.percentile(out, 50)


def _change(key: CaseKey, base: list[CaseResult], cand: list[CaseResult], metric: Metric, threshold: float,
            alpha: float, level: float) -> CaseChange:
    label = key_label(key)
    notes: list[str] = []
    unit = "J" if metric == "energy" else "ms"
    for side, cases in (("baseline", base), ("candidate", cand)):
        if len(cases) > 1:
            notes.append(f"{side}: {len(cases)} repeats pooled")
        if any(c.status == "parity_failed" for c in cases):
            notes.append(f"{side} failed the parity check")
        threads = {c.spec.threads for c in cases}
        if side == "candidate" and threads != {c.spec.threads for c in base}:
            notes.append(f"threads differ ({', '.join(map(str, sorted({c.spec.threads for c in base})))} vs "
                         f"{', '.join(map(str, sorted(threads)))})")

    def not_comparable(reason: str, b: float | None = None, c: float | None = None) -> CaseChange:
        return CaseChange(key, label, metric, unit, b, c, None, None, None, level, None, False, "not comparable",
                          tuple(notes + [reason]))

    tb, tc = _timed(base, metric), _timed(cand, metric)
    if metric == "paced" and tb and tc:
        rates = ({c.paced.rate_hz for c, _ in tb if c.paced}, {c.paced.rate_hz for c, _ in tc if c.paced})
        if rates[0] != rates[1]:
            return not_comparable(f"paced at different rates ({'/'.join(f'{r:g}' for r in sorted(rates[0]))} vs "
                                  f"{'/'.join(f'{r:g}' for r in sorted(rates[1]))} per second)")
    if not tb or not tc:
        which = "baseline" if not tb else "candidate"
        errors = [c.error for c in (base if which == "baseline" else cand) if c.error is not None]
        why = f": {errors[0].message}" if errors else ""
        return not_comparable(f"{which} has no timings ({(base if which == 'baseline' else cand)[0].status}{why})")

    if metric in ("latency", "paced"):
        a, b = _latency_samples(tb), _latency_samples(tc)
        a_med, b_med = stats.percentile(a, 50), stats.percentile(b, 50)
    else:
        methods = ({c.energy.method for c, _ in tb if c.energy}, {c.energy.method for c, _ in tc if c.energy})
        net = all(c.energy is not None and c.energy.net_j_per_inference is not None for c, _ in tb + tc)
        ea, eb = _energy_samples(tb, net), _energy_samples(tc, net)
        if ea is None or eb is None:
            return not_comparable(f"{'baseline' if ea is None else 'candidate'} has no energy figure")
        if methods[0] != methods[1]:
            return not_comparable(f"energy obtained differently ({'/'.join(sorted(methods[0]))} vs "
                                  f"{'/'.join(sorted(methods[1]))}): not comparable", ea[1], eb[1])
        if "estimated" in methods[0]:
            notes.append("energy is estimated on both sides: it follows latency, not a measurement")
        if not net:
            notes.append("gross energy: no idle power on one side")
        (a, a_med), (b, b_med) = ea, eb

    ratio, lo, hi = stats.bootstrap_ratio_ci(a, b, level=level)
    p = stats.mann_whitney_p(a, b)
    significant = stats.is_significant(lo, hi, p, alpha=alpha)
    if not significant:
        verdict: Verdict = "no significant change"
    elif ratio > 1.0 + threshold:
        verdict = "regression"
    elif ratio < 1.0 - threshold:
        verdict = "improvement"
    else:
        verdict = "within threshold"
    return CaseChange(key, label, metric, unit, a_med, b_med, ratio, lo, hi, level, p, significant, verdict,
                      tuple(notes))
