"""suite.models.unet: the Lab 1 group's brain-segmentation UNet, rebuilt offline. Its parameter
count is derived here layer by layer and matches the published 7,763,041; its module names are
those of the hub model's state dict; its output is a per-pixel probability map."""

from __future__ import annotations

import torch

from suite.models.unet import UNET_WEIGHTS_URL, build_unet


def _block(cin: int, f: int) -> int:  # conv3x3 (no bias) + BN + conv3x3 (no bias) + BN
    return 9 * cin * f + 2 * f + 9 * f * f + 2 * f


def _up(cin: int, cout: int) -> int:  # ConvTranspose2d 2x2 with bias
    return 4 * cin * cout + cout


def test_parameter_count_by_hand_is_the_published_one():
    f = 32
    encoders = _block(3, f) + _block(f, 2 * f) + _block(2 * f, 4 * f) + _block(4 * f, 8 * f)
    bottleneck = _block(8 * f, 16 * f)
    decoders = sum(_up(2 * c, c) + _block(2 * c, c) for c in (8 * f, 4 * f, 2 * f, f))
    head = f * 1 + 1
    assert encoders + bottleneck + decoders + head == 7_763_041
    with torch.device("meta"):
        model = build_unet(3, 1, 32)
    assert sum(p.numel() for p in model.parameters()) == 7_763_041


def test_the_module_names_are_the_hub_models():
    with torch.device("meta"):
        keys = set(build_unet().state_dict())
    # names from mateuszbuda/brain-segmentation-pytorch unet.py (its published state dict loads by them)
    for key in ("encoder1.enc1conv1.weight", "encoder1.enc1norm1.running_mean", "bottleneck.bottleneckconv2.weight",
                "upconv4.weight", "upconv4.bias", "decoder1.dec1norm2.bias", "conv.weight", "conv.bias"):
        assert key in keys
    assert UNET_WEIGHTS_URL.endswith("unet-e012d006.pt") and "mateuszbuda" in UNET_WEIGHTS_URL


def test_the_output_is_one_probability_per_pixel_at_the_input_resolution():
    torch.manual_seed(0)
    model = build_unet(3, 1, 4).eval()
    with torch.no_grad():
        y = model(torch.randn(2, 3, 32, 32))
    assert y.shape == (2, 1, 32, 32) and float(y.min()) >= 0.0 and float(y.max()) <= 1.0
