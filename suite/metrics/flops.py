"""FLOPs of one forward pass, counted with `torch.utils.flop_counter.FlopCounterMode`.

Conventions (torch's, and torchvision's published ``_ops``):

* FLOPs = 2 x MACs for matmul, convolution and attention; only operators with a registered
  formula count. Elementwise work (activations, normalisation, softmax, pooling, bias adds)
  is not counted, which is why ``flops`` is a floor, and why it still matches the published
  GMACs of every torchvision classifier within about 1%.
* On the CPU, `F.scaled_dot_product_attention` dispatches to
  ``aten._scaled_dot_product_flash_attention_for_cpu``, which torch ships without a formula,
  so attention silently counts zero. `register_cpu_sdpa_formula` adds one, reusing torch's own
  `sdpa_flop_count` (like the CUDA kernels, causal masking is not discounted). On the meta
  device SDPA decomposes into two `bmm`s, which count the same.
* The pass runs under `torch.no_grad()`, not `torch.inference_mode()`: weight-norm
  parametrizations (HuBERT, wav2vec2) fail under inference mode inside FlopCounterMode.

``top_modules`` lists modules by their *self* FLOPs: the FLOPs counted while the module was
innermost, i.e. its inclusive count minus that of its nearest counted submodules. Self FLOPs
do not double count (they add up to the total when every counted op runs inside the model),
so the list reads as "where the FLOPs are": leaves such as convolutions and linears, plus any
module that does work itself (an attention block's SDPA call). A shared module called N times
accumulates all N calls under its one name. Names are FlopCounterMode's: the root class name
followed by the attribute path (``ResNet.layer4.1.conv2``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, cast

from suite.errors import BenchError, CaseError
from suite.results.schema import FlopStats, ModuleFlops

if TYPE_CHECKING:  # torch is imported inside functions so `bench --help` stays instant
    import torch

_ROOT = "Global"  # FlopCounterMode's key for everything counted, inside modules or not
_register_lock = threading.Lock()


def register_cpu_sdpa_formula() -> bool:
    """Give ``aten._scaled_dot_product_flash_attention_for_cpu`` a FLOP formula.

    Idempotent: returns True if it registered the formula now, False if one (ours, or a
    future torch's own) is already there. FlopCounterMode copies the registry when it is
    constructed, so this must run before the counter is made; `count_flops` does that.
    """
    import torch
    from torch.utils import flop_counter

    op = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    with _register_lock:
        if op in flop_counter.flop_registry:
            return False

        count = cast("Callable[..., int]", flop_counter.sdpa_flop_count)  # torch's formula is unannotated

        @flop_counter.register_flop_formula(op)
        def _sdpa_cpu_flop(query_shape: tuple[int, ...], key_shape: tuple[int, ...], value_shape: tuple[int, ...],
                           *args: object, out_shape: object = None, **kwargs: object) -> int:
            return count(query_shape, key_shape, value_shape)

        return True


def count_flops(
    model: torch.nn.Module,
    forward: Callable[[], object],
    items: int,
    top_n: int = 10,
) -> FlopStats:
    """Count the FLOPs of one call of ``forward`` (a zero-argument callable running ``model``).

    ``items`` is how many items (images, sequences, clips) that forward processes, usually
    the batch size; ``flops_per_item`` is ``flops // items``. Works on the meta device.
    A forward that fails raises `CaseError` (kind "unsupported") so a run records it and goes on.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    if not isinstance(model, torch.nn.Module):
        raise BenchError(f"count_flops needs a torch.nn.Module, got {type(model).__name__}.")
    if not callable(forward):
        raise BenchError(f"count_flops: forward must be a zero-argument callable, got {type(forward).__name__}.")
    if isinstance(items, bool) or not isinstance(items, int) or items < 1:
        raise BenchError(f"count_flops: items must be a positive integer (the batch size), got {items!r}.")
    if isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 0:
        raise BenchError(f"count_flops: top_n must be a non-negative integer, got {top_n!r}.")

    register_cpu_sdpa_formula()
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            forward()
    except Exception as exc:
        raise CaseError("unsupported", f"FLOP counting failed: {type(exc).__name__}: {exc}") from exc

    counts = counter.get_flop_counts()
    by_operator = {str(op): int(n) for op, n in counts.get(_ROOT, {}).items()}
    flops = sum(by_operator.values())
    note = None
    if flops == 0:
        note = "no counted operator ran (only matmul, convolution and attention have FLOP formulas)"
    return FlopStats(
        macs=flops // 2,
        flops=flops,
        flops_per_item=flops // items,
        by_operator=dict(sorted(by_operator.items(), key=lambda kv: (-kv[1], kv[0]))),
        top_modules=_top_modules(counts, top_n),
        note=note,
    )


def _top_modules(counts: Mapping[str, Mapping[object, int]], top_n: int) -> list[ModuleFlops]:
    inclusive = {name: sum(ops.values()) for name, ops in counts.items() if name != _ROOT}
    self_flops = dict(inclusive)
    for name, flops in inclusive.items():
        parent = _nearest_counted_ancestor(name, inclusive)
        if parent is not None:
            self_flops[parent] -= flops
    # Clamp: a module called from outside its structural parent is not inside the parent's
    # inclusive count, so subtracting it could go below zero.
    ranked = sorted(((n, max(f, 0)) for n, f in self_flops.items()), key=lambda nf: (-nf[1], nf[0]))
    return [ModuleFlops(module=n, flops=int(f)) for n, f in ranked[:top_n] if f > 0]


def _nearest_counted_ancestor(name: str, counted: dict[str, int]) -> str | None:
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        ancestor = ".".join(parts[:cut])
        if ancestor in counted:
            return ancestor
    return None
