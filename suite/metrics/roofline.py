"""Bytes moved by one forward pass, and the case's place on its device's roofline.

Traffic model (stated in RooflineResult's docstring and in every result's `method`):
* weights (parameters and buffers) are read once per call: each storage the forward touches
  counts once, however many operators use it (tied or shared weights once);
* every operator reads its activation inputs and writes its outputs (no reuse through caches);
* views (reshape, transpose, expand, detach, ...) move nothing; in-place operators read and
  write their tensor.
Counted with a TorchDispatchMode on the meta-device copy that FLOPs are counted on, so it costs
no real compute and no memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from suite.results.schema import DevicePeaks, RooflineResult

if TYPE_CHECKING:
    from torch import Tensor, nn
    from torch._ops import OpOverload

    Op = OpOverload[..., object]  # an aten operator as a dispatch mode sees it

TRAFFIC_MODEL = ("weights read once per call + every operator's activation inputs read and outputs "
                 "written (no cache reuse; views free), shapes from the meta-device FLOP pass")


@dataclass(frozen=True)
class Traffic:
    weight_bytes: int
    activation_read_bytes: int
    activation_write_bytes: int

    @property
    def activation_bytes(self) -> int:
        return self.activation_read_bytes + self.activation_write_bytes

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.activation_bytes


def _nbytes(t: Tensor) -> int:
    return int(t.numel()) * int(t.element_size())


def _storage_id(t: Tensor) -> int:
    """Identity of a tensor's storage (the model holds its weights alive while this is used)."""
    return int(t.untyped_storage()._cdata)


def _is_view(func: Op) -> bool:
    """An operator whose every return aliases an input without writing it (a view)."""
    returns = func._schema.returns
    return bool(returns) and all(r.alias_info is not None and not r.alias_info.is_write for r in returns)


def _is_inplace(func: Op) -> bool:
    return any(r.alias_info is not None and r.alias_info.is_write for r in func._schema.returns)


def count_traffic(model: nn.Module, forward: Callable[[], object]) -> Traffic:
    """Bytes one call of `forward` moves under the traffic model (run it on meta tensors)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    weights = {_storage_id(t): _nbytes(t)
               for t in [*model.parameters(), *model.buffers()]}
    touched: set[int] = set()
    reads = writes = 0

    class Counter(TorchDispatchMode):  # type: ignore[no-untyped-call]  # torch's __init_subclass__ is unannotated
        def __torch_dispatch__(self, func: Op, types: object, args: tuple[object, ...] = (),
                               kwargs: dict[str, object] | None = None) -> object:
            nonlocal reads, writes
            out = func(*args, **(kwargs or {}))
            if _is_view(func):
                return out
            for t in tree_flatten((args, kwargs or {}))[0]:
                if isinstance(t, torch.Tensor):
                    ref = _storage_id(t)
                    if ref in weights:
                        touched.add(ref)
                    else:
                        reads += _nbytes(t)
            if _is_inplace(func):
                outs = [a for a in tree_flatten(args)[0][:1] if isinstance(a, torch.Tensor)]
            else:
                outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
            writes += sum(_nbytes(t) for t in outs)
            return out

    with torch.no_grad(), Counter():  # type: ignore[no-untyped-call]  # torch's __init__ is unannotated
        forward()
    return Traffic(weight_bytes=sum(weights[r] for r in touched), activation_read_bytes=reads,
                   activation_write_bytes=writes)


# Backends that run the PyTorch module's own operators; any other runs a graph of its own.
MODULE_BACKENDS = frozenset({"eager", "eager-cl"})


def roofline_for(flops: int, traffic: Traffic | None, median_ms: float, peaks: DevicePeaks | None,
                 backend: str = "eager") -> RooflineResult:
    """The case on its roofline: achieved FLOP/s from the median latency, intensity from the
    traffic model, the attainable roof from the device's measured peaks. Every backend is placed
    with the model's counts (FLOPs and bytes of the PyTorch module), and its method says so."""
    achieved = flops / (median_ms / 1e3) if median_ms > 0 else 0.0
    intensity = flops / traffic.total_bytes if traffic is not None and traffic.total_bytes > 0 else None
    method = TRAFFIC_MODEL
    if backend not in MODULE_BACKENDS:
        method += (f"; {backend} is placed with the PyTorch model's FLOPs and bytes, not its own graph's: a "
                   "backend that fuses operators moves fewer bytes, so it can sit above this roof")
    attainable = fraction = None
    bound: Literal["compute", "memory"] | None = None
    if peaks is not None and intensity is not None:
        memory_roof = intensity * peaks.bandwidth_bytes_s
        attainable = min(peaks.gemm_flops_s, memory_roof)
        fraction = achieved / attainable if attainable > 0 else None
        bound = "memory" if memory_roof < peaks.gemm_flops_s else "compute"
    return RooflineResult(
        achieved_flops_s=achieved, method=method, arithmetic_intensity=intensity,
        bytes_moved=traffic.total_bytes if traffic is not None else None,
        weight_bytes=traffic.weight_bytes if traffic is not None else None,
        activation_bytes=traffic.activation_bytes if traffic is not None else None,
        peak_flops_s=peaks.gemm_flops_s if peaks is not None else None,
        peak_bandwidth_bytes_s=peaks.bandwidth_bytes_s if peaks is not None else None,
        attainable_flops_s=attainable, fraction_of_roof=fraction, bound=bound,
    )



def ridge_point(peaks: DevicePeaks) -> float:
    """The intensity (FLOP/byte) where the memory roof meets the compute roof."""
    return peaks.gemm_flops_s / peaks.bandwidth_bytes_s
