"""The runner's side of the plan's estimate (suite/plan/wall_time.py): what is known before the run,
the plan's note, the budget's decisions, and each case's predicted beside its actual wall time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from suite.config.bench_config import BenchConfig
from suite.errors import BenchError
from suite.plan.wall_time import FORKSERVER_S, BudgetPlan, CaseEstimate, estimate_case, fit_budget
from suite.plan.sweep import PlannedCase
from suite.results.io import load_results
from suite.results.schema import CaseResult, DevicePeaks, PlanEstimate

PREVIOUS_FILES = 5  # the newest results files of the output folder the estimate learns from


def known_results(out_dir: Path, resumed: list[CaseResult]) -> list[CaseResult]:
    """Cases measured before on this machine: the resumed run's, then the output folder's newest
    results files' (unreadable ones skipped: the estimate is a help, never a reason to stop)."""
    out = list(resumed)
    files = sorted(out_dir.glob("results-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:PREVIOUS_FILES]
    for path in files:
        try:
            out += load_results(path).cases
        except (BenchError, OSError):
            continue
    return out


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


@dataclass
class Budget:
    """The plan's estimates for the cases to run, and the budget's decisions as the run goes."""

    config: BenchConfig
    estimates: dict[str, CaseEstimate]
    plan: BudgetPlan | None = None  # with a budget
    shrunk: bool = False  # the budget shortened the timed loops
    spent_s: float = 0.0
    stopped: list[str] = field(default_factory=list)  # labels of the cases left for --resume

    @classmethod
    def make(cls, config: BenchConfig, todo: list[PlannedCase], peaks: list[DevicePeaks], known: list[CaseResult],
             shrink: bool = True) -> Budget:
        estimates = [estimate_case(p, config, peaks, known) for p in todo]
        once = (FORKSERVER_S if config.isolation == "process" else 0.0) + (  # the first worker waits for the
            config.energy.min_window_s if config.energy.enabled else 0.0)  # forkserver, the run for the idle baseline
        if estimates and once:
            estimates[0] = dataclasses.replace(estimates[0], other_s=estimates[0].other_s + once)
        plan = None
        if config.budget_s is not None and shrink:
            plan = fit_budget(estimates, config.timing, config.budget_s)
        shrunk = plan is not None and plan.timing != config.timing
        if plan is not None and shrunk:
            config = config.model_copy(update={"timing": plan.timing})
            estimates = plan.estimates
        return cls(config, {e.case_id: e for e in estimates}, plan, shrunk)

    def note(self) -> str:
        total = sum(e.predicted_s for e in self.estimates.values())
        bases = sorted({e.basis for e in self.estimates.values()})
        counts = ", ".join(f"{sum(e.basis == b for e in self.estimates.values())} from {b}" for b in bases)
        text = f"Plan: {len(self.estimates)} case(s), about {_minutes(total)} in all (estimates: {counts})"
        return text + (f"; budget {_minutes(self.config.budget_s)}" if self.config.budget_s is not None else "")

    def warnings(self) -> list[str]:
        plan = self.plan
        if plan is None or not plan.lose_precision:
            return []
        t = plan.timing
        return [f"--budget: every timed loop shrinks to {t.min_time_s:.2g}-{t.max_time_s:.2g} s (at least "
                f"{t.min_iters} calls); these cases lose precision (their CI target may be missed): "
                + "; ".join(plan.lose_precision)]

    def over(self, group: list[PlannedCase]) -> bool:
        """Whether running `group` now would pass the budget (never before the first group)."""
        if self.config.budget_s is None or self.spent_s == 0.0:
            return False
        ahead = sum(self.estimates[p.spec.case_id].predicted_s for p in group if p.spec.case_id in self.estimates)
        return self.spent_s + ahead > self.config.budget_s

    def with_estimate(self, result: CaseResult) -> CaseResult:
        e = self.estimates.get(result.id)
        if e is None:
            return result
        record = PlanEstimate(basis=e.basis, predicted_s=e.predicted_s, predicted_sampling_s=e.sampling_s,
                              predicted_call_ms=e.call_s * 1e3 if e.call_s is not None else None,
                              actual_s=sum((result.phases_s or {}).values()), budget_s=self.config.budget_s,
                              timing_shrunk=self.shrunk)
        return result.model_copy(update={"estimate": record})
