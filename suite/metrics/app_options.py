"""The `[app]` config section: what a deployed app sees besides back-to-back warm calls (issue 22):
the cold start of a fresh process, the forward pass at a fixed rate with idle gaps, and minutes of
sustained load as a timeline."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|min|h)?\s*$", re.IGNORECASE)
_UNIT_S = {"ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_RATE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(?:/s|hz|fps)?\s*$", re.IGNORECASE)


COLD_START_ENV = "BENCH_COLD_START"
_ON, _OFF = ("", "1", "true", "yes", "on"), ("0", "false", "no", "off")


def cold_start_env() -> bool | None:
    """What BENCH_COLD_START says about the cold start's default: False for 0/false/no/off, True for
    1/true/yes/on, None when unset (ValueError for anything else). A machine's or a test suite's
    default: each case's cold start is a fresh Python process, a second or two each."""
    raw = os.environ.get(COLD_START_ENV)
    if raw is None:
        return None
    value = raw.strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    raise ValueError(f"{COLD_START_ENV}={raw!r} is neither 0 nor 1: set it to 0 to skip each case's cold start "
                     "(as --no-cold-start), or unset it")


def _cold_start_default() -> bool:
    try:
        return cold_start_env() is not False
    except ValueError:  # refused where the user meets it (bench run); the suite's default meanwhile
        return True


def parse_rate(text: str | float) -> float:
    """Calls per second: `30`, `30/s`, `30hz`, `2.5fps` (ValueError: anything else, or not above 0)."""
    return _positive(text, _RATE, lambda m: float(m.group(1)), "calls per second",
                     "is not a rate: give calls per second, e.g. 30 or 30/s")


def parse_duration(text: str | float) -> float:
    """Seconds from `30s`, `10m`, `1.5h`, `500ms` or a bare number of seconds (ValueError: anything
    else, or not above 0)."""
    return _positive(text, _DURATION, lambda m: float(m.group(1)) * _UNIT_S[(m.group(2) or "s").lower()], "",
                     "is not a duration: give a number with s, m or h, e.g. 30s, 10m or 1h")


def _positive(text: str | float, pattern: re.Pattern[str], value_of: Callable[[re.Match[str]], float], unit: str,
              not_one: str) -> float:
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = pattern.match(text)
        if m is None:
            raise ValueError(f"'{text}' {not_one}")
        value = value_of(m)
    if not value > 0 or value == float("inf"):
        what = "a rate" if unit else "a duration"
        raise ValueError(f"{what} must be above 0{f' {unit}' if unit else ''} (got {text!r})")
    return value


class AppConfig(BaseModel):
    """Options of the app-like measurements (suite/run/cold_start.py, suite/run/app_steps.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    cold_start: bool = Field(default_factory=_cold_start_default, description="time each case's cold start in a fresh Python process: "
                             "runtime import, model build or session load, first call, with memory after each "
                             "(about the runtime's import time plus one build and one call per case); "
                             "default on, off where BENCH_COLD_START=0")
    rate_hz: float | None = Field(default=None, gt=0, description="after each case's timed loop, call the model at "
                                  "this fixed rate (calls per second; idle between calls) and compare with "
                                  "back-to-back; missed deadlines counted; energy per frame with the idle time")
    paced_window_s: float = Field(default=5.0, gt=0, le=3600, description="length of the paced window (seconds)")
    sustain_s: float | None = Field(default=None, gt=0, description="after each case's timed loop, run it back to "
                                    "back for this long (30s, 10m, 1h) and record a timeline in windows: median "
                                    "latency, temperature, clock, throttle state, power where a meter measures")
    sustain_window_s: float = Field(default=1.0, gt=0, le=600, description="window of the sustained timeline (seconds)")
    temp_limit_c: float | None = Field(default=None, gt=0, lt=150, description="stop a sustained run early when the "
                                       "CPU reaches this temperature (Celsius), saying so")

    @field_validator("rate_hz", mode="before")
    @classmethod
    def _rate(cls, v: object) -> object:
        return parse_rate(v) if isinstance(v, str) else v

    @field_validator("sustain_s", mode="before")
    @classmethod
    def _duration(cls, v: object) -> object:
        return parse_duration(v) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _limit_needs_a_sustained_run(self) -> AppConfig:
        if self.temp_limit_c is not None and self.sustain_s is None:
            raise ValueError("temp_limit_c (--temp-limit) stops a sustained run early: give the run one with "
                             "sustain_s (--sustain 10m)")
        return self

    def extra_time_s(self) -> float:
        """What the app-like windows add to one case's wall time (at least; the worker's timeout grows by it)."""
        return (self.sustain_s or 0.0) + (2 * self.paced_window_s if self.rate_hz is not None else 0.0)
