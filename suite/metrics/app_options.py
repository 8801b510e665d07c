"""The `[app]` config section: what a deployed app sees besides back-to-back warm calls (issue 22):
the cold start of a fresh process."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AppConfig(BaseModel):
    """Options of the app-like measurements (suite/run/cold_start.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    cold_start: bool = Field(default=True, description="time each case's cold start in a fresh Python process: "
                             "runtime import, model build or session load, first call, with memory after each "
                             "(about the runtime's import time plus one build and one call per case)")
