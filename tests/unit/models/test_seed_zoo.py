"""suite.models.zoo: the seed models of the lab handouts. Each reference count is held against an
independent source: torchvision's weights metadata, the transformers model built directly from
the named checkpoint's config class, the digits CNNs built here."""

from __future__ import annotations

import pytest
import torch

from suite.models import zoo
from suite.models.registry import registry


@pytest.mark.parametrize("name", sorted(zoo._TV))
def test_torchvision_counts_are_the_weights_metadata(name):
    import torchvision

    assert zoo._TV[name] == torchvision.models.get_model_weights(name).DEFAULT.meta["num_params"]
    assert registry()[name].reference_params == zoo._TV[name]


@pytest.mark.parametrize("name, model_cls, config_cls, kwargs", [
    ("albert-base-v2", "AlbertModel", "AlbertConfig", zoo.ALBERT_BASE),
    ("distilbert-base-uncased", "DistilBertModel", "DistilBertConfig", {}),
])
def test_transformers_counts_are_those_of_the_model_built_directly(name, model_cls, config_cls, kwargs):
    import transformers

    with torch.device("meta"):
        direct = getattr(transformers, model_cls)(getattr(transformers, config_cls)(**kwargs))
        built = registry()[name].build()
    count = sum(p.numel() for p in direct.parameters())
    assert registry()[name].reference_params == count == sum(p.numel() for p in built.parameters())


def test_the_digits_models_counts_by_hand():
    from suite.models.digits import WIDTHS, build_digits_cnn

    for name in ("digits-cnn", "digits-cnn-small"):
        entry = registry()[name]
        assert entry.input_spec is zoo.DIGITS_SPEC and entry.input_spec.default_size == 8
        w = WIDTHS[name]
        # conv 1->w (3x3, bias), conv w->2w (3x3, bias), linear 2w*2*2 -> 10
        by_hand = (9 * w + w) + (9 * w * 2 * w + 2 * w) + (8 * w * 10 + 10)
        assert entry.reference_params == by_hand == sum(p.numel() for p in build_digits_cnn(w).parameters())


def test_the_unet_entry_sweeps_in_multiples_of_its_four_poolings():
    entry = registry()["unet"]
    assert entry.input_spec is zoo.UNET_SPEC and zoo.UNET_SPEC.size_multiple == 2 ** 4
    assert entry.extra["weights_url"] == "suite.models.unet:UNET_WEIGHTS_URL"
