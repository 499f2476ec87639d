"""Fully connected network: flatten, ``depth`` hidden Linear+activation layers of ``width`` units, linear head;
optionally a linear ``bottleneck`` layer (no activation) after hidden layer ``bottleneck_after``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from repro.errors import ConfigValueError
from repro.models.resnet import check_width

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU}  # LeakyReLU: PyTorch's default slope 0.01


class MLP(nn.Module):
    """MLP on flattened inputs; ``in_shape`` is one example's shape ((D,), (C, L) or (C, H, W)).

    Stages (``repro.models.stages``): ``hidden1`` … ``hidden<depth>`` (each after its activation) and
    ``bottleneck`` (the linear bottleneck's output) when there is one; its k-NN probe points
    (``repro.training.probes``) are the same layers.
    """

    def __init__(self, num_classes: int, in_shape: Sequence[int], *, width: int = 64, depth: int = 1,
                 bottleneck: int | None = None, bottleneck_after: int | None = None,
                 activation: Literal["relu", "leaky_relu"] = "relu") -> None:
        super().__init__()
        check_width(width)
        check_width(depth, "depth")
        if activation not in ACTIVATIONS:
            raise ConfigValueError(f"MLP activation must be one of {sorted(ACTIVATIONS)}, got {activation!r} "
                                   "(model.init_args.backbone.init_args.activation)")
        if bottleneck is not None:
            check_width(bottleneck, "bottleneck")
            if bottleneck_after is None or not 1 <= bottleneck_after <= depth:
                raise ConfigValueError(f"MLP bottleneck_after must be a hidden layer 1..{depth}, got "
                                       f"{bottleneck_after!r} (model.init_args.backbone.init_args.bottleneck_after)")
        layers: list[nn.Module] = [nn.Flatten()]
        self.stages: dict[str, str] = {}
        fan_in = math.prod(in_shape)
        for i in range(1, depth + 1):
            layers += [nn.Linear(fan_in, width), ACTIVATIONS[activation]()]
            self.stages[f"hidden{i}"] = f"features.{len(layers) - 1}"
            fan_in = width
            if bottleneck is not None and i == bottleneck_after:
                layers.append(nn.Linear(fan_in, bottleneck))
                self.stages["bottleneck"] = f"features.{len(layers) - 1}"
                fan_in = bottleneck
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(fan_in, num_classes)
        self.probes = dict(self.stages)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Last hidden layer's activations, shape (N, width)."""
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
