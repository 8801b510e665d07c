"""The building blocks of the results contract: the format's name and version, the
reference backend, the kinds of values a field may hold (non-negative times, counts, rates) and the
base model every stored record derives from (unknown fields and non-finite numbers refused)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 3
# Every comparison is against this backend, and parity is checked against it (the backend table marks
# the same row `reference`; a test keeps the two equal).
REFERENCE_BACKEND = "eager"
FORMAT_NAME: Literal["bench-results"] = "bench-results"

CaseStatus = Literal["ok", "failed", "parity_failed", "skipped"]
EnergyMethod = Literal["counter", "sampled", "estimated"]
FlagSeverity = Literal["bad", "warn", "info"]
FlagMetric = Literal["latency", "energy", "memory", "accuracy", "ratio", "case", "roofline"]

# Quantities that cannot be negative: a time, a count, a size, an energy or power figure. A file
# holding a negative one (a hand edit, a broken writer) is refused on load, naming the field,
# rather than rendered as a -5.00 ms median.
Ms = Annotated[float, Field(ge=0)]
NonNegative = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]
# A measured ceiling (FLOP/s, bytes/s): a rate of zero was never measured, and a roof of zero
# divides the roofline (the ridge point, intensity x bandwidth) by nothing.
Rate = Annotated[float, Field(gt=0)]


class _Model(BaseModel):
    # Unknown fields are refused so that a file written by a newer suite is not silently
    # half-read; newer versions are rejected up front by schema_version anyway. NaN and infinity
    # are refused too: no measured figure is infinite, JSON cannot carry them, and a file holding
    # one (a hand edit, 1e309) is corrupt rather than something to plot.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Flag(_Model):
    """A reason to read some numbers with care. `kind` is from suite/results/flags.py (a kind
    this version does not know is kept and shown as a note); readers act on kind, severity and
    metrics, never on the words of `detail`."""

    kind: str = Field(min_length=1)
    severity: FlagSeverity
    metrics: list[FlagMetric] = Field(min_length=1)  # the figures it qualifies ("case": all of them)
    detail: str
