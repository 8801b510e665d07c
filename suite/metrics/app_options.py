"""The `[app]` config section: what a deployed app sees besides back-to-back warm calls (issue 22):
the cold start of a fresh process, and the forward pass at a fixed rate with idle gaps."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_RATE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(?:/s|hz|fps)?\s*$", re.IGNORECASE)


def parse_rate(text: str | float) -> float:
    """Calls per second: `30`, `30/s`, `30hz`, `2.5fps` (ValueError: anything else, or not above 0)."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = _RATE.match(text)
        if m is None:
            raise ValueError(f"'{text}' is not a rate: give calls per second, e.g. 30 or 30/s")
        value = float(m.group(1))
    if not value > 0 or value == float("inf"):
        raise ValueError(f"a rate must be above 0 calls per second (got {text!r})")
    return value


class AppConfig(BaseModel):
    """Options of the app-like measurements (suite/run/cold_start.py, suite/run/app_steps.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    cold_start: bool = Field(default=True, description="time each case's cold start in a fresh Python process: "
                             "runtime import, model build or session load, first call, with memory after each "
                             "(about the runtime's import time plus one build and one call per case)")
    rate_hz: float | None = Field(default=None, gt=0, description="after each case's timed loop, call the model at "
                                  "this fixed rate (calls per second; idle between calls) and compare with "
                                  "back-to-back; missed deadlines counted; energy per frame with the idle time")
    paced_window_s: float = Field(default=5.0, gt=0, le=3600, description="length of the paced window (seconds)")

    @field_validator("rate_hz", mode="before")
    @classmethod
    def _rate(cls, v: object) -> object:
        return parse_rate(v) if isinstance(v, str) else v
