"""Options of the ONNX Runtime backends (the [ort] config section): a frozen value, no side effects."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class OrtOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    exporter: Literal["dynamo", "torchscript"] = "dynamo"
    opset: int | None = Field(default=None, ge=7)
    optimization_level: Literal["disable", "basic", "extended", "all"] = "all"
    providers: list[str] | None = None  # None: best available
    cache_dir: str | None = None  # None: ~/.cache/bench/onnx (BENCH_CACHE_DIR overrides)
    io_binding: bool = True
    time_host_copies: bool = False
