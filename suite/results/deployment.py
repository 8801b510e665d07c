"""What a deployed app sees, as stored per case (issue 22): the cost of starting cold.

Each record holds raw figures and says how they were obtained; derived figures (ratios, the
report's tables) are computed from them by the reader.
"""

from __future__ import annotations

from pydantic import Field

from suite.results.fields import Count, NonNegative, _Model


class ColdStart(_Model):
    """A fresh Python process's time to the case's first result, step by step
    (suite/run/cold_start.py), and its resident memory after each step."""

    method: str  # how the steps were timed and what each one holds
    imported: list[str] = Field(default_factory=list)  # the modules of the import step
    process_start_s: NonNegative | None = None  # interpreter start and the harness, before the import step
    import_s: NonNegative  # importing the backend's runtime (torch, onnxruntime)
    load_s: NonNegative  # model build (eager) or session load (a graph file), with its own imports
    first_call_s: NonNegative  # the first forward pass on the case's inputs
    warm_call_ms: NonNegative | None = None  # median of a few calls after the first: what the first one is against
    warm_calls: Count = 0
    rss_after_import_bytes: Count | None = None
    rss_after_load_bytes: Count | None = None
    rss_after_first_call_bytes: Count | None = None
    rss_peak_bytes: Count | None = None  # VmHWM at the end of the first call

    @property
    def to_first_result_s(self) -> float:
        """import + load + first call: what an app's start-up costs once Python runs."""
        return self.import_s + self.load_s + self.first_call_s
