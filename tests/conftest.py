"""Shared test fixtures."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@contextlib.contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """Move every parameter and buffer to the meta device the moment a module registers it.

    For models whose constructors compute with tensors (RegNet's BlockParams calls
    `.tolist()`), `with torch.device("meta")` fails. Allocation on the CPU is free until
    touched, and weight init then runs on meta tensors, so even regnet_y_128gf (645M
    parameters) builds in ~0.1 s instead of ~10 s and 2.6 GB via `.to("meta")`.
    """
    import torch

    module_cls = torch.nn.Module
    register_parameter, register_buffer = module_cls.register_parameter, module_cls.register_buffer

    def on_meta_parameter(self, name, param):
        if param is not None:
            param = torch.nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        register_parameter(self, name, param)

    def on_meta_buffer(self, name, tensor, persistent=True):
        register_buffer(self, name, None if tensor is None else tensor.to("meta"), persistent)

    module_cls.register_parameter, module_cls.register_buffer = on_meta_parameter, on_meta_buffer
    try:
        yield
    finally:
        module_cls.register_parameter, module_cls.register_buffer = register_parameter, register_buffer


def _torchvision_meta_model(name: str) -> tuple[Any, Any, int]:
    """(model on meta in eval mode, its DEFAULT weights enum entry, crop size) for a torchvision
    classifier built with weights=None, shaped like the network its published meta describes."""
    import torch
    from torchvision import models

    weights = models.get_model_weights(name).DEFAULT
    crop = int(weights.transforms().crop_size[0])
    kwargs: dict[str, Any] = {}
    if name == "googlenet":
        # The published GoogLeNet (6.6M) has no aux heads; weights=None would add them (13.0M).
        kwargs = {"aux_logits": False, "init_weights": False}
    elif name == "inception_v3":
        # The published Inception v3 count (27.2M) includes the aux head; eval() skips it in the forward.
        kwargs = {"init_weights": False}
    elif name.startswith("vit_"):
        # ViT's position embedding depends on the image size (vit_h_14's weights are at 518).
        kwargs = {"image_size": crop}
    try:
        with torch.device("meta"):
            model = models.get_model(name, weights=None, **kwargs)
    except (NotImplementedError, RuntimeError):
        with _parameters_on_meta():
            model = models.get_model(name, weights=None, **kwargs)
    return model.eval(), weights, crop


@pytest.fixture
def torchvision_meta_model() -> Callable[[str], tuple[Any, Any, int]]:
    return _torchvision_meta_model
