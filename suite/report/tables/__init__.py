"""The report's tables, built from merged results: one typed row per table (see suite.report.table
for the model and its HTML/Markdown/CSV writers).

    inventory    what ran where: devices, runs, models
    cases        every case, the flags, the failures
    comparisons  backends side by side: the cross-hardware matrix and the comparisons
    study        accuracy vs efficiency (Lab 2): the points and fronts, energy and carbon, accuracy changes
    profile      where the time went (--profile): backends side by side per operator family, every operator
"""

from __future__ import annotations

from dataclasses import dataclass, field

from suite.report.explain import model_explanations
from suite.report.merge import ModelInfo, ReportData
from suite.report.table import FlagMap, Table
from suite.report.tables.app_view import cold_start_table, estimate_table, paced_table, sustained_table
from suite.report.tables.backend_ratios import (
    comparison_flags,
    comparisons_table,
    matrix_table,
)
from suite.report.tables.cases import (
    case_label,
    cases_table,
    energy_method,
    failures_table,
    flags_table,
)
from suite.report.tables.inventory import devices_table, models_table, runs_table
from suite.report.tables.profile import (
    ProfileGroup,
    profile_groups,
    profile_nodes_table,
    profile_ops_table,
)
from suite.report.tables.tradeoffs import StudyTables, study_tables

__all__ = [
    "ModelSection", "ReportTables", "build_tables", "case_label", "cases_table", "comparison_flags",
    "comparisons_table", "devices_table", "energy_method", "failures_table", "flags_table", "matrix_table",
    "models_table", "runs_table", "study_tables",
]


@dataclass
class ModelSection:
    model: ModelInfo
    cases: Table
    profiles: list[ProfileGroup] = field(default_factory=list)  # --profile: backends side by side
    notes: list[str] = field(default_factory=list)  # what the numbers say (suite.report.explain)


@dataclass
class ReportTables:
    devices: Table
    runs: Table
    models: Table
    matrix: Table
    comparisons: Table
    cases: Table  # every case (CSV); the HTML and Markdown show it per model
    flags: Table
    failures: Table
    sections: list[ModelSection]
    study: StudyTables | None = None  # None: no case carries an accuracy
    profile_ops: Table | None = None  # None: no case was profiled
    profile_nodes: Table | None = None
    cold_start: Table | None = None  # None: no case has a cold start
    paced: Table | None = None  # None: no case ran at a fixed rate
    sustained: Table | None = None  # None: no case had a sustained run
    estimate: Table | None = None  # None: no case holds the plan's estimate

    def app_tables(self) -> list[Table]:
        """What a deployed app sees (suite.report.tables.app_view), those these results hold."""
        return [t for t in (self.cold_start, self.paced, self.sustained, self.estimate) if t is not None]

    def files(self) -> list[Table]:
        """The tables written as CSV / Markdown files, in reading order."""
        study = self.study.tables() if self.study is not None else []
        profiles = [g.table for s in self.sections for g in s.profiles]
        profiles += [t for t in (self.profile_ops, self.profile_nodes) if t is not None]
        return [self.devices, self.runs, self.models, self.matrix, self.comparisons, *self.app_tables(), *study,
                self.cases,
                *profiles, self.flags, self.failures]


def build_tables(data: ReportData, flags: FlagMap) -> ReportTables:
    sections = [
        ModelSection(model=m,
                     cases=cases_table(m.entries, flags, include_model=False, name=f"cases-{m.anchor}",
                                       title=f"Cases of {m.name}"),
                     profiles=profile_groups(m.entries, m.anchor),
                     notes=[x.text for x in model_explanations(m, flags, len(data.devices))])
        for m in data.models
    ]
    return ReportTables(
        devices=devices_table(data), runs=runs_table(data), models=models_table(data),
        matrix=matrix_table(data, flags), comparisons=comparisons_table(data, flags),
        cases=cases_table(data.entries, flags), flags=flags_table(data, flags), failures=failures_table(data),
        sections=sections, study=study_tables(data, flags), profile_ops=profile_ops_table(data),
        profile_nodes=profile_nodes_table(data), cold_start=cold_start_table(data),
        paced=paced_table(data), sustained=sustained_table(data), estimate=estimate_table(data),
    )
