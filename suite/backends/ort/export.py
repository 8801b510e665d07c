"""Export a torch model to ONNX once per identity, with every sweepable axis dynamic.

One export serves a whole batch-size sweep: the batch axis and the model's size axis
(resolution, seq_len, or the audio samples behind audio_seconds) are exported as dynamic
dimensions, and the export is traced on seeded example inputs at batch 2 and the case's own
input size, both part of the cache key, so the file never depends on which case asked first.

Why batch 2: torch.export specialises dimensions traced at size 0 or 1, so an export traced
at batch 1 would only ever accept batch 1.

Why the case's size and not one size for all: a graph can claim a dynamic size axis and
still bake the traced size in. VGG16 exported at 224 pixels fails at 64 ("GEMM: Dimension
mismatch, W: {4096,25088} K: 2048": its adaptive pooling to 7x7, a no-op at 224, is gone
from the graph), so each input size gets its own export, and every case checks parity.

Why `Dim.DYNAMIC` rather than named Dims: one shared `Dim("resolution")` for H and W makes
torch.export 2.14 fail on SqueezeNet's ceil-mode pooling (a symbolic-shape assertion), while
`Dim.DYNAMIC` lets torch.export infer the relations between axes itself (H, W; input_ids and
attention_mask; UNet's multiples of 16) and works for every registry model.

No silent exporter fallback: when the dynamo exporter fails, the case fails with the reason.
Falling back to the TorchScript exporter would change what is measured without saying so
(TorchScript traces one path through data-dependent branches and can export a graph that
computes another function: Longformer gives 3% error that way). Users pick TorchScript
explicitly with `ort.exporter = "torchscript"`.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from suite.backends.ort import cache
from suite.errors import CaseError
from suite.models.entry import ModelEntry
from suite.models.inputs import Inputs, InputSpec, InputValue, forward_args, make_inputs
from suite.version import distribution_version

if TYPE_CHECKING:
    from torch import nn

EXPORT_FORMAT = 1  # bump when this module changes how files are produced: old entries become misses
EXAMPLE_BATCH = 2
EXPORT_SEED = 0
EXPORTERS = ("dynamo", "torchscript")
TORCHSCRIPT_HINT = 'set `exporter = "torchscript"` under [ort] in a config file to try the TorchScript exporter'

_UNSUPPORTED = re.compile(
    r"No ONNX function found|Unsupported FX nodes|unrecognized namespace|is not a registered function/op"
    r"|Exporting the operator .* is not supported|Unsupported ONNX opset", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# torch.export names the user's line that failed: "The following call raised this error:\n  File ..., line N, in f\n    code"
_WHERE = re.compile(r"The following call raised this error:\s*\n\s*(File [^\n]+)\n\s*([^\n]+)")


# --------------------------------------------------------------------------- axes and inputs


def sweep_axes(spec: InputSpec) -> tuple[str, ...]:
    """Tensor axis names that change across a sweep (audio_seconds varies `samples`)."""
    names = ["batch"]
    if spec.size_axis == "audio_seconds":
        names.append("samples")
    elif spec.size_axis:
        names.append(spec.size_axis)
    return tuple(names)


def dynamic_axes(spec: InputSpec) -> dict[str, dict[int, str]]:
    """Per input tensor, {axis index: axis name} for every sweepable axis it has."""
    varying = set(sweep_axes(spec))
    return {t.name: {i: d for i, d in enumerate(t.shape) if isinstance(d, str) and d in varying}
            for t in spec.tensors}


def case_size(spec: InputSpec, inputs: Inputs) -> float | None:
    """The value on the spec's size axis that `inputs` were made for (None without one)."""
    if spec.size_axis is None:
        return None
    axis = "samples" if spec.size_axis == "audio_seconds" else spec.size_axis
    for t in spec.tensors:
        if axis in t.shape and t.name in inputs:
            n = int(inputs[t.name].shape[t.shape.index(axis)])
            return n / spec.sample_rate if spec.size_axis == "audio_seconds" else float(n)
    return None


def example_size(spec: InputSpec, size: float | None = None) -> float | None:
    if spec.size_axis is None:
        return None
    if size is not None:
        return size
    if spec.default_size is not None:
        return spec.default_size
    return spec.min_size if spec.min_size is not None else 1


def example_inputs(spec: InputSpec, size: float | None = None) -> Inputs:
    return make_inputs(spec, EXAMPLE_BATCH, example_size(spec, size), EXPORT_SEED, "cpu")


def order_by_signature(model: nn.Module, inputs: Inputs) -> dict[str, InputValue]:
    """Inputs in the order of forward()'s parameters. The TorchScript exporter binds keyword
    inputs to the signature and names graph inputs positionally, so the names we give must
    follow the signature, not the dict."""
    try:
        params = list(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        return dict(inputs)
    rank = {name: i for i, name in enumerate(params)}
    return dict(sorted(inputs.items(), key=lambda kv: rank.get(kv[0], len(rank))))


# --------------------------------------------------------------------------- cache key


def model_fingerprint(model: nn.Module) -> dict[str, str]:
    """What the model computes, as far as a file can tell: its class, its structure (the
    module tree's repr) and a hash of every parameter and buffer's bytes. Random weights
    depend on the seed, so the weights must be part of the identity."""
    import torch

    h = hashlib.sha256()
    for name, tensor in model.state_dict(keep_vars=False).items():
        t = tensor.detach()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        if t.device.type == "meta":
            continue
        flat = t.to("cpu").contiguous().reshape(-1)
        if flat.numel():
            h.update(flat.view(torch.uint8).numpy())
    cls = type(model)
    # A user file is imported under a per-process module name: the file's own hash stands in.
    module = "<file>" if cls.__module__.startswith("bench_user_") else cls.__module__
    return {
        "class": f"{module}.{cls.__qualname__}",
        "structure": hashlib.sha256(repr(model).encode()).hexdigest()[:16],
        "weights": h.hexdigest()[:16],
    }


ONNX_STACK = ("torch", "onnx", "onnxscript")


def library_versions(model: object, stack: tuple[str, ...] = ONNX_STACK) -> dict[str, str | None]:
    """The exporting stack (distribution names), plus the package that defines the model's forward code."""
    versions = {d: distribution_version(d) for d in stack}
    top = type(model).__module__.split(".")[0]
    if top not in ("torch", "__main__") and not top.startswith("bench_user_"):
        versions[top] = distribution_version(top)
    return versions


def file_digest(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return None


def export_key_fields(model: nn.Module, entry: ModelEntry, exporter: str, opset: int | None,
                      size: float | None = None) -> dict[str, object]:
    spec = entry.input_spec
    return {
        "format": EXPORT_FORMAT,
        "model": {"name": entry.name, "source": entry.source, **model_fingerprint(model),
                  "file": file_digest(entry.path) if entry.source == "file" else None},
        "inputs": [[t.name, list(t.shape), t.dtype, t.kind, t.low, t.high] for t in spec.tensors],
        "fixed": dict(sorted(spec.fixed.items())),
        "sample_rate": spec.sample_rate if spec.size_axis == "audio_seconds" else None,
        "dynamic": {k: {str(i): n for i, n in v.items()} for k, v in dynamic_axes(spec).items()},
        "example": {"batch": EXAMPLE_BATCH, "size": example_size(spec, size), "seed": EXPORT_SEED},
        "exporter": exporter,
        "opset": opset,
        "versions": library_versions(model),
    }


# --------------------------------------------------------------------------- exporting


@contextlib.contextmanager
def captured_output() -> Iterator[Callable[[], str]]:
    """Swallow everything written to stdout/stderr, by Python or by C++, so the dynamo
    exporter's progress lines and graph dumps cannot garble the CLI's progress bar.
    Yields a function returning what was captured (for error messages)."""
    py_out, py_err = io.StringIO(), io.StringIO()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    final: list[str] = []  # what was captured, kept once the temporary file is gone
    with tempfile.TemporaryFile(mode="w+b") as sink:

        def text() -> str:
            if final:
                return final[0]
            sink.flush()
            sink.seek(0)
            raw = sink.read().decode("utf-8", "replace")
            return py_out.getvalue() + py_err.getvalue() + raw

        saved = []
        try:
            for fd in (1, 2):
                try:
                    saved.append((fd, os.dup(fd)))
                    os.dup2(sink.fileno(), fd)
                except OSError:
                    pass  # no such descriptor (embedded interpreters): Python-level capture still works
            with contextlib.redirect_stdout(py_out), contextlib.redirect_stderr(py_err):
                yield text
        finally:
            for fd, dup in saved:
                os.dup2(dup, fd)
                os.close(dup)
            final.append(text())


def export_onnx(model: nn.Module, inputs: Inputs, axes: dict[str, dict[int, str]], path: Path,
                exporter: str, opset: int | None) -> None:
    """Write `path` (and `path`.data for external weights). Raises CaseError on failure."""
    import torch

    if exporter not in EXPORTERS:
        raise CaseError("export", f"unknown exporter '{exporter}'; choose one of {', '.join(EXPORTERS)}")

    # Called exactly as eager calls it: a lone input positionally (under whatever name
    # forward() gives it, renamed to the spec's name in the graph), several by keyword.
    args, kwargs = forward_args(order_by_signature(model, inputs))
    names = list(inputs) if args else list(kwargs)

    def dims(name: str) -> dict[int, object] | None:
        return {i: torch.export.Dim.DYNAMIC for i in axes.get(name, {})} or None

    with captured_output() as output, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                if exporter == "dynamo":
                    shapes = (dims(names[0]),) if args else {n: dims(n) for n in names}
                    torch.onnx.export(model, args, str(path), kwargs=kwargs, dynamic_shapes=shapes,
                                      input_names=names if args else None, opset_version=opset, dynamo=True,
                                      external_data=True, artifacts_dir=str(path.parent), report=False)
                else:
                    torch.onnx.export(model, args, str(path), kwargs=kwargs, dynamo=False, input_names=names,
                                      dynamic_axes={k: v for k, v in axes.items() if v},
                                      opset_version=opset, do_constant_folding=True)
        except Exception as exc:
            raise classify_export_error(exc, exporter, output()) from exc
    if not path.is_file():
        raise CaseError("export", f"{exporter} export reported success but wrote no file")


def _first_lines(text: str, limit: int = 500, lines: int = 3) -> str:
    text = _ANSI.sub("", text).strip()
    kept = [ln.strip() for ln in text.splitlines() if ln.strip()]
    out = " ".join(kept[:lines])
    return out if len(out) <= limit else out[: limit - 3] + "..."


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def innermost_reason(exc: BaseException) -> tuple[str, str]:
    """("Type: first line" of the innermost cause, " at File ..., line N: code" where torch.export
    names the user's line that failed, else "")."""
    chain = list(_chain(exc))
    cause = chain[-1]
    reason = f"{type(cause).__name__}: {_first_lines(str(cause), lines=1)}"
    where = _WHERE.search(_ANSI.sub("", " ".join(str(e) for e in chain)))
    at = f" at {where.group(1).strip()}: {where.group(2).strip()}" if where else ""
    return reason, at


def classify_export_error(exc: BaseException, exporter: str, output: str = "") -> CaseError:
    """Turn an exporter exception into a CaseError whose message leads with the real reason
    (the innermost cause), not the exporter's generic three-step advice."""
    chain = list(_chain(exc))
    names = {type(e).__name__ for e in chain}
    texts = " ".join(str(e) for e in chain)
    unsupported = bool(names & {"DispatchError", "UnsupportedOperatorError"}) or bool(_UNSUPPORTED.search(texts))
    cause = chain[-1]
    reason, at = innermost_reason(exc)
    if unsupported:
        # The innermost message that names the operator, not the exporter's generic advice.
        op = next((_first_lines(str(e), lines=1) for e in reversed(chain) if _UNSUPPORTED.search(str(e))), reason)
        message = f"{exporter} export failed on an operator ONNX cannot express: {op}"
        kind = "unsupported"
    else:
        message = f"{exporter} export failed: {reason}{at}"
        kind = "export"
    if exporter == "dynamo":
        message += f" ({TORCHSCRIPT_HINT})"
    err = CaseError(kind, message)
    err.transient = isinstance(cause, (OSError, MemoryError))  # type: ignore[attr-defined]
    return err


def read_opset(path: Path) -> int | None:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return int(imp.version)
    return None


# --------------------------------------------------------------------------- cache front


@dataclass(frozen=True)
class ExportOutcome:
    path: Path  # the .onnx file to load
    exporter: str
    opset: int | None
    cache_hit: bool
    export_s: float | None  # how long the export took when it ran (now or when cached)
    entry: cache.CacheEntry
    note: str | None = None  # why a cached entry was not used (it was damaged, or unverifiable)


@dataclass(frozen=True)
class ExportKey:
    """The cache key of one export (hashing the weights is not free: compute it once)."""

    fields: dict[str, object]
    key: str


def export_key(model: nn.Module, entry: ModelEntry, exporter: str, opset: int | None,
               size: float | None = None) -> ExportKey:
    fields = export_key_fields(model, entry, exporter, opset, size)
    return ExportKey(fields, cache.digest(fields))


def cached_export(root: Path, entry: ModelEntry, key: ExportKey) -> cache.CacheEntry | None:
    """The cached export under `key`, or None; a cached failure is raised as the CaseError it was."""
    hit = cache.lookup(root, entry.name, key.key)
    if hit is not None and hit.failed:
        err = hit.meta.get("error", {})
        raise CaseError(err.get("kind", "export"), f"{err.get('message', 'export failed')} "
                        f"[cached failure from {hit.meta.get('created_at', '?')}; "
                        f"`bench cache clear` to retry]")
    return hit


def ensure_export(model: nn.Module, entry: ModelEntry, exporter: str, opset: int | None, root: Path,
                  size: float | None = None, key: ExportKey | None = None) -> ExportOutcome:
    """The cached export for this model identity traced at input size `size` (default: the
    spec's), exporting it first if needed. A failed export is remembered under the same key
    and re-raised on later lookups. `key` is `export_key(...)` of the same arguments, when
    the caller has it already."""
    if key is None:
        key = export_key(model, entry, exporter, opset, size)
    fields = key.fields
    meta = {"model": entry.name, "exporter": exporter, "opset_requested": opset, "fields": fields}
    spec = entry.input_spec

    def build(folder: Path) -> dict[str, object]:
        t0 = time.perf_counter()
        export_onnx(model, example_inputs(spec, size), dynamic_axes(spec), folder / cache.MODEL_FILE, exporter, opset)
        got = read_opset(folder / cache.MODEL_FILE)
        if opset is not None and got != opset:
            # The dynamo exporter converts down from its native opset and keeps the original
            # when conversion fails; an older runtime would then refuse the file obscurely.
            raise CaseError("export", f"asked for opset {opset} but the {exporter} exporter produced opset {got} "
                            "(its version converter could not lower this model); the TorchScript exporter "
                            "writes older opsets directly")
        return {"export_s": round(time.perf_counter() - t0, 3), "opset": got}

    stored, hit, rebuilt = cached_build(root, entry, key, meta, build)
    return _outcome(stored, cache_hit=hit, note=rebuilt)


def cached_build(root: Path, entry: ModelEntry, key: ExportKey, meta: Mapping[str, object],
                 build: Callable[[Path], dict[str, object]]) -> tuple[cache.CacheEntry, bool, str | None]:
    """The verified cache entry under `key`, built by `build(folder)` when there is none (or the
    one there is damaged): (entry, cache hit, why a damaged entry was rebuilt). A CaseError of
    `build` is remembered under the key (unless transient) and raised; so is a remembered one."""
    cache.clean_leftovers(root)  # what killed exports left (once per process; a hit must not keep them)
    hit = cached_export(root, entry, key)
    rebuilt = None
    if hit is not None:
        problem = cache.verify(hit)
        if problem is None:
            return hit, True, None
        # A damaged entry (a truncated weights file, a file edited in place) would fail every
        # case with an obscure session error, forever: build again, and say so.
        cache.discard(hit)
        rebuilt = f"export cache entry {hit.path.name} was rebuilt: {problem}"
    try:
        stored = cache.store(root, entry.name, key.key, meta, build)
    except CaseError as exc:
        if not getattr(exc, "transient", False):
            cache.store_failure(root, entry.name, key.key, meta, exc.kind, str(exc))
        raise
    return stored, False, rebuilt


def _outcome(e: cache.CacheEntry, cache_hit: bool, note: str | None = None) -> ExportOutcome:
    return ExportOutcome(path=e.model_path, exporter=str(e.meta.get("exporter")), opset=e.meta.get("opset"),
                         cache_hit=cache_hit, export_s=e.meta.get("export_s"), entry=e, note=note)
