"""The one way a case gets a backend: prepare it and then, for every backend but the reference,
check parity against eager outputs computed before the backend was prepared
(`suite.backends.parity.check_parity`)."""

from __future__ import annotations

import dataclasses

from suite.backends import BackendInfo, backend_info, load_target
from suite.backends.parity import check_parity, reference_outputs
from suite.backends.protocol import Prepared, PrepareRequest


def prepare_backend(name: str, req: PrepareRequest) -> Prepared:
    """Prepare `name` for one case, then check it computes what eager computes.

    The eager reference is computed before the backend is prepared: exporting or compiling
    must not be able to change what eager computes. A backend's precheck runs first, so a
    failure it already knows about (a cached export failure) costs no forward pass."""
    info = backend_info(name)
    if info.precheck:
        load_target(info.precheck)(req)
    checked, note = parity_request(info, req)
    reference = None if info.reference or req.model is None else reference_outputs(req.model, checked.inputs)
    prepared: Prepared = load_target(info.prepare)(req)
    if info.reference:
        return prepared
    try:
        prepared.parity = check_parity(prepared, reference, checked)
    except BaseException:
        prepared.close()
        raise
    if note:
        prepared.flags.append(note)
    return prepared


def parity_request(info: BackendInfo, req: PrepareRequest) -> tuple[PrepareRequest, str | None]:
    """The request whose inputs parity is checked on, and what the case should know about it. A
    backend calibrated on the run's dataset is checked on the dataset's first batch: its activation
    ranges are fitted to real data, and the seeded random inputs the timed loop uses would be clipped
    by them (an error about the inputs, not about the program)."""
    cal = req.calibration
    if not info.calibrates or cal is None or cal.size == 0:
        return req, None
    first = next(iter(cal.batches(cal.size)))
    return dataclasses.replace(req, inputs=first), (
        f"{info.name}: parity checked on the first batch of {cal.source}, the data it was calibrated on "
        "(not on the seeded random inputs it is timed with)")
