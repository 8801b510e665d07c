"""PyTorch eager: the reference backend."""

from __future__ import annotations

from typing import Any

from suite.backends.base import BackendBase, PrepareRequest
from suite.inputs import call_model


class EagerBackend(BackendBase):
    name = "eager"

    def __init__(self, req: PrepareRequest):
        import torch

        super().__init__()
        self._torch = torch
        self.device = req.device
        self.model = req.model.to(req.device).eval()
        self.synchronized = req.device.startswith("cuda")

    def context(self):
        return self._torch.inference_mode()

    def run(self, inputs: dict[str, Any]) -> Any:
        out = call_model(self.model, inputs)
        if self.synchronized:
            self._torch.cuda.synchronize()
        return out

    def close(self) -> None:
        self.model = None


def prepare(req: PrepareRequest) -> EagerBackend:
    return EagerBackend(req)


def torch_backends_of(prepared: Any) -> Any:
    """torch's settings a torch-run case ran under (suite.results.schema.TorchBackends); None for
    backends that do not run the model in torch (ONNX Runtime has its own threads)."""
    if not isinstance(prepared, EagerBackend):
        return None
    from suite.results.schema import TorchBackends

    torch = prepared._torch
    return TorchBackends(mkldnn_enabled=bool(torch.backends.mkldnn.enabled and torch.backends.mkldnn.is_available()),
                         num_threads=torch.get_num_threads(),
                         num_interop_threads=torch.get_num_interop_threads(),
                         channels_last=bool(getattr(prepared, "channels_last", False)))
