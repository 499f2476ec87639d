"""VGG-16 for 32×32 inputs: torchvision's configuration "D" (13 conv3×3 layers of 64…512 channels in five groups,
each group followed by a 2×2 max-pool), optionally with batch norm after each conv, then a linear ``head`` on the
512 features of the last 1×1 map (the CIFAR variant, without torchvision's 4096-unit classifier for 224×224 images).

k-NN probe points (``repro.training.probes``): the output of each of the 13 convolutions' ReLUs, ``conv1`` …
``conv13``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from repro.models.resnet import check_width

__all__ = ["VGG16"]

CONFIG_D = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


class VGG16(nn.Module):
    """VGG-16 (configuration D); ``width`` scales every layer's channels (64 = the original)."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, width: int = 64, batch_norm: bool = False) -> None:
        super().__init__()
        check_width(width)
        layers: list[nn.Module] = []
        self.probes: dict[str, str] = {}
        channels = in_shape[0]
        for v in CONFIG_D:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            out = v * width // 64
            layers.append(nn.Conv2d(channels, out, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU())
            self.probes[f"conv{len(self.probes) + 1}"] = f"features.{len(layers) - 1}"
            channels = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
