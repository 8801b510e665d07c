"""Parameter counts: unique, effective (per call), trainable/frozen, buffers, bytes and ties.

Three different numbers answer "how many parameters":

* ``unique``: what `model.parameters()` yields, de-duplicated by tensor identity. This is
  what a model card and torchvision's ``num_params`` report, and what sits in memory.
* ``effective``: every module call counted. A module called N times in one forward (ALBERT's
  one shared layer, run 12 times) contributes N x its own parameters. Found with forward
  pre-hooks on every module, so parameters used functionally without calling their module
  are missed, and modules never reached (Longformer's global-attention projections without a
  global mask) count zero: ``uncalled`` reports how many unique parameters that is.
* ``tied``: names that share one tensor (`named_parameters(remove_duplicate=False)`), e.g. an
  embedding and an LM head. `parameters()` hides them, this lists them.

Everything here only reads shapes and dtypes, so a model built under `torch.device("meta")`
(milliseconds, no memory) gives the same figures as one built on the CPU.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

from suite.errors import BenchError
from suite.results.schema import ParamStats, TiedGroup

if TYPE_CHECKING:  # torch is imported inside functions so `bench --help` stays instant
    import torch


def count_params(
    model: torch.nn.Module,
    forward: Callable[[], object] | None = None,
    *,
    strict: bool = False,
) -> ParamStats:
    """Count ``model``'s parameters and buffers.

    ``forward`` is an optional zero-argument callable that runs one forward pass of this
    model (on any device, meta included); it is run once under `torch.no_grad()` to find
    ``effective`` and ``uncalled``. If it raises, those two stay None and a RuntimeWarning
    names the error (the static counts are still good), unless ``strict`` is True, in which
    case the error propagates.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise BenchError(f"count_params needs a torch.nn.Module, got {type(model).__name__}.")
    if forward is not None and not callable(forward):
        raise BenchError(f"count_params: forward must be a zero-argument callable, got {type(forward).__name__}.")
    _refuse_lazy(model)

    params = list(model.parameters())  # already de-duplicated by identity
    buffers = list(model.buffers())

    bytes_by_dtype: dict[str, int] = {}
    for t in params + buffers:
        key = _dtype_name(t.dtype)
        bytes_by_dtype[key] = bytes_by_dtype.get(key, 0) + _nbytes(t)

    trainable = sum(p.numel() for p in params if p.requires_grad)
    unique = sum(p.numel() for p in params)

    effective = uncalled = None
    if forward is not None:
        calls = _count_calls(model, forward, strict=strict)
        if calls is not None:
            effective, uncalled = _effective_and_uncalled(model, calls)

    return ParamStats(
        unique=unique,
        effective=effective,
        uncalled=uncalled,
        trainable=trainable,
        frozen=unique - trainable,
        buffers=sum(b.numel() for b in buffers),
        param_bytes=sum(_nbytes(p) for p in params),
        buffer_bytes=sum(_nbytes(b) for b in buffers),
        bytes_by_dtype=dict(sorted(bytes_by_dtype.items())),
        tied=_tied_groups(model),
    )


def _refuse_lazy(model: torch.nn.Module) -> None:
    from torch.nn.parameter import is_lazy

    lazy = [name for name, p in model.named_parameters() if is_lazy(p)]
    lazy += [name for name, b in model.named_buffers() if is_lazy(b)]
    if lazy:
        raise BenchError(
            f"The model has uninitialized lazy parameters ({', '.join(lazy[:3])}"
            f"{', ...' if len(lazy) > 3 else ''}): run one forward pass to materialize them before counting."
        )


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _nbytes(t: torch.Tensor) -> int:
    # numel x element_size works on meta tensors too (no storage needed).
    return t.numel() * t.element_size()


def _count_calls(model: torch.nn.Module, forward: Callable[[], object], *, strict: bool) -> dict[int, int] | None:
    """Run ``forward`` once and return {id(module): number of calls} for every submodule."""
    import torch

    calls: dict[int, int] = {}

    def on_call(module: torch.nn.Module, _inputs: tuple[object, ...]) -> None:
        calls[id(module)] = calls.get(id(module), 0) + 1

    # A pre-hook fires on entry, so a module that fails halfway still counts as called;
    # hooks are removed in `finally` so a failed forward leaves the model untouched.
    handles = [m.register_forward_pre_hook(on_call) for m in model.modules()]
    try:
        with torch.no_grad():
            forward()
    except Exception as exc:
        if strict:
            raise
        warnings.warn(
            f"count_params: the forward pass failed ({type(exc).__name__}: {exc}); "
            "effective and uncalled parameter counts are left empty.",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    finally:
        for h in handles:
            h.remove()
    return calls


def _effective_and_uncalled(model: torch.nn.Module, calls: dict[int, int]) -> tuple[int, int]:
    effective = 0
    used: set[int] = set()  # ids of parameters owned by at least one called module
    for module in model.modules():  # de-duplicated: a shared module object appears once
        own = list(module.parameters(recurse=False))
        n_calls = calls.get(id(module), 0)
        effective += n_calls * sum(p.numel() for p in own)
        if n_calls:
            used.update(id(p) for p in own)
    # A tensor tied between a called and an uncalled module is in use, so it is not uncalled.
    uncalled = sum(p.numel() for p in model.parameters() if id(p) not in used)
    return effective, uncalled


def _tied_groups(model: torch.nn.Module) -> list[TiedGroup]:
    by_tensor: dict[int, list[str]] = {}
    numel: dict[int, int] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        by_tensor.setdefault(id(p), []).append(name)
        numel[id(p)] = p.numel()
    groups = [TiedGroup(names=sorted(names), numel=numel[key]) for key, names in by_tensor.items() if len(names) > 1]
    return sorted(groups, key=lambda g: g.names)
