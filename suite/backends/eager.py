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
