"""Fully connected network: flatten, ``depth`` hidden Linear+ReLU layers of ``width`` units, linear head."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from repro.models.resnet import check_width


class MLP(nn.Module):
    """MLP on flattened inputs; ``in_shape`` is one example's shape ((D,), (C, L) or (C, H, W))."""

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, width: int = 64, depth: int = 1) -> None:
        super().__init__()
        check_width(width)
        check_width(depth, "depth")
        layers: list[nn.Module] = [nn.Flatten()]
        fan_in = math.prod(in_shape)
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), nn.ReLU()]
            fan_in = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Last hidden layer's activations, shape (N, width)."""
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
