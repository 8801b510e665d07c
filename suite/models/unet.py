"""The brain-segmentation UNet of mateuszbuda/brain-segmentation-pytorch (the Lab 1 group's
project model), rewritten here so it builds offline. Same module names and layers as the
hub model, so its published state dict loads: in 3, out 1, init_features 32 -> 7,763,041
parameters."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor, nn


def build_unet(in_channels: int = 3, out_channels: int = 1, init_features: int = 32) -> nn.Module:
    import torch
    from torch import nn

    def block(cin: int, features: int, name: str) -> nn.Sequential:
        return nn.Sequential(OrderedDict([
            (name + "conv1", nn.Conv2d(cin, features, kernel_size=3, padding=1, bias=False)),
            (name + "norm1", nn.BatchNorm2d(features)),
            (name + "relu1", nn.ReLU(inplace=True)),
            (name + "conv2", nn.Conv2d(features, features, kernel_size=3, padding=1, bias=False)),
            (name + "norm2", nn.BatchNorm2d(features)),
            (name + "relu2", nn.ReLU(inplace=True)),
        ]))

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            f = init_features
            self.encoder1 = block(in_channels, f, "enc1")
            self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
            self.encoder2 = block(f, f * 2, "enc2")
            self.pool2 = nn.MaxPool2d(kernel_size=2, stride=2)
            self.encoder3 = block(f * 2, f * 4, "enc3")
            self.pool3 = nn.MaxPool2d(kernel_size=2, stride=2)
            self.encoder4 = block(f * 4, f * 8, "enc4")
            self.pool4 = nn.MaxPool2d(kernel_size=2, stride=2)
            self.bottleneck = block(f * 8, f * 16, "bottleneck")
            self.upconv4 = nn.ConvTranspose2d(f * 16, f * 8, kernel_size=2, stride=2)
            self.decoder4 = block(f * 8 * 2, f * 8, "dec4")
            self.upconv3 = nn.ConvTranspose2d(f * 8, f * 4, kernel_size=2, stride=2)
            self.decoder3 = block(f * 4 * 2, f * 4, "dec3")
            self.upconv2 = nn.ConvTranspose2d(f * 4, f * 2, kernel_size=2, stride=2)
            self.decoder2 = block(f * 2 * 2, f * 2, "dec2")
            self.upconv1 = nn.ConvTranspose2d(f * 2, f, kernel_size=2, stride=2)
            self.decoder1 = block(f * 2, f, "dec1")
            self.conv = nn.Conv2d(f, out_channels, kernel_size=1)

        def forward(self, x: Tensor) -> Tensor:
            enc1 = self.encoder1(x)
            enc2 = self.encoder2(self.pool1(enc1))
            enc3 = self.encoder3(self.pool2(enc2))
            enc4 = self.encoder4(self.pool3(enc3))
            bottleneck = self.bottleneck(self.pool4(enc4))
            dec4 = self.decoder4(torch.cat((self.upconv4(bottleneck), enc4), dim=1))
            dec3 = self.decoder3(torch.cat((self.upconv3(dec4), enc3), dim=1))
            dec2 = self.decoder2(torch.cat((self.upconv2(dec3), enc2), dim=1))
            dec1 = self.decoder1(torch.cat((self.upconv1(dec2), enc1), dim=1))
            return torch.sigmoid(self.conv(dec1))

    return UNet()


UNET_WEIGHTS_URL = "https://github.com/mateuszbuda/brain-segmentation-pytorch/releases/download/v1.0/unet-e012d006.pt"
