"""Expand a config into the list of cases (the sweep). Validates every model name, size and
batch against the model's input spec before anything is built."""

from __future__ import annotations

from dataclasses import dataclass

from suite.backends import BackendInfo
from suite.backends import backends as table
from suite.config.bench_config import BenchConfig, ModelChoice, sizes_for
from suite.errors import BenchError
from suite.models.registry import ModelEntry, resolve_model
from suite.models.user_file import FileModel, entry_for_file
from suite.models.weights import check_pretrained_cached, check_weights_file
from suite.results.schema import CaseSpec


@dataclass(frozen=True)
class PlannedCase:
    spec: CaseSpec
    choice: ModelChoice
    # What the plan learnt about a user's Python file, so that the worker builds from it instead
    # of looking the file over a second time.
    file_model: FileModel | None = None
    # Runs the dataset pass: the first batch size of its model x backend x size x resize (accuracy
    # does not depend on the batch size; the runner links the other cases to this one).
    evaluates: bool = False

    def entry(self) -> ModelEntry:
        """The case's model entry, resolved once for the case (in the worker)."""
        if self.file_model is not None:
            return entry_for_file(self.choice.name, self.file_model)
        return resolve_model(self.choice.name, self.choice.overrides)


def plan_cases(config: BenchConfig, threads: int) -> list[PlannedCase]:
    cases: list[PlannedCase] = []
    for choice in config.models:
        # A user's file is imported in a worker, under the case timeout, never here.
        entry = resolve_model(choice.name, choice.overrides, timeout_s=config.case_timeout_s)
        file_model = entry.extra.get("file_model")
        backends = runnable_backends(entry, config.backends)
        if not backends:
            able = [b.name for b in table().values() if _runs(b, entry)]
            raise BenchError(f"Model '{choice.name}' cannot run on {', '.join(config.backends)}: "
                             f"{'an ONNX file' if entry.builder is None else 'a torch model'} needs one of "
                             f"{', '.join(able)} (--backends {able[0] if able else '...'})")
        if choice.pretrained and entry.builder is not None:
            if not entry.pretrained_available:
                raise BenchError(f"Model '{choice.name}' has no published weights to load; run it without --pretrained")

            check_pretrained_cached(entry)
        if choice.weights:
            if entry.builder is None:
                raise BenchError(f"--weights applies to torch models; '{choice.name}' is an ONNX file")

            check_weights_file(choice.weights, choice.name)
        sizes = sizes_for(config, entry.modality, choice.input_sizes)
        spec = entry.input_spec
        if sizes and spec.size_axis is None and not choice.input_sizes:
            sizes = None  # models without a size axis ignore modality-wide sizes, not their own
        # A dataset on an image model sweeps the resize methods too; otherwise there is no resizing.
        resizes = config.resize if config.dataset is not None and spec.size_axis == "resolution" else [None]
        candidates: list[float | None] = [*sizes] if sizes else [None]
        for size in candidates:
            spec.check_size(size, choice.name)
            resolved = spec.default_size if size is None else size
            for resize in resizes:
                for i, batch in enumerate(choice.batch_sizes or config.batch_sizes):
                    spec.check_batch(batch, choice.name)
                    shapes = spec.shapes(batch, resolved)
                    # Interleave backends for the same shape: drift over a long run then hits
                    # both sides of a comparison alike.
                    for backend in backends:
                        cases.append(PlannedCase(
                            _spec(entry, choice, backend, batch, resolved, shapes, config, threads, resize), choice,
                            file_model, evaluates=config.dataset is not None and i == 0))
    return cases


def runnable_backends(entry: ModelEntry, names: list[str]) -> list[str]:
    """The backends among `names` that can run this model (an .onnx file runs on ONNX Runtime
    only): others are left out of the sweep, quietly, as long as one remains."""
    info = table()
    return [n for n in names if _runs(info[n], entry)]


def _runs(backend: BackendInfo, entry: ModelEntry) -> bool:
    return backend.runs_onnx_files if entry.builder is None else backend.runs_torch_models


def _spec(entry: ModelEntry, choice: ModelChoice, backend: str, batch: int, size: float | None,
          shapes: dict[str, list[int]], config: BenchConfig, threads: int, resize: str | None = None) -> CaseSpec:
    return CaseSpec(
        model=choice.name, source=entry.source, modality=entry.modality, backend=backend, device=config.device,
        batch_size=batch, size_axis=entry.input_spec.size_axis, input_size=size, input_shapes=shapes,
        threads=threads, resize=resize,
    )
