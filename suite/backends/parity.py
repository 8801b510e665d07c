"""Does the exported graph compute the same function? Compare outputs on the same inputs.

Outputs are flattened to a list of arrays in a stable order that matches how exporters
flatten them (tensors as they are; tuples and lists in order; dicts and HF ModelOutputs in
key order, skipping None), then compared by position.

The error is relative to each output's scale: max|a - b| / max|reference|. Absolute error
alone says nothing (a random MobileNet's logits are ~1e-9, a BERT's hidden states ~1); an
all-zero reference output is compared absolutely. The case's figure is the worst output. A NaN
or an infinity in either side's outputs fails the check, whatever the error elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from suite.errors import CaseError
from suite.models.inputs import Array, Inputs, call_model
from suite.results.schema import ParityResult

if TYPE_CHECKING:
    from torch import nn

    from suite.backends.protocol import Prepared, PrepareRequest


def flatten_outputs(out: object) -> list[object]:
    """Tensors/arrays in a nested output, depth first, in a stable order."""
    if out is None:
        return []
    if hasattr(out, "shape") and hasattr(out, "dtype"):
        return [out]
    if isinstance(out, Mapping):  # dicts and transformers ModelOutput (an OrderedDict)
        return [t for v in out.values() for t in flatten_outputs(v)]
    if isinstance(out, Sequence) and not isinstance(out, (str, bytes)):
        return [t for v in out for t in flatten_outputs(v)]
    return []  # Python scalars and other leaves are not graph outputs


def to_numpy(x: object) -> Array:
    """A tensor (on any device), an OrtValue or anything numpy takes, as a host numpy array."""
    import numpy as np

    host: Array
    if hasattr(x, "detach"):  # torch tensor, on any device
        host = x.detach().to("cpu").numpy()
    elif hasattr(x, "numpy") and not isinstance(x, np.ndarray):  # OrtValue
        host = x.numpy()
    else:
        host = np.asarray(x)
    return host


def output_errors(reference: Array, candidate: Array) -> tuple[float, float]:
    """(max absolute error, error relative to the reference's scale) for one output pair, over
    the values that are finite on both sides (non_finite() counts the others: any fails parity)."""
    import numpy as np

    ref = np.asarray(reference, dtype=np.float64)
    got = np.asarray(candidate, dtype=np.float64)
    keep = np.isfinite(ref) & np.isfinite(got)
    if not keep.all():
        ref, got = ref[keep], got[keep]
    if ref.size == 0:
        return 0.0, 0.0
    abs_err = float(np.max(np.abs(ref - got)))
    scale = float(np.max(np.abs(ref)))
    return abs_err, (abs_err / scale if scale > 0 else abs_err)


def non_finite(output: Array) -> int:
    """NaN and infinite values in one output: a model whose outputs hold any computes nothing
    a comparison can vouch for (NaN weights made eager and ORT "agree" with error 0)."""
    import numpy as np

    arr = np.asarray(output)
    return int((~np.isfinite(arr)).sum()) if arr.dtype.kind in "fc" else 0


def compare_outputs(reference: Sequence[object], candidate: Sequence[object], tolerance: float,
                    reference_backend: str = "eager") -> ParityResult:
    """Compare flattened outputs by position. A different number of outputs or a different
    shape is not an error size but a different function: a CaseError(kind="parity"). NaN or
    infinite values on either side fail the check (`non_finite` counts them)."""
    ref = [to_numpy(r) for r in reference]
    got = [to_numpy(c) for c in candidate]
    if len(ref) != len(got):
        raise CaseError("parity", f"the exported graph returns {len(got)} output(s), {reference_backend} returns "
                        f"{len(ref)}: outputs cannot be matched")
    if not ref:
        raise CaseError("parity", "the model returned no tensor outputs to compare")
    max_abs = max_rel = 0.0
    bad = 0
    for i, (r, g) in enumerate(zip(ref, got)):
        if tuple(r.shape) != tuple(g.shape):
            raise CaseError("parity", f"output {i} has shape {list(g.shape)} in the exported graph but "
                            f"{list(r.shape)} in {reference_backend}")
        a, rel = output_errors(r, g)
        max_abs, max_rel = max(max_abs, a), max(max_rel, rel)
        bad += non_finite(r) + non_finite(g)
    return ParityResult(reference_backend=reference_backend, max_abs_error=max_abs, max_rel_error=max_rel,
                        tolerance=tolerance, passed=max_rel <= tolerance and bad == 0, outputs_compared=len(ref),
                        non_finite=bad)


def reference_outputs(model: nn.Module, inputs: Inputs) -> list[Array]:
    """Eager's outputs for the case's inputs, on the CPU: what every other backend must match."""
    cpu_inputs = {k: v.to("cpu") if hasattr(v, "to") else v for k, v in inputs.items()}
    return eager_outputs(model.to("cpu").eval(), cpu_inputs)


def check_parity(prepared: Prepared, reference: Sequence[object] | None, req: PrepareRequest) -> ParityResult | None:
    """The generic parity step every non-reference backend goes through: one forward through
    the path that is timed, compared with eager's outputs (or, with no eager model, with the
    backend's own fallback reference, e.g. the fp32 graph for an int8 one)."""
    with prepared.context():
        candidate = prepared.outputs(req.inputs)
    name = "eager"
    if reference is None:
        fallback = prepared.fallback_reference(req.inputs)
        if fallback is None:
            return None
        name, reference = fallback
    return compare_outputs(reference, candidate, prepared.parity_tolerance(req.parity_tolerance), name)


def eager_outputs(model: nn.Module, inputs: Inputs) -> list[Array]:
    """The reference: one eager forward without autograd, flattened, on the CPU."""
    import torch


    with torch.no_grad():
        out = call_model(model, inputs)  # exactly as the eager backend calls it
    return [to_numpy(t) for t in flatten_outputs(out)]


# Reference outputs below this magnitude (random-weight mobilenet_v3_small's logits are ~2e-9) fall
# under an int8 program's resolution: its parity failure says so.
TINY_OUTPUTS = 1e-6


def parity_message(backend: str, parity: ParityResult) -> str:
    """The failed case's one paragraph: what differed, and why when the outputs say (non-finite values,
    outputs too small to resolve)."""
    if parity.non_finite:
        return (f"the outputs of {backend} and {parity.reference_backend} on the parity inputs hold "
                f"{parity.non_finite} NaN or infinite value(s) between them: nothing shows that {backend} computes "
                f"the model (check the weights); {backend} numbers for this case are not trustworthy")
    scale = parity.max_abs_error / parity.max_rel_error if parity.max_rel_error > 0 else None
    why = ""
    if scale is not None and scale < TINY_OUTPUTS:
        why = (f" (the {parity.reference_backend} outputs span only ±{scale:.1g}, as random weights give for some "
               "models: below what an int8 program resolves, and too small for relative errors to mean much; compare "
               "on real weights, --pretrained or --weights)")
    return (f"{backend} output differs from {parity.reference_backend}: max relative error "
            f"{parity.max_rel_error:.3g} > tolerance {parity.tolerance:.3g}{why}; {backend} numbers for "
            "this case are not trustworthy")
