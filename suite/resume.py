"""May an interrupted run be continued with this configuration, on this machine?"""

from __future__ import annotations

from typing import Any

from suite.config import BenchConfig
from suite.errors import BenchError
from suite.results.schema import RunResult


def check_resumable(previous: RunResult, config: BenchConfig) -> None:
    """Refuse to continue a run with a configuration other than the one it started with.

    The saved configuration is validated again and its digest compared with the one given
    now, both computed by this version of the suite (a digest stored by an older version
    may cover fields that have since been added)."""
    from suite.config import validate_config
    from suite.errors import ConfigError

    try:
        saved = validate_config(previous.config, source=f"the saved configuration of run {previous.run_id}")
    except ConfigError as exc:
        raise BenchError(f"Cannot resume run {previous.run_id}: {exc}. Start a new run instead.") from None
    if saved.digest() != config.digest():
        raise BenchError(
            f"Cannot resume run {previous.run_id}: the configuration given now differs from the saved one "
            f"({config_differences(saved, config)}). Resume with the same flags and config file (or none: "
            "the saved configuration is used), or start a new run in another folder."
        )


def config_differences(saved: BenchConfig, now: BenchConfig, limit: int = 3) -> str:
    """`batch_sizes: [1, 2] saved, [1, 4] now; ...` for the fields the digest covers."""
    exclude = {"output_dir", "report", "monitor"}
    a = _flatten(saved.model_dump(mode="json", exclude=exclude))
    b = _flatten(now.model_dump(mode="json", exclude=exclude))
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k, "(unset)") != b.get(k, "(unset)")]
    parts = [f"{k}: {_short(a.get(k, '(unset)'))} saved, {_short(b.get(k, '(unset)'))} now" for k in keys[:limit]]
    more = f"; and {len(keys) - limit} more" if len(keys) > limit else ""
    return "; ".join(parts) + more if parts else "different settings"


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and k not in ("input_sizes", "overrides"):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _short(value: Any, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


# Fields of the environment that must match for two halves of one run to be comparable.
SAME_MACHINE_FIELDS = ("machine", "cpu_model", "cores_logical", "device_model")
SAME_PACKAGES = ("torch", "onnxruntime", "onnxruntime-gpu", "bench-suite")


def check_same_machine(previous: RunResult, env: Any) -> None:
    """A resumed run must continue on the same kind of machine with the same key packages:
    one results file holds one machine's numbers. (The hostname may differ: containers get
    a new one each time.)"""
    old = previous.environment
    diffs = [f"{f}: {getattr(old, f)!r} then, {getattr(env, f)!r} now"
             for f in SAME_MACHINE_FIELDS if getattr(old, f) != getattr(env, f)]
    diffs += [f"{p} {old.packages.get(p, 'absent')} then, {env.packages.get(p, 'absent')} now"
              for p in SAME_PACKAGES if old.packages.get(p) != env.packages.get(p)]
    if diffs:
        raise BenchError(
            f"Cannot resume run {previous.run_id} here: it was started on another machine or software stack "
            f"({'; '.join(diffs[:3])}). One results file holds one machine's numbers; start a new run instead."
        )
