"""Static int8 for ExecuTorch: XNNPACK's PT2E quantiser (torchao's prepare_pt2e / convert_pt2e).

The scheme XNNPACK runs fastest: weights int8 symmetric per output channel, activations int8 with
ranges observed on calibration data (static quantisation, unlike ORT's dynamic int8, which needs none).
Calibration data decide the function the program computes, so they are part of its cache key:

* with a dataset (`--dataset`), its first CALIBRATION_SAMPLES samples, preprocessed as the dataset pass
  preprocesses them (suite.backends.protocol.Calibration). They come from the evaluated split and are
  scored too: the case says so.
* without one, CALIBRATION_BATCHES batches of seeded synthetic inputs of the case's shapes (the suite's
  input maker, seeds CALIBRATION_SEED...). Ranges fit random inputs, not real data: the case says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from suite.backends.executorch.pte_export import Quantizer, lowering_failure
from suite.backends.ort.export import case_size
from suite.backends.protocol import Calibration
from suite.errors import CaseError
from suite.models.entry import ModelEntry
from suite.models.inputs import Inputs, InputValue, make_inputs

CALIBRATION_SAMPLES = 64
CALIBRATION_BATCHES = 8
CALIBRATION_SEED = 1000
SCHEME = {"quantizer": "XNNPACKQuantizer", "weights": "int8 symmetric per channel", "activations": "int8 static",
          "flow": "torchao pt2e prepare/convert"}


@dataclass(frozen=True)
class CalibrationPlan:
    fields: dict[str, object]  # the quantisation's part of the cache key
    note: str  # what the case says it was calibrated on
    batches: Callable[[], Iterator[Inputs]]


def batch_size_of(entry: ModelEntry, inputs: Inputs) -> int:
    for t in entry.input_spec.tensors:
        if "batch" in t.shape and t.name in inputs:
            return int(inputs[t.name].shape[t.shape.index("batch")])
    return 1


def plan_calibration(name: str, entry: ModelEntry, inputs: Inputs, calibration: Calibration | None) -> CalibrationPlan:
    """The calibration a case of `name` uses: the run's dataset when it has one, else seeded inputs."""
    if calibration is not None and calibration.size > 0:
        n = min(CALIBRATION_SAMPLES, calibration.size)
        data = calibration
        return CalibrationPlan(
            {**SCHEME, "calibration": {"dataset": calibration.identity, "samples": n}},
            f"{name}: int8 calibrated on the first {n} samples of {calibration.source}, the evaluated data "
            "(they are scored too: a held-out calibration set would be stricter)",
            lambda: data.batches(n))
    batch = batch_size_of(entry, inputs)
    size = case_size(entry.input_spec, inputs)

    def synthetic() -> Iterator[Inputs]:
        for i in range(CALIBRATION_BATCHES):
            yield make_inputs(entry.input_spec, batch, size, CALIBRATION_SEED + i, "cpu")
    return CalibrationPlan(
        {**SCHEME, "calibration": {"synthetic": CALIBRATION_BATCHES, "seed": CALIBRATION_SEED}},
        f"{name}: int8 calibrated on {CALIBRATION_BATCHES} batches of seeded synthetic inputs (the run has no "
        "dataset): its activation ranges fit random inputs, not real data; give --dataset to calibrate on it",
        synthetic)


def pt2e_quantizer(batches: Callable[[], Iterator[Inputs]]) -> Quantizer:
    """A pte_export.Quantizer: the exported program quantised by XNNPACK's PT2E quantiser, calibrated on
    `batches()`, exported again (what the XNNPACK partitioner lowers to int8 kernels)."""

    def quantize(program: object, args: tuple[InputValue, ...], kwargs: dict[str, InputValue]) -> object:
        import torch
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer,
            get_symmetric_quantization_config,
        )
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        try:
            quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
            observed = prepare_pt2e(program.module(), quantizer)  # type: ignore[attr-defined]  # an ExportedProgram
            for batch in batches():
                if args:  # a lone input goes positionally, several by keyword (as the export was traced)
                    observed(*batch.values())
                else:
                    observed(**{k: batch[k] for k in kwargs})
            converted = convert_pt2e(observed)
            return torch.export.export(converted, tuple(args), kwargs=kwargs)
        except CaseError:
            raise
        except Exception as exc:
            raise lowering_failure("quantize", "PT2E int8 quantisation", exc) from exc
    return quantize
