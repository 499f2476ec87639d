"""A 5-layer CNN of width c: four conv3x3-BN-ReLU layers of widths ``[c, 2c, 4c, 8c]`` (max-pool after the last
three), a global max pool and a linear head as the fifth layer; 1,558,026 parameters at c = 64 for 10 classes
and RGB input.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from repro.models.resnet import check_width


class FiveLayerCNN(nn.Module):
    """Width-``c`` five-layer CNN; ``in_shape`` is one example's (C, H, W), ``forward`` returns logits."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, width: int = 64) -> None:
        super().__init__()
        check_width(width)
        c = width
        chans = [in_shape[0], c, 2 * c, 4 * c, 8 * c]
        layers: list[nn.Module] = []
        for i in range(4):
            # Convs keep their bias even though BN follows: the official code does, and it counts
            # towards the paper's parameter totals.
            layers += [
                nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=True),
                nn.BatchNorm2d(chans[i + 1]),
            ]
            layers.append(nn.ReLU())
            if i > 0:
                layers.append(nn.MaxPool2d(2))
        # Adaptive max pool to 1x1 equals the paper's MaxPool2d(4) on the 4x4 map of a 32x32 input.
        layers += [nn.AdaptiveMaxPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(8 * c, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features, shape (N, 8c)."""
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
