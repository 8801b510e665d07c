"""Load and save results files, durably, with migrations from older schema versions.

A results file is one JSON document (`RunResult`). While a run is going on it is rewritten
after every finished case with write-to-temp, fsync, rename: at any moment the file on disk
is a complete, valid document holding every case finished so far.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from suite.errors import ResultsFileError
from suite.results.migrate import migrate
from suite.results.safe_read import read_regular_text
from suite.results.schema import FORMAT_NAME, RunResult

RESULTS_SUFFIX = ".json"
# Read at most this much of a results file (2,000 cases of 10,000 stored samples each come to
# about 0.5 GB): more is not a file `bench run` wrote, and /dev/zero would never end.
RESULTS_MAX_BYTES = 1024 * 1024 * 1024
_PARTIAL_TOKEN = re.compile(r"[0-9A-Za-z.+\-]*")


# --------------------------------------------------------------------------- loading


def parse_results(text: str, source: object = "<string>") -> RunResult:
    from pydantic import ValidationError

    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        # A file cut short fails at its end: in a string that never closes, or in a last
        # token cut in half ("0." of 0.25, "tru" of true) with nothing after it.
        cut = exc.msg.startswith("Unterminated string") or _PARTIAL_TOKEN.fullmatch(text[exc.pos:].rstrip()) is not None
        what = "truncated" if cut else "not valid JSON"
        raise ResultsFileError(source, f"{what} (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:  # thousands of nested brackets: no results file looks like that
        raise ResultsFileError(source, "not a bench results file (JSON nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ResultsFileError(source, f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ResultsFileError(source, "the top level is not a JSON object: not a bench results file")
    if doc.get("format", FORMAT_NAME) != FORMAT_NAME or ("schema_version" not in doc and "cases" not in doc):
        raise ResultsFileError(source, "not a bench results file (no 'format': 'bench-results')")
    doc = migrate(doc, source)
    try:
        return RunResult.model_validate(doc)
    except RecursionError:
        raise ResultsFileError(source, "a field is nested too deeply to be a bench results file") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        what = f"field '{where}': " if where else ""
        raise ResultsFileError(
            source, f"{what}{first['msg']} ({exc.error_count()} problem(s) in all)"
        ) from None


def load_results(path: str | os.PathLike[str]) -> RunResult:
    p = Path(path)
    try:
        text = read_regular_text(p, RESULTS_MAX_BYTES)
    except FileNotFoundError:
        raise ResultsFileError(p, "no such file") from None
    except IsADirectoryError:
        raise ResultsFileError(p, "is a folder; give the results .json inside it") from None
    except UnicodeDecodeError:
        raise ResultsFileError(p, "not UTF-8 text (binary file?)") from None
    except OSError as exc:
        raise ResultsFileError(p, exc.strerror or str(exc)) from None
    except ValueError as exc:  # a path with a NUL byte
        raise ResultsFileError(p, str(exc)) from None
    return parse_results(text, p)


def find_results_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders (recursively) into results-file candidates, sorted."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob(f"*{RESULTS_SUFFIX}") if q.is_file()))
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def load_many(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[tuple[Path, RunResult]], list[ResultsFileError]]:
    """Load every results file found; bad ones are returned as errors, the rest still load."""
    good: list[tuple[Path, RunResult]] = []
    bad: list[ResultsFileError] = []
    for p in find_results_files(paths):
        try:
            good.append((p, load_results(p)))
        except ResultsFileError as exc:
            bad.append(exc)
    return good, bad


# --------------------------------------------------------------------------- saving


def dumps(result: RunResult) -> str:
    return result.model_dump_json(indent=1)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write-then-rename with fsync of the file and its folder: never a half-written file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes 0600; results are ordinary output, read by the user who bind-mounted the
        # folder into a container and by the report: readable by all, whatever the umask.
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(p.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save_results(result: RunResult, path: str | os.PathLike[str]) -> None:
    atomic_write_text(path, dumps(result))


def remove_stale_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporaries atomic_write_text left beside `path` when a save was killed
    (SIGKILL, power cut: no handler runs). Only for a caller that holds the file's lock, so no
    save of it is going on. Returns what was removed."""
    import glob

    p = Path(path)
    removed = []
    for tmp in p.parent.glob(f".{glob.escape(p.name)}.*.tmp"):
        try:
            tmp.unlink()
        except OSError:
            continue
        removed.append(tmp)
    return removed
