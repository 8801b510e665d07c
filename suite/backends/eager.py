"""PyTorch eager: the reference backend."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

from suite.backends.protocol import BackendBase, PrepareRequest
from suite.errors import BenchError
from suite.models.inputs import Inputs, call_model, forward_args
from suite.results.schema import RuntimeSettings, TorchBackends

if TYPE_CHECKING:
    from torch import nn

# What decides how torch's CPU threads behave between calls (OpenMP's spin-wait after a parallel
# region: libgomp's GOMP_SPINCOUNT, Intel OpenMP's KMP_BLOCKTIME) and how many there are.
THREAD_ENV = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "MKL_NUM_THREADS")


class EagerBackend(BackendBase):
    name = "eager"

    def __init__(self, req: PrepareRequest) -> None:
        import torch

        super().__init__()
        self._torch: ModuleType = torch
        self.device = req.device
        if req.model is None:
            raise BenchError(f"model '{req.entry.name}' is an ONNX file: {self.name} runs torch models only")
        self.model: nn.Module = req.model.to(req.device).eval()
        self.synchronized = req.device.startswith("cuda")

    def context(self) -> contextlib.AbstractContextManager[object]:
        cm: contextlib.AbstractContextManager[object] = self._torch.inference_mode()
        return cm

    def run(self, inputs: Inputs) -> object:
        out = call_model(self.model, inputs)
        if self.synchronized:
            self._torch.cuda.synchronize()
        return out

    def runtime_settings(self) -> RuntimeSettings:
        return torch_runtime(self._torch)

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]  # released: the backend is not run after close()


def prepare(req: PrepareRequest) -> EagerBackend:
    return EagerBackend(req)


def bare(model: Callable[..., object], inputs: Inputs, threads: int, graph: str | None) -> Callable[[], object]:
    """A hand-written eager call (suite/run/bare.py): the model under inference_mode, nothing else."""
    import torch

    torch.set_num_threads(threads)
    args, kwargs = forward_args(inputs)

    def call() -> object:
        with torch.inference_mode():
            return model(*args, **kwargs)
    return call


def torch_runtime(torch: ModuleType) -> RuntimeSettings:
    """torch's thread settings as the case ran them; unset environment variables leave the OpenMP
    runtime's defaults (libgomp spin-waits ~300k iterations after a parallel region)."""
    backend = next((line.split(":", 1)[1].strip() for line in torch.__config__.parallel_info().splitlines()
                    if line.startswith("ATen parallel backend")), "unknown")
    settings = {
        "torch.set_num_threads": str(torch.get_num_threads()),
        "interop threads": f"{torch.get_num_interop_threads()} (default)",
        "parallel backend": backend,
        "mkldnn": "on" if torch.backends.mkldnn.enabled and torch.backends.mkldnn.is_available() else "off",
        "grad mode": "torch.inference_mode around the timed calls",
    }
    for var in THREAD_ENV:
        settings[var] = os.environ.get(var, "unset (runtime default)")
    return RuntimeSettings(runtime=f"torch {torch.__version__}", settings=settings)


def torch_backends_of(prepared: object) -> TorchBackends | None:
    """torch's settings a torch-run case ran under (suite.results.schema.TorchBackends); None for
    backends that do not run the model in torch (ONNX Runtime has its own threads)."""
    if not isinstance(prepared, EagerBackend):
        return None

    torch = prepared._torch
    return TorchBackends(mkldnn_enabled=bool(torch.backends.mkldnn.enabled and torch.backends.mkldnn.is_available()),
                         num_threads=torch.get_num_threads(),
                         num_interop_threads=torch.get_num_interop_threads(),
                         channels_last=bool(getattr(prepared, "channels_last", False)))
