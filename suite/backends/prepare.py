"""The one way a case gets a backend: prepare it and then, for every backend but the reference,
check parity against eager outputs computed before the backend was prepared
(`suite.backends.parity.check_parity`)."""

from __future__ import annotations

from suite.backends import backend_info, load_target
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
    reference = None if info.reference or req.model is None else reference_outputs(req.model, req.inputs)
    prepared: Prepared = load_target(info.prepare)(req)
    if info.reference:
        return prepared
    try:
        prepared.parity = check_parity(prepared, reference, req)
    except BaseException:
        prepared.close()
        raise
    return prepared
