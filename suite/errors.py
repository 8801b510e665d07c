"""The suite's own error types. A `BenchError` is a user-facing problem: the CLI prints its
message as one paragraph and exits with status 2, without a traceback (unless --debug)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class BenchError(Exception):
    """A problem the user can fix: bad input, missing dependency, unusable file."""

    exit_code = 2


class ConfigError(BenchError):
    """A config file or flag is malformed or contradictory; the message names the field."""


class UnknownModelError(BenchError):
    def __init__(self, name: str, known: Iterable[str]):
        self.name = name
        self.suggestions = closest(name, known)
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(
            f"Unknown model '{name}'.{hint} Run `bench models` to list the registry, or use "
            "torchvision:<name>, hf:<model_type>, a Python file (path.py:factory) or an .onnx file."
        )


class ResultsFileError(BenchError):
    """A results file is corrupt, truncated, foreign or from a newer schema."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"Cannot read results file {path}: {reason}")


class MissingDependencyError(BenchError):
    def __init__(self, package: str, extra: str | None = None, purpose: str = ""):
        how = f"pip install 'bench-suite[{extra}]'" if extra else f"pip install {package}"
        why = f" (needed for {purpose})" if purpose else ""
        super().__init__(f"The optional dependency '{package}' is not installed{why}. Install it with: {how}")


class CaseError(Exception):
    """A failure inside one case (export, unsupported op, parity): recorded, the run goes on."""

    def __init__(self, kind: str, message: str):
        self.kind = kind
        super().__init__(message)


def closest(name: str, known: Iterable[str], n: int = 5) -> list[str]:
    known = list(known)
    lowered = {k.lower(): k for k in known}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    subs = [k for k in known if name.lower() in k.lower() and lowered.get(k.lower()) not in hits]
    out = [lowered[h] for h in hits] + subs
    return list(dict.fromkeys(out))[:n]
