"""Backend comparisons within one run: each non-eager backend against eager for the same
model, device, batch and input size, as a ratio of medians with a bootstrap CI."""

from __future__ import annotations

from collections.abc import Iterable

from suite import stats
from suite.results.schema import CaseResult, Comparison

BASELINE = "eager"


def _key(c: CaseResult) -> tuple:
    s = c.spec
    return (s.model, s.device, s.batch_size, s.input_size)


def compute_comparisons(cases: Iterable[CaseResult], level: float = 0.95) -> list[Comparison]:
    cases = [c for c in cases if c.latency is not None and c.status in ("ok", "parity_failed")]
    baselines = {_key(c): c for c in cases if c.spec.backend == BASELINE}
    out = []
    for cand in cases:
        if cand.spec.backend == BASELINE:
            continue
        base = baselines.get(_key(cand))
        if base is None:
            continue
        a, b = base.latency.samples_ms, cand.latency.samples_ms
        ratio, lo, hi = stats.bootstrap_ratio_ci(a, b, level=level)
        p = stats.mann_whitney_p(a, b)
        flags = []
        if cand.status == "parity_failed":
            flags.append("parity_failed: candidate outputs differ from eager")
        s = cand.spec
        out.append(Comparison(
            model=s.model, device=s.device, batch_size=s.batch_size, input_size=s.input_size,
            baseline_backend=BASELINE, candidate_backend=s.backend, baseline_case=base.id, candidate_case=cand.id,
            ratio=ratio, ci_low=lo, ci_high=hi, ci_level=level, p_value=p,
            significant=stats.is_significant(lo, hi, p), flags=flags,
        ))
    return out
