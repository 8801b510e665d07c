"""Backend comparisons within one run: each non-eager backend against eager for the same
model, device, batch, input size (and its axis) and dtype, as a ratio of medians with a
bootstrap CI.

`compare_pair` is the one place a pair is compared: the runner stores its comparisons through
`new_comparisons` (after each case, only the pairs that case completes), the report derives
the missing ones from the samples with it, and the test fixtures are written with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

from suite import stats
from suite.results.flags import RATIO, flag
from suite.results.schema import (
    REFERENCE_BACKEND,
    CaseResult,
    CaseSpec,
    Comparison,
    Flag,
    LatencyResult,
)

BASELINE = REFERENCE_BACKEND  # eager: every other backend is compared with it

PairKey = tuple[str, str, int, str | None, float | None, str, str | None]


def parity_flag(baseline_backend: str) -> Flag:
    """The flag a comparison carries when its candidate failed the parity check."""
    return flag("parity_failed", f"the candidate's outputs differ from {baseline_backend}'s", metrics=(RATIO,))


def pair_key(spec: CaseSpec) -> PairKey:
    """What a baseline and a candidate case share: everything but the backend (and threads)."""
    return (spec.model, spec.device, spec.batch_size, spec.size_axis, spec.input_size, spec.dtype, spec.resize)


def compare_pair(base: CaseResult, cand: CaseResult, level: float = 0.95) -> Comparison:
    """`cand` against `base`: ratio of median latencies (cand / base), its percentile-bootstrap CI,
    the two-sided Mann-Whitney p and whether both call it significant. Both must have timings."""
    if base.latency is None or cand.latency is None:
        raise ValueError("compare_pair needs two cases with latency samples")
    a, b = base.latency.samples_ms, cand.latency.samples_ms
    rounds = paired_rounds(base, cand)
    if rounds is not None:
        ratio, lo, hi = stats.paired_ratio_ci(rounds, level=level)
        paired = _Paired(ci_method=PAIRED, paired_rounds=sum(len(r) for r in rounds))
    else:
        ratio, lo, hi = stats.bootstrap_ratio_ci(a, b, level=level)
        paired = _Paired()
    p = stats.mann_whitney_p(a, b)
    s = cand.spec
    return Comparison(
        model=s.model, device=s.device, batch_size=s.batch_size, input_size=s.input_size,
        baseline_backend=base.spec.backend, candidate_backend=s.backend, baseline_case=base.id,
        candidate_case=cand.id, ratio=ratio, ci_low=lo, ci_high=hi, ci_level=level, p_value=p,
        significant=stats.is_significant(lo, hi, p),
        flags=[parity_flag(base.spec.backend)] if cand.status == "parity_failed" else [],
        **paired, **accuracy_change(base, cand),
    )


class _Paired(TypedDict, total=False):
    ci_method: str
    paired_rounds: int


class _AccuracyChange(TypedDict, total=False):
    accuracy_delta: float
    changed_predictions: int
    mcnemar_p: float


PAIRED = "paired rounds (hierarchical bootstrap: processes, then rounds)"


def paired_rounds(base: CaseResult, cand: CaseResult) -> list[list[float]] | None:
    """Per worker process, the candidate/baseline ratio of each interleaved round (the two ran in
    alternating rounds in that process); None when they were not interleaved together."""
    lb, lc = base.latency, cand.latency
    if (lb is None or lc is None or not lb.round_sizes or not lc.round_sizes
            or base.spec.backend not in (lc.interleaved_with or []) or lb.repeats != lc.repeats):
        return None
    out: list[list[float]] = []
    for b_rounds, c_rounds in zip(_rounds_by_process(lb), _rounds_by_process(lc)):
        n = min(len(b_rounds), len(c_rounds))  # a backend dropped mid-way pairs its rounds so far
        if n:
            out.append(stats.paired_round_ratios(b_rounds[:n], c_rounds[:n]))
    return out or None


def _rounds_by_process(latency: LatencyResult) -> list[list[list[float]]]:
    rounds = stats.split_runs(latency.samples_ms, latency.round_sizes or [])
    sizes = latency.process_sizes or [len(latency.samples_ms)]
    out: list[list[list[float]]] = []
    i = 0
    for size in sizes:
        taken, mine = 0, []
        while taken < size:
            mine.append(rounds[i])
            taken += len(rounds[i])
            i += 1
        out.append(mine)
    return out


def accuracy_change(base: CaseResult, cand: CaseResult) -> _AccuracyChange:
    """Candidate minus baseline accuracy, scored on the same samples; with per-sample outcomes,
    the predictions that changed and the exact McNemar test of the change."""
    a, b = base.accuracy, cand.accuracy
    if a is None or b is None or a.metric != b.metric or a.dataset_hash != b.dataset_hash or a.samples != b.samples:
        return _AccuracyChange()
    out = _AccuracyChange(accuracy_delta=b.value - a.value)
    if a.predictions and b.predictions and a.right and b.right:
        changed, _, _, p = stats.paired_change(a.predictions, b.predictions, a.right, b.right)
        out["changed_predictions"], out["mcnemar_p"] = changed, p
    return out


def new_comparisons(cases: Iterable[CaseResult], existing: Iterable[Comparison],
                    level: float = 0.95) -> list[Comparison]:
    """The comparisons among `cases` that `existing` does not hold yet (matched by case ids): the
    runner adds these after each case instead of bootstrapping every pair of the run again."""
    done = {(c.baseline_case, c.candidate_case) for c in existing}
    cases = [c for c in cases if c.latency is not None and c.status in ("ok", "parity_failed")]
    baselines = {pair_key(c.spec): c for c in cases if c.spec.backend == BASELINE}
    out = []
    for cand in cases:
        if cand.spec.backend == BASELINE:
            continue
        base = baselines.get(pair_key(cand.spec))
        if base is None or (base.id, cand.id) in done:
            continue
        out.append(compare_pair(base, cand, level=level))
    return out
