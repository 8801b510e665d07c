"""May an interrupted run be continued with this configuration, on this machine?"""

from __future__ import annotations

from pathlib import Path

from suite.config.bench_config import BenchConfig, validate_config
from suite.errors import BenchError, ConfigError
from suite.models.registry import is_python_file
from suite.results.schema import Environment, RunResult


def check_resumable(previous: RunResult, config: BenchConfig) -> None:
    """Refuse to continue a run with a configuration other than the one it started with.

    The saved configuration is validated again and its digest compared with the one given
    now, both computed by this version of the suite (a digest stored by an older version
    may cover fields that have since been added)."""
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


def _flatten(d: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in d.items():
        if isinstance(v, dict) and k not in ("input_sizes", "overrides"):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _short(value: object, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


# Fields of the environment that must match for two halves of one run to be comparable.
SAME_MACHINE_FIELDS = ("machine", "cpu_model", "cores_logical", "device_model")
SAME_PACKAGES = ("torch", "onnxruntime", "onnxruntime-gpu", "bench-suite")


def check_same_machine(previous: RunResult, env: Environment) -> None:
    """A resumed run must continue on the same kind of machine with the same key packages:
    one results file holds one machine's numbers. (The hostname may differ: containers get
    a new one each time.)"""
    old = previous.environment
    diffs = [f"{f}: {getattr(old, f)!r} then, {getattr(env, f)!r} now"
             for f in SAME_MACHINE_FIELDS if getattr(old, f) != getattr(env, f)]
    diffs += [f"{p} {old.packages.get(p, 'absent')} then, {env.packages.get(p, 'absent')} now"
              for p in SAME_PACKAGES if old.packages.get(p) != env.packages.get(p)]
    if bool(old.emulation) != bool(getattr(env, "emulation", None)):  # emulated numbers never join native ones
        diffs.append(f"emulated: {bool(old.emulation)} then, {bool(getattr(env, 'emulation', None))} now")
    if diffs:
        raise BenchError(
            f"Cannot resume run {previous.run_id} here: it was started on another machine or software stack "
            f"({'; '.join(diffs[:3])}). One results file holds one machine's numbers; start a new run instead."
        )


# --------------------------------------------------------------------------- what a saved config runs
#
# A results file is data. Its saved configuration may name things that run code on this machine:
# a model that is a Python file (imported to build the model) and a vcgencmd command (run to read
# the Raspberry Pi's power rails and throttling). A file found in a shared folder must not make
# `bench run --resume` do either: they run only when the person names them again on the command
# line that resumes (-m FILE.py, --vcgencmd CMD, or a -c config file that names them), or accepts
# what the file names with --trust-config after reading it.


def code_it_runs(config: BenchConfig) -> list[tuple[str, str]]:
    """(field, value) for every setting of `config` that imports a file or runs a program."""
    found = [(f"models[{i}]", m.name) for i, m in enumerate(config.models) if is_python_file(m.name)]
    for section in ("energy", "monitor"):
        command = getattr(config, section).vcgencmd
        if command:
            found.append((f"{section}.vcgencmd", command))
    return found


def unnamed_code(config: BenchConfig, models: list[str], vcgencmd: list[str]) -> list[tuple[str, str]]:
    """The settings of `config` that run code and that this command line did not name: model
    files not among `models` (given with -m or in a -c file), commands not among `vcgencmd`."""
    named_models, named_commands = set(models), set(vcgencmd)
    return [(field, value) for field, value in code_it_runs(config)
            if value not in (named_models if field.startswith("models") else named_commands)]


def resume_command(config: BenchConfig, path: Path) -> str:
    """The command that resumes the run in `path`, naming again what its configuration runs
    (so that it is not refused as code the command line did not name)."""
    import shlex

    parts = ["bench", "run", "--resume", str(path)]
    runs = code_it_runs(config)
    if any(field.startswith("models") for field, _ in runs):
        for m in config.models:  # -m replaces the list: every model, in order
            parts += ["-m", m.name]
    commands = {value for field, value in runs if not field.startswith("models")}
    if len(commands) == 1:
        parts += ["--vcgencmd", commands.pop()]
    elif commands:  # energy and monitor name different commands: one flag cannot restate both
        parts.append("--trust-config")
    return " ".join(shlex.quote(p) for p in parts)


def refuse_unnamed_code(run: RunResult, config: BenchConfig, path: Path, unnamed: list[tuple[str, str]]) -> None:
    if not unnamed:
        return
    what = "; ".join(f"{'imports the Python file' if field.startswith('models') else 'runs the command'} {value!r} "
                     f"({field})" for field, value in unnamed)
    raise BenchError(
        f"Not resuming run {run.run_id} from {path}: its saved configuration {what}. A results file is data, "
        "so resuming runs or imports only what this command line names. If you trust these, name them again: "
        f"{resume_command(config, path)} -- or add --trust-config to accept what the file names.")
